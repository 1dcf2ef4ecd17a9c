//! Unit tests of the `pipeline` family: worked examples, hand-computed vectors, and the merge property.

use std::collections::BTreeMap;

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::calendar::Granularity;
use crate::dataset::TimeBound;
use crate::dimension::Dimension;
use crate::eval::{Period, prepare};
use crate::metrics::test_support::*;
use crate::query::{Filter, MetricQuery, ParamValue};
use crate::records::{DealStatus, DealType, Record, RecordKind, StageEntry};

fn money(amount: i64) -> Result<Value, crate::value::Undefined> {
    Ok(Value::Money(MoneyValue {
        amount: usd(amount),
        numerator: None,
        denominator: None,
    }))
}

fn open(id: &str, created: Timestamp, amount: i64) -> Record {
    deal(id, DealStatus::Open, created, None, amount)
}

fn with(record: Record, edit: impl FnOnce(&mut Deal)) -> Record {
    edit_sales_deal(record, edit)
}

#[test]
fn pipeline_value_counts_deals_open_at_the_window_end() {
    // March, as_of far away → t = 03-31 23:59:59.999999. Open at t: a (2000, created before
    // March), b (1000), c (500, lost only at 04-01 00:00) → 3500 over 3 deals. Out: d created
    // 04-01 00:00, e won 03-20, f won exactly at t, g (upsell) removed by the filter.
    let last = ymd(2026, 4, 1) - Duration::microseconds(1);
    let records = vec![
        open("a", at(2, 1, 0), 2000),
        open("b", at(3, 10, 0), 1000),
        deal("c", DealStatus::Lost, at(3, 1, 0), Some(at(4, 1, 0)), 500),
        open("d", at(4, 1, 0), 4000),
        deal("e", DealStatus::Won, at(3, 1, 0), Some(at(3, 20, 0)), 8000),
        deal("f", DealStatus::Won, at(1, 1, 0), Some(last), 16000),
        with(open("g", at(3, 1, 0), 32000), |d| {
            d.deal_type = DealType::Upsell
        }),
    ];
    let mut req = request(MetricQuery::new("pipeline_value"), march());
    req.filters = vec![Filter {
        dimension: Dimension::DealType,
        values: vec!["upsell".to_owned()],
        exclude: true,
    }];
    let report = run(records, &req);
    assert_eq!(report.total.value, money(3500));
    assert_eq!(
        report.total.components,
        vec![Component::count("open_deals", 3)]
    );
}

#[test]
fn pipeline_value_as_of_reopens_later_closes() {
    // as_of 03-15 12:00 (inside March) → t = as_of. a won 03-20 is still open (1000); e created
    // exactly at as_of is open (100); b created 03-16 does not exist yet; c won 03-10 and d
    // lost exactly at as_of are closed → 1100.
    let as_of = at(3, 15, 12);
    let records = vec![
        deal("a", DealStatus::Won, at(3, 1, 0), Some(at(3, 20, 0)), 1000),
        open("b", at(3, 16, 0), 2000),
        deal("c", DealStatus::Won, at(3, 1, 0), Some(at(3, 10, 0)), 4000),
        deal("d", DealStatus::Lost, at(3, 1, 0), Some(as_of), 8000),
        open("e", as_of, 100),
    ];
    let mut req = request(MetricQuery::new("pipeline_value"), march());
    req.as_of = as_of;
    assert_eq!(run(records, &req).total.value, money(1100));
    let empty = run(
        Vec::new(),
        &request(MetricQuery::new("pipeline_value"), march()),
    );
    assert_eq!(reason(&empty), UndefinedReason::NoData);
}

#[test]
fn pipeline_value_monthly_series_and_groups() {
    // A (alice, 100): created 01-10, won 02-15. B (bob, 200): created 02-20, open.
    // C (alice, 400): created 03-05, lost 03-06. At each month's last instant:
    // Jan {A} = 100, Feb {B} = 200, Mar {B} = 200; total (03-31) = 200.
    // alice: Jan 100, Feb and Mar nothing open (NO_DATA); bob: Jan NO_DATA, Feb 200, Mar 200.
    let owner = |record, name: &str| with(record, |d| d.owner_id = Some(name.into()));
    let records = vec![
        owner(
            deal("A", DealStatus::Won, at(1, 10, 0), Some(at(2, 15, 0)), 100),
            "alice",
        ),
        owner(open("B", at(2, 20, 0), 200), "bob"),
        owner(
            deal("C", DealStatus::Lost, at(3, 5, 0), Some(at(3, 6, 0)), 400),
            "alice",
        ),
    ];
    let mut req = request(
        MetricQuery::new("pipeline_value"),
        window(ymd(2026, 1, 1), ymd(2026, 4, 1)),
    );
    req.granularity = Granularity::Month;
    req.group_by = vec![Dimension::OwnerId];
    let report = run(records, &req);
    let values = |series: &[crate::eval::SeriesPoint]| -> Vec<_> {
        series.iter().map(|p| p.result.value.clone().ok()).collect()
    };
    assert_eq!(report.total.value, money(200));
    assert_eq!(
        values(&report.series),
        vec![money(100).ok(), money(200).ok(), money(200).ok()]
    );
    assert_eq!(report.groups[0].key, vec![Some("alice".to_owned())]);
    assert_eq!(
        values(&report.groups[0].series),
        vec![money(100).ok(), None, None]
    );
    let alice_total = report.groups[0].total.value.as_ref().unwrap_err();
    assert_eq!(alice_total.reason, UndefinedReason::NoData);
    assert_eq!(
        values(&report.groups[1].series),
        vec![None, money(200).ok(), money(200).ok()]
    );
}

fn stage_map(entries: &[(&str, f64)]) -> ParamValue {
    ParamValue::NumberMap(
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect::<BTreeMap<_, _>>(),
    )
}

