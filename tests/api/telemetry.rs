//! Telemetry a platform team reads: the Prometheus scrape of the admin port, liveness and
//! readiness, and (from the real binary) access-log lines with trace ids, span status codes and
//! metrics pushed over OTLP.

use crate::helpers::*;
use crm_metrics::grpc::pb;
use crm_metrics_testkit::drop_database;

/// The value of the first sample line starting with `prefix` and holding every label in `labels`.
fn sample(scrape: &str, prefix: &str, labels: &[&str]) -> Option<f64> {
    scrape
        .lines()
        .filter(|line| line.starts_with(prefix))
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn a_scrape_after_calls_shows_durations_per_method_and_code_and_ingested_records() {
    let mut app = TestApp::spawn().await;
    app.ingest(vec![
        deal(
            "d1",
            pb::DealStatus::Won,
            ts(2026, 3, 1, 0, 0),
            ts(2026, 3, 2, 0, 0),
            100,
        ),
        deal(
            "d2",
            pb::DealStatus::Lost,
            ts(2026, 3, 1, 0, 0),
            ts(2026, 3, 3, 0, 0),
            100,
        ),
    ])
    .await;
    // The same d1 again: unchanged.
    app.ingest(vec![deal(
        "d1",
        pb::DealStatus::Won,
        ts(2026, 3, 1, 0, 0),
        ts(2026, 3, 2, 0, 0),
        100,
    )])
    .await;
    for _ in 0..3 {
        app.report(metric("win_rate"), march()).await;
    }
    let unknown = app
        .try_compute(app.request(vec![metric("no_such_metric")], march()))
        .await
        .expect_err("an unknown metric is refused");
    assert_eq!(unknown.code(), tonic::Code::InvalidArgument);

    let (status, scrape) = admin_get(app.admin, "/metrics").await;
    assert_eq!(status, 200);
    let compute = [
        "rpc_service=\"crm.metrics.v1.MetricsService\"",
        "rpc_method=\"ComputeMetrics\"",
    ];
    let count = |code: &str| {
        let mut labels = compute.to_vec();
        labels.push(code);
        sample(&scrape, "rpc_server_duration_milliseconds_count{", &labels)
    };
    assert_eq!(count("rpc_grpc_status_code=\"0\""), Some(3.0), "{scrape}");
    assert_eq!(count("rpc_grpc_status_code=\"3\""), Some(1.0), "{scrape}");
    // Buckets are cumulative: the +Inf bucket holds every call.
    let mut inf = compute.to_vec();
    inf.extend(["rpc_grpc_status_code=\"0\"", "le=\"+Inf\""]);
    assert_eq!(
        sample(&scrape, "rpc_server_duration_milliseconds_bucket{", &inf),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &scrape,
            "rpc_server_duration_milliseconds_count{",
            &["rpc_method=\"IngestRecords\"", "rpc_grpc_status_code=\"0\""]
        ),
        Some(2.0)
    );
    // Nothing is in flight once the calls returned.
    assert_eq!(
        sample(
            &scrape,
            "rpc_server_active_requests{",
            &["rpc_method=\"ComputeMetrics\""]
        ),
        Some(0.0)
    );
    let ingested = |outcome: &str| {
        sample(
            &scrape,
            "crm_records_ingested_total{",
            &["record_kind=\"deal\"", outcome],
        )
    };
    assert_eq!(ingested("outcome=\"created\""), Some(2.0));
    assert_eq!(ingested("outcome=\"unchanged\""), Some(1.0));
    assert_eq!(ingested("outcome=\"updated\""), None);
    assert!(
        sample(&scrape, "db_client_connection_max{", &[]).is_some_and(|max| max >= 1.0),
        "{scrape}"
    );
    assert!(
        sample(&scrape, "crm_snapshot_memory_bytes{", &[]).is_some(),
        "{scrape}"
    );
}

#[tokio::test]
async fn a_made_up_path_is_counted_as_other_and_not_by_its_name() {
    let app = TestApp::spawn().await;
    let mut client = tonic::client::Grpc::new(app.channel.clone());
    client.ready().await.expect("ready");
    let path = http::uri::PathAndQuery::from_static("/made.up.Service/Nothing");
    let codec =
        tonic_prost::ProstCodec::<pb::ListMetricsRequest, pb::ListMetricsResponse>::default();
    let status = client
        .unary(
            tonic::Request::new(pb::ListMetricsRequest::default()),
            path,
            codec,
        )
        .await
        .expect_err("no such method");
    assert_eq!(status.code(), tonic::Code::Unimplemented);
    let (_, scrape) = admin_get(app.admin, "/metrics").await;
    assert!(!scrape.contains("made.up"), "{scrape}");
    assert_eq!(
        sample(
            &scrape,
            "rpc_server_duration_milliseconds_count{",
            &["rpc_method=\"_OTHER\"", "rpc_grpc_status_code=\"12\""]
        ),
        Some(1.0),
        "{scrape}"
    );
}

#[tokio::test]
async fn livez_stays_ok_and_readyz_fails_while_the_database_is_gone() {
    let (app, database) = TestApp::spawn_with_database().await;
    assert_eq!(
        admin_get(app.admin, "/readyz").await,
        (200, "ready\n".to_owned())
    );
    drop_database(database.url())
        .await
        .expect("the test database dropped");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (status, body) = admin_get(app.admin, "/readyz").await;
        if status == 503 {
            assert_eq!(body, "database unreachable\n");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still ready: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        admin_get(app.admin, "/livez").await,
        (200, "ok\n".to_owned())
    );
}

#[tokio::test]
async fn readyz_fails_as_soon_as_the_drain_starts() {
    let mut app = TestApp::spawn_with(|config| config.drain_delay_seconds = 2).await;
    app.begin_shutdown();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let (status, body) = admin_get(app.admin, "/readyz").await;
        if status == 503 {
            assert_eq!(body, "draining\n");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still ready: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(admin_get(app.admin, "/livez").await.0, 200);
    app.shutdown().await;
}
