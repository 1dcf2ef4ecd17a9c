//! Inline computations and kept computations: ComputeOnRecords, GetComputation, and
//! ComputeMetrics with save.

use crm_metrics::grpc::pb;
use sqlx::Connection;

use crate::helpers::*;

fn nps_answers() -> Vec<pb::CrmRecord> {
    [10, 9, 9, 8, 7, 6, 5, 10, 3, 9]
        .iter()
        .enumerate()
        .map(|(i, s)| {
            survey(
                &format!("r{i}"),
                pb::SurveyType::Nps,
                *s,
                (0, 10),
                ts(2026, 3, 10, 12, 0),
            )
        })
        .collect()
}

#[tokio::test]
async fn inline_records_are_computed_kept_and_never_added_to_the_tenant() {
    // The NPS worked example sent inline → 20; the tenant's own data stays empty.
    let mut app = TestApp::spawn().await;
    let query = app.request(vec![metric("nps")], march());
    let response = app
        .metrics
        .compute_on_records(pb::ComputeOnRecordsRequest {
            query: Some(query.clone()),
            records: nps_answers(),
        })
        .await
        .expect("computed")
        .into_inner();
    let result = response.result.expect("a result");
    assert_eq!(score(result.reports[0].total.as_ref().unwrap()), 20.0);
    assert!(!response.computation_id.is_empty());

    let stored = app.report(metric("nps"), march()).await;
    assert_eq!(
        stored.total.unwrap().undefined_reason,
        pb::UndefinedReason::NoData as i32
    );

    let kept = app
        .metrics
        .get_computation(pb::GetComputationRequest {
            tenant_id: "acme".to_owned(),
            computation_id: response.computation_id.clone(),
        })
        .await
        .expect("kept")
        .into_inner()
        .computation
        .expect("a computation");
    assert_eq!(kept.computation_id, response.computation_id);
    assert_eq!(kept.source, pb::ComputationSource::InlineRecords as i32);
    assert_eq!(kept.records, nps_answers());
    assert_eq!(kept.query, Some(query));
    assert_eq!(kept.result, Some(result));
    assert_eq!(kept.definition_versions.get("nps"), Some(&1));
    assert!(kept.created_time.is_some());
}

#[tokio::test]
async fn inline_records_are_validated_like_ingestion_with_every_problem_named() {
    let mut app = TestApp::spawn().await;
    let mut query = app.request(vec![metric("nps")], march());
    query.time_zone = "Nowhere/Land".to_owned();
    let status = app
        .metrics
        .compute_on_records(pb::ComputeOnRecordsRequest {
            query: Some(query),
            records: vec![survey(
                "bad",
                pb::SurveyType::Nps,
                12,
                (0, 10),
                ts(2026, 3, 1, 0, 0),
            )],
        })
        .await
        .expect_err("rejected");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let fields = violations(&status);
    assert!(fields.contains(&"query.time_zone".to_owned()), "{fields:?}");
    assert!(
        fields.contains(&"records[0].survey_response.score".to_owned()),
        "{fields:?}"
    );

    let status = app
        .metrics
        .compute_on_records(pb::ComputeOnRecordsRequest {
            query: Some(app.request(vec![metric("no_such_metric")], march())),
            records: nps_answers(),
        })
        .await
        .expect_err("unknown metric");
    assert_eq!(
        violations(&status),
        vec!["query.metrics[0].metric".to_owned()]
    );
}

#[tokio::test]
async fn compute_metrics_with_save_keeps_the_request_and_result() {
    let mut app = TestApp::spawn().await;
    app.ingest(nps_answers()).await;
    let mut request = app.request(vec![metric("nps")], march());
    request.save = true;
    let response = app.compute(request.clone()).await;
    assert!(!response.computation_id.is_empty());
    let kept = app
        .metrics
        .get_computation(pb::GetComputationRequest {
            tenant_id: "acme".to_owned(),
            computation_id: response.computation_id.clone(),
        })
        .await
        .expect("kept")
        .into_inner()
        .computation
        .expect("a computation");
    assert_eq!(kept.source, pb::ComputationSource::TenantData as i32);
    assert_eq!(kept.query, Some(request));
    let kept_result = kept.result.expect("result");
    assert_eq!(kept_result.reports, response.reports);
    assert!(kept.records.is_empty());

    // Without save nothing is kept.
    let plain = app.compute(app.request(vec![metric("nps")], march())).await;
    assert!(plain.computation_id.is_empty());
}

#[tokio::test]
async fn unknown_or_foreign_computations_are_not_found() {
    let mut app = TestApp::spawn().await;
    let response = app
        .metrics
        .compute_on_records(pb::ComputeOnRecordsRequest {
            query: Some(app.request(vec![metric("nps")], march())),
            records: nps_answers(),
        })
        .await
        .expect("computed")
        .into_inner();
    let get = |tenant: &str, id: &str| pb::GetComputationRequest {
        tenant_id: tenant.to_owned(),
        computation_id: id.to_owned(),
    };
    let foreign = app
        .metrics
        .get_computation(get("globex", &response.computation_id))
        .await
        .expect_err("another tenant's computation");
    assert_eq!(foreign.code(), tonic::Code::NotFound);
    let missing = app
        .metrics
        .get_computation(get("acme", "00000000-0000-4000-8000-000000000000"))
        .await
        .expect_err("no such computation");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let malformed = app
        .metrics
        .get_computation(get("acme", "not-a-uuid"))
        .await
        .expect_err("not a uuid");
    assert_eq!(violations(&malformed), vec!["computation_id".to_owned()]);
}

#[tokio::test]
async fn kept_computations_expire_after_the_retention_period() {
    let (mut app, url) =
        TestApp::spawn_with_database_configured(|c| c.computation_retention_seconds = 1).await;
    let query = app.request(vec![metric("nps")], march());
    let computed = app
        .metrics
        .compute_on_records(pb::ComputeOnRecordsRequest {
            query: Some(query),
            records: nps_answers(),
        })
        .await
        .expect("computed")
        .into_inner();
    let get = pb::GetComputationRequest {
        tenant_id: "acme".to_owned(),
        computation_id: computed.computation_id,
    };
    app.metrics
        .get_computation(get.clone())
        .await
        .expect("kept while within the retention period");
    // Past the period the sweep deletes its row (and the personal data kept beside it), and
    // it is not found.
    let mut db = sqlx::PgConnection::connect(url.url()).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM computations")
            .fetch_one(&mut db)
            .await
            .unwrap();
        if rows == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never swept");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let status = app.metrics.get_computation(get).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
}
