//! Storage tests against a real PostgreSQL, each on a fresh database from the workspace's one
//! test harness (`crm-metrics-testkit`: the server of `DATABASE_URL` when set, else an embedded
//! one, so they never silently skip), dropped when the test ends.

use std::str::FromStr;

use chrono::{NaiveDate, TimeZone, Utc};
use crm_metrics_engine::dataset::{Dataset, KindRead, ReadPlan, TimeBound, TimeField};
use crm_metrics_engine::money::{Currency, Money};
use crm_metrics_engine::records::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crm_metrics_testkit::TestDatabase;

use super::embedded::EmbeddedPostgres;
use super::{ErasureCounts, StorageError, Store, UpsertOutcome};

const TENANT: &str = "tenant-a";

/// A fresh, migrated database on the tests' server (the workspace's one harness,
/// `crm-metrics-testkit`), and the database's handle for [`shut_down`].
pub(super) async fn fresh_store() -> (Store, TestDatabase) {
    let url = crm_metrics_testkit::fresh_database()
        .await
        .expect("a fresh test database");
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(PgConnectOptions::from_str(url.url()).unwrap())
        .await
        .unwrap();
    let store = Store::from_pool(pool);
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    (store, url)
}

/// Closes the store, then lets its database go (dropped with its last handle).
pub(super) async fn shut_down(store: Store, database: TestDatabase) {
    store.pool().close().await;
    drop(database);
}

fn at(seconds: i64) -> Timestamp {
    // Microseconds: the precision PostgreSQL keeps, so round trips are exact.
    Utc.timestamp_opt(1_700_000_000 + seconds, 123_456_000)
        .unwrap()
}

fn usd(minor: i64) -> Money {
    Money::new(Currency::parse("USD").unwrap(), minor)
}

fn meta(id: &str, version: i64) -> Meta {
    Meta {
        id: id.into(),
        version,
        attributes: [("region", "eu"), ("quote\"d", "ünïcode ✓")]
            .into_iter()
            .collect(),
    }
}

fn deal(version: i64, amount: i64) -> Deal {
    Deal {
        meta: meta("d1", version),
        created_time: at(0),
        owner_id: Some("u1".into()),
        amount: usd(amount),
        status: DealStatus::Won,
        closed_time: Some(at(86_400)),
        stage: "closed_won".into(),
        stage_history: vec![
            StageEntry {
                stage: "qualify".into(),
                entered_time: at(0),
            },
            StageEntry {
                stage: "proposal".into(),
                entered_time: at(3_600),
            },
            StageEntry {
                stage: "closed_won".into(),
                entered_time: at(86_400),
            },
        ],
        probability_percent: Some(100),
        deal_type: DealType::CrossSell,
        lead_id: Some("l1".into()),
        customer_id: Some("c1".into()),
    }
}

/// One record of every kind, every optional field set.
pub(super) fn one_of_each() -> Vec<Record> {
    fn some<T: From<&'static str>>(s: &'static str) -> Option<T> {
        Some(T::from(s))
    }
    vec![
        Record::Customer(Customer {
            meta: meta("c1", 1),
            name: some("Ada"),
            email: some("ada@example.com"),
            phone: some("+1 555"),
            acquired_time: at(10),
            churned_time: Some(at(20)),
            acquisition_channel: some("paid_search"),
        }),
        Record::Lead(Lead {
            meta: meta("l1", 1),
            created_time: at(1),
            source: some("web_form"),
            owner_id: some("u1"),
            qualified_time: Some(at(2)),
            converted_time: Some(at(3)),
            customer_id: some("c1"),
            disqualified_time: Some(at(4)),
            first_response_time: Some(at(5)),
            name: some("Ada"),
            email: some("ada@example.com"),
            phone: some("+1 555"),
        }),
        Record::Deal(deal(1, 50_000)),
        Record::Order(Order {
            meta: meta("o1", 1),
            customer_id: "c1".into(),
            amount: usd(12_000),
            cost: Some(Money::new(Currency::parse("EUR").unwrap(), 4_000)),
            ordered_time: at(30),
            fulfilled_time: Some(at(40)),
            kind: OrderKind::CrossSell,
        }),
        Record::Subscription(Subscription {
            meta: meta("s1", 1),
            customer_id: "c1".into(),
            mrr: usd(9_900),
            start_time: at(50),
            end_time: Some(at(60)),
            trial: true,
            renewal_due_time: Some(at(55)),
            renewal_outcome: Some(RenewalOutcome::NotRenewed),
        }),
        Record::Activity(Activity {
            meta: meta("a1", 1),
            activity_type: ActivityType::DataEntry,
            direction: ActivityDirection::Inbound,
            occurred_time: at(70),
            duration_seconds: Some(300),
            lead_id: some("l1"),
            deal_id: some("d1"),
            customer_id: some("c1"),
            owner_id: some("u1"),
        }),
        Record::Ticket(Ticket {
            meta: meta("t1", 1),
            customer_id: some("c1"),
            created_time: at(80),
            first_response_time: Some(at(81)),
            resolved_time: Some(at(90)),
            assignee_id: some("u2"),
            channel: "chat".into(),
            contact_count: u32::MAX,
            reopened: true,
        }),
        Record::SurveyResponse(SurveyResponse {
            meta: meta("r1", 1),
            survey_type: SurveyType::Ces,
            score: 2,
            scale_min: 1,
            scale_max: 7,
            direction: ScoreDirection::LowerIsBetter,
            responded_time: at(95),
            customer_id: "c1".into(),
            ticket_id: some("t1"),
            channel: some("email"),
            comment: some("easy"),
        }),
        Record::Cost(Cost {
            meta: meta("k1", 1),
            category: CostCategory::CrmInvestment,
            channel: some("paid_search"),
            amount: usd(-5),
            incurred_time: at(100),
        }),
        Record::EngagementEvent(EngagementEvent {
            meta: meta("e1", 1),
            customer_id: "c1".into(),
            event_type: EngagementType::ProductUsage,
            occurred_time: at(110),
        }),
        Record::CrmUser(CrmUser {
            meta: meta("u1", 1),
            role: UserRole::Marketing,
            team: some("emea"),
            licensed: true,
            created_time: at(120),
            deactivated_time: Some(at(130)),
        }),
        Record::UserEvent(UserEvent {
            meta: meta("ue1", 1),
            user_id: "u1".into(),
            kind: UserEventKind::FeatureUse,
            feature: some("reports"),
            occurred_time: at(140),
        }),
        Record::Quota(Quota {
            meta: meta("q1", 1),
            owner_id: "u1".into(),
            period_start: at(150),
            period_end: at(160),
            amount: usd(i64::MAX),
        }),
        Record::ExchangeRate(ExchangeRate {
            meta: meta("x1", 1),
            currency: Currency::parse("EUR").unwrap(),
            date: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
            rate_units: 108_345,
            rate_scale: 5,
        }),
    ]
}

