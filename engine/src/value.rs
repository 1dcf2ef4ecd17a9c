//! Typed metric values, their components, and the reasons a value may not exist.
//!
//! No data is not zero: a metric with an empty input or a zero denominator returns no value and an
//! [`Undefined`] reason, never NaN and never 0.

use std::collections::BTreeMap;

use crate::money::{Currency, Money, MoneySum, divide_half_even};

/// Why a metric has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UndefinedReason {
    /// No record qualified.
    NoData,
    /// The denominator is zero.
    ZeroDenominator,
    /// A parameter the formula needs was not given and has no default.
    MissingParameter,
    /// An input of the formula is itself undefined (e.g. a churn of zero for a lifespan).
    UndefinedInput,
}

/// A metric's missing value, with a human-readable explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Undefined {
    pub reason: UndefinedReason,
    pub detail: String,
}

/// A ratio returned as a fraction with its exact numerator and denominator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio {
    pub value: f64,
    pub numerator: f64,
    pub denominator: f64,
}

/// A money value; averages carry the exact numerator (a sum) and denominator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MoneyValue {
    pub amount: Money,
    pub numerator: Option<Money>,
    pub denominator: Option<f64>,
}

/// Statistics of a set of durations, in seconds. Percentiles are nearest-rank on sorted values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DurationStats {
    pub count: u64,
    pub total_seconds: f64,
    pub mean_seconds: f64,
    pub median_seconds: f64,
    pub p90_seconds: f64,
    pub min_seconds: f64,
    pub max_seconds: f64,
}

/// One entry of a breakdown value (per stage, per movement, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct BreakdownEntry {
    pub key: String,
    pub value: Option<Value>,
    pub components: Vec<Component>,
}

/// A metric value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Ratio(Ratio),
    Money(MoneyValue),
    Duration(DurationStats),
    /// A score on the metric's own scale (NPS points, CES mean, health score).
    Score(f64),
    Count(u64),
    Number(f64),
    Breakdown(Vec<BreakdownEntry>),
}

/// A named input or by-product of a formula (numerator, counts, shares).
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub name: String,
    pub value: ComponentValue,
}

/// The typed value of a component.
#[derive(Debug, Clone, PartialEq)]
pub enum ComponentValue {
    Count(u64),
    Number(f64),
    Money(Money),
    Seconds(f64),
}

impl Component {
    /// A count component.
    pub fn count(name: &str, value: u64) -> Component {
        Component {
            name: name.to_owned(),
            value: ComponentValue::Count(value),
        }
    }

    /// A number component.
    pub fn number(name: &str, value: f64) -> Component {
        Component {
            name: name.to_owned(),
            value: ComponentValue::Number(value),
        }
    }

    /// A money component.
    pub fn money(name: &str, value: Money) -> Component {
        Component {
            name: name.to_owned(),
            value: ComponentValue::Money(value),
        }
    }

    /// A duration component, in seconds.
    pub fn seconds(name: &str, value: f64) -> Component {
        Component {
            name: name.to_owned(),
            value: ComponentValue::Seconds(value),
        }
    }
}

/// The value (or reason for none) of a metric over one window and group, with its components.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricResult {
    pub value: Result<Value, Undefined>,
    pub components: Vec<Component>,
}

impl MetricResult {
    /// A defined value.
    pub fn value(value: Value, components: Vec<Component>) -> MetricResult {
        MetricResult {
            value: Ok(value),
            components,
        }
    }

    /// No value, for `reason`.
    pub fn undefined(
        reason: UndefinedReason,
        detail: impl Into<String>,
        components: Vec<Component>,
    ) -> MetricResult {
        MetricResult {
            value: Err(Undefined {
                reason,
                detail: detail.into(),
            }),
            components,
        }
    }

    /// `numerator / denominator` as a ratio; undefined with ZERO_DENOMINATOR (or NO_DATA when
    /// `no_data_detail` is given and the denominator is zero) otherwise.
    pub fn ratio(
        numerator: f64,
        denominator: f64,
        what: &str,
        components: Vec<Component>,
    ) -> MetricResult {
        if denominator == 0.0 {
            return MetricResult::undefined(
                UndefinedReason::ZeroDenominator,
                format!("no {what} in the window"),
                components,
            );
        }
        MetricResult::value(
            Value::Ratio(Ratio {
                value: numerator / denominator,
                numerator,
                denominator,
            }),
            components,
        )
    }

