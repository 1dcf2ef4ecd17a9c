//! The formulas of the lifetime-value family over its shared state: churn over any window, CAC,
//! ARPA at an instant, CLV by each method, and the calendar windows they look at (the months of
//! a period, the year before its end).

use chrono::{Datelike, Months};

use super::{EconomicsState, LIFESPAN, MARGIN, Method};
use crate::calendar::{Granularity, Window, buckets};
use crate::eval::{FoldContext, Period};
use crate::money::{Currency, MoneySum};
use crate::records::Timestamp;
use crate::value::single_currency;
use crate::value::{Component, EvalError, MetricResult, UndefinedReason};

/// No value, for `reason`.
pub(super) fn undefined(
    reason: UndefinedReason,
    detail: &str,
    components: Vec<Component>,
) -> MetricResult {
    MetricResult::undefined(reason, detail, components)
}

/// Customer churn over `window` (churned in it, acquired before it / active at its start);
/// `None` when nobody was active at the start.
fn churn(state: &EconomicsState, window: Window) -> Option<f64> {
    let (mut base, mut churned) = (0u64, 0u64);
    for (acquired, lost) in state.customers.values() {
        if *acquired <= window.start && lost.is_none_or(|l| l > window.start) {
            base += 1;
            churned += u64::from(lost.is_some_and(|l| window.contains(l)));
        }
    }
    (base > 0).then(|| churned as f64 / base as f64)
}

/// Acquisition spend in the period per customer acquired in it, in minor units.
pub(super) fn cac(
    metric: &str,
    period: Period,
    state: &EconomicsState,
) -> Result<Option<(Currency, f64)>, EvalError> {
    let new = state
        .customers
        .values()
        .filter(|(acquired, _)| period.window.contains(*acquired))
        .count();
    Ok(single_currency(metric, &state.acquisition_spend)?
        .filter(|_| new > 0)
        .map(|(currency, spend)| (currency, spend as f64 / new as f64)))
}

/// MRR per paying account at `t`, in minor units; `None` when no account pays.
pub(super) fn arpa(
    metric: &str,
    state: &EconomicsState,
    t: Timestamp,
) -> Result<Option<(Currency, f64)>, EvalError> {
    let mut mrr = MoneySum::default();
    let mut accounts = std::collections::BTreeSet::new();
    for term in state.subscriptions.values() {
        if term.start <= t && term.end.is_none_or(|end| t < end) {
            mrr.add(term.mrr);
            accounts.insert(term.customer.as_str());
        }
    }
    Ok(single_currency(metric, &mrr)?
        .filter(|_| !accounts.is_empty())
        .map(|(c, sum)| (c, sum as f64 / accounts.len() as f64)))
}

/// Lifetime value in minor units with its components, or the undefined result explaining why.
pub(super) type Clv = Result<(Currency, f64, Vec<Component>), MetricResult>;

