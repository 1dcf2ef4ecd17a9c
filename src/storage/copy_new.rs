//! Writing a batch of new records with `COPY`: a tenant's first load at the speed of the
//! database's bulk path.
//!
//! A batch whose every id is new to the tenant (no row and no tombstone of that kind and id, no
//! id twice in the batch) needs no classification: every record is CREATED. Such a batch is
//! written with one `COPY … FROM STDIN` per table, in one transaction that, like every write,
//! first advances one of the tenant's change lanes and stamps its rows with it.
//!
//! Whether every id is new is found out by trying, not by reading first:
//! - tombstones of the batch's ids are looked up in one statement (deletions are rare, so this
//!   is one index probe per id on a small index);
//! - a stored id makes its table's `COPY` fail on the primary key;
//! - an id twice in the batch (identical records: the API refuses differing ones) is found when
//!   a table's records are sorted by id for its `COPY`, before anything is sent.
//!
//! Either way the transaction is rolled back, nothing is written, and the batch goes through the
//! classifying upsert instead. After a stored id the tenant's batches skip this path for
//! [`BACKOFF`], so a tenant that re-sends stored records pays for one failed attempt per period,
//! not per batch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crm_metrics_engine::records::Deal;
use sqlx::PgConnection;

use super::changes::{self, Change};
use super::copy_text::copy_in;
use super::table::{Pending, Table, copy_statement};
use super::{Batch, StorageError, Store, UpsertOutcome, sales};

/// How long a tenant's batches skip the COPY path after one of them found a stored id.
const BACKOFF: Duration = Duration::from_secs(30);

/// Beyond this many tenants in backoff, expired entries are dropped.
const BACKOFF_TENANTS: usize = 10_000;

/// Tenants whose batches recently found stored ids, and until when they skip the COPY path.
#[derive(Debug, Clone, Default)]
pub(crate) struct CopyBackoff {
    until: Arc<Mutex<HashMap<String, Instant>>>,
}

impl CopyBackoff {
    fn should_try(&self, tenant_id: &str) -> bool {
        let Ok(until) = self.until.lock() else {
            return false;
        };
        until
            .get(tenant_id)
            .is_none_or(|until| *until <= Instant::now())
    }

    fn missed(&self, tenant_id: &str) {
        if let Ok(mut until) = self.until.lock() {
            let now = Instant::now();
            if until.len() >= BACKOFF_TENANTS {
                until.retain(|_, t| *t > now);
            }
            until.insert(tenant_id.to_owned(), now + BACKOFF);
        }
    }
}

/// Whether a table's `COPY` went through, met a stored id, or found an id twice in the batch.
enum Copied {
    Written,
    StoredId,
    RepeatedId,
}

impl Store {
    /// Writes `batch` with `COPY` when every id in it is new to the tenant: every outcome
    /// CREATED, and the change token. `Ok(None)` when the batch does not qualify (nothing was
    /// written then).
    pub(super) async fn copy_new_batch(
        &self,
        tenant_id: &str,
        batch: &Batch<'_>,
        records: usize,
    ) -> Result<Option<(Vec<UpsertOutcome>, String)>, StorageError> {
        if !self.copy_backoff.should_try(tenant_id) {
            return Ok(None);
        }
        let mut tx = self.pool.begin().await?;
        let conn: &mut PgConnection = &mut tx;
        // Two statements, not one: the probe must run after the lane lock is held, so that it
        // sees a deletion committed by a writer of the same lane while this one waited for it.
        let change = changes::advance(conn, tenant_id).await?;
        let copied = if any_tombstoned(conn, tenant_id, batch).await? {
            Copied::StoredId
        } else {
            copy_all(conn, tenant_id, change, batch).await?
        };
        match copied {
            Copied::Written => {
                tx.commit().await?;
                tracing::debug!(tenant_id, records, "copied a batch of new records");
                Ok(Some((
                    vec![UpsertOutcome::Created; records],
                    changes::token(change),
                )))
            }
            Copied::StoredId => {
                tx.rollback().await?;
                self.copy_backoff.missed(tenant_id);
                Ok(None)
            }
            // An identical record sent twice in one batch: only this batch takes the upsert.
            Copied::RepeatedId => {
                tx.rollback().await?;
                Ok(None)
            }
        }
    }
}

