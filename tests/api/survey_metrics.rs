//! Survey metrics through the API: NPS, CSAT, CES (docs/metrics.md).

use crm_metrics::grpc::pb;
use pb::SurveyType::{Ces, Csat, Nps};

use crate::helpers::*;

#[tokio::test]
async fn nps_worked_example() {
    // docs/metrics.md: [10, 9, 9, 8, 7, 6, 5, 10, 3, 9] → promoters 5, passives 2, detractors 3 → 20.
    let mut app = TestApp::spawn().await;
    let records = [10, 9, 9, 8, 7, 6, 5, 10, 3, 9]
        .iter()
        .enumerate()
        .map(|(i, s)| survey(&format!("r{i}"), Nps, *s, (0, 10), ts(2026, 3, 10, 12, 0)))
        .collect();
    app.ingest(records).await;
    let report = app.report(metric("nps"), march()).await;
    assert_eq!(report.metric, "nps");
    assert_eq!(report.definition_version, 1);
    assert_eq!(
        report.applied_policies.get("dedupe").map(String::as_str),
        Some("all")
    );
    let total = report.total.unwrap();
    assert_eq!(score(&total), 20.0);
    assert_eq!(component_count(&total, "promoters"), 5);
    assert_eq!(component_count(&total, "passives"), 2);
    assert_eq!(component_count(&total, "detractors"), 3);
    assert_eq!(component_count(&total, "responses"), 10);
}

#[tokio::test]
async fn nps_latest_per_customer_and_mixed_scales() {
    // Customer x: 2 (0–10, detractor) on Mar 2, then 5 (1–5, promoter) on Mar 20; customer y: 3 (1–5, passive).
    // all: promoters 1, passives 1, detractors 1 → 0; latest per customer: x promoter, y passive → 50.
    let mut app = TestApp::spawn().await;
    let mut answers = vec![
        survey("x1", Nps, 2, (0, 10), ts(2026, 3, 2, 0, 0)),
        survey("x2", Nps, 5, (1, 5), ts(2026, 3, 20, 0, 0)),
        survey("y1", Nps, 3, (1, 5), ts(2026, 3, 5, 0, 0)),
    ];
    for (answer, customer) in answers.iter_mut().zip(["x", "x", "y"]) {
        if let Some(pb::crm_record::Kind::SurveyResponse(s)) = &mut answer.kind {
            s.customer_id = customer.to_owned();
        }
    }
    app.ingest(answers).await;
    let all = app.report(metric("nps"), march()).await;
    assert_eq!(score(all.total.as_ref().unwrap()), 0.0);
    let latest = app
        .report(
            metric_with_policy("nps", "dedupe", "latest_per_customer"),
            march(),
        )
        .await;
    assert_eq!(
        latest.applied_policies.get("dedupe").map(String::as_str),
        Some("latest_per_customer")
    );
    assert_eq!(score(latest.total.as_ref().unwrap()), 50.0);
}

#[tokio::test]
async fn an_empty_window_is_undefined_with_a_reason_not_zero() {
    let mut app = TestApp::spawn().await;
    app.ingest(vec![survey("r", Nps, 10, (0, 10), ts(2026, 4, 1, 0, 0))])
        .await;
    let report = app.report(metric("nps"), march()).await;
    let total = report.total.unwrap();
    assert!(total.value.is_none());
    assert_eq!(total.undefined_reason, pb::UndefinedReason::NoData as i32);
    assert!(!total.undefined_detail.is_empty());
}

#[tokio::test]
async fn csat_top2_box_and_mean_modes() {
    // 1–5 answers 5, 4, 2 and 1–10 answers 9, 3.
    // top2_box: satisfied 5, 4, 9 → 3 / 5 = 0.6.
    // mean: (1 + 0.75 + 0.25 + 8/9 + 2/9) / 5 = (2 + 10/9) / 5 = 28/45.
    let mut app = TestApp::spawn().await;
    app.ingest(vec![
        survey("a", Csat, 5, (1, 5), ts(2026, 3, 3, 0, 0)),
        survey("b", Csat, 4, (1, 5), ts(2026, 3, 3, 0, 0)),
        survey("c", Csat, 2, (1, 5), ts(2026, 3, 3, 0, 0)),
        survey("d", Csat, 9, (1, 10), ts(2026, 3, 3, 0, 0)),
        survey("e", Csat, 3, (1, 10), ts(2026, 3, 3, 0, 0)),
    ])
    .await;
    let top2 = app.report(metric("csat"), march()).await;
    assert_eq!(ratio(top2.total.as_ref().unwrap()), (0.6, 3.0, 5.0));
    let mean = app
        .report(metric_with_policy("csat", "mode", "mean"), march())
        .await;
    let (value, _, denominator) = ratio(mean.total.as_ref().unwrap());
    assert!((value - 28.0 / 45.0).abs() < 1e-12, "{value}");
    assert_eq!(denominator, 5.0);
}

#[tokio::test]
async fn ces_orients_and_rescales_answers() {
    // 6 on 1–7 → 6; 3 on 1–7 stored LOWER_IS_EASIER → 1 + 7 − 3 = 5; 2 on 1–5 → 1 + 1 × 1.5 = 2.5.
    // Mean (6 + 5 + 2.5) / 3 = 4.5; easy (≥ 5): 2 of 3.
    let mut app = TestApp::spawn().await;
    let mut flipped = survey("b", Ces, 3, (1, 7), ts(2026, 3, 3, 0, 0));
    if let Some(pb::crm_record::Kind::SurveyResponse(s)) = &mut flipped.kind {
        s.direction = pb::ScoreDirection::LowerIsBetter as i32;
    }
    let mut plain = vec![
        survey("a", Ces, 6, (1, 7), ts(2026, 3, 3, 0, 0)),
        survey("c", Ces, 2, (1, 5), ts(2026, 3, 3, 0, 0)),
    ];
    for answer in &mut plain {
        if let Some(pb::crm_record::Kind::SurveyResponse(s)) = &mut answer.kind {
            s.direction = pb::ScoreDirection::HigherIsBetter as i32;
        }
    }
    plain.push(flipped);
    app.ingest(plain).await;
    let report = app.report(metric("ces"), march()).await;
    let total = report.total.unwrap();
    assert_eq!(score(&total), 4.5);
    match component(&total, "easy_share").value {
        Some(pb::component::Value::Number(share)) => assert!((share - 2.0 / 3.0).abs() < 1e-12),
        ref other => panic!("easy_share: {other:?}"),
    }
}
