//! PostgreSQL storage: migrations, batch upserts, deletion and erasure, and the snapshot reads
//! that feed the engine.
//!
//! Every statement is keyed by tenant. Writes are set-based (one array per column, a fixed number
//! of round trips per kind whatever the batch size); reads turn an engine [`ReadPlan`] into
//! tenant + time-range index scans inside one REPEATABLE READ snapshot. This is the only module
//! that names SQL rows; everything it returns is an engine type.

mod changes;
mod computations;
mod contact;
mod copy_new;
mod copy_text;
pub mod embedded;
mod enums;
mod error;
pub mod nodelay;
pub mod raw;
mod read;
mod revenue;
mod sales;
mod settings;
mod table;
#[cfg(test)]
#[path = "tests/storage.rs"]
mod tests;
mod upsert;

use std::time::Duration;

use crm_metrics_engine::dataset::{Dataset, ReadPlan};
use crm_metrics_engine::records::{
    Activity, Cost, CrmUser, Customer, Deal, EngagementEvent, ExchangeRate, Lead, Order, Quota,
    Record, RecordKind, Subscription, SurveyResponse, Ticket, UserEvent,
};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

pub use changes::{Change, LANES, Observed, Position, parse_token, token};
pub use computations::{Computation, ComputationSource, PersonalField};
pub use error::StorageError;
pub use read::TenantRead;
pub use settings::StoredSettings;

use table::{Pending, Table};
use upsert::upsert;

/// How long a request waits for a pooled connection before the database counts as unavailable.
/// Short, so a dead database turns into fast UNAVAILABLE answers instead of piled-up requests.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// What an upsert did to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpsertOutcome {
    /// The id was new.
    Created,
    /// The stored record was replaced by different content.
    Updated,
    /// The content equals the stored content (the version may have been raised).
    Unchanged,
    /// The stored version is higher: nothing was written.
    Stale,
}

/// How many rows an erasure touched, per table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ErasureCounts {
    /// The customer row (0 or 1).
    pub customers: u64,
    /// Leads that converted into the customer.
    pub leads: u64,
    /// The customer's survey responses.
    pub survey_responses: u64,
    /// Kept computations that held a copy of the customer's personal data.
    pub kept_computations: u64,
}

/// The service's PostgreSQL database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    copy_backoff: copy_new::CopyBackoff,
}

/// Applies the service's migrations to the database behind `pool` (the service at startup, the
/// load generator for its baseline databases).
pub async fn migrate(pool: &PgPool) -> Result<(), StorageError> {
    sqlx::migrate!("./migrations").run(pool).await?;
    tracing::info!("database migrations applied");
    Ok(())
}

impl Store {
    /// Opens a pool of at most `max_connections` and checks that one connection works.
    pub async fn connect(database_url: &str, max_connections: u32) -> Result<Store, StorageError> {
        let pool = nodelay::pool_options()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(database_url)
            .await?;
        Ok(Store::from_pool(pool))
    }

    /// Wraps an existing pool.
    pub fn from_pool(pool: PgPool) -> Store {
        Store {
            pool,
            copy_backoff: copy_new::CopyBackoff::default(),
        }
    }

