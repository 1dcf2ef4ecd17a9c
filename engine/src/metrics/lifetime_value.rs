//! Customer lifetime value and what it is weighed against: `customer_lifetime_value` (three
//! methods), `ltv_to_cac` and `cac_payback_months` (docs/metrics.md).
//!
//! One reading keeps, per period, everything the three need: every customer's acquisition and
//! churn instants (for churn over other windows than P: the 12 months ending at P.end, each month
//! of P), revenue in P and over each customer's lifetime, the subscriptions (for ARPA at P.end),
//! and acquisition spend. Money-valued results are rounded half to even to minor units.

use crate::by_id::ById;

use chrono::{Datelike, Months};

use crate::calendar::{Granularity, Window, buckets};
use crate::catalog::{
    Direction, MetricDefinition, ParamDefault, ParamKind, ParameterDefinition, PolicyDefinition,
    Settings, ValueKind,
};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField, is_acquisition};
use crate::eval::{Metric, Period, Reading, ReadingMetric, State};
use crate::money::{Currency, Money, MoneySum};
use crate::records::{RecordKind, Text, Timestamp};
use crate::value::{Component, EvalError, MetricResult, MoneyValue, UndefinedReason, Value};

mod formulas;

use formulas::{cac, clv, undefined};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[
    &CUSTOMER_LIFETIME_VALUE_METRIC,
    &LTV_TO_CAC_METRIC,
    &CAC_PAYBACK_MONTHS_METRIC,
];

const READS: &[RecordKind] = &[
    RecordKind::Customer,
    RecordKind::Order,
    RecordKind::Subscription,
    RecordKind::Cost,
];

const METHOD: PolicyDefinition = PolicyDefinition {
    name: "method",
    description: "transactional: value per year × lifespan; subscription: ARPA × margin / monthly churn; historical: mean revenue to date (orders up to as_of, not only up to the window's end) of the customers acquired in P",
    values: &["transactional", "subscription", "historical"],
    default: "transactional",
};

const LIFESPAN: ParameterDefinition = ParameterDefinition {
    name: "lifespan_years",
    description: "customer lifespan in years (transactional method); default 1 / annual churn over the 12 months ending at P.end",
    kind: ParamKind::Number,
    default: None,
    positive: true,
};

const MARGIN: ParameterDefinition = ParameterDefinition {
    name: "gross_margin",
    description: "share of revenue kept as margin, 0..1",
    kind: ParamKind::Number,
    default: Some(ParamDefault::Number(1.0)),
    positive: true,
};

static CUSTOMER_LIFETIME_VALUE: MetricDefinition = MetricDefinition {
    id: "customer_lifetime_value",
    family: "lifetime_value",
    version: 1,
    description: "The value of a customer over its lifetime, by the chosen method.",
    formula: "transactional: revenue in P / distinct ordering customers / years(P) × lifespan (lifespan_years, else 1 / churn over the 12 months ending at P.end; years(P) = months / 12 for whole calendar months, else days / 365.25); subscription: ARPA at P.end × gross_margin / mean monthly customer_churn_rate over the months of P; historical: mean total revenue to date per customer acquired in P, where \"to date\" runs to as_of (every order with order_time <= as_of, in or after P), not to P.end",
    value_kind: ValueKind::Money,
    unit: "currency",
    direction: Direction::HigherIsBetter,
    reads: READS,
    primary: READS,
    policies: &[METHOD],
    parameters: &[LIFESPAN, MARGIN],
};

static LTV_TO_CAC: MetricDefinition = MetricDefinition {
    id: "ltv_to_cac",
    family: "lifetime_value",
    version: 1,
    description: "Customer lifetime value per unit of acquisition cost, for the same window and policies.",
    formula: "customer_lifetime_value / customer_acquisition_cost",
    value_kind: ValueKind::Number,
    unit: "ratio",
    direction: Direction::HigherIsBetter,
    reads: READS,
    primary: READS,
    policies: &[METHOD],
    parameters: &[LIFESPAN, MARGIN],
};

