//! Tenant snapshots and freshness through the API: tombstones, consistency tokens, two service
//! instances over one database, answers from memory equal to fresh database reads under random
//! interleavings of writes and queries, and a memory budget small enough to force evictions.

use std::time::Duration;

use crm_metrics::grpc::pb;
use crm_metrics::snapshot::{SnapshotStats, Snapshots};
use pb::DealStatus::{Lost, Open, Won};
use sqlx::Connection;

use crate::helpers::*;

/// Waits until `done` holds for the instance's snapshot counters (background loads finished).
async fn wait_for(snapshots: &Snapshots, done: impl Fn(&SnapshotStats) -> bool) -> SnapshotStats {
    for _ in 0..400 {
        let stats = snapshots.stats();
        if done(&stats) {
            return stats;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "snapshots never reached the expected state: {:?}",
        snapshots.stats()
    );
}

/// `seq:<lane>.<n>`: a change of one of the tenant's change lanes.
fn is_token(token: &str) -> bool {
    token
        .strip_prefix("seq:")
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(lane, seq)| {
            lane.parse::<u8>().is_ok_and(|l| l < 8) && seq.parse::<u64>().is_ok()
        })
}

fn versioned(mut record: pb::CrmRecord, version: i64) -> pb::CrmRecord {
    if let Some(pb::crm_record::Kind::Deal(d)) = &mut record.kind {
        d.version = version;
    }
    record
}

fn outcome(response: &pb::IngestRecordsResponse) -> pb::RecordOutcome {
    pb::RecordOutcome::try_from(response.results[0].outcome).expect("known outcome")
}

fn closed_march(id: &str, status: pb::DealStatus) -> pb::CrmRecord {
    deal(id, status, ts(2026, 3, 1, 0, 0), ts(2026, 3, 2, 0, 0), 100)
}

/// win_rate over March as (won, closed), read with `token` as the minimum consistency.
async fn wins(app: &mut TestApp, token: &str) -> (f64, f64) {
    let mut request = app.request(vec![metric("win_rate")], march());
    request.min_consistency_token = token.to_owned();
    let response = app.compute(request).await;
    let (_, won, closed) = ratio(response.reports[0].total.as_ref().unwrap());
    (won, closed)
}

#[tokio::test]
async fn a_deleted_version_replayed_is_stale_and_a_newer_one_recreates_the_record() {
    let mut app = TestApp::spawn().await;
    let created = app.ingest(vec![versioned(closed_march("d", Won), 2)]).await;
    assert_eq!(outcome(&created), pb::RecordOutcome::Created);
    assert!(
        is_token(&created.consistency_token),
        "{}",
        created.consistency_token
    );
    let deleted = delete_deals(&mut app, &["d"]).await;
    assert_eq!(deleted.deleted, 1);
    assert!(
        is_token(&deleted.consistency_token),
        "{}",
        deleted.consistency_token
    );
    // The deleted version and older ones are replays: STALE, nothing comes back.
    for version in [2, 1] {
        let replay = app
            .ingest(vec![versioned(closed_march("d", Won), version)])
            .await;
        assert_eq!(outcome(&replay), pb::RecordOutcome::Stale, "v{version}");
    }
    let token = app.ingest(vec![closed_march("other", Lost)]).await;
    assert_eq!(wins(&mut app, &token.consistency_token).await, (0.0, 1.0));
    // A newer version is a new record again; deleting it again leaves a newer tombstone.
    let recreated = app.ingest(vec![versioned(closed_march("d", Won), 3)]).await;
    assert_eq!(outcome(&recreated), pb::RecordOutcome::Created);
    assert_eq!(
        wins(&mut app, &recreated.consistency_token).await,
        (1.0, 2.0)
    );
    delete_deals(&mut app, &["d"]).await;
    let replay = app.ingest(vec![versioned(closed_march("d", Won), 3)]).await;
    assert_eq!(outcome(&replay), pb::RecordOutcome::Stale);
    assert_eq!(wins(&mut app, "").await, (0.0, 1.0));
}

