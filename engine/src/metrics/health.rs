//! The composite customer health score: `customer_health_score` (docs/metrics.md).
//!
//! Evaluated per customer active at the evaluation instant t (min(as_of, last instant of the
//! window), as for every point-in-time metric) from four components in 0..1:
//! usage (engagement events in the 30 days up to t over `usage_target`), feedback (the latest
//! survey answer by t normalised on its own scale, oriented so higher is better), support
//! (1 − open tickets at t over `ticket_limit`) and recency (1 − days since the last order over
//! `recency_days`). A component without any data for the customer (never an event, a survey, a
//! ticket, an order) is left out and the remaining weights are rescaled. Every record kind is
//! primary, so group-by `customer_id` yields the per-customer score: the at-risk worklist.

use chrono::Duration;

use crate::by_id::ById;
use crate::calendar::Window;
use crate::catalog::{
    Direction, MetricDefinition, ParamDefault, ParamKind, ParameterDefinition, Settings, Term,
    UndefinedCase, ValueKind,
};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField};
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Reading, State};
use crate::query::Problem;
use crate::records::{RecordKind, ScoreDirection, Text, Timestamp};
use crate::value::{Component, EvalError, MetricResult, UndefinedReason, Value};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[&CUSTOMER_HEALTH_SCORE];

/// The four components, in the order of `weights`.
const COMPONENTS: [&str; 4] = ["usage", "feedback", "support", "recency"];

/// How far back usage looks.
const USAGE_DAYS: i64 = 30;

/// Every kind the score reads, all primary (so that group-by `customer_id` scores each customer).
const SIGNAL_KINDS: &[RecordKind] = &[
    RecordKind::Customer,
    RecordKind::EngagementEvent,
    RecordKind::SurveyResponse,
    RecordKind::Ticket,
    RecordKind::Order,
];

/// The weight of each component; equal weights when not given.
const WEIGHTS: ParameterDefinition = ParameterDefinition {
    name: "weights",
    description: "weight per component (usage, feedback, support, recency), each ≥ 0, summing to 1; default equal weights",
    kind: ParamKind::NumberMap,
    default: None,
    positive: false,
};

/// The engagement events in the usage window that count as full usage.
const USAGE_TARGET: ParameterDefinition = ParameterDefinition {
    name: "usage_target",
    description: "engagement events in 30 days that count as full usage",
    kind: ParamKind::Number,
    default: Some(ParamDefault::Number(10.0)),
    positive: true,
};

/// The open tickets at which support health reaches 0.
const TICKET_LIMIT: ParameterDefinition = ParameterDefinition {
    name: "ticket_limit",
    description: "open tickets at which support health reaches 0",
    kind: ParamKind::Number,
    default: Some(ParamDefault::Number(5.0)),
    positive: true,
};

/// The days without an order at which recency health reaches 0.
const RECENCY_DAYS: ParameterDefinition = ParameterDefinition {
    name: "recency_days",
    description: "days without an order at which recency health reaches 0",
    kind: ParamKind::Number,
    default: Some(ParamDefault::Number(90.0)),
    positive: true,
};

/// `100 × Σ wᵢ × cᵢ` per customer.
pub static CUSTOMER_HEALTH_SCORE: Declaration<HealthSignals> = Declaration {
    definition: MetricDefinition {
        id: "customer_health_score",
        family: "composite",
        version: 1,
        description: "Customer health, 0–100, per customer active at the evaluation instant (as_of, or the window's last instant when earlier): weighted usage, feedback, support and recency. Without group-by: the mean score and the customers per band (red < 40 ≤ amber < 70 ≤ green); grouped by customer_id: each customer's score and components.",
        formula: "100 × Σ wᵢ × cᵢ; usage = min(1, engagement events in the last 30 days / usage_target); feedback = latest survey score normalised to 0..1 on its scale, higher = better; support = 1 − min(1, open tickets / ticket_limit); recency = 1 − min(1, days since last order / recency_days); a component with no data is left out and the weights rescaled",
        value_kind: ValueKind::Score,
        unit: "points (0–100)",
        direction: Direction::HigherIsBetter,
        reads: SIGNAL_KINDS,
        primary: SIGNAL_KINDS,
        policies: &[],
        parameters: &[WEIGHTS, USAGE_TARGET, TICKET_LIMIT, RECENCY_DAYS],
        components: &[
            Term {
                name: "customers",
                description: "active customers with a health score: a component with data and a weight above 0",
            },
            Term {
                name: "red",
                description: "scored customers below 40",
            },
            Term {
                name: "amber",
                description: "scored customers from 40 to below 70",
            },
            Term {
                name: "green",
                description: "scored customers at 70 or above",
            },
            Term {
                name: "usage",
                description: "only when exactly one customer is scored (e.g. grouped by customer_id) and it has an engagement event by the evaluation instant: its usage component, 0..1",
            },
            Term {
                name: "usage_weight",
                description: "with usage: the weight applied to it after rescaling",
            },
            Term {
                name: "feedback",
                description: "only when exactly one customer is scored and it answered a survey by the evaluation instant: its feedback component, 0..1",
            },
            Term {
                name: "feedback_weight",
                description: "with feedback: the weight applied to it after rescaling",
            },
            Term {
                name: "support",
                description: "only when exactly one customer is scored and it created a ticket by the evaluation instant: its support component, 0..1",
            },
            Term {
                name: "support_weight",
                description: "with support: the weight applied to it after rescaling",
            },
            Term {
                name: "recency",
                description: "only when exactly one customer is scored and it ordered by the evaluation instant: its recency component, 0..1",
            },
            Term {
                name: "recency_weight",
                description: "with recency: the weight applied to it after rescaling",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::NoData,
            when: "no customer active at the evaluation instant has a component with data and a weight above 0",
        }],
    },
    reading: HealthSignals,
    finalize: customer_health_score_result,
    relate_group: None,
};

