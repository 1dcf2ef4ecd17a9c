//! Unit tests of the `purchases` family: hand-computed vectors, window edges, as_of, policies,
//! series, groups, and the merge property.

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::calendar::{Granularity, previous_window};
use crate::dataset::{Dataset, KindRead};
use crate::dimension::Dimension;
use crate::eval::{Period, prepare};
use crate::metrics::test_support::*;
use crate::money::Currency;
use crate::money::Money;
use crate::query::{ComputeRequest, MetricQuery};
use crate::records::{Deal, DealStatus, DealType, OrderKind, Record, RecordKind};
use crate::value::MoneyValue;

const REPEAT: &str = "repeat_purchase_rate";
const FREQUENCY: &str = "purchase_frequency";
const CUSTOMER_VALUE: &str = "average_customer_value";
const PROFIT: &str = "profit_per_customer";
const GROWTH: &str = "revenue_growth";
const UPSELL: &str = "upsell_rate";
const CROSS_SELL: &str = "cross_sell_rate";

fn money(result: &MetricResult) -> (i64, Option<i64>, Option<f64>) {
    match &result.value {
        Ok(Value::Money(MoneyValue {
            amount,
            numerator,
            denominator,
        })) => (
            amount.minor_units,
            numerator.map(|m| m.minor_units),
            *denominator,
        ),
        other => panic!("not money: {other:?}"),
    }
}

fn component<'r>(result: &'r MetricResult, name: &str) -> &'r Component {
    result
        .components
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no component {name}: {:?}", result.components))
}

fn total(id: &str, records: Vec<Record>) -> MetricResult {
    run(records, &request(MetricQuery::new(id), march())).total
}

fn by_orders() -> MetricQuery {
    MetricQuery::new(REPEAT).policy("basis", "orders")
}

/// An order of `kind` with an optional cost (USD minor units).
fn order_of(
    id: &str,
    customer: &str,
    t: Timestamp,
    amount: i64,
    kind: OrderKind,
    cost: Option<i64>,
) -> Record {
    let mut record = order(id, customer, t, amount);
    if let Record::Order(o) = &mut record {
        o.kind = kind;
        o.cost = cost.map(usd);
    }
    record
}

/// A won or lost deal of `deal_type` for `customer`, closed at `closed`.
fn sale_deal(
    id: &str,
    customer: Option<&str>,
    status: DealStatus,
    deal_type: DealType,
    closed: Timestamp,
) -> Record {
    let mut record = deal(id, status, at(1, 2, 0), Some(closed), 1000);
    if let Record::Deal(Deal {
        deal_type: t,
        customer_id,
        ..
    }) = &mut record
    {
        *t = deal_type;
        *customer_id = customer.map(Into::into);
    }
    record
}

fn in_region(mut record: Record, region: &str) -> Record {
    if let Record::Customer(c) = &mut record {
        c.meta
            .attributes
            .insert("region".to_owned(), region.to_owned());
    }
    record
}

/// a: 2 orders in March; b: 1; c: 3; d: 1 in February only; e: 1 in February and 1 in March.
fn repeat_orders() -> Vec<Record> {
    vec![
        order("a1", "a", at(3, 2, 0), 10_000),
        order("a2", "a", at(3, 20, 0), 5_000),
        order("b1", "b", at(3, 5, 0), 3_000),
        order("c1", "c", at(3, 3, 0), 1_000),
        order("c2", "c", at(3, 4, 0), 1_000),
        order("c3", "c", at(3, 5, 0), 1_000),
        order("d1", "d", at(2, 10, 0), 7_000),
        order("e1", "e", at(2, 11, 0), 2_000),
        order("e2", "e", at(3, 11, 0), 2_000),
    ]
}

#[test]
fn repeat_purchase_rate_customers_basis() {
    // Ordering customers in March: a, b, c, e = 4; with ≥ 2 orders: a, c → 2/4.
    let result = total(REPEAT, repeat_orders());
    assert_eq!(ratio(&result), (2.0, 4.0));
    assert_eq!(*component(&result, "orders"), Component::count("orders", 7));
}

#[test]
fn repeat_purchase_rate_orders_basis_sees_earlier_orders() {
    // Orders in March: 7. Repeats: a2 (after a1), c2, c3, e2 (e1 in February) = 4 → 4/7;
    // a1, b1, c1 are first orders.
    let report = run(repeat_orders(), &request(by_orders(), march()));
    assert_eq!(ratio(&report.total), (4.0, 7.0));
    assert_eq!(
        report.applied_policies,
        vec![("basis".to_owned(), "orders".to_owned())]
    );
}

