//! Renewals and the cost of keeping customers: `renewal_rate` and `customer_retention_cost`
//! (docs/metrics.md).
//!
//! `renewal_rate` counts subscriptions by `renewal_due_time`. The outcome field has no timestamp of
//! its own, so a renewal due after `as_of` is treated as still pending whatever outcome is stored
//! (the future has not happened; component `due_after_as_of`). A subscription without an outcome is
//! pending too. Storage can range-scan subscriptions only by `start_time`, so the plan reads every
//! subscription started before the span ends (a renewal is never due before its subscription
//! starts).
//!
//! `customer_retention_cost` folds RETENTION costs (routed by `incurred_time`) and every customer
//! (routed everywhere and classified against the period: active at `P.start` and at its last
//! instant). Its dimensions are those answering both costs and customers: `channel` (a cost's
//! channel, a customer's acquisition channel) and `attr.*`.

use super::acquisition::COST_AND_CUSTOMER_KINDS;
use super::subscriptions::SUBSCRIPTIONS;
use crate::calendar::Window;
use crate::catalog::{Direction, MetricDefinition, Settings, Term, UndefinedCase, ValueKind};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField};
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Reading, Route, State};
use crate::money::MoneySum;
use crate::records::{CostCategory, Customer, RenewalOutcome, Timestamp};
use crate::value::money_component;
use crate::value::{Component, EvalError, MetricResult, UndefinedReason, money_result};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[&RENEWAL_RATE, &CUSTOMER_RETENTION_COST];

/// Share of the renewals due in the window that were decided RENEWED.
pub static RENEWAL_RATE: Declaration<RenewalsDue> = Declaration {
    definition: MetricDefinition {
        id: "renewal_rate",
        family: "retention",
        version: 1,
        description: "Renewal rate: among subscriptions whose renewal was due in the window and has been decided (RENEWED or NOT_RENEWED), the share that renewed. Pending renewals (no outcome yet, or due after as_of) are a component, not in the denominator.",
        formula: "subscriptions with renewal_due_time in P and outcome RENEWED / subscriptions with renewal_due_time in P and outcome RENEWED or NOT_RENEWED",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::HigherIsBetter,
        reads: SUBSCRIPTIONS,
        primary: SUBSCRIPTIONS,
        policies: &[],
        parameters: &[],
        components: &[
            Term {
                name: "renewed",
                description: "renewals due in the window by as_of with outcome RENEWED (the numerator)",
            },
            Term {
                name: "not_renewed",
                description: "renewals due in the window by as_of with outcome NOT_RENEWED",
            },
            Term {
                name: "pending",
                description: "renewals due in the window not decided: outcome PENDING or absent, or due after as_of",
            },
            Term {
                name: "due_after_as_of",
                description: "of the pending, those due after as_of (whatever outcome is stored)",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::ZeroDenominator,
            when: "no renewal due in the window was decided (RENEWED or NOT_RENEWED) by as_of",
        }],
    },
    reading: RenewalsDue,
    finalize: renewal_rate_result,
    relate_group: None,
};

/// Renewals due in the period, by outcome.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RenewalCounts {
    renewed: u64,
    not_renewed: u64,
    /// No outcome yet, or due after `as_of`.
    pending: u64,
    /// Of the pending: due after `as_of`.
    due_after_as_of: u64,
}

impl State for RenewalCounts {
    fn merge(&mut self, other: &Self) {
        self.renewed += other.renewed;
        self.not_renewed += other.not_renewed;
        self.pending += other.pending;
        self.due_after_as_of += other.due_after_as_of;
    }
}

/// Subscriptions by the renewal due in the period, and its outcome.
pub struct RenewalsDue;

impl Reading for RenewalsDue {
    type State = RenewalCounts;

    /// A subscription counts by its `renewal_due_time`, which is no [`TimeField`] (storage
    /// cannot range-scan it): the reading states its plan and routes itself.
    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::State
    }

    /// Every subscription started before the span ends (a renewal is never due before its
    /// subscription starts).
    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        ReadPlan::before(TimeField::SubscriptionStart, span.end)
    }

    /// The periods containing the renewal's due time; nowhere without one.
    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        match record {
            RecordRef::Subscription(s) => s.renewal_due_time.map_or(Route::Nowhere, Route::At),
            _ => Route::Nowhere,
        }
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut RenewalCounts,
        record: RecordRef<'a>,
    ) {
        let RecordRef::Subscription(s) = record else {
            return;
        };
        let Some(due) = s.renewal_due_time else {
            return;
        };
        if !ctx.period.window.contains(due) {
            return;
        }
        if due > ctx.period.as_of {
            state.pending += 1;
            state.due_after_as_of += 1;
            return;
        }
        match s.renewal_outcome {
            Some(RenewalOutcome::Renewed) => state.renewed += 1,
            Some(RenewalOutcome::NotRenewed) => state.not_renewed += 1,
            Some(RenewalOutcome::Pending) | None => state.pending += 1,
        }
    }
}