    /// The numeric value when defined, for comparisons with a previous period.
    pub fn scalar(&self) -> Option<f64> {
        match self.value.as_ref().ok()? {
            Value::Ratio(r) => Some(r.value),
            Value::Money(m) => Some(m.amount.minor_units as f64),
            Value::Duration(d) => Some(d.mean_seconds),
            Value::Score(s) | Value::Number(s) => Some(*s),
            Value::Count(c) => Some(*c as f64),
            Value::Breakdown(_) => None,
        }
    }
}

/// Errors that stop a whole computation (as opposed to an undefined value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// Amounts in several currencies would have to be added, and no conversion applies.
    MixedCurrencies {
        metric: String,
        currencies: Vec<String>,
    },
    /// A sum did not fit in 64 bits (money in minor units, durations in microseconds).
    Overflow { metric: String },
    /// No exchange rate converts `currency` on or before `date`.
    MissingRate { currency: String, date: String },
    /// No exchange rate path reaches `currency`: it is not the tenant's `base` currency and has
    /// no rates.
    Unreachable {
        currency: String,
        base: Option<String>,
    },
    /// The group-by yields more than `limit` groups.
    TooManyGroups { limit: usize },
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalError::MixedCurrencies { metric, currencies } => write!(
                f,
                "{metric}: amounts in several currencies ({}) cannot be added; set reporting_currency to convert them with the tenant's exchange rates, or filter to one currency",
                currencies.join(", ")
            ),
            EvalError::Overflow { metric } => write!(
                f,
                "{metric}: a result exceeds what 64 bits hold (money in minor units, durations \
                 in microseconds)"
            ),
            EvalError::MissingRate { currency, date } => write!(
                f,
                "no exchange rate for {currency} on or before {date}: ingest an ExchangeRate for it"
            ),
            EvalError::Unreachable {
                currency,
                base: Some(base),
            } => write!(
                f,
                "no exchange rate path reaches {currency}: it has no ExchangeRate and is not the \
                 tenant's base currency {base}; ingest ExchangeRate records for {currency} or \
                 report in another currency"
            ),
            EvalError::Unreachable {
                currency,
                base: None,
            } => write!(
                f,
                "no exchange rate path reaches {currency}: it has no ExchangeRate and the tenant \
                 has no base currency; set base_currency with UpdateTenantSettings"
            ),
            EvalError::TooManyGroups { limit } => write!(
                f,
                "the group-by yields more than {limit} groups, the most one request may group \
                 into; add filters or group by fewer or coarser dimensions"
            ),
        }
    }
}

/// The error for amounts of several currencies meeting in one sum of `metric`.
pub fn mixed_currencies(metric: &str, currencies: impl IntoIterator<Item = Currency>) -> EvalError {
    EvalError::MixedCurrencies {
        metric: metric.to_owned(),
        currencies: currencies.into_iter().map(|c| c.to_string()).collect(),
    }
}

/// The exact sum when every amount had one currency (`None` when empty); several currencies
/// are an error naming them.
pub fn single_currency(
    metric: &str,
    sum: &MoneySum,
) -> Result<Option<(Currency, i128)>, EvalError> {
    sum.single()
        .map_err(|mixed| mixed_currencies(metric, mixed.0))
}

/// The single-currency total of `sum` as a money component (`None` when empty).
pub fn money_component(
    metric: &str,
    name: &str,
    sum: &MoneySum,
) -> Result<Option<Component>, EvalError> {
    let Some((currency, total)) = single_currency(metric, sum)? else {
        return Ok(None);
    };
    Ok(Some(Component::money(
        name,
        exact_money(metric, currency, total)?,
    )))
}

/// An exact amount of minor units as money; an overflow error when it exceeds 64 bits.
pub fn exact_money(metric: &str, currency: Currency, minor: i128) -> Result<Money, EvalError> {
    let minor = i64::try_from(minor).map_err(|_| EvalError::Overflow {
        metric: metric.to_owned(),
    })?;
    Ok(Money::new(currency, minor))
}