    /// The underlying pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the pending migrations of `migrations/`.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        migrate(&self.pool).await
    }

    /// A round trip to the database, for health checks.
    pub async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Upserts a batch atomically and returns one outcome per record, in input order, with the
    /// consistency token of the committing transaction.
    ///
    /// A record is written when its version is at least the stored one; repeated ids in one batch
    /// are written once (later copies report UNCHANGED).
    pub async fn upsert_batch(
        &self,
        tenant_id: &str,
        records: &[Record],
    ) -> Result<(Vec<UpsertOutcome>, String), StorageError> {
        let mut outcomes = vec![UpsertOutcome::Unchanged; records.len()];
        if records.is_empty() {
            return Ok((outcomes, String::new()));
        }
        let batch = Batch::split(records);
        // A batch of new ids only (a first load) is copied; any other goes through the upsert.
        if let Some(written) = self
            .copy_new_batch(tenant_id, &batch, records.len())
            .await?
        {
            return Ok(written);
        }
        let mut tx = self.pool.begin().await?;
        let conn: &mut PgConnection = &mut tx;
        // First: the change lane's lock orders this batch among the lane's writes.
        let change = changes::advance(conn, tenant_id).await?;
        let o = &mut outcomes;
        let t = tenant_id;
        upsert(conn, t, change, &batch.customers, o).await?;
        upsert(conn, t, change, &batch.leads, o).await?;
        let deals = upsert(conn, t, change, &batch.deals, o).await?;
        sales::write_stage_history(conn, t, &deals).await?;
        upsert(conn, t, change, &batch.orders, o).await?;
        upsert(conn, t, change, &batch.subscriptions, o).await?;
        upsert(conn, t, change, &batch.activities, o).await?;
        upsert(conn, t, change, &batch.tickets, o).await?;
        upsert(conn, t, change, &batch.survey_responses, o).await?;
        upsert(conn, t, change, &batch.costs, o).await?;
        upsert(conn, t, change, &batch.engagement_events, o).await?;
        upsert(conn, t, change, &batch.crm_users, o).await?;
        upsert(conn, t, change, &batch.user_events, o).await?;
        upsert(conn, t, change, &batch.quotas, o).await?;
        upsert(conn, t, change, &batch.exchange_rates, o).await?;
        tx.commit().await?;
        tracing::debug!(tenant_id, records = records.len(), "upserted batch");
        Ok((outcomes, changes::token(change)))
    }

    /// Deletes records of one kind by id (a deal's stage entries with it), atomically. Returns
    /// how many records existed.
    pub async fn delete_records(
        &self,
        tenant_id: &str,
        kind: RecordKind,
        ids: &[String],
    ) -> Result<(u64, String), StorageError> {
        if ids.is_empty() {
            return Ok((0, String::new()));
        }
        let mut tx = self.pool.begin().await?;
        let change = changes::advance(&mut tx, tenant_id).await?;
        if kind == RecordKind::Deal {
            sqlx::query(
                "DELETE FROM deal_stage_entries WHERE tenant_id = $1 AND deal_id = ANY($2)",
            )
            .bind(tenant_id)
            .bind(ids)
            .execute(&mut *tx)
            .await?;
        }
        // Each deleted record leaves a tombstone with its last version, so a replay of that
        // version (or an older one) is STALE rather than bringing the record back.
        let sql = format!(
            "WITH deleted AS (\
                 DELETE FROM {} WHERE tenant_id = $1 AND id = ANY($2) RETURNING id, version) \
             INSERT INTO tombstones (tenant_id, kind, id, version, change_lane, change_seq) \
             SELECT $1, $3, id, version, $4, $5 FROM deleted \
             ON CONFLICT (tenant_id, kind, id) DO UPDATE \
             SET version = EXCLUDED.version, change_lane = EXCLUDED.change_lane, \
                 change_seq = EXCLUDED.change_seq",
            table_name(kind)
        );
        let deleted = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(ids)
            .bind(kind.name())
            .bind(change.lane)
            .bind(change.seq)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        tracing::debug!(tenant_id, kind = kind.name(), deleted, "deleted records");
        Ok((deleted, changes::token(change)))
    }

    /// Removes one customer's personal data (customer and lead contact fields, survey comments),
    /// atomically. The facts metrics use stay. Returns the rows touched per table.
    pub async fn erase_customer(
        &self,
        tenant_id: &str,
        customer_id: &str,
    ) -> Result<ErasureCounts, StorageError> {
        let mut tx = self.pool.begin().await?;
        let change = changes::advance(&mut tx, tenant_id).await?;
        let customers = sqlx::query(
            "UPDATE customers SET name = NULL, email = NULL, phone = NULL, updated_at = now(), \
             change_lane = $3, change_seq = $4 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(customer_id)
        .bind(change.lane)
        .bind(change.seq)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let leads = sqlx::query(
            "UPDATE leads SET name = NULL, email = NULL, phone = NULL, updated_at = now(), \
             change_lane = $3, change_seq = $4 WHERE tenant_id = $1 AND customer_id = $2",
        )
        .bind(tenant_id)
        .bind(customer_id)
        .bind(change.lane)
        .bind(change.seq)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let survey_responses = sqlx::query(
            "UPDATE survey_responses SET comment = NULL, updated_at = now(), \
             change_lane = $3, change_seq = $4 WHERE tenant_id = $1 AND customer_id = $2",
        )
        .bind(tenant_id)
        .bind(customer_id)
        .bind(change.lane)
        .bind(change.seq)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Copies kept with computations of inline records.
        let kept_computations: i64 = sqlx::query_scalar(
            "WITH erased AS (DELETE FROM computation_personal_data \
             WHERE tenant_id = $1 AND customer_id = $2 RETURNING computation_id) \
             SELECT count(DISTINCT computation_id) FROM erased",
        )
        .bind(tenant_id)
        .bind(customer_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        // No customer id in the log: it may itself identify the person.
        tracing::info!(
            tenant_id,
            customers,
            leads,
            survey_responses,
            kept_computations,
            "erased customer"
        );
        Ok(ErasureCounts {
            customers,
            leads,
            survey_responses,
            kept_computations: kept_computations.unsigned_abs(),
        })
    }

    /// Reads the rows `plan` names, all from one snapshot, as engine records.
    pub async fn load(&self, tenant_id: &str, plan: &ReadPlan) -> Result<Dataset, StorageError> {
        let mut dataset = Dataset::default();
        if plan.kinds.is_empty() {
            return Ok(dataset);
        }
        let mut read = self.begin_read(tenant_id).await?;
        for (kind, rows) in &plan.kinds {
            read.rows(*kind, rows, &mut dataset).await?;
        }
        read.finish().await?;
        tracing::debug!(tenant_id, records = dataset.len(), "loaded dataset");
        Ok(dataset)
    }
}

/// The table of a record kind.
fn table_name(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Customer => Customer::TABLE,
        RecordKind::Lead => Lead::TABLE,
        RecordKind::Deal => Deal::TABLE,
        RecordKind::Order => Order::TABLE,
        RecordKind::Subscription => Subscription::TABLE,
        RecordKind::Activity => Activity::TABLE,
        RecordKind::Ticket => Ticket::TABLE,
        RecordKind::SurveyResponse => SurveyResponse::TABLE,
        RecordKind::Cost => Cost::TABLE,
        RecordKind::EngagementEvent => EngagementEvent::TABLE,
        RecordKind::CrmUser => CrmUser::TABLE,
        RecordKind::UserEvent => UserEvent::TABLE,
        RecordKind::Quota => Quota::TABLE,
        RecordKind::ExchangeRate => ExchangeRate::TABLE,
    }
}

