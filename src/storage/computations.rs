//! Kept computations: a request's inputs and result, stored as opaque bytes the gRPC layer
//! encodes, with the definition versions that produced the result. Personal data of the inline
//! records is kept beside them ([`PersonalField`]), where erasure finds it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::{StorageError, Store};

/// Where a computation's records came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComputationSource {
    /// The tenant's stored records.
    TenantData,
    /// Records sent with the request.
    InlineRecords,
}

impl ComputationSource {
    fn as_str(self) -> &'static str {
        match self {
            ComputationSource::TenantData => "tenant_data",
            ComputationSource::InlineRecords => "inline_records",
        }
    }

    fn parse(text: &str) -> Result<ComputationSource, StorageError> {
        match text {
            "tenant_data" => Ok(ComputationSource::TenantData),
            "inline_records" => Ok(ComputationSource::InlineRecords),
            other => Err(StorageError::Corrupt(format!(
                "unknown computation source '{other}'"
            ))),
        }
    }
}

/// One personal value of a kept request's records (a contact field, a survey comment), kept
/// outside the encoded request so that erasing the customer it belongs to removes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalField {
    /// The record's position in the request.
    pub record_index: u32,
    /// The field (`name`, `email`, `phone`, `comment`).
    pub field: String,
    /// The customer the value belongs to, when any.
    pub customer_id: Option<String>,
    pub value: String,
}

/// One kept computation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computation {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub source: ComputationSource,
    /// The encoded request (its inputs), as the caller sent it.
    pub request: Vec<u8>,
    /// The encoded result, as returned.
    pub result: Vec<u8>,
    /// Metric id → definition version.
    pub definition_versions: BTreeMap<String, u32>,
    /// The personal data of the request's records, taken out of `request`.
    pub personal: Vec<PersonalField>,
}

impl Store {
    /// Keeps a computation for `tenant_id`.
    pub async fn save_computation(
        &self,
        tenant_id: &str,
        computation: &Computation,
    ) -> Result<(), StorageError> {
        let versions = serde_json::to_value(&computation.definition_versions)
            .map_err(|e| StorageError::Corrupt(format!("definition versions: {e}")))?;
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO computations (tenant_id, id, created_at, source, request, result, \
             definition_versions, personal_kept_apart) VALUES ($1, $2, $3, $4, $5, $6, $7, true)",
        )
        .bind(tenant_id)
        .bind(computation.id)
        .bind(computation.created_at)
        .bind(computation.source.as_str())
        .bind(&computation.request)
        .bind(&computation.result)
        .bind(versions)
        .execute(&mut *tx)
        .await?;
        insert_personal(&mut tx, tenant_id, computation.id, &computation.personal).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Up to `limit` kept computations (every tenant's) over inline records whose personal data
    /// is still inside their encoded request: (tenant, id, request).
    pub async fn computations_with_personal_inside(
        &self,
        limit: i64,
    ) -> Result<Vec<(String, Uuid, Vec<u8>)>, StorageError> {
        Ok(sqlx::query_as(
            "SELECT tenant_id, id, request FROM computations \
             WHERE NOT personal_kept_apart AND source = 'inline_records' LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Replaces a kept computation's request by one without personal data, and keeps `personal`
    /// apart, in one transaction.
    pub async fn keep_personal_apart(
        &self,
        tenant_id: &str,
        id: Uuid,
        request: &[u8],
        personal: &[PersonalField],
    ) -> Result<(), StorageError> {
        let mut tx = self.pool().begin().await?;
        let updated = sqlx::query(
            "UPDATE computations SET request = $3, personal_kept_apart = true \
             WHERE tenant_id = $1 AND id = $2 AND NOT personal_kept_apart",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(request)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 1 {
            insert_personal(&mut tx, tenant_id, id, personal).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes one kept computation (with its personal data).
    pub async fn delete_computation(&self, tenant_id: &str, id: Uuid) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM computations WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Deletes the computations created before `cutoff` (every tenant's), with their personal
    /// data; returns how many.
    pub async fn delete_computations_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        Ok(
            sqlx::query("DELETE FROM computations WHERE created_at < $1")
                .bind(cutoff)
                .execute(self.pool())
                .await?
                .rows_affected(),
        )
    }

    /// The tenant's computation with `id`, if there is one created at `kept_since` or later.
    pub async fn computation(
        &self,
        tenant_id: &str,
        id: Uuid,
        kept_since: DateTime<Utc>,
    ) -> Result<Option<Computation>, StorageError> {
        let row = sqlx::query(
            "SELECT created_at, source, request, result, definition_versions FROM computations \
             WHERE tenant_id = $1 AND id = $2 AND created_at >= $3",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(kept_since)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let personal = sqlx::query(
            "SELECT record_index, field, customer_id, value FROM computation_personal_data \
             WHERE tenant_id = $1 AND computation_id = $2 ORDER BY record_index, field",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| {
            Ok(PersonalField {
                record_index: u32::try_from(row.try_get::<i32, _>("record_index")?)
                    .map_err(|e| StorageError::Corrupt(format!("record index: {e}")))?,
                field: row.try_get("field")?,
                customer_id: row.try_get("customer_id")?,
                value: row.try_get("value")?,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
        let versions: serde_json::Value = row.try_get("definition_versions")?;
        let definition_versions = serde_json::from_value(versions)
            .map_err(|e| StorageError::Corrupt(format!("definition versions: {e}")))?;
        Ok(Some(Computation {
            id,
            created_at: row.try_get("created_at")?,
            source: ComputationSource::parse(row.try_get("source")?)?,
            request: row.try_get("request")?,
            result: row.try_get("result")?,
            definition_versions,
            personal,
        }))
    }
}

/// Keeps the personal data of computation `id` apart.
async fn insert_personal(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant_id: &str,
    id: Uuid,
    personal: &[PersonalField],
) -> Result<(), StorageError> {
    if personal.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO computation_personal_data \
         (tenant_id, computation_id, record_index, field, customer_id, value) \
         SELECT $1, $2, * FROM unnest($3::int[], $4::text[], $5::text[], $6::text[])",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(
        personal
            .iter()
            .map(|p| p.record_index as i32)
            .collect::<Vec<_>>(),
    )
    .bind(
        personal
            .iter()
            .map(|p| p.field.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        personal
            .iter()
            .map(|p| p.customer_id.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        personal
            .iter()
            .map(|p| p.value.as_str())
            .collect::<Vec<_>>(),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
