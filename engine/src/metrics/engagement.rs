//! Engagement and adoption: `customer_engagement_rate`, `user_adoption_rate`, `active_users`,
//! `crm_logins` and `routine_task_time` (docs/metrics.md).
//!
//! The two adoption-style rates join two kinds: the population (customers, CRM users) is routed to
//! every period and `fold` decides whether it was active at some instant of the window; the events
//! are routed to the period containing them. The state is a map keyed by customer or user id, so
//! an event and its customer can be folded in any order and in different partial states.
//! `user_adoption_rate`, `active_users` and `crm_logins` share one reading of user events.

use crate::by_id::ById;

use crate::calendar::Window;
use crate::catalog::{
    Direction, MetricDefinition, ParamDefault, ParamKind, ParameterDefinition, Settings, ValueKind,
};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField};
use crate::eval::{Family, FoldContext, Metric, Reading, ReadingMetric, Route, State};
use crate::query::Problem;
use crate::records::{ActivityType, RecordKind, Timestamp, UserEventKind};
use crate::value::{Component, DurationSet, EvalError, MetricResult, Value};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[
    &CustomerEngagementRate,
    &USER_ADOPTION_RATE_METRIC,
    &ACTIVE_USERS_METRIC,
    &CRM_LOGINS_METRIC,
    &RoutineTaskTime,
];

/// Rows whose `field` lies in the span.
fn plan_in_span(plan: &mut ReadPlan, field: TimeField, span: Window) {
    plan.read_bounded(TimeBound {
        field,
        from: Some(span.start),
        until: Some(span.end),
    });
}

/// Whether something that exists over `[from, until)` (until absent: still) is active at some
/// instant of `window`: `from < end` and (`until` absent or `until > start`).
fn active_during(window: Window, from: Timestamp, until: Option<Timestamp>) -> bool {
    from < window.end && until.is_none_or(|u| u > window.start)
}

/// One member of a population (a customer, a user) and its events in the period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Member {
    /// The member counts in the denominator (active during P; for users: also licensed).
    counted: bool,
    /// Events in P.
    events: u64,
    /// LOGIN events in P (users only).
    logins: u64,
}

/// Members by id; ids without a counted member only carry events.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberMap {
    members: ById<Member>,
}

impl State for MemberMap {
    fn merge(&mut self, other: &Self) {
        self.members.merge_with(&other.members, |ours, theirs| {
            ours.counted |= theirs.counted;
            ours.events += theirs.events;
            ours.logins += theirs.logins;
        });
    }
}

impl MemberMap {
    fn member(&mut self, id: &str) -> &mut Member {
        self.members.entry(id)
    }

    /// Members in the denominator, and those of them with at least `min_events` events.
    fn counted_with_events(&self, min_events: f64) -> (u64, u64) {
        self.members
            .values()
            .filter(|m| m.counted)
            .fold((0, 0), |(all, engaged), m| {
                (all + 1, engaged + u64::from(m.events as f64 >= min_events))
            })
    }
}

/// Share of the customers active during the window with enough engagement events in it.
pub struct CustomerEngagementRate;

static CUSTOMER_ENGAGEMENT_RATE: MetricDefinition = MetricDefinition {
    id: "customer_engagement_rate",
    family: "engagement",
    version: 1,
    description: "The share of the customers active at some instant of the window that had at least min_events engagement events (e-mail opens and clicks, web visits, social, loyalty, product usage) in it.",
    formula: "customers active at some instant of P (acquired_time < P.end, churned_time absent or > P.start) with >= min_events engagement events in P / customers active at some instant of P",
    value_kind: ValueKind::Ratio,
    unit: "fraction",
    direction: Direction::HigherIsBetter,
    reads: &[RecordKind::Customer, RecordKind::EngagementEvent],
    primary: &[RecordKind::Customer, RecordKind::EngagementEvent],
    policies: &[],
    parameters: &[ParameterDefinition {
        name: "min_events",
        description: "the engagement events in the window a customer needs to count as engaged",
        kind: ParamKind::Number,
        default: Some(ParamDefault::Number(1.0)),
        positive: true,
    }],
};

