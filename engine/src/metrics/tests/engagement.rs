//! Unit tests of the `engagement` family: hand-computed vectors, window edges, `as_of`,
//! parameters, series, group-by, and the merge property.

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::calendar::Granularity;
use crate::dimension::Dimension;
use crate::eval::{Period, prepare};
use crate::metrics::test_support::*;
use crate::query::{MetricQuery, ParamValue, Problem};
use crate::records::{
    Activity, ActivityDirection, ActivityType, CrmUser, EngagementEvent, EngagementType, Record,
    UserEvent, UserRole,
};
use crate::value::{DurationStats, UndefinedReason};

fn event(id: &str, customer: &str, t: Timestamp) -> Record {
    Record::EngagementEvent(EngagementEvent {
        meta: meta(id),
        customer_id: customer.into(),
        event_type: EngagementType::WebVisit,
        occurred_time: t,
    })
}

fn user(id: &str, licensed: bool, created: Timestamp, deactivated: Option<Timestamp>) -> Record {
    Record::CrmUser(CrmUser {
        meta: meta(id),
        role: UserRole::Sales,
        team: None,
        licensed,
        created_time: created,
        deactivated_time: deactivated,
    })
}

fn user_event(id: &str, user: &str, kind: UserEventKind, t: Timestamp) -> Record {
    Record::UserEvent(UserEvent {
        meta: meta(id),
        user_id: user.into(),
        kind,
        feature: None,
        occurred_time: t,
    })
}

fn activity(id: &str, activity_type: ActivityType, t: Timestamp, seconds: Option<i64>) -> Record {
    Record::Activity(Activity {
        meta: meta(id),
        activity_type,
        direction: ActivityDirection::Outbound,
        occurred_time: t,
        duration_seconds: seconds,
        lead_id: None,
        deal_id: None,
        customer_id: None,
        owner_id: None,
    })
}

fn count(result: &MetricResult) -> u64 {
    match &result.value {
        Ok(Value::Count(n)) => *n,
        other => panic!("not a count: {other:?}"),
    }
}

fn stats(result: &MetricResult) -> DurationStats {
    match &result.value {
        Ok(Value::Duration(stats)) => *stats,
        other => panic!("not a duration: {other:?}"),
    }
}

fn component(result: &MetricResult, name: &str) -> Component {
    result
        .components
        .iter()
        .find(|c| c.name == name)
        .cloned()
        .unwrap_or_else(|| panic!("no component {name} in {result:?}"))
}

fn problems(query: MetricQuery) -> Vec<Problem> {
    match prepare(&request(query, march())) {
        Ok(_) => panic!("expected problems"),
        Err(problems) => problems,
    }
}

fn last_of_march() -> Timestamp {
    ymd(2026, 4, 1) - Duration::microseconds(1)
}

/// Customers around March's edges and their engagement events.
fn engagement_records() -> Vec<Record> {
    vec![
        // a: active all March, two events → engaged at min_events 1 and 2.
        customer("a", at(1, 1, 0), None),
        event("a1", "a", at(3, 3, 0)),
        event("a2", "a", at(3, 4, 0)),
        // b: active, one event exactly at P.start (inside).
        customer("b", at(1, 1, 0), None),
        event("b1", "b", ymd(2026, 3, 1)),
        // c: active, its only event is exactly at P.end (outside) → not engaged.
        customer("c", at(2, 1, 0), None),
        event("c1", "c", ymd(2026, 4, 1)),
        // d: churned in February → not active; its March event is ignored.
        customer("d", at(1, 1, 0), Some(at(2, 10, 0))),
        event("d1", "d", at(3, 5, 0)),
        // e: acquired exactly at P.end → not active.
        customer("e", ymd(2026, 4, 1), None),
        // f: churned exactly at P.start → not active (churned_time > P.start fails).
        customer("f", at(1, 1, 0), Some(ymd(2026, 3, 1))),
        event("f1", "f", at(3, 2, 0)),
        // g: acquired at the last instant of March, one event at that instant → engaged.
        customer("g", last_of_march(), None),
        event("g1", "g", last_of_march()),
        // h: churned an hour into March → active at some instant, no events.
        customer("h", at(1, 1, 0), Some(at(3, 1, 1))),
        // An event of an unknown customer counts nowhere.
        event("x1", "ghost", at(3, 6, 0)),
    ]
}

