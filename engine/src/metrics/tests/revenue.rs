//! Unit tests of the `revenue` family: worked examples, hand-computed vectors, and the merge property.

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::calendar::Granularity;
use crate::dataset::Dataset;
use crate::dimension::Dimension;
use crate::eval::{Period, prepare};
use crate::metrics::test_support::*;
use crate::money::Currency;
use crate::money::Money;
use crate::query::MetricQuery;
use crate::records::Record;
use crate::value::{MoneyValue, UndefinedReason, Value};

fn money(result: &MetricResult) -> MoneyValue {
    match &result.value {
        Ok(Value::Money(m)) => *m,
        other => panic!("not money: {other:?}"),
    }
}

/// The total's amount in minor units.
fn minor(records: Vec<Record>, id: &str) -> i64 {
    money(&run(records, &request(MetricQuery::new(id), march())).total)
        .amount
        .minor_units
}

fn in_region(mut record: Record, region: &str) -> Record {
    if let Record::Order(o) = &mut record {
        o.meta
            .attributes
            .insert("region".to_owned(), region.to_owned());
    }
    record
}

#[test]
fn average_purchase_value_worked_example() {
    // docs/metrics.md: one month, 100 orders totalling 10,000.00 USD → 100.00 USD.
    // 50 × 50.00 + 50 × 150.00 = 10,000.00 = 1,000,000 minor units; / 100 = 10,000 = 100.00.
    let records = (0..100)
        .map(|i| {
            order(
                &format!("o{i}"),
                "c",
                at(3, 1 + i % 28, 0),
                if i % 2 == 0 { 5_000 } else { 15_000 },
            )
        })
        .collect();
    let report = run(
        records,
        &request(MetricQuery::new("average_purchase_value"), march()),
    );
    let value = money(&report.total);
    assert_eq!(value.amount, usd(10_000));
    assert_eq!(value.numerator, Some(usd(1_000_000)));
    assert_eq!(value.denominator, Some(100.0));
    assert_eq!(
        report.total.components,
        vec![
            Component::count("orders", 100),
            Component::money("revenue", usd(1_000_000))
        ]
    );
}

#[test]
fn net_new_revenue_worked_example() {
    // docs/metrics.md: revenue in P 100,000 USD, of which 40,000 from customers acquired before P
    // → 60,000 USD. Old customer (January) orders 15,000 + 25,000; new (March 3) 60,000.
    let records = vec![
        customer("old", at(1, 10, 0), None),
        customer("new", at(3, 3, 0), None),
        order("o1", "old", at(3, 5, 0), 1_500_000),
        order("o2", "old", at(3, 20, 0), 2_500_000),
        order("o3", "new", at(3, 4, 0), 6_000_000),
    ];
    let report = run(
        records.clone(),
        &request(MetricQuery::new("net_new_revenue"), march()),
    );
    assert_eq!(money(&report.total).amount, usd(6_000_000));
    assert!(
        report
            .total
            .components
            .contains(&Component::money("revenue", usd(10_000_000)))
    );
    assert_eq!(minor(records, "revenue"), 10_000_000);
}

#[test]
fn revenue_counts_orders_inside_the_window_only() {
    // Inside: at start (100) and at the last instant (20); outside: just before start (1) and
    // exactly at end (4000) → 120.
    let records = vec![
        order("start", "c", ymd(2026, 3, 1), 100),
        order("last", "c", ymd(2026, 4, 1) - Duration::microseconds(1), 20),
        order(
            "before",
            "c",
            ymd(2026, 3, 1) - Duration::microseconds(1),
            1,
        ),
        order("end", "c", ymd(2026, 4, 1), 4_000),
    ];
    let report = run(
        records.clone(),
        &request(MetricQuery::new("revenue"), march()),
    );
    assert_eq!(money(&report.total).amount, usd(120));
    assert_eq!(report.total.components, vec![Component::count("orders", 2)]);
    // Average of 100 and 20 cents: 120 / 2 = 60.
    assert_eq!(minor(records, "average_purchase_value"), 60);
}

