//! Ingestion semantics: outcomes, versions, atomic batches, validation, streaming, limits,
//! tenant isolation, deletion and erasure.

use crm_metrics::grpc::pb;
use tokio_stream::StreamExt;

use crate::helpers::*;

fn deal_v(id: &str, version: i64, amount: i64) -> pb::CrmRecord {
    let mut record = deal(
        id,
        pb::DealStatus::Won,
        ts(2026, 3, 1, 0, 0),
        ts(2026, 3, 10, 0, 0),
        amount,
    );
    if let Some(pb::crm_record::Kind::Deal(d)) = &mut record.kind {
        d.version = version;
    }
    record
}

fn outcomes(response: &pb::IngestRecordsResponse) -> Vec<i32> {
    response.results.iter().map(|r| r.outcome).collect()
}

/// Sends `batches` to tenant "acme" on one `StreamRecords` call and returns every
/// acknowledgement, in the order received.
async fn stream_to_acme(
    app: &mut TestApp,
    batches: Vec<Vec<pb::CrmRecord>>,
) -> Vec<pb::StreamRecordsResponse> {
    let requests =
        tokio_stream::iter(batches.into_iter().map(|records| pb::StreamRecordsRequest {
            tenant_id: "acme".to_owned(),
            records,
        }));
    let mut acks = app
        .ingest
        .stream_records(requests)
        .await
        .expect("stream opens")
        .into_inner();
    let mut received = Vec::new();
    while let Some(ack) = acks.next().await {
        received.push(ack.expect("ack"));
    }
    received
}

#[tokio::test]
async fn upserts_report_outcomes_and_out_of_order_versions_converge() {
    let mut app = TestApp::spawn().await;
    let created = app.ingest(vec![deal_v("d1", 1, 1000)]).await;
    assert_eq!(outcomes(&created), vec![pb::RecordOutcome::Created as i32]);
    assert_eq!(created.created, 1);
    assert!(!created.consistency_token.is_empty());
    let unchanged = app.ingest(vec![deal_v("d1", 1, 1000)]).await;
    assert_eq!(
        outcomes(&unchanged),
        vec![pb::RecordOutcome::Unchanged as i32]
    );
    let updated = app.ingest(vec![deal_v("d1", 2, 3000)]).await;
    assert_eq!(outcomes(&updated), vec![pb::RecordOutcome::Updated as i32]);
    let stale = app.ingest(vec![deal_v("d1", 1, 5000)]).await;
    assert_eq!(outcomes(&stale), vec![pb::RecordOutcome::Stale as i32]);
    assert_eq!(stale.stale, 1);

    // d2 arrives out of order: version 3 first, then version 2, which is stale.
    app.ingest(vec![deal_v("d2", 3, 7000)]).await;
    let late = app.ingest(vec![deal_v("d2", 2, 1)]).await;
    assert_eq!(outcomes(&late), vec![pb::RecordOutcome::Stale as i32]);

    // Stored: d1 v2 = 30.00, d2 v3 = 70.00 → average deal size (3000 + 7000) / 2 = 5000 minor.
    let report = app.report(metric("average_deal_size"), march()).await;
    assert_eq!(
        money(report.total.as_ref().unwrap()),
        ("USD".to_owned(), 5000)
    );
}

#[tokio::test]
async fn a_batch_with_bad_records_writes_nothing_and_names_every_field() {
    let mut app = TestApp::spawn().await;
    let good = deal(
        "ok",
        pb::DealStatus::Won,
        ts(2026, 3, 1, 0, 0),
        ts(2026, 3, 2, 0, 0),
        100,
    );
    let mut bad_currency = deal(
        "bad",
        pb::DealStatus::Won,
        ts(2026, 3, 1, 0, 0),
        ts(2026, 3, 2, 0, 0),
        100,
    );
    if let Some(pb::crm_record::Kind::Deal(d)) = &mut bad_currency.kind {
        d.amount.as_mut().unwrap().currency_code = "usd".to_owned();
    }
    let bad_score = survey("s", pb::SurveyType::Nps, 11, (0, 10), ts(2026, 3, 1, 0, 0));
    let won_without_close = deal(
        "open-won",
        pb::DealStatus::Won,
        ts(2026, 3, 1, 0, 0),
        None,
        100,
    );
    let status = app
        .ingest_for(
            "acme",
            vec![good, bad_currency, bad_score, won_without_close],
        )
        .await
        .expect_err("the batch is rejected");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let fields = violations(&status);
    assert!(
        fields.contains(&"records[1].deal.amount.currency_code".to_owned()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"records[2].survey_response.score".to_owned()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"records[3].deal.closed_time".to_owned()),
        "{fields:?}"
    );
    // Nothing was written, not even the valid first record.
    let report = app.report(metric("win_rate"), march()).await;
    let total = report.total.unwrap();
    assert!(total.value.is_none());
    assert_eq!(
        total.undefined_reason,
        pb::UndefinedReason::ZeroDenominator as i32
    );
}

