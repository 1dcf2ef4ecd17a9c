//! Unit tests of `crm_roi`: the revenue-growth gain, the gain parameter, margins, edges, and the
//! merge property.

use proptest::prelude::*;

use super::*;
use crate::catalog::Settings;
use crate::eval::Period;
use crate::metrics::test_support::*;
use crate::query::{MetricQuery, ParamValue};
use crate::records::{Cost, Record};
use crate::value::Value;

fn investment(id: &str, t: Timestamp, minor: i64) -> Record {
    Record::Cost(Cost {
        meta: meta(id),
        category: CostCategory::CrmInvestment,
        channel: None,
        amount: usd(minor),
        incurred_time: t,
    })
}

fn roi(records: Vec<Record>, query: MetricQuery) -> (f64, f64, f64) {
    match run(records, &request(query, march())).total.value {
        Ok(Value::Ratio(r)) => (r.value, r.numerator, r.denominator),
        other => panic!("not a ratio: {other:?}"),
    }
}

fn sample() -> Vec<Record> {
    // Investment in March: 1,000.00 (+ 500.00 of other spend that does not count).
    // Revenue: February 10,000.00, March 13,000.00 → growth 3,000.00.
    vec![
        investment("crm", at(3, 3, 0), 100_000),
        Record::Cost(Cost {
            meta: meta("ads"),
            category: CostCategory::AcquisitionMarketing,
            channel: None,
            amount: usd(50_000),
            incurred_time: at(3, 3, 0),
        }),
        order("feb", "c1", at(2, 10, 0), 1_000_000),
        order("mar1", "c1", at(3, 10, 0), 800_000),
        order("mar2", "c2", ymd(2026, 3, 1), 500_000),
        order("apr", "c2", ymd(2026, 4, 1), 999_999),
    ]
}

#[test]
fn gain_defaults_to_revenue_growth() {
    // (3,000.00 − 1,000.00) / 1,000.00 = 2.
    assert_eq!(
        roi(sample(), MetricQuery::new("crm_roi")),
        (2.0, 200_000.0, 100_000.0)
    );
    // With gross_margin 0.4: gain 1,200.00 → (1,200 − 1,000) / 1,000 = 0.2.
    let margin = MetricQuery::new("crm_roi").parameter("gross_margin", ParamValue::Number(0.4));
    let (value, numerator, _) = roi(sample(), margin);
    assert!((value - 0.2).abs() < 1e-12 && (numerator - 20_000.0).abs() < 1e-6);
}

#[test]
fn the_gain_parameter_is_in_major_units() {
    // gain 500 (= 500.00 USD) against 1,000.00 invested → −0.5.
    let query = MetricQuery::new("crm_roi").parameter("gain", ParamValue::Number(500.0));
    assert_eq!(roi(sample(), query), (-0.5, -50_000.0, 100_000.0));
}

#[test]
fn no_investment_is_a_zero_denominator_and_bad_margins_are_rejected() {
    let report = run(
        vec![order("o", "c", at(3, 2, 0), 100)],
        &request(MetricQuery::new("crm_roi"), march()),
    );
    assert_eq!(
        report.total.value.unwrap_err().reason,
        UndefinedReason::ZeroDenominator
    );
    let bad = MetricQuery::new("crm_roi").parameter("gross_margin", ParamValue::Number(1.5));
    let problems = crate::eval::prepare(&request(bad, march()))
        .err()
        .expect("rejected");
    assert_eq!(problems[0].field, "metrics[0].parameters[gross_margin]");
}

fn arb_record() -> impl Strategy<Value = Record> {
    (any::<bool>(), arb_time(), 1i64..100_000, 0u32..500).prop_map(|(is_cost, t, minor, id)| {
        if is_cost {
            investment(&format!("k{id}"), t, minor)
        } else {
            order(&format!("o{id}"), "c", t, minor)
        }
    })
}

proptest! {
    #[test]
    fn roi_states_merge_exactly(records in prop::collection::vec(arb_record(), 0..40), split in 0usize..40, rotate in 0usize..40) {
        let period = Period { window: window(at(5, 1, 0), at(8, 1, 0)), as_of: ymd(2100, 1, 1), time_zone: chrono_tz::UTC };
        assert_merge_property(&CRM_ROI, &Settings::defaults(&CRM_ROI.definition), period, &records, split, rotate);
    }
}