pub(super) fn read_all() -> ReadPlan {
    let mut plan = ReadPlan::default();
    for kind in RecordKind::ALL {
        plan.read_all(kind);
    }
    plan
}

#[tokio::test]
async fn upserts_classify_and_loads_round_trip() {
    let (store, embedded) = fresh_store().await;
    use UpsertOutcome::*;

    // Every kind round trips exactly; a repeated id in one batch is written once.
    let records = one_of_each();
    let mut batch = records.clone();
    batch.push(records[0].clone());
    let (outcomes, token) = store.upsert_batch(TENANT, &batch).await.unwrap();
    assert_eq!(
        crate::storage::parse_token(&token).map(|c| c.seq),
        Some(1),
        "{token}"
    );
    let mut expected = vec![Created; records.len()];
    expected.push(Unchanged);
    assert_eq!(outcomes, expected);
    let loaded = store.load(TENANT, &read_all()).await.unwrap();
    assert_eq!(loaded, Dataset::from_records(records.clone()));

    // Versions: higher + different = Updated, same content = Unchanged, lower = Stale.
    let upsert = |deal: Deal| {
        let store = store.clone();
        async move {
            store
                .upsert_batch(TENANT, &[Record::Deal(deal)])
                .await
                .unwrap()
                .0
        }
    };
    assert_eq!(upsert(deal(2, 70_000)).await, [Updated]);
    assert_eq!(upsert(deal(2, 70_000)).await, [Unchanged]);
    assert_eq!(upsert(deal(1, 50_000)).await, [Stale]);
    assert_eq!(upsert(deal(3, 70_000)).await, [Unchanged]);
    // The Unchanged v3 was stored, so v2 is now stale.
    assert_eq!(upsert(deal(2, 70_000)).await, [Stale]);
    let mut changed = deal(4, 70_000);
    changed.stage_history.truncate(1);
    assert_eq!(upsert(changed.clone()).await, [Updated]);

    let mut plan = ReadPlan::default();
    plan.read_all(RecordKind::Deal);
    let loaded = store.load(TENANT, &plan).await.unwrap();
    assert_eq!(loaded.deals, [changed]);
    assert!(
        loaded.customers.is_empty(),
        "kinds not planned are not read"
    );

    // Another tenant never sees or collides with these rows.
    assert_eq!(
        store
            .upsert_batch("tenant-b", &[Record::Deal(deal(1, 1))])
            .await
            .unwrap()
            .0,
        [Created]
    );
    assert_eq!(
        store.load("tenant-b", &plan).await.unwrap().deals,
        [deal(1, 1)]
    );

    shut_down(store, embedded).await;
}

