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

use crate::calendar::Window;
use crate::catalog::{Direction, MetricDefinition, Settings, ValueKind};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeField};
use crate::eval::{Family, FoldContext, Metric, Route, State};
use crate::records::{Order, RecordKind, Ticket, Timestamp};
use crate::value::{Component, DurationSet, EvalError, MetricResult, Value};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[
    &FirstResponseTime,
    &ResolutionTime,
    &FirstContactResolution,
    &OrderProcessingTime,
];

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

/// Tickets route to their resolution (never, while unresolved).
fn resolved_route(record: RecordRef<'_>) -> Route {
    match record {
        RecordRef::Ticket(t) => t.resolved_time.map_or(Route::Nowhere, Route::At),
        _ => Route::Nowhere,
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
pub struct FirstResponseTime;

static FIRST_RESPONSE_TIME: MetricDefinition = MetricDefinition {
    id: "first_response_time",
    family: "support",
    version: 1,
    description: "Time from a ticket's creation to its first response, over the tickets created in the window. Tickets without a response by as_of are counted apart (component unanswered).",
    formula: "per ticket created in P with first_response_time <= as_of: first_response_time − created_time; count, mean, median and p90; unanswered = tickets created in P without a response",
    value_kind: ValueKind::Duration,
    unit: "seconds",
    direction: Direction::LowerIsBetter,
    reads: &[RecordKind::Ticket],
    primary: &[RecordKind::Ticket],
    policies: &[],
    parameters: &[],
};

impl Family for FirstResponseTime {
    type State = DurationState;

    fn definition(&self) -> &'static MetricDefinition {
        &FIRST_RESPONSE_TIME
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        ReadPlan::within(TimeField::TicketCreated, span)
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        match record {
            RecordRef::Ticket(t) => Route::At(t.created_time),
            _ => Route::Nowhere,
        }
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

    fn finalize(
        &self,
        _ctx: &FoldContext<'_, '_>,
        state: &DurationState,
    ) -> Result<MetricResult, EvalError> {
        let components = vec![Component::count("unanswered", state.missing)];
        Ok(state
            .durations
            .result("answered tickets created", components))
    }
}

/// Time from a ticket's creation to its resolution, over tickets resolved in the window.
pub struct ResolutionTime;

static RESOLUTION_TIME: MetricDefinition = MetricDefinition {
    id: "resolution_time",
    family: "support",
    version: 1,
    description: "Time from a ticket's creation to its resolution, over the tickets resolved in the window. Grouped (e.g. by assignee_id), each group also reports its mean relative to the mean over all tickets of the same period.",
    formula: "per ticket with resolved_time in P: resolved_time − created_time; count, mean, median and p90; grouped: mean_relative_to_overall = group mean / overall mean, overall_mean_seconds",
    value_kind: ValueKind::Duration,
    unit: "seconds",
    direction: Direction::LowerIsBetter,
    reads: &[RecordKind::Ticket],
    primary: &[RecordKind::Ticket],
    policies: &[],
    parameters: &[],
};

impl Family for ResolutionTime {
    type State = DurationState;

    fn definition(&self) -> &'static MetricDefinition {
        &RESOLUTION_TIME
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        ReadPlan::within(TimeField::TicketResolved, span)
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        resolved_route(record)
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

    fn finalize(
        &self,
        _ctx: &FoldContext<'_, '_>,
        state: &DurationState,
    ) -> Result<MetricResult, EvalError> {
        Ok(state.durations.result("tickets resolved", Vec::new()))
    }

    fn relate_group(&self, group: &mut MetricResult, overall: &MetricResult) {
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
}

/// Share of the tickets resolved in the window that were resolved on first contact.
pub struct FirstContactResolution;

static FIRST_CONTACT_RESOLUTION: MetricDefinition = MetricDefinition {
    id: "first_contact_resolution",
    family: "support",
    version: 1,
    description: "The share of the tickets resolved in the window that needed a single contact and were never reopened.",
    formula: "tickets with resolved_time in P, contact_count = 1 and not reopened / tickets with resolved_time in P",
    value_kind: ValueKind::Ratio,
    unit: "fraction",
    direction: Direction::HigherIsBetter,
    reads: &[RecordKind::Ticket],
    primary: &[RecordKind::Ticket],
    policies: &[],
    parameters: &[],
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

impl Family for FirstContactResolution {
    type State = FirstContactState;

    fn definition(&self) -> &'static MetricDefinition {
        &FIRST_CONTACT_RESOLUTION
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        ReadPlan::within(TimeField::TicketResolved, span)
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        resolved_route(record)
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

    fn finalize(
        &self,
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
}

/// Time from order to fulfilment, over orders fulfilled in the window.
pub struct OrderProcessingTime;

static ORDER_PROCESSING_TIME: MetricDefinition = MetricDefinition {
    id: "order_processing_time",
    family: "support",
    version: 1,
    description: "Time from an order being placed to its fulfilment, over the orders fulfilled in the window.",
    formula: "per order with fulfilled_time in P: fulfilled_time − ordered_time; count, mean, median and p90",
    value_kind: ValueKind::Duration,
    unit: "seconds",
    direction: Direction::LowerIsBetter,
    reads: &[RecordKind::Order],
    primary: &[RecordKind::Order],
    policies: &[],
    parameters: &[],
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

impl Family for OrderProcessingTime {
    type State = DurationState;

    fn definition(&self) -> &'static MetricDefinition {
        &ORDER_PROCESSING_TIME
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        ReadPlan::within(TimeField::OrderFulfilled, span)
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        match record {
            RecordRef::Order(o) => o.fulfilled_time.map_or(Route::Nowhere, Route::At),
            _ => Route::Nowhere,
        }
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

    fn finalize(
        &self,
        _ctx: &FoldContext<'_, '_>,
        state: &DurationState,
    ) -> Result<MetricResult, EvalError> {
        Ok(state.durations.result("orders fulfilled", Vec::new()))
    }
}

#[cfg(test)]
#[path = "tests/support.rs"]
mod tests;
