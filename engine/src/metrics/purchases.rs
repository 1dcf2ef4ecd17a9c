//! Purchases per customer: `repeat_purchase_rate`, `purchase_frequency`,
//! `average_customer_value`, `profit_per_customer`, `revenue_growth`, `upsell_rate` and
//! `cross_sell_rate` (docs/metrics.md).
//!
//! The per-customer metrics share one reading ([`CustomerOrders`]): orders in P counted per
//! customer, with exact revenue and profit sums. `repeat_purchase_rate` with `basis = orders` also
//! needs each customer's orders before P, so under that policy every order placed before the span
//! ends is read and routed everywhere; an order in P is a repeat when its customer has an earlier
//! order, orders being ordered by `(ordered_time, id)` so that exactly one order is a customer's
//! first even when two share an instant.
//!
//! `revenue_growth` lives in the `growth` submodule (it reads each period's previous period),
//! `upsell_rate` / `cross_sell_rate` in the `sales` submodule (customers, orders and deals are all
//! primary there).

use crate::by_id::ById;

use super::revenue::{NO_ORDER_PLACED, ORDER_KINDS, ORDERS_PLACED};
use crate::calendar::Window;
use crate::catalog::{
    Choice, Direction, MetricDefinition, PolicyDefinition, Settings, Term, ValueKind,
};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField};
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Reading, State};
use crate::money::MoneySum;
use crate::records::{Order, Timestamp};
use crate::value::money_component;
use crate::value::{Component, EvalError, MetricResult, UndefinedReason, Value, money_result};

mod growth;
mod sales;

pub use growth::{GrowthState, OrdersAgainstPrevious, REVENUE_GROWTH};
pub use sales::{CROSS_SELL_RATE, Sales, SellState, UPSELL_RATE};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[
    &REPEAT_PURCHASE_RATE,
    &PURCHASE_FREQUENCY,
    &AVERAGE_CUSTOMER_VALUE,
    &PROFIT_PER_CUSTOMER,
    &REVENUE_GROWTH,
    &UPSELL_RATE,
    &CROSS_SELL_RATE,
];

/// Reads the rows of `field` in `[from, until)`.
fn bounded(plan: &mut ReadPlan, field: TimeField, from: Option<Timestamp>, until: Timestamp) {
    plan.read_bounded(TimeBound {
        field,
        from,
        until: Some(until),
    });
}

/// One customer's orders as seen from a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrderHistory {
    /// The customer has an order before `P.start` (read only under `basis = orders`).
    earlier: bool,
    /// Orders in P.
    in_period: u64,
}

/// Orders in the period per customer, with exact revenue and profit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomerOrderState {
    customers: ById<OrderHistory>,
    orders: u64,
    revenue: MoneySum,
    /// `sum(amount − cost)`, a missing cost counting 0.
    profit: MoneySum,
    without_cost: u64,
}

impl State for CustomerOrderState {
    fn merge(&mut self, other: &Self) {
        self.customers
            .merge_with(&other.customers, |entry, history| {
                entry.earlier |= history.earlier;
                entry.in_period += history.in_period;
            });
        self.orders += other.orders;
        self.revenue.merge(&other.revenue);
        self.profit.merge(&other.profit);
        self.without_cost += other.without_cost;
    }
}

impl CustomerOrderState {
    fn add(&mut self, order: &Order) {
        let entry = self.customers.entry(&order.customer_id);
        entry.in_period += 1;
        self.orders += 1;
        self.revenue.add(order.amount);
        self.profit.add(order.amount);
        match order.cost {
            Some(cost) => self.profit.subtract(cost),
            None => self.without_cost += 1,
        }
    }

    /// Distinct customers with an order in P.
    fn ordering_customers(&self) -> u64 {
        self.customers.values().filter(|h| h.in_period > 0).count() as u64
    }

    fn base_components(&self) -> Vec<Component> {
        vec![
            Component::count("orders", self.orders),
            Component::count("customers", self.ordering_customers()),
        ]
    }
}

/// What `repeat_purchase_rate` counts repeats among.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RepeatBasis {
    /// Ordering customers with two or more orders in the window.
    Customers,
    /// Orders of the window whose customer had an earlier order at any time.
    Orders,
}

impl Choice for RepeatBasis {
    const POLICY: PolicyDefinition = PolicyDefinition {
        name: "basis",
        description: "customers: share of ordering customers with two or more orders in the window; orders: share of the window's orders whose customer had an earlier order at any time",
        values: &["customers", "orders"],
        default: "customers",
    };
    const ALL: &'static [RepeatBasis] = &[RepeatBasis::Customers, RepeatBasis::Orders];
}

