//! Unit tests of the `surveys` family: worked examples, hand-computed vectors, and the merge property.

use proptest::prelude::*;

use super::*;
use crate::catalog::Settings;
use crate::eval::Period;
use crate::metrics::test_support::*;
use crate::query::MetricQuery;
use crate::records::Record;
use crate::value::Value;

#[test]
fn nps_worked_example() {
    // docs/metrics.md: [10, 9, 9, 8, 7, 6, 5, 10, 3, 9] → promoters 5, passives 2, detractors 3 → 20.
    let scores = [10, 9, 9, 8, 7, 6, 5, 10, 3, 9];
    let records = scores
        .iter()
        .enumerate()
        .map(|(i, s)| {
            survey(
                &format!("r{i}"),
                SurveyType::Nps,
                *s,
                (0, 10),
                at(3, 10, 12),
            )
        })
        .collect();
    let report = run(records, &request(MetricQuery::new("nps"), march()));
    assert_eq!(report.total.value, Ok(Value::Score(20.0)));
    assert_eq!(report.total.components[0], Component::count("promoters", 5));
    assert_eq!(report.total.components[1], Component::count("passives", 2));
    assert_eq!(
        report.total.components[2],
        Component::count("detractors", 3)
    );
}

#[test]
fn nps_classifies_each_response_on_its_own_scale() {
    // 1–5: 5 promoter, 3 passive, 2 detractor; 0–10: 9 promoter → (2 − 1) / 4 = 25 points.
    let records = vec![
        survey("a", SurveyType::Nps, 5, (1, 5), at(3, 2, 0)),
        survey("b", SurveyType::Nps, 3, (1, 5), at(3, 2, 0)),
        survey("c", SurveyType::Nps, 2, (1, 5), at(3, 2, 0)),
        survey("d", SurveyType::Nps, 9, (0, 10), at(3, 2, 0)),
    ];
    assert_eq!(scalar(records, MetricQuery::new("nps"), march()), 25.0);
}

#[test]
fn nps_latest_per_customer_keeps_each_customers_last_answer() {
    // Customer x answers 2 then 10, customer y answers 5 (detractor).
    // all: promoters 1, detractors 2 of 3 → −33.33; latest: x=10, y=5 → (1 − 1) / 2 = 0.
    let mut records = vec![
        survey("x1", SurveyType::Nps, 2, (0, 10), at(3, 2, 0)),
        survey("x2", SurveyType::Nps, 10, (0, 10), at(3, 20, 0)),
        survey("y1", SurveyType::Nps, 5, (0, 10), at(3, 5, 0)),
    ];
    for (record, customer) in records.iter_mut().zip(["x", "x", "y"]) {
        if let Record::SurveyResponse(r) = record {
            r.customer_id = customer.into();
        }
    }
    let all = scalar(records.clone(), MetricQuery::new("nps"), march());
    assert!((all - (-100.0 / 3.0)).abs() < 1e-9);
    let latest = MetricQuery::new("nps").policy("dedupe", "latest_per_customer");
    assert_eq!(scalar(records, latest, march()), 0.0);
}

#[test]
fn nps_of_an_empty_window_is_undefined() {
    let records = vec![survey("a", SurveyType::Nps, 10, (0, 10), at(4, 1, 0))];
    let report = run(records, &request(MetricQuery::new("nps"), march()));
    assert_eq!(
        report.total.value.unwrap_err().reason,
        UndefinedReason::NoData
    );
}

#[test]
fn csat_top2_box_and_mean() {
    // 1–5: 5, 4, 3; 1–10: 10, 1. Satisfied: 5, 4, 10 → 3 / 5 = 0.6.
    // Mean of normalised: 1, 0.75, 0.5, 1, 0 → 3.25 / 5 = 0.65.
    let records = vec![
        survey("a", SurveyType::Csat, 5, (1, 5), at(3, 1, 0)),
        survey("b", SurveyType::Csat, 4, (1, 5), at(3, 1, 0)),
        survey("c", SurveyType::Csat, 3, (1, 5), at(3, 1, 0)),
        survey("d", SurveyType::Csat, 10, (1, 10), at(3, 1, 0)),
        survey("e", SurveyType::Csat, 1, (1, 10), at(3, 1, 0)),
        survey("nps", SurveyType::Nps, 10, (0, 10), at(3, 1, 0)),
    ];
    assert_eq!(
        scalar(records.clone(), MetricQuery::new("csat"), march()),
        0.6
    );
    let mean = MetricQuery::new("csat").policy("mode", "mean");
    assert!((scalar(records, mean, march()) - 0.65).abs() < 1e-12);
}

#[test]
fn ces_flips_lower_is_easier_and_maps_1_to_5_onto_1_to_7() {
    // 7 on 1–7 → 7; 2 on 1–7 stored LOWER_IS_EASIER → 1 + 7 − 2 = 6; 4 on 1–5 → 1 + 3 × 1.5 = 5.5.
    // Mean = (7 + 6 + 5.5) / 3 = 6.1666…; easy (≥ 5): all 3.
    let mut flipped = survey("b", SurveyType::Ces, 2, (1, 7), at(3, 1, 0));
    if let Record::SurveyResponse(r) = &mut flipped {
        r.direction = ScoreDirection::LowerIsBetter;
    }
    let records = vec![
        survey("a", SurveyType::Ces, 7, (1, 7), at(3, 1, 0)),
        flipped,
        survey("c", SurveyType::Ces, 4, (1, 5), at(3, 1, 0)),
    ];
    let report = run(records, &request(MetricQuery::new("ces"), march()));
    assert_eq!(report.total.value, Ok(Value::Score(18.5 / 3.0)));
    assert!(
        report
            .total
            .components
            .contains(&Component::number("easy_share", 1.0))
    );
}

fn arb_survey() -> impl Strategy<Value = Record> {
    (
        0usize..3,
        0i32..11,
        any::<bool>(),
        arb_time(),
        0u8..4,
        0u32..1000,
    )
        .prop_map(|(t, s, five, time, customer, id)| {
            let (survey_type, scale) = match t {
                0 => (SurveyType::Nps, if five { (1, 5) } else { (0, 10) }),
                1 => (SurveyType::Csat, if five { (1, 5) } else { (1, 10) }),
                _ => (SurveyType::Ces, if five { (1, 5) } else { (1, 7) }),
            };
            let mut record = survey(
                &format!("r{id}"),
                survey_type,
                s.clamp(scale.0, scale.1),
                scale,
                time,
            );
            if let Record::SurveyResponse(r) = &mut record {
                r.customer_id = format!("c{customer}").into();
            }
            record
        })
}

proptest! {
    #[test]
    fn survey_states_merge_exactly(records in prop::collection::vec(arb_survey(), 0..40), split in 0usize..40, rotate in 0usize..40) {
        let period = Period { window: window(at(2, 1, 0), at(9, 1, 0)), as_of: ymd(2100, 1, 1), time_zone: chrono_tz::UTC };
        for policy in ["all", "latest_per_customer"] {
            let settings = Settings::resolve(&NPS.definition, &MetricQuery::new("nps").policy("dedupe", policy), "m").unwrap();
            assert_merge_property(&NPS, &settings, period, &records, split, rotate);
        }
        assert_merge_property(&CSAT, &Settings::defaults(&CSAT.definition), period, &records, split, rotate);
        assert_merge_property(&CES, &Settings::defaults(&CES.definition), period, &records, split, rotate);
    }
}
