//! Metrics of the full catalog through the API: acquisition cost, MRR movements, funnel
//! conversion, and the per-customer health score.

use std::collections::BTreeMap;

use crm_metrics::grpc::pb;

use crate::helpers::*;

fn cost(
    id: &str,
    category: pb::CostCategory,
    channel: Option<&str>,
    incurred: Option<prost_types::Timestamp>,
    minor: i64,
) -> pb::CrmRecord {
    record(pb::crm_record::Kind::Cost(pb::Cost {
        id: id.to_owned(),
        version: 1,
        category: category as i32,
        channel: channel.map(str::to_owned),
        amount: usd(minor),
        incurred_time: incurred,
        ..Default::default()
    }))
}

fn subscription(
    id: &str,
    customer: &str,
    mrr: i64,
    start: Option<prost_types::Timestamp>,
    end: Option<prost_types::Timestamp>,
) -> pb::CrmRecord {
    record(pb::crm_record::Kind::Subscription(pb::Subscription {
        id: id.to_owned(),
        version: 1,
        customer_id: customer.to_owned(),
        mrr: usd(mrr),
        start_time: start,
        end_time: end,
        ..Default::default()
    }))
}

#[tokio::test]
async fn customer_acquisition_cost_worked_example() {
    // docs/metrics.md: ads 5,000 + sales salaries 10,000 + other marketing 5,000, 40 new customers → 500.
    let mut app = TestApp::spawn().await;
    let mut records = vec![
        cost(
            "ads",
            pb::CostCategory::AcquisitionMarketing,
            Some("paid_search"),
            ts(2026, 3, 2, 0, 0),
            500_000,
        ),
        cost(
            "salaries",
            pb::CostCategory::AcquisitionSales,
            None,
            ts(2026, 3, 28, 0, 0),
            1_000_000,
        ),
        cost(
            "other",
            pb::CostCategory::AcquisitionMarketing,
            Some("events"),
            ts(2026, 3, 15, 0, 0),
            500_000,
        ),
    ];
    for i in 0..40 {
        records.push(customer(
            &format!("c{i}"),
            ts(2026, 3, 1 + i % 28, 9, 0),
            None,
        ));
    }
    app.ingest(records).await;
    let report = app
        .report(metric("customer_acquisition_cost"), march())
        .await;
    let total = report.total.unwrap();
    assert_eq!(money(&total), ("USD".to_owned(), 50_000));
    assert_eq!(component_count(&total, "new_customers"), 40);
}

#[tokio::test]
async fn mrr_movements_satisfy_their_identity() {
    // MRR just before March: a 100.00, b 200.00, c 300.00 → start 600.00.
    // In March: a expands to 150.00 (new term from 10 Mar), b churns (ends 15 Mar), d is new at
    // 50.00, c unchanged. End: 150 + 300 + 50 = 500.00.
    // start 600 + new 50 + reactivation 0 + expansion 50 − contraction 0 − churn 200 = 500.
    let mut app = TestApp::spawn().await;
    app.ingest(vec![
        subscription(
            "a1",
            "a",
            10_000,
            ts(2026, 1, 1, 0, 0),
            ts(2026, 3, 10, 0, 0),
        ),
        subscription("a2", "a", 15_000, ts(2026, 3, 10, 0, 0), None),
        subscription(
            "b1",
            "b",
            20_000,
            ts(2026, 1, 1, 0, 0),
            ts(2026, 3, 15, 0, 0),
        ),
        subscription("c1", "c", 30_000, ts(2026, 2, 1, 0, 0), None),
        subscription("d1", "d", 5_000, ts(2026, 3, 20, 0, 0), None),
    ])
    .await;
    let report = app.report(metric("mrr_movements"), march()).await;
    let Some(pb::metric_result::Value::Breakdown(breakdown)) = report.total.unwrap().value else {
        panic!("a breakdown");
    };
    let amounts: BTreeMap<String, i64> = breakdown
        .entries
        .iter()
        .map(|e| (e.key.clone(), money(e.result.as_ref().unwrap()).1))
        .collect();
    assert_eq!(amounts["start"], 60_000);
    assert_eq!(amounts["new"], 5_000);
    assert_eq!(amounts["reactivation"], 0);
    assert_eq!(amounts["expansion"], 5_000);
    assert_eq!(amounts["contraction"], 0);
    assert_eq!(amounts["churn"], 20_000);
    assert_eq!(amounts["end"], 50_000);
    let nrr = app.report(metric("net_revenue_retention"), march()).await;
    // (600 + 50 − 0 − 200) / 600 = 0.75.
    assert_eq!(
        ratio(nrr.total.as_ref().unwrap()),
        (0.75, 45_000.0, 60_000.0)
    );
}