/// Whether the settings ask for each customer's earlier orders (`basis = orders`; the metrics
/// without the policy never do).
fn needs_history(settings: &Settings) -> bool {
    settings.choice::<RepeatBasis>() == RepeatBasis::Orders
}

/// Orders in P per customer (and, under `basis = orders`, whether each had one before P).
pub struct CustomerOrders;

impl Reading for CustomerOrders {
    type State = CustomerOrderState;

    /// An order counts in the periods containing its `ordered_time`, except that under
    /// `basis = orders` an earlier order counts in every later period (as history).
    fn counted_by(&self, settings: &Settings) -> CountedBy {
        if needs_history(settings) {
            CountedBy::State
        } else {
            CountedBy::Time(TimeField::OrderOrdered)
        }
    }

    /// The orders in the span, or, under `basis = orders`, every order placed before it ends.
    fn plan(&self, settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        match self.counted_by(settings) {
            CountedBy::State => ReadPlan::before(TimeField::OrderOrdered, span.end),
            counted => counted.plan(span),
        }
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut CustomerOrderState,
        record: RecordRef<'a>,
    ) {
        let RecordRef::Order(order) = record else {
            return;
        };
        let window = ctx.period.window;
        if window.contains(order.ordered_time) {
            state.add(order);
        } else if order.ordered_time < window.start && needs_history(ctx.settings) {
            state.customers.entry(&order.customer_id).earlier = true;
        }
    }
}

/// NO_DATA: no order in the window.
fn no_orders(components: Vec<Component>) -> MetricResult {
    MetricResult::undefined(
        UndefinedReason::NoData,
        "no orders in the window",
        components,
    )
}

/// The ordering customers, as the denominator of a per-customer value.
const CUSTOMERS_ORDERING: Term = Term {
    name: "customers",
    description: "distinct customers with an order in the window (the denominator)",
};

/// Share of ordering customers (or orders) that are repeats.
pub static REPEAT_PURCHASE_RATE: Declaration<CustomerOrders> = Declaration {
    definition: MetricDefinition {
        id: "repeat_purchase_rate",
        family: "revenue",
        version: 1,
        description: "Repeat purchase rate: the share of ordering customers who ordered at least twice in the window (basis customers), or the share of the window's orders placed by customers who had ordered before (basis orders).",
        formula: "customers: customers with ≥ 2 orders in P / customers with ≥ 1 order in P; orders: orders in P whose customer has an earlier order (any time; orders ordered by (ordered_time, id)) / orders in P",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::HigherIsBetter,
        reads: ORDER_KINDS,
        primary: ORDER_KINDS,
        policies: &[RepeatBasis::POLICY],
        parameters: &[],
        components: &[
            Term {
                name: "orders",
                description: "orders placed in the window (the denominator under basis orders)",
            },
            Term {
                name: "customers",
                description: "distinct customers with an order in the window (the denominator under basis customers)",
            },
            Term {
                name: "repeat_customers",
                description: "customers with two or more orders in the window (the numerator under basis customers)",
            },
            Term {
                name: "repeat_orders",
                description: "orders in the window that are not their customer's first (the numerator under basis orders); under basis customers earlier orders are not read, so each customer's first order in the window counts as its first",
            },
        ],
        breakdown_keys: &[],
        undefined: &[NO_ORDER_PLACED],
    },
    reading: CustomerOrders,
    finalize: repeat_purchase_rate_result,
    relate_group: None,
};

/// The value of `repeat_purchase_rate` from the shared state.
fn repeat_purchase_rate_result(
    _definition: &MetricDefinition,
    ctx: &FoldContext<'_, '_>,
    state: &CustomerOrderState,
) -> Result<MetricResult, EvalError> {
    let ordering = state.customers.values().filter(|h| h.in_period > 0);
    let repeat_customers = ordering.clone().filter(|h| h.in_period >= 2).count() as u64;
    // A customer's first order is not a repeat unless an earlier one exists before P.
    let repeat_orders: u64 = ordering.map(|h| h.in_period - u64::from(!h.earlier)).sum();
    let mut components = state.base_components();
    components.push(Component::count("repeat_customers", repeat_customers));
    components.push(Component::count("repeat_orders", repeat_orders));
    if state.orders == 0 {
        return Ok(no_orders(components));
    }
    Ok(match ctx.settings.choice::<RepeatBasis>() {
        RepeatBasis::Orders => MetricResult::ratio(
            repeat_orders as f64,
            state.orders as f64,
            "orders",
            components,
        ),
        RepeatBasis::Customers => {
            let customers = state.ordering_customers() as f64;
            MetricResult::ratio(repeat_customers as f64, customers, "customers", components)
        }
    })
}

