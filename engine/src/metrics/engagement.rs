//! Engagement and adoption: `customer_engagement_rate`, `user_adoption_rate`, `active_users`,
//! `crm_logins` and `routine_task_time` (docs/metrics.md; the last one in `engagement/routine.rs`).
//!
//! The two adoption-style rates join two kinds: the population (customers, CRM users) is routed to
//! every period and `fold` decides whether it was active at some instant of the window; the events
//! are routed to the period containing them. The state is a map keyed by customer or user id, so
//! an event and its customer can be folded in any order and in different partial states.
//! `user_adoption_rate`, `active_users` and `crm_logins` share one reading of user events.

use crate::by_id::ById;

use crate::calendar::Window;
use crate::catalog::{
    Direction, MetricDefinition, ParamDefault, ParamKind, ParameterDefinition, Settings, Term,
    UndefinedCase, ValueKind,
};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeField};
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Reading, Route, State};
use crate::records::{RecordKind, Timestamp, UserEventKind};
use crate::value::{Component, EvalError, MetricResult, UndefinedReason, Value};

mod routine;

pub use routine::{ROUTINE_TASK_TIME, RoutineActivities, RoutineState};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[
    &CUSTOMER_ENGAGEMENT_RATE,
    &USER_ADOPTION_RATE,
    &ACTIVE_USERS,
    &CRM_LOGINS,
    &ROUTINE_TASK_TIME,
];

/// The kinds `active_users` and `crm_logins` read (and filter and group).
const USER_EVENT_KINDS: &[RecordKind] = &[RecordKind::UserEvent];

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

/// The engagement events in the window a customer needs to count as engaged.
const MIN_EVENTS: ParameterDefinition = ParameterDefinition {
    name: "min_events",
    description: "the engagement events in the window a customer needs to count as engaged",
    kind: ParamKind::Number,
    default: Some(ParamDefault::Number(1.0)),
    positive: true,
};

/// Share of the customers active during the window with enough engagement events in it.
pub static CUSTOMER_ENGAGEMENT_RATE: Declaration<CustomerEngagement> = Declaration {
    definition: MetricDefinition {
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
        parameters: &[MIN_EVENTS],
        components: &[
            Term {
                name: "active_customers",
                description: "customers active at some instant of the window",
            },
            Term {
                name: "engaged_customers",
                description: "active customers with at least min_events engagement events in the window",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::ZeroDenominator,
            when: "no customer was active at any instant of the window",
        }],
    },
    reading: CustomerEngagement,
    finalize: customer_engagement_rate_result,
    relate_group: None,
};

/// Customers active in the period and their engagement events in it, by customer id.
pub struct CustomerEngagement;

impl Reading for CustomerEngagement {
    type State = MemberMap;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        // A customer counts in every period it was active in (see `route` for the events).
        CountedBy::State
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::within(TimeField::EngagementOccurred, span);
        // Customers acquired before the span ends (churn has no index: filtered in fold).
        plan.merge(ReadPlan::before(TimeField::CustomerAcquired, span.end));
        plan
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        // An engagement event counts only in the periods containing it.
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
}

/// The value of `customer_engagement_rate`.
fn customer_engagement_rate_result(
    _definition: &MetricDefinition,
    ctx: &FoldContext<'_, '_>,
    state: &MemberMap,
) -> Result<MetricResult, EvalError> {
    let min_events = ctx.settings.number(&MIN_EVENTS).unwrap_or(1.0);
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

/// CRM users (when `users`) and their events, by user id: shared by the adoption metrics.
pub struct UserActivity {
    /// Whether the metric also reads the CRM users (the population of the adoption rate).
    pub users: bool,
}

impl Reading for UserActivity {
    type State = MemberMap;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        if self.users {
            // A user counts in every period it was active in (see `route` for the events).
            CountedBy::State
        } else {
            CountedBy::Time(TimeField::UserEventOccurred)
        }
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::within(TimeField::UserEventOccurred, span);
        if self.users {
            // CRM users have no time index; they are few.
            plan.read_all(RecordKind::CrmUser);
        }
        plan
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        // A user event counts only in the periods containing it.
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
pub static USER_ADOPTION_RATE: Declaration<UserActivity> = Declaration {
    definition: MetricDefinition {
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
        components: &[
            Term {
                name: "licensed_users",
                description: "licensed CRM users active at some instant of the window",
            },
            Term {
                name: "adopting_users",
                description: "licensed active users with at least one user event in the window",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::ZeroDenominator,
            when: "no licensed CRM user was active at any instant of the window",
        }],
    },
    reading: UserActivity { users: true },
    finalize: user_adoption_rate_result,
    relate_group: None,
};

/// The value of `user_adoption_rate`.
fn user_adoption_rate_result(
    _definition: &MetricDefinition,
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
pub static ACTIVE_USERS: Declaration<UserActivity> = Declaration {
    definition: MetricDefinition {
        id: "active_users",
        family: "engagement",
        version: 1,
        description: "The number of distinct CRM users with at least one user event in the window; a daily series gives DAU, a monthly one MAU.",
        formula: "count of distinct user_id over UserEvents in P",
        value_kind: ValueKind::Count,
        unit: "users",
        direction: Direction::HigherIsBetter,
        reads: USER_EVENT_KINDS,
        primary: USER_EVENT_KINDS,
        policies: &[],
        parameters: &[],
        components: &[Term {
            name: "user_events",
            description: "user events in the window",
        }],
        breakdown_keys: &[],
        undefined: &[],
    },
    reading: UserActivity { users: false },
    finalize: active_users_result,
    relate_group: None,
};

/// Users with events in P, and all their events.
fn active_users_and_events(state: &MemberMap) -> (u64, u64) {
    state
        .members
        .values()
        .filter(|m| m.events > 0)
        .fold((0, 0), |(users, events), m| (users + 1, events + m.events))
}

/// The value of `active_users`.
fn active_users_result(
    _definition: &MetricDefinition,
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
pub static CRM_LOGINS: Declaration<UserActivity> = Declaration {
    definition: MetricDefinition {
        id: "crm_logins",
        family: "engagement",
        version: 1,
        description: "The number of LOGIN user events in the window.",
        formula: "count of UserEvents with kind LOGIN and occurred_time in P",
        value_kind: ValueKind::Count,
        unit: "logins",
        direction: Direction::HigherIsBetter,
        reads: USER_EVENT_KINDS,
        primary: USER_EVENT_KINDS,
        policies: &[],
        parameters: &[],
        components: &[Term {
            name: "users_logged_in",
            description: "distinct users with at least one LOGIN event in the window",
        }],
        breakdown_keys: &[],
        undefined: &[],
    },
    reading: UserActivity { users: false },
    finalize: crm_logins_result,
    relate_group: None,
};

/// The value of `crm_logins`.
fn crm_logins_result(
    _definition: &MetricDefinition,
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

#[cfg(test)]
#[path = "tests/engagement.rs"]
mod tests;
