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

use crate::calendar::Window;
use crate::catalog::{Direction, MetricDefinition, Settings, ValueKind};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField};
use crate::eval::{Family, FoldContext, Metric, Route, State};
use crate::money::MoneySum;
use crate::records::{CostCategory, Customer, RecordKind, RenewalOutcome, Timestamp};
use crate::value::money_component;
use crate::value::{Component, EvalError, MetricResult, money_result};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[&RenewalRate, &CustomerRetentionCost];

/// Share of the renewals due in the window that were decided RENEWED.
pub struct RenewalRate;

static RENEWAL_RATE: MetricDefinition = MetricDefinition {
    id: "renewal_rate",
    family: "retention",
    version: 1,
    description: "Renewal rate: among subscriptions whose renewal was due in the window and has been decided (RENEWED or NOT_RENEWED), the share that renewed. Pending renewals (no outcome yet, or due after as_of) are a component, not in the denominator.",
    formula: "subscriptions with renewal_due_time in P and outcome RENEWED / subscriptions with renewal_due_time in P and outcome RENEWED or NOT_RENEWED",
    value_kind: ValueKind::Ratio,
    unit: "fraction",
    direction: Direction::HigherIsBetter,
    reads: &[RecordKind::Subscription],
    primary: &[RecordKind::Subscription],
    policies: &[],
    parameters: &[],
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

impl Family for RenewalRate {
    type State = RenewalCounts;

    fn definition(&self) -> &'static MetricDefinition {
        &RENEWAL_RATE
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::default();
        plan.read_bounded(TimeBound {
            field: TimeField::SubscriptionStart,
            from: None,
            until: Some(span.end),
        });
        plan
    }

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

    fn finalize(
        &self,
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
}

/// Retention spend per customer kept through the window.
pub struct CustomerRetentionCost;

static CUSTOMER_RETENTION_COST: MetricDefinition = MetricDefinition {
    id: "customer_retention_cost",
    family: "retention",
    version: 1,
    description: "Customer retention cost: the RETENTION costs incurred in the window per customer retained through it (active at both the window's start and its last instant), rounded half to even. Group by channel or attr.* (dimensions answering costs and customers).",
    formula: "sum of Cost with category RETENTION and incurred_time in P / customers active at both P.start and the last instant of P",
    value_kind: ValueKind::Money,
    unit: "money",
    direction: Direction::LowerIsBetter,
    reads: &[RecordKind::Cost, RecordKind::Customer],
    primary: &[RecordKind::Cost, RecordKind::Customer],
    policies: &[],
    parameters: &[],
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

impl Family for CustomerRetentionCost {
    type State = RetentionCostState;

    fn definition(&self) -> &'static MetricDefinition {
        &CUSTOMER_RETENTION_COST
    }

    /// Costs incurred in the span; customers acquired before it ends.
    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::default();
        plan.read_bounded(TimeBound {
            field: TimeField::CostIncurred,
            from: Some(span.start),
            until: Some(span.end),
        });
        plan.read_bounded(TimeBound {
            field: TimeField::CustomerAcquired,
            from: None,
            until: Some(span.end),
        });
        plan
    }

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

    fn finalize(
        &self,
        _ctx: &FoldContext<'_, '_>,
        state: &RetentionCostState,
    ) -> Result<MetricResult, EvalError> {
        let id = CUSTOMER_RETENTION_COST.id;
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
}

#[cfg(test)]
#[path = "tests/renewals.rs"]
mod tests;
