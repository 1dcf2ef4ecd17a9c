//! Sales pipeline metrics through the API (docs/metrics.md).

use std::collections::BTreeMap;

use crm_metrics::grpc::pb;
use pb::DealStatus::{Lost, Open, Won};

use crate::helpers::*;

/// docs/metrics.md worked example: 10 won, 12 lost, 18 open, all created and closed in March.
fn worked_example_deals() -> Vec<pb::CrmRecord> {
    let mut records = Vec::new();
    for i in 0..10 {
        records.push(deal(
            &format!("won{i}"),
            Won,
            ts(2026, 3, 2, 0, 0),
            ts(2026, 3, 20, 0, 0),
            100,
        ));
    }
    for i in 0..12 {
        records.push(deal(
            &format!("lost{i}"),
            Lost,
            ts(2026, 3, 2, 0, 0),
            ts(2026, 3, 21, 0, 0),
            100,
        ));
    }
    for i in 0..18 {
        records.push(deal(
            &format!("open{i}"),
            Open,
            ts(2026, 3, 2, 0, 0),
            None,
            100,
        ));
    }
    records
}

#[tokio::test]
async fn win_rate_worked_example_both_bases() {
    // closed basis 10 / 22; cohort basis 10 / 40.
    let mut app = TestApp::spawn().await;
    app.ingest(worked_example_deals()).await;
    let closed = app.report(metric("win_rate"), march()).await;
    let (value, numerator, denominator) = ratio(closed.total.as_ref().unwrap());
    assert_eq!((numerator, denominator), (10.0, 22.0));
    assert!((value - 10.0 / 22.0).abs() < 1e-12);
    let cohort = app
        .report(metric_with_policy("win_rate", "basis", "cohort"), march())
        .await;
    assert_eq!(ratio(cohort.total.as_ref().unwrap()), (0.25, 10.0, 40.0));
    let won = app.report(metric("deals_won"), march()).await;
    assert_eq!(count(won.total.as_ref().unwrap()), 10);
    // The same deals: 12 lost in March; none in February counts 0, not undefined.
    let lost = app.report(metric("deals_lost"), march()).await;
    assert_eq!(count(lost.total.as_ref().unwrap()), 12);
    let february = window((2026, 2, 1), (2026, 3, 1));
    let none = app.report(metric("deals_lost"), february).await;
    assert_eq!(count(none.total.as_ref().unwrap()), 0);
}

#[tokio::test]
async fn as_of_makes_a_later_closed_deal_open() {
    // Deal created 1 Mar, won 20 Mar, 500.00. Seen as of 15 Mar it is open: win rate has no
    // closed deals, and the pipeline holds its 500.00.
    let mut app = TestApp::spawn().await;
    app.ingest(vec![deal(
        "d",
        Won,
        ts(2026, 3, 1, 0, 0),
        ts(2026, 3, 20, 0, 0),
        50_000,
    )])
    .await;
    let mut request = app.request(vec![metric("win_rate"), metric("pipeline_value")], march());
    request.as_of = ts(2026, 3, 15, 0, 0);
    let response = app.compute(request).await;
    let win_rate = response.reports[0].total.as_ref().unwrap();
    assert!(win_rate.value.is_none());
    assert_eq!(
        win_rate.undefined_reason,
        pb::UndefinedReason::ZeroDenominator as i32
    );
    assert_eq!(
        money(response.reports[1].total.as_ref().unwrap()),
        ("USD".to_owned(), 50_000)
    );
    // Seen now, the deal is won in March.
    let now = app.report(metric("win_rate"), march()).await;
    assert_eq!(ratio(now.total.as_ref().unwrap()), (1.0, 1.0, 1.0));
}

