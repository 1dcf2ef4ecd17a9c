//! Unit tests of the lifetime-value family: CLV by each method, LTV:CAC, CAC payback, edges, and
//! the merge property.
//!
//! The shared vector, Q1 2026 (three whole months, 0.25 years), UTC:
//! customers a (acquired 2025-01-10), b (2025-02-01, churned 2026-02-15), c (2025-06-01),
//! d (2026-01-20, new in Q1), e (2025-03-01, churned 2025-08-01).
//! Orders: a 500.00 on 2025-06-01 and 300.00 on 2026-01-05; d 600.00 on 2026-02-10 and 100.00 on
//! 2026-03-20. Subscriptions: a 100.00/month and c 300.00/month running; b 200.00 until 2026-02-15;
//! d a trial. Acquisition spend in Q1: 500.00.

use proptest::prelude::*;

use super::*;
use crate::eval::Period;
use crate::metrics::test_support::*;
use crate::query::{MetricQuery, ParamValue};
use crate::records::{Cost, CostCategory, Record, Subscription};

fn subscription(
    id: &str,
    customer: &str,
    mrr: i64,
    start: Timestamp,
    end: Option<Timestamp>,
    trial: bool,
) -> Record {
    Record::Subscription(Subscription {
        meta: meta(id),
        customer_id: customer.into(),
        mrr: usd(mrr),
        start_time: start,
        end_time: end,
        trial,
        renewal_due_time: None,
        renewal_outcome: None,
    })
}

fn spend(id: &str, t: Timestamp, minor: i64) -> Record {
    Record::Cost(Cost {
        meta: meta(id),
        category: CostCategory::AcquisitionSales,
        channel: None,
        amount: usd(minor),
        incurred_time: t,
    })
}

fn sample() -> Vec<Record> {
    vec![
        customer("a", ymd(2025, 1, 10), None),
        customer("b", ymd(2025, 2, 1), Some(ymd(2026, 2, 15))),
        customer("c", ymd(2025, 6, 1), None),
        customer("d", ymd(2026, 1, 20), None),
        customer("e", ymd(2025, 3, 1), Some(ymd(2025, 8, 1))),
        order("a-old", "a", ymd(2025, 6, 1), 50_000),
        order("a-q1", "a", ymd(2026, 1, 5), 30_000),
        order("d-1", "d", ymd(2026, 2, 10), 60_000),
        order("d-2", "d", ymd(2026, 3, 20), 10_000),
        subscription("s-a", "a", 10_000, ymd(2025, 1, 10), None, false),
        subscription("s-c", "c", 30_000, ymd(2025, 6, 1), None, false),
        subscription(
            "s-b",
            "b",
            20_000,
            ymd(2025, 2, 1),
            Some(ymd(2026, 2, 15)),
            false,
        ),
        subscription("s-d", "d", 99_999, ymd(2026, 1, 20), None, true),
        spend("sales", ymd(2026, 2, 1), 50_000),
    ]
}

fn q1() -> Window {
    window(ymd(2026, 1, 1), ymd(2026, 4, 1))
}

fn money_of(query: MetricQuery) -> i64 {
    match run(sample(), &request(query, q1())).total.value {
        Ok(Value::Money(m)) => m.amount.minor_units,
        other => panic!("not money: {other:?}"),
    }
}

fn number_of(query: MetricQuery) -> f64 {
    match run(sample(), &request(query, q1())).total.value {
        Ok(Value::Number(n)) => n,
        other => panic!("not a number: {other:?}"),
    }
}

#[test]
fn transactional_clv_uses_value_per_year_and_estimated_lifespan() {
    // Revenue in Q1 1,000.00 from a and d → 500.00 per customer per quarter → 2,000.00 a year.
    // Churn over [2025-04-01, 2026-04-01): active at its start a, b, e; b and e churned → 2/3,
    // lifespan 1.5 years → 3,000.00. With lifespan_years 2 → 4,000.00.
    assert_eq!(
        money_of(MetricQuery::new("customer_lifetime_value")),
        300_000
    );
    let given = MetricQuery::new("customer_lifetime_value")
        .parameter("lifespan_years", ParamValue::Number(2.0));
    assert_eq!(money_of(given), 400_000);
}

#[test]
fn subscription_clv_uses_arpa_margin_and_mean_monthly_churn() {
    // ARPA at the end of Q1: (100.00 + 300.00) / 2 accounts = 200.00 (b ended, d is a trial).
    // Monthly churn: Jan 0/3, Feb 1/4 (b), Mar 0/3 → mean 1/12 → 200.00 × 12 = 2,400.00;
    // with gross_margin 0.5 → 1,200.00.
    let method = MetricQuery::new("customer_lifetime_value").policy("method", "subscription");
    assert_eq!(money_of(method.clone()), 240_000);
    assert_eq!(
        money_of(method.parameter("gross_margin", ParamValue::Number(0.5))),
        120_000
    );
}

