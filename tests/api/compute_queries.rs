//! The shape of a query: series in a time zone across DST, group-by, filters, compare_previous,
//! several metrics in one request, and the errors for unknown names.

use crm_metrics::grpc::pb;
use pb::DealStatus::{Lost, Won};

use crate::helpers::*;

#[tokio::test]
async fn daily_series_in_warsaw_cuts_buckets_at_local_midnight_across_dst() {
    // Europe/Warsaw springs forward on 29 Mar 2026 (CET+1 → CEST+2).
    // Local days 28, 29, 30 Mar = [27T23:00Z, 28T23:00Z), [28T23:00Z, 29T22:00Z), [29T22:00Z, 30T22:00Z).
    // Wins at 28T22:30Z (23:30 local on the 28th), 28T23:30Z (00:30 on the 29th),
    // 29T21:30Z (23:30 on the 29th), 29T22:30Z (00:30 on the 30th) → series 1, 2, 1.
    let mut app = TestApp::spawn().await;
    app.ingest(vec![
        deal("a", Won, ts(2026, 3, 1, 0, 0), ts(2026, 3, 28, 22, 30), 100),
        deal("b", Won, ts(2026, 3, 1, 0, 0), ts(2026, 3, 28, 23, 30), 100),
        deal("c", Won, ts(2026, 3, 1, 0, 0), ts(2026, 3, 29, 21, 30), 100),
        deal("d", Won, ts(2026, 3, 1, 0, 0), ts(2026, 3, 29, 22, 30), 100),
    ])
    .await;
    let mut request = app.request(
        vec![metric("deals_won")],
        pb::TimeWindow {
            start: ts(2026, 3, 27, 23, 0),
            end: ts(2026, 3, 30, 22, 0),
        },
    );
    request.time_zone = "Europe/Warsaw".to_owned();
    request.granularity = pb::Granularity::Day as i32;
    let response = app.compute(request).await;
    assert_eq!(response.time_zone, "Europe/Warsaw");
    let series = &response.reports[0].series;
    let counts: Vec<u64> = series
        .iter()
        .map(|p| count(p.result.as_ref().unwrap()))
        .collect();
    assert_eq!(counts, vec![1, 2, 1]);
    let middle = series[1].window.as_ref().unwrap();
    assert_eq!(middle.start, ts(2026, 3, 28, 23, 0));
    assert_eq!(middle.end, ts(2026, 3, 29, 22, 0));
    assert_eq!(count(response.reports[0].total.as_ref().unwrap()), 4);
}

fn owned_deal(
    id: &str,
    owner: &str,
    status: pb::DealStatus,
    deal_type: pb::DealType,
) -> pb::CrmRecord {
    let mut record = deal(id, status, ts(2026, 3, 1, 0, 0), ts(2026, 3, 10, 0, 0), 100);
    if let Some(pb::crm_record::Kind::Deal(d)) = &mut record.kind {
        d.owner_id = Some(owner.to_owned());
        d.deal_type = deal_type as i32;
    }
    record
}

#[tokio::test]
async fn group_by_owner_and_filter_by_deal_type() {
    // ann: 2 won, 1 lost (one of the wins is an upsell); bob: 1 won, 3 lost.
    // By owner: ann 2/3, bob 1/4. Filtered to new business: ann 1/2, bob 1/4.
    let mut app = TestApp::spawn().await;
    use pb::DealType::{NewBusiness, Upsell};
    app.ingest(vec![
        owned_deal("a1", "ann", Won, NewBusiness),
        owned_deal("a2", "ann", Won, Upsell),
        owned_deal("a3", "ann", Lost, NewBusiness),
        owned_deal("b1", "bob", Won, NewBusiness),
        owned_deal("b2", "bob", Lost, NewBusiness),
        owned_deal("b3", "bob", Lost, NewBusiness),
        owned_deal("b4", "bob", Lost, NewBusiness),
    ])
    .await;
    let mut request = app.request(vec![metric("win_rate")], march());
    request.group_by = vec!["owner_id".to_owned()];
    let response = app.compute(request.clone()).await;
    let groups = &response.reports[0].groups;
    let by_owner = |owner: &str| {
        let group = groups
            .iter()
            .find(|g| g.key[0].value.as_deref() == Some(owner))
            .unwrap_or_else(|| panic!("no group {owner}"));
        assert_eq!(group.key[0].dimension, "owner_id");
        let (_, numerator, denominator) = ratio(group.total.as_ref().unwrap());
        (numerator, denominator)
    };
    assert_eq!(by_owner("ann"), (2.0, 3.0));
    assert_eq!(by_owner("bob"), (1.0, 4.0));
    assert_eq!(ratio(response.reports[0].total.as_ref().unwrap()).1, 3.0);

    request.filters = vec![pb::Filter {
        dimension: "deal_type".to_owned(),
        values: vec!["new_business".to_owned()],
        exclude: false,
    }];
    let filtered = app.compute(request).await;
    let groups = &filtered.reports[0].groups;
    let ann = groups
        .iter()
        .find(|g| g.key[0].value.as_deref() == Some("ann"))
        .unwrap();
    assert_eq!(ratio(ann.total.as_ref().unwrap()), (0.5, 1.0, 2.0));
}