/// What is known of one customer at the evaluation instant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct CustomerSignals {
    active: bool,
    any_event: bool,
    recent_events: u64,
    /// (responded_time, id, oriented score − min, max − min) of the latest answer.
    latest_survey: Option<(Timestamp, Text, i64, i64)>,
    any_ticket: bool,
    open_tickets: u64,
    last_order: Option<Timestamp>,
}

impl CustomerSignals {
    fn merge(&mut self, other: &CustomerSignals) {
        self.active |= other.active;
        self.any_event |= other.any_event;
        self.recent_events += other.recent_events;
        if let Some((time, id, oriented, range)) = &other.latest_survey {
            self.offer_survey(*time, id, *oriented, *range);
        }
        self.any_ticket |= other.any_ticket;
        self.open_tickets += other.open_tickets;
        self.last_order = self.last_order.max(other.last_order);
    }

    /// Keeps the answer if it is the latest by (time, id); the whole tuple breaks what remains
    /// of a tie, so even two answers sharing a time and an id give the same result in any order.
    /// The id is copied only when the answer is kept.
    fn offer_survey(&mut self, time: Timestamp, id: &str, oriented: i64, range: i64) {
        let newer = self
            .latest_survey
            .as_ref()
            .is_none_or(|(t, i, o, r)| (time, id, oriented, range) > (*t, i.as_str(), *o, *r));
        if newer {
            self.latest_survey = Some((time, Text::from(id), oriented, range));
        }
    }
}

/// Signals per customer id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthState {
    customers: ById<CustomerSignals>,
}

impl State for HealthState {
    fn merge(&mut self, other: &Self) {
        self.customers
            .merge_with(&other.customers, CustomerSignals::merge);
    }
}

/// The weights to use: the parameter, or equal weights.
fn weights(settings: &Settings) -> [f64; 4] {
    match settings.number_map(&WEIGHTS) {
        Some(map) => COMPONENTS.map(|c| map.get(c).copied().unwrap_or(0.0)),
        None => [0.25; 4],
    }
}

/// Every record of a customer up to the evaluation instant: whether it is active, and its usage,
/// feedback, support and order signals.
pub struct HealthSignals;