/// Copies every table of the batch, stopping at the first one that meets a stored or repeated
/// id.
async fn copy_all(
    conn: &mut PgConnection,
    tenant_id: &str,
    change: Change,
    batch: &Batch<'_>,
) -> Result<Copied, StorageError> {
    macro_rules! copy_tables {
        ($($list:ident),*) => {
            $(
                match copy_table(conn, tenant_id, change, &batch.$list).await? {
                    Copied::Written => {}
                    other => return Ok(other),
                }
            )*
        };
    }
    copy_tables!(customers, leads, deals);
    let mut deals: Vec<&Deal> = batch.deals.iter().map(|item| item.record).collect();
    deals.sort_unstable_by(|a, b| a.meta.id.cmp(&b.meta.id));
    match sales::copy_stage_entries(conn, tenant_id, &deals).await {
        Err(StorageError::Other(sqlx::Error::Database(db))) if is_unique_violation(&*db) => {
            return Ok(Copied::StoredId);
        }
        other => other?,
    }
    copy_tables!(
        orders,
        subscriptions,
        activities,
        tickets,
        survey_responses,
        costs,
        engagement_events,
        crm_users,
        user_events,
        quotas,
        exchange_rates
    );
    Ok(Copied::Written)
}

/// One table's `COPY`; a primary-key violation means a stored id, and an id twice in `items`
/// is found before anything is sent.
async fn copy_table<T: Table>(
    conn: &mut PgConnection,
    tenant_id: &str,
    change: Change,
    items: &[Pending<'_, T>],
) -> Result<Copied, StorageError> {
    if items.is_empty() {
        return Ok(Copied::Written);
    }
    // In id order, like the upsert: concurrent writers of the same new ids wait on each other
    // in one order instead of deadlocking.
    let mut items: Vec<&Pending<'_, T>> = items.iter().collect();
    items.sort_unstable_by(|a, b| a.record.meta().id.cmp(&b.record.meta().id));
    // Sorted, an id sent twice sits next to itself (its `COPY` would fail on the primary key).
    if items
        .windows(2)
        .any(|pair| pair[0].record.meta().id == pair[1].record.meta().id)
    {
        return Ok(Copied::RepeatedId);
    }
    let (statement, data) = copy_statement(tenant_id, change, &items)?;
    match copy_in(conn, &statement, data).await {
        Ok(_) => Ok(Copied::Written),
        Err(sqlx::Error::Database(db)) if is_unique_violation(&*db) => Ok(Copied::StoredId),
        Err(error) => Err(error.into()),
    }
}

fn is_unique_violation(error: &dyn sqlx::error::DatabaseError) -> bool {
    error.code().as_deref() == Some("23505")
}

/// True when some record of the batch has a tombstone of its kind and id.
///
/// A tenant that never deleted anything (every first load) has no tombstone at all: one probe
/// of the index's tenant prefix says so, and the batch's ids are neither sent nor matched.
async fn any_tombstoned(
    conn: &mut PgConnection,
    tenant_id: &str,
    batch: &Batch<'_>,
) -> Result<bool, StorageError> {
    let tenant_has_tombstones: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tombstones WHERE tenant_id = $1)")
            .bind(tenant_id)
            .fetch_one(&mut *conn)
            .await?;
    if !tenant_has_tombstones {
        return Ok(false);
    }
    let (kinds, ids) = batch.kinds_and_ids();
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM tombstones t \
         JOIN unnest($2::text[], $3::text[]) AS b(kind, id) ON t.kind = b.kind AND t.id = b.id \
         WHERE t.tenant_id = $1)",
    )
    .bind(tenant_id)
    .bind(kinds)
    .bind(ids)
    .fetch_one(conn)
    .await?)
}
impl<'a> Batch<'a> {
    /// Calls `visit` with the kind name and id of every record until it returns true; returns
    /// whether it did.
    fn for_each_id(&self, mut visit: impl FnMut(&'static str, &'a str) -> bool) -> bool {
        fn each<'a, T: Table>(
            items: &[Pending<'a, T>],
            visit: &mut impl FnMut(&'static str, &'a str) -> bool,
        ) -> bool {
            items
                .iter()
                .any(|item| visit(T::KIND.name(), item.record.meta().id.as_str()))
        }
        each(&self.customers, &mut visit)
            || each(&self.leads, &mut visit)
            || each(&self.deals, &mut visit)
            || each(&self.orders, &mut visit)
            || each(&self.subscriptions, &mut visit)
            || each(&self.activities, &mut visit)
            || each(&self.tickets, &mut visit)
            || each(&self.survey_responses, &mut visit)
            || each(&self.costs, &mut visit)
            || each(&self.engagement_events, &mut visit)
            || each(&self.crm_users, &mut visit)
            || each(&self.user_events, &mut visit)
            || each(&self.quotas, &mut visit)
            || each(&self.exchange_rates, &mut visit)
    }

    /// The kind name and id of every record, as two parallel lists.
    fn kinds_and_ids(&self) -> (Vec<&'static str>, Vec<&'a str>) {
        let (mut kinds, mut ids) = (Vec::new(), Vec::new());
        self.for_each_id(|kind, id| {
            kinds.push(kind);
            ids.push(id);
            false
        });
        (kinds, ids)
    }
}