#[tokio::test]
async fn compare_previous_returns_the_previous_month_and_the_change() {
    // February revenue 1,000.00; March 1,500.00 → change +500.00 (50,000 minor), +50 %.
    let mut app = TestApp::spawn().await;
    app.ingest(vec![
        order("feb", "c1", ts(2026, 2, 14, 0, 0), 100_000),
        order("mar1", "c1", ts(2026, 3, 2, 0, 0), 100_000),
        order("mar2", "c2", ts(2026, 3, 3, 0, 0), 50_000),
    ])
    .await;
    let mut request = app.request(vec![metric("revenue")], march());
    request.compare_previous = true;
    let response = app.compute(request).await;
    let previous = response.reports[0]
        .previous
        .as_ref()
        .expect("previous period");
    assert_eq!(previous.window, Some(window((2026, 2, 1), (2026, 3, 1))));
    assert_eq!(
        money(previous.result.as_ref().unwrap()),
        ("USD".to_owned(), 100_000)
    );
    assert_eq!(previous.absolute_change, Some(50_000.0));
    assert_eq!(previous.relative_change, Some(0.5));
}

#[tokio::test]
async fn several_metrics_share_one_request() {
    let mut app = TestApp::spawn().await;
    app.ingest(vec![
        deal("w", Won, ts(2026, 3, 1, 0, 0), ts(2026, 3, 2, 0, 0), 100),
        survey("s", pb::SurveyType::Nps, 0, (0, 10), ts(2026, 3, 2, 0, 0)),
    ])
    .await;
    let request = app.request(
        vec![metric("deals_won"), metric("nps"), metric("win_rate")],
        march(),
    );
    let response = app.compute(request).await;
    let ids: Vec<&str> = response.reports.iter().map(|r| r.metric.as_str()).collect();
    assert_eq!(ids, vec!["deals_won", "nps", "win_rate"]);
    assert_eq!(score(response.reports[1].total.as_ref().unwrap()), -100.0);
}

#[tokio::test]
async fn unknown_names_are_invalid_arguments_naming_the_field() {
    let mut app = TestApp::spawn().await;
    let mut request = app.request(
        vec![
            metric("no_such_metric"),
            metric_with_policy("win_rate", "basis", "vibes"),
        ],
        march(),
    );
    request.time_zone = "Mars/Olympus".to_owned();
    let status = app.try_compute(request).await.expect_err("rejected");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let fields = violations(&status);
    assert!(fields.contains(&"time_zone".to_owned()), "{fields:?}");

    let request = app.request(
        vec![
            metric("no_such_metric"),
            metric_with_policy("win_rate", "basis", "vibes"),
        ],
        march(),
    );
    let status = app.try_compute(request).await.expect_err("rejected");
    let fields = violations(&status);
    assert!(
        fields.contains(&"metrics[0].metric".to_owned()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"metrics[1].policies[basis]".to_owned()),
        "{fields:?}"
    );
    assert!(
        status.message().contains("closed, cohort"),
        "{}",
        status.message()
    );

    // An unknown dimension name, then a known one that deals cannot answer.
    let mut request = app.request(vec![metric("win_rate")], march());
    request.group_by = vec!["owner_id".to_owned(), "planet".to_owned()];
    let status = app.try_compute(request).await.expect_err("rejected");
    assert_eq!(violations(&status), vec!["group_by[1]".to_owned()]);
    assert!(
        status.message().contains("customer.attr.<key>"),
        "{}",
        status.message()
    );
    let mut request = app.request(vec![metric("win_rate")], march());
    request.group_by = vec!["assignee_id".to_owned()];
    let status = app.try_compute(request).await.expect_err("rejected");
    assert_eq!(violations(&status), vec!["group_by[0]".to_owned()]);
    assert!(
        status
            .message()
            .contains("does not apply to metric win_rate"),
        "{}",
        status.message()
    );

    let request = app.request(vec![metric("win_rate")], window((2026, 4, 1), (2026, 3, 1)));
    let status = app.try_compute(request).await.expect_err("rejected");
    assert!(
        violations(&status).iter().any(|f| f.starts_with("window")),
        "{:?}",
        violations(&status)
    );
}

