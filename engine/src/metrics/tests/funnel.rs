//! Unit tests of the `funnel` family: hand-computed vectors and the merge property.

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::calendar::Granularity;
use crate::context::Lookup;
use crate::dataset::{KindRead, TimeBound};
use crate::dimension::Dimension;
use crate::eval::{Family, MetricReport, Period, prepare, state_of};
use crate::metrics::test_support::*;
use crate::query::{MetricQuery, ParamValue};
use crate::records::{DealStatus, Record, RecordKind, StageEntry};
use crate::value::DurationStats;
use crate::view::View;

fn qualified(id: &str, created: Timestamp, t: Timestamp) -> Record {
    edit_sales_lead(lead(id, created), |l| l.qualified_time = Some(t))
}

fn converted(id: &str, created: Timestamp, t: Timestamp) -> Record {
    edit_sales_lead(lead(id, created), |l| l.converted_time = Some(t))
}

/// A deal created 2026-01-01 with the given stage history (and close, for WON/LOST).
fn staged(
    id: &str,
    history: &[(&str, Timestamp)],
    status: DealStatus,
    closed: Option<Timestamp>,
) -> Record {
    edit_sales_deal(deal(id, status, at(1, 1, 0), closed, 100), |d| {
        d.stage_history = history
            .iter()
            .map(|(stage, t)| StageEntry {
                stage: (*stage).into(),
                entered_time: *t,
            })
            .collect();
        if let Some(last) = history.last() {
            d.stage = last.0.into();
        }
    })
}

fn open_staged(id: &str, history: &[(&str, Timestamp)]) -> Record {
    staged(id, history, DealStatus::Open, None)
}

fn qualification_records() -> Vec<Record> {
    vec![
        qualified("q1", at(3, 1, 0), at(3, 2, 0)), // window start, qualified
        converted("q2", at(3, 2, 0), at(3, 5, 0)), // converted without qualification
        lead("q3", at(3, 3, 0)),                   // nothing
        qualified("q4", at(3, 4, 0), at(3, 20, 0)), // qualified on 03-20
        edit_sales_lead(lead("q7", at(3, 5, 0)), |l| {
            l.disqualified_time = Some(at(3, 6, 0));
        }), // disqualified: not qualified
        qualified("q5", at(4, 1, 0), at(4, 2, 0)), // created at the window end: outside
        qualified("q6", at(2, 28, 23), at(3, 1, 0)), // created before March: outside
    ]
}

#[test]
fn lead_qualification_rate_cohort_and_as_of() {
    // Cohort {q1, q2, q3, q4, q7}: qualified or converted q1, q2, q4 → 3/5.
    let query = MetricQuery::new("lead_qualification_rate");
    let report = run(qualification_records(), &request(query.clone(), march()));
    assert_eq!(report.total.value, expected_ratio(3.0, 5.0));
    assert_eq!(
        report.total.components,
        vec![
            Component::count("leads_created", 5),
            Component::count("qualified", 3)
        ]
    );
    // as_of 03-10: q4's qualification (03-20) has not happened → 2/5.
    let mut req = request(query.clone(), march());
    req.as_of = at(3, 10, 0);
    assert_eq!(
        run(qualification_records(), &req).total.value,
        expected_ratio(2.0, 5.0)
    );
    // No lead created in the window → ZERO_DENOMINATOR.
    let empty = run(vec![lead("x", at(2, 1, 0))], &request(query, march()));
    assert_eq!(reason(&empty), UndefinedReason::ZeroDenominator);
}