#[tokio::test]
async fn duplicate_ids_with_different_content_are_rejected() {
    let mut app = TestApp::spawn().await;
    let first = deal_v("dup", 1, 100);
    let second = deal_v("dup", 1, 200);
    let status = app
        .ingest_for("acme", vec![first.clone(), second])
        .await
        .expect_err("rejected");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        violations(&status)
            .iter()
            .any(|f| f.starts_with("records[1]")),
        "{:?}",
        violations(&status)
    );
    // Identical duplicates are fine: the first copy is created, the second left unchanged, and
    // a new record beside them (a first load of new ids) is created too.
    let fresh = deal_v("fresh", 1, 300);
    let response = app.ingest(vec![first.clone(), first, fresh]).await;
    let outcomes: Vec<i32> = response.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            pb::RecordOutcome::Created as i32,
            pb::RecordOutcome::Unchanged as i32,
            pb::RecordOutcome::Created as i32,
        ]
    );
    assert_eq!((response.created, response.unchanged), (2, 1));
}

#[tokio::test]
async fn a_stream_acknowledges_each_batch_in_order_and_survives_a_bad_batch() {
    let mut app = TestApp::spawn().await;
    let won = (0..3)
        .map(|i| {
            deal(
                &format!("w{i}"),
                pb::DealStatus::Won,
                ts(2026, 3, 1, 0, 0),
                ts(2026, 3, 5, 0, 0),
                100,
            )
        })
        .collect();
    let invalid = vec![deal(
        "x",
        pb::DealStatus::Lost,
        ts(2026, 3, 9, 0, 0),
        ts(2026, 3, 1, 0, 0),
        100,
    )];
    let lost = (0..2)
        .map(|i| {
            deal(
                &format!("l{i}"),
                pb::DealStatus::Lost,
                ts(2026, 3, 1, 0, 0),
                ts(2026, 3, 6, 0, 0),
                100,
            )
        })
        .collect();
    let received = stream_to_acme(&mut app, vec![won, invalid, lost]).await;
    assert_eq!(
        received.iter().map(|a| a.sequence).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    match &received[0].result {
        Some(pb::stream_records_response::Result::Accepted(r)) => assert_eq!(r.created, 3),
        other => panic!("batch 0: {other:?}"),
    }
    match &received[1].result {
        Some(pb::stream_records_response::Result::Rejected(r)) => {
            assert_eq!(r.code, tonic::Code::InvalidArgument as i32);
            assert!(
                r.field_violations
                    .iter()
                    .any(|v| v.field == "records[0].deal.closed_time"),
                "{r:?}"
            );
        }
        other => panic!("batch 1: {other:?}"),
    }
    match &received[2].result {
        Some(pb::stream_records_response::Result::Accepted(r)) => assert_eq!(r.created, 2),
        other => panic!("batch 2: {other:?}"),
    }
    // 3 won, 2 lost, the invalid one absent → 3 / 5.
    let report = app.report(metric("win_rate"), march()).await;
    assert_eq!(ratio(report.total.as_ref().unwrap()), (0.6, 3.0, 5.0));
}

/// Batches of a stream may commit two at a time, but only when they share no record: a record
/// sent again in the next batch sees its earlier write, exactly as one-by-one commits would.
#[tokio::test]
async fn a_stream_keeps_each_records_writes_in_stream_order() {
    let mut app = TestApp::spawn().await;
    // New deals are worth 100 each, "shared" 100 + 106 × its version: with 106 deals, the
    // average deal size is 100 + the version stored last.
    let shared_at = |version: i64| deal_v("shared", version, 100 + 106 * version);
    // Every batch has five new deals. Of each three batches, the first carries "shared" at a
    // higher version than before (10, 16, 22, …), the second at one version below that, above
    // the one stored before the first (9, 15, 21, …: stale only if written after the first),
    // and the third does not carry it.
    let mut batches = Vec::new();
    for k in 0..21i64 {
        let mut records: Vec<pb::CrmRecord> = (0..5)
            .map(|i| deal_v(&format!("b{k}-{i}"), 1, 100))
            .collect();
        match k % 3 {
            0 => records.push(shared_at(2 * k + 10)),
            1 => records.push(shared_at(2 * k + 7)),
            _ => {}
        }
        batches.push(records);
    }
    let mut shared = Vec::new();
    let mut sequences = Vec::new();
    for ack in stream_to_acme(&mut app, batches).await {
        sequences.push(ack.sequence);
        let Some(pb::stream_records_response::Result::Accepted(accepted)) = ack.result else {
            panic!("batch {} not accepted", ack.sequence);
        };
        assert_eq!(
            accepted.created + accepted.updated + accepted.stale,
            6 - u64::from(ack.sequence % 3 == 2)
        );
        shared.extend(
            accepted
                .results
                .iter()
                .filter(|r| r.id == "shared")
                .map(|r| r.outcome),
        );
    }
    assert_eq!(sequences, (0..21).collect::<Vec<u64>>());
    let (created, updated, stale) = (
        pb::RecordOutcome::Created as i32,
        pb::RecordOutcome::Updated as i32,
        pb::RecordOutcome::Stale as i32,
    );
    let mut expected = vec![created, stale];
    for _ in 0..6 {
        expected.extend([updated, stale]);
    }
    assert_eq!(shared, expected);
    // 105 new deals and "shared", all won in March; "shared" holds its highest version, 46.
    let report = app.report(metric("win_rate"), march()).await;
    assert_eq!(ratio(report.total.as_ref().unwrap()), (1.0, 106.0, 106.0));
    let report = app.report(metric("average_deal_size"), march()).await;
    assert_eq!(
        money(report.total.as_ref().unwrap()),
        ("USD".to_owned(), 100 + 46)
    );
}

#[tokio::test]
async fn an_oversize_batch_is_invalid_and_names_the_limit() {
    let mut app = TestApp::spawn_with(|config| config.max_batch_records = 3).await;
    let records = (0..4)
        .map(|i| {
            deal(
                &format!("d{i}"),
                pb::DealStatus::Open,
                ts(2026, 3, 1, 0, 0),
                None,
                100,
            )
        })
        .collect();
    let status = app
        .ingest_for("acme", records)
        .await
        .expect_err("too many records");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("at most 3 records"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn an_oversize_message_is_invalid_and_names_the_byte_limit() {
    let mut app = TestApp::spawn_with(|config| config.max_message_bytes = 300).await;
    let records: Vec<pb::CrmRecord> = (0..20)
        .map(|i| {
            deal(
                &format!("deal-{i}"),
                pb::DealStatus::Open,
                ts(2026, 3, 1, 0, 0),
                None,
                100,
            )
        })
        .collect();
    let status = app
        .ingest_for("acme", records)
        .await
        .expect_err("too many bytes");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("at most 300 bytes"),
        "{}",
        status.message()
    );
    assert_eq!(violations(&status), vec!["records".to_owned()]);
}

#[tokio::test]
async fn tenants_never_see_each_others_records() {
    let mut app = TestApp::spawn().await;
    app.ingest(vec![deal(
        "d1",
        pb::DealStatus::Won,
        ts(2026, 3, 1, 0, 0),
        ts(2026, 3, 2, 0, 0),
        100,
    )])
    .await;
    app.ingest_for(
        "globex",
        vec![deal(
            "d1",
            pb::DealStatus::Lost,
            ts(2026, 3, 1, 0, 0),
            ts(2026, 3, 2, 0, 0),
            100,
        )],
    )
    .await
    .expect("other tenant's batch");
    let acme = app.report(metric("win_rate"), march()).await;
    assert_eq!(ratio(acme.total.as_ref().unwrap()), (1.0, 1.0, 1.0));
    app.tenant = "globex".to_owned();
    let globex = app.report(metric("win_rate"), march()).await;
    assert_eq!(ratio(globex.total.as_ref().unwrap()), (0.0, 0.0, 1.0));
}

#[tokio::test]
async fn deleted_records_stop_counting() {
    let mut app = TestApp::spawn().await;
    app.ingest(vec![
        deal(
            "w",
            pb::DealStatus::Won,
            ts(2026, 3, 1, 0, 0),
            ts(2026, 3, 2, 0, 0),
            100,
        ),
        deal(
            "l",
            pb::DealStatus::Lost,
            ts(2026, 3, 1, 0, 0),
            ts(2026, 3, 2, 0, 0),
            100,
        ),
    ])
    .await;
    let deleted = app
        .ingest
        .delete_records(pb::DeleteRecordsRequest {
            tenant_id: "acme".to_owned(),
            kind: pb::RecordKind::Deal as i32,
            ids: vec!["l".to_owned(), "missing".to_owned()],
        })
        .await
        .expect("delete")
        .into_inner();
    assert_eq!(deleted.deleted, 1);
    let report = app.report(metric("win_rate"), march()).await;
    assert_eq!(ratio(report.total.as_ref().unwrap()), (1.0, 1.0, 1.0));
}

#[tokio::test]
async fn erasing_a_customer_removes_personal_data_but_keeps_the_facts() {
    let mut app = TestApp::spawn().await;
    let mut person = customer("c1", ts(2026, 1, 1, 0, 0), None);
    if let Some(pb::crm_record::Kind::Customer(c)) = &mut person.kind {
        c.name = Some("Ada".to_owned());
        c.email = Some("ada@example.com".to_owned());
    }
    let mut answer = survey("s1", pb::SurveyType::Nps, 10, (0, 10), ts(2026, 3, 3, 0, 0));
    if let Some(pb::crm_record::Kind::SurveyResponse(s)) = &mut answer.kind {
        s.customer_id = "c1".to_owned();
        s.comment = Some("great".to_owned());
    }
    app.ingest(vec![person, answer]).await;
    let erased = app.erase("c1").await;
    assert_eq!((erased.customers, erased.survey_responses), (1, 1));
    // The NPS answer still counts: 1 promoter of 1 → 100.
    let report = app.report(metric("nps"), march()).await;
    assert_eq!(score(report.total.as_ref().unwrap()), 100.0);
}

/// A batch of new ids only is written with COPY; a batch holding a stored id falls back to the
/// classifying upsert, with nothing of the failed attempt left behind.
#[tokio::test]
async fn a_first_load_and_the_batches_after_it_get_exact_outcomes() {
    let mut app = TestApp::spawn().await;
    let first = app
        .ingest(vec![deal_v("d1", 1, 1000), deal_v("d2", 1, 2000)])
        .await;
    assert_eq!(first.created, 2);
    // d1 is stored and unchanged, d3 is new, d2 has a newer version.
    let mixed = app
        .ingest(vec![
            deal_v("d1", 1, 1000),
            deal_v("d3", 1, 6000),
            deal_v("d2", 2, 5000),
        ])
        .await;
    assert_eq!(
        outcomes(&mixed),
        vec![
            pb::RecordOutcome::Unchanged as i32,
            pb::RecordOutcome::Created as i32,
            pb::RecordOutcome::Updated as i32,
        ]
    );
    // Stored: 10.00, 50.00 and 60.00 → average deal size 12000 / 3 = 4000 minor units.
    let report = app.report(metric("average_deal_size"), march()).await;
    assert_eq!(
        money(report.total.as_ref().unwrap()),
        ("USD".to_owned(), 4000)
    );
}

/// A tombstoned id in an otherwise new batch sends it through the upsert, which knows the
/// deleted version: its replay is STALE while the new ids are CREATED.
#[tokio::test]
async fn a_new_batch_holding_a_deleted_id_reports_the_replay_stale() {
    let mut app = TestApp::spawn().await;
    app.ingest(vec![deal_v("gone", 1, 1000)]).await;
    let deleted = delete_deals(&mut app, &["gone"]).await;
    assert_eq!(deleted.deleted, 1);
    let replay = app
        .ingest(vec![deal_v("gone", 1, 1000), deal_v("fresh", 1, 3000)])
        .await;
    assert_eq!(
        outcomes(&replay),
        vec![
            pb::RecordOutcome::Stale as i32,
            pb::RecordOutcome::Created as i32,
        ]
    );
    let report = app.report(metric("average_deal_size"), march()).await;
    assert_eq!(
        money(report.total.as_ref().unwrap()),
        ("USD".to_owned(), 3000)
    );
}