#[test]
fn repeat_purchase_rate_edges_and_ties() {
    // x1 exactly at P.start (in), x2 exactly at P.end (out): x has one order in March.
    // y: two orders at the same instant → y has 2 orders (customers basis), and exactly one of
    // them is its first by (ordered_time, id), so 1 repeat order (orders basis).
    // z: an order at the last hour of February, one in March → 1 repeat order.
    let records = vec![
        order("x1", "x", ymd(2026, 3, 1), 100),
        order("x2", "x", ymd(2026, 4, 1), 100),
        order("y1", "y", at(3, 9, 0), 100),
        order("y2", "y", at(3, 9, 0), 100),
        order("z1", "z", at(2, 28, 23), 100),
        order("z2", "z", at(3, 1, 1), 100),
    ];
    // Customers: x, y, z ordered in March; y has 2 → 1/3.
    assert_eq!(ratio(&total(REPEAT, records.clone())), (1.0, 3.0));
    // Orders in March: x1, y1, y2, z2 = 4; repeats y2 (or y1), z2 → 2/4.
    let report = run(records, &request(by_orders(), march()));
    assert_eq!(ratio(&report.total), (2.0, 4.0));
}

#[test]
fn repeat_purchase_rate_as_of_cut_off() {
    let mut records = repeat_orders();
    records.push(order("b2", "b", at(3, 25, 0), 3_000));
    // Without as_of: b has 2 orders → a, b, c repeat of 4 → 3/4.
    assert_eq!(ratio(&total(REPEAT, records.clone())), (3.0, 4.0));
    let mut req = request(MetricQuery::new(REPEAT), march());
    req.as_of = at(3, 19, 23);
    // As of March 19 23:00: a2 and b2 not yet placed → only c repeats; a, b, c, e → 1/4.
    assert_eq!(ratio(&run(records, &req).total), (1.0, 4.0));
}

#[test]
fn per_customer_metrics_have_no_data_without_orders() {
    // Only a February order: no order in March.
    let records = vec![order("d1", "d", at(2, 10, 0), 7_000)];
    for id in [REPEAT, FREQUENCY, CUSTOMER_VALUE, PROFIT] {
        assert_eq!(reason(&total(id, records.clone())), UndefinedReason::NoData);
        assert_eq!(reason(&total(id, Vec::new())), UndefinedReason::NoData);
    }
    let report = run(records, &request(by_orders(), march()));
    assert_eq!(reason(&report.total), UndefinedReason::NoData);
}

#[test]
fn repeat_purchase_rate_monthly_series_keeps_history() {
    // Q1, orders basis, monthly: Jan: e0 (first) → 0/1. Feb: d1, e1 (e had e0) → 1/2.
    // Mar: 7 orders, 4 repeats (as above) → 4/7. Q1 total: 10 orders; repeats: a2, c2, c3,
    // e1, e2 → 5/10.
    let mut records = repeat_orders();
    records.push(order("e0", "e", at(1, 5, 0), 2_000));
    let mut req = request(by_orders(), window(ymd(2026, 1, 1), ymd(2026, 4, 1)));
    req.granularity = Granularity::Month;
    let report = run(records, &req);
    let got: Vec<(f64, f64)> = report.series.iter().map(|p| ratio(&p.result)).collect();
    assert_eq!(got, vec![(0.0, 1.0), (1.0, 2.0), (4.0, 7.0)]);
    assert_eq!(ratio(&report.total), (5.0, 10.0));
}

#[test]
fn repeat_purchase_rate_plan_reads_history_only_for_orders_basis() {
    let span = march();
    let settings =
        |q: MetricQuery| Settings::resolve(&REPEAT_PURCHASE_RATE.definition, &q, "m").unwrap();
    let bound = |q| match CustomerOrders
        .plan(&settings(q), span, ymd(2100, 1, 1))
        .kinds
        .remove(&RecordKind::Order)
    {
        Some(KindRead::AnyOf(bounds)) => (bounds[0].from, bounds[0].until),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        bound(MetricQuery::new(REPEAT)),
        (Some(span.start), Some(span.end))
    );
    assert_eq!(bound(by_orders()), (None, Some(span.end)));
}

#[test]
fn purchase_frequency_is_orders_per_ordering_customer() {
    // March: 7 orders by a, b, c, e → 7/4 = 1.75 (d ordered only in February).
    let result = total(FREQUENCY, repeat_orders());
    assert_eq!(result.value, Ok(Value::Number(1.75)));
    assert_eq!(
        *component(&result, "customers"),
        Component::count("customers", 4)
    );
}