#[test]
fn lead_qualification_rate_series_and_groups() {
    // Q1 by month. Jan: j1 (web, qualified), j2 (referral, no) → 1/2; Feb: f1 (web, converted
    // in March) → 1/1; Mar: none → ZERO_DENOMINATOR. Total 2/3; referral 0/1, web 2/2.
    let source = |record, s: &str| edit_sales_lead(record, |l| l.source = Some(s.into()));
    let records = vec![
        source(qualified("j1", at(1, 5, 0), at(1, 6, 0)), "web"),
        source(lead("j2", at(1, 7, 0)), "referral"),
        source(converted("f1", at(2, 5, 0), at(3, 6, 0)), "web"),
    ];
    let mut req = request(
        MetricQuery::new("lead_qualification_rate"),
        window(ymd(2026, 1, 1), ymd(2026, 4, 1)),
    );
    req.granularity = Granularity::Month;
    req.group_by = vec![Dimension::LeadSource];
    let report = run(records, &req);
    assert_eq!(report.total.value, expected_ratio(2.0, 3.0));
    assert_eq!(report.series[0].result.value, expected_ratio(1.0, 2.0));
    assert_eq!(report.series[1].result.value, expected_ratio(1.0, 1.0));
    let march_point = report.series[2].result.value.as_ref().unwrap_err();
    assert_eq!(march_point.reason, UndefinedReason::ZeroDenominator);
    assert_eq!(report.groups[0].key, vec![Some("referral".to_owned())]);
    assert_eq!(report.groups[0].total.value, expected_ratio(0.0, 1.0));
    assert_eq!(report.groups[1].key, vec![Some("web".to_owned())]);
    assert_eq!(report.groups[1].total.value, expected_ratio(2.0, 2.0));
}

fn stages_query(stages: &[&str]) -> MetricQuery {
    MetricQuery::new("funnel_conversion").parameter(
        "stages",
        ParamValue::List(stages.iter().map(|s| (*s).to_owned()).collect()),
    )
}

fn funnel_records() -> Vec<Record> {
    vec![
        // d1: every stage in March, entering lead at the window start.
        open_staged(
            "d1",
            &[
                ("lead", at(3, 1, 0)),
                ("demo", at(3, 5, 0)),
                ("proposal", at(3, 10, 0)),
            ],
        ),
        // d2: demo only in April (after the window, before as_of): lead advanced.
        open_staged("d2", &[("lead", at(3, 2, 0)), ("demo", at(4, 3, 0))]),
        open_staged("d3", &[("lead", at(3, 3, 0))]),
        // d4: entered lead in February; demo in March, no further.
        open_staged("d4", &[("lead", at(2, 20, 0)), ("demo", at(3, 4, 0))]),
        // d5: skipped demo: lead not advanced; proposal entered.
        open_staged("d5", &[("lead", at(3, 6, 0)), ("proposal", at(3, 7, 0))]),
        // d6: demo just before the window end; lead at the end (outside).
        open_staged("d6", &[("demo", at(3, 31, 23)), ("lead", at(4, 1, 0))]),
        open_staged("d7", &[("lead", at(4, 1, 0))]),
        // d8: re-enters lead and demo: counted once per stage; lead advanced, demo not.
        open_staged(
            "d8",
            &[
                ("lead", at(3, 8, 0)),
                ("demo", at(3, 9, 0)),
                ("lead", at(3, 12, 0)),
                ("demo", at(3, 15, 0)),
            ],
        ),
    ]
}

fn breakdown(report: &MetricReport) -> Vec<BreakdownEntry> {
    match report.total.value.clone() {
        Ok(Value::Breakdown(entries)) => entries,
        other => panic!("not a breakdown: {other:?}"),
    }
}

fn ratio_value(numerator: f64, denominator: f64) -> Option<Value> {
    expected_ratio(numerator, denominator).ok()
}

