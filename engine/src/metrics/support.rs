//! Service and support: `first_response_time`, `resolution_time`, `first_contact_resolution` and
//! `order_processing_time` (docs/metrics.md).
//!
//! Every metric here is an event metric: a ticket or order counts in the period containing its
//! defining timestamp (created, resolved or fulfilled). Durations are kept as an exact multiset
//! ([`DurationSet`]), so states merge exactly in any order. A timestamp after `as_of` has not
//! happened yet: the engine already drops it (see [`crate::as_of`]), and `fold` checks it again
//! so a state built directly for a period agrees.
//!
//! `resolution_time` grouped (e.g. by `assignee_id`) relates each group's mean to the mean over all
//! tickets of the same period: components `mean_relative_to_overall` (group mean / overall mean)
//! and `overall_mean_seconds`.

use super::revenue::ORDER_KINDS;
use crate::catalog::{Direction, MetricDefinition, Settings, Term, UndefinedCase, ValueKind};
use crate::context::RecordRef;
use crate::dataset::TimeField;
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Reading, State};
use crate::records::{Order, RecordKind, Ticket, Timestamp};
use crate::value::{Component, DurationSet, EvalError, MetricResult, UndefinedReason, Value};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[
    &FIRST_RESPONSE_TIME,
    &RESOLUTION_TIME,
    &FIRST_CONTACT_RESOLUTION,
    &ORDER_PROCESSING_TIME,
];

/// The kinds the ticket metrics read (and filter and group).
const TICKET_KINDS: &[RecordKind] = &[RecordKind::Ticket];

/// `t` when it has happened by `as_of`.
fn happened(t: Option<Timestamp>, as_of: Timestamp) -> Option<Timestamp> {
    t.filter(|t| *t <= as_of)
}

/// The ticket when it was created in the period's window.
fn created_in<'a>(record: RecordRef<'a>, ctx: &FoldContext<'_, '_>) -> Option<&'a Ticket> {
    match record {
        RecordRef::Ticket(t) if ctx.period.window.contains(t.created_time) => Some(t),
        _ => None,
    }
}

/// The ticket and its resolution instant when it was resolved in the period (by `as_of`).
fn resolved_in<'a>(
    record: RecordRef<'a>,
    ctx: &FoldContext<'_, '_>,
) -> Option<(&'a Ticket, Timestamp)> {
    match record {
        RecordRef::Ticket(t) => happened(t.resolved_time, ctx.period.as_of)
            .filter(|r| ctx.period.window.contains(*r))
            .map(|r| (t, r)),
        _ => None,
    }
}

/// Durations of the records that count, and how many counted records had no end (yet).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DurationState {
    durations: DurationSet,
    missing: u64,
}

impl State for DurationState {
    fn merge(&mut self, other: &Self) {
        self.durations.merge(&other.durations);
        self.missing += other.missing;
    }
}

impl DurationState {
    /// Adds `end − start`, or counts a missing end.
    fn add(&mut self, start: Timestamp, end: Option<Timestamp>) {
        match end {
            Some(end) => self.durations.add(end - start),
            None => self.missing += 1,
        }
    }
}

/// Time from a ticket's creation to its first response, over tickets created in the window.
pub static FIRST_RESPONSE_TIME: Declaration<TicketResponseTimes> = Declaration {
    definition: MetricDefinition {
        id: "first_response_time",
        family: "support",
        version: 1,
        description: "Time from a ticket's creation to its first response, over the tickets created in the window. Tickets without a response by as_of are counted apart (component unanswered).",
        formula: "per ticket created in P with first_response_time <= as_of: first_response_time − created_time; count, mean, median and p90; unanswered = tickets created in P without a response",
        value_kind: ValueKind::Duration,
        unit: "seconds",
        direction: Direction::LowerIsBetter,
        reads: TICKET_KINDS,
        primary: TICKET_KINDS,
        policies: &[],
        parameters: &[],
        components: &[Term {
            name: "unanswered",
            description: "tickets created in the window without a first response by as_of",
        }],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::NoData,
            when: "no ticket created in the window was answered by as_of",
        }],
    },
    reading: TicketResponseTimes,
    finalize: first_response_time_result,
    relate_group: None,
};

