//! Admission control: computations beyond the slots wait in a bounded queue; beyond the queue
//! they are refused with RESOURCE_EXHAUSTED and a retry delay, and never failed otherwise.

use std::sync::Arc;

use crm_metrics::grpc::pb;
use pb::DealStatus::{Lost, Open, Won};
use tonic_types::StatusExt;

use crate::helpers::*;

/// Concurrent calls per burst.
const BURST: usize = 40;
/// Bursts tried before giving up on seeing a refusal.
const MAX_BURSTS: usize = 5;

/// A year of deals, enough that one computation takes a few milliseconds.
fn deals(count: u32) -> Vec<pb::CrmRecord> {
    (0..count)
        .map(|i| {
            let month = 1 + i % 12;
            let day = 1 + i % 27;
            let (status, closed) = match i % 3 {
                0 => (Won, ts(2025, month, day + 1, 12, 0)),
                1 => (Lost, ts(2025, month, day + 1, 12, 0)),
                _ => (Open, None),
            };
            deal(
                &format!("d{i}"),
                status,
                ts(2025, month, day, 9, 0),
                closed,
                10_000 + i64::from(i),
            )
        })
        .collect()
}

/// The outcome of each of `BURST` calls started together.
async fn burst(
    app: &TestApp,
    request: &pb::ComputeMetricsRequest,
) -> Vec<Result<(), tonic::Status>> {
    let start = Arc::new(tokio::sync::Barrier::new(BURST));
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..BURST {
        let mut client = app.metrics.clone();
        let request = request.clone();
        let start = start.clone();
        calls.spawn(async move {
            start.wait().await;
            client.compute_metrics(request).await.map(|_| ())
        });
    }
    calls.join_all().await
}

/// Four metrics of a year by month: a few milliseconds each.
fn year_by_month(app: &TestApp) -> pb::ComputeMetricsRequest {
    let mut request = app.request(
        vec![
            metric("win_rate"),
            metric("average_deal_size"),
            metric("deals_won"),
            metric("pipeline_value"),
        ],
        window((2025, 1, 1), (2026, 1, 1)),
    );
    request.granularity = pb::Granularity::Month as i32;
    request
}

/// Asserts that `status` is a refusal at capacity with a retry delay.
fn assert_refused(status: &tonic::Status) {
    assert_eq!(
        status.code(),
        tonic::Code::ResourceExhausted,
        "a call failed otherwise than refused: {status:?}"
    );
    assert!(
        status.message().contains("at capacity"),
        "{}",
        status.message()
    );
    let retry = status
        .get_details_retry_info()
        .expect("a refusal carries RetryInfo");
    assert!(retry.retry_delay.is_some_and(|d| !d.is_zero()));
}

#[tokio::test]
async fn computations_beyond_the_slots_and_the_queue_are_refused_with_a_retry_delay() {
    for queue in [0, 3] {
        computations_beyond_capacity_are_refused(queue).await;
    }
}

async fn computations_beyond_capacity_are_refused(queue: usize) {
    let mut app = TestApp::spawn_with(|config| {
        config.max_concurrent_computations = 1;
        config.max_queued_computations = queue;
    })
    .await;
    app.ingest(deals(5_000)).await;
    let request = year_by_month(&app);

    let (mut succeeded, mut refused) = (0, 0);
    for _ in 0..MAX_BURSTS {
        for outcome in burst(&app, &request).await {
            match outcome {
                Ok(()) => succeeded += 1,
                Err(status) => {
                    assert_refused(&status);
                    refused += 1;
                }
            }
        }
        // Bursts are started together, but scheduling is not under the test's control: another
        // burst is tried only in the unlikely case that every call found the slot free.
        if refused > 0 {
            break;
        }
    }
    assert!(succeeded >= 1, "no call was admitted");
    assert!(
        refused >= 1,
        "no call was refused in {MAX_BURSTS} bursts of {BURST}"
    );

    // With the load gone, a call is admitted again.
    let response = app.compute(request).await;
    assert_eq!(response.reports.len(), 4);
    app.shutdown().await;
}

#[tokio::test]
async fn a_burst_within_the_slots_and_the_queue_is_answered_in_full() {
    // One slot and a queue of BURST: however the calls of a burst interleave, each finds the
    // slot free or a place in the queue, so every one is answered.
    let mut app = TestApp::spawn_with(|config| {
        config.max_concurrent_computations = 1;
        config.max_queued_computations = BURST;
    })
    .await;
    app.ingest(deals(2_000)).await;
    let request = year_by_month(&app);
    let outcomes = burst(&app, &request).await;
    let failures: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(outcomes.len(), BURST);
    app.shutdown().await;
}

#[tokio::test]
async fn zero_concurrent_computations_is_a_startup_error() {
    let database = fresh_database().await.expect("a fresh test database");
    let mut config = crm_metrics::config::Config::for_database(
        database.url().to_owned(),
        "127.0.0.1:0".parse().expect("address"),
    )
    .expect("the default configuration");
    config.max_concurrent_computations = 0;
    let error = crm_metrics::startup::Application::build(config)
        .await
        .err()
        .expect("zero computations is refused");
    assert!(
        error.to_string().contains("--max-concurrent-computations"),
        "{error}"
    );
}