impl Family for CustomerEngagementRate {
    type State = MemberMap;

    fn definition(&self) -> &'static MetricDefinition {
        &CUSTOMER_ENGAGEMENT_RATE
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::default();
        // Customers acquired before the span ends (churn has no index: filtered in fold).
        plan.read_bounded(TimeBound {
            field: TimeField::CustomerAcquired,
            from: None,
            until: Some(span.end),
        });
        plan_in_span(&mut plan, TimeField::EngagementOccurred, span);
        plan
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        match record {
            RecordRef::Customer(_) => Route::Everywhere,
            RecordRef::EngagementEvent(e) => Route::At(e.occurred_time),
            _ => Route::Nowhere,
        }
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut MemberMap, record: RecordRef<'a>) {
        let window = ctx.period.window;
        match record {
            RecordRef::Customer(c) if active_during(window, c.acquired_time, c.churned_time) => {
                state.member(&c.meta.id).counted = true;
            }
            RecordRef::EngagementEvent(e) if window.contains(e.occurred_time) => {
                state.member(&e.customer_id).events += 1;
            }
            _ => {}
        }
    }

    fn finalize(
        &self,
        ctx: &FoldContext<'_, '_>,
        state: &MemberMap,
    ) -> Result<MetricResult, EvalError> {
        let min_events = ctx.settings.number("min_events").unwrap_or(1.0);
        let (active, engaged) = state.counted_with_events(min_events);
        let components = vec![
            Component::count("active_customers", active),
            Component::count("engaged_customers", engaged),
        ];
        Ok(MetricResult::ratio(
            engaged as f64,
            active as f64,
            "customers active",
            components,
        ))
    }
}

/// CRM users (when `users`) and their events, by user id: shared by the adoption metrics.
pub struct UserActivity {
    /// Whether the metric also reads the CRM users (the population of the adoption rate).
    pub users: bool,
}

impl Reading for UserActivity {
    type State = MemberMap;

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::default();
        if self.users {
            // CRM users have no time index; they are few.
            plan.read_all(RecordKind::CrmUser);
        }
        plan_in_span(&mut plan, TimeField::UserEventOccurred, span);
        plan
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        match record {
            RecordRef::CrmUser(_) if self.users => Route::Everywhere,
            RecordRef::UserEvent(e) => Route::At(e.occurred_time),
            _ => Route::Nowhere,
        }
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut MemberMap, record: RecordRef<'a>) {
        let window = ctx.period.window;
        match record {
            RecordRef::CrmUser(u)
                if self.users
                    && u.licensed
                    && active_during(window, u.created_time, u.deactivated_time) =>
            {
                state.member(&u.meta.id).counted = true;
            }
            RecordRef::UserEvent(e) if window.contains(e.occurred_time) => {
                let member = state.member(&e.user_id);
                member.events += 1;
                member.logins += u64::from(e.kind == UserEventKind::Login);
            }
            _ => {}
        }
    }
}

/// Share of the licensed CRM users active during the window who used the CRM in it.
pub static USER_ADOPTION_RATE_METRIC: ReadingMetric<UserActivity> = ReadingMetric {
    definition: &USER_ADOPTION_RATE,
    reading: UserActivity { users: true },
    finalize: user_adoption_rate_result,
};

static USER_ADOPTION_RATE: MetricDefinition = MetricDefinition {
    id: "user_adoption_rate",
    family: "engagement",
    version: 1,
    description: "The share of the licensed CRM users active during the window who had at least one user event (login or feature use) in it.",
    formula: "licensed users active during P (created_time < P.end, deactivated_time absent or > P.start) with >= 1 UserEvent in P / licensed users active during P",
    value_kind: ValueKind::Ratio,
    unit: "fraction",
    direction: Direction::HigherIsBetter,
    reads: &[RecordKind::CrmUser, RecordKind::UserEvent],
    primary: &[RecordKind::CrmUser, RecordKind::UserEvent],
    policies: &[],
    parameters: &[],
};