/// CLV by the policy's method.
pub(super) fn clv(
    metric: &str,
    ctx: &FoldContext<'_, '_>,
    state: &EconomicsState,
) -> Result<Clv, EvalError> {
    let period = ctx.period;
    let margin = ctx.settings.number(&MARGIN).unwrap_or(1.0);
    match ctx.settings.choice::<Method>() {
        Method::Subscription => {
            let Some((currency, arpa)) = arpa(metric, state, period.point_in_time())? else {
                return Ok(Err(undefined(
                    UndefinedReason::NoData,
                    "no paying account at the window's end",
                    Vec::new(),
                )));
            };
            let monthly: Vec<Option<f64>> = months_of(&period)
                .into_iter()
                .map(|m| churn(state, m))
                .collect();
            let mut components = vec![Component::number("arpa_minor_units", arpa)];
            let Some(rates) = monthly.into_iter().collect::<Option<Vec<f64>>>() else {
                return Ok(Err(undefined(
                    UndefinedReason::UndefinedInput,
                    "a month of the window has no customers at its start",
                    components,
                )));
            };
            let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
            components.push(Component::number("mean_monthly_churn", mean));
            if mean == 0.0 {
                return Ok(Err(undefined(
                    UndefinedReason::ZeroDenominator,
                    "no churn in the window's months",
                    components,
                )));
            }
            Ok(Ok((currency, arpa * margin / mean, components)))
        }
        Method::Historical => {
            let acquired: Vec<&str> = state
                .customers
                .iter()
                .filter(|(_, (acquired, _))| period.window.contains(*acquired))
                .map(|(id, _)| id)
                .collect();
            let mut total = MoneySum::default();
            for id in &acquired {
                if let Some(sum) = state.lifetime_revenue.get(id) {
                    total.merge(sum);
                }
            }
            let components = vec![Component::count(
                "customers_acquired",
                acquired.len() as u64,
            )];
            match single_currency(metric, &total)? {
                Some((currency, sum)) if !acquired.is_empty() => Ok(Ok((
                    currency,
                    sum as f64 / acquired.len() as f64,
                    components,
                ))),
                _ => Ok(Err(undefined(
                    UndefinedReason::NoData,
                    "no revenue from customers acquired in the window",
                    components,
                ))),
            }
        }
        Method::Transactional => {
            let customers = state.ordering_customers.len();
            let Some((currency, revenue)) =
                single_currency(metric, &state.revenue_in_period)?.filter(|_| customers > 0)
            else {
                return Ok(Err(undefined(
                    UndefinedReason::NoData,
                    "no orders in the window",
                    Vec::new(),
                )));
            };
            let years = match whole_months(&period) {
                Some(months) => f64::from(months) / 12.0,
                None => period.window.duration().num_seconds() as f64 / 86_400.0 / 365.25,
            };
            let per_year = revenue as f64 / customers as f64 / years;
            let mut components = vec![
                Component::number("value_per_year_minor_units", per_year),
                Component::count("ordering_customers", customers as u64),
            ];
            let lifespan = match ctx.settings.number(&LIFESPAN) {
                Some(years) => years,
                None => match churn(state, year_before_end(&period)) {
                    Some(annual) if annual > 0.0 => {
                        components.push(Component::number("annual_churn", annual));
                        1.0 / annual
                    }
                    _ => {
                        return Ok(Err(undefined(
                            UndefinedReason::UndefinedInput,
                            "no churn over the 12 months ending at the window's end: give lifespan_years",
                            components,
                        )));
                    }
                },
            };
            components.push(Component::number("lifespan_years", lifespan));
            Ok(Ok((currency, per_year * lifespan, components)))
        }
    }
}

/// Whole local calendar months in the period, when it is made of them.
fn whole_months(period: &Period) -> Option<u32> {
    let tz = period.time_zone;
    let (start, end) = (
        period.window.start.with_timezone(&tz).naive_local(),
        period.window.end.with_timezone(&tz).naive_local(),
    );
    let midnight_first =
        |t: chrono::NaiveDateTime| t.time() == chrono::NaiveTime::MIN && t.day() == 1;
    if !(midnight_first(start) && midnight_first(end)) {
        return None;
    }
    let months = (end.year() - start.year()) * 12 + end.month() as i32 - start.month() as i32;
    u32::try_from(months).ok().filter(|m| *m > 0)
}

/// The 12 calendar months ending at the period's end.
fn year_before_end(period: &Period) -> Window {
    let tz = period.time_zone;
    let end_local = period.window.end.with_timezone(&tz).naive_local();
    let start_local = end_local
        .checked_sub_months(Months::new(12))
        .unwrap_or(end_local);
    Window {
        start: crate::calendar::local_to_instant(tz, start_local),
        end: period.window.end,
    }
}

/// The calendar months of the period (clipped to it).
fn months_of(period: &Period) -> Vec<Window> {
    buckets(period.window, period.time_zone, Granularity::Month, 1, 1200).unwrap_or_default()
}
