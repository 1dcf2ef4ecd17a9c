//! Revenue and retention metrics through the API (docs/metrics.md).

use crate::helpers::*;

#[tokio::test]
async fn revenue_sums_orders_in_the_window_exactly() {
    // In March: 100.00 + 250.50; 1 Apr 00:00 is outside; 1 Mar 00:00 is inside → 100.00 + 250.50 + 0.01.
    let mut app = TestApp::spawn().await;
    app.ingest(vec![
        order("o1", "c1", ts(2026, 3, 5, 0, 0), 10_000),
        order("o2", "c2", ts(2026, 3, 31, 23, 59), 25_050),
        order("o3", "c1", ts(2026, 4, 1, 0, 0), 99_999),
        order("o4", "c3", ts(2026, 3, 1, 0, 0), 1),
    ])
    .await;
    let report = app.report(metric("revenue"), march()).await;
    assert_eq!(
        money(report.total.as_ref().unwrap()),
        ("USD".to_owned(), 35_051)
    );
}

#[tokio::test]
async fn average_purchase_value_worked_example() {
    // docs/metrics.md: one month, 100 orders totalling 10,000.00 USD → 100.00 USD.
    let mut app = TestApp::spawn().await;
    // 50 orders of 150.00 and 50 of 50.00 USD: 10,000.00 in all, 100 orders → 100.00.
    let orders = (0..100u32)
        .map(|i| {
            let amount = if i % 2 == 0 { 15_000 } else { 5_000 };
            order(
                &format!("o{i}"),
                &format!("c{}", i % 7),
                ts(2026, 3, 1 + i % 28, 9, 0),
                amount,
            )
        })
        .collect();
    app.ingest(orders).await;
    let report = app.report(metric("average_purchase_value"), march()).await;
    let total = report.total.unwrap();
    assert_eq!(money(&total), ("USD".to_owned(), 10_000));
}

#[tokio::test]
async fn net_new_revenue_worked_example() {
    // docs/metrics.md: revenue in P 100,000 USD, of which 40,000 from customers acquired before P → 60,000.
    let mut app = TestApp::spawn().await;
    app.ingest(vec![
        customer("old", ts(2025, 6, 1, 0, 0), None),
        customer("new", ts(2026, 3, 2, 0, 0), None),
        order("o1", "old", ts(2026, 3, 3, 0, 0), 4_000_000),
        order("o2", "new", ts(2026, 3, 4, 0, 0), 2_500_000),
        order("o3", "new", ts(2026, 3, 20, 0, 0), 3_500_000),
    ])
    .await;
    let report = app.report(metric("net_new_revenue"), march()).await;
    assert_eq!(
        money(report.total.as_ref().unwrap()),
        ("USD".to_owned(), 6_000_000)
    );
}

#[tokio::test]
async fn churn_and_retention_count_customer_states() {
    // a, b, c acquired in January: active at 1 Mar (S = 3). a churns on 10 Mar (churned in P).
    // d acquired 5 Mar and churned 20 Mar: in neither. e acquired 5 Mar: new and still active.
    // churn = 1 / 3. Retention: active at the end E = {b, c, e}; new still active N = {e};
    // (E − N) / S = 2 / 3 — the customers of the start still there at the end.
    let mut app = TestApp::spawn().await;
    app.ingest(vec![
        customer("a", ts(2026, 1, 1, 0, 0), ts(2026, 3, 10, 0, 0)),
        customer("b", ts(2026, 1, 1, 0, 0), None),
        customer("c", ts(2026, 1, 1, 0, 0), ts(2026, 4, 1, 0, 0)),
        customer("d", ts(2026, 3, 5, 0, 0), ts(2026, 3, 20, 0, 0)),
        customer("e", ts(2026, 3, 5, 0, 0), None),
    ])
    .await;
    let churn = app.report(metric("customer_churn_rate"), march()).await;
    let (value, numerator, denominator) = ratio(churn.total.as_ref().unwrap());
    assert_eq!((numerator, denominator), (1.0, 3.0));
    assert!((value - 1.0 / 3.0).abs() < 1e-12);
    let retention = app.report(metric("customer_retention_rate"), march()).await;
    let (value, numerator, denominator) = ratio(retention.total.as_ref().unwrap());
    assert_eq!((numerator, denominator), (2.0, 3.0));
    assert!((value - 2.0 / 3.0).abs() < 1e-12);
}