#[tokio::test]
async fn consistency_tokens_name_the_tenants_change_sequence() {
    let mut app = TestApp::spawn().await;
    let written = app.ingest(vec![closed_march("w", Won)]).await;
    assert_eq!(wins(&mut app, &written.consistency_token).await, (1.0, 1.0));
    // A token this tenant has not reached was not issued for it.
    let mut request = app.request(vec![metric("win_rate")], march());
    request.min_consistency_token = "seq:0.99".to_owned();
    let status = app.try_compute(request.clone()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    assert!(
        status.message().contains("seq:0.99"),
        "{}",
        status.message()
    );
    request.min_consistency_token = "xid:5".to_owned();
    let status = app.try_compute(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(violations(&status), vec!["min_consistency_token"]);
}

#[tokio::test]
async fn every_write_acknowledged_by_one_instance_is_seen_by_the_next_query_to_another() {
    let (mut writer, url) = TestApp::spawn_with_database().await;
    let mut reader = TestApp::spawn_on(&url, |_| {}).await;
    writer.ingest(vec![closed_march("w0", Won)]).await;
    // The reader keeps the tenant's deals in memory once its first query has missed.
    assert_eq!(wins(&mut reader, "").await, (1.0, 1.0));
    // The deals load in the background (nothing is converted, so no exchange rates are read);
    // none is left pending once they are kept.
    let loaded = wait_for(&reader.snapshots, |s| s.loads == 1).await;
    assert_eq!((loaded.kept, loaded.loading), (1, 0), "{loaded:?}");
    for step in 1..=5 {
        let status = if step % 2 == 0 { Won } else { Lost };
        writer
            .ingest(vec![closed_march(&format!("d{step}"), status)])
            .await;
        // No token: the next query to the other instance sees the acknowledged write.
        let (won, closed) = wins(&mut reader, "").await;
        assert_eq!(closed, f64::from(step + 1), "step {step}");
        assert_eq!(won, f64::from(1 + step / 2), "step {step}");
    }
    let deleted = delete_deals(&mut writer, &["w0", "d1"]).await;
    assert_eq!(deleted.deleted, 2);
    assert_eq!(
        wins(&mut reader, &deleted.consistency_token).await,
        (2.0, 4.0)
    );
    // Every answer after the load came from memory brought up to date, not from the database.
    let stats = reader.snapshots.stats();
    assert!(stats.advances >= 6, "{stats:?}");
    assert_eq!(stats.misses, 1, "{stats:?}"); // the deals, first query only
}

/// A small deterministic generator (xorshift), so a failing sequence can be replayed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn day(&mut self) -> Option<prost_types::Timestamp> {
        ts(
            2026,
            1 + self.below(3) as u32,
            1 + self.below(28) as u32,
            self.below(24) as u32,
            0,
        )
    }
}

/// One random record among a few ids per kind, so updates, stale versions and recreations of
/// deleted records all happen.
fn random_record(dice: &mut Dice) -> pb::CrmRecord {
    let id = format!("r{}", dice.below(12));
    let version = 1 + dice.below(4) as i64;
    let customer_id = format!("c{}", dice.below(6));
    let kind = match dice.below(5) {
        0 => {
            let status = [Won, Lost, Open][dice.below(3) as usize];
            let created = ts(2025, 12, 1 + dice.below(28) as u32, 0, 0);
            let closed = (status != Open).then(|| dice.day()).flatten();
            let mut record = deal(&id, status, created, closed, 100 + dice.below(900) as i64);
            if let Some(pb::crm_record::Kind::Deal(d)) = &mut record.kind {
                d.customer_id = Some(customer_id);
                d.probability_percent = Some(dice.below(101) as u32);
            }
            record.kind
        }
        1 => {
            let churned = (dice.below(3) == 0).then(|| dice.day()).flatten();
            // Most customers predate every as_of; some are acquired on a random day (and do not
            // churn), so that an as_of before it hides them.
            let (acquired, churned) = if dice.below(4) == 0 {
                (dice.day(), None)
            } else {
                (ts(2025, 12, 1, 0, 0), churned)
            };
            let mut record = customer(&customer_id, acquired, churned);
            if let Some(pb::crm_record::Kind::Customer(c)) = &mut record.kind {
                c.name = Some(format!("Person {}", dice.below(100)));
                c.acquisition_channel = Some(format!("channel-{}", dice.below(2)));
            }
            record.kind
        }
        2 => order(&id, &customer_id, dice.day(), 1 + dice.below(5000) as i64).kind,
        3 => {
            let mut record = survey(
                &id,
                pb::SurveyType::Nps,
                dice.below(11) as i32,
                (0, 10),
                dice.day(),
            );
            if let Some(pb::crm_record::Kind::SurveyResponse(s)) = &mut record.kind {
                s.customer_id = customer_id;
                s.comment = Some("kept until erased".to_owned());
            }
            record.kind
        }
        _ => Some(pb::crm_record::Kind::Subscription(pb::Subscription {
            id: id.clone(),
            version: 1,
            customer_id,
            mrr: usd(1000 + dice.below(9000) as i64),
            start_time: ts(2025, 12, 1 + dice.below(28) as u32, 0, 0),
            end_time: (dice.below(2) == 0).then(|| dice.day()).flatten(),
            ..Default::default()
        })),
    };
    let mut record = pb::CrmRecord { kind };
    match &mut record.kind {
        Some(pb::crm_record::Kind::Deal(r)) => r.version = version,
        Some(pb::crm_record::Kind::Customer(r)) => r.version = version,
        Some(pb::crm_record::Kind::Order(r)) => r.version = version,
        Some(pb::crm_record::Kind::SurveyResponse(r)) => r.version = version,
        Some(pb::crm_record::Kind::Subscription(r)) => r.version = version,
        _ => {}
    }
    record
}