/// Orders per ordering customer.
pub static PURCHASE_FREQUENCY: Declaration<CustomerOrders> = Declaration {
    definition: MetricDefinition {
        id: "purchase_frequency",
        family: "revenue",
        version: 1,
        description: "Purchase frequency: the number of orders in the window per distinct customer who ordered in it.",
        formula: "orders in P / distinct customers with an order in P",
        value_kind: ValueKind::Number,
        unit: "orders per customer",
        direction: Direction::HigherIsBetter,
        reads: ORDER_KINDS,
        primary: ORDER_KINDS,
        policies: &[],
        parameters: &[],
        components: &[
            ORDERS_PLACED,
            Term {
                name: "customers",
                description: "distinct customers with an order in the window",
            },
        ],
        breakdown_keys: &[],
        undefined: &[NO_ORDER_PLACED],
    },
    reading: CustomerOrders,
    finalize: purchase_frequency_result,
    relate_group: None,
};

/// The value of `purchase_frequency` from the shared state.
fn purchase_frequency_result(
    _definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &CustomerOrderState,
) -> Result<MetricResult, EvalError> {
    let components = state.base_components();
    let customers = state.ordering_customers();
    if customers == 0 {
        return Ok(no_orders(components));
    }
    let value = Value::Number(state.orders as f64 / customers as f64);
    Ok(MetricResult::value(value, components))
}

/// Revenue per ordering customer.
pub static AVERAGE_CUSTOMER_VALUE: Declaration<CustomerOrders> = Declaration {
    definition: MetricDefinition {
        id: "average_customer_value",
        family: "revenue",
        version: 1,
        description: "Average customer value: revenue in the window per distinct ordering customer (average purchase value × purchase frequency), rounded half to even to minor units.",
        formula: "revenue in P / distinct customers with an order in P (= average_purchase_value × purchase_frequency)",
        value_kind: ValueKind::Money,
        unit: "money",
        direction: Direction::HigherIsBetter,
        reads: ORDER_KINDS,
        primary: ORDER_KINDS,
        policies: &[],
        parameters: &[],
        components: &[ORDERS_PLACED, CUSTOMERS_ORDERING],
        breakdown_keys: &[],
        undefined: &[NO_ORDER_PLACED],
    },
    reading: CustomerOrders,
    finalize: average_customer_value_result,
    relate_group: None,
};

/// The value of `average_customer_value` from the shared state.
fn average_customer_value_result(
    definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &CustomerOrderState,
) -> Result<MetricResult, EvalError> {
    let customers = state.ordering_customers();
    let components = state.base_components();
    money_result(
        definition.id,
        &state.revenue,
        Some((customers, "customers with an order in the window")),
        "orders",
        components,
    )
}

/// Profit (amount minus cost) per ordering customer.
pub static PROFIT_PER_CUSTOMER: Declaration<CustomerOrders> = Declaration {
    definition: MetricDefinition {
        id: "profit_per_customer",
        family: "revenue",
        version: 1,
        description: "Profit per customer: the sum of amount minus cost over orders in the window per distinct ordering customer, rounded half to even; an order without a cost counts cost 0 (component orders_without_cost).",
        formula: "sum(amount − cost) over orders in P (missing cost = 0) / distinct customers with an order in P",
        value_kind: ValueKind::Money,
        unit: "money",
        direction: Direction::HigherIsBetter,
        reads: ORDER_KINDS,
        primary: ORDER_KINDS,
        policies: &[],
        parameters: &[],
        components: &[
            ORDERS_PLACED,
            CUSTOMERS_ORDERING,
            Term {
                name: "orders_without_cost",
                description: "orders in the window without a cost (counted as cost 0)",
            },
            Term {
                name: "profit",
                description: "the exact sum of amount − cost over the orders in the window (absent when there is no order)",
            },
        ],
        breakdown_keys: &[],
        undefined: &[NO_ORDER_PLACED],
    },
    reading: CustomerOrders,
    finalize: profit_per_customer_result,
    relate_group: None,
};

/// The value of `profit_per_customer` from the shared state.
fn profit_per_customer_result(
    definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &CustomerOrderState,
) -> Result<MetricResult, EvalError> {
    let customers = state.ordering_customers();
    let mut components = state.base_components();
    components.push(Component::count("orders_without_cost", state.without_cost));
    components.extend(money_component(definition.id, "profit", &state.profit)?);
    money_result(
        definition.id,
        &state.profit,
        Some((customers, "customers with an order in the window")),
        "orders",
        components,
    )
}

#[cfg(test)]
#[path = "tests/purchases.rs"]
mod tests;