#[test]
fn customer_engagement_rate_hand_vector_and_min_events() {
    // Active at some instant of March: a, b, c, g, h = 5. Engaged (≥ 1 event): a, b, g → 3/5.
    // min_events = 2: a only → 1/5.
    let report = run(
        engagement_records(),
        &request(MetricQuery::new("customer_engagement_rate"), march()),
    );
    assert_eq!(ratio(&report.total), (3.0, 5.0));
    assert_eq!(
        report.total.components,
        vec![
            Component::count("active_customers", 5),
            Component::count("engaged_customers", 3),
        ]
    );
    let two = MetricQuery::new("customer_engagement_rate")
        .parameter("min_events", ParamValue::Number(2.0));
    assert_eq!(
        ratio(&run(engagement_records(), &request(two, march())).total),
        (1.0, 5.0)
    );
}

#[test]
fn customer_engagement_rate_as_of_and_empty() {
    // As of Mar 3 12:00: a has one event (a2 not yet), b one, g does not exist yet, h churned
    // Mar 1 01:00 is still active at some instant. Active: a, b, c, h = 4; engaged a, b → 2/4.
    let mut req = request(MetricQuery::new("customer_engagement_rate"), march());
    req.as_of = at(3, 3, 12);
    assert_eq!(ratio(&run(engagement_records(), &req).total), (2.0, 4.0));
    // No customers: ZERO_DENOMINATOR, never 0.
    let report = run(
        vec![event("e", "nobody", at(3, 2, 0))],
        &request(MetricQuery::new("customer_engagement_rate"), march()),
    );
    assert_eq!(reason(&report.total), UndefinedReason::ZeroDenominator);
}

#[test]
fn customer_engagement_rate_rejects_non_positive_min_events() {
    let query = MetricQuery::new("customer_engagement_rate")
        .parameter("min_events", ParamValue::Number(0.0));
    let found = problems(query);
    assert_eq!(found[0].field, "metrics[0].parameters[min_events]");
}

#[test]
fn customer_engagement_rate_grouped_by_customer() {
    // Grouped by customer_id, each customer's events land in its own group:
    // a → 1/1, b → 1/1, c → 0/1, ghost → ZERO_DENOMINATOR (no such customer).
    let mut req = request(MetricQuery::new("customer_engagement_rate"), march());
    req.group_by = vec![Dimension::CustomerId];
    let report = run(engagement_records(), &req);
    let group = |id: &str| {
        report
            .groups
            .iter()
            .find(|g| g.key[0].as_deref() == Some(id))
            .map(|g| g.total.clone())
            .unwrap_or_else(|| panic!("no group {id}"))
    };
    assert_eq!(ratio(&group("a")), (1.0, 1.0));
    assert_eq!(ratio(&group("b")), (1.0, 1.0));
    assert_eq!(ratio(&group("c")), (0.0, 1.0));
    assert_eq!(reason(&group("ghost")), UndefinedReason::ZeroDenominator);
}

/// CRM users and their events around March's edges.
fn user_records() -> Vec<Record> {
    use UserEventKind::{FeatureUse, Login};
    vec![
        // u1: licensed, two logins (one exactly at P.start).
        user("u1", true, at(1, 1, 0), None),
        user_event("e1", "u1", Login, ymd(2026, 3, 1)),
        user_event("e2", "u1", Login, at(3, 20, 0)),
        // u2: licensed, one feature use.
        user("u2", true, at(1, 1, 0), None),
        user_event("e3", "u2", FeatureUse, at(3, 10, 0)),
        // u3: licensed, only an event exactly at P.end (outside).
        user("u3", true, at(2, 1, 0), None),
        user_event("e4", "u3", Login, ymd(2026, 4, 1)),
        // u4: unlicensed with a login → not in the adoption rate, but an active user.
        user("u4", false, at(1, 1, 0), None),
        user_event("e5", "u4", Login, at(3, 11, 0)),
        // u5: licensed, deactivated exactly at P.start → not active during March.
        user("u5", true, at(1, 1, 0), Some(ymd(2026, 3, 1))),
        // u6: licensed, created exactly at P.end → not active during March.
        user("u6", true, ymd(2026, 4, 1), None),
        // u7: licensed, deactivated in mid-March after using the CRM.
        user("u7", true, at(1, 1, 0), Some(at(3, 15, 0))),
        user_event("e6", "u7", FeatureUse, at(3, 14, 0)),
    ]
}

