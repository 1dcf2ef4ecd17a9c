//! The lead funnel: `lead_conversion_rate` and `lead_response_time` (docs/metrics.md).
//!
//! Both are cohort metrics over the leads created in the window: a lead counts in the period that
//! contains its `created_time`, and what happened to it later is looked at as of `as_of`.

use chrono::Duration;

use crate::calendar::Window;
use crate::catalog::{
    Direction, MetricDefinition, ParamDefault, ParamKind, ParameterDefinition, Settings, Term,
    UndefinedCase, ValueKind,
};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeField};
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Reading, State};
use crate::records::{Lead, RecordKind, Timestamp};
use crate::value::{Component, DurationSet, EvalError, MetricResult, UndefinedReason};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[&LEAD_CONVERSION_RATE, &LEAD_RESPONSE_TIME];

/// The kinds read (and filtered and grouped) by the lead metrics, here and in `funnel`.
pub(super) const LEAD_KINDS: &[RecordKind] = &[RecordKind::Lead];

/// The leads of the window's cohort, as a component (here and in `funnel`).
pub(super) const LEADS_CREATED: Term = Term {
    name: "leads_created",
    description: "leads created in the window",
};

/// Why a rate over the leads created in the window has no denominator.
pub(super) const NO_LEAD_CREATED: UndefinedCase = UndefinedCase {
    reason: UndefinedReason::ZeroDenominator,
    when: "no lead was created in the window",
};

/// The lead when it was created in `window`.
pub(super) fn created_in<'a>(record: RecordRef<'a>, window: Window) -> Option<&'a Lead> {
    match record {
        RecordRef::Lead(lead) if window.contains(lead.created_time) => Some(lead),
        _ => None,
    }
}

/// A length of `amount` units of `unit_micros` microseconds, saturating.
fn span_of(amount: f64, unit_micros: f64) -> Duration {
    let micros = (amount * unit_micros).round();
    Duration::microseconds(if micros >= i64::MAX as f64 {
        i64::MAX
    } else {
        micros as i64
    })
}

/// The optional limit, in days after creation, within which a conversion counts.
const HORIZON_DAYS: ParameterDefinition = ParameterDefinition {
    name: "horizon_days",
    description: "only conversions within this many days of the lead's creation count (optional)",
    kind: ParamKind::Number,
    default: None,
    positive: true,
};

/// Share of the leads created in the window that converted.
pub static LEAD_CONVERSION_RATE: Declaration<LeadConversions> = Declaration {
    definition: MetricDefinition {
        id: "lead_conversion_rate",
        family: "sales",
        version: 1,
        description: "The share of the leads created in the window that converted by as_of (and, when horizon_days is given, within that many days of their creation; exactly horizon_days is within).",
        formula: "leads created in P with converted_time <= as_of (and converted_time − created_time <= horizon_days when given) / leads created in P",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::HigherIsBetter,
        reads: LEAD_KINDS,
        primary: LEAD_KINDS,
        policies: &[],
        parameters: &[HORIZON_DAYS],
        components: &[
            LEADS_CREATED,
            Term {
                name: "converted",
                description: "leads created in the window that converted by as_of (within horizon_days of their creation when it is given)",
            },
            Term {
                name: "converted_after_horizon",
                description: "only when horizon_days is given: leads created in the window that converted by as_of, but more than horizon_days after their creation",
            },
        ],
        breakdown_keys: &[],
        undefined: &[NO_LEAD_CREATED],
    },
    reading: LeadConversions,
    finalize: lead_conversion_rate_result,
    relate_group: None,
};

/// Leads created, converted in time, and converted only after the horizon.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeadConversionState {
    created: u64,
    converted: u64,
    after_horizon: u64,
}

impl State for LeadConversionState {
    fn merge(&mut self, other: &Self) {
        self.created += other.created;
        self.converted += other.converted;
        self.after_horizon += other.after_horizon;
    }
}

/// The leads created in the period and whether (and when) they converted by `as_of`.
pub struct LeadConversions;

impl Reading for LeadConversions {
    type State = LeadConversionState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::LeadCreated)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut LeadConversionState,
        record: RecordRef<'a>,
    ) {
        let Some(lead) = created_in(record, ctx.period.window) else {
            return;
        };
        state.created += 1;
        let Some(converted) = lead.converted_time.filter(|t| *t <= ctx.period.as_of) else {
            return;
        };
        let horizon = ctx
            .settings
            .number(&HORIZON_DAYS)
            .map(|days| span_of(days, 86_400e6));
        if horizon.is_none_or(|h| converted - lead.created_time <= h) {
            state.converted += 1;
        } else {
            state.after_horizon += 1;
        }
    }
}

/// The value of `lead_conversion_rate`.
fn lead_conversion_rate_result(
    _definition: &MetricDefinition,
    ctx: &FoldContext<'_, '_>,
    state: &LeadConversionState,
) -> Result<MetricResult, EvalError> {
    let mut components = vec![
        Component::count("leads_created", state.created),
        Component::count("converted", state.converted),
    ];
    if ctx.settings.number(&HORIZON_DAYS).is_some() {
        components.push(Component::count(
            "converted_after_horizon",
            state.after_horizon,
        ));
    }
    Ok(MetricResult::ratio(
        state.converted as f64,
        state.created as f64,
        "leads created",
        components,
    ))
}

