//! Unit tests of the `acquisition` family: the CAC worked example, channel groups, edges, and the
//! merge property.

use proptest::prelude::*;

use super::*;
use crate::catalog::Settings;
use crate::dimension::Dimension;
use crate::eval::Period;
use crate::metrics::test_support::*;
use crate::query::MetricQuery;
use crate::records::{Cost, CostCategory, Record};
use crate::value::{UndefinedReason, Value};

fn cost(
    id: &str,
    category: CostCategory,
    channel: Option<&str>,
    t: Timestamp,
    minor: i64,
) -> Record {
    Record::Cost(Cost {
        meta: meta(id),
        category,
        channel: channel.map(Into::into),
        amount: usd(minor),
        incurred_time: t,
    })
}

fn acquired_via(id: &str, t: Timestamp, channel: &str) -> Record {
    let mut record = customer(id, t, None);
    if let Record::Customer(c) = &mut record {
        c.acquisition_channel = Some(channel.into());
    }
    record
}

fn money_of(result: &MetricResult) -> i64 {
    match &result.value {
        Ok(Value::Money(m)) => m.amount.minor_units,
        other => panic!("not money: {other:?}"),
    }
}

#[test]
fn cac_worked_example() {
    // docs/metrics.md: ads 5,000 + sales salaries 10,000 + other marketing 5,000, 40 new customers → 500.
    // A retention cost and a customer acquired before March do not count.
    let mut records = vec![
        cost(
            "ads",
            CostCategory::AcquisitionMarketing,
            Some("paid_search"),
            at(3, 5, 0),
            500_000,
        ),
        cost(
            "salaries",
            CostCategory::AcquisitionSales,
            None,
            at(3, 25, 0),
            1_000_000,
        ),
        cost(
            "events",
            CostCategory::AcquisitionMarketing,
            Some("events"),
            at(3, 10, 0),
            500_000,
        ),
        cost("care", CostCategory::Retention, None, at(3, 10, 0), 900_000),
        customer("old", at(2, 20, 0), None),
    ];
    for i in 0..40 {
        records.push(customer(&format!("c{i}"), at(3, 1 + i % 28, 0), None));
    }
    let report = run(
        records,
        &request(MetricQuery::new("customer_acquisition_cost"), march()),
    );
    assert_eq!(money_of(&report.total), 50_000);
    assert!(
        report
            .total
            .components
            .contains(&Component::count("new_customers", 40))
    );
}

#[test]
fn grouped_by_channel_each_channel_pays_for_its_own_customers() {
    // paid_search: 3,000.00 spend / 2 customers = 1,500.00; events: 1,000.00 / 4 = 250.00;
    // referral: 1 customer, no spend → no data; spend without a channel: its own (None) group
    // with no customers → zero denominator. Total: 4,500.00 / 7 = 642.857… → 642.86.
    let mut records = vec![
        cost(
            "a",
            CostCategory::AcquisitionMarketing,
            Some("paid_search"),
            at(3, 2, 0),
            300_000,
        ),
        cost(
            "b",
            CostCategory::AcquisitionMarketing,
            Some("events"),
            at(3, 2, 0),
            100_000,
        ),
        cost(
            "c",
            CostCategory::AcquisitionSales,
            None,
            at(3, 2, 0),
            50_000,
        ),
        acquired_via("p1", at(3, 3, 0), "paid_search"),
        acquired_via("p2", at(3, 4, 0), "paid_search"),
        acquired_via("r1", at(3, 4, 0), "referral"),
    ];
    for i in 0..4 {
        records.push(acquired_via(&format!("e{i}"), at(3, 5, 0), "events"));
    }
    let mut req = request(MetricQuery::new("customer_acquisition_cost"), march());
    req.group_by = vec![Dimension::Channel];
    let report = run(records, &req);
    assert_eq!(money_of(&report.total), 64_286);
    let group = |key: Option<&str>| {
        report
            .groups
            .iter()
            .find(|g| g.key == vec![key.map(str::to_owned)])
            .unwrap_or_else(|| panic!("no group {key:?}"))
            .total
            .clone()
    };
    assert_eq!(money_of(&group(Some("paid_search"))), 150_000);
    assert_eq!(money_of(&group(Some("events"))), 25_000);
    assert_eq!(
        group(Some("referral")).value.unwrap_err().reason,
        UndefinedReason::NoData
    );
    assert_eq!(
        group(None).value.unwrap_err().reason,
        UndefinedReason::ZeroDenominator
    );
}

#[test]
fn window_edges_and_empty_inputs() {
    // Spend at 1 Mar 00:00 counts, at 1 Apr 00:00 does not; a customer at the end does not count.
    let records = vec![
        cost(
            "in",
            CostCategory::AcquisitionMarketing,
            None,
            ymd(2026, 3, 1),
            10_000,
        ),
        cost(
            "out",
            CostCategory::AcquisitionMarketing,
            None,
            ymd(2026, 4, 1),
            99_999,
        ),
        customer("n", ymd(2026, 3, 1), None),
        customer("later", ymd(2026, 4, 1), None),
    ];
    let report = run(
        records,
        &request(MetricQuery::new("customer_acquisition_cost"), march()),
    );
    assert_eq!(money_of(&report.total), 10_000);
    let none = run(
        Vec::new(),
        &request(MetricQuery::new("customer_acquisition_cost"), march()),
    );
    assert_eq!(
        none.total.value.unwrap_err().reason,
        UndefinedReason::NoData
    );
    let spend_only = run(
        vec![cost(
            "x",
            CostCategory::AcquisitionSales,
            None,
            at(3, 3, 0),
            1,
        )],
        &request(MetricQuery::new("customer_acquisition_cost"), march()),
    );
    assert_eq!(
        spend_only.total.value.unwrap_err().reason,
        UndefinedReason::ZeroDenominator
    );
}

fn arb_record() -> impl Strategy<Value = Record> {
    (0u8..3, arb_time(), 0i64..100_000, 0u32..500).prop_map(|(kind, t, minor, id)| match kind {
        0 => cost(
            &format!("k{id}"),
            CostCategory::AcquisitionMarketing,
            Some("web"),
            t,
            minor,
        ),
        1 => cost(&format!("k{id}"), CostCategory::Retention, None, t, minor),
        _ => customer(&format!("c{id}"), t, None),
    })
}

proptest! {
    #[test]
    fn acquisition_states_merge_exactly(records in prop::collection::vec(arb_record(), 0..40), split in 0usize..40, rotate in 0usize..40) {
        let period = Period { window: window(at(2, 1, 0), at(9, 1, 0)), as_of: ymd(2100, 1, 1), time_zone: chrono_tz::UTC };
        assert_merge_property(&CUSTOMER_ACQUISITION_COST, &Settings::defaults(&CUSTOMER_ACQUISITION_COST.definition), period, &records, split, rotate);
    }
}
