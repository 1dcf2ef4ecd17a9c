//! Bounded results: a group-by over many groups with a long series is paged (or refused before
//! any work when the page asked for is too large), top-N by value, and size limits on responses
//! and kept results.

use prost::Message;

use crate::helpers::*;
use crm_metrics::grpc::pb;

const CUSTOMERS: u32 = 20_000;

/// One order per customer `c00000`…`c19999` in 2026, customer i ordering 100 + i cents on day
/// i mod 365.
async fn ingest_customers_orders(app: &mut TestApp) {
    let orders: Vec<pb::Record> = (0..CUSTOMERS)
        .map(|i| {
            let day = chrono::NaiveDate::from_yo_opt(2026, 1 + i % 365)
                .expect("a day of 2026")
                .and_hms_opt(12, 0, 0)
                .expect("noon");
            let seconds = day.and_utc().timestamp();
            order(
                &format!("o{i:05}"),
                &format!("c{i:05}"),
                Some(prost_types::Timestamp { seconds, nanos: 0 }),
                100 + i64::from(i),
            )
        })
        .collect();
    for batch in orders.chunks(10_000) {
        app.ingest(batch.to_vec()).await;
    }
}

fn daily_revenue_by_customer(app: &TestApp) -> pb::ComputeMetricsRequest {
    let mut request = app.request(vec![metric("revenue")], window((2026, 1, 1), (2027, 1, 1)));
    request.granularity = pb::Granularity::Day as i32;
    request.group_by = vec!["customer_id".to_owned()];
    request.as_of = ts(2027, 1, 1, 0, 0);
    request
}

/// A line of /proc/self/status in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a memory figure")
}

fn keys(report: &pb::MetricReport) -> Vec<String> {
    report
        .groups
        .iter()
        .map(|g| g.key[0].value.clone().expect("a customer id"))
        .collect()
}

#[tokio::test]
async fn a_daily_group_by_over_twenty_thousand_customers_is_paged_in_bounded_memory() {
    let mut app = TestApp::spawn().await;
    ingest_customers_orders(&mut app).await;
    // Warm the tenant's snapshot, then measure the peak memory of the grouped query alone.
    app.report(metric("revenue"), window((2026, 1, 1), (2027, 1, 1)))
        .await;
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak resident set");
    let resident_before = status_kib("VmRSS:");
    let first = app.compute(daily_revenue_by_customer(&app)).await;
    let peak_growth_mib = status_kib("VmHWM:").saturating_sub(resident_before) / 1024;
    assert!(
        peak_growth_mib < 100,
        "the query grew memory by {peak_growth_mib} MiB"
    );
    // A group carries 1 + 365 values: the default page is as many as fit in 50,000 values.
    let report = &first.reports[0];
    assert_eq!(report.group_count, u64::from(CUSTOMERS));
    assert_eq!(report.groups.len(), (50_000 - 366) / 366);
    assert_eq!(report.groups[0].series.len(), 365);
    assert!(first.encoded_len() < 4 * 1024 * 1024);
    let first_keys = keys(report);
    assert_eq!(first_keys[0], "c00000");
    assert_eq!(first_keys[134], "c00134");
    // Customer 7 ordered 107 cents on day 8 (8 January); the next day has no orders.
    let customer_7 = &report.groups[7];
    assert_eq!(money(customer_7.total.as_ref().unwrap()).1, 107);
    assert_eq!(money(customer_7.series[7].result.as_ref().unwrap()).1, 107);
    let next_day = customer_7.series[8].result.as_ref().unwrap();
    assert_eq!(
        next_day.undefined_reason,
        pb::UndefinedReason::NoData as i32
    );
    assert!(!first.next_page_token.is_empty());

    let mut next = daily_revenue_by_customer(&app);
    next.page_token = first.next_page_token.clone();
    let second = app.compute(next).await;
    let second_keys = keys(&second.reports[0]);
    assert_eq!(second_keys[0], "c00135");
    assert_eq!(second_keys.len(), 135);

    // The same token with another request is refused.
    let mut other = daily_revenue_by_customer(&app);
    other.granularity = pb::Granularity::Week as i32;
    other.page_token = first.next_page_token;
    let status = app.try_compute(other).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(violations(&status), ["page_token"]);
    app.shutdown().await;
}

#[tokio::test]
async fn a_page_too_large_for_the_result_limit_is_refused_naming_the_limit() {
    let mut app = TestApp::spawn().await;
    ingest_customers_orders(&mut app).await;
    let mut request = daily_revenue_by_customer(&app);
    request.group_limit = 1000;
    let status = app.try_compute(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(violations(&status), ["group_limit"]);
    assert!(
        status.message().contains("at most 50000"),
        "{}",
        status.message()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_top_groups_by_value_come_first_and_pages_follow() {
    let mut app = TestApp::spawn().await;
    ingest_customers_orders(&mut app).await;
    let mut request = app.request(vec![metric("revenue")], window((2026, 1, 1), (2027, 1, 1)));
    request.group_by = vec!["customer_id".to_owned()];
    request.as_of = ts(2027, 1, 1, 0, 0);
    request.group_order = pb::GroupOrder::ValueDescending as i32;
    request.group_limit = 3;
    let top = app.compute(request.clone()).await;
    assert_eq!(keys(&top.reports[0]), ["c19999", "c19998", "c19997"]);
    assert_eq!(
        money(top.reports[0].groups[0].total.as_ref().unwrap()).1,
        100 + 19_999
    );
    request.page_token = top.next_page_token;
    let next = app.compute(request.clone()).await;
    assert_eq!(keys(&next.reports[0]), ["c19996", "c19995", "c19994"]);
    request.group_order = pb::GroupOrder::ValueAscending as i32;
    request.page_token = String::new();
    let bottom = app.compute(request).await;
    assert_eq!(keys(&bottom.reports[0]), ["c00000", "c00001", "c00002"]);
    app.shutdown().await;
}

#[tokio::test]
async fn responses_and_kept_results_over_their_size_limits_are_refused() {
    let mut app = TestApp::spawn_with(|config| {
        config.max_response_bytes = 512 * 1024;
        config.max_saved_result_bytes = 16 * 1024;
    })
    .await;
    ingest_customers_orders(&mut app).await;
    let request = daily_revenue_by_customer(&app);
    let status = app.try_compute(request.clone()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(violations(&status), ["group_limit"]);
    assert!(
        status.message().contains("--max-response-bytes"),
        "{}",
        status.message()
    );
    // Ten groups of a year of days (about 240 KB) fit in 512 KiB but not in the 16 KiB a kept result may hold.
    let mut request = request;
    request.group_limit = 10;
    let response = app.compute(request.clone()).await;
    assert!(response.encoded_len() > 16 * 1024);
    request.save = true;
    let status = app.try_compute(request.clone()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(violations(&status), ["save"]);
    assert!(
        status.message().contains("--max-saved-result-bytes"),
        "{}",
        status.message()
    );
    request.group_limit = 1;
    request.granularity = pb::Granularity::Month as i32;
    let kept = app.compute(request).await;
    assert!(!kept.computation_id.is_empty());
    app.shutdown().await;
}
