//! Converting every amount of a dataset into one reporting currency, before any formula runs.
//!
//! An `ExchangeRate {currency, date, rate}` says one unit of `currency` was worth `rate` units of
//! the tenant's base currency (a tenant setting) on `date`. An amount is converted with the latest
//! rate on or before its record's date (the date of the record's defining timestamp in the
//! request's time zone); a cross rate `rate(from) / rate(to)` converts between two non-base
//! currencies, and the base's own rate is 1. A currency that is not the base and has no rates at
//! all is unreachable: converting from or into it is an error naming it, never an assumption
//! that it is the base.
//! Minor units follow ISO 4217 exponents.
//! Results are rounded half to even to the reporting currency's minor unit. A missing rate is an
//! error naming the currency and the date; amounts are never summed across currencies and never
//! silently skipped.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use hashbrown::HashMap;

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::dataset::Dataset;
use crate::money::{Currency, Money, divide_half_even};
use crate::records::{Cost, Deal, ExchangeRate, Order, Quota, Subscription, Timestamp};
use crate::value::EvalError;
use crate::view::{Scratch, View, rewrite};

/// The number of minor-unit digits of a currency (ISO 4217); 2 unless listed.
pub fn minor_unit_digits(currency: Currency) -> u32 {
    match currency.as_str() {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// Every currency an amount of the dataset is in.
pub fn currencies(dataset: &Dataset) -> BTreeSet<Currency> {
    let mut found = BTreeSet::new();
    let mut note = |money: &Money| {
        found.insert(money.currency);
    };
    dataset.deals.iter().for_each(|d| note(&d.amount));
    for order in &dataset.orders {
        note(&order.amount);
        order.cost.iter().for_each(&mut note);
    }
    dataset.subscriptions.iter().for_each(|s| note(&s.mrr));
    dataset.costs.iter().for_each(|c| note(&c.amount));
    dataset.quotas.iter().for_each(|q| note(&q.amount));
    found
}

/// Rates per currency, sorted by date, into the base currency.
struct Rates {
    by_currency: BTreeMap<Currency, Vec<(NaiveDate, i128, u32)>>,
    base: Option<Currency>,
}

impl Rates {
    fn new<'r>(rates: impl Iterator<Item = &'r ExchangeRate>, base: Option<Currency>) -> Rates {
        let mut by_currency: BTreeMap<Currency, Vec<(NaiveDate, i128, u32)>> = BTreeMap::new();
        for rate in rates {
            by_currency.entry(rate.currency).or_default().push((
                rate.date,
                i128::from(rate.rate_units),
                rate.rate_scale,
            ));
        }
        for list in by_currency.values_mut() {
            list.sort_unstable();
        }
        Rates { by_currency, base }
    }

    /// The rate of `currency` into the base on `date` as (units, scale): 1 for the base itself,
    /// an error when the currency has no rate on or before `date`, or none at all.
    fn on(&self, currency: Currency, date: NaiveDate) -> Result<(i128, u32), EvalError> {
        if Some(currency) == self.base {
            return Ok((1, 0));
        }
        let Some(list) = self.by_currency.get(&currency) else {
            return Err(EvalError::Unreachable {
                currency: currency.to_string(),
                base: self.base.map(|base| base.to_string()),
            });
        };
        let index = list.partition_point(|(d, _, _)| *d <= date);
        match index.checked_sub(1).and_then(|i| list.get(i)) {
            Some((_, units, scale)) => Ok((*units, *scale)),
            None => Err(missing(currency, date)),
        }
    }
}

fn missing(currency: Currency, date: NaiveDate) -> EvalError {
    EvalError::MissingRate {
        currency: currency.to_string(),
        date: date.to_string(),
    }
}

fn pow10(exponent: u32) -> Option<i128> {
    10i128.checked_pow(exponent)
}

/// Converts every amount into the reporting currency.
struct Converter {
    rates: Rates,
    to: Currency,
    time_zone: Tz,
    /// The factors of each (currency, date) already met: records share dates, so most amounts
    /// skip the rate lookups.
    factors: RefCell<HashMap<(Currency, NaiveDate), Factors>>,
}

/// `minor_to = minor_from × numerator / denominator`, rounded half to even; a factor that does
/// not fit is `None` (an overflow, unless the amount is 0 and only the numerator overflowed).
#[derive(Clone, Copy)]
struct Factors {
    numerator: Option<i128>,
    denominator: Option<i128>,
}

impl Converter {
    fn new(rates: Rates, to: Currency, time_zone: Tz) -> Converter {
        Converter {
            rates,
            to,
            time_zone,
            factors: RefCell::new(HashMap::new()),
        }
    }

    fn convert(&self, money: &mut Money, at: Timestamp) -> Result<(), EvalError> {
        if money.currency == self.to {
            return Ok(());
        }
        let date = if self.time_zone == Tz::UTC {
            at.date_naive()
        } else {
            at.with_timezone(&self.time_zone).date_naive()
        };
        let key = (money.currency, date);
        let known = self.factors.borrow().get(&key).copied();
        let factors = match known {
            Some(factors) => factors,
            None => {
                let factors = self.factors(money.currency, date)?;
                self.factors.borrow_mut().insert(key, factors);
                factors
            }
        };
        let amount = i128::from(money.minor_units);
        let numerator = match factors.numerator {
            _ if amount == 0 => Some(0),
            Some(factor) => amount.checked_mul(factor),
            None => None,
        };
        let minor = numerator
            .zip(factors.denominator)
            .and_then(|(n, d)| divide_half_even(n, d))
            .ok_or_else(|| self.overflow(money.currency))?;
        *money = Money::new(self.to, minor);
        Ok(())
    }

    fn overflow(&self, from: Currency) -> EvalError {
        EvalError::Overflow {
            metric: format!("conversion of {from} into {}", self.to),
        }
    }

    /// minor_to = minor_from × 10^(e_to − e_from) × rate_from / rate_to, exactly.
    fn factors(&self, from: Currency, date: NaiveDate) -> Result<Factors, EvalError> {
        let (to_units, to_scale) = self.rates.on(self.to, date)?;
        let (from_units, from_scale) = self.rates.on(from, date)?;
        let numerator = pow10(to_scale)
            .and_then(|p| from_units.checked_mul(p))
            .and_then(|n| n.checked_mul(pow10(minor_unit_digits(self.to))?));
        let denominator = pow10(from_scale)
            .and_then(|p| to_units.checked_mul(p))
            .and_then(|d| d.checked_mul(pow10(minor_unit_digits(from))?));
        Ok(Factors {
            numerator,
            denominator,
        })
    }
}

/// Converts every amount of `dataset` into `to`, each with the rate of its record's date in
/// `time_zone`; the rates convert into `base`.
pub fn convert_dataset(
    dataset: &mut Dataset,
    to: Currency,
    base: Option<Currency>,
    time_zone: Tz,
) -> Result<(), EvalError> {
    let converter = Converter::new(
        Rates::new(dataset.exchange_rates.iter(), base),
        to,
        time_zone,
    );
    dataset
        .deals
        .iter_mut()
        .try_for_each(|r| converter.deal(r))?;
    dataset
        .orders
        .iter_mut()
        .try_for_each(|r| converter.order(r))?;
    for subscription in &mut dataset.subscriptions {
        converter.subscription(subscription)?;
    }
    dataset
        .costs
        .iter_mut()
        .try_for_each(|r| converter.cost(r))?;
    dataset
        .quotas
        .iter_mut()
        .try_for_each(|r| converter.quota(r))
}

/// Converts every amount of `view` into `to` like [`convert_dataset`]; a record whose amounts
/// are already in `to` stays borrowed, the others are converted copies in `scratch`. When
/// several amounts lack a rate, the error names the earliest date (then the smallest currency),
/// so it does not depend on the order of the records.
pub fn convert_view<'a>(
    view: &mut View<'a>,
    to: Currency,
    base: Option<Currency>,
    time_zone: Tz,
    scratch: &'a Scratch,
) -> Result<(), EvalError> {
    let converter = Converter::new(
        Rates::new(view.exchange_rates.iter().copied(), base),
        to,
        time_zone,
    );
    let first_error = std::cell::RefCell::new(None::<EvalError>);
    let note = |result: Result<(), EvalError>| {
        if let Err(error) = result {
            let mut first = first_error.borrow_mut();
            if first
                .as_ref()
                .is_none_or(|kept| error_order(&error) < error_order(kept))
            {
                *first = Some(error);
            }
        }
    };
    let foreign = |money: &Money| money.currency != to;
    let keep_all = |_: &_| true;
    view.deals = rewrite(
        &view.deals,
        &scratch.deals,
        keep_all,
        |r| foreign(&r.amount),
        |r| note(converter.deal(r)),
    );
    view.orders = rewrite(
        &view.orders,
        &scratch.orders,
        |_| true,
        |r| foreign(&r.amount) || r.cost.as_ref().is_some_and(foreign),
        |r| note(converter.order(r)),
    );
    view.subscriptions = rewrite(
        &view.subscriptions,
        &scratch.subscriptions,
        |_| true,
        |r| foreign(&r.mrr),
        |r| note(converter.subscription(r)),
    );
    view.costs = rewrite(
        &view.costs,
        &scratch.costs,
        |_| true,
        |r| foreign(&r.amount),
        |r| note(converter.cost(r)),
    );
    view.quotas = rewrite(
        &view.quotas,
        &scratch.quotas,
        |_| true,
        |r| foreign(&r.amount),
        |r| note(converter.quota(r)),
    );
    match first_error.into_inner() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Orders conversion errors: unreachable currencies by name, then missing rates by date and
/// currency, before any other error.
fn error_order(error: &EvalError) -> (u8, &str, &str) {
    match error {
        EvalError::Unreachable { currency, .. } => (0, currency.as_str(), ""),
        EvalError::MissingRate { currency, date } => (1, date.as_str(), currency.as_str()),
        _ => (2, "", ""),
    }
}

impl Converter {
    fn deal(&self, deal: &mut Deal) -> Result<(), EvalError> {
        self.convert(
            &mut deal.amount,
            deal.closed_time.unwrap_or(deal.created_time),
        )
    }

    fn order(&self, order: &mut Order) -> Result<(), EvalError> {
        self.convert(&mut order.amount, order.ordered_time)?;
        if let Some(cost) = &mut order.cost {
            self.convert(cost, order.ordered_time)?;
        }
        Ok(())
    }

    fn subscription(&self, subscription: &mut Subscription) -> Result<(), EvalError> {
        self.convert(&mut subscription.mrr, subscription.start_time)
    }

    fn cost(&self, cost: &mut Cost) -> Result<(), EvalError> {
        self.convert(&mut cost.amount, cost.incurred_time)
    }

    fn quota(&self, quota: &mut Quota) -> Result<(), EvalError> {
        self.convert(&mut quota.amount, quota.period_start)
    }
}

#[cfg(test)]
#[path = "tests/currency.rs"]
mod tests;