#[test]
fn purchase_frequency_grouped_by_customer() {
    // Per customer: a 2, b 1, c 3, e 1 (d has no March order, so no group).
    let mut req = request(MetricQuery::new(FREQUENCY), march());
    req.group_by = vec![Dimension::CustomerId];
    let report = run(repeat_orders(), &req);
    let got: Vec<(Option<String>, Option<f64>)> = report
        .groups
        .iter()
        .map(|g| (g.key[0].clone(), g.total.scalar()))
        .collect();
    let key = |s: &str| Some(s.to_owned());
    assert_eq!(
        got,
        vec![
            (key("a"), Some(2.0)),
            (key("b"), Some(1.0)),
            (key("c"), Some(3.0)),
            (key("e"), Some(1.0)),
        ]
    );
}

#[test]
fn average_customer_value_is_revenue_per_ordering_customer() {
    // March revenue: a 150.00, b 30.00, c 30.00, e 20.00 = 230.00 over 4 customers = 57.50.
    let result = total(CUSTOMER_VALUE, repeat_orders());
    assert_eq!(money(&result), (5_750, Some(23_000), Some(4.0)));
}

#[test]
fn average_customer_value_equals_apv_times_frequency() {
    // The worked example of average_purchase_value: 100 orders totalling 10,000.00 → 100.00,
    // here by 40 customers (2.5 orders each) → value per customer 250.00 = 100.00 × 2.5.
    let records: Vec<Record> = (0..100)
        .map(|i| {
            order(
                &format!("o{i}"),
                &format!("c{}", i % 40),
                at(3, 10, 0),
                10_000,
            )
        })
        .collect();
    assert_eq!(
        scalar(records.clone(), MetricQuery::new(FREQUENCY), march()),
        2.5
    );
    let apv = scalar(
        records.clone(),
        MetricQuery::new("average_purchase_value"),
        march(),
    );
    assert_eq!(apv, 10_000.0);
    assert_eq!(
        money(&total(CUSTOMER_VALUE, records)),
        (25_000, Some(1_000_000), Some(40.0))
    );
}

#[test]
fn average_customer_value_rounds_half_to_even() {
    // 0.05 USD over 2 customers = 2.5 minor units → 2; 0.07 over 2 = 3.5 → 4.
    let two = |a, b| {
        vec![
            order("o1", "a", at(3, 1, 0), a),
            order("o2", "b", at(3, 2, 0), b),
        ]
    };
    assert_eq!(money(&total(CUSTOMER_VALUE, two(2, 3))).0, 2);
    assert_eq!(money(&total(CUSTOMER_VALUE, two(3, 4))).0, 4);
}

#[test]
fn profit_per_customer_counts_missing_cost_as_zero() {
    // a: 100.00 − 60.00 = 40.00, and 50.00 without cost = 50.00; b: 30.00 − 40.00 = −10.00;
    // an April order is outside. Profit 80.00 over 2 customers = 40.00; 1 order without cost.
    let records = vec![
        order_of("a1", "a", at(3, 1, 0), 10_000, OrderKind::New, Some(6_000)),
        order_of("a2", "a", at(3, 9, 0), 5_000, OrderKind::Repeat, None),
        order_of("b1", "b", at(3, 31, 23), 3_000, OrderKind::New, Some(4_000)),
        order_of("b2", "b", ymd(2026, 4, 1), 3_000, OrderKind::New, Some(1)),
    ];
    let result = total(PROFIT, records);
    assert_eq!(money(&result), (4_000, Some(8_000), Some(2.0)));
    assert_eq!(
        *component(&result, "orders_without_cost"),
        Component::count("orders_without_cost", 1)
    );
    assert_eq!(
        *component(&result, "profit"),
        Component::money("profit", usd(8_000))
    );
}

#[test]
fn profit_per_customer_with_costs_in_another_currency_is_an_error() {
    let mut record = order_of("a1", "a", at(3, 1, 0), 10_000, OrderKind::New, None);
    if let Record::Order(o) = &mut record {
        o.cost = Some(Money::new(Currency::parse("EUR").unwrap(), 100));
    }
    let prepared = prepare(&request(MetricQuery::new(PROFIT), march())).unwrap();
    let error = prepared
        .evaluate(&Dataset::from_records(vec![record]), None)
        .unwrap_err();
    assert!(
        matches!(error, EvalError::MixedCurrencies { .. }),
        "{error:?}"
    );
}

