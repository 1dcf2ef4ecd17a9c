//! The service around the metrics: health, reflection, the catalog, graceful shutdown.

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::*;
use crm_metrics::grpc::pb;
use crm_metrics_testkit::drop_database;

#[tokio::test]
async fn health_reports_serving_overall_and_per_service() {
    let app = TestApp::spawn().await;
    let mut health = HealthClient::new(app.channel.clone());
    for service in [
        "",
        "crm.metrics.v1.IngestService",
        "crm.metrics.v1.MetricsService",
        "crm.metrics.v1.TenantService",
    ] {
        let response = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .expect("health answers")
            .into_inner();
        assert_eq!(
            response.status,
            ServingStatus::Serving as i32,
            "service '{service}'"
        );
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "nope.Service".to_owned(),
        })
        .await
        .expect_err("unknown service");
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    app.shutdown().await;
}

#[tokio::test]
async fn health_turns_not_serving_when_the_database_is_gone() {
    let (app, database) = TestApp::spawn_with_database().await;
    let mut health = HealthClient::new(app.channel.clone());
    drop_database(database.url())
        .await
        .expect("the test database dropped");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let status = health
            .check(HealthCheckRequest {
                service: "crm.metrics.v1.MetricsService".to_owned(),
            })
            .await
            .expect("health answers")
            .into_inner()
            .status;
        if status == ServingStatus::NotServing as i32 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {status} after the database was dropped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn health_and_metrics_accept_gzip_compressed_calls() {
    // A client that compresses everything on the channel reaches every service.
    let app = TestApp::spawn().await;
    let mut health = HealthClient::new(app.channel.clone())
        .send_compressed(tonic::codec::CompressionEncoding::Gzip)
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    let status = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("compressed health check")
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
    let mut metrics = crm_metrics::grpc::pb::metrics_service_client::MetricsServiceClient::new(
        app.channel.clone(),
    )
    .send_compressed(tonic::codec::CompressionEncoding::Gzip)
    .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    let catalog = metrics
        .list_metrics(pb::ListMetricsRequest {})
        .await
        .expect("compressed catalog call")
        .into_inner();
    assert_eq!(
        catalog.metrics.len(),
        crm_metrics_engine::metrics::catalog().len()
    );
}

/// The services reflection `$version` lists.
macro_rules! services_listed_by_reflection {
    ($version:ident, $channel:expr) => {{
        use tonic_reflection::pb::$version::ServerReflectionRequest;
        use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let response = ServerReflectionClient::new($channel)
            .server_reflection_info(tokio_stream::iter(vec![request]))
            .await
            .expect("reflection answers")
            .into_inner()
            .message()
            .await
            .expect("a message")
            .expect("a response");
        let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
            panic!("unexpected reflection response");
        };
        let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        names.sort();
        names
    }};
}

#[tokio::test]
async fn reflection_lists_the_services_in_both_protocol_versions() {
    let app = TestApp::spawn().await;
    let v1 = services_listed_by_reflection!(v1, app.channel.clone());
    for expected in [
        "crm.metrics.v1.IngestService",
        "crm.metrics.v1.MetricsService",
        "crm.metrics.v1.TenantService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            v1.iter().any(|n| n == expected),
            "{expected} missing from {v1:?}"
        );
    }
    // Each version lists itself as the reflection service, and every other service alike.
    let v1alpha = services_listed_by_reflection!(v1alpha, app.channel.clone());
    let others = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .filter(|n| !n.starts_with("grpc.reflection."))
            .cloned()
            .collect()
    };
    assert_eq!(others(&v1alpha), others(&v1));
    assert!(v1alpha.contains(&"grpc.reflection.v1alpha.ServerReflection".to_owned()));
}

#[tokio::test]
async fn list_metrics_returns_the_catalog_with_policies_and_dimensions() {
    let mut app = TestApp::spawn().await;
    let catalog = app
        .metrics
        .list_metrics(pb::ListMetricsRequest {})
        .await
        .expect("catalog")
        .into_inner()
        .metrics;
    // Exactly the engine's catalog, in its order (docs/metrics.md is checked against it too).
    let ids: Vec<&str> = catalog.iter().map(|m| m.id.as_str()).collect();
    let declared: Vec<&str> = crm_metrics_engine::metrics::catalog()
        .iter()
        .map(|m| m.definition().id)
        .collect();
    assert_eq!(ids, declared);
    for definition in &catalog {
        assert!(
            !definition.description.is_empty() && !definition.formula.is_empty(),
            "{} has a description and a formula",
            definition.id
        );
    }
    let win_rate = catalog
        .iter()
        .find(|m| m.id == "win_rate")
        .expect("win_rate");
    let basis = win_rate
        .policies
        .iter()
        .find(|p| p.name == "basis")
        .expect("basis policy");
    assert_eq!(basis.default_value, "closed");
    assert_eq!(basis.values, vec!["closed".to_owned(), "cohort".to_owned()]);
    assert!(win_rate.dimensions.contains(&"owner_id".to_owned()));
    // What a result carries is published with the definition.
    let names = |terms: &[pb::MetricTerm]| -> Vec<String> {
        terms.iter().map(|t| t.name.clone()).collect()
    };
    assert_eq!(names(&win_rate.components), vec!["won", "lost", "open"]);
    assert_eq!(
        win_rate
            .undefined_cases
            .iter()
            .map(|c| c.reason)
            .collect::<Vec<_>>(),
        vec![pb::UndefinedReason::ZeroDenominator as i32]
    );
    let movements = catalog
        .iter()
        .find(|m| m.id == "mrr_movements")
        .expect("mrr_movements");
    let keys = names(&movements.breakdown_keys);
    for key in ["start", "new", "expansion", "contraction", "churn", "end"] {
        assert!(keys.iter().any(|k| k == key), "{key} in {keys:?}");
    }
    for definition in &catalog {
        assert_ne!(
            definition.value_kind,
            pb::ValueKind::Unspecified as i32,
            "{}",
            definition.id
        );
        assert!(!definition.reads.is_empty(), "{}", definition.id);
    }
}