#[test]
fn average_purchase_value_rounds_half_to_even() {
    // 2 + 3 = 5 cents over 2 orders = 2.5 → 2; 3 + 4 = 7 over 2 = 3.5 → 4.
    let pair = |a, b| {
        vec![
            order("a", "c", at(3, 2, 0), a),
            order("b", "c", at(3, 3, 0), b),
        ]
    };
    assert_eq!(minor(pair(2, 3), "average_purchase_value"), 2);
    assert_eq!(minor(pair(3, 4), "average_purchase_value"), 4);
}

#[test]
fn no_orders_is_no_data() {
    // An order in April and a customer new in March: nothing ordered in March.
    let records = vec![
        customer("c", at(3, 2, 0), None),
        order("o", "c", at(4, 2, 0), 100),
    ];
    for id in ["revenue", "average_purchase_value", "net_new_revenue"] {
        let report = run(records.clone(), &request(MetricQuery::new(id), march()));
        assert_eq!(
            report.total.value.clone().unwrap_err().reason,
            UndefinedReason::NoData,
            "{id}"
        );
    }
}

#[test]
fn net_new_revenue_boundaries_and_missing_customers() {
    // Acquired exactly at P.start → new (700); acquired at P.end → not new (its order at the
    // last instant, 50); missing customer → not new (9). Net new = 700.
    let records = vec![
        customer("at_start", ymd(2026, 3, 1), None),
        customer("at_end", ymd(2026, 4, 1), None),
        order("o1", "at_start", at(3, 9, 0), 700),
        order(
            "o2",
            "at_end",
            ymd(2026, 4, 1) - Duration::microseconds(1),
            50,
        ),
        order("o3", "ghost", at(3, 9, 0), 9),
    ];
    let report = run(
        records,
        &request(MetricQuery::new("net_new_revenue"), march()),
    );
    assert_eq!(money(&report.total).amount, usd(700));
    assert!(
        report
            .total
            .components
            .contains(&Component::count("orders_from_new_customers", 1))
    );
    // Orders, none from new customers: 0 USD, not NO_DATA.
    let old_only = vec![
        customer("old", at(1, 1, 0), None),
        order("o", "old", at(3, 2, 0), 300),
    ];
    assert_eq!(minor(old_only, "net_new_revenue"), 0);
}

#[test]
fn orders_after_as_of_do_not_exist_yet() {
    // as_of March 15: the March 20 order (1000) has not happened → revenue 10.
    let records = vec![
        order("a", "c", at(3, 2, 0), 10),
        order("b", "c", at(3, 20, 0), 1_000),
    ];
    let mut req = request(MetricQuery::new("revenue"), march());
    req.as_of = at(3, 15, 0);
    assert_eq!(money(&run(records, &req).total).amount, usd(10));
}

#[test]
fn mixed_currencies_are_an_error() {
    let mut eur = order("b", "c", at(3, 3, 0), 5);
    if let Record::Order(o) = &mut eur {
        o.amount = Money::new(Currency::parse("EUR").unwrap(), 5);
    }
    let dataset = Dataset::from_records(vec![order("a", "c", at(3, 2, 0), 10), eur]);
    for id in ["revenue", "average_purchase_value", "net_new_revenue"] {
        let prepared = prepare(&request(MetricQuery::new(id), march())).unwrap();
        let error = prepared.evaluate(&dataset, None).unwrap_err();
        let expected = EvalError::MixedCurrencies {
            metric: id.to_owned(),
            currencies: vec!["EUR".to_owned(), "USD".to_owned()],
        };
        assert_eq!(error, expected);
    }
}