static CAC_PAYBACK_MONTHS: MetricDefinition = MetricDefinition {
    id: "cac_payback_months",
    family: "lifetime_value",
    version: 1,
    description: "Months of margin-adjusted revenue per account needed to earn back the acquisition cost.",
    formula: "customer_acquisition_cost / (arpa at P.end × gross_margin)",
    value_kind: ValueKind::Number,
    unit: "months",
    direction: Direction::LowerIsBetter,
    reads: READS,
    primary: READS,
    policies: &[],
    parameters: &[MARGIN],
};

/// Customer lifetime value.
pub static CUSTOMER_LIFETIME_VALUE_METRIC: ReadingMetric<CustomerEconomics> = ReadingMetric {
    definition: &CUSTOMER_LIFETIME_VALUE,
    reading: CustomerEconomics,
    finalize: clv_result,
};

/// LTV : CAC.
pub static LTV_TO_CAC_METRIC: ReadingMetric<CustomerEconomics> = ReadingMetric {
    definition: &LTV_TO_CAC,
    reading: CustomerEconomics,
    finalize: ltv_to_cac_result,
};

/// CAC payback in months.
pub static CAC_PAYBACK_MONTHS_METRIC: ReadingMetric<CustomerEconomics> = ReadingMetric {
    definition: &CAC_PAYBACK_MONTHS,
    reading: CustomerEconomics,
    finalize: cac_payback_result,
};

/// One subscription, as ARPA needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SubscriptionTerm {
    customer: Text,
    mrr: Money,
    start: Timestamp,
    end: Option<Timestamp>,
}

/// Everything the family reads, for one period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EconomicsState {
    /// customer → (acquired, churned).
    customers: ById<(Timestamp, Option<Timestamp>)>,
    revenue_in_period: MoneySum,
    ordering_customers: ById<()>,
    /// customer → revenue over all its orders up to the evaluation instant.
    lifetime_revenue: ById<MoneySum>,
    /// Non-trial subscriptions by id.
    subscriptions: ById<SubscriptionTerm>,
    acquisition_spend: MoneySum,
}

impl State for EconomicsState {
    fn merge(&mut self, other: &Self) {
        for (id, customer) in other.customers.iter() {
            self.customers.insert(id, *customer);
        }
        self.revenue_in_period.merge(&other.revenue_in_period);
        self.ordering_customers
            .merge_with(&other.ordering_customers, |_, _| {});
        self.lifetime_revenue
            .merge_with(&other.lifetime_revenue, MoneySum::merge);
        for (id, term) in other.subscriptions.iter() {
            self.subscriptions.insert(id, term.clone());
        }
        self.acquisition_spend.merge(&other.acquisition_spend);
    }
}

/// The shared reading of customers, orders, subscriptions and acquisition costs.
pub struct CustomerEconomics;

impl Reading for CustomerEconomics {
    type State = EconomicsState;

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::default();
        // Churn over the 12 months before P.end and lifetime revenue need the full history.
        plan.read_all(RecordKind::Customer);
        for field in [TimeField::OrderOrdered, TimeField::SubscriptionStart] {
            plan.read_bounded(TimeBound {
                field,
                from: None,
                until: Some(span.end),
            });
        }
        plan.read_bounded(TimeBound {
            field: TimeField::CostIncurred,
            from: Some(span.start),
            until: Some(span.end),
        });
        plan
    }

    fn route(&self, _settings: &Settings, _record: RecordRef<'_>) -> crate::eval::Route {
        crate::eval::Route::Everywhere
    }

    fn fold<'a>(
        &self,
        ctx: &crate::eval::FoldContext<'a, '_>,
        state: &mut EconomicsState,
        record: RecordRef<'a>,
    ) {
        let window = ctx.period.window;
        let t = ctx.point_in_time();
        match record {
            RecordRef::Customer(c) => {
                state
                    .customers
                    .insert(&c.meta.id, (c.acquired_time, c.churned_time));
            }
            RecordRef::Order(o) if o.ordered_time <= t => {
                if window.contains(o.ordered_time) {
                    state.revenue_in_period.add(o.amount);
                    state.ordering_customers.entry(&o.customer_id);
                }
                state.lifetime_revenue.entry(&o.customer_id).add(o.amount);
            }
            RecordRef::Subscription(s) if !s.trial => {
                state.subscriptions.insert(
                    &s.meta.id,
                    SubscriptionTerm {
                        customer: s.customer_id.clone(),
                        mrr: s.mrr,
                        start: s.start_time,
                        end: s.end_time,
                    },
                );
            }
            RecordRef::Cost(c)
                if is_acquisition(c.category) && window.contains(c.incurred_time) =>
            {
                state.acquisition_spend.add(c.amount);
            }
            _ => {}
        }
    }
}