#[test]
fn user_adoption_rate_hand_vector() {
    // Licensed and active during March: u1, u2, u3, u7 = 4; with an event in March: u1, u2,
    // u7 → 3/4.
    let report = run(
        user_records(),
        &request(MetricQuery::new("user_adoption_rate"), march()),
    );
    assert_eq!(ratio(&report.total), (3.0, 4.0));
    assert_eq!(
        report.total.components,
        vec![
            Component::count("licensed_users", 4),
            Component::count("adopting_users", 3),
        ]
    );
    // As of Mar 5: u7 is not yet deactivated (still licensed and active); only e1 exists
    // → u1 → 1/4.
    let mut req = request(MetricQuery::new("user_adoption_rate"), march());
    req.as_of = at(3, 5, 0);
    assert_eq!(ratio(&run(user_records(), &req).total), (1.0, 4.0));
    let empty = run(
        Vec::new(),
        &request(MetricQuery::new("user_adoption_rate"), march()),
    );
    assert_eq!(reason(&empty.total), UndefinedReason::ZeroDenominator);
}

#[test]
fn active_users_and_crm_logins_hand_vector() {
    // March events: e1, e2 (u1), e3 (u2), e5 (u4), e6 (u7); e4 is at P.end.
    // Active users: u1, u2, u4, u7 = 4 (5 events). Logins: e1, e2, e5 = 3, by u1 and u4.
    let report = run(
        user_records(),
        &request(MetricQuery::new("active_users"), march()),
    );
    assert_eq!(count(&report.total), 4);
    assert_eq!(
        report.total.components,
        vec![Component::count("user_events", 5)]
    );
    let logins = run(
        user_records(),
        &request(MetricQuery::new("crm_logins"), march()),
    );
    assert_eq!(count(&logins.total), 3);
    assert_eq!(
        logins.total.components,
        vec![Component::count("users_logged_in", 2)]
    );
    // An empty window is a count of 0, not undefined.
    for id in ["active_users", "crm_logins"] {
        let report = run(Vec::new(), &request(MetricQuery::new(id), march()));
        assert_eq!(count(&report.total), 0, "{id}");
    }
}

#[test]
fn daily_active_users_series() {
    // Mar 1–4 by day. Mar 1: u1 (twice), u2 → 2. Mar 2: none → 0. Mar 3: u1 → 1.
    // Window total: u1, u2 → 2 (distinct over the window, not a sum of days). Logins: 3.
    use UserEventKind::{FeatureUse, Login};
    let records = vec![
        user_event("a", "u1", Login, at(3, 1, 8)),
        user_event("b", "u1", FeatureUse, at(3, 1, 9)),
        user_event("c", "u2", Login, at(3, 1, 23)),
        user_event("d", "u1", Login, at(3, 3, 0)),
    ];
    let mut req = request(
        MetricQuery::new("active_users"),
        window(ymd(2026, 3, 1), ymd(2026, 3, 4)),
    );
    req.granularity = Granularity::Day;
    let report = run(records.clone(), &req);
    let daily: Vec<u64> = report.series.iter().map(|p| count(&p.result)).collect();
    assert_eq!(daily, vec![2, 0, 1]);
    assert_eq!(count(&report.total), 2);
    req.metrics = vec![MetricQuery::new("crm_logins")];
    let logins = run(records, &req);
    let daily: Vec<u64> = logins.series.iter().map(|p| count(&p.result)).collect();
    assert_eq!(daily, vec![2, 0, 1]);
    assert_eq!(count(&logins.total), 3);
}

#[test]
fn monthly_active_users_series() {
    // Q1 by month: Jan u1, u2 → 2; Feb u2 → 1; Mar none → 0; Q1 distinct u1, u2 → 2.
    let records = vec![
        user_event("a", "u1", UserEventKind::Login, at(1, 5, 0)),
        user_event("b", "u2", UserEventKind::Login, at(1, 6, 0)),
        user_event("c", "u2", UserEventKind::Login, at(2, 6, 0)),
    ];
    let mut req = request(
        MetricQuery::new("active_users"),
        window(ymd(2026, 1, 1), ymd(2026, 4, 1)),
    );
    req.granularity = Granularity::Month;
    let report = run(records, &req);
    let monthly: Vec<u64> = report.series.iter().map(|p| count(&p.result)).collect();
    assert_eq!(monthly, vec![2, 1, 0]);
    assert_eq!(count(&report.total), 2);
}

