//! Customer lifetime value and what it is weighed against: `customer_lifetime_value` (three
//! methods), `ltv_to_cac` and `cac_payback_months` (docs/metrics.md).
//!
//! One reading keeps, per period, everything the three need: every customer's acquisition and
//! churn instants (for churn over other windows than P: the 12 months ending at P.end, each month
//! of P), revenue in P and over each customer's lifetime, the subscriptions (for ARPA at P.end),
//! and acquisition spend. Money-valued results are rounded half to even to minor units.

use crate::by_id::ById;

use crate::calendar::Window;
use crate::catalog::{
    Choice, Direction, MetricDefinition, ParamDefault, ParamKind, ParameterDefinition,
    PolicyDefinition, Settings, Term, UndefinedCase, ValueKind,
};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField, is_acquisition};
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Reading, State};
use crate::money::{Currency, Money, MoneySum};
use crate::records::{RecordKind, Text, Timestamp};
use crate::value::{Component, EvalError, MetricResult, MoneyValue, UndefinedReason, Value};

mod formulas;

use formulas::{cac, clv, undefined};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] =
    &[&CUSTOMER_LIFETIME_VALUE, &LTV_TO_CAC, &CAC_PAYBACK_MONTHS];

const READS: &[RecordKind] = &[
    RecordKind::Customer,
    RecordKind::Order,
    RecordKind::Subscription,
    RecordKind::Cost,
];

/// How customer lifetime value is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// Value per year × lifespan.
    Transactional,
    /// ARPA × margin / monthly churn.
    Subscription,
    /// Mean revenue to date of the customers acquired in the window.
    Historical,
}

impl Choice for Method {
    const POLICY: PolicyDefinition = PolicyDefinition {
        name: "method",
        description: "transactional: value per year × lifespan; subscription: ARPA × margin / monthly churn; historical: mean revenue to date (orders up to as_of, not only up to the window's end) of the customers acquired in P",
        values: &["transactional", "subscription", "historical"],
        default: "transactional",
    };
    const ALL: &'static [Method] = &[
        Method::Transactional,
        Method::Subscription,
        Method::Historical,
    ];
}

/// The customer lifespan in years, for the transactional method.
const LIFESPAN: ParameterDefinition = ParameterDefinition {
    name: "lifespan_years",
    description: "customer lifespan in years (transactional method); default 1 / annual churn over the 12 months ending at P.end",
    kind: ParamKind::Number,
    default: None,
    positive: true,
};

/// The share of revenue kept as margin, shared by every metric of the family.
const MARGIN: ParameterDefinition = ParameterDefinition {
    name: "gross_margin",
    description: "share of revenue kept as margin, 0..1",
    kind: ParamKind::Number,
    default: Some(ParamDefault::Number(1.0)),
    positive: true,
};

/// The components of a lifetime value, by method (also carried by `ltv_to_cac`).
const CLV_COMPONENTS: [Term; 7] = [
    Term {
        name: "value_per_year_minor_units",
        description: "transactional method: revenue in the window per ordering customer per year, in minor units",
    },
    Term {
        name: "ordering_customers",
        description: "transactional method: distinct customers with an order in the window",
    },
    Term {
        name: "annual_churn",
        description: "transactional method without lifespan_years: customer churn over the 12 months ending at the window's end, when above 0",
    },
    Term {
        name: "lifespan_years",
        description: "transactional method: the lifespan applied (lifespan_years, else 1 / annual_churn)",
    },
    Term {
        name: "arpa_minor_units",
        description: "subscription method: MRR per paying account at the window's end, in minor units",
    },
    Term {
        name: "mean_monthly_churn",
        description: "subscription method: mean customer churn over the months of the window, when every month had customers at its start",
    },
    Term {
        name: "customers_acquired",
        description: "historical method: customers acquired in the window",
    },
];

/// Customer lifetime value.
pub static CUSTOMER_LIFETIME_VALUE: Declaration<CustomerEconomics> = Declaration {
    definition: MetricDefinition {
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
        policies: &[Method::POLICY],
        parameters: &[LIFESPAN, MARGIN],
        components: &CLV_COMPONENTS,
        breakdown_keys: &[],
        undefined: &[
            UndefinedCase {
                reason: UndefinedReason::NoData,
                when: "transactional: no order in the window; subscription: no paying account at the window's end; historical: no revenue from customers acquired in the window",
            },
            UndefinedCase {
                reason: UndefinedReason::UndefinedInput,
                when: "transactional without lifespan_years: no churn over the 12 months ending at the window's end (or no customer active at their start); subscription: a month of the window has no customer at its start",
            },
            UndefinedCase {
                reason: UndefinedReason::ZeroDenominator,
                when: "subscription: no churn in the months of the window",
            },
        ],
    },
    reading: CustomerEconomics,
    finalize: customer_lifetime_value_result,
    relate_group: None,
};

