//! Unit tests of the `leads` family: worked examples, hand-computed vectors, and the merge property.

use proptest::prelude::*;

use super::*;
use crate::calendar::Granularity;
use crate::dataset::{KindRead, TimeBound};
use crate::dimension::Dimension;
use crate::eval::{MetricReport, Period, prepare};
use crate::metrics::test_support::*;
use crate::query::{Filter, MetricQuery, ParamValue};
use crate::records::{ActivityDirection, Record};
use crate::value::{DurationStats, UndefinedReason, Value};

fn converted(id: &str, created: Timestamp, converted: Timestamp) -> Record {
    edit_sales_lead(lead(id, created), |l| l.converted_time = Some(converted))
}

fn responded(id: &str, created: Timestamp, response: Timestamp) -> Record {
    edit_sales_lead(lead(id, created), |l| {
        l.first_response_time = Some(response)
    })
}

fn horizon(days: f64) -> MetricQuery {
    MetricQuery::new("lead_conversion_rate").parameter("horizon_days", ParamValue::Number(days))
}

fn conversion_records() -> Vec<Record> {
    vec![
        converted("l1", at(3, 1, 0), at(3, 5, 0)), // window start, converted after 4 d
        converted("l2", at(3, 2, 0), at(3, 20, 0)), // converted after 18 d
        lead("l3", at(3, 3, 0)),                   // never converted
        converted("l4", at(4, 1, 0), at(4, 2, 0)), // created at the window end: outside
        converted("l5", at(2, 28, 0), at(3, 2, 0)), // created before March: outside
    ]
}

#[test]
fn lead_conversion_rate_cohort_and_horizon() {
    // Cohort {l1, l2, l3}: converted l1, l2 → 2/3.
    let query = MetricQuery::new("lead_conversion_rate");
    let report = run(conversion_records(), &request(query.clone(), march()));
    assert_eq!(report.total.value, expected_ratio(2.0, 3.0));
    // horizon 7 d: l1 (4 d) in, l2 (18 d) after the horizon → 1/3.
    let report = run(conversion_records(), &request(horizon(7.0), march()));
    assert_eq!(report.total.value, expected_ratio(1.0, 3.0));
    assert_eq!(
        report.total.components[2],
        Component::count("converted_after_horizon", 1)
    );
    // horizon exactly 4 d: l1 converted after exactly 4 d is within → 1/3; 3.5 d → 0/3.
    assert_eq!(
        run(conversion_records(), &request(horizon(4.0), march()))
            .total
            .value,
        expected_ratio(1.0, 3.0)
    );
    assert_eq!(
        run(conversion_records(), &request(horizon(3.5), march()))
            .total
            .value,
        expected_ratio(0.0, 3.0)
    );
    // as_of 03-10: l2's conversion on 03-20 has not happened yet → 1/3.
    let mut req = request(query, march());
    req.as_of = at(3, 10, 0);
    assert_eq!(
        run(conversion_records(), &req).total.value,
        expected_ratio(1.0, 3.0)
    );
    // No lead created in the window → ZERO_DENOMINATOR; horizon_days must be positive.
    let empty = run(
        vec![lead("x", at(2, 1, 0))],
        &request(MetricQuery::new("lead_conversion_rate"), march()),
    );
    assert_eq!(reason(&empty), UndefinedReason::ZeroDenominator);
    let problems = prepare(&request(horizon(0.0), march())).err().unwrap();
    assert_eq!(problems[0].field, "metrics[0].parameters[horizon_days]");
}

