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
//! `revenue_growth` routes every order everywhere and keeps, per period, the revenue of the period
//! and of its previous period (`calendar::previous_window` in the request's time zone). The plan
//! cannot know the time zone, so it reads orders from `span.start − 2 × |span| − 2 days`, which
//! covers the previous period of every period of the span (a calendar month is at most 31/28 of
//! another).
//!
//! `upsell_rate` / `cross_sell_rate` live in the `sales` submodule (customers, orders and deals
//! are all primary there).

use crate::by_id::ById;

use chrono::Duration;

use crate::calendar::{Window, previous_window};
use crate::catalog::{Direction, MetricDefinition, PolicyDefinition, Settings, ValueKind};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField};
use crate::eval::{Family, FoldContext, Metric, Reading, ReadingMetric, Route, State};
use crate::money::MoneySum;
use crate::records::{Order, RecordKind, Timestamp};
use crate::value::money_component;
use crate::value::{Component, EvalError, MetricResult, UndefinedReason, Value, money_result};

mod sales;

pub use sales::{CROSS_SELL_RATE_METRIC, Sales, SellState, UPSELL_RATE_METRIC};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[
    &REPEAT_PURCHASE_RATE_METRIC,
    &PURCHASE_FREQUENCY_METRIC,
    &AVERAGE_CUSTOMER_VALUE_METRIC,
    &PROFIT_PER_CUSTOMER_METRIC,
    &RevenueGrowth,
    &UPSELL_RATE_METRIC,
    &CROSS_SELL_RATE_METRIC,
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

/// Whether the settings ask for each customer's earlier orders.
fn needs_history(settings: &Settings) -> bool {
    settings.policy("basis") == "orders"
}

/// Orders in P per customer (and, under `basis = orders`, whether each had one before P).
pub struct CustomerOrders;

impl Reading for CustomerOrders {
    type State = CustomerOrderState;

    fn plan(&self, settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::default();
        let from = (!needs_history(settings)).then_some(span.start);
        bounded(&mut plan, TimeField::OrderOrdered, from, span.end);
        plan
    }

    fn route(&self, settings: &Settings, record: RecordRef<'_>) -> Route {
        match record {
            RecordRef::Order(_) if needs_history(settings) => Route::Everywhere,
            RecordRef::Order(o) => Route::At(o.ordered_time),
            _ => Route::Nowhere,
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

/// Defines a per-customer order metric with the shared reading.
macro_rules! order_metric {
    ($metric:ident, $def:ident, $finalize:ident, $id:literal, $kind:expr, $unit:literal,
     $description:literal, $formula:literal, $policies:expr) => {
        #[doc = $description]
        pub static $metric: ReadingMetric<CustomerOrders> = ReadingMetric {
            definition: &$def,
            reading: CustomerOrders,
            finalize: $finalize,
        };

        static $def: MetricDefinition = MetricDefinition {
            id: $id,
            family: "revenue",
            version: 1,
            description: $description,
            formula: $formula,
            value_kind: $kind,
            unit: $unit,
            direction: Direction::HigherIsBetter,
            reads: &[RecordKind::Order],
            primary: &[RecordKind::Order],
            policies: $policies,
            parameters: &[],
        };
    };
}

order_metric!(
    REPEAT_PURCHASE_RATE_METRIC,
    REPEAT_PURCHASE_RATE,
    repeat_purchase_rate_result,
    "repeat_purchase_rate",
    ValueKind::Ratio,
    "fraction",
    "Repeat purchase rate: the share of ordering customers who ordered at least twice in the window (basis customers), or the share of the window's orders placed by customers who had ordered before (basis orders).",
    "customers: customers with ≥ 2 orders in P / customers with ≥ 1 order in P; orders: orders in P whose customer has an earlier order (any time; orders ordered by (ordered_time, id)) / orders in P",
    &[PolicyDefinition {
        name: "basis",
        description: "customers: share of ordering customers with two or more orders in the window; orders: share of the window's orders whose customer had an earlier order at any time",
        values: &["customers", "orders"],
        default: "customers",
    }]
);

/// The value of `repeat_purchase_rate` from the shared state.
fn repeat_purchase_rate_result(
    _definition: &'static MetricDefinition,
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
    Ok(if needs_history(ctx.settings) {
        MetricResult::ratio(
            repeat_orders as f64,
            state.orders as f64,
            "orders",
            components,
        )
    } else {
        let customers = state.ordering_customers() as f64;
        MetricResult::ratio(repeat_customers as f64, customers, "customers", components)
    })
}

order_metric!(
    PURCHASE_FREQUENCY_METRIC,
    PURCHASE_FREQUENCY,
    purchase_frequency_result,
    "purchase_frequency",
    ValueKind::Number,
    "orders per customer",
    "Purchase frequency: the number of orders in the window per distinct customer who ordered in it.",
    "orders in P / distinct customers with an order in P",
    &[]
);

/// The value of `purchase_frequency` from the shared state.
fn purchase_frequency_result(
    _definition: &'static MetricDefinition,
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

order_metric!(
    AVERAGE_CUSTOMER_VALUE_METRIC,
    AVERAGE_CUSTOMER_VALUE,
    average_customer_value_result,
    "average_customer_value",
    ValueKind::Money,
    "money",
    "Average customer value: revenue in the window per distinct ordering customer (average purchase value × purchase frequency), rounded half to even to minor units.",
    "revenue in P / distinct customers with an order in P (= average_purchase_value × purchase_frequency)",
    &[]
);

/// The value of `average_customer_value` from the shared state.
fn average_customer_value_result(
    definition: &'static MetricDefinition,
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

order_metric!(
    PROFIT_PER_CUSTOMER_METRIC,
    PROFIT_PER_CUSTOMER,
    profit_per_customer_result,
    "profit_per_customer",
    ValueKind::Money,
    "money",
    "Profit per customer: the sum of amount minus cost over orders in the window per distinct ordering customer, rounded half to even; an order without a cost counts cost 0 (component orders_without_cost).",
    "sum(amount − cost) over orders in P (missing cost = 0) / distinct customers with an order in P",
    &[]
);

/// The value of `profit_per_customer` from the shared state.
fn profit_per_customer_result(
    definition: &'static MetricDefinition,
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

/// Revenue of the period against the revenue of the previous period of equal calendar length.
pub struct RevenueGrowth;

static REVENUE_GROWTH: MetricDefinition = MetricDefinition {
    id: "revenue_growth",
    family: "revenue",
    version: 1,
    description: "Revenue growth: the change of revenue from the previous period of equal calendar length (a month before a month, in the request's time zone) relative to that previous revenue. Undefined when the previous period has no orders or zero revenue.",
    formula: "(revenue(P) − revenue(prev)) / revenue(prev), prev = the previous period of equal calendar length",
    value_kind: ValueKind::Ratio,
    unit: "fraction",
    direction: Direction::HigherIsBetter,
    reads: &[RecordKind::Order],
    primary: &[RecordKind::Order],
    policies: &[],
    parameters: &[],
};

/// Revenue of a period and of its previous period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GrowthState {
    orders: u64,
    revenue: MoneySum,
    previous_orders: u64,
    previous_revenue: MoneySum,
}

impl State for GrowthState {
    fn merge(&mut self, other: &Self) {
        self.orders += other.orders;
        self.revenue.merge(&other.revenue);
        self.previous_orders += other.previous_orders;
        self.previous_revenue.merge(&other.previous_revenue);
    }
}

/// The earliest instant any previous period of a period inside `span` can start at.
fn growth_reach(span: Window) -> Timestamp {
    span.start - span.duration() * 2 - Duration::days(2)
}

impl Family for RevenueGrowth {
    type State = GrowthState;

    fn definition(&self) -> &'static MetricDefinition {
        &REVENUE_GROWTH
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::default();
        bounded(
            &mut plan,
            TimeField::OrderOrdered,
            Some(growth_reach(span)),
            span.end,
        );
        plan
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        match record {
            RecordRef::Order(_) => Route::Everywhere,
            _ => Route::Nowhere,
        }
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut GrowthState, record: RecordRef<'a>) {
        let RecordRef::Order(order) = record else {
            return;
        };
        let (window, t) = (ctx.period.window, order.ordered_time);
        if window.contains(t) {
            state.orders += 1;
            state.revenue.add(order.amount);
        } else if t < window.start
            && t >= growth_reach(window)
            && previous_window(window, ctx.period.time_zone).contains(t)
        {
            state.previous_orders += 1;
            state.previous_revenue.add(order.amount);
        }
    }

    fn finalize(
        &self,
        _ctx: &FoldContext<'_, '_>,
        state: &GrowthState,
    ) -> Result<MetricResult, EvalError> {
        let id = REVENUE_GROWTH.id;
        let mut both = state.revenue.clone();
        both.merge(&state.previous_revenue);
        // Fails on mixed currencies, within or across the two periods.
        money_component(id, "revenue_of_both_periods", &both)?;
        let mut components = vec![
            Component::count("orders", state.orders),
            Component::count("previous_orders", state.previous_orders),
        ];
        components.extend(money_component(id, "revenue", &state.revenue)?);
        components.extend(money_component(
            id,
            "previous_revenue",
            &state.previous_revenue,
        )?);
        let total = |sum: &MoneySum| sum.single().ok().flatten().map_or(0, |(_, v)| v);
        let (now, before) = (total(&state.revenue), total(&state.previous_revenue));
        if state.previous_orders == 0 || before == 0 {
            let detail = if state.previous_orders == 0 {
                "no orders in the previous period"
            } else {
                "the previous period's revenue is zero"
            };
            return Ok(MetricResult::undefined(
                UndefinedReason::ZeroDenominator,
                detail,
                components,
            ));
        }
        Ok(MetricResult::ratio(
            (now - before) as f64,
            before as f64,
            "previous revenue",
            components,
        ))
    }
}

#[cfg(test)]
#[path = "tests/purchases.rs"]
mod tests;
