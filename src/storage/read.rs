//! Reading one tenant's rows from one consistent snapshot: by read plan, in full, or only what
//! changed after a known change sequence (rows written and records deleted since).

use crm_metrics_engine::dataset::{Dataset, KindRead};
use crm_metrics_engine::records::RecordKind;
use sqlx::{AssertSqlSafe, PgConnection, Postgres, Transaction};

use super::changes::{Observed, Position};
use super::table::{RowFilter, changed_since_clause, load};
use super::{StorageError, Store, changes, sales};

/// A read-only REPEATABLE READ transaction on one tenant: every read sees the same snapshot,
/// whose changes are [`TenantRead::position`].
pub struct TenantRead {
    tx: Transaction<'static, Postgres>,
    tenant_id: String,
    position: Position,
}

impl Store {
    /// The tenant's latest committed position and settings version: one index read each, in
    /// one statement.
    pub async fn observe(&self, tenant_id: &str) -> Result<Observed, StorageError> {
        let mut conn = self.pool.acquire().await?;
        changes::observe(&mut conn, tenant_id).await
    }

    /// Opens a snapshot of `tenant_id` and reads its change sequence in it.
    pub async fn begin_read(&self, tenant_id: &str) -> Result<TenantRead, StorageError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        let position = changes::current(&mut tx, tenant_id).await?;
        Ok(TenantRead {
            tx,
            tenant_id: tenant_id.to_owned(),
            position,
        })
    }
}

impl TenantRead {
    /// The tenant's changes in this snapshot: exactly these are visible.
    pub fn position(&self) -> Position {
        self.position
    }

    /// Adds the rows of `kind` that `read` selects to `into`.
    pub async fn rows(
        &mut self,
        kind: RecordKind,
        read: &KindRead,
        into: &mut Dataset,
    ) -> Result<(), StorageError> {
        load_kind(
            &mut self.tx,
            &self.tenant_id,
            kind,
            RowFilter::Plan(read),
            into,
        )
        .await
    }

    /// Adds the rows of `kind` written by changes `since` does not contain to `into`, and
    /// returns the ids of records of `kind` deleted by such changes (and not written again).
    pub async fn changed_since(
        &mut self,
        kind: RecordKind,
        since: &Position,
        into: &mut Dataset,
    ) -> Result<Vec<String>, StorageError> {
        let filter = RowFilter::ChangedSince(since);
        load_kind(&mut self.tx, &self.tenant_id, kind, filter, into).await?;
        let sql = format!(
            "SELECT id FROM tombstones WHERE tenant_id = $1 AND kind = $2 AND ({})",
            changed_since_clause("$3")
        );
        Ok(sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(&self.tenant_id)
            .bind(kind.name())
            .bind(since.0.to_vec())
            .fetch_all(&mut *self.tx)
            .await?)
    }

    /// Ends the snapshot.
    pub async fn finish(self) -> Result<(), StorageError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Reads the rows of one kind that `filter` selects into the matching list of `into`.
async fn load_kind(
    conn: &mut PgConnection,
    t: &str,
    kind: RecordKind,
    filter: RowFilter<'_>,
    into: &mut Dataset,
) -> Result<(), StorageError> {
    match kind {
        RecordKind::Customer => into.customers.extend(load(conn, t, filter).await?),
        RecordKind::Lead => into.leads.extend(load(conn, t, filter).await?),
        RecordKind::Deal => {
            let mut deals = load(conn, t, filter).await?;
            sales::load_stage_history(conn, t, &mut deals).await?;
            into.deals.extend(deals);
        }
        RecordKind::Order => into.orders.extend(load(conn, t, filter).await?),
        RecordKind::Subscription => into.subscriptions.extend(load(conn, t, filter).await?),
        RecordKind::Activity => into.activities.extend(load(conn, t, filter).await?),
        RecordKind::Ticket => into.tickets.extend(load(conn, t, filter).await?),
        RecordKind::SurveyResponse => into.survey_responses.extend(load(conn, t, filter).await?),
        RecordKind::Cost => into.costs.extend(load(conn, t, filter).await?),
        RecordKind::EngagementEvent => into.engagement_events.extend(load(conn, t, filter).await?),
        RecordKind::CrmUser => into.crm_users.extend(load(conn, t, filter).await?),
        RecordKind::UserEvent => into.user_events.extend(load(conn, t, filter).await?),
        RecordKind::Quota => into.quotas.extend(load(conn, t, filter).await?),
        RecordKind::ExchangeRate => into.exchange_rates.extend(load(conn, t, filter).await?),
    }
    Ok(())
}