#[test]
fn funnel_conversion_per_stage() {
    // lead: entered d1, d2, d3, d5, d8 = 5, advanced to demo d1, d2, d8 = 3 → 3/5.
    // demo: entered d1, d4, d6, d8 = 4, advanced to proposal d1 = 1 → 1/4.
    // proposal (last): entered d1, d5 → Count(2). Deals entering any stage: 7.
    let query = stages_query(&["lead", "demo", "proposal"]);
    let report = run(funnel_records(), &request(query.clone(), march()));
    assert_eq!(report.total.components, vec![Component::count("deals", 7)]);
    let entries = breakdown(&report);
    let pair = |entered, advanced| {
        vec![
            Component::count("entered", entered),
            Component::count("advanced", advanced),
        ]
    };
    assert_eq!(
        entries,
        vec![
            BreakdownEntry {
                key: "lead".to_owned(),
                value: ratio_value(3.0, 5.0),
                components: pair(5, 3),
            },
            BreakdownEntry {
                key: "demo".to_owned(),
                value: ratio_value(1.0, 4.0),
                components: pair(4, 1),
            },
            BreakdownEntry {
                key: "proposal".to_owned(),
                value: Some(Value::Count(2)),
                components: vec![Component::count("entered", 2)],
            },
        ]
    );
    // as_of 03-31 12:00: d2's demo (04-03) and d6's demo (03-31 23:00) have not happened:
    // lead 2/5, demo entered d1, d4, d8 → 1/3.
    let mut req = request(query, march());
    req.as_of = at(3, 31, 12);
    let entries = breakdown(&run(funnel_records(), &req));
    assert_eq!(entries[0].value, ratio_value(2.0, 5.0));
    assert_eq!(entries[1].value, ratio_value(1.0, 3.0));
    // Stage order matters: [demo, lead]: demo entered 4 (d1, d4, d6, d8), of which d6 (04-01)
    // and d8 (03-12) later entered lead → 2/4; lead (last) 5.
    let entries = breakdown(&run(
        funnel_records(),
        &request(stages_query(&["demo", "lead"]), march()),
    ));
    assert_eq!(entries[0].value, ratio_value(2.0, 4.0));
    assert_eq!(entries[1].value, Some(Value::Count(5)));
}

#[test]
fn funnel_conversion_empty_stage_and_no_data() {
    // [lead, negotiation]: nobody entered negotiation → lead 0/5; negotiation Count(0).
    // [negotiation, lead]: negotiation entered 0 → no value.
    let entries = breakdown(&run(
        funnel_records(),
        &request(stages_query(&["negotiation", "lead"]), march()),
    ));
    assert_eq!(entries[0].value, None);
    assert_eq!(entries[0].components[0], Component::count("entered", 0));
    assert_eq!(entries[1].value, Some(Value::Count(5)));
    let entries = breakdown(&run(
        funnel_records(),
        &request(stages_query(&["lead", "negotiation"]), march()),
    ));
    assert_eq!(entries[0].value, ratio_value(0.0, 5.0));
    assert_eq!(entries[1].value, Some(Value::Count(0)));
    // No deal entered any stage in February's first week → NO_DATA.
    let report = run(
        funnel_records(),
        &request(
            stages_query(&["lead", "demo"]),
            window(at(2, 1, 0), at(2, 8, 0)),
        ),
    );
    assert_eq!(reason(&report), UndefinedReason::NoData);
}

#[test]
fn funnel_conversion_requires_stages() {
    // Missing, empty and repeated stage lists are validation problems at the parameter.
    for query in [
        MetricQuery::new("funnel_conversion"),
        stages_query(&[]),
        stages_query(&["lead", "demo", "lead"]),
    ] {
        let problems = prepare(&request(query, march())).err().unwrap();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "metrics[0].parameters[stages]");
    }
    // A state finalized without the parameter (engine-internal use) is MISSING_PARAMETER.
    let settings = Settings::defaults(&FUNNEL_CONVERSION.definition);
    let view = View::default();
    let lookup = Lookup::new(&view);
    let period = Period {
        window: march(),
        as_of: ymd(2100, 1, 1),
        time_zone: chrono_tz::UTC,
    };
    let ctx = FoldContext::new(&settings, period, &lookup);
    let state = state_of(&FUNNEL_CONVERSION, &ctx, &[]);
    let result = FUNNEL_CONVERSION.finalize(&ctx, &state).unwrap();
    assert_eq!(
        result.value.unwrap_err().reason,
        UndefinedReason::MissingParameter
    );
}