#[test]
fn lead_conversion_rate_series_groups_and_filters() {
    // Q1 by month. Jan: j1 (web, converted), j2 (referral, not) → 1/2; Feb: f1 (web,
    // converted) → 1/1; Mar: no lead → ZERO_DENOMINATOR. Total 2/3.
    // By lead.source: referral 0/1, web 2/2. Filter source = web: 2/2.
    let source = |record, s: &str| edit_sales_lead(record, |l| l.source = Some(s.into()));
    let records = vec![
        source(converted("j1", at(1, 5, 0), at(1, 6, 0)), "web"),
        source(lead("j2", at(1, 7, 0)), "referral"),
        source(converted("f1", at(2, 5, 0), at(3, 6, 0)), "web"),
    ];
    let mut req = request(
        MetricQuery::new("lead_conversion_rate"),
        window(ymd(2026, 1, 1), ymd(2026, 4, 1)),
    );
    req.granularity = Granularity::Month;
    req.group_by = vec![Dimension::LeadSource];
    let report = run(records.clone(), &req);
    assert_eq!(report.total.value, expected_ratio(2.0, 3.0));
    assert_eq!(report.series[0].result.value, expected_ratio(1.0, 2.0));
    assert_eq!(report.series[1].result.value, expected_ratio(1.0, 1.0));
    let march_point = report.series[2].result.value.as_ref().unwrap_err();
    assert_eq!(march_point.reason, UndefinedReason::ZeroDenominator);
    assert_eq!(report.groups[0].key, vec![Some("referral".to_owned())]);
    assert_eq!(report.groups[0].total.value, expected_ratio(0.0, 1.0));
    assert_eq!(report.groups[1].total.value, expected_ratio(2.0, 2.0));
    req.group_by.clear();
    req.filters = vec![Filter {
        dimension: Dimension::LeadSource,
        values: vec!["web".to_owned()],
        exclude: false,
    }];
    assert_eq!(run(records, &req).total.value, expected_ratio(2.0, 2.0));
}

fn response_records() -> Vec<Record> {
    let outbound = ActivityDirection::Outbound;
    vec![
        responded("I", at(3, 1, 0), at(3, 1, 1)), // at the window start: 1 h
        // A: recorded response 05:00 but an outbound call at 03:00 → 3 h.
        responded("A", at(3, 2, 0), at(3, 2, 5)),
        sales_activity("a1", outbound, at(3, 2, 3), Some("A"), None),
        // B: an inbound call at 01:00 is not a response → recorded 2 h.
        responded("B", at(3, 3, 0), at(3, 3, 2)),
        sales_activity(
            "b1",
            ActivityDirection::Inbound,
            at(3, 3, 1),
            Some("B"),
            None,
        ),
        responded("C", at(3, 4, 0), at(3, 5, 0)), // exactly 24 h: within the SLA
        // D: only an outbound activity, 48 h later.
        lead("D", at(3, 6, 0)),
        sales_activity("d1", outbound, at(3, 8, 0), Some("D"), None),
        lead("E", at(3, 7, 0)), // unanswered, overdue at as_of
        responded("J", at(3, 10, 0), at(4, 2, 0)), // responded after as_of: overdue
        lead("F", at(3, 31, 0)), // unanswered for 12 h: pending
        lead("G", at(3, 30, 12)), // unanswered exactly 24 h: pending
        responded("H", at(2, 28, 23), at(3, 1, 0)), // created before March: outside
    ]
}

fn response(sla_hours: Option<f64>) -> MetricReport {
    let mut query = MetricQuery::new("lead_response_time");
    if let Some(hours) = sla_hours {
        query = query.parameter("sla_hours", ParamValue::Number(hours));
    }
    let mut req = request(query, march());
    req.as_of = at(3, 31, 12);
    run(response_records(), &req)
}

#[test]
fn lead_response_time_with_activities_and_sla() {
    const HOUR: f64 = 3_600.0;
    // Responses [1, 2, 3, 24, 48] h: mean 78/5 = 15.6 h; median rank ceil(2.5) = 3 → 3 h;
    // p90 rank ceil(4.5) = 5 → 48 h. Within 24 h: I, A, B, C = 4; overdue E, J; pending F, G.
    // sla_compliance = 4 / (5 + 2) = 4/7.
    let report = response(None);
    let expected = DurationStats {
        count: 5,
        total_seconds: 78.0 * HOUR,
        mean_seconds: 78.0 * HOUR / 5.0,
        median_seconds: 3.0 * HOUR,
        p90_seconds: 48.0 * HOUR,
        min_seconds: HOUR,
        max_seconds: 48.0 * HOUR,
    };
    assert_eq!(report.total.value, Ok(Value::Duration(expected)));
    assert_eq!(
        report.total.components,
        vec![
            Component::count("responded", 5),
            Component::count("within_sla", 4),
            Component::count("unanswered_overdue", 2),
            Component::count("unanswered_pending", 2),
            Component::count("unanswered", 4),
            Component::seconds("sla", 24.0 * HOUR),
            Component::number("sla_compliance", 4.0 / 7.0),
        ]
    );
    // sla_hours 3: within I, A (exactly 3 h), B = 3; F (12 h) and G (24 h) are now overdue
    // too → overdue 4, pending 0; compliance 3 / (5 + 4) = 1/3.
    let components = response(Some(3.0)).total.components;
    assert_eq!(components[1], Component::count("within_sla", 3));
    assert_eq!(components[2], Component::count("unanswered_overdue", 4));
    assert_eq!(components[3], Component::count("unanswered_pending", 0));
    assert_eq!(
        components[6],
        Component::number("sla_compliance", 3.0 / 9.0)
    );
}