#[tokio::test]
async fn average_deal_size_rounds_half_to_even() {
    // Won in March: 100.00 and 200.01 → 30,001 / 2 = 15,000.5 minor → 15,000 (half to even).
    let mut app = TestApp::spawn().await;
    app.ingest(vec![
        deal("a", Won, ts(2026, 3, 1, 0, 0), ts(2026, 3, 5, 0, 0), 10_000),
        deal("b", Won, ts(2026, 3, 1, 0, 0), ts(2026, 3, 6, 0, 0), 20_001),
        deal(
            "c",
            Lost,
            ts(2026, 3, 1, 0, 0),
            ts(2026, 3, 6, 0, 0),
            90_000,
        ),
    ])
    .await;
    let report = app.report(metric("average_deal_size"), march()).await;
    assert_eq!(
        money(report.total.as_ref().unwrap()),
        ("USD".to_owned(), 15_000)
    );
}

#[tokio::test]
async fn sales_cycle_length_stats() {
    // Won in March after 10, 8 and 20 days: mean 38/3 days = 1,094,400 s; nearest-rank median
    // (rank 2 of 3) 10 days = 864,000 s; p90 (rank 3) 20 days = 1,728,000 s.
    let mut app = TestApp::spawn().await;
    app.ingest(vec![
        deal("a", Won, ts(2026, 3, 1, 0, 0), ts(2026, 3, 11, 0, 0), 100),
        deal("b", Won, ts(2026, 2, 25, 0, 0), ts(2026, 3, 5, 0, 0), 100),
        deal("c", Won, ts(2026, 3, 10, 0, 0), ts(2026, 3, 30, 0, 0), 100),
        deal(
            "lost",
            Lost,
            ts(2026, 1, 1, 0, 0),
            ts(2026, 3, 30, 0, 0),
            100,
        ),
    ])
    .await;
    let report = app.report(metric("sales_cycle_length"), march()).await;
    let stats = duration(report.total.as_ref().unwrap());
    assert_eq!(stats.count, 3);
    assert_eq!(stats.mean_seconds, 1_094_400.0);
    assert_eq!(stats.median_seconds, 864_000.0);
    assert_eq!(stats.p90_seconds, 1_728_000.0);
}

#[tokio::test]
async fn weighted_pipeline_uses_probability_then_stage_default() {
    // Open deals: 1,000.00 at 50 % → 500.00; 300.00 in stage "proposal" (default 20 %) → 60.00;
    // 100.00 in stage "discovery" with no probability and no default → excluded. Total 560.00.
    let mut app = TestApp::spawn().await;
    let mut a = deal("a", Open, ts(2026, 3, 1, 0, 0), None, 100_000);
    let mut b = deal("b", Open, ts(2026, 3, 1, 0, 0), None, 30_000);
    let mut c = deal("c", Open, ts(2026, 3, 1, 0, 0), None, 10_000);
    for (record, stage, probability) in [
        (&mut a, "negotiation", Some(50)),
        (&mut b, "proposal", None),
        (&mut c, "discovery", None),
    ] {
        if let Some(pb::crm_record::Kind::Deal(d)) = &mut record.kind {
            d.stage = stage.to_owned();
            d.probability_percent = probability;
        }
    }
    app.ingest(vec![a, b, c]).await;
    let mut query = metric("weighted_pipeline_value");
    query.parameters.insert(
        "stage_probabilities".to_owned(),
        pb::ParameterValue {
            value: Some(pb::parameter_value::Value::NumberMap(pb::NumberMap {
                values: BTreeMap::from([("proposal".to_owned(), 20.0)]),
            })),
        },
    );
    let report = app.report(query, march()).await;
    assert_eq!(
        money(report.total.as_ref().unwrap()),
        ("USD".to_owned(), 56_000)
    );
    let unweighted = app.report(metric("pipeline_value"), march()).await;
    assert_eq!(
        money(unweighted.total.as_ref().unwrap()),
        ("USD".to_owned(), 140_000)
    );
}