fn duration_records() -> Vec<Record> {
    vec![
        // d1: lead 2 d, demo 7 d, proposal 2 d (until the win on 03-12).
        staged(
            "d1",
            &[
                ("lead", at(3, 1, 0)),
                ("demo", at(3, 3, 0)),
                ("proposal", at(3, 10, 0)),
            ],
            DealStatus::Won,
            Some(at(3, 12, 0)),
        ),
        // d2: lead from 02-25 ends at the window start (4 d); its demo visit is still open.
        open_staged("d2", &[("lead", at(2, 25, 0)), ("demo", at(3, 1, 0))]),
        // d3: lead ends at the window end (outside); the demo visit ends on 04-02 (outside).
        staged(
            "d3",
            &[("lead", at(3, 20, 0)), ("demo", at(4, 1, 0))],
            DealStatus::Lost,
            Some(at(4, 2, 0)),
        ),
        // d4: lead until the loss at 03-31 23:00 (6 d 23 h).
        staged(
            "d4",
            &[("lead", at(3, 25, 0))],
            DealStatus::Lost,
            Some(at(3, 31, 23)),
        ),
        open_staged("d5", &[("lead", at(3, 5, 0))]), // still open: no visit ended
    ]
}

fn stats(hours: &[f64]) -> DurationStats {
    // Nearest-rank: median rank ceil(n/2), p90 rank ceil(0.9 n) over the sorted values.
    let mut seconds: Vec<f64> = hours.iter().map(|h| h * 3_600.0).collect();
    seconds.sort_by(f64::total_cmp);
    let n = seconds.len();
    let rank = |p: f64| ((p * n as f64).ceil() as usize).max(1) - 1;
    let total: f64 = seconds.iter().sum();
    DurationStats {
        count: n as u64,
        total_seconds: total,
        mean_seconds: total / n as f64,
        median_seconds: seconds[rank(0.5)],
        p90_seconds: seconds[rank(0.9)],
        min_seconds: seconds[0],
        max_seconds: seconds[n - 1],
    }
}

fn entry(key: &str, hours: &[f64]) -> BreakdownEntry {
    BreakdownEntry {
        key: key.to_owned(),
        value: Some(Value::Duration(stats(hours))),
        components: vec![Component::count("visits", hours.len() as u64)],
    }
}

#[test]
fn stage_duration_per_stage() {
    // lead: d1 48 h, d2 96 h, d4 167 h → median rank 2 = 96 h, p90 rank 3 = 167 h;
    // demo: d1 168 h; proposal: d1 48 h. Sorted by stage name.
    let report = run(
        duration_records(),
        &request(MetricQuery::new("stage_duration"), march()),
    );
    assert_eq!(
        breakdown(&report),
        vec![
            entry("demo", &[168.0]),
            entry("lead", &[48.0, 96.0, 167.0]),
            entry("proposal", &[48.0]),
        ]
    );
    assert_eq!(stats(&[48.0, 96.0, 167.0]).median_seconds, 96.0 * 3_600.0);
    assert_eq!(report.total.components, vec![Component::count("visits", 5)]);
    // as_of 03-11: d1's win (03-12) has not happened, so its proposal visit is open; d4's
    // entry (03-25) and loss have not happened. lead: d1, d2; demo: d1.
    let mut req = request(MetricQuery::new("stage_duration"), march());
    req.as_of = at(3, 11, 0);
    assert_eq!(
        breakdown(&run(duration_records(), &req)),
        vec![entry("demo", &[168.0]), entry("lead", &[48.0, 96.0])]
    );
    // April: d3's lead visit ends at 04-01 00:00 (12 d) and its demo visit at 04-02 (1 d).
    let april = window(ymd(2026, 4, 1), ymd(2026, 5, 1));
    assert_eq!(
        breakdown(&run(
            duration_records(),
            &request(MetricQuery::new("stage_duration"), april)
        )),
        vec![entry("demo", &[24.0]), entry("lead", &[288.0])]
    );
    // Nothing ended in February's first week → NO_DATA.
    let report = run(
        duration_records(),
        &request(
            MetricQuery::new("stage_duration"),
            window(at(2, 1, 0), at(2, 8, 0)),
        ),
    );
    assert_eq!(reason(&report), UndefinedReason::NoData);
}

