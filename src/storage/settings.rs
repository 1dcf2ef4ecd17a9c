//! Tenant settings rows: read one, and replace one under an optional version precondition.

use super::{StorageError, Store};

/// A tenant's stored settings; empty texts are "not set".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSettings {
    /// Starts at 1, one more with every update.
    pub version: i64,
    pub base_currency: String,
    pub reporting_currency: String,
    pub time_zone: String,
    /// 1-12.
    pub fiscal_year_start_month: i16,
}

type SettingsRow = (i64, String, String, String, i16);

fn from_row(
    (version, base_currency, reporting_currency, time_zone, fiscal_year_start_month): SettingsRow,
) -> StoredSettings {
    StoredSettings {
        version,
        base_currency,
        reporting_currency,
        time_zone,
        fiscal_year_start_month,
    }
}

impl Store {
    /// The tenant's stored settings; `None` when it never stored any.
    pub async fn tenant_settings(
        &self,
        tenant_id: &str,
    ) -> Result<Option<StoredSettings>, StorageError> {
        let row: Option<SettingsRow> = sqlx::query_as(
            "SELECT version, base_currency, reporting_currency, time_zone, \
             fiscal_year_start_month FROM tenant_settings WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(from_row))
    }

    /// Stores `settings` (its version is ignored) as the next version. With `expected_version`
    /// the write applies only when the stored version is that one (0: nothing stored); `None`
    /// when it is not. Returns the settings as stored.
    pub async fn put_tenant_settings(
        &self,
        tenant_id: &str,
        settings: &StoredSettings,
        expected_version: Option<i64>,
    ) -> Result<Option<StoredSettings>, StorageError> {
        let statement = match expected_version {
            // Only when nothing is stored yet.
            Some(0) => {
                "INSERT INTO tenant_settings AS s (tenant_id, version, base_currency, \
                 reporting_currency, time_zone, fiscal_year_start_month) \
                 VALUES ($1, 1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO NOTHING \
                 RETURNING version, base_currency, reporting_currency, time_zone, \
                 fiscal_year_start_month"
            }
            // Only over version $6.
            Some(_) => {
                "UPDATE tenant_settings SET version = version + 1, base_currency = $2, \
                 reporting_currency = $3, time_zone = $4, fiscal_year_start_month = $5, \
                 updated_at = now() WHERE tenant_id = $1 AND version = $6 \
                 RETURNING version, base_currency, reporting_currency, time_zone, \
                 fiscal_year_start_month"
            }
            // Whatever is stored.
            None => {
                "INSERT INTO tenant_settings AS s (tenant_id, version, base_currency, \
                 reporting_currency, time_zone, fiscal_year_start_month) \
                 VALUES ($1, 1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO UPDATE SET \
                 version = s.version + 1, base_currency = $2, reporting_currency = $3, \
                 time_zone = $4, fiscal_year_start_month = $5, updated_at = now() \
                 RETURNING version, base_currency, reporting_currency, time_zone, \
                 fiscal_year_start_month"
            }
        };
        let mut query = sqlx::query_as::<_, SettingsRow>(statement)
            .bind(tenant_id)
            .bind(&settings.base_currency)
            .bind(&settings.reporting_currency)
            .bind(&settings.time_zone)
            .bind(settings.fiscal_year_start_month);
        if let Some(version) = expected_version.filter(|v| *v != 0) {
            query = query.bind(version);
        }
        let row = query.fetch_optional(&self.pool).await?;
        Ok(row.map(from_row))
    }
}