#[test]
fn weighted_pipeline_uses_probability_then_stage_default() {
    // stage_probabilities: proposal 50, negotiation 80. Open at 03-31 end:
    // a 1000 × own 25 (beats its stage's 50) = 25000; b 333 × proposal 50 = 16650;
    // c 700 in stage "mystery" → excluded; d 900 was in proposal at t (negotiation only from
    // 04-02) → 900 × 50 = 45000; e is won → not open.
    // (25000 + 16650 + 45000) / 100 = 866.5 → half to even → 866.
    let stage = |record, name: &str| with(record, |d| d.stage = name.into());
    let records = vec![
        with(stage(open("a", at(3, 1, 0), 1000), "proposal"), |d| {
            d.probability_percent = Some(25)
        }),
        stage(open("b", at(3, 1, 0), 333), "proposal"),
        stage(open("c", at(3, 1, 0), 700), "mystery"),
        with(stage(open("d", at(2, 1, 0), 900), "negotiation"), |d| {
            d.stage_history = vec![
                StageEntry {
                    stage: "proposal".into(),
                    entered_time: at(2, 1, 0),
                },
                StageEntry {
                    stage: "negotiation".into(),
                    entered_time: at(4, 2, 0),
                },
            ];
        }),
        deal("e", DealStatus::Won, at(3, 1, 0), Some(at(3, 2, 0)), 5000),
    ];
    let query = MetricQuery::new("weighted_pipeline_value").parameter(
        "stage_probabilities",
        stage_map(&[("proposal", 50.0), ("negotiation", 80.0)]),
    );
    let report = run(records.clone(), &request(query, march()));
    assert_eq!(report.total.value, money(866));
    assert_eq!(
        report.total.components,
        vec![
            Component::count("open_deals", 4),
            Component::count("weighted_deals", 3),
            Component::count("without_probability", 1),
        ]
    );
    // Without stage defaults only a counts: 25000 / 100 = 250; b, c, d are excluded.
    let report = run(
        records,
        &request(MetricQuery::new("weighted_pipeline_value"), march()),
    );
    assert_eq!(report.total.value, money(250));
    assert_eq!(
        report.total.components[2],
        Component::count("without_probability", 3)
    );
    // Nothing with a probability → NO_DATA, the excluded deal still counted.
    let report = run(
        vec![open("c", at(3, 1, 0), 700)],
        &request(MetricQuery::new("weighted_pipeline_value"), march()),
    );
    assert_eq!(reason(&report), UndefinedReason::NoData);
    assert_eq!(
        report.total.components[2],
        Component::count("without_probability", 1)
    );
}

#[test]
fn stage_probabilities_must_be_whole_percents() {
    for bad in [150.0, -1.0, 12.5] {
        let query = MetricQuery::new("weighted_pipeline_value")
            .parameter("stage_probabilities", stage_map(&[("x", bad)]));
        let problems = prepare(&request(query, march())).err().unwrap();
        assert_eq!(
            problems[0].field,
            "metrics[0].parameters[stage_probabilities]"
        );
    }
}

#[test]
fn pipeline_plan_reads_deals_created_before_the_window_end() {
    let prepared = prepare(&request(MetricQuery::new("pipeline_value"), march())).unwrap();
    let bound = TimeBound {
        field: TimeField::DealCreated,
        from: None,
        until: Some(march().end),
    };
    let expected = crate::dataset::KindRead::AnyOf(vec![bound]);
    assert_eq!(prepared.plan(None).kinds[&RecordKind::Deal], expected);
    // Exchange rates are read, whole, only when amounts are converted.
    assert!(
        !prepared
            .plan(None)
            .kinds
            .contains_key(&RecordKind::ExchangeRate)
    );
    let usd = crate::money::Currency::parse("USD").unwrap();
    assert_eq!(
        prepared.plan(Some(usd)).kinds[&RecordKind::ExchangeRate],
        crate::dataset::KindRead::All
    );
}

fn arb_deal() -> impl Strategy<Value = Record> {
    (
        0usize..3,
        arb_time(),
        0i64..3000,
        1i64..100_000,
        prop::option::of(0u32..=100),
        0usize..3,
    )
        .prop_map(|(status, created, hours, amount, probability, stage)| {
            let status = [DealStatus::Open, DealStatus::Won, DealStatus::Lost][status];
            let closed = (status != DealStatus::Open).then(|| created + Duration::hours(hours));
            with(deal("d", status, created, closed, amount), |d| {
                d.probability_percent = probability;
                d.stage = ["proposal", "negotiation", "mystery"][stage].into();
                d.stage_history = vec![StageEntry {
                    stage: "proposal".into(),
                    entered_time: created,
                }];
            })
        })
}

proptest! {
    #[test]
    fn pipeline_states_merge_exactly(records in prop::collection::vec(arb_deal(), 0..40), split in 0usize..40, rotate in 0usize..40) {
        let query = MetricQuery::new("weighted_pipeline_value")
            .parameter("stage_probabilities", stage_map(&[("proposal", 30.0), ("negotiation", 70.0)]));
        let weighted = Settings::resolve(&WEIGHTED_PIPELINE_VALUE.definition, &query, "m").unwrap();
        for as_of in [at(6, 1, 0), ymd(2100, 1, 1)] {
            let period = Period { window: window(at(2, 1, 0), at(9, 1, 0)), as_of, time_zone: chrono_tz::UTC };
            assert_merge_property(&PIPELINE_VALUE, &Settings::defaults(&PIPELINE_VALUE.definition), period, &records, split, rotate);
            assert_merge_property(&WEIGHTED_PIPELINE_VALUE, &weighted, period, &records, split, rotate);
        }
    }
}