/// The value of `renewal_rate`.
fn renewal_rate_result(
    _definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &RenewalCounts,
) -> Result<MetricResult, EvalError> {
    let components = vec![
        Component::count("renewed", state.renewed),
        Component::count("not_renewed", state.not_renewed),
        Component::count("pending", state.pending),
        Component::count("due_after_as_of", state.due_after_as_of),
    ];
    Ok(MetricResult::ratio(
        state.renewed as f64,
        (state.renewed + state.not_renewed) as f64,
        "decided renewals due",
        components,
    ))
}

/// Retention spend per customer kept through the window.
pub static CUSTOMER_RETENTION_COST: Declaration<RetentionSpend> = Declaration {
    definition: MetricDefinition {
        id: "customer_retention_cost",
        family: "retention",
        version: 1,
        description: "Customer retention cost: the RETENTION costs incurred in the window per customer retained through it (active at both the window's start and its last instant), rounded half to even. Group by channel or attr.* (dimensions answering costs and customers).",
        formula: "sum of Cost with category RETENTION and incurred_time in P / customers active at both P.start and the last instant of P",
        value_kind: ValueKind::Money,
        unit: "money",
        direction: Direction::LowerIsBetter,
        reads: COST_AND_CUSTOMER_KINDS,
        primary: COST_AND_CUSTOMER_KINDS,
        policies: &[],
        parameters: &[],
        components: &[
            Term {
                name: "retained_customers",
                description: "customers active at both the window's start and its last instant (the denominator)",
            },
            Term {
                name: "costs",
                description: "RETENTION costs incurred in the window",
            },
            Term {
                name: "total_cost",
                description: "the exact sum of their amounts (absent when there is none)",
            },
            Term {
                name: "total",
                description: "only when undefined for ZERO_DENOMINATOR: the same sum, there being no retained customer to divide it among",
            },
        ],
        breakdown_keys: &[],
        undefined: &[
            UndefinedCase {
                reason: UndefinedReason::NoData,
                when: "no RETENTION cost was incurred in the window",
            },
            UndefinedCase {
                reason: UndefinedReason::ZeroDenominator,
                when: "RETENTION costs were incurred in the window but no customer was active at both its start and its last instant",
            },
        ],
    },
    reading: RetentionSpend,
    finalize: customer_retention_cost_result,
    relate_group: None,
};

/// Retention spend and retained customers of one period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetentionCostState {
    cost: MoneySum,
    costs: u64,
    retained: u64,
}

impl State for RetentionCostState {
    fn merge(&mut self, other: &Self) {
        self.cost.merge(&other.cost);
        self.costs += other.costs;
        self.retained += other.retained;
    }
}

/// Whether the customer is active at `t`.
fn active_at(customer: &Customer, t: Timestamp) -> bool {
    customer.acquired_time <= t && customer.churned_time.is_none_or(|churned| churned > t)
}

/// RETENTION costs by `incurred_time`, and every customer classified against each period.
pub struct RetentionSpend;

impl Reading for RetentionSpend {
    type State = RetentionCostState;

    /// Customers count against any period (retained through it or not).
    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::State
    }

    /// Costs incurred in the span; customers acquired before it ends.
    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::within(TimeField::CostIncurred, span);
        plan.read_bounded(TimeBound {
            field: TimeField::CustomerAcquired,
            from: None,
            until: Some(span.end),
        });
        plan
    }

    /// A RETENTION cost counts in the periods containing its `incurred_time`, other costs
    /// nowhere; a customer everywhere.
    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        match record {
            RecordRef::Cost(c) if c.category == CostCategory::Retention => {
                Route::At(c.incurred_time)
            }
            RecordRef::Customer(_) => Route::Everywhere,
            _ => Route::Nowhere,
        }
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut RetentionCostState,
        record: RecordRef<'a>,
    ) {
        let period = ctx.period;
        match record {
            RecordRef::Cost(c)
                if c.category == CostCategory::Retention
                    && period.window.contains(c.incurred_time) =>
            {
                state.cost.add(c.amount);
                state.costs += 1;
            }
            RecordRef::Customer(c)
                if active_at(c, period.window.start) && active_at(c, period.last_instant()) =>
            {
                state.retained += 1;
            }
            _ => {}
        }
    }
}

/// The value of `customer_retention_cost`.
fn customer_retention_cost_result(
    definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &RetentionCostState,
) -> Result<MetricResult, EvalError> {
    let id = definition.id;
    let mut components = vec![
        Component::count("retained_customers", state.retained),
        Component::count("costs", state.costs),
    ];
    components.extend(money_component(id, "total_cost", &state.cost)?);
    money_result(
        id,
        &state.cost,
        Some((
            state.retained,
            "retained customers (active at both the window's start and its last instant)",
        )),
        "retention costs",
        components,
    )
}

#[cfg(test)]
#[path = "tests/renewals.rs"]
mod tests;
