//! Bounded results: a group-by over many groups with a long series is paged (or refused before
//! any work when the page asked for is too large), top-N by value, and size limits on responses
//! and kept results. The memory the paged query takes is measured alone, in
//! `tests/bounded_memory.rs`.

use prost::Message;

use crate::helpers::*;
use crate::many_customers::*;
use crm_metrics::grpc::pb;

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
