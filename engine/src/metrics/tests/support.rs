//! Unit tests of the `support` family: hand-computed vectors, window edges, `as_of`, series,
//! group-by with the group-to-overall relation, and the merge property.

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::calendar::Granularity;
use crate::catalog::Settings;
use crate::dataset::{ReadPlan, TimeBound};
use crate::dimension::Dimension;
use crate::eval::Period;
use crate::metrics::test_support::*;
use crate::query::MetricQuery;
use crate::records::{Meta, Record};
use crate::value::{DurationStats, UndefinedReason};

const HOUR: f64 = 3600.0;

/// A ticket created at `created`, answered / resolved at the given instants, one contact.
fn ticket(
    id: &str,
    created: Timestamp,
    first_response: Option<Timestamp>,
    resolved: Option<Timestamp>,
) -> Record {
    Record::Ticket(Ticket {
        meta: meta(id),
        customer_id: None,
        created_time: created,
        first_response_time: first_response,
        resolved_time: resolved,
        assignee_id: None,
        channel: "email".into(),
        contact_count: 1,
        reopened: false,
    })
}

/// `record` with `edit` applied when it is a ticket.
fn edit_ticket(mut record: Record, edit: impl FnOnce(&mut Ticket)) -> Record {
    if let Record::Ticket(t) = &mut record {
        edit(t);
    }
    record
}

/// A ticket resolved `hours` after creation at `created`, assigned to `assignee`.
fn resolved(id: &str, created: Timestamp, hours: i64, assignee: &str) -> Record {
    edit_ticket(
        ticket(id, created, None, Some(created + Duration::hours(hours))),
        |t| t.assignee_id = Some(assignee.into()),
    )
}