/// Turns an exact money sum into a money value: the sum itself, or the sum divided by `count`
/// (rounded half to even) when `count` is given. Undefined when empty (NO_DATA, saying there are
/// no `what` in the window) or dividing by zero (ZERO_DENOMINATOR, saying there are none of what
/// the count's text names).
pub fn money_result(
    metric: &str,
    sum: &MoneySum,
    count: Option<(u64, &str)>,
    what: &str,
    mut components: Vec<Component>,
) -> Result<MetricResult, EvalError> {
    let single = single_currency(metric, sum)?;
    let overflow = || EvalError::Overflow {
        metric: metric.to_owned(),
    };
    let Some((currency, total)) = single else {
        return Ok(MetricResult::undefined(
            UndefinedReason::NoData,
            format!("no {what} in the window"),
            components,
        ));
    };
    let total_money = Money::new(currency, i64::try_from(total).map_err(|_| overflow())?);
    match count {
        None => Ok(MetricResult::value(
            Value::Money(MoneyValue {
                amount: total_money,
                numerator: None,
                denominator: None,
            }),
            components,
        )),
        Some((0, counted)) => {
            components.push(Component::money("total", total_money));
            Ok(MetricResult::undefined(
                UndefinedReason::ZeroDenominator,
                format!("no {counted}"),
                components,
            ))
        }
        Some((n, _)) => {
            let average = divide_half_even(total, i128::from(n)).ok_or_else(overflow)?;
            Ok(MetricResult::value(
                Value::Money(MoneyValue {
                    amount: Money::new(currency, average),
                    numerator: Some(total_money),
                    denominator: Some(n as f64),
                }),
                components,
            ))
        }
    }
}

/// An exact multiset of durations (microseconds → occurrences): mergeable, order-independent,
/// and enough for exact nearest-rank percentiles.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DurationSet {
    counts: BTreeMap<i64, u64>,
}

impl DurationSet {
    /// Adds one duration in microseconds.
    pub fn add_micros(&mut self, micros: i64) {
        *self.counts.entry(micros).or_insert(0) += 1;
    }

    /// Adds one duration.
    pub fn add(&mut self, duration: chrono::Duration) {
        self.add_micros(duration.num_microseconds().unwrap_or(i64::MAX));
    }

    /// Adds every duration of `other`.
    pub fn merge(&mut self, other: &DurationSet) {
        for (micros, n) in &other.counts {
            *self.counts.entry(*micros).or_insert(0) += n;
        }
    }

    /// How many durations.
    pub fn len(&self) -> u64 {
        self.counts.values().sum()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The value at 1-based nearest rank `ceil(p × n)` (at least 1).
    fn nearest_rank(&self, p: f64, n: u64) -> i64 {
        let rank = ((p * n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (micros, count) in &self.counts {
            seen += count;
            if seen >= rank {
                return *micros;
            }
        }
        0
    }

    /// Count, total, mean, nearest-rank median and p90, min and max; `None` when empty.
    pub fn stats(&self) -> Option<DurationStats> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let total_micros: i128 = self
            .counts
            .iter()
            .map(|(micros, count)| i128::from(*micros) * i128::from(*count))
            .sum();
        let seconds = |micros: i64| micros as f64 / 1e6;
        Some(DurationStats {
            count: n,
            total_seconds: total_micros as f64 / 1e6,
            mean_seconds: total_micros as f64 / 1e6 / n as f64,
            median_seconds: seconds(self.nearest_rank(0.5, n)),
            p90_seconds: seconds(self.nearest_rank(0.9, n)),
            min_seconds: seconds(*self.counts.keys().next().unwrap_or(&0)),
            max_seconds: seconds(*self.counts.keys().next_back().unwrap_or(&0)),
        })
    }

    /// The duration result, or NO_DATA with `what` explained.
    pub fn result(&self, what: &str, components: Vec<Component>) -> MetricResult {
        match self.stats() {
            Some(stats) => MetricResult::value(Value::Duration(stats), components),
            None => MetricResult::undefined(
                UndefinedReason::NoData,
                format!("no {what} in the window"),
                components,
            ),
        }
    }
}

#[cfg(test)]
#[path = "tests/value.rs"]
mod tests;
