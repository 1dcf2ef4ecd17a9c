//! `upsell_rate` and `cross_sell_rate`: customers, orders and deals folded into a map customer →
//! (active at `P.start`, bought an upsell / cross-sell in P). All three kinds are primary, so the
//! group-by and filter dimensions are those answering all three (`customer_id`, `customer.*`,
//! `attr.*`). A won deal without a customer cannot count.

use crate::by_id::ById;

use super::bounded;
use crate::calendar::Window;
use crate::catalog::{Direction, MetricDefinition, Settings, Term, UndefinedCase, ValueKind};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeField};
use crate::eval::{CountedBy, Declaration, FoldContext, Reading, Route, State};
use crate::records::{DealStatus, DealType, OrderKind, RecordKind, Timestamp};
use crate::value::{Component, EvalError, MetricResult, UndefinedReason};

/// Customers active at `P.start` and whether each bought an upsell (or cross-sell) in P.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SellState {
    /// customer → (active at `P.start`, bought the kind in P).
    customers: ById<(bool, bool)>,
}

impl State for SellState {
    fn merge(&mut self, other: &Self) {
        self.customers
            .merge_with(&other.customers, |entry, (active, sold)| {
                entry.0 |= active;
                entry.1 |= sold;
            });
    }
}

/// Customers, orders of one kind and won deals of one type (shared shape of upsell and
/// cross-sell).
pub struct Sales {
    order_kind: OrderKind,
    deal_type: DealType,
}

impl Reading for Sales {
    type State = SellState;

    /// A customer counts against any period (active at its start or not).
    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::State
    }

    /// Customers acquired before the span ends; orders placed and deals closed in the span.
    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::default();
        bounded(&mut plan, TimeField::CustomerAcquired, None, span.end);
        bounded(
            &mut plan,
            TimeField::OrderOrdered,
            Some(span.start),
            span.end,
        );
        bounded(&mut plan, TimeField::DealClosed, Some(span.start), span.end);
        plan
    }

    /// A customer everywhere; an order of the kind by `ordered_time`, a won deal of the type by
    /// `closed_time`; any other nowhere.
    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        match record {
            RecordRef::Customer(_) => Route::Everywhere,
            RecordRef::Order(o) if o.kind == self.order_kind => Route::At(o.ordered_time),
            RecordRef::Deal(d) if d.deal_type == self.deal_type && d.status == DealStatus::Won => {
                d.closed_time.map_or(Route::Nowhere, Route::At)
            }
            _ => Route::Nowhere,
        }
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut SellState, record: RecordRef<'a>) {
        let window = ctx.period.window;
        let (customer, active, sold) = match record {
            RecordRef::Customer(c) => {
                let t = window.start;
                let active = c.acquired_time <= t && c.churned_time.is_none_or(|ch| ch > t);
                (c.meta.id.as_str(), active, false)
            }
            RecordRef::Order(o) if o.kind == self.order_kind && window.contains(o.ordered_time) => {
                (o.customer_id.as_str(), false, true)
            }
            RecordRef::Deal(d)
                if d.deal_type == self.deal_type
                    && d.status == DealStatus::Won
                    && window.contains_opt(d.closed_time) =>
            {
                let Some(customer) = d.customer_id.as_deref() else {
                    return;
                };
                (customer, false, true)
            }
            _ => return,
        };
        if !active && !sold {
            return;
        }
        let entry = state.customers.entry(customer);
        entry.0 |= active;
        entry.1 |= sold;
    }
}

/// The share of customers active at `P.start` who bought the reading's kind in P.
fn sell_rate_result(
    _definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &SellState,
) -> Result<MetricResult, EvalError> {
    let active = state.customers.values().filter(|(a, _)| *a).count() as u64;
    let bought = state.customers.values().filter(|(a, s)| *a && *s).count() as u64;
    let others = state.customers.values().filter(|(a, s)| !*a && *s).count() as u64;
    let components = vec![
        Component::count("active_at_start", active),
        Component::count("buyers", bought),
        Component::count("buyers_not_active_at_start", others),
    ];
    Ok(MetricResult::ratio(
        bought as f64,
        active as f64,
        "customers active at the window start",
        components,
    ))
}