#[test]
fn revenue_growth_against_the_previous_month() {
    // March 1,200.00 (one at P.start, one at its last hour); February 1,000.00 (one exactly at
    // Feb 1); January and April orders are in neither. (1200 − 1000) / 1000 = 0.2.
    let records = vec![
        order("m1", "a", ymd(2026, 3, 1), 70_000),
        order("m2", "b", at(3, 31, 23), 50_000),
        order("f1", "a", ymd(2026, 2, 1), 60_000),
        order("f2", "c", at(2, 28, 23), 40_000),
        order("j1", "a", at(1, 31, 23), 99_900),
        order("x1", "a", ymd(2026, 4, 1), 99_900),
    ];
    let result = total(GROWTH, records);
    assert_eq!(ratio(&result), (20_000.0, 100_000.0));
    assert_eq!(
        *component(&result, "previous_revenue"),
        Component::money("previous_revenue", usd(100_000))
    );
}

#[test]
fn revenue_growth_undefined_without_previous_revenue() {
    // Nothing at all, or nothing in February → ZERO_DENOMINATOR; February orders totalling 0.
    let march_only = vec![order("m1", "a", at(3, 5, 0), 100)];
    for records in [Vec::new(), march_only.clone()] {
        assert_eq!(
            reason(&total(GROWTH, records)),
            UndefinedReason::ZeroDenominator
        );
    }
    let mut zero = march_only;
    zero.push(order("f1", "a", at(2, 5, 0), 0));
    let result = total(GROWTH, zero);
    assert_eq!(reason(&result), UndefinedReason::ZeroDenominator);
    // No orders now but some before: growth −1.
    let before_only = vec![order("f1", "a", at(2, 5, 0), 500)];
    assert_eq!(ratio(&total(GROWTH, before_only)), (-500.0, 500.0));
}

#[test]
fn revenue_growth_uses_calendar_months_in_the_time_zone() {
    // Europe/Warsaw March 2026 = [Feb 28 23:00Z, Mar 31 22:00Z); its previous month is local
    // February = [Jan 31 23:00Z, Feb 28 23:00Z). Orders at Feb 28 23:30Z are local March 1.
    let tz: chrono_tz::Tz = "Europe/Warsaw".parse().unwrap();
    let local_march = window(at(2, 28, 23), at(3, 31, 22));
    let records = vec![
        order("m1", "a", at(2, 28, 23) + Duration::minutes(30), 300),
        order("f1", "a", at(1, 31, 23), 200),
        order("j1", "a", at(1, 31, 22), 900),
    ];
    let mut req = request(MetricQuery::new(GROWTH), local_march);
    req.time_zone = tz;
    // (300 − 200) / 200.
    assert_eq!(ratio(&run(records, &req).total), (100.0, 200.0));
}

#[test]
fn revenue_growth_monthly_series_and_previous_period() {
    // Q1 2026 by month with compare_previous (Q4 2025, whose own growth is against Q3 2025).
    // Dec 100, Jan 200, Feb 300, Mar 150; Q3 2025 (Aug) 400.
    // Jan: (200 − 100)/100; Feb: (300 − 200)/200; Mar: (150 − 300)/300.
    // Q1 = 650 vs Q4 = 100 → 550/100. Q4 = 100 vs Q3 = 400 → −300/400.
    let records = vec![
        order("d", "a", ymd(2025, 12, 15), 100),
        order("j", "a", at(1, 15, 0), 200),
        order("f", "a", at(2, 15, 0), 300),
        order("m", "a", at(3, 15, 0), 150),
        order("q3", "a", ymd(2025, 8, 15), 400),
    ];
    let mut req = request(
        MetricQuery::new(GROWTH),
        window(ymd(2026, 1, 1), ymd(2026, 4, 1)),
    );
    req.granularity = Granularity::Month;
    req.compare_previous = true;
    let report = run(records, &req);
    let got: Vec<(f64, f64)> = report.series.iter().map(|p| ratio(&p.result)).collect();
    assert_eq!(got, vec![(100.0, 100.0), (100.0, 200.0), (-150.0, 300.0)]);
    assert_eq!(ratio(&report.total), (550.0, 100.0));
    let previous = report.previous.unwrap();
    assert_eq!(ratio(&previous.result), (-300.0, 400.0));
}