fn user_adoption_rate_result(
    _definition: &'static MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &MemberMap,
) -> Result<MetricResult, EvalError> {
    let (licensed, adopted) = state.counted_with_events(1.0);
    let components = vec![
        Component::count("licensed_users", licensed),
        Component::count("adopting_users", adopted),
    ];
    Ok(MetricResult::ratio(
        adopted as f64,
        licensed as f64,
        "licensed users active",
        components,
    ))
}

/// Distinct users with at least one user event in the window (DAU / MAU as a series).
pub static ACTIVE_USERS_METRIC: ReadingMetric<UserActivity> = ReadingMetric {
    definition: &ACTIVE_USERS,
    reading: UserActivity { users: false },
    finalize: active_users_result,
};

static ACTIVE_USERS: MetricDefinition = MetricDefinition {
    id: "active_users",
    family: "engagement",
    version: 1,
    description: "The number of distinct CRM users with at least one user event in the window; a daily series gives DAU, a monthly one MAU.",
    formula: "count of distinct user_id over UserEvents in P",
    value_kind: ValueKind::Count,
    unit: "users",
    direction: Direction::HigherIsBetter,
    reads: &[RecordKind::UserEvent],
    primary: &[RecordKind::UserEvent],
    policies: &[],
    parameters: &[],
};

/// Users with events in P, and all their events.
fn active_users_and_events(state: &MemberMap) -> (u64, u64) {
    state
        .members
        .values()
        .filter(|m| m.events > 0)
        .fold((0, 0), |(users, events), m| (users + 1, events + m.events))
}

fn active_users_result(
    _definition: &'static MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &MemberMap,
) -> Result<MetricResult, EvalError> {
    let (users, events) = active_users_and_events(state);
    Ok(MetricResult::value(
        Value::Count(users),
        vec![Component::count("user_events", events)],
    ))
}

/// LOGIN user events in the window.
pub static CRM_LOGINS_METRIC: ReadingMetric<UserActivity> = ReadingMetric {
    definition: &CRM_LOGINS,
    reading: UserActivity { users: false },
    finalize: crm_logins_result,
};

static CRM_LOGINS: MetricDefinition = MetricDefinition {
    id: "crm_logins",
    family: "engagement",
    version: 1,
    description: "The number of LOGIN user events in the window.",
    formula: "count of UserEvents with kind LOGIN and occurred_time in P",
    value_kind: ValueKind::Count,
    unit: "logins",
    direction: Direction::HigherIsBetter,
    reads: &[RecordKind::UserEvent],
    primary: &[RecordKind::UserEvent],
    policies: &[],
    parameters: &[],
};

fn crm_logins_result(
    _definition: &'static MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &MemberMap,
) -> Result<MetricResult, EvalError> {
    let logins: u64 = state.members.values().map(|m| m.logins).sum();
    let users = state.members.values().filter(|m| m.logins > 0).count() as u64;
    Ok(MetricResult::value(
        Value::Count(logins),
        vec![Component::count("users_logged_in", users)],
    ))
}

/// Time logged on routine activity types in the window.
pub struct RoutineTaskTime;

/// The default routine activity types.
const DEFAULT_ROUTINE_TYPES: &[&str] = &["TASK", "NOTE", "DATA_ENTRY"];

static ROUTINE_TASK_TIME: MetricDefinition = MetricDefinition {
    id: "routine_task_time",
    family: "engagement",
    version: 1,
    description: "Time logged on routine activities (by default tasks, notes and data entry) in the window: the total (total_seconds) with count, mean, median and p90 per activity, and the share of all logged activity time. Activities without a duration are counted apart.",
    formula: "sum of duration_seconds of activities with occurred_time in P and type in routine_types; share_of_logged_time = that sum / sum of duration_seconds of all activities in P",
    value_kind: ValueKind::Duration,
    unit: "seconds",
    direction: Direction::LowerIsBetter,
    reads: &[RecordKind::Activity],
    primary: &[RecordKind::Activity],
    policies: &[],
    parameters: &[ParameterDefinition {
        name: "routine_types",
        description: "the activity types that count as routine work (CALL, EMAIL, MEETING, TASK, NOTE, DATA_ENTRY, OTHER)",
        kind: ParamKind::List,
        default: Some(ParamDefault::List(DEFAULT_ROUTINE_TYPES)),
        positive: false,
    }],
};

