//! Converting every amount of a dataset into one reporting currency, before any formula runs.
//!
//! An `ExchangeRate {currency, date, rate}` says one unit of `currency` was worth `rate` units of
//! the tenant's base currency on `date`. An amount is converted with the latest rate on or before
//! its record's date (the date of the record's defining timestamp in the request's time zone); a
//! cross rate `rate(from) / rate(to)` converts between two non-base currencies. A currency with no
//! rates at all can only be the base: converting from or to it needs the other side's rate, and
//! two currencies that both lack rates are never converted 1:1 — that is a missing rate.
//! Minor units follow ISO 4217 exponents.
//! Results are rounded half to even to the reporting currency's minor unit. A missing rate is an
//! error naming the currency and the date; amounts are never summed across currencies and never
//! silently skipped.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::dataset::Dataset;
use crate::money::{Currency, Money, divide_half_even};
use crate::records::{ExchangeRate, Timestamp};
use crate::value::EvalError;

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

/// Rates per currency, sorted by date.
struct Rates {
    by_currency: BTreeMap<Currency, Vec<(NaiveDate, i128, u32)>>,
}

impl Rates {
    fn new(rates: &[ExchangeRate]) -> Rates {
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
        Rates { by_currency }
    }

    /// The rate of `currency` on `date` as (units, scale); `None` when the currency has no
    /// rates at all (it can only be the base).
    fn on(&self, currency: Currency, date: NaiveDate) -> Option<Result<(i128, u32), EvalError>> {
        let list = self.by_currency.get(&currency)?;
        let index = list.partition_point(|(d, _, _)| *d <= date);
        Some(match index.checked_sub(1).and_then(|i| list.get(i)) {
            Some((_, units, scale)) => Ok((*units, *scale)),
            None => Err(missing(currency, date)),
        })
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
}

impl Converter {
    fn convert(&self, money: &mut Money, at: Timestamp) -> Result<(), EvalError> {
        if money.currency == self.to {
            return Ok(());
        }
        let date = at.with_timezone(&self.time_zone).date_naive();
        let ((from_units, from_scale), (to_units, to_scale)) = match (
            self.rates.on(money.currency, date),
            self.rates.on(self.to, date),
        ) {
            (None, None) => return Err(missing(money.currency, date)),
            (Some(from), None) => (from?, (1, 0)),
            (None, Some(to)) => ((1, 0), to?),
            (Some(from), Some(to)) => (from?, to?),
        };
        let overflow = || EvalError::Overflow {
            metric: format!("conversion of {} into {}", money.currency, self.to),
        };
        // minor_to = minor_from × 10^(e_to − e_from) × rate_from / rate_to, exactly, then rounded.
        let numerator = i128::from(money.minor_units)
            .checked_mul(from_units)
            .and_then(|n| n.checked_mul(pow10(to_scale)?))
            .and_then(|n| n.checked_mul(pow10(minor_unit_digits(self.to))?))
            .ok_or_else(overflow)?;
        let denominator = to_units
            .checked_mul(pow10(from_scale).ok_or_else(overflow)?)
            .and_then(|d| d.checked_mul(pow10(minor_unit_digits(money.currency))?))
            .ok_or_else(overflow)?;
        let minor = divide_half_even(numerator, denominator).ok_or_else(overflow)?;
        *money = Money::new(self.to, minor);
        Ok(())
    }
}

/// Converts every amount of `dataset` into `to`, each with the rate of its record's date in
/// `time_zone`.
pub fn convert_dataset(
    dataset: &mut Dataset,
    to: Currency,
    time_zone: Tz,
) -> Result<(), EvalError> {
    let converter = Converter {
        rates: Rates::new(&dataset.exchange_rates),
        to,
        time_zone,
    };
    for deal in &mut dataset.deals {
        converter.convert(
            &mut deal.amount,
            deal.closed_time.unwrap_or(deal.created_time),
        )?;
    }
    for order in &mut dataset.orders {
        converter.convert(&mut order.amount, order.ordered_time)?;
        if let Some(cost) = &mut order.cost {
            converter.convert(cost, order.ordered_time)?;
        }
    }
    for subscription in &mut dataset.subscriptions {
        converter.convert(&mut subscription.mrr, subscription.start_time)?;
    }
    for cost in &mut dataset.costs {
        converter.convert(&mut cost.amount, cost.incurred_time)?;
    }
    for quota in &mut dataset.quotas {
        converter.convert(&mut quota.amount, quota.period_start)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::records::{Meta, Order, OrderKind, Record};

    fn code(c: &str) -> Currency {
        Currency::parse(c).unwrap()
    }

    fn rate(currency: &str, date: (i32, u32, u32), units: i64, scale: u32) -> Record {
        Record::ExchangeRate(ExchangeRate {
            meta: Meta::default(),
            currency: code(currency),
            date: NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap(),
            rate_units: units,
            rate_scale: scale,
        })
    }

    fn order(currency: &str, minor: i64, day: u32) -> Record {
        Record::Order(Order {
            meta: Meta::default(),
            customer_id: "c".into(),
            amount: Money::new(code(currency), minor),
            cost: None,
            ordered_time: Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap(),
            fulfilled_time: None,
            kind: OrderKind::New,
        })
    }

    #[test]
    fn converts_with_the_latest_rate_on_or_before_the_records_date() {
        // USD is the base. EUR = 1.10 USD from 1 Mar, 1.20 USD from 10 Mar.
        // 100.00 EUR on 5 Mar → 110.00 USD; 100.00 EUR on 10 Mar → 120.00 USD; 1,000 JPY
        // (0.0067 USD from 1 Mar) → 6.70 USD (exponent 0 → 2).
        let mut dataset = Dataset::from_records([
            rate("EUR", (2026, 3, 1), 110, 2),
            rate("EUR", (2026, 3, 10), 120, 2),
            rate("JPY", (2026, 3, 1), 67, 4),
            order("EUR", 10_000, 5),
            order("EUR", 10_000, 10),
            order("JPY", 1_000, 5),
            order("USD", 1, 5),
        ]);
        convert_dataset(&mut dataset, code("USD"), chrono_tz::UTC).unwrap();
        let amounts: Vec<i64> = dataset
            .orders
            .iter()
            .map(|o| o.amount.minor_units)
            .collect();
        assert_eq!(amounts, vec![11_000, 12_000, 670, 1]);
        assert!(
            dataset
                .orders
                .iter()
                .all(|o| o.amount.currency == code("USD"))
        );
    }

    #[test]
    fn cross_rates_and_rounding_half_to_even() {
        // Base USD; EUR 1.25, GBP 1.50 → 1 EUR = 0.8333… GBP. 0.03 EUR → 0.025 GBP → 0.02 (even).
        let mut dataset = Dataset::from_records([
            rate("EUR", (2026, 1, 1), 125, 2),
            rate("GBP", (2026, 1, 1), 150, 2),
            order("EUR", 3, 5),
            order("EUR", 12_000, 5),
        ]);
        convert_dataset(&mut dataset, code("GBP"), chrono_tz::UTC).unwrap();
        assert_eq!(dataset.orders[0].amount, Money::new(code("GBP"), 2));
        // 120.00 EUR × 1.25 / 1.50 = 100.00 GBP.
        assert_eq!(dataset.orders[1].amount, Money::new(code("GBP"), 10_000));
    }

    #[test]
    fn two_currencies_without_rates_are_never_converted_one_to_one() {
        let mut dataset = Dataset::from_records([order("EUR", 100, 5)]);
        let error = convert_dataset(&mut dataset, code("USD"), chrono_tz::UTC).unwrap_err();
        assert_eq!(
            error,
            EvalError::MissingRate {
                currency: "EUR".into(),
                date: "2026-03-05".into()
            }
        );
        // Converting from the base into a rated currency divides by its rate: 11.00 USD at
        // EUR = 1.10 USD is 10.00 EUR.
        let mut dataset =
            Dataset::from_records([rate("EUR", (2026, 3, 1), 110, 2), order("USD", 1_100, 5)]);
        convert_dataset(&mut dataset, code("EUR"), chrono_tz::UTC).unwrap();
        assert_eq!(dataset.orders[0].amount, Money::new(code("EUR"), 1_000));
    }

    #[test]
    fn a_missing_rate_names_currency_and_date() {
        let mut dataset =
            Dataset::from_records([rate("EUR", (2026, 3, 10), 110, 2), order("EUR", 100, 5)]);
        let error = convert_dataset(&mut dataset, code("USD"), chrono_tz::UTC).unwrap_err();
        assert_eq!(
            error,
            EvalError::MissingRate {
                currency: "EUR".into(),
                date: "2026-03-05".into()
            }
        );
    }
}