#[test]
fn revenue_growth_plan_reaches_every_previous_period() {
    // The plan's lower bound precedes the previous window of the span's previous period for
    // short, long, February and day windows, in UTC and a DST zone.
    let tz: chrono_tz::Tz = "America/New_York".parse().unwrap();
    for (start, end) in [
        (ymd(2026, 3, 1), ymd(2026, 4, 1)),
        (ymd(2026, 2, 1), ymd(2026, 3, 1)),
        (ymd(2026, 1, 1), ymd(2026, 4, 1)),
        (ymd(2026, 3, 8), ymd(2026, 3, 9)),
        (at(3, 8, 5), at(3, 9, 5)),
    ] {
        for zone in [chrono_tz::UTC, tz] {
            let w = window(start, end);
            let previous = previous_window(w, zone);
            let span = window(previous.start, w.end);
            let earliest = previous_window(previous, zone).start;
            let plan = OrdersAgainstPrevious.plan(
                &Settings::defaults(&REVENUE_GROWTH.definition),
                span,
                end,
            );
            let Some(KindRead::AnyOf(bounds)) = plan.kinds.get(&RecordKind::Order) else {
                panic!("orders not read");
            };
            assert!(bounds[0].from.unwrap() <= earliest, "{w:?} {zone}");
        }
    }
}

/// Active at March 1: a, b, c, d (g is new in March, h churned in February).
fn sell_records() -> Vec<Record> {
    vec![
        in_region(customer("a", at(1, 1, 0), None), "eu"),
        in_region(customer("b", at(1, 1, 0), None), "eu"),
        in_region(customer("c", at(1, 1, 0), Some(at(3, 20, 0))), "us"),
        customer("d", ymd(2026, 3, 1), None),
        customer("g", at(3, 10, 0), None),
        customer("h", at(1, 1, 0), Some(at(2, 10, 0))),
        // a: UPSELL order at P.start.
        order_of("o1", "a", ymd(2026, 3, 1), 100, OrderKind::Upsell, None),
        // b: won UPSELL deal in March, and a CROSS_SELL order at P's last hour.
        sale_deal(
            "d1",
            Some("b"),
            DealStatus::Won,
            DealType::Upsell,
            at(3, 5, 0),
        ),
        order_of("o2", "b", at(3, 31, 23), 100, OrderKind::CrossSell, None),
        // c: UPSELL order in February (before P), UPSELL order at P.end (after).
        order_of("o3", "c", at(2, 5, 0), 100, OrderKind::Upsell, None),
        order_of("o4", "c", ymd(2026, 4, 1), 100, OrderKind::Upsell, None),
        // d: lost UPSELL deal, won CROSS_SELL deal in March, REPEAT order.
        sale_deal(
            "d2",
            Some("d"),
            DealStatus::Lost,
            DealType::Upsell,
            at(3, 6, 0),
        ),
        sale_deal(
            "d3",
            Some("d"),
            DealStatus::Won,
            DealType::CrossSell,
            at(3, 7, 0),
        ),
        order_of("o5", "d", at(3, 8, 0), 100, OrderKind::Repeat, None),
        // g (new in March) upsells; a won UPSELL deal without a customer.
        order_of("o6", "g", at(3, 12, 0), 100, OrderKind::Upsell, None),
        sale_deal("d4", None, DealStatus::Won, DealType::Upsell, at(3, 12, 0)),
        // h churned before March and upsold in March: not in the base.
        order_of("o7", "h", at(3, 12, 0), 100, OrderKind::Upsell, None),
    ]
}

#[test]
fn upsell_and_cross_sell_rates() {
    // Upsell: a (order), b (deal) of a, b, c, d → 2/4; g and h bought but were not active.
    let upsell = total(UPSELL, sell_records());
    assert_eq!(ratio(&upsell), (2.0, 4.0));
    assert_eq!(
        *component(&upsell, "buyers_not_active_at_start"),
        Component::count("buyers_not_active_at_start", 2)
    );
    // Cross-sell: b (order at the last hour), d (won deal) → 2/4.
    assert_eq!(ratio(&total(CROSS_SELL, sell_records())), (2.0, 4.0));
}

#[test]
fn upsell_deal_won_after_as_of_is_open() {
    // As of March 5 00:00: b's deal (closed March 5 00:00) counts; as of an hour earlier it is
    // still open.
    let mut req = request(MetricQuery::new(UPSELL), march());
    req.as_of = at(3, 5, 0);
    assert_eq!(ratio(&run(sell_records(), &req).total), (2.0, 4.0));
    req.as_of = at(3, 4, 23);
    // a's order still counts; b's deal is open → 1/4 (d's lost deal never counts).
    assert_eq!(ratio(&run(sell_records(), &req).total), (1.0, 4.0));
}