fn fulfilled_order(id: &str, ordered: Timestamp, fulfilled: Option<Timestamp>) -> Record {
    let mut record = order(id, "c1", ordered, 1000);
    if let Record::Order(o) = &mut record {
        o.fulfilled_time = fulfilled;
    }
    record
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

fn last_of_march() -> Timestamp {
    ymd(2026, 4, 1) - Duration::microseconds(1)
}

#[test]
fn first_response_time_hand_vector_and_window_edges() {
    // In March: a (1 h, created exactly at P.start), b (3 h), c (2 h), d unanswered, e created at
    // the last instant and answered in April (1 h). Outside: f created Feb 28 23:00 and answered
    // in March, g created exactly at P.end.
    // Durations [1, 1, 2, 3] h → count 4, total 7 h, mean 1.75 h, median rank 2 → 1 h,
    // p90 rank ceil(3.6) = 4 → 3 h; unanswered 1.
    let start = ymd(2026, 3, 1);
    let records = vec![
        ticket("a", start, Some(start + Duration::hours(1)), None),
        ticket("b", at(3, 5, 0), Some(at(3, 5, 3)), None),
        ticket("c", at(3, 9, 8), Some(at(3, 9, 10)), Some(at(3, 9, 12))),
        ticket("d", at(3, 20, 0), None, None),
        ticket(
            "e",
            last_of_march(),
            Some(last_of_march() + Duration::hours(1)),
            None,
        ),
        ticket("f", at(2, 28, 23), Some(at(3, 1, 1)), None),
        ticket("g", ymd(2026, 4, 1), Some(at(4, 1, 1)), None),
    ];
    let report = run(
        records,
        &request(MetricQuery::new("first_response_time"), march()),
    );
    let s = stats(&report.total);
    assert_eq!(s.count, 4);
    assert_eq!(s.total_seconds, 7.0 * HOUR);
    assert_eq!(s.mean_seconds, 1.75 * HOUR);
    assert_eq!(s.median_seconds, HOUR);
    assert_eq!(s.p90_seconds, 3.0 * HOUR);
    assert_eq!(
        report.total.components,
        vec![Component::count("unanswered", 1)]
    );
}

#[test]
fn first_response_time_as_of_cutoff() {
    // as_of = March 10 00:00: a (created Mar 5, answered Mar 5 02:00) counts 2 h; b (created
    // Mar 6, answered Mar 12) is still unanswered; c (created Mar 11) does not exist yet.
    // → count 1, mean 2 h, unanswered 1. Without as_of: [2 h, 144 h], unanswered 0.
    let records = vec![
        ticket("a", at(3, 5, 0), Some(at(3, 5, 2)), None),
        ticket("b", at(3, 6, 0), Some(at(3, 12, 0)), None),
        ticket("c", at(3, 11, 0), None, None),
    ];
    let mut req = request(MetricQuery::new("first_response_time"), march());
    req.as_of = at(3, 10, 0);
    let report = run(records.clone(), &req);
    assert_eq!(stats(&report.total).count, 1);
    assert_eq!(stats(&report.total).mean_seconds, 2.0 * HOUR);
    assert_eq!(
        report.total.components,
        vec![Component::count("unanswered", 1)]
    );
    let later = run(
        records,
        &request(MetricQuery::new("first_response_time"), march()),
    );
    assert_eq!(stats(&later.total).count, 2);
    assert_eq!(stats(&later.total).mean_seconds, 73.0 * HOUR);
    assert_eq!(
        later.total.components,
        vec![Component::count("unanswered", 1)]
    );
}

#[test]
fn empty_windows_are_undefined() {
    // Only unanswered tickets: no duration → NO_DATA, unanswered still reported.
    let only_unanswered = vec![ticket("a", at(3, 2, 0), None, None)];
    let report = run(
        only_unanswered,
        &request(MetricQuery::new("first_response_time"), march()),
    );
    assert_eq!(reason(&report.total), UndefinedReason::NoData);
    assert_eq!(
        report.total.components,
        vec![Component::count("unanswered", 1)]
    );
    for id in ["resolution_time", "order_processing_time"] {
        let report = run(Vec::new(), &request(MetricQuery::new(id), march()));
        assert_eq!(reason(&report.total), UndefinedReason::NoData, "{id}");
    }
    // No ticket resolved in March → ZERO_DENOMINATOR for the first-contact rate.
    let unresolved = vec![ticket("a", at(3, 2, 0), Some(at(3, 2, 1)), None)];
    let report = run(
        unresolved,
        &request(MetricQuery::new("first_contact_resolution"), march()),
    );
    assert_eq!(reason(&report.total), UndefinedReason::ZeroDenominator);
}

#[test]
fn resolution_time_window_edges_and_as_of() {
    // a: created Feb 20, resolved exactly at P.start → counts (9 days = 216 h).
    // b: created Mar 10 00:00, resolved Mar 10 05:00 → 5 h.
    // c: resolved exactly at P.end → not in March. d: unresolved → nowhere.
    // → [5 h, 216 h], mean 110.5 h. As of Mar 10 04:00, b is unresolved → [216 h].
    let records = vec![
        ticket("a", at(2, 20, 0), None, Some(ymd(2026, 3, 1))),
        ticket("b", at(3, 10, 0), None, Some(at(3, 10, 5))),
        ticket("c", at(3, 31, 0), None, Some(ymd(2026, 4, 1))),
        ticket("d", at(3, 15, 0), None, None),
    ];
    let report = run(
        records.clone(),
        &request(MetricQuery::new("resolution_time"), march()),
    );
    let s = stats(&report.total);
    assert_eq!((s.count, s.mean_seconds), (2, 110.5 * HOUR));
    let mut req = request(MetricQuery::new("resolution_time"), march());
    req.as_of = at(3, 10, 4);
    let s = stats(&run(records, &req).total);
    assert_eq!((s.count, s.total_seconds), (1, 216.0 * HOUR));
}

#[test]
fn resolution_time_grouped_by_assignee_relates_to_overall_mean() {
    // ann: 2 h and 4 h → mean 3 h; bob: 6 h → mean 6 h; overall: 12 h / 3 = 4 h.
    // ann relative = 3 / 4 = 0.75, bob relative = 6 / 4 = 1.5.
    let records = vec![
        resolved("a1", at(3, 2, 0), 2, "ann"),
        resolved("a2", at(3, 3, 0), 4, "ann"),
        resolved("b1", at(3, 4, 0), 6, "bob"),
    ];
    let mut req = request(MetricQuery::new("resolution_time"), march());
    req.group_by = vec![Dimension::AssigneeId];
    let report = run(records, &req);
    assert_eq!(stats(&report.total).mean_seconds, 4.0 * HOUR);
    assert!(report.total.components.is_empty());
    let keys: Vec<Option<String>> = report.groups.iter().map(|g| g.key[0].clone()).collect();
    assert_eq!(keys, vec![Some("ann".to_owned()), Some("bob".to_owned())]);
    let ann = &report.groups[0].total;
    assert_eq!(stats(ann).mean_seconds, 3.0 * HOUR);
    assert_eq!(
        component(ann, "mean_relative_to_overall"),
        Component::number("mean_relative_to_overall", 0.75)
    );
    assert_eq!(
        component(ann, "overall_mean_seconds"),
        Component::seconds("overall_mean_seconds", 4.0 * HOUR)
    );
    assert_eq!(
        component(&report.groups[1].total, "mean_relative_to_overall"),
        Component::number("mean_relative_to_overall", 1.5)
    );
}

#[test]
fn resolution_time_group_series_relates_to_each_bucket() {
    // Q1 by month, grouped by assignee. Jan: ann 2 h, bob 6 h → overall 4 h; ann 0.5, bob 1.5.
    // Feb: ann 3 h only → overall 3 h, ann 1.0; bob has no data (no relative, overall 3 h).
    // Q1: ann [2, 3] mean 2.5 h, bob 6 h, overall 11/3 h → ann 2.5 / (11/3) = 15/22.
    let records = vec![
        resolved("a1", at(1, 10, 0), 2, "ann"),
        resolved("b1", at(1, 11, 0), 6, "bob"),
        resolved("a2", at(2, 10, 0), 3, "ann"),
    ];
    let mut req = request(
        MetricQuery::new("resolution_time"),
        window(ymd(2026, 1, 1), ymd(2026, 4, 1)),
    );
    req.granularity = Granularity::Month;
    req.group_by = vec![Dimension::AssigneeId];
    let report = run(records, &req);
    let means: Vec<Option<f64>> = report.series.iter().map(|p| p.result.scalar()).collect();
    assert_eq!(means, vec![Some(4.0 * HOUR), Some(3.0 * HOUR), None]);
    let ann = &report.groups[0];
    let relative = |r: &MetricResult| match component(r, "mean_relative_to_overall").value {
        crate::value::ComponentValue::Number(n) => n,
        other => panic!("{other:?}"),
    };
    assert_eq!(relative(&ann.series[0].result), 0.5);
    assert_eq!(relative(&ann.series[1].result), 1.0);
    assert!((relative(&ann.total) - 15.0 / 22.0).abs() < 1e-12);
    let bob_feb = &report.groups[1].series[1].result;
    assert_eq!(reason(bob_feb), UndefinedReason::NoData);
    assert_eq!(
        bob_feb.components,
        vec![Component::seconds("overall_mean_seconds", 3.0 * HOUR)]
    );
    // March: no ticket at all → no overall mean, nothing related.
    assert!(ann.series[2].result.components.is_empty());
}

#[test]
fn first_contact_resolution_hand_vector() {
    // Resolved in March: a (1 contact) ✓, b (1 contact, reopened) ✗, c (2 contacts) ✗,
    // d (1 contact, resolved exactly at P.start) ✓. e resolved at P.end and f unresolved do not
    // count. → 2 / 4; reopened 1.
    let records = vec![
        ticket("a", at(3, 2, 0), None, Some(at(3, 2, 1))),
        edit_ticket(ticket("b", at(3, 3, 0), None, Some(at(3, 4, 0))), |t| {
            t.reopened = true
        }),
        edit_ticket(ticket("c", at(3, 3, 0), None, Some(at(3, 5, 0))), |t| {
            t.contact_count = 2
        }),
        ticket("d", at(2, 27, 0), None, Some(ymd(2026, 3, 1))),
        ticket("e", at(3, 30, 0), None, Some(ymd(2026, 4, 1))),
        ticket("f", at(3, 30, 0), None, None),
    ];
    let report = run(
        records,
        &request(MetricQuery::new("first_contact_resolution"), march()),
    );
    assert_eq!(ratio(&report.total), (2.0, 4.0));
    assert_eq!(
        report.total.components,
        vec![
            Component::count("resolved", 4),
            Component::count("resolved_on_first_contact", 2),
            Component::count("reopened", 1),
        ]
    );
}

#[test]
fn first_contact_resolution_monthly_series_and_as_of() {
    // Jan: a ✓, b ✗ (3 contacts) → 1/2. Feb: c ✓ → 1/1. Mar: d ✓ resolved Mar 20.
    // As of Mar 15, d is unresolved → March ZERO_DENOMINATOR; Q1 total 2/3.
    let records = vec![
        ticket("a", at(1, 5, 0), None, Some(at(1, 6, 0))),
        edit_ticket(ticket("b", at(1, 5, 0), None, Some(at(1, 9, 0))), |t| {
            t.contact_count = 3
        }),
        ticket("c", at(2, 5, 0), None, Some(at(2, 6, 0))),
        ticket("d", at(3, 5, 0), None, Some(at(3, 20, 0))),
    ];
    let mut req = request(
        MetricQuery::new("first_contact_resolution"),
        window(ymd(2026, 1, 1), ymd(2026, 4, 1)),
    );
    req.granularity = Granularity::Month;
    req.as_of = at(3, 15, 0);
    let report = run(records, &req);
    assert_eq!(ratio(&report.series[0].result), (1.0, 2.0));
    assert_eq!(ratio(&report.series[1].result), (1.0, 1.0));
    assert_eq!(
        reason(&report.series[2].result),
        UndefinedReason::ZeroDenominator
    );
    assert_eq!(ratio(&report.total), (2.0, 3.0));
}

#[test]
fn order_processing_time_hand_vector() {
    // a: ordered Mar 1 00:00, fulfilled Mar 2 00:00 → 24 h. b: ordered Feb 25, fulfilled exactly
    // at P.start → 96 h. c: fulfilled exactly at P.end → April. d: unfulfilled → nowhere.
    // → count 2, total 120 h, mean 60 h, median rank 1 → 24 h, p90 rank 2 → 96 h.
    let records = vec![
        fulfilled_order("a", ymd(2026, 3, 1), Some(at(3, 2, 0))),
        fulfilled_order("b", at(2, 25, 0), Some(ymd(2026, 3, 1))),
        fulfilled_order("c", at(3, 30, 0), Some(ymd(2026, 4, 1))),
        fulfilled_order("d", at(3, 3, 0), None),
    ];
    let report = run(
        records.clone(),
        &request(MetricQuery::new("order_processing_time"), march()),
    );
    let s = stats(&report.total);
    assert_eq!(
        (s.count, s.total_seconds, s.mean_seconds),
        (2, 120.0 * HOUR, 60.0 * HOUR)
    );
    assert_eq!(
        (s.median_seconds, s.p90_seconds),
        (24.0 * HOUR, 96.0 * HOUR)
    );
    // As of Mar 1 12:00, a is not fulfilled yet → [96 h].
    let mut req = request(MetricQuery::new("order_processing_time"), march());
    req.as_of = at(3, 1, 12);
    let s = stats(&run(records, &req).total);
    assert_eq!((s.count, s.mean_seconds), (1, 96.0 * HOUR));
}

#[test]
fn plans_read_the_defining_timestamp() {
    let span = march();
    let bound = |field| {
        let mut plan = ReadPlan::default();
        plan.read_bounded(TimeBound {
            field,
            from: Some(span.start),
            until: Some(span.end),
        });
        plan
    };
    let settings = Settings::defaults(&FIRST_RESPONSE_TIME.definition);
    let as_of = ymd(2100, 1, 1);
    assert_eq!(
        FIRST_RESPONSE_TIME.reading.plan(&settings, span, as_of),
        bound(TimeField::TicketCreated)
    );
    assert_eq!(
        RESOLUTION_TIME.reading.plan(&settings, span, as_of),
        bound(TimeField::TicketResolved)
    );
    assert_eq!(
        FIRST_CONTACT_RESOLUTION
            .reading
            .plan(&settings, span, as_of),
        bound(TimeField::TicketResolved)
    );
    assert_eq!(
        ORDER_PROCESSING_TIME.reading.plan(&settings, span, as_of),
        bound(TimeField::OrderFulfilled)
    );
}

fn arb_ticket() -> impl Strategy<Value = Record> {
    (
        arb_time(),
        prop::option::of(0i64..200),
        prop::option::of(0i64..400),
        1u32..4,
        any::<bool>(),
        0u8..3,
        0u32..1000,
    )
        .prop_map(
            |(created, respond, resolve, contacts, reopened, assignee, id)| {
                Record::Ticket(Ticket {
                    meta: Meta {
                        id: format!("t{id}").into(),
                        version: 1,
                        attributes: Default::default(),
                    },
                    customer_id: None,
                    created_time: created,
                    first_response_time: respond.map(|h| created + Duration::hours(h)),
                    resolved_time: resolve.map(|h| created + Duration::hours(h)),
                    assignee_id: Some(format!("u{assignee}").into()),
                    channel: "chat".into(),
                    contact_count: contacts,
                    reopened,
                })
            },
        )
}

fn arb_order() -> impl Strategy<Value = Record> {
    (arb_time(), prop::option::of(0i64..500), 0u32..1000).prop_map(|(ordered, after, id)| {
        fulfilled_order(
            &format!("o{id}"),
            ordered,
            after.map(|h| ordered + Duration::hours(h)),
        )
    })
}

proptest! {
    #[test]
    fn support_states_merge_exactly(
        tickets in prop::collection::vec(arb_ticket(), 0..40),
        orders in prop::collection::vec(arb_order(), 0..20),
        split in 0usize..60,
        rotate in 0usize..60,
        start_month in 1u32..12,
        as_of_day in 1u32..29,
    ) {
        let period = Period {
            window: window(at(start_month, 1, 0), at(start_month + 1, 1, 0)),
            as_of: at(start_month, as_of_day, 0),
            time_zone: chrono_tz::UTC,
        };
        let mut records = tickets;
        records.extend(orders);
        assert_merge_property(&FIRST_RESPONSE_TIME, &Settings::defaults(&FIRST_RESPONSE_TIME.definition), period, &records, split, rotate);
        assert_merge_property(&RESOLUTION_TIME, &Settings::defaults(&RESOLUTION_TIME.definition), period, &records, split, rotate);
        assert_merge_property(&FIRST_CONTACT_RESOLUTION, &Settings::defaults(&FIRST_CONTACT_RESOLUTION.definition), period, &records, split, rotate);
        assert_merge_property(&ORDER_PROCESSING_TIME, &Settings::defaults(&ORDER_PROCESSING_TIME.definition), period, &records, split, rotate);
    }
}
