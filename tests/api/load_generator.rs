//! The load generator against a real service: what it writes through either call and through the
//! raw baselines reads back the same, and its SQL twins agree with the service's answers.

use clap::Parser;
use crm_metrics::grpc::pb;
use crm_metrics_load::{Cli, run};

use crate::helpers::{TestApp, metric, window};

async fn load(args: &[&str]) -> Result<(), String> {
    let cli = Cli::try_parse_from(std::iter::once("crm-load").chain(args.iter().copied()))
        .map_err(|error| error.to_string())?;
    run(cli).await
}

/// `win_rate`, `revenue` and `nps` of one tenant over the generated data's last year.
async fn answers(app: &mut TestApp, tenant: &str) -> Vec<pb::MetricReport> {
    let request = pb::ComputeMetricsRequest {
        tenant_id: tenant.to_owned(),
        metrics: vec![metric("win_rate"), metric("revenue"), metric("nps")],
        window: Some(window((2025, 10, 1), (2026, 10, 1))),
        as_of: crate::helpers::ts(2026, 10, 1, 0, 0),
        reporting_currency: "USD".to_owned(),
        ..Default::default()
    };
    app.metrics
        .compute_metrics(request)
        .await
        .expect("compute")
        .into_inner()
        .reports
}

#[tokio::test]
async fn every_ingest_path_stores_the_same_data_and_the_sql_twins_agree() {
    // The generated exchange rates convert into US dollars.
    let (mut app, url) = TestApp::spawn_with_database_configured(|config| {
        config.base_currency = Some("USD".to_owned());
    })
    .await;
    let address = app.address.clone();
    let small = ["--scale", "0.05", "--batch", "500", "--tenants", "1"];
    let ingest = |api: &'static str, first: &'static str| {
        let address = address.clone();
        async move {
            let mut args = vec!["ingest", "--address", &address, "--api", api];
            args.extend(["--first-tenant", first, "--workers", "1"]);
            args.extend(small);
            load(&args).await
        }
    };
    // Tenant 1 through StreamRecords; tenant 1 again (same seed) under other names through
    // IngestRecords and both raw methods.
    ingest("stream", "1").await.expect("stream ingest");
    let mut unary = vec!["ingest", "--address", &address, "--api", "unary"];
    unary.extend([
        "--tenant-prefix",
        "unary",
        "--workers",
        "2",
        "--generate",
        "inline",
    ]);
    unary.extend(small);
    load(&unary).await.expect("unary ingest");
    for method in ["copy", "unnest"] {
        let mut raw = vec![
            "raw-ingest",
            "--database-url",
            url.url(),
            "--method",
            method,
        ];
        raw.extend(["--tenant-prefix", method]);
        raw.extend(small);
        load(&raw).await.expect("raw ingest");
    }

    let expected = answers(&mut app, "bench-001").await;
    let won = match expected[0].total.as_ref().and_then(|r| r.value.as_ref()) {
        Some(pb::metric_result::Value::Ratio(ratio)) => ratio.denominator,
        other => panic!("win_rate has no ratio: {other:?}"),
    };
    assert!(won > 0.0, "the generated tenant closed deals in the year");
    for tenant in ["unary-001", "copy-001", "unnest-001"] {
        assert_eq!(answers(&mut app, tenant).await, expected, "{tenant}");
    }

    // The SQL twins give the service's counts for every tenant written.
    for prefix in ["bench", "copy"] {
        let verify = [
            "verify",
            "--address",
            &address,
            "--database-url",
            url.url(),
            "--tenant-prefix",
            prefix,
        ];
        load(&verify).await.expect("the service and the SQL agree");
    }
    // A tenant with no data: the service has no values, so verify refuses to call that agreement.
    let empty = ["verify", "--address", &address, "--database-url", url.url()];
    let error = load(&[&empty[..], &["--tenant-prefix", "nobody"]].concat())
        .await
        .expect_err("nothing to compare");
    assert!(error.contains("disagree"), "{error}");
    app.shutdown().await;
}

#[tokio::test]
async fn query_and_health_runs_finish_and_bad_options_are_refused() {
    let app = TestApp::spawn().await;
    let address = app.address.clone();
    load(&["ingest", "--address", &address, "--scale", "0.05"])
        .await
        .expect("ingest");
    for scenario in [
        "win-rate-quarter",
        "win-rate-monthly",
        "win-rate-by-owner",
        "catalog-mix",
    ] {
        let closed = [
            "query",
            "--address",
            &address,
            "--scenario",
            scenario,
            "--duration",
            "0.2",
        ];
        load(&closed).await.expect("closed loop");
    }
    let open = [
        "query",
        "--address",
        &address,
        "--scenario",
        "catalog-mix",
        "--rate",
        "20",
        "--duration",
        "0.2",
    ];
    load(&open).await.expect("open loop");
    load(&["health", "--address", &address, "--duration", "0.1"])
        .await
        .expect("health");

    let refused = load(&["query", "--address", &address, "--scenario", "nps"]).await;
    assert!(refused.expect_err("unknown scenario").contains("nps"));
    let refused = load(&["ingest", "--address", &address, "--scale", "0"]).await;
    assert!(refused.expect_err("zero scale").contains("--scale"));
    let refused = load(&["health", "--address", &address, "--duration", "-1"]).await;
    assert!(refused.is_err(), "negative duration");
    app.shutdown().await;
}
