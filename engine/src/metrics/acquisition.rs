//! Acquisition: `customer_acquisition_cost` (docs/metrics.md).
//!
//! Acquisition spend (costs of category ACQUISITION_MARKETING or ACQUISITION_SALES) and new
//! customers are both primary records, so the dimension `channel` means a cost's channel and a
//! customer's acquisition channel alike: grouped by channel, each group divides that channel's
//! spend by the customers it acquired.

use crate::calendar::Window;
use crate::catalog::{Direction, MetricDefinition, Settings, Term, UndefinedCase, ValueKind};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField, is_acquisition};
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Reading, Route, State};
use crate::money::MoneySum;
use crate::records::{RecordKind, Timestamp};
use crate::value::{Component, EvalError, MetricResult, UndefinedReason, money_result};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[&CUSTOMER_ACQUISITION_COST];

/// Costs and customers, both read and primary: here and in `renewals` (customer retention cost).
pub(super) const COST_AND_CUSTOMER_KINDS: &[RecordKind] = &[RecordKind::Cost, RecordKind::Customer];

/// Acquisition spend per new customer.
pub static CUSTOMER_ACQUISITION_COST: Declaration<SpendAndNewCustomers> = Declaration {
    definition: MetricDefinition {
        id: "customer_acquisition_cost",
        family: "acquisition",
        version: 1,
        description: "Customer acquisition cost: acquisition spend in the window per customer acquired in it. Grouped by channel, each channel's spend over the customers whose acquisition channel it is.",
        formula: "sum of Cost with category ACQUISITION_MARKETING or ACQUISITION_SALES and incurred_time in P / customers with acquired_time in P",
        value_kind: ValueKind::Money,
        unit: "currency",
        direction: Direction::LowerIsBetter,
        reads: COST_AND_CUSTOMER_KINDS,
        primary: COST_AND_CUSTOMER_KINDS,
        policies: &[],
        parameters: &[],
        components: &[
            Term {
                name: "new_customers",
                description: "customers acquired in the window",
            },
            Term {
                name: "total",
                description: "only when no customer was acquired: the acquisition spend in the window",
            },
        ],
        breakdown_keys: &[],
        undefined: &[
            UndefinedCase {
                reason: UndefinedReason::NoData,
                when: "no acquisition cost was incurred in the window",
            },
            UndefinedCase {
                reason: UndefinedReason::ZeroDenominator,
                when: "acquisition costs were incurred in the window but no customer was acquired in it",
            },
        ],
    },
    reading: SpendAndNewCustomers,
    finalize: customer_acquisition_cost_result,
    relate_group: None,
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

/// Acquisition costs incurred in the period and customers acquired in it: each kind counts by
/// its own time, so the reading extends the plan and routes customers itself.
pub struct SpendAndNewCustomers;

impl Reading for SpendAndNewCustomers {
    type State = AcquisitionState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::CostIncurred)
    }

    fn plan(&self, settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = self.counted_by(settings).plan(span);
        plan.read_bounded(TimeBound {
            field: TimeField::CustomerAcquired,
            from: Some(span.start),
            until: Some(span.end),
        });
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
}

/// The value of `customer_acquisition_cost`.
fn customer_acquisition_cost_result(
    definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &AcquisitionState,
) -> Result<MetricResult, EvalError> {
    let components = vec![Component::count("new_customers", state.new_customers)];
    money_result(
        definition.id,
        &state.spend,
        Some((state.new_customers, "new customers acquired in the window")),
        "acquisition costs",
        components,
    )
}

#[cfg(test)]
#[path = "tests/acquisition.rs"]
mod tests;