/// The acquisition cost, in minor units, as a component of the metrics weighed against it.
const CAC_MINOR_UNITS: &str = "customer_acquisition_cost_minor_units";

/// LTV : CAC.
pub static LTV_TO_CAC: Declaration<CustomerEconomics> = Declaration {
    definition: MetricDefinition {
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
        policies: &[Method::POLICY],
        parameters: &[LIFESPAN, MARGIN],
        components: &[
            CLV_COMPONENTS[0],
            CLV_COMPONENTS[1],
            CLV_COMPONENTS[2],
            CLV_COMPONENTS[3],
            CLV_COMPONENTS[4],
            CLV_COMPONENTS[5],
            CLV_COMPONENTS[6],
            Term {
                name: "customer_lifetime_value_minor_units",
                description: "the customer lifetime value, in minor units; only when it and the acquisition cost are defined",
            },
            Term {
                name: CAC_MINOR_UNITS,
                description: "acquisition spend in the window per customer acquired in it, in minor units; only when it and the lifetime value are defined",
            },
        ],
        breakdown_keys: &[],
        undefined: &[
            UndefinedCase {
                reason: UndefinedReason::UndefinedInput,
                when: "customer_lifetime_value is undefined, or customer_acquisition_cost is (no acquisition spend or no customer acquired in the window)",
            },
            UndefinedCase {
                reason: UndefinedReason::ZeroDenominator,
                when: "customers were acquired in the window, but its acquisition spend adds up to 0",
            },
        ],
    },
    reading: CustomerEconomics,
    finalize: ltv_to_cac_result,
    relate_group: None,
};

/// CAC payback in months.
pub static CAC_PAYBACK_MONTHS: Declaration<CustomerEconomics> = Declaration {
    definition: MetricDefinition {
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
        components: &[
            Term {
                name: CAC_MINOR_UNITS,
                description: "acquisition spend in the window per customer acquired in it, in minor units",
            },
            Term {
                name: "arpa_minor_units",
                description: "MRR per paying account at the window's end, in minor units",
            },
        ],
        breakdown_keys: &[],
        undefined: &[
            UndefinedCase {
                reason: UndefinedReason::UndefinedInput,
                when: "customer_acquisition_cost is undefined (no acquisition spend or no customer acquired in the window), or no account pays at the window's end",
            },
            UndefinedCase {
                reason: UndefinedReason::ZeroDenominator,
                when: "the accounts running at the window's end pay an MRR of 0 in total, so nothing earns the cost back",
            },
        ],
    },
    reading: CustomerEconomics,
    finalize: cac_payback_months_result,
    relate_group: None,
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

    /// Churn and lifetime revenue look at every customer's whole history, whatever the period.
    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::State
    }

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

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
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

/// The value of `customer_lifetime_value`.
fn customer_lifetime_value_result(
    definition: &MetricDefinition,
    ctx: &FoldContext<'_, '_>,
    state: &EconomicsState,
) -> Result<MetricResult, EvalError> {
    match clv(definition.id, ctx, state)? {
        Ok((currency, minor, components)) => {
            money_value(definition.id, currency, minor, components)
        }
        Err(result) => Ok(result),
    }
}

/// The value of `ltv_to_cac`.
fn ltv_to_cac_result(
    definition: &MetricDefinition,
    ctx: &FoldContext<'_, '_>,
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
    components.push(Component::number(CAC_MINOR_UNITS, cac));
    if cac == 0.0 {
        return Ok(undefined(
            UndefinedReason::ZeroDenominator,
            "acquisition cost is 0",
            components,
        ));
    }
    Ok(MetricResult::value(Value::Number(ltv / cac), components))
}

/// The value of `cac_payback_months`.
fn cac_payback_months_result(
    definition: &MetricDefinition,
    ctx: &FoldContext<'_, '_>,
    state: &EconomicsState,
) -> Result<MetricResult, EvalError> {
    let Some((cac_currency, cac)) = cac(definition.id, ctx.period, state)? else {
        return Ok(undefined(
            UndefinedReason::UndefinedInput,
            "customer_acquisition_cost is undefined",
            Vec::new(),
        ));
    };
    let margin = ctx.settings.number(&MARGIN).unwrap_or(1.0);
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
        Component::number(CAC_MINOR_UNITS, cac),
        Component::number("arpa_minor_units", arpa),
    ];
    if arpa == 0.0 {
        return Ok(undefined(
            UndefinedReason::ZeroDenominator,
            "the accounts running at the window's end pay an MRR of 0",
            components,
        ));
    }
    Ok(MetricResult::value(
        Value::Number(cac / (arpa * margin)),
        components,
    ))
}

#[cfg(test)]
#[path = "tests/lifetime_value.rs"]
mod tests;