/// The response-time target in hours.
const SLA_HOURS: ParameterDefinition = ParameterDefinition {
    name: "sla_hours",
    description: "the response-time target in hours; a response exactly at the target is within it",
    kind: ParamKind::Number,
    default: Some(ParamDefault::Number(24.0)),
    positive: true,
};

/// Time from a lead's creation to its first response, with SLA compliance.
pub static LEAD_RESPONSE_TIME: Declaration<LeadResponses> = Declaration {
    definition: MetricDefinition {
        id: "lead_response_time",
        family: "sales",
        version: 1,
        description: "How quickly the leads created in the window got a first response: the earlier of the lead's first_response_time and its first OUTBOUND activity (inbound activities are not responses), minus created_time; a response recorded before the lead's creation counts as 0. Components: sla_compliance = responded within sla_hours (equal is within) / (responded + unanswered leads older than the SLA at as_of); unanswered leads still inside the SLA are pending and counted apart.",
        formula: "stats of (min(first_response_time, first outbound activity) − created_time) over leads created in P; sla_compliance = within_sla / (responded + unanswered_overdue)",
        value_kind: ValueKind::Duration,
        unit: "seconds",
        direction: Direction::LowerIsBetter,
        reads: &[RecordKind::Lead, RecordKind::Activity],
        primary: LEAD_KINDS,
        policies: &[],
        parameters: &[SLA_HOURS],
        components: &[
            Term {
                name: "responded",
                description: "leads created in the window with a first response by as_of",
            },
            Term {
                name: "within_sla",
                description: "responded leads whose response time is at most sla_hours",
            },
            Term {
                name: "unanswered_overdue",
                description: "leads created in the window without a response by as_of, created more than sla_hours before as_of",
            },
            Term {
                name: "unanswered_pending",
                description: "leads created in the window without a response by as_of, still inside the SLA at as_of",
            },
            Term {
                name: "unanswered",
                description: "unanswered_overdue + unanswered_pending",
            },
            Term {
                name: "sla",
                description: "the SLA target (sla_hours), in seconds",
            },
            Term {
                name: "sla_compliance",
                description: "within_sla / (responded + unanswered_overdue); absent when both are 0",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::NoData,
            when: "no lead created in the window got a response by as_of",
        }],
    },
    reading: LeadResponses,
    finalize: lead_response_time_result,
    relate_group: None,
};

/// Response times of responded leads, and the SLA counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeadResponseState {
    durations: DurationSet,
    within_sla: u64,
    unanswered_overdue: u64,
    unanswered_pending: u64,
}

impl State for LeadResponseState {
    fn merge(&mut self, other: &Self) {
        self.durations.merge(&other.durations);
        self.within_sla += other.within_sla;
        self.unanswered_overdue += other.unanswered_overdue;
        self.unanswered_pending += other.unanswered_pending;
    }
}

fn micros_of(duration: Duration) -> i64 {
    duration.num_microseconds().unwrap_or(i64::MAX)
}

fn sla(settings: &Settings) -> Duration {
    span_of(settings.number(&SLA_HOURS).unwrap_or(24.0), 3_600e6)
}

/// The leads created in the period and their first response by `as_of`.
pub struct LeadResponses;

impl Reading for LeadResponses {
    type State = LeadResponseState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::LeadCreated)
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::within(TimeField::LeadCreated, span);
        // Any outbound activity on the lead is a response, whenever it happened: one logged
        // before the lead's creation (even before the span) is a response of 0, one after the
        // span still answers a lead created in it.
        plan.read_all(RecordKind::Activity);
        plan
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut LeadResponseState,
        record: RecordRef<'a>,
    ) {
        let Some(lead) = created_in(record, ctx.period.window) else {
            return;
        };
        let as_of = ctx.period.as_of;
        let outbound = ctx.lookup.first_outbound_activity_on_lead(&lead.meta.id);
        let first_response = [lead.first_response_time, outbound]
            .into_iter()
            .flatten()
            .filter(|t| *t <= as_of)
            .min();
        let sla = sla(ctx.settings);
        match first_response {
            Some(t) => {
                let response = (t - lead.created_time).max(Duration::zero());
                state.durations.add(response);
                state.within_sla += u64::from(response <= sla);
            }
            None if as_of - lead.created_time > sla => state.unanswered_overdue += 1,
            None => state.unanswered_pending += 1,
        }
    }
}

/// The value of `lead_response_time`.
fn lead_response_time_result(
    _definition: &MetricDefinition,
    ctx: &FoldContext<'_, '_>,
    state: &LeadResponseState,
) -> Result<MetricResult, EvalError> {
    let responded = state.durations.len();
    let mut components = vec![
        Component::count("responded", responded),
        Component::count("within_sla", state.within_sla),
        Component::count("unanswered_overdue", state.unanswered_overdue),
        Component::count("unanswered_pending", state.unanswered_pending),
        Component::count(
            "unanswered",
            state.unanswered_overdue + state.unanswered_pending,
        ),
        Component::seconds("sla", micros_of(sla(ctx.settings)) as f64 / 1e6),
    ];
    let judged = responded + state.unanswered_overdue;
    if judged > 0 {
        components.push(Component::number(
            "sla_compliance",
            state.within_sla as f64 / judged as f64,
        ));
    }
    Ok(state.durations.result("responded leads", components))
}

#[cfg(test)]
#[path = "tests/leads.rs"]
mod tests;