#[test]
fn upsell_rate_without_active_customers() {
    let only_orders = vec![order_of(
        "o1",
        "a",
        at(3, 1, 0),
        100,
        OrderKind::Upsell,
        None,
    )];
    for records in [Vec::new(), only_orders] {
        assert_eq!(
            reason(&total(UPSELL, records)),
            UndefinedReason::ZeroDenominator
        );
    }
}

#[test]
fn upsell_rate_grouped_by_customer_region() {
    // eu: a, b → 2/2; us: c → 0/1; no region: d → 0/1 (g, h and the customer-less deal add no
    // base). Key [None] sorts first.
    let mut req = request(MetricQuery::new(UPSELL), march());
    req.group_by = vec![Dimension::CustomerAttribute("region".to_owned())];
    let report = run(sell_records(), &req);
    let got: Vec<(Option<String>, (f64, f64))> = report
        .groups
        .iter()
        .map(|g| (g.key[0].clone(), ratio(&g.total)))
        .collect();
    assert_eq!(
        got,
        vec![
            (None, (0.0, 1.0)),
            (Some("eu".to_owned()), (2.0, 2.0)),
            (Some("us".to_owned()), (0.0, 1.0)),
        ]
    );
}

#[test]
fn upsell_rate_rejects_order_only_dimensions() {
    let mut req: ComputeRequest = request(MetricQuery::new(UPSELL), march());
    req.group_by = vec![Dimension::DealType];
    assert!(prepare(&req).is_err());
}

fn arb_order() -> impl Strategy<Value = Record> {
    (
        arb_time(),
        0u32..6,
        0u32..1000,
        -500i64..5000,
        0usize..6,
        prop::option::of(0i64..3000),
    )
        .prop_map(|(t, customer, id, amount, kind, cost)| {
            let kinds = OrderKind::ALL;
            order_of(
                &format!("o{id}"),
                &format!("c{customer}"),
                t,
                amount,
                kinds[kind],
                cost,
            )
        })
}

fn arb_sell_record() -> impl Strategy<Value = Record> {
    prop_oneof![
        arb_order(),
        (arb_time(), prop::option::of(0i64..3000), 0u32..6).prop_map(|(t, churn, id)| {
            customer(&format!("c{id}"), t, churn.map(|h| t + Duration::hours(h)))
        }),
        (
            arb_time(),
            0u32..7,
            0u32..1000,
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(t, customer, id, won, upsell)| {
                let status = if won {
                    DealStatus::Won
                } else {
                    DealStatus::Lost
                };
                let deal_type = if upsell {
                    DealType::Upsell
                } else {
                    DealType::CrossSell
                };
                let customer = (customer < 6).then(|| format!("c{customer}"));
                sale_deal(&format!("d{id}"), customer.as_deref(), status, deal_type, t)
            }),
    ]
}

proptest! {
    #[test]
    fn purchase_states_merge_exactly(
        records in prop::collection::vec(arb_order(), 0..40),
        sell in prop::collection::vec(arb_sell_record(), 0..40),
        split in 0usize..40,
        rotate in 0usize..40,
        start_month in 2u32..12,
    ) {
        let period = Period {
            window: window(at(start_month, 1, 0), at(start_month + 1, 1, 0)),
            as_of: ymd(2100, 1, 1),
            time_zone: chrono_tz::UTC,
        };
        let orders_basis = Settings::resolve(&REPEAT_PURCHASE_RATE.definition, &by_orders(), "m").unwrap();
        assert_merge_property(&REPEAT_PURCHASE_RATE, &orders_basis, period, &records, split, rotate);
        for metric in [&REPEAT_PURCHASE_RATE, &PURCHASE_FREQUENCY, &AVERAGE_CUSTOMER_VALUE, &PROFIT_PER_CUSTOMER] {
            let settings = Settings::defaults(&metric.definition);
            assert_merge_property(metric, &settings, period, &records, split, rotate);
        }
        assert_merge_property(&REVENUE_GROWTH, &Settings::defaults(&REVENUE_GROWTH.definition), period, &records, split, rotate);
        for metric in [&UPSELL_RATE, &CROSS_SELL_RATE] {
            let settings = Settings::defaults(&metric.definition);
            assert_merge_property(metric, &settings, period, &sell, split, rotate);
        }
    }
}