/// Routine durations, all logged seconds, and activities without a duration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoutineState {
    routine: DurationSet,
    /// All logged seconds, exactly (no sum of i64 durations overflows i128).
    logged_seconds: i128,
    routine_without_duration: u64,
    without_duration: u64,
    /// A routine duration did not fit 64-bit microseconds.
    overflowed: bool,
}

impl State for RoutineState {
    fn merge(&mut self, other: &Self) {
        self.routine.merge(&other.routine);
        self.logged_seconds += other.logged_seconds;
        self.routine_without_duration += other.routine_without_duration;
        self.without_duration += other.without_duration;
        self.overflowed |= other.overflowed;
    }
}

impl Family for RoutineTaskTime {
    type State = RoutineState;

    fn definition(&self) -> &'static MetricDefinition {
        &ROUTINE_TASK_TIME
    }

    fn validate(&self, settings: &Settings, path: &str) -> Vec<Problem> {
        let allowed: Vec<&str> = ActivityType::ALL.iter().map(|t| t.name()).collect();
        let types = settings.list("routine_types").unwrap_or_default();
        let mut problems: Vec<Problem> = types
            .iter()
            .filter(|name| !allowed.contains(&name.as_str()))
            .map(|name| {
                Problem::new(
                    format!("{path}.parameters[routine_types]"),
                    format!(
                        "unknown activity type '{name}'; allowed: {}",
                        allowed.join(", ")
                    ),
                )
            })
            .collect();
        if types.is_empty() {
            problems.push(Problem::new(
                format!("{path}.parameters[routine_types]"),
                format!(
                    "at least one activity type is required; allowed: {}",
                    allowed.join(", ")
                ),
            ));
        }
        problems
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::default();
        plan_in_span(&mut plan, TimeField::ActivityOccurred, span);
        plan
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        match record {
            RecordRef::Activity(a) => Route::At(a.occurred_time),
            _ => Route::Nowhere,
        }
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut RoutineState, record: RecordRef<'a>) {
        let RecordRef::Activity(a) = record else {
            return;
        };
        if !ctx.period.window.contains(a.occurred_time) {
            return;
        }
        let routine = ctx
            .settings
            .list("routine_types")
            .unwrap_or_default()
            .iter()
            .any(|name| name == a.activity_type.name());
        match a.duration_seconds {
            Some(seconds) => {
                state.logged_seconds += i128::from(seconds);
                if routine {
                    match seconds.checked_mul(1_000_000) {
                        Some(micros) => state.routine.add_micros(micros),
                        None => state.overflowed = true,
                    }
                }
            }
            None => {
                state.without_duration += 1;
                state.routine_without_duration += u64::from(routine);
            }
        }
    }

    fn finalize(
        &self,
        _ctx: &FoldContext<'_, '_>,
        state: &RoutineState,
    ) -> Result<MetricResult, EvalError> {
        if state.overflowed {
            return Err(EvalError::Overflow {
                metric: format!(
                    "{}: a duration over 64-bit microseconds",
                    ROUTINE_TASK_TIME.id
                ),
            });
        }
        let mut components = vec![
            Component::seconds("logged_seconds", state.logged_seconds as f64),
            Component::count("routine_without_duration", state.routine_without_duration),
            Component::count("without_duration", state.without_duration),
        ];
        if let (Some(stats), true) = (state.routine.stats(), state.logged_seconds != 0) {
            components.push(Component::number(
                "share_of_logged_time",
                stats.total_seconds / state.logged_seconds as f64,
            ));
        }
        Ok(state
            .routine
            .result("routine activities with a duration", components))
    }
}

#[cfg(test)]
#[path = "tests/engagement.rs"]
mod tests;