#[tokio::test]
async fn lead_conversion_rate_with_and_without_horizon() {
    // Leads created in March: l1 (1 Mar) converted 5 Mar; l2 (25 Mar) converted 20 Apr (26 days);
    // l3 never; l4 (1 Mar) converted 1 May (61 days). Plain: 3 / 4. horizon_days 30: l1, l2 → 2 / 4.
    let mut app = TestApp::spawn().await;
    let mut leads = vec![
        lead("l1", ts(2026, 3, 1, 0, 0)),
        lead("l2", ts(2026, 3, 25, 0, 0)),
        lead("l3", ts(2026, 3, 2, 0, 0)),
        lead("l4", ts(2026, 3, 1, 0, 0)),
        lead("feb", ts(2026, 2, 27, 0, 0)),
    ];
    for (record, converted) in leads.iter_mut().zip([
        ts(2026, 3, 5, 0, 0),
        ts(2026, 4, 20, 0, 0),
        None,
        ts(2026, 5, 1, 0, 0),
        ts(2026, 3, 2, 0, 0),
    ]) {
        if let Some(pb::crm_record::Kind::Lead(l)) = &mut record.kind {
            l.converted_time = converted;
        }
    }
    app.ingest(leads).await;
    let plain = app.report(metric("lead_conversion_rate"), march()).await;
    assert_eq!(ratio(plain.total.as_ref().unwrap()), (0.75, 3.0, 4.0));
    let mut horizon = metric("lead_conversion_rate");
    horizon.parameters.insert(
        "horizon_days".to_owned(),
        pb::ParameterValue {
            value: Some(pb::parameter_value::Value::Number(30.0)),
        },
    );
    let within = app.report(horizon, march()).await;
    assert_eq!(ratio(within.total.as_ref().unwrap()), (0.5, 2.0, 4.0));
}

#[tokio::test]
async fn lead_response_time_takes_the_earliest_response_and_measures_the_sla() {
    // l1 created 2 Mar 00:00: CRM first response 02:00, outbound call 01:00 → 3,600 s.
    // l2 created 3 Mar 00:00: first response exactly 24 h later → 86,400 s (within the SLA).
    // l3 created 5 Mar 00:00: only an inbound e-mail → unanswered, older than the SLA now.
    // Stats: 2 responses, mean 45,000 s. SLA compliance: 2 within / (2 responded + 1 overdue) = 2/3.
    let mut app = TestApp::spawn().await;
    let mut l1 = lead("l1", ts(2026, 3, 2, 0, 0));
    let mut l2 = lead("l2", ts(2026, 3, 3, 0, 0));
    if let Some(pb::crm_record::Kind::Lead(l)) = &mut l1.kind {
        l.first_response_time = ts(2026, 3, 2, 2, 0);
    }
    if let Some(pb::crm_record::Kind::Lead(l)) = &mut l2.kind {
        l.first_response_time = ts(2026, 3, 4, 0, 0);
    }
    let activity = |id: &str, lead_id: &str, direction: pb::ActivityDirection, at| {
        record(pb::crm_record::Kind::Activity(pb::Activity {
            id: id.to_owned(),
            version: 1,
            activity_type: pb::ActivityType::Call as i32,
            direction: direction as i32,
            occurred_time: at,
            lead_id: Some(lead_id.to_owned()),
            ..Default::default()
        }))
    };
    app.ingest(vec![
        l1,
        l2,
        lead("l3", ts(2026, 3, 5, 0, 0)),
        activity(
            "a1",
            "l1",
            pb::ActivityDirection::Outbound,
            ts(2026, 3, 2, 1, 0),
        ),
        activity(
            "a2",
            "l3",
            pb::ActivityDirection::Inbound,
            ts(2026, 3, 5, 1, 0),
        ),
    ])
    .await;
    let report = app.report(metric("lead_response_time"), march()).await;
    let total = report.total.unwrap();
    let stats = duration(&total);
    assert_eq!(stats.count, 2);
    assert_eq!(stats.mean_seconds, 45_000.0);
    assert_eq!(stats.min_seconds, 3_600.0);
    match component(&total, "sla_compliance").value {
        Some(pb::component::Value::Number(share)) => {
            assert!((share - 2.0 / 3.0).abs() < 1e-12, "{share}")
        }
        ref other => panic!("sla_compliance: {other:?}"),
    }
}