fn routine_records() -> Vec<Record> {
    vec![
        activity("t", ActivityType::Task, at(3, 2, 0), Some(600)),
        activity("n", ActivityType::Note, at(3, 3, 0), Some(300)),
        // Exactly at P.start: inside.
        activity("d", ActivityType::DataEntry, ymd(2026, 3, 1), Some(900)),
        activity("c", ActivityType::Call, at(3, 4, 0), Some(1200)),
        activity("e", ActivityType::Email, at(3, 5, 0), None),
        activity("t2", ActivityType::Task, at(3, 6, 0), None),
        // Exactly at P.end: outside.
        activity("t3", ActivityType::Task, ymd(2026, 4, 1), Some(1000)),
    ]
}

#[test]
fn routine_task_time_default_types() {
    // Routine with a duration: 600 + 300 + 900 = 1800 s over 3 activities (mean 600, median
    // rank 2 → 600, p90 rank 3 → 900). All logged: 1800 + 1200 = 3000 s → share 0.6.
    // Without a duration: e, t2 = 2, of which routine t2 = 1.
    let report = run(
        routine_records(),
        &request(MetricQuery::new("routine_task_time"), march()),
    );
    let s = stats(&report.total);
    assert_eq!(
        (s.count, s.total_seconds, s.mean_seconds),
        (3, 1800.0, 600.0)
    );
    assert_eq!((s.median_seconds, s.p90_seconds), (600.0, 900.0));
    assert_eq!(
        report.total.components,
        vec![
            Component::seconds("logged_seconds", 3000.0),
            Component::count("routine_without_duration", 1),
            Component::count("without_duration", 2),
            Component::number("share_of_logged_time", 0.6),
        ]
    );
}

#[test]
fn routine_task_time_parameter_and_as_of() {
    // routine_types = [CALL]: 1200 s of 3000 s → share 0.4; no CALL lacks a duration.
    let calls = MetricQuery::new("routine_task_time")
        .parameter("routine_types", ParamValue::List(vec!["CALL".to_owned()]));
    let report = run(routine_records(), &request(calls, march()));
    assert_eq!(stats(&report.total).total_seconds, 1200.0);
    assert_eq!(
        component(&report.total, "share_of_logged_time"),
        Component::number("share_of_logged_time", 0.4)
    );
    assert_eq!(
        component(&report.total, "routine_without_duration"),
        Component::count("routine_without_duration", 0)
    );
    // As of Mar 2 12:00: d (900) and t (600) exist → routine 1500 of 1500 → share 1.
    let mut req = request(MetricQuery::new("routine_task_time"), march());
    req.as_of = at(3, 2, 12);
    let report = run(routine_records(), &req);
    assert_eq!(stats(&report.total).total_seconds, 1500.0);
    assert_eq!(
        component(&report.total, "share_of_logged_time"),
        Component::number("share_of_logged_time", 1.0)
    );
}

#[test]
fn routine_task_time_without_routine_durations_is_undefined() {
    // Only a CALL and a TASK without a duration: no routine duration → NO_DATA, components kept.
    let records = vec![
        activity("c", ActivityType::Call, at(3, 4, 0), Some(1200)),
        activity("t", ActivityType::Task, at(3, 6, 0), None),
    ];
    let report = run(
        records,
        &request(MetricQuery::new("routine_task_time"), march()),
    );
    assert_eq!(reason(&report.total), UndefinedReason::NoData);
    assert_eq!(
        component(&report.total, "routine_without_duration"),
        Component::count("routine_without_duration", 1)
    );
}

#[test]
fn routine_types_are_validated() {
    let query = MetricQuery::new("routine_task_time").parameter(
        "routine_types",
        ParamValue::List(vec!["TASK".to_owned(), "LUNCH".to_owned()]),
    );
    let found = problems(query);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].field, "metrics[0].parameters[routine_types]");
    assert!(found[0].description.contains("'LUNCH'"));
    assert!(
        found[0]
            .description
            .contains("CALL, EMAIL, MEETING, TASK, NOTE, DATA_ENTRY, OTHER")
    );
    let empty = MetricQuery::new("routine_task_time")
        .parameter("routine_types", ParamValue::List(Vec::new()));
    assert_eq!(problems(empty).len(), 1);
}

