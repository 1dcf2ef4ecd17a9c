//! Acquisition: `customer_acquisition_cost` (docs/metrics.md).
//!
//! Acquisition spend (costs of category ACQUISITION_MARKETING or ACQUISITION_SALES) and new
//! customers are both primary records, so the dimension `channel` means a cost's channel and a
//! customer's acquisition channel alike: grouped by channel, each group divides that channel's
//! spend by the customers it acquired.

use crate::calendar::Window;
use crate::catalog::{Direction, MetricDefinition, Settings, ValueKind};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField, is_acquisition};
use crate::eval::{Family, FoldContext, Metric, Route, State};
use crate::money::MoneySum;
use crate::records::{RecordKind, Timestamp};
use crate::value::{Component, EvalError, MetricResult, money_result};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[&CustomerAcquisitionCost];

/// Acquisition spend per new customer.
pub struct CustomerAcquisitionCost;

static CUSTOMER_ACQUISITION_COST: MetricDefinition = MetricDefinition {
    id: "customer_acquisition_cost",
    family: "acquisition",
    version: 1,
    description: "Customer acquisition cost: acquisition spend in the window per customer acquired in it. Grouped by channel, each channel's spend over the customers whose acquisition channel it is.",
    formula: "sum of Cost with category ACQUISITION_MARKETING or ACQUISITION_SALES and incurred_time in P / customers with acquired_time in P",
    value_kind: ValueKind::Money,
    unit: "currency",
    direction: Direction::LowerIsBetter,
    reads: &[RecordKind::Cost, RecordKind::Customer],
    primary: &[RecordKind::Cost, RecordKind::Customer],
    policies: &[],
    parameters: &[],
};

/// Acquisition spend and new customers of one period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AcquisitionState {
    spend: MoneySum,
    new_customers: u64,
}

impl State for AcquisitionState {
    fn merge(&mut self, other: &Self) {
        self.spend.merge(&other.spend);
        self.new_customers += other.new_customers;
    }
}

impl Family for CustomerAcquisitionCost {
    type State = AcquisitionState;

    fn definition(&self) -> &'static MetricDefinition {
        &CUSTOMER_ACQUISITION_COST
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::default();
        for field in [TimeField::CostIncurred, TimeField::CustomerAcquired] {
            plan.read_bounded(TimeBound {
                field,
                from: Some(span.start),
                until: Some(span.end),
            });
        }
        plan
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        match record {
            RecordRef::Cost(c) if is_acquisition(c.category) => Route::At(c.incurred_time),
            RecordRef::Customer(c) => Route::At(c.acquired_time),
            _ => Route::Nowhere,
        }
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut AcquisitionState,
        record: RecordRef<'a>,
    ) {
        let window = ctx.period.window;
        match record {
            RecordRef::Cost(c)
                if is_acquisition(c.category) && window.contains(c.incurred_time) =>
            {
                state.spend.add(c.amount);
            }
            RecordRef::Customer(c) if window.contains(c.acquired_time) => state.new_customers += 1,
            _ => {}
        }
    }

    fn finalize(
        &self,
        _ctx: &FoldContext<'_, '_>,
        state: &AcquisitionState,
    ) -> Result<MetricResult, EvalError> {
        let components = vec![Component::count("new_customers", state.new_customers)];
        money_result(
            CUSTOMER_ACQUISITION_COST.id,
            &state.spend,
            Some((state.new_customers, "new customers acquired in the window")),
            "acquisition costs",
            components,
        )
    }
}

#[cfg(test)]
#[path = "tests/acquisition.rs"]
mod tests;
