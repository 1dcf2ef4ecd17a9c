//! The grouped daily query over 20,000 customers, answered paged in bounded memory. It runs alone
//! in its own test process, so the server's peak memory it measures is this query's only.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "api/many_customers.rs"]
mod many_customers;

use crm_metrics::grpc::pb;
use helpers::*;
use many_customers::*;
use prost::Message;

/// A line of /proc/self/status in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a memory figure")
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