#[test]
fn lead_response_time_edge_cases() {
    // An outbound activity logged before the lead's creation counts as an immediate response.
    let records = vec![
        lead("K", at(3, 5, 0)),
        sales_activity(
            "k1",
            ActivityDirection::Outbound,
            at(3, 4, 0),
            Some("K"),
            None,
        ),
    ];
    let report = run(
        records,
        &request(MetricQuery::new("lead_response_time"), march()),
    );
    let Ok(Value::Duration(stats)) = report.total.value else {
        panic!("{report:?}")
    };
    assert_eq!((stats.count, stats.max_seconds), (1, 0.0));
    // No responded lead → NO_DATA; an unanswered old lead still shows in the components.
    let report = run(
        vec![lead("E", at(3, 7, 0))],
        &request(MetricQuery::new("lead_response_time"), march()),
    );
    assert_eq!(reason(&report), UndefinedReason::NoData);
    assert!(
        report
            .total
            .components
            .contains(&Component::number("sla_compliance", 0.0))
    );
}

#[test]
fn an_outbound_activity_before_the_window_is_a_response_of_zero() {
    // K: created in March, with an outbound call logged in February (before its creation).
    let records = vec![
        lead("K", at(3, 5, 0)),
        sales_activity(
            "k1",
            ActivityDirection::Outbound,
            at(2, 20, 0),
            Some("K"),
            None,
        ),
    ];
    let mut req = request(MetricQuery::new("lead_response_time"), march());
    req.as_of = at(3, 31, 12);
    let everything = run(records.clone(), &req);
    assert_eq!(run_planned(records, &req).total, everything.total);
}

#[test]
fn response_plan_reads_leads_in_the_window_and_every_activity() {
    let prepared = prepare(&request(MetricQuery::new("lead_response_time"), march())).unwrap();
    let kinds = prepared.plan(None).kinds;
    let leads = TimeBound {
        field: TimeField::LeadCreated,
        from: Some(march().start),
        until: Some(march().end),
    };
    assert_eq!(kinds[&RecordKind::Lead], KindRead::AnyOf(vec![leads]));
    assert_eq!(kinds[&RecordKind::Activity], KindRead::All);
}

fn arb_lead() -> impl Strategy<Value = Record> {
    (
        0u8..8,
        arb_time(),
        prop::option::of(0i64..800),
        prop::option::of(0i64..60),
    )
        .prop_map(|(id, created, conversion, response)| {
            edit_sales_lead(lead(&format!("l{id}"), created), |l| {
                l.converted_time = conversion.map(|h| created + Duration::hours(h));
                l.first_response_time = response.map(|h| created + Duration::hours(h));
            })
        })
}

proptest! {
    #[test]
    fn lead_states_merge_exactly(
        leads in prop::collection::vec(arb_lead(), 0..30),
        activities in prop::collection::vec((0u8..8, arb_time(), any::<bool>()), 0..12),
        split in 0usize..40,
        rotate in 0usize..40,
    ) {
        let mut records = leads;
        records.extend(activities.iter().enumerate().map(|(n, (i, t, out))| {
            let direction = if *out { ActivityDirection::Outbound } else { ActivityDirection::Inbound };
            sales_activity(&format!("a{n}"), direction, *t, Some(&format!("l{i}")), None)
        }));
        let period = Period { window: window(at(2, 1, 0), at(9, 1, 0)), as_of: at(7, 1, 0), time_zone: chrono_tz::UTC };
        for query in [MetricQuery::new("lead_conversion_rate"), horizon(10.0)] {
            let settings = Settings::resolve(&LEAD_CONVERSION_RATE.definition, &query, "m").unwrap();
            assert_merge_property(&LEAD_CONVERSION_RATE, &settings, period, &records, split, rotate);
        }
        for hours in [24.0, 5.0] {
            let query = MetricQuery::new("lead_response_time").parameter("sla_hours", ParamValue::Number(hours));
            let settings = Settings::resolve(&LEAD_RESPONSE_TIME.definition, &query, "m").unwrap();
            assert_merge_property(&LEAD_RESPONSE_TIME, &settings, period, &records, split, rotate);
        }
    }
}