#[tokio::test]
async fn draining_turns_health_not_serving_and_ends_watches_without_holding_shutdown() {
    // A grace period far longer than the test may take: an open watch must not hold it.
    let mut app = TestApp::spawn_with(|config| config.shutdown_grace_seconds = 600).await;
    let mut health = HealthClient::new(app.channel.clone());
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = watch.message().await.expect("a status").expect("a message");
    assert_eq!(first.status, ServingStatus::Serving as i32);
    app.begin_shutdown();
    let next = watch.message().await.expect("a status").expect("a message");
    assert_eq!(next.status, ServingStatus::NotServing as i32);
    // Once the service stops accepting connections the watch ends.
    assert!(watch.message().await.map_or(true, |m| m.is_none()));
    tokio::time::timeout(std::time::Duration::from_secs(60), app.shutdown())
        .await
        .expect("an open watch does not hold shutdown for the grace period");
}

#[tokio::test]
async fn an_open_stream_finishes_its_batches_and_ends_unavailable_at_shutdown() {
    let mut app = TestApp::spawn_with(|config| config.shutdown_grace_seconds = 600).await;
    let (batches, outgoing) = tokio::sync::mpsc::channel(4);
    let mut acks = app
        .ingest
        .stream_records(tokio_stream::wrappers::ReceiverStream::new(outgoing))
        .await
        .expect("stream opens")
        .into_inner();
    let batch = |id: &str| pb::StreamRecordsRequest {
        tenant_id: "acme".to_owned(),
        records: vec![deal(
            id,
            pb::DealStatus::Won,
            ts(2026, 3, 1, 0, 0),
            ts(2026, 3, 2, 0, 0),
            100,
        )],
    };
    batches.send(batch("d1")).await.unwrap();
    let first = acks.message().await.expect("an ack").expect("a message");
    assert!(matches!(
        first.result,
        Some(pb::stream_records_response::Result::Accepted(_))
    ));
    // The client keeps the stream open; the service stops: the stream ends UNAVAILABLE, saying
    // the acknowledged batches are committed.
    app.begin_shutdown();
    let ended = loop {
        match acks.message().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the stream ended OK while batches may still come"),
            Err(status) => break status,
        }
    };
    assert_eq!(ended.code(), tonic::Code::Unavailable);
    assert!(
        ended.message().contains("acknowledged"),
        "{}",
        ended.message()
    );
    drop(batches);
    tokio::time::timeout(std::time::Duration::from_secs(60), app.shutdown())
        .await
        .expect("an open stream does not hold shutdown for the grace period");
}

#[tokio::test]
async fn calls_during_the_drain_delay_are_served_while_health_says_not_serving() {
    let mut app = TestApp::spawn_with(|config| config.drain_delay_seconds = 2).await;
    let mut health = HealthClient::new(app.channel.clone());
    let check = HealthCheckRequest {
        service: String::new(),
    };
    app.begin_shutdown();
    // Health turns first ...
    loop {
        let status = health.check(check.clone()).await.expect("health answers");
        if status.into_inner().status == ServingStatus::NotServing as i32 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // ... and a call made now, inside the delay, is still served.
    let accepted = app
        .ingest_for(
            "acme",
            vec![deal(
                "d1",
                pb::DealStatus::Won,
                ts(2026, 3, 1, 0, 0),
                ts(2026, 3, 2, 0, 0),
                100,
            )],
        )
        .await
        .expect("served during the drain delay");
    assert_eq!(accepted.created, 1);
    tokio::time::timeout(std::time::Duration::from_secs(20), app.shutdown())
        .await
        .expect("the server stops after the delay");
}

#[tokio::test]
async fn shutdown_drains_and_stops_the_server() {
    let mut app = TestApp::spawn().await;
    app.ingest(vec![deal(
        "d1",
        pb::DealStatus::Won,
        ts(2026, 3, 1, 0, 0),
        ts(2026, 3, 2, 0, 0),
        100,
    )])
    .await;
    // The server task finishes (with Ok) once the stop signal is given.
    tokio::time::timeout(std::time::Duration::from_secs(10), app.shutdown())
        .await
        .expect("the server stops within the grace period");
}
