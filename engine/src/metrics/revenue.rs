//! Revenue and value: `revenue`, `average_purchase_value` and `net_new_revenue` (docs/metrics.md).
//!
//! Orders count in the periods containing their `ordered_time`. Amounts are summed exactly per
//! currency in minor units ([`MoneySum`]); a single amount is asked for only when finalizing, so
//! adding different currencies is an error naming them, never a raw sum. Averages are rounded half
//! to even by [`money_result`].

use crate::calendar::Window;
use crate::catalog::{Direction, MetricDefinition, Settings, Term, UndefinedCase, ValueKind};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField};
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Reading, State};
use crate::money::MoneySum;
use crate::records::{Order, RecordKind, Timestamp};
use crate::value::money_component;
use crate::value::{Component, EvalError, MetricResult, UndefinedReason, money_result};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[&REVENUE, &AVERAGE_PURCHASE_VALUE, &NET_NEW_REVENUE];

/// The kinds read (and filtered and grouped) by the order metrics, here and in `purchases` and
/// `support`.
pub(super) const ORDER_KINDS: &[RecordKind] = &[RecordKind::Order];

/// The orders of the window, as a component of the order metrics.
pub(super) const ORDERS_PLACED: Term = Term {
    name: "orders",
    description: "orders placed in the window",
};

/// Why an order metric has no data.
pub(super) const NO_ORDER_PLACED: UndefinedCase = UndefinedCase {
    reason: UndefinedReason::NoData,
    when: "no order was placed in the window",
};

fn order_in(record: RecordRef<'_>, window: Window) -> Option<&Order> {
    match record {
        RecordRef::Order(o) if window.contains(o.ordered_time) => Some(o),
        _ => None,
    }
}

/// Orders in the period and the exact sum of their amounts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderTotals {
    orders: u64,
    revenue: MoneySum,
}

impl State for OrderTotals {
    fn merge(&mut self, other: &Self) {
        self.orders += other.orders;
        self.revenue.merge(&other.revenue);
    }
}

impl OrderTotals {
    fn add(&mut self, order: &Order) {
        self.orders += 1;
        self.revenue.add(order.amount);
    }
}

/// Sum of order amounts in the window.
pub static REVENUE: Declaration<OrdersInWindow> = Declaration {
    definition: MetricDefinition {
        id: "revenue",
        family: "revenue",
        version: 1,
        description: "Revenue: the sum of the amounts of orders placed in the window.",
        formula: "sum of order amounts with ordered_time in P (exact, in minor units)",
        value_kind: ValueKind::Money,
        unit: "money",
        direction: Direction::HigherIsBetter,
        reads: ORDER_KINDS,
        primary: ORDER_KINDS,
        policies: &[],
        parameters: &[],
        components: &[ORDERS_PLACED],
        breakdown_keys: &[],
        undefined: &[NO_ORDER_PLACED],
    },
    reading: OrdersInWindow,
    finalize: revenue_result,
    relate_group: None,
};

/// Orders placed in the period, counted and summed (shared by revenue and its average).
pub struct OrdersInWindow;

impl Reading for OrdersInWindow {
    type State = OrderTotals;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::OrderOrdered)
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut OrderTotals, record: RecordRef<'a>) {
        if let Some(order) = order_in(record, ctx.period.window) {
            state.add(order);
        }
    }
}

/// The value of `revenue` from the shared state.
fn revenue_result(
    definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &OrderTotals,
) -> Result<MetricResult, EvalError> {
    let components = vec![Component::count("orders", state.orders)];
    money_result(definition.id, &state.revenue, None, "orders", components)
}

/// Revenue per order: the "average check".
pub static AVERAGE_PURCHASE_VALUE: Declaration<OrdersInWindow> = Declaration {
    definition: MetricDefinition {
        id: "average_purchase_value",
        family: "revenue",
        version: 1,
        description: "Average purchase value (the average check): revenue in the window divided by the number of orders in it, rounded half to even to minor units.",
        formula: "revenue in P / number of orders in P",
        value_kind: ValueKind::Money,
        unit: "money",
        direction: Direction::HigherIsBetter,
        reads: ORDER_KINDS,
        primary: ORDER_KINDS,
        policies: &[],
        parameters: &[],
        components: &[
            ORDERS_PLACED,
            Term {
                name: "revenue",
                description: "the exact sum of their amounts (absent when there is no order)",
            },
        ],
        breakdown_keys: &[],
        undefined: &[NO_ORDER_PLACED],
    },
    reading: OrdersInWindow,
    finalize: average_purchase_value_result,
    relate_group: None,
};