#[tokio::test]
async fn an_outbound_activity_logged_before_the_window_answers_a_lead_created_in_it() {
    // l4 created 3 Mar 00:00 (in March); an outbound call on it was logged on 20 Feb, before the
    // lead's creation and before the window: the lead is answered, with a response time of 0.
    let mut app = TestApp::spawn().await;
    app.ingest(vec![
        lead("l4", ts(2026, 3, 3, 0, 0)),
        record(pb::crm_record::Kind::Activity(pb::Activity {
            id: "a4".to_owned(),
            version: 1,
            activity_type: pb::ActivityType::Call as i32,
            direction: pb::ActivityDirection::Outbound as i32,
            occurred_time: ts(2026, 2, 20, 0, 0),
            lead_id: Some("l4".to_owned()),
            ..Default::default()
        })),
    ])
    .await;
    let report = app.report(metric("lead_response_time"), march()).await;
    let total = report.total.unwrap();
    let stats = duration(&total);
    assert_eq!(stats.count, 1);
    assert_eq!(stats.max_seconds, 0.0);
    assert_eq!(component_count(&total, "responded"), 1);
}

#[tokio::test]
async fn lead_response_time_from_memory_equals_a_fresh_read_as_activities_change() {
    // Leads l1 (2 Mar) and l2 (3 Mar); an outbound call on l1 on 5 Mar → l1 answered in 3 days.
    // One instance keeps the tenant's leads and activities in memory (with the activity index
    // kept beside them), the other reads the database every time: they agree while activities
    // are added and at an as_of before the call.
    let (mut kept, url) = TestApp::spawn_with_database().await;
    let mut fresh = TestApp::spawn_on(&url, |config| config.snapshot_memory_mib = 0).await;
    let call = |id: &str, lead_id: &str, at| {
        record(pb::crm_record::Kind::Activity(pb::Activity {
            id: id.to_owned(),
            version: 1,
            activity_type: pb::ActivityType::Call as i32,
            direction: pb::ActivityDirection::Outbound as i32,
            occurred_time: at,
            lead_id: Some(lead_id.to_owned()),
            ..Default::default()
        }))
    };
    kept.ingest(vec![
        lead("l1", ts(2026, 3, 2, 0, 0)),
        lead("l2", ts(2026, 3, 3, 0, 0)),
        call("a1", "l1", ts(2026, 3, 5, 0, 0)),
    ])
    .await;
    let ask = |app: &TestApp, as_of| {
        let mut request = app.request(vec![metric("lead_response_time")], march());
        request.as_of = as_of;
        request
    };
    let later = ts(2026, 4, 30, 0, 0);
    let first = kept.compute(ask(&kept, later)).await;
    // The first answer came from the database; wait for leads and activities to be in memory.
    for _ in 0..400 {
        if kept.snapshots.stats().kept >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let hits = kept.snapshots.stats().hits;
    let from_memory = kept.compute(ask(&kept, later)).await;
    assert!(kept.snapshots.stats().hits > hits, "answered from memory");
    assert_eq!(from_memory, first);
    assert_eq!(from_memory, fresh.compute(ask(&kept, later)).await);
    let stats = duration(from_memory.reports[0].total.as_ref().unwrap());
    assert_eq!((stats.count, stats.max_seconds), (1, 3.0 * 86_400.0));
    // A call on l2 on 4 Mar: a new version of the activities, answered with a new index.
    kept.ingest(vec![call("a2", "l2", ts(2026, 3, 4, 0, 0))])
        .await;
    let after = kept.compute(ask(&kept, later)).await;
    assert_eq!(after, fresh.compute(ask(&kept, later)).await);
    let stats = duration(after.reports[0].total.as_ref().unwrap());
    assert_eq!((stats.count, stats.min_seconds), (2, 86_400.0));
    // As of 4 Mar 12:00 the call on l1 has not happened: only l2 is answered.
    let earlier = ask(&kept, ts(2026, 3, 4, 12, 0));
    let before_call = kept.compute(earlier.clone()).await;
    assert_eq!(before_call, fresh.compute(earlier).await);
    let stats = duration(before_call.reports[0].total.as_ref().unwrap());
    assert_eq!((stats.count, stats.max_seconds), (1, 86_400.0));
}