#[test]
fn monthly_series_uses_each_bucket_alone() {
    // c1 acquired January 10: orders Jan 100, Feb 200. c2 acquired February 5: Feb 30, Mar 4.
    // revenue: Jan 100, Feb 230, Mar 4; Q1 334.
    // average_purchase_value: Jan 100/1, Feb 230/2 = 115, Mar 4/1; Q1 334/4 = 83.5 → 84.
    // net_new_revenue: Jan 100 (c1 new); Feb 30 (only c2 new in February); Mar 0;
    // Q1 334 (both customers new in Q1).
    let records = vec![
        customer("c1", at(1, 10, 0), None),
        customer("c2", at(2, 5, 0), None),
        order("a", "c1", at(1, 12, 0), 100),
        order("b", "c1", at(2, 2, 0), 200),
        order("c", "c2", at(2, 6, 0), 30),
        order("d", "c2", at(3, 31, 23), 4),
    ];
    for (id, buckets, total) in [
        ("revenue", [100, 230, 4], 334),
        ("average_purchase_value", [100, 115, 4], 84),
        ("net_new_revenue", [100, 30, 0], 334),
    ] {
        let mut req = request(
            MetricQuery::new(id),
            window(ymd(2026, 1, 1), ymd(2026, 4, 1)),
        );
        req.granularity = Granularity::Month;
        let report = run(records.clone(), &req);
        let got: Vec<i64> = report
            .series
            .iter()
            .map(|p| money(&p.result).amount.minor_units)
            .collect();
        assert_eq!(got, buckets, "{id}");
        assert_eq!(report.series[2].window, march(), "{id}");
        assert_eq!(money(&report.total).amount.minor_units, total, "{id}");
    }
}

#[test]
fn revenue_grouped_by_region() {
    // eu: 100 + 300 → 400, average 200; us: 50; no region: 7. Total 457.
    let records = vec![
        in_region(order("a", "c", at(3, 2, 0), 100), "eu"),
        in_region(order("b", "c", at(3, 3, 0), 300), "eu"),
        in_region(order("c", "c", at(3, 4, 0), 50), "us"),
        order("d", "c", at(3, 5, 0), 7),
    ];
    for (id, expected, total) in [
        ("revenue", [7, 400, 50], 457),
        ("average_purchase_value", [7, 200, 50], 114),
    ] {
        let mut req = request(MetricQuery::new(id), march());
        req.group_by = vec![Dimension::Attribute("region".to_owned())];
        let report = run(records.clone(), &req);
        let keys: Vec<Option<String>> = report.groups.iter().map(|g| g.key[0].clone()).collect();
        assert_eq!(
            keys,
            vec![None, Some("eu".to_owned()), Some("us".to_owned())]
        );
        let got: Vec<i64> = report
            .groups
            .iter()
            .map(|g| money(&g.total).amount.minor_units)
            .collect();
        assert_eq!(got, expected, "{id}");
        // 457 / 4 = 114.25 → 114.
        assert_eq!(money(&report.total).amount.minor_units, total, "{id}");
    }
}

fn arb_orders() -> impl Strategy<Value = Vec<Record>> {
    let order = (arb_time(), 0u8..6, -500i64..100_000, 0u32..1000)
        .prop_map(|(t, c, amount, id)| order(&format!("o{id}"), &format!("c{c}"), t, amount));
    // Customers c0..c4 (c5 is missing), acquired at random instants.
    let customers = prop::collection::vec(arb_time(), 5).prop_map(|times| {
        times
            .iter()
            .enumerate()
            .map(|(i, t)| customer(&format!("c{i}"), *t, None))
            .collect::<Vec<_>>()
    });
    (prop::collection::vec(order, 0..40), customers).prop_map(|(mut orders, customers)| {
        orders.extend(customers);
        orders
    })
}

proptest! {
    #[test]
    fn order_states_merge_exactly(records in arb_orders(), split in 0usize..40, rotate in 0usize..40, month in 1u32..12) {
        let period = Period { window: window(at(month, 1, 0), at(month + 1, 1, 0)), as_of: ymd(2100, 1, 1), time_zone: chrono_tz::UTC };
        assert_merge_property(&REVENUE, &Settings::defaults(&REVENUE.definition), period, &records, split, rotate);
        assert_merge_property(&AVERAGE_PURCHASE_VALUE, &Settings::defaults(&AVERAGE_PURCHASE_VALUE.definition), period, &records, split, rotate);
        assert_merge_property(&NET_NEW_REVENUE, &Settings::defaults(&NET_NEW_REVENUE.definition), period, &records, split, rotate);
    }
}