/// The value of `average_purchase_value` from the shared state.
fn average_purchase_value_result(
    definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &OrderTotals,
) -> Result<MetricResult, EvalError> {
    let id = definition.id;
    let mut components = vec![Component::count("orders", state.orders)];
    components.extend(money_component(id, "revenue", &state.revenue)?);
    money_result(
        id,
        &state.revenue,
        Some((state.orders, "orders in the window")),
        "orders",
        components,
    )
}

/// Revenue in the window from customers acquired in the window.
pub static NET_NEW_REVENUE: Declaration<NetNewOrders> = Declaration {
    definition: MetricDefinition {
        id: "net_new_revenue",
        family: "revenue",
        version: 1,
        description: "Net new revenue: the revenue in the window from orders of customers new in the window (acquired_time in the window). An order whose customer is missing from the data is not from a new customer.",
        formula: "sum of order amounts with ordered_time in P whose customer has acquired_time in P",
        value_kind: ValueKind::Money,
        unit: "money",
        direction: Direction::HigherIsBetter,
        reads: &[RecordKind::Order, RecordKind::Customer],
        primary: ORDER_KINDS,
        policies: &[],
        parameters: &[],
        components: &[
            Term {
                name: "orders",
                description: "orders placed in the window, from any customer",
            },
            Term {
                name: "orders_from_new_customers",
                description: "those whose customer was acquired in the window",
            },
            Term {
                name: "revenue",
                description: "the exact sum of the amounts of all orders in the window, from any customer (absent when there is no order)",
            },
        ],
        breakdown_keys: &[],
        undefined: &[NO_ORDER_PLACED],
    },
    reading: NetNewOrders,
    finalize: net_new_revenue_result,
    relate_group: None,
};

/// All orders of the period, and those whose customer is new in the period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetNewState {
    all: OrderTotals,
    from_new: OrderTotals,
}

impl State for NetNewState {
    fn merge(&mut self, other: &Self) {
        self.all.merge(&other.all);
        self.from_new.merge(&other.from_new);
    }
}

/// Orders placed in the period, and whether each one's customer was acquired in it.
pub struct NetNewOrders;

impl Reading for NetNewOrders {
    type State = NetNewState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::OrderOrdered)
    }

    /// Orders in the span, and the customers acquired in it: only those can be new in a period
    /// of the span, and a customer not read is treated like a missing one (not new).
    fn plan(&self, settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = self.counted_by(settings).plan(span);
        plan.read_bounded(TimeBound {
            field: TimeField::CustomerAcquired,
            from: Some(span.start),
            until: Some(span.end),
        });
        plan
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut NetNewState, record: RecordRef<'a>) {
        let window = ctx.period.window;
        let Some(order) = order_in(record, window) else {
            return;
        };
        state.all.add(order);
        let new = ctx
            .lookup
            .customer(&order.customer_id)
            .is_some_and(|c| window.contains(c.acquired_time));
        if new {
            state.from_new.add(order);
        } else {
            // Register the currency: orders but none from new customers is 0, not "no data".
            state.from_new.revenue.add_minor(order.amount.currency, 0);
        }
    }
}

/// The value of `net_new_revenue`.
fn net_new_revenue_result(
    definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &NetNewState,
) -> Result<MetricResult, EvalError> {
    let id = definition.id;
    let mut components = vec![
        Component::count("orders", state.all.orders),
        Component::count("orders_from_new_customers", state.from_new.orders),
    ];
    components.extend(money_component(id, "revenue", &state.all.revenue)?);
    money_result(id, &state.from_new.revenue, None, "orders", components)
}

#[cfg(test)]
#[path = "tests/revenue.rs"]
mod tests;