/// Metrics over every kind the random records have, grouped by a dimension, in a monthly series.
fn mixed_request(tenant: &str, as_of: Option<prost_types::Timestamp>) -> pb::ComputeMetricsRequest {
    pb::ComputeMetricsRequest {
        tenant_id: tenant.to_owned(),
        metrics: [
            "win_rate",
            "pipeline_value",
            "revenue",
            "nps",
            "customer_churn_rate",
            "mrr",
            "average_deal_size",
        ]
        .into_iter()
        .map(metric)
        .collect(),
        window: Some(window((2026, 1, 1), (2026, 4, 1))),
        granularity: pb::Granularity::Month as i32,
        compare_previous: true,
        // Both instances must look at the same instant (the default is each one's clock).
        as_of: as_of.or(ts(2030, 1, 1, 0, 0)),
        ..Default::default()
    }
}

#[tokio::test]
async fn answers_from_memory_equal_fresh_reads_under_random_interleavings() {
    let (mut kept, url) = TestApp::spawn_with_database().await;
    let mut fresh = TestApp::spawn_on(&url, |config| config.snapshot_memory_mib = 0).await;
    let mut defined_values = 0;
    for seed in [7_u64, 1_234_567, 99_991] {
        let tenant = format!("tenant-{seed}");
        let mut dice = Dice(seed);
        for step in 0..40 {
            match dice.below(10) {
                0..=4 => {
                    let records = (0..1 + dice.below(6)).map(|_| random_record(&mut dice));
                    let mut unique: Vec<pb::CrmRecord> = Vec::new();
                    for record in records {
                        // One batch may not carry one id twice with different content.
                        if !unique.iter().any(|r| same_id(r, &record)) {
                            unique.push(record);
                        }
                    }
                    kept.ingest_for(&tenant, unique)
                        .await
                        .expect("batch accepted");
                }
                5 => {
                    let kind =
                        [pb::RecordKind::Deal, pb::RecordKind::Order][dice.below(2) as usize];
                    kept.ingest
                        .delete_records(pb::DeleteRecordsRequest {
                            tenant_id: tenant.clone(),
                            kind: kind as i32,
                            ids: vec![
                                format!("r{}", dice.below(12)),
                                format!("r{}", dice.below(12)),
                            ],
                        })
                        .await
                        .expect("delete");
                }
                6 => {
                    kept.ingest
                        .erase_customer(pb::EraseCustomerRequest {
                            tenant_id: tenant.clone(),
                            customer_id: format!("c{}", dice.below(6)),
                        })
                        .await
                        .expect("erase");
                }
                _ => {
                    let as_of = (dice.below(2) == 0).then(|| dice.day()).flatten();
                    // The mixed request, or revenue by the customers' channel (a lookup of each
                    // order's customer: an index kept with the customers' snapshot version).
                    let request = if dice.below(3) == 0 {
                        pb::ComputeMetricsRequest {
                            metrics: vec![metric("revenue")],
                            group_by: vec!["customer.acquisition_channel".to_owned()],
                            ..mixed_request(&tenant, as_of)
                        }
                    } else {
                        mixed_request(&tenant, as_of)
                    };
                    let from_memory = kept.try_compute(request.clone()).await;
                    let from_database = fresh.try_compute(request).await;
                    match (from_memory, from_database) {
                        (Ok(a), Ok(b)) => {
                            assert_eq!(a, b, "seed {seed}, step {step}");
                            defined_values += a
                                .reports
                                .iter()
                                .filter(|r| r.total.as_ref().is_some_and(|t| t.value.is_some()))
                                .count();
                        }
                        (Err(a), Err(b)) => {
                            assert_eq!((a.code(), a.message()), (b.code(), b.message()))
                        }
                        (a, b) => panic!("seed {seed}, step {step}: {a:?} vs {b:?}"),
                    }
                    // Let background loads land so later queries are answered from memory.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
    // The comparisons were about real values, not only undefined ones.
    assert!(defined_values > 40, "{defined_values}");
    let stats = kept.snapshots.stats();
    assert!(stats.hits + stats.advances > 20, "{stats:?}");
    assert_eq!(fresh.snapshots.stats().kept, 0);
}

fn same_id(a: &pb::CrmRecord, b: &pb::CrmRecord) -> bool {
    use pb::crm_record::Kind::*;
    match (&a.kind, &b.kind) {
        (Some(Deal(x)), Some(Deal(y))) => x.id == y.id,
        (Some(Customer(x)), Some(Customer(y))) => x.id == y.id,
        (Some(Order(x)), Some(Order(y))) => x.id == y.id,
        (Some(SurveyResponse(x)), Some(SurveyResponse(y))) => x.id == y.id,
        (Some(Subscription(x)), Some(Subscription(y))) => x.id == y.id,
        _ => false,
    }
}

#[tokio::test]
async fn queries_answer_exactly_while_a_tiny_budget_evicts() {
    // 1 MiB holds one tenant's deals (1,200 deals with a 300-byte attribute, ≈ 0.75 MiB) but not
    // two, so answering three tenants in turn evicts again and again.
    let (mut kept, url) =
        TestApp::spawn_with_database_configured(|config| config.snapshot_memory_mib = 1).await;
    let mut fresh = TestApp::spawn_on(&url, |config| config.snapshot_memory_mib = 0).await;
    let tenants = ["t1", "t2", "t3"];
    for (t, tenant) in tenants.iter().enumerate() {
        let deals: Vec<pb::CrmRecord> = (0..1200)
            .map(|i| {
                let status = [Won, Lost, Open][(i + t) % 3];
                let closed = (status != Open).then(|| ts(2026, 3, 1 + (i % 28) as u32, 0, 0));
                let mut record = deal(
                    &format!("d{i}"),
                    status,
                    ts(2026, 2, 1, 0, 0),
                    closed.flatten(),
                    100,
                );
                if let Some(pb::crm_record::Kind::Deal(d)) = &mut record.kind {
                    d.attributes.insert("notes".to_owned(), "x".repeat(300));
                }
                record
            })
            .collect();
        kept.ingest_for(tenant, deals)
            .await
            .expect("batch accepted");
    }
    for round in 0..3 {
        for tenant in tenants {
            let mut request = mixed_request(tenant, None);
            request.metrics = vec![metric("win_rate"), metric("pipeline_value")];
            let before = kept.snapshots.stats();
            let a = kept.compute(request.clone()).await;
            let b = fresh.compute(request).await;
            assert_eq!(a, b, "{tenant}, round {round}");
            // A miss loads the tenant's deals in the background (evicting another tenant's).
            wait_for(&kept.snapshots, |s| {
                s.loads > before.loads || s.hits > before.hits + 1
            })
            .await;
        }
    }
    let stats = kept.snapshots.stats();
    assert!(stats.evictions >= 2, "{stats:?}");
    assert!(stats.bytes <= 1024 * 1024, "{stats:?}");
}

#[tokio::test]
async fn concurrent_writers_of_one_tenant_lose_nothing_in_memory() {
    // Four writers stream batches into one tenant at once (their transactions commit on different
    // change lanes, in any order) while another instance keeps answering from memory. Afterwards
    // that instance, a fresh-reading one and the arithmetic agree: a lost seed deal plus 4 × 10
    // batches × 5 deals, the first of each batch won.
    let (writer, url) = TestApp::spawn_with_database().await;
    let mut reader = TestApp::spawn_on(&url, |_| {}).await;
    let mut fresh = TestApp::spawn_on(&url, |config| config.snapshot_memory_mib = 0).await;
    // One lost deal first, so every answer along the way is defined.
    reader.ingest(vec![closed_march("seed", Lost)]).await;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..4 {
        let mut client = writer.ingest.clone();
        let tenant = writer.tenant.clone();
        tasks.spawn(async move {
            for b in 0..10 {
                let records = (0..5)
                    .map(|i| {
                        closed_march(&format!("w{w}-b{b}-{i}"), if i == 0 { Won } else { Lost })
                    })
                    .collect();
                client
                    .ingest_records(pb::IngestRecordsRequest {
                        tenant_id: tenant.clone(),
                        records,
                    })
                    .await
                    .expect("batch accepted");
            }
        });
    }
    let mut queries = 0;
    while !tasks.is_empty() {
        let (won, closed) = wins(&mut reader, "").await;
        assert!(won <= closed && closed <= 201.0, "{won} / {closed}");
        queries += 1;
        if let Some(done) = tasks.try_join_next() {
            done.expect("writer task");
        }
    }
    assert!(queries > 0);
    assert_eq!(wins(&mut reader, "").await, (40.0, 201.0));
    assert_eq!(wins(&mut fresh, "").await, (40.0, 201.0));
    let stats = reader.snapshots.stats();
    assert!(stats.hits + stats.advances > 0, "{stats:?}");
    // The writers really committed on several lanes.
    let mut db = sqlx::PgConnection::connect(url.url())
        .await
        .expect("connect");
    let lanes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tenant_changes WHERE tenant_id = 'acme'")
            .fetch_one(&mut db)
            .await
            .expect("count lanes");
    assert!(lanes >= 2, "{lanes}");
}