#[test]
fn historical_clv_is_mean_revenue_to_date_of_customers_acquired_in_the_window() {
    // Acquired in Q1: d, with 600.00 + 100.00 to date → 700.00.
    let method = MetricQuery::new("customer_lifetime_value").policy("method", "historical");
    assert_eq!(money_of(method), 70_000);
}

#[test]
fn ltv_to_cac_and_payback() {
    // CAC = 500.00 / 1 new customer (d). LTV:CAC = 3,000.00 / 500.00 = 6.
    // Payback = 500.00 / (ARPA 200.00 × margin 1) = 2.5 months.
    assert_eq!(number_of(MetricQuery::new("ltv_to_cac")), 6.0);
    assert_eq!(number_of(MetricQuery::new("cac_payback_months")), 2.5);
}

#[test]
fn undefined_inputs_are_reported() {
    // Without churn in the year and no lifespan_years, transactional CLV has no lifespan.
    let calm = vec![
        customer("x", ymd(2025, 1, 1), None),
        order("o", "x", ymd(2026, 2, 1), 100),
    ];
    let report = run(
        calm,
        &request(MetricQuery::new("customer_lifetime_value"), q1()),
    );
    assert_eq!(
        report.total.value.unwrap_err().reason,
        UndefinedReason::UndefinedInput
    );
    let empty = run(
        Vec::new(),
        &request(MetricQuery::new("customer_lifetime_value"), q1()),
    );
    assert_eq!(
        empty.total.value.unwrap_err().reason,
        UndefinedReason::NoData
    );
    let no_spend = run(
        vec![customer("x", ymd(2026, 2, 1), None)],
        &request(MetricQuery::new("cac_payback_months"), q1()),
    );
    assert_eq!(
        no_spend.total.value.unwrap_err().reason,
        UndefinedReason::UndefinedInput
    );
}

#[test]
fn payback_over_free_accounts_is_a_zero_denominator_not_infinity() {
    // d is acquired in Q1 for 500.00 of acquisition spend → CAC 50,000 minor units; the only
    // account running at the quarter's end pays an MRR of 0 → ARPA 0, and 50,000 / 0 has no value.
    let records = vec![
        customer("d", ymd(2026, 1, 20), None),
        spend("k", ymd(2026, 1, 5), 50_000),
        subscription("s-d", "d", 0, ymd(2026, 1, 20), None, false),
    ];
    let report = run(
        records,
        &request(MetricQuery::new("cac_payback_months"), q1()),
    );
    let undefined = report.total.value.unwrap_err();
    assert_eq!(undefined.reason, UndefinedReason::ZeroDenominator);
    assert_eq!(
        report.total.components,
        vec![
            Component::number("customer_acquisition_cost_minor_units", 50_000.0),
            Component::number("arpa_minor_units", 0.0),
        ]
    );
}

#[test]
fn economics_states_merge_exactly() {
    let records = sample();
    let period = Period {
        window: q1(),
        as_of: ymd(2100, 1, 1),
        time_zone: chrono_tz::UTC,
    };
    for split in 0..records.len() {
        assert_merge_property(
            &CUSTOMER_LIFETIME_VALUE,
            &Settings::defaults(&CUSTOMER_LIFETIME_VALUE.definition),
            period,
            &records,
            split,
            split,
        );
    }
}

proptest! {
    #[test]
    fn economics_states_merge_for_random_splits(split in 0usize..20, rotate in 0usize..20) {
        let period = Period { window: q1(), as_of: ymd(2100, 1, 1), time_zone: chrono_tz::UTC };
        let settings = Settings::resolve(&CUSTOMER_LIFETIME_VALUE.definition, &MetricQuery::new("customer_lifetime_value").policy("method", "subscription"), "m").unwrap();
        assert_merge_property(&CUSTOMER_LIFETIME_VALUE, &settings, period, &sample(), split, rotate);
    }
}

#[test]
fn a_lifetime_value_beyond_64_bit_minor_units_is_an_overflow_not_a_saturated_amount() {
    // 2,000.00 a year × 10^16 years = 2 × 10^21 minor units, over i64::MAX (≈ 9.2 × 10^18).
    let huge = MetricQuery::new("customer_lifetime_value")
        .parameter("lifespan_years", ParamValue::Number(1e16));
    let prepared = crate::eval::prepare(&request(huge, q1())).unwrap();
    let dataset = crate::dataset::Dataset::from_records(sample());
    let error = prepared.evaluate(&dataset, None).unwrap_err();
    assert_eq!(
        error,
        EvalError::Overflow {
            metric: "customer_lifetime_value".to_owned()
        }
    );
}