#[tokio::test]
async fn money_is_never_summed_across_currencies_nor_silently_reported_in_another() {
    // 100.00 USD and 50.00 EUR in March: no exchange rates, so revenue cannot be one amount.
    let mut app = TestApp::spawn().await;
    let euro = in_euros(order("eur", "c2", ts(2026, 3, 3, 0, 0), 5_000));
    app.ingest(vec![order("usd", "c1", ts(2026, 3, 2, 0, 0), 10_000), euro])
        .await;
    let status = app
        .try_compute(app.request(vec![metric("revenue")], march()))
        .await
        .expect_err("mixed currencies");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status.message().contains("EUR, USD"),
        "{}",
        status.message()
    );

    // Filtered to the USD customer, a USD report works; asking for it in EUR without any
    // exchange rate is refused, naming the currency no rate reaches.
    let mut request = app.request(vec![metric("revenue")], march());
    request.filters = vec![pb::Filter {
        dimension: "customer_id".to_owned(),
        values: vec!["c1".to_owned()],
        exclude: false,
    }];
    let usd_only = app.compute(request.clone()).await;
    assert_eq!(
        money(usd_only.reports[0].total.as_ref().unwrap()),
        ("USD".to_owned(), 10_000)
    );
    request.reporting_currency = "EUR".to_owned();
    let status = app
        .try_compute(request)
        .await
        .expect_err("no exchange rate");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status
            .message()
            .contains("no exchange rate path reaches EUR"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn amounts_are_converted_with_the_rate_of_their_records_date() {
    // Rates into USD (the base): EUR 1.10 from 1 Mar, 1.30 from 20 Mar.
    // Orders: 100.00 USD (2 Mar), 50.00 EUR (3 Mar, at 1.10 → 55.00 USD), 10.00 EUR (25 Mar, at
    // 1.30 → 13.00 USD). Revenue in USD: 100.00 + 55.00 + 13.00 = 168.00.
    // In EUR: 100.00 USD / 1.10 = 90.909… → 90.91, + 50.00 + 10.00 = 150.91 EUR.
    let mut app = TestApp::spawn().await;
    app.set_settings(pb::TenantSettings {
        base_currency: "USD".to_owned(),
        ..Default::default()
    })
    .await;
    let euro = in_euros(order("eur", "c2", ts(2026, 3, 3, 0, 0), 5_000));
    let late_euro = in_euros(order("eur-late", "c2", ts(2026, 3, 25, 0, 0), 1_000));
    app.ingest(vec![
        rate("r1", "EUR", "2026-03-01", "1.10"),
        rate("r2", "EUR", "2026-03-20", "1.30"),
        order("usd", "c1", ts(2026, 3, 2, 0, 0), 10_000),
        euro,
        late_euro,
    ])
    .await;
    let mut request = app.request(vec![metric("revenue")], march());
    request.reporting_currency = "USD".to_owned();
    let usd = app.compute(request.clone()).await;
    assert_eq!(
        money(usd.reports[0].total.as_ref().unwrap()),
        ("USD".to_owned(), 16_800)
    );
    request.reporting_currency = "EUR".to_owned();
    let eur = app.compute(request).await;
    assert_eq!(
        money(eur.reports[0].total.as_ref().unwrap()),
        ("EUR".to_owned(), 15_091)
    );
}

#[tokio::test]
async fn a_write_is_visible_to_a_read_carrying_its_consistency_token() {
    let mut app = TestApp::spawn().await;
    let ack = app
        .ingest(vec![deal(
            "w",
            Won,
            ts(2026, 3, 1, 0, 0),
            ts(2026, 3, 2, 0, 0),
            100,
        )])
        .await;
    let mut request = app.request(vec![metric("deals_won")], march());
    request.min_consistency_token = ack.consistency_token.clone();
    let response = app.compute(request.clone()).await;
    assert_eq!(count(response.reports[0].total.as_ref().unwrap()), 1);
    request.min_consistency_token = "yesterday".to_owned();
    let status = app.try_compute(request).await.expect_err("malformed token");
    assert_eq!(
        violations(&status),
        vec!["min_consistency_token".to_owned()]
    );
}

#[tokio::test]
async fn a_tenants_configured_currency_applies_when_the_request_names_none() {
    // acme, with no stored settings, reports in EUR by the service's flags, its rates convert
    // into USD: 110.00 USD on 2 Mar at EUR = 1.10 USD → 100.00 EUR.
    let mut app = TestApp::spawn_with(|config| {
        config.tenant_currencies = vec!["acme=EUR".to_owned()];
        config.base_currency = Some("USD".to_owned());
    })
    .await;
    app.ingest(vec![
        rate("r1", "EUR", "2026-03-01", "1.10"),
        order("usd", "c1", ts(2026, 3, 2, 0, 0), 11_000),
    ])
    .await;
    let report = app.report(metric("revenue"), march()).await;
    assert_eq!(
        money(report.total.as_ref().unwrap()),
        ("EUR".to_owned(), 10_000)
    );
}