/// The kinds both rates read, all primary.
const SALES_KINDS: &[RecordKind] = &[RecordKind::Customer, RecordKind::Order, RecordKind::Deal];

/// The denominator of both rates, as a component.
const ACTIVE_AT_START: Term = Term {
    name: "active_at_start",
    description: "customers active at the window's start (the denominator)",
};

/// Why both rates have no denominator.
const NONE_ACTIVE_AT_START: UndefinedCase = UndefinedCase {
    reason: UndefinedReason::ZeroDenominator,
    when: "no customer was active at the window's start",
};

/// The numerator of `upsell_rate`, as a component.
const UPSELL_BUYERS: Term = Term {
    name: "buyers",
    description: "of those, the customers with an UPSELL order or a won UPSELL deal in the window (the numerator)",
};

/// The upsell buyers `upsell_rate` leaves out, as a component.
const UPSELL_BUYERS_NOT_ACTIVE: Term = Term {
    name: "buyers_not_active_at_start",
    description: "customers with an UPSELL order or a won UPSELL deal in the window who were not active at its start or are missing from the data (not counted)",
};

/// Share of the customers active at the window's start who bought an upsell in it.
pub static UPSELL_RATE: Declaration<Sales> = Declaration {
    definition: MetricDefinition {
        id: "upsell_rate",
        family: "revenue",
        version: 1,
        description: "Upsell rate: the share of customers active at the window's start who placed an UPSELL order or won an UPSELL deal (closed_time) in the window. Group by customer_id, customer.* or attr.* only (dimensions answering customers, orders and deals).",
        formula: "customers active at P.start with ≥ 1 UPSELL order (ordered_time in P) or won UPSELL deal (closed_time in P) / customers active at P.start",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::HigherIsBetter,
        reads: SALES_KINDS,
        primary: SALES_KINDS,
        policies: &[],
        parameters: &[],
        components: &[ACTIVE_AT_START, UPSELL_BUYERS, UPSELL_BUYERS_NOT_ACTIVE],
        breakdown_keys: &[],
        undefined: &[NONE_ACTIVE_AT_START],
    },
    reading: Sales {
        order_kind: OrderKind::Upsell,
        deal_type: DealType::Upsell,
    },
    finalize: sell_rate_result,
    relate_group: None,
};

/// The numerator of `cross_sell_rate`, as a component.
const CROSS_SELL_BUYERS: Term = Term {
    name: "buyers",
    description: "of those, the customers with a CROSS_SELL order or a won CROSS_SELL deal in the window (the numerator)",
};

/// The cross-sell buyers `cross_sell_rate` leaves out, as a component.
const CROSS_SELL_BUYERS_NOT_ACTIVE: Term = Term {
    name: "buyers_not_active_at_start",
    description: "customers with a CROSS_SELL order or a won CROSS_SELL deal in the window who were not active at its start or are missing from the data (not counted)",
};

/// Share of the customers active at the window's start who bought a cross-sell in it.
pub static CROSS_SELL_RATE: Declaration<Sales> = Declaration {
    definition: MetricDefinition {
        id: "cross_sell_rate",
        family: "revenue",
        version: 1,
        description: "Cross-sell rate: the share of customers active at the window's start who placed a CROSS_SELL order or won a CROSS_SELL deal (closed_time) in the window. Group by customer_id, customer.* or attr.* only (dimensions answering customers, orders and deals).",
        formula: "customers active at P.start with ≥ 1 CROSS_SELL order (ordered_time in P) or won CROSS_SELL deal (closed_time in P) / customers active at P.start",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::HigherIsBetter,
        reads: SALES_KINDS,
        primary: SALES_KINDS,
        policies: &[],
        parameters: &[],
        components: &[
            ACTIVE_AT_START,
            CROSS_SELL_BUYERS,
            CROSS_SELL_BUYERS_NOT_ACTIVE,
        ],
        breakdown_keys: &[],
        undefined: &[NONE_ACTIVE_AT_START],
    },
    reading: Sales {
        order_kind: OrderKind::CrossSell,
        deal_type: DealType::CrossSell,
    },
    finalize: sell_rate_result,
    relate_group: None,
};