impl Reading for HealthSignals {
    type State = HealthState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::State
    }

    fn reads_amounts(&self) -> bool {
        false
    }

    fn validate(&self, settings: &Settings, path: &str) -> Vec<Problem> {
        let Some(map) = settings.number_map(&WEIGHTS) else {
            return Vec::new();
        };
        let field = format!("{path}.parameters[{}]", WEIGHTS.name);
        let mut problems: Vec<Problem> = map
            .iter()
            .filter(|(name, value)| !COMPONENTS.contains(&name.as_str()) || **value < 0.0)
            .map(|(name, value)| {
                Problem::new(
                    field.clone(),
                    format!("weight '{name}' = {value}: components are usage, feedback, support, recency, each weighted ≥ 0"),
                )
            })
            .collect();
        let total: f64 = map.values().sum();
        if (total - 1.0).abs() > 1e-9 {
            problems.push(Problem::new(
                field,
                format!("weights must sum to 1 (they sum to {total})"),
            ));
        }
        problems
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::default();
        let until = Some(span.end);
        for field in [
            TimeField::CustomerAcquired,
            TimeField::SurveyResponded,
            TimeField::TicketCreated,
            TimeField::OrderOrdered,
        ] {
            plan.read_bounded(TimeBound {
                field,
                from: None,
                until,
            });
        }
        // Every event up to the end, not only the last 30 days': a customer whose events all
        // lie further back has usage data, and it is 0 (a customer who stopped using the
        // product), where a customer with no event at all has none.
        plan.read_bounded(TimeBound {
            field: TimeField::EngagementOccurred,
            from: None,
            until,
        });
        plan
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut HealthState, record: RecordRef<'a>) {
        let t = ctx.point_in_time();
        let Some(customer) = record.customer_id() else {
            return;
        };
        match record {
            // An inactive customer adds nothing (a customer acquired later is not even read).
            RecordRef::Customer(c)
                if c.acquired_time <= t && c.churned_time.is_none_or(|churned| churned > t) =>
            {
                state.customers.entry(customer).active = true;
            }
            RecordRef::EngagementEvent(e) if e.occurred_time <= t => {
                let signals = state.customers.entry(customer);
                signals.any_event = true;
                signals.recent_events +=
                    u64::from(t - e.occurred_time < Duration::days(USAGE_DAYS));
            }
            RecordRef::SurveyResponse(s) if s.responded_time <= t => {
                let oriented = match s.direction {
                    ScoreDirection::HigherIsBetter => s.score - s.scale_min,
                    ScoreDirection::LowerIsBetter => s.scale_max - s.score,
                };
                let range = i64::from(s.scale_max - s.scale_min).max(1);
                state.customers.entry(customer).offer_survey(
                    s.responded_time,
                    &s.meta.id,
                    i64::from(oriented),
                    range,
                );
            }
            RecordRef::Ticket(k) if k.created_time <= t => {
                let signals = state.customers.entry(customer);
                signals.any_ticket = true;
                signals.open_tickets += u64::from(k.resolved_time.is_none_or(|r| r > t));
            }
            RecordRef::Order(o) if o.ordered_time <= t => {
                let signals = state.customers.entry(customer);
                signals.last_order = signals.last_order.max(Some(o.ordered_time));
            }
            _ => {}
        }
    }
}

/// The value of `customer_health_score`.
fn customer_health_score_result(
    _definition: &MetricDefinition,
    ctx: &FoldContext<'_, '_>,
    state: &HealthState,
) -> Result<MetricResult, EvalError> {
    let settings = ctx.settings;
    let t = ctx.point_in_time();
    let weights = weights(settings);
    // Each has a declared default, which `number` falls back to.
    let declared = |parameter| settings.number(parameter).unwrap_or(1.0);
    let (usage_target, ticket_limit, recency_days) = (
        declared(&USAGE_TARGET),
        declared(&TICKET_LIMIT),
        declared(&RECENCY_DAYS),
    );
    let mut scores = Vec::new();
    let mut last_parts = [None; 4];
    for signals in state.customers.values().filter(|s| s.active) {
        let parts = [
            signals
                .any_event
                .then(|| (signals.recent_events as f64 / usage_target).min(1.0)),
            signals
                .latest_survey
                .as_ref()
                .map(|(_, _, num, den)| *num as f64 / *den as f64),
            signals
                .any_ticket
                .then(|| 1.0 - (signals.open_tickets as f64 / ticket_limit).min(1.0)),
            signals.last_order.map(|last| {
                let days = (t - last).num_seconds() as f64 / 86_400.0;
                1.0 - (days / recency_days).min(1.0)
            }),
        ];
        let weight: f64 = parts
            .iter()
            .zip(weights)
            .filter(|(p, _)| p.is_some())
            .map(|(_, w)| w)
            .sum();
        if weight > 0.0 {
            let weighted: f64 = parts
                .iter()
                .zip(weights)
                .filter_map(|(p, w)| p.map(|p| p * w))
                .sum();
            scores.push(100.0 * weighted / weight);
            last_parts = parts;
        }
    }
    let band =
        |low: f64, high: f64| scores.iter().filter(|s| **s >= low && **s < high).count() as u64;
    let mut components = vec![
        Component::count("customers", scores.len() as u64),
        Component::count("red", band(f64::NEG_INFINITY, 40.0)),
        Component::count("amber", band(40.0, 70.0)),
        Component::count("green", band(70.0, f64::INFINITY)),
    ];
    if scores.is_empty() {
        return Ok(MetricResult::undefined(
            UndefinedReason::NoData,
            "no active customer with any health signal",
            components,
        ));
    }
    if scores.len() == 1 {
        // One customer (e.g. grouped by customer_id): report its components and the weights
        // actually applied after rescaling.
        let weight: f64 = last_parts
            .iter()
            .zip(weights)
            .filter(|(p, _)| p.is_some())
            .map(|(_, w)| w)
            .sum();
        for ((name, part), w) in COMPONENTS.iter().zip(last_parts).zip(weights) {
            if let Some(part) = part {
                components.push(Component::number(name, part));
                components.push(Component::number(&format!("{name}_weight"), w / weight));
            }
        }
    }
    // Summed in ascending order, so the mean does not depend on the map's order.
    scores.sort_unstable_by(f64::total_cmp);
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    Ok(MetricResult::value(Value::Score(mean), components))
}

#[cfg(test)]
#[path = "tests/health.rs"]
mod tests;