/// Tickets created in the period and how long their first response took.
pub struct TicketResponseTimes;

impl Reading for TicketResponseTimes {
    type State = DurationState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::TicketCreated)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut DurationState,
        record: RecordRef<'a>,
    ) {
        if let Some(t) = created_in(record, ctx) {
            state.add(
                t.created_time,
                happened(t.first_response_time, ctx.period.as_of),
            );
        }
    }
}

/// The value of `first_response_time`.
fn first_response_time_result(
    _definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &DurationState,
) -> Result<MetricResult, EvalError> {
    let components = vec![Component::count("unanswered", state.missing)];
    Ok(state
        .durations
        .result("answered tickets created", components))
}

/// Time from a ticket's creation to its resolution, over tickets resolved in the window.
pub static RESOLUTION_TIME: Declaration<TicketResolutionTimes> = Declaration {
    definition: MetricDefinition {
        id: "resolution_time",
        family: "support",
        version: 1,
        description: "Time from a ticket's creation to its resolution, over the tickets resolved in the window. Grouped (e.g. by assignee_id), each group also reports its mean relative to the mean over all tickets of the same period.",
        formula: "per ticket with resolved_time in P: resolved_time − created_time; count, mean, median and p90; grouped: mean_relative_to_overall = group mean / overall mean, overall_mean_seconds",
        value_kind: ValueKind::Duration,
        unit: "seconds",
        direction: Direction::LowerIsBetter,
        reads: TICKET_KINDS,
        primary: TICKET_KINDS,
        policies: &[],
        parameters: &[],
        components: &[
            Term {
                name: "mean_relative_to_overall",
                description: "grouped only: the group's mean / the mean over all tickets of the same period; absent when either is undefined or the overall mean is 0",
            },
            Term {
                name: "overall_mean_seconds",
                description: "grouped only: the mean over all tickets of the same period; absent when that is undefined",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::NoData,
            when: "no ticket was resolved in the window",
        }],
    },
    reading: TicketResolutionTimes,
    finalize: resolution_time_result,
    relate_group: Some(relate_resolution_time),
};

/// Tickets resolved in the period and how long they took.
pub struct TicketResolutionTimes;

impl Reading for TicketResolutionTimes {
    type State = DurationState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::TicketResolved)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut DurationState,
        record: RecordRef<'a>,
    ) {
        if let Some((t, resolved)) = resolved_in(record, ctx) {
            state.add(t.created_time, Some(resolved));
        }
    }
}

/// The value of `resolution_time`.
fn resolution_time_result(
    _definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &DurationState,
) -> Result<MetricResult, EvalError> {
    Ok(state.durations.result("tickets resolved", Vec::new()))
}

/// Adds a group's mean relative to the overall mean, and the overall mean.
fn relate_resolution_time(group: &mut MetricResult, overall: &MetricResult) {
    let Ok(Value::Duration(all)) = &overall.value else {
        return;
    };
    if let (Ok(Value::Duration(own)), true) = (&group.value, all.mean_seconds != 0.0) {
        let relative = own.mean_seconds / all.mean_seconds;
        group
            .components
            .push(Component::number("mean_relative_to_overall", relative));
    }
    group
        .components
        .push(Component::seconds("overall_mean_seconds", all.mean_seconds));
}

/// Share of the tickets resolved in the window that were resolved on first contact.
pub static FIRST_CONTACT_RESOLUTION: Declaration<ResolvedTicketContacts> = Declaration {
    definition: MetricDefinition {
        id: "first_contact_resolution",
        family: "support",
        version: 1,
        description: "The share of the tickets resolved in the window that needed a single contact and were never reopened.",
        formula: "tickets with resolved_time in P, contact_count = 1 and not reopened / tickets with resolved_time in P",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::HigherIsBetter,
        reads: TICKET_KINDS,
        primary: TICKET_KINDS,
        policies: &[],
        parameters: &[],
        components: &[
            Term {
                name: "resolved",
                description: "tickets resolved in the window",
            },
            Term {
                name: "resolved_on_first_contact",
                description: "those with contact_count = 1 and never reopened",
            },
            Term {
                name: "reopened",
                description: "those that were reopened",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::ZeroDenominator,
            when: "no ticket was resolved in the window",
        }],
    },
    reading: ResolvedTicketContacts,
    finalize: first_contact_resolution_result,
    relate_group: None,
};

