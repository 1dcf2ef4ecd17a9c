//! Tenant settings: the currency a tenant's exchange rates convert into, the reporting currency
//! and time zone its computations use when a request names none, and its fiscal calendar.
//!
//! Stored settings win; a tenant without any uses the service's defaults (its flags). Every
//! computation reads the settings version with the tenant's change position in one statement
//! (`Store::observe`), and fetches the row only when that version is not the one kept in
//! memory, so an update is seen by the next computation on every replica at no extra cost.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crm_metrics_engine::Tz;
use crm_metrics_engine::calendar::parse_time_zone;
use crm_metrics_engine::money::Currency;

use super::{App, AppError, TenantId};
use crate::storage::StoredSettings;

/// A tenant's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantSettings {
    /// The currency exchange rates convert into; `None`: not set.
    pub base_currency: Option<Currency>,
    /// The currency money is reported in when a request names none; `None`: the data's own.
    pub reporting_currency: Option<Currency>,
    /// The time zone calendar buckets are cut in when a request names none.
    pub time_zone: Tz,
    /// The month (1-12) the fiscal year starts in.
    pub fiscal_year_start_month: u32,
}

impl Default for TenantSettings {
    fn default() -> Self {
        TenantSettings {
            base_currency: None,
            reporting_currency: None,
            time_zone: Tz::UTC,
            fiscal_year_start_month: 1,
        }
    }
}

/// A tenant's settings with the version they were stored as (0: the service's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionedSettings {
    pub settings: TenantSettings,
    pub version: i64,
}

impl VersionedSettings {
    /// The etag of this version.
    pub fn etag(&self) -> String {
        format!("v{}", self.version)
    }
}

/// The settings of tenants that stored none, and the settings kept in memory by version.
#[derive(Default)]
pub(super) struct SettingsCache {
    pub defaults: TenantSettings,
    /// Per-tenant reporting currencies for tenants without stored settings.
    pub tenant_currencies: BTreeMap<String, Currency>,
    kept: Mutex<HashMap<String, VersionedSettings>>,
}

impl SettingsCache {
    fn defaults_for(&self, tenant_id: &str) -> VersionedSettings {
        let mut settings = self.defaults;
        if let Some(currency) = self.tenant_currencies.get(tenant_id) {
            settings.reporting_currency = Some(*currency);
        }
        VersionedSettings {
            settings,
            version: 0,
        }
    }

    fn kept_at(&self, tenant_id: &str, version: i64) -> Option<TenantSettings> {
        let kept = self.kept.lock().ok()?;
        kept.get(tenant_id)
            .filter(|kept| kept.version == version)
            .map(|kept| kept.settings)
    }

    fn keep(&self, tenant_id: &str, settings: VersionedSettings) {
        if let Ok(mut kept) = self.kept.lock() {
            let newer = kept
                .get(tenant_id)
                .is_none_or(|old| old.version < settings.version);
            if newer {
                kept.insert(tenant_id.to_owned(), settings);
            }
        }
    }
}

impl App {
    /// Uses `defaults` for tenants without stored settings, with the reporting currencies of
    /// `tenant_currencies` for the tenants listed there.
    pub fn with_default_settings(
        mut self,
        defaults: TenantSettings,
        tenant_currencies: BTreeMap<String, Currency>,
    ) -> App {
        self.settings = Arc::new(SettingsCache {
            defaults,
            tenant_currencies,
            kept: Mutex::default(),
        });
        self
    }

    /// The tenant's settings as stored now (or the defaults).
    pub async fn tenant_settings(
        &self,
        tenant_id: &TenantId,
    ) -> Result<VersionedSettings, AppError> {
        self.read_settings(tenant_id).await
    }

    /// The tenant's stored settings (else the defaults), kept for later reads.
    async fn read_settings(&self, tenant_id: &str) -> Result<VersionedSettings, AppError> {
        match self.store.tenant_settings(tenant_id).await? {
            None => Ok(self.settings.defaults_for(tenant_id)),
            Some(stored) => {
                let settings = from_stored(tenant_id, &stored)?;
                self.settings.keep(tenant_id, settings);
                Ok(settings)
            }
        }
    }

    /// Replaces the tenant's settings; with `etag`, only over the version it names (else
    /// ABORTED).
    pub async fn update_tenant_settings(
        &self,
        tenant_id: &TenantId,
        settings: TenantSettings,
        etag: Option<&str>,
    ) -> Result<VersionedSettings, AppError> {
        let expected = match etag {
            None => None,
            Some(etag) => Some(parse_etag(etag).ok_or_else(|| {
                AppError::invalid("etag", "not an etag returned by GetTenantSettings")
            })?),
        };
        let stored = self
            .store
            .put_tenant_settings(tenant_id, &to_stored(&settings), expected)
            .await?
            .ok_or_else(|| {
                AppError::aborted(format!(
                    "the settings of tenant {tenant_id:?} changed since etag {:?} was read; \
                     read them again and retry",
                    etag.unwrap_or_default()
                ))
            })?;
        let updated = from_stored(tenant_id, &stored)?;
        self.settings.keep(tenant_id, updated);
        Ok(updated)
    }

    /// The tenant's settings at `version` (read with its change position): from memory when
    /// kept at that version, else from the database.
    pub(super) async fn settings_at(
        &self,
        tenant_id: &str,
        version: i64,
    ) -> Result<TenantSettings, AppError> {
        if version == 0 {
            return Ok(self.settings.defaults_for(tenant_id).settings);
        }
        if let Some(settings) = self.settings.kept_at(tenant_id, version) {
            return Ok(settings);
        }
        Ok(self.read_settings(tenant_id).await?.settings)
    }
}

fn parse_etag(etag: &str) -> Option<i64> {
    let digits = etag.strip_prefix('v')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn to_stored(settings: &TenantSettings) -> StoredSettings {
    let code = |currency: Option<Currency>| currency.map(|c| c.to_string()).unwrap_or_default();
    StoredSettings {
        version: 0,
        base_currency: code(settings.base_currency),
        reporting_currency: code(settings.reporting_currency),
        time_zone: settings.time_zone.name().to_owned(),
        fiscal_year_start_month: i16::try_from(settings.fiscal_year_start_month).unwrap_or(1),
    }
}

fn from_stored(tenant_id: &str, stored: &StoredSettings) -> Result<VersionedSettings, AppError> {
    let corrupt = |what: &str| {
        AppError::internal(format!(
            "tenant {tenant_id:?}: stored settings have an unreadable {what}"
        ))
    };
    let currency = |code: &str| -> Result<Option<Currency>, AppError> {
        if code.is_empty() {
            return Ok(None);
        }
        Currency::from_letters(code)
            .map(Some)
            .ok_or_else(|| corrupt("currency"))
    };
    Ok(VersionedSettings {
        settings: TenantSettings {
            base_currency: currency(&stored.base_currency)?,
            reporting_currency: currency(&stored.reporting_currency)?,
            time_zone: parse_time_zone(&stored.time_zone).ok_or_else(|| corrupt("time zone"))?,
            fiscal_year_start_month: u32::try_from(stored.fiscal_year_start_month)
                .ok()
                .filter(|month| (1..=12).contains(month))
                .ok_or_else(|| corrupt("fiscal year start month"))?,
        },
        version: stored.version,
    })
}