/// A batch split by kind, each record remembering its input position and fingerprint.
#[derive(Default)]
struct Batch<'a> {
    customers: Vec<Pending<'a, Customer>>,
    leads: Vec<Pending<'a, Lead>>,
    deals: Vec<Pending<'a, Deal>>,
    orders: Vec<Pending<'a, Order>>,
    subscriptions: Vec<Pending<'a, Subscription>>,
    activities: Vec<Pending<'a, Activity>>,
    tickets: Vec<Pending<'a, Ticket>>,
    survey_responses: Vec<Pending<'a, SurveyResponse>>,
    costs: Vec<Pending<'a, Cost>>,
    engagement_events: Vec<Pending<'a, EngagementEvent>>,
    crm_users: Vec<Pending<'a, CrmUser>>,
    user_events: Vec<Pending<'a, UserEvent>>,
    quotas: Vec<Pending<'a, Quota>>,
    exchange_rates: Vec<Pending<'a, ExchangeRate>>,
}

impl<'a> Batch<'a> {
    fn split(records: &'a [Record]) -> Batch<'a> {
        let mut batch = Batch::default();
        for (index, record) in records.iter().enumerate() {
            let fingerprint = record.content_fingerprint();
            macro_rules! pending {
                ($list:ident, $r:expr) => {
                    batch.$list.push(Pending {
                        index,
                        record: $r,
                        fingerprint,
                    })
                };
            }
            match record {
                Record::Customer(r) => pending!(customers, r),
                Record::Lead(r) => pending!(leads, r),
                Record::Deal(r) => pending!(deals, r),
                Record::Order(r) => pending!(orders, r),
                Record::Subscription(r) => pending!(subscriptions, r),
                Record::Activity(r) => pending!(activities, r),
                Record::Ticket(r) => pending!(tickets, r),
                Record::SurveyResponse(r) => pending!(survey_responses, r),
                Record::Cost(r) => pending!(costs, r),
                Record::EngagementEvent(r) => pending!(engagement_events, r),
                Record::CrmUser(r) => pending!(crm_users, r),
                Record::UserEvent(r) => pending!(user_events, r),
                Record::Quota(r) => pending!(quotas, r),
                Record::ExchangeRate(r) => pending!(exchange_rates, r),
            }
        }
        batch
    }
}