#[tokio::test]
async fn funnel_conversion_follows_the_stage_list() {
    // Deals entering "lead" in March: d1 (then demo), d2 (then demo, then won), d3 (stays).
    // lead → demo: 2 / 3; demo (the last listed stage): 2 entered.
    let mut app = TestApp::spawn().await;
    let staged = |id: &str, stages: &[(&str, u32)]| {
        let mut record = deal(id, pb::DealStatus::Open, ts(2026, 3, 1, 0, 0), None, 100);
        if let Some(pb::crm_record::Kind::Deal(d)) = &mut record.kind {
            d.stage_history = stages
                .iter()
                .map(|(stage, day)| pb::StageEntry {
                    stage: (*stage).to_owned(),
                    entered_time: ts(2026, 3, *day, 0, 0),
                })
                .collect();
            d.stage = stages
                .last()
                .map(|(s, _)| (*s).to_owned())
                .unwrap_or_default();
        }
        record
    };
    app.ingest(vec![
        staged("d1", &[("lead", 2), ("demo", 5)]),
        staged("d2", &[("lead", 3), ("demo", 9)]),
        staged("d3", &[("lead", 4)]),
    ])
    .await;
    let mut query = metric("funnel_conversion");
    query.parameters.insert(
        "stages".to_owned(),
        pb::ParameterValue {
            value: Some(pb::parameter_value::Value::List(pb::StringList {
                values: vec!["lead".to_owned(), "demo".to_owned()],
            })),
        },
    );
    let report = app.report(query, march()).await;
    let Some(pb::metric_result::Value::Breakdown(breakdown)) = report.total.unwrap().value else {
        panic!("a breakdown");
    };
    assert_eq!(breakdown.entries[0].key, "lead");
    let (_, advanced, entered) = ratio(breakdown.entries[0].result.as_ref().unwrap());
    assert_eq!((advanced, entered), (2.0, 3.0));
    assert_eq!(breakdown.entries[1].key, "demo");
    assert_eq!(count(breakdown.entries[1].result.as_ref().unwrap()), 2);

    let status = app
        .try_compute(app.request(vec![metric("funnel_conversion")], march()))
        .await
        .expect_err("stages are required");
    assert_eq!(
        violations(&status),
        vec!["metrics[0].parameters[stages]".to_owned()]
    );
}

#[tokio::test]
async fn health_score_per_customer_is_an_at_risk_worklist() {
    // As of 31 Mar: a has 1 CSAT answer 5 of 1–5 (feedback 1) and 5 open tickets of the limit 5
    // (support 0) → 50; b has only an order 9 days earlier of recency 90 → 1 − 9/90 = 0.9 → 90.
    let mut app = TestApp::spawn().await;
    let mut csat = survey("s", pb::SurveyType::Csat, 5, (1, 5), ts(2026, 3, 10, 0, 0));
    if let Some(pb::crm_record::Kind::SurveyResponse(s)) = &mut csat.kind {
        s.customer_id = "a".to_owned();
    }
    let mut records = vec![
        customer("a", ts(2025, 1, 1, 0, 0), None),
        customer("b", ts(2025, 1, 1, 0, 0), None),
        csat,
        order("o", "b", ts(2026, 3, 22, 0, 0), 100),
    ];
    for i in 0..5 {
        records.push(record(pb::crm_record::Kind::Ticket(pb::Ticket {
            id: format!("t{i}"),
            version: 1,
            customer_id: Some("a".to_owned()),
            created_time: ts(2026, 3, 1 + i, 0, 0),
            channel: "email".to_owned(),
            contact_count: 1,
            ..Default::default()
        })));
    }
    app.ingest(records).await;
    let mut request = app.request(vec![metric("customer_health_score")], march());
    request.as_of = ts(2026, 3, 31, 0, 0);
    request.group_by = vec!["customer_id".to_owned()];
    let response = app.compute(request).await;
    let report = &response.reports[0];
    let by_customer: BTreeMap<String, f64> = report
        .groups
        .iter()
        .map(|g| {
            (
                g.key[0].value.clone().unwrap(),
                score(g.total.as_ref().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        by_customer,
        BTreeMap::from([("a".to_owned(), 50.0), ("b".to_owned(), 90.0)])
    );
    assert_eq!(score(report.total.as_ref().unwrap()), 70.0);
}

#[tokio::test]
async fn health_usage_is_zero_for_a_customer_whose_events_all_lie_far_back() {
    // As of 31 Mar: c's only engagement event is from 1 Jan, long before the 30 days up to
    // as_of (and before the window). c has usage data, and it is 0 → usage 0, the only
    // component → score 0, one red customer.
    let mut app = TestApp::spawn().await;
    app.ingest(vec![
        customer("c", ts(2025, 1, 1, 0, 0), None),
        record(pb::crm_record::Kind::EngagementEvent(pb::EngagementEvent {
            id: "e".to_owned(),
            version: 1,
            customer_id: "c".to_owned(),
            event_type: pb::EngagementType::WebVisit as i32,
            occurred_time: ts(2026, 1, 1, 0, 0),
            ..Default::default()
        })),
    ])
    .await;
    let mut request = app.request(vec![metric("customer_health_score")], march());
    request.as_of = ts(2026, 3, 31, 0, 0);
    let response = app.compute(request).await;
    let total = response.reports[0].total.as_ref().unwrap();
    assert_eq!(score(total), 0.0);
    assert_eq!(component_count(total, "customers"), 1);
    assert_eq!(component_count(total, "red"), 1);
}