#[test]
fn stage_metrics_group_by_deal_type() {
    // Only d1 is an upsell: grouped by deal_type, the upsell group holds d1's three visits.
    let records: Vec<Record> = duration_records()
        .into_iter()
        .map(|r| {
            edit_sales_deal(r, |d| {
                if d.meta.id == "d1" {
                    d.deal_type = crate::records::DealType::Upsell;
                }
            })
        })
        .collect();
    let mut req = request(MetricQuery::new("stage_duration"), march());
    req.group_by = vec![Dimension::DealType];
    let report = run(records, &req);
    assert_eq!(report.groups.len(), 2);
    assert_eq!(report.groups[1].key, vec![Some("upsell".to_owned())]);
    assert_eq!(
        report.groups[1].total.components,
        vec![Component::count("visits", 3)]
    );
}

#[test]
fn plans_read_the_needed_ranges() {
    let plan = |query| prepare(&request(query, march())).unwrap().plan(None).kinds;
    let leads = plan(MetricQuery::new("lead_qualification_rate"));
    let in_march = TimeBound {
        field: TimeField::LeadCreated,
        from: Some(march().start),
        until: Some(march().end),
    };
    assert_eq!(leads[&RecordKind::Lead], KindRead::AnyOf(vec![in_march]));
    let created_before_end = KindRead::AnyOf(vec![TimeBound {
        field: TimeField::DealCreated,
        from: None,
        until: Some(march().end),
    }]);
    for query in [stages_query(&["lead"]), MetricQuery::new("stage_duration")] {
        assert_eq!(plan(query)[&RecordKind::Deal], created_before_end);
    }
}

fn arb_lead() -> impl Strategy<Value = Record> {
    (
        0u8..10,
        arb_time(),
        prop::option::of(0i64..2000),
        prop::option::of(0i64..2000),
    )
        .prop_map(|(id, created, qualified, converted)| {
            edit_sales_lead(lead(&format!("l{id}"), created), |l| {
                l.qualified_time = qualified.map(|h| created + Duration::hours(h));
                l.converted_time = converted.map(|h| created + Duration::hours(h));
            })
        })
}

fn arb_staged_deal() -> impl Strategy<Value = Record> {
    (
        0u8..10,
        arb_time(),
        prop::collection::vec((0usize..4, 0i64..500), 0..6),
        0usize..3,
        0i64..500,
    )
        .prop_map(|(id, start, steps, status, close_after)| {
            let names = ["lead", "demo", "proposal", "won"];
            let mut t = start;
            let mut history = Vec::new();
            for (stage, hours) in steps {
                t += Duration::hours(hours);
                history.push((names[stage], t));
            }
            let status = [DealStatus::Open, DealStatus::Won, DealStatus::Lost][status];
            let closed = (status != DealStatus::Open).then(|| t + Duration::hours(close_after));
            edit_sales_deal(staged(&format!("d{id}"), &history, status, closed), |d| {
                d.created_time = start;
            })
        })
}

proptest! {
    #[test]
    fn funnel_states_merge_exactly(
        leads in prop::collection::vec(arb_lead(), 0..20),
        deals in prop::collection::vec(arb_staged_deal(), 0..20),
        split in 0usize..40,
        rotate in 0usize..40,
    ) {
        let mut records = leads;
        records.extend(deals);
        let period = Period { window: window(at(2, 1, 0), at(9, 1, 0)), as_of: at(8, 1, 0), time_zone: chrono_tz::UTC };
        let qualification = Settings::defaults(&LEAD_QUALIFICATION_RATE.definition);
        assert_merge_property(&LEAD_QUALIFICATION_RATE, &qualification, period, &records, split, rotate);
        let stages = Settings::resolve(&FUNNEL_CONVERSION.definition, &stages_query(&["lead", "demo", "proposal"]), "m").unwrap();
        assert_merge_property(&FUNNEL_CONVERSION, &stages, period, &records, split, rotate);
        let durations = Settings::defaults(&STAGE_DURATION.definition);
        assert_merge_property(&STAGE_DURATION, &durations, period, &records, split, rotate);
    }
}