/// Tickets resolved, resolved on first contact, and reopened ones.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FirstContactState {
    resolved: u64,
    first_contact: u64,
    reopened: u64,
}

impl State for FirstContactState {
    fn merge(&mut self, other: &Self) {
        self.resolved += other.resolved;
        self.first_contact += other.first_contact;
        self.reopened += other.reopened;
    }
}

/// Tickets resolved in the period, by whether one contact sufficed.
pub struct ResolvedTicketContacts;

impl Reading for ResolvedTicketContacts {
    type State = FirstContactState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::TicketResolved)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut FirstContactState,
        record: RecordRef<'a>,
    ) {
        if let Some((t, _)) = resolved_in(record, ctx) {
            state.resolved += 1;
            state.first_contact += u64::from(t.contact_count == 1 && !t.reopened);
            state.reopened += u64::from(t.reopened);
        }
    }
}

/// The value of `first_contact_resolution`.
fn first_contact_resolution_result(
    _definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &FirstContactState,
) -> Result<MetricResult, EvalError> {
    let components = vec![
        Component::count("resolved", state.resolved),
        Component::count("resolved_on_first_contact", state.first_contact),
        Component::count("reopened", state.reopened),
    ];
    Ok(MetricResult::ratio(
        state.first_contact as f64,
        state.resolved as f64,
        "tickets resolved",
        components,
    ))
}

/// Time from order to fulfilment, over orders fulfilled in the window.
pub static ORDER_PROCESSING_TIME: Declaration<OrderFulfilmentTimes> = Declaration {
    definition: MetricDefinition {
        id: "order_processing_time",
        family: "support",
        version: 1,
        description: "Time from an order being placed to its fulfilment, over the orders fulfilled in the window.",
        formula: "per order with fulfilled_time in P: fulfilled_time − ordered_time; count, mean, median and p90",
        value_kind: ValueKind::Duration,
        unit: "seconds",
        direction: Direction::LowerIsBetter,
        reads: ORDER_KINDS,
        primary: ORDER_KINDS,
        policies: &[],
        parameters: &[],
        components: &[],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::NoData,
            when: "no order was fulfilled in the window",
        }],
    },
    reading: OrderFulfilmentTimes,
    finalize: order_processing_time_result,
    relate_group: None,
};

/// The order and its fulfilment instant when it was fulfilled in the period (by `as_of`).
fn fulfilled_in<'a>(
    record: RecordRef<'a>,
    ctx: &FoldContext<'_, '_>,
) -> Option<(&'a Order, Timestamp)> {
    match record {
        RecordRef::Order(o) => happened(o.fulfilled_time, ctx.period.as_of)
            .filter(|f| ctx.period.window.contains(*f))
            .map(|f| (o, f)),
        _ => None,
    }
}

/// Orders fulfilled in the period and how long their fulfilment took.
pub struct OrderFulfilmentTimes;

impl Reading for OrderFulfilmentTimes {
    type State = DurationState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::OrderFulfilled)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut DurationState,
        record: RecordRef<'a>,
    ) {
        if let Some((o, fulfilled)) = fulfilled_in(record, ctx) {
            state.add(o.ordered_time, Some(fulfilled));
        }
    }
}

/// The value of `order_processing_time`.
fn order_processing_time_result(
    _definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &DurationState,
) -> Result<MetricResult, EvalError> {
    Ok(state.durations.result("orders fulfilled", Vec::new()))
}

#[cfg(test)]
#[path = "tests/support.rs"]
mod tests;