#[test]
fn plans_read_every_kind_needed() {
    let span = march();
    let as_of = ymd(2100, 1, 1);
    let plan = CustomerEngagement.plan(
        &Settings::defaults(&CUSTOMER_ENGAGEMENT_RATE.definition),
        span,
        as_of,
    );
    assert_eq!(
        plan.kinds.keys().copied().collect::<Vec<_>>(),
        vec![RecordKind::Customer, RecordKind::EngagementEvent]
    );
    let adoption = UserActivity { users: true }.plan(
        &Settings::defaults(&USER_ADOPTION_RATE.definition),
        span,
        as_of,
    );
    assert_eq!(
        adoption.kinds.get(&RecordKind::CrmUser),
        Some(&crate::dataset::KindRead::All)
    );
    assert!(adoption.kinds.contains_key(&RecordKind::UserEvent));
    let events = UserActivity { users: false }.plan(
        &Settings::defaults(&ACTIVE_USERS.definition),
        span,
        as_of,
    );
    assert_eq!(
        events.kinds.keys().copied().collect::<Vec<_>>(),
        vec![RecordKind::UserEvent]
    );
}

fn arb_engagement() -> impl Strategy<Value = Record> {
    (
        0u8..3,
        arb_time(),
        prop::option::of(0i64..3000),
        0u8..6,
        0u32..1000,
    )
        .prop_map(|(kind, t, churn_after, who, id)| match kind {
            0 => customer(
                &format!("c{who}"),
                t,
                churn_after.map(|h| t + Duration::hours(h)),
            ),
            _ => event(&format!("e{id}"), &format!("c{who}"), t),
        })
}

fn arb_user_record() -> impl Strategy<Value = Record> {
    (
        0u8..4,
        arb_time(),
        prop::option::of(0i64..3000),
        any::<bool>(),
        0u8..6,
        0u32..1000,
    )
        .prop_map(|(kind, t, deactivate_after, flag, who, id)| match kind {
            0 => user(
                &format!("u{who}"),
                flag,
                t,
                deactivate_after.map(|h| t + Duration::hours(h)),
            ),
            _ => {
                let kind = if flag {
                    UserEventKind::Login
                } else {
                    UserEventKind::FeatureUse
                };
                user_event(&format!("e{id}"), &format!("u{who}"), kind, t)
            }
        })
}

fn arb_activity() -> impl Strategy<Value = Record> {
    (
        0usize..7,
        arb_time(),
        prop::option::of(0i64..10_000),
        0u32..1000,
    )
        .prop_map(|(kind, t, seconds, id)| {
            activity(&format!("a{id}"), ActivityType::ALL[kind], t, seconds)
        })
}

proptest! {
    #[test]
    fn engagement_states_merge_exactly(
        customers in prop::collection::vec(arb_engagement(), 0..40),
        users in prop::collection::vec(arb_user_record(), 0..40),
        activities in prop::collection::vec(arb_activity(), 0..30),
        split in 0usize..110,
        rotate in 0usize..110,
        start_month in 1u32..12,
    ) {
        let period = Period {
            window: window(at(start_month, 1, 0), at(start_month + 1, 1, 0)),
            as_of: ymd(2100, 1, 1),
            time_zone: chrono_tz::UTC,
        };
        let mut records = customers;
        records.extend(users);
        records.extend(activities);
        assert_merge_property(&CUSTOMER_ENGAGEMENT_RATE, &Settings::defaults(&CUSTOMER_ENGAGEMENT_RATE.definition), period, &records, split, rotate);
        assert_merge_property(&USER_ADOPTION_RATE, &Settings::defaults(&USER_ADOPTION_RATE.definition), period, &records, split, rotate);
        assert_merge_property(&ACTIVE_USERS, &Settings::defaults(&ACTIVE_USERS.definition), period, &records, split, rotate);
        assert_merge_property(&CRM_LOGINS, &Settings::defaults(&CRM_LOGINS.definition), period, &records, split, rotate);
        assert_merge_property(&ROUTINE_TASK_TIME, &Settings::defaults(&ROUTINE_TASK_TIME.definition), period, &records, split, rotate);
    }
}

#[test]
fn a_routine_duration_beyond_64_bit_microseconds_is_an_overflow() {
    // i64::MAX seconds cannot be held in microseconds: an error, never a value a million times
    // too small.
    let mut records = routine_records();
    records.push(activity(
        "huge",
        ActivityType::Task,
        ymd(2026, 3, 9),
        Some(i64::MAX),
    ));
    let prepared =
        crate::eval::prepare(&request(MetricQuery::new("routine_task_time"), march())).unwrap();
    let dataset = crate::dataset::Dataset::from_records(records);
    let error = prepared.evaluate(&dataset, None).unwrap_err();
    assert!(
        matches!(&error, EvalError::Overflow { metric } if metric.starts_with("routine_task_time")),
        "{error:?}"
    );
}
