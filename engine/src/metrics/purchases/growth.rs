//! `revenue_growth`: every order is routed everywhere and each period keeps the revenue of the
//! period and of its previous period (`calendar::previous_window` in the request's time zone).
//! The plan cannot know the time zone, so it reads orders from `span.start − 2 × |span| − 2 days`,
//! which covers the previous period of every period of the span (a calendar month is at most
//! 31/28 of another).

use chrono::Duration;

use super::bounded;
use crate::calendar::{Window, previous_window};
use crate::catalog::{Direction, MetricDefinition, Settings, Term, UndefinedCase, ValueKind};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeField};
use crate::eval::{CountedBy, Declaration, FoldContext, Reading, State};
use crate::metrics::revenue::{ORDER_KINDS, ORDERS_PLACED};
use crate::money::MoneySum;
use crate::records::Timestamp;
use crate::value::{Component, EvalError, MetricResult, UndefinedReason, money_component};

/// Revenue of the period against the revenue of the previous period of equal calendar length.
pub static REVENUE_GROWTH: Declaration<OrdersAgainstPrevious> = Declaration {
    definition: MetricDefinition {
        id: "revenue_growth",
        family: "revenue",
        version: 1,
        description: "Revenue growth: the change of revenue from the previous period of equal calendar length (a month before a month, in the request's time zone) relative to that previous revenue. Undefined when the previous period has no orders or zero revenue.",
        formula: "(revenue(P) − revenue(prev)) / revenue(prev), prev = the previous period of equal calendar length",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::HigherIsBetter,
        reads: ORDER_KINDS,
        primary: ORDER_KINDS,
        policies: &[],
        parameters: &[],
        components: &[
            ORDERS_PLACED,
            Term {
                name: "previous_orders",
                description: "orders placed in the previous period",
            },
            Term {
                name: "revenue",
                description: "the exact sum of the window's order amounts (absent when it has no order)",
            },
            Term {
                name: "previous_revenue",
                description: "the exact sum of the previous period's order amounts (absent when it has no order)",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::ZeroDenominator,
            when: "the previous period has no order, or its revenue sums to zero",
        }],
    },
    reading: OrdersAgainstPrevious,
    finalize: revenue_growth_result,
    relate_group: None,
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

/// Orders of each period and of its previous period.
pub struct OrdersAgainstPrevious;

impl Reading for OrdersAgainstPrevious {
    type State = GrowthState;

    /// An order counts in its own period and as the previous revenue of a later one.
    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::State
    }

    /// The orders of the span and of the previous period of any period inside it.
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
}

/// The value of `revenue_growth`.
fn revenue_growth_result(
    definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &GrowthState,
) -> Result<MetricResult, EvalError> {
    let id = definition.id;
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