/// Money from a float amount of minor units, rounded half to even; an amount beyond 64-bit minor
/// units is an overflow, never a saturated value.
fn money_value(
    metric: &str,
    currency: Currency,
    minor: f64,
    components: Vec<Component>,
) -> Result<MetricResult, EvalError> {
    let rounded = minor.round_ties_even();
    // i64::MAX as f64 is 2^63, the first value that does not fit.
    if !rounded.is_finite() || rounded >= i64::MAX as f64 || rounded < i64::MIN as f64 {
        return Err(EvalError::Overflow {
            metric: metric.to_owned(),
        });
    }
    Ok(MetricResult::value(
        Value::Money(MoneyValue {
            amount: Money::new(currency, rounded as i64),
            numerator: None,
            denominator: None,
        }),
        components,
    ))
}

fn clv_result(
    definition: &'static MetricDefinition,
    ctx: &crate::eval::FoldContext<'_, '_>,
    state: &EconomicsState,
) -> Result<MetricResult, EvalError> {
    match clv(definition.id, ctx, state)? {
        Ok((currency, minor, components)) => {
            money_value(definition.id, currency, minor, components)
        }
        Err(result) => Ok(result),
    }
}

fn ltv_to_cac_result(
    definition: &'static MetricDefinition,
    ctx: &crate::eval::FoldContext<'_, '_>,
    state: &EconomicsState,
) -> Result<MetricResult, EvalError> {
    let (ltv_currency, ltv, mut components) = match clv(definition.id, ctx, state)? {
        Ok(found) => found,
        Err(result) => {
            return Ok(undefined(
                UndefinedReason::UndefinedInput,
                "customer_lifetime_value is undefined",
                result.components,
            ));
        }
    };
    let Some((cac_currency, cac)) = cac(definition.id, ctx.period, state)? else {
        return Ok(undefined(
            UndefinedReason::UndefinedInput,
            "customer_acquisition_cost is undefined",
            components,
        ));
    };
    if ltv_currency != cac_currency {
        return Err(EvalError::MixedCurrencies {
            metric: definition.id.to_owned(),
            currencies: vec![ltv_currency.to_string(), cac_currency.to_string()],
        });
    }
    components.push(Component::number(
        "customer_lifetime_value_minor_units",
        ltv,
    ));
    components.push(Component::number(
        "customer_acquisition_cost_minor_units",
        cac,
    ));
    if cac == 0.0 {
        return Ok(undefined(
            UndefinedReason::ZeroDenominator,
            "acquisition cost is 0",
            components,
        ));
    }
    Ok(MetricResult::value(Value::Number(ltv / cac), components))
}

fn cac_payback_result(
    definition: &'static MetricDefinition,
    ctx: &crate::eval::FoldContext<'_, '_>,
    state: &EconomicsState,
) -> Result<MetricResult, EvalError> {
    let Some((cac_currency, cac)) = cac(definition.id, ctx.period, state)? else {
        return Ok(undefined(
            UndefinedReason::UndefinedInput,
            "customer_acquisition_cost is undefined",
            Vec::new(),
        ));
    };
    let margin = ctx.settings.number("gross_margin").unwrap_or(1.0);
    let Some((arpa_currency, arpa)) = formulas::arpa(definition.id, state, ctx.point_in_time())?
    else {
        return Ok(undefined(
            UndefinedReason::UndefinedInput,
            "no paying account at the window's end",
            Vec::new(),
        ));
    };
    if arpa_currency != cac_currency {
        return Err(EvalError::MixedCurrencies {
            metric: definition.id.to_owned(),
            currencies: vec![arpa_currency.to_string(), cac_currency.to_string()],
        });
    }
    let components = vec![
        Component::number("customer_acquisition_cost_minor_units", cac),
        Component::number("arpa_minor_units", arpa),
    ];
    Ok(MetricResult::value(
        Value::Number(cac / (arpa * margin)),
        components,
    ))
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

#[cfg(test)]
#[path = "tests/lifetime_value.rs"]
mod tests;