#[tokio::test]
async fn bounded_reads_erasure_deletion_and_big_batches() {
    let (store, embedded) = fresh_store().await;
    store.upsert_batch(TENANT, &one_of_each()).await.unwrap();

    // Time bounds: [from, until), open sides, NULL never matches, union of bounds.
    let bounded = |bounds: Vec<TimeBound>| {
        let mut plan = ReadPlan::default();
        plan.kinds.insert(RecordKind::Deal, KindRead::AnyOf(bounds));
        let store = store.clone();
        async move { store.load(TENANT, &plan).await.unwrap().deals.len() }
    };
    let bound = |field, from, until| TimeBound { field, from, until };
    assert_eq!(
        bounded(vec![bound(
            TimeField::DealCreated,
            Some(at(0)),
            Some(at(1))
        )])
        .await,
        1
    );
    assert_eq!(
        bounded(vec![bound(TimeField::DealCreated, Some(at(1)), None)]).await,
        0
    );
    assert_eq!(
        bounded(vec![bound(TimeField::DealCreated, None, Some(at(0)))]).await,
        0
    );
    assert_eq!(
        bounded(vec![
            bound(TimeField::DealCreated, Some(at(5)), None),
            bound(TimeField::DealClosed, None, None),
        ])
        .await,
        1
    );
    assert_eq!(bounded(vec![]).await, 0);
    let mut open = deal(2, 1);
    open.status = DealStatus::Open;
    open.closed_time = None;
    store
        .upsert_batch(TENANT, &[Record::Deal(open)])
        .await
        .unwrap();
    assert_eq!(
        bounded(vec![bound(TimeField::DealClosed, None, None)]).await,
        0
    );

    // Erasure nulls personal data only.
    let counts = store.erase_customer(TENANT, "c1").await.unwrap();
    assert_eq!(
        counts,
        ErasureCounts {
            customers: 1,
            leads: 1,
            survey_responses: 1,
            kept_computations: 0,
        }
    );
    let data = store.load(TENANT, &read_all()).await.unwrap();
    let customer = &data.customers[0];
    assert_eq!(
        (&customer.name, &customer.email, &customer.phone),
        (&None, &None, &None)
    );
    assert_eq!(customer.acquired_time, at(10));
    assert_eq!((&data.leads[0].name, &data.leads[0].email), (&None, &None));
    assert_eq!(data.survey_responses[0].comment, None);
    assert_eq!(data.survey_responses[0].score, 2);

    // Deleting a deal deletes its stage entries.
    let deleted = store
        .delete_records(TENANT, RecordKind::Deal, &["d1".into(), "nope".into()])
        .await
        .unwrap()
        .0;
    assert_eq!(deleted, 1);
    let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM deal_stage_entries")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(entries, 0);

    // 10,000 records in one batch: bound as arrays, a few round trips.
    let orders: Vec<Record> = (0..10_000)
        .map(|i| {
            Record::Order(Order {
                meta: Meta {
                    id: format!("bulk-{i}").into(),
                    version: 1,
                    attributes: Attributes::new(),
                },
                customer_id: format!("c{}", i % 100).into(),
                amount: usd(i),
                cost: None,
                ordered_time: at(i),
                fulfilled_time: None,
                kind: OrderKind::Repeat,
            })
        })
        .collect();
    let outcomes = store.upsert_batch(TENANT, &orders).await.unwrap().0;
    assert!(outcomes.iter().all(|o| *o == UpsertOutcome::Created));
    let outcomes = store.upsert_batch(TENANT, &orders).await.unwrap().0;
    assert!(outcomes.iter().all(|o| *o == UpsertOutcome::Unchanged));
    let mut plan = ReadPlan::default();
    plan.read_bounded(TimeBound {
        field: TimeField::OrderOrdered,
        from: Some(at(100)),
        until: Some(at(200)),
    });
    assert_eq!(store.load(TENANT, &plan).await.unwrap().orders.len(), 100);

    shut_down(store, embedded).await;
}

#[tokio::test]
async fn unknown_enum_text_is_corrupt_not_a_panic() {
    let (store, embedded) = fresh_store().await;
    store.upsert_batch(TENANT, &one_of_each()).await.unwrap();
    // Simulate a value written by a newer build: drop the CHECK, store an unknown value.
    sqlx::query("ALTER TABLE deals DROP CONSTRAINT deals_status_check")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE deals SET status = 'paused'")
        .execute(store.pool())
        .await
        .unwrap();
    let error = store.load(TENANT, &read_all()).await.unwrap_err();
    assert!(matches!(error, StorageError::Corrupt(_)), "{error}");
    shut_down(store, embedded).await;
}

#[tokio::test]
async fn serialization_failures_and_deadlocks_are_conflicts() {
    let (store, embedded) = fresh_store().await;
    for state in ["serialization_failure", "deadlock_detected"] {
        let statement =
            format!("DO $$ BEGIN RAISE EXCEPTION 'lost a race' USING ERRCODE = '{state}'; END $$");
        let error = sqlx::query(AssertSqlSafe(statement))
            .execute(store.pool())
            .await
            .unwrap_err();
        let error = StorageError::from(error);
        assert!(
            matches!(error, StorageError::Conflict(_)),
            "{state}: {error:?}"
        );
        assert!(error.is_retryable());
    }
    shut_down(store, embedded).await;
}

#[tokio::test]
async fn a_private_data_dir_like_mktemp_makes_is_usable() {
    // `mktemp -d` makes a 0700 directory; as root the cluster inside runs as user postgres, which
    // must traverse it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700),
    )
    .unwrap();
    let server = EmbeddedPostgres::start_unsynced(dir.path()).await.unwrap();
    let url = server.create_database("private_dir").await.unwrap();
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);
    drop(conn);
    server.stop().await;
}
