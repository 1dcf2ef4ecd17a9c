//! `TenantSettings` ⇄ the application's tenant settings.

use crm_metrics_engine::Tz;
use crm_metrics_engine::query::Problem;

use super::fields::Fields;
use super::pb;
use super::query::zone;
use crate::app::TenantSettings;

/// Validates settings sent with UpdateTenantSettings (field paths under `settings.`).
pub fn settings_from_proto(
    settings: Option<pb::TenantSettings>,
) -> Result<TenantSettings, Vec<Problem>> {
    let mut problems = Vec::new();
    let Some(pb::TenantSettings {
        base_currency,
        reporting_currency,
        time_zone,
        fiscal_year_start_month,
    }) = settings
    else {
        return Err(vec![Problem::new("settings", "is required")]);
    };
    let mut f = Fields::new("settings", &mut problems);
    let currency = |f: &mut Fields<'_>, field: &str, code: &str| {
        if code.is_empty() {
            Some(None)
        } else {
            f.currency(field, code).map(Some)
        }
    };
    let base_currency = currency(&mut f, "base_currency", &base_currency);
    let reporting_currency = currency(&mut f, "reporting_currency", &reporting_currency);
    let time_zone = zone(&mut f, "time_zone", &time_zone);
    let fiscal_year_start_month = match fiscal_year_start_month {
        0 => Some(1),
        month @ 1..=12 => Some(month),
        other => {
            f.problem(
                "fiscal_year_start_month",
                format!("must be a month, 1-12 (0 for January), got {other}"),
            );
            None
        }
    };
    match (
        base_currency,
        reporting_currency,
        time_zone,
        fiscal_year_start_month,
    ) {
        (Some(base_currency), Some(reporting_currency), Some(time_zone), Some(month))
            if problems.is_empty() =>
        {
            Ok(TenantSettings {
                base_currency,
                reporting_currency,
                time_zone: time_zone.unwrap_or(Tz::UTC),
                fiscal_year_start_month: month,
            })
        }
        _ => Err(problems),
    }
}

/// Settings as sent to clients.
pub fn settings_to_proto(settings: &TenantSettings) -> pb::TenantSettings {
    let code = |currency: Option<crm_metrics_engine::money::Currency>| {
        currency.map(|c| c.to_string()).unwrap_or_default()
    };
    pb::TenantSettings {
        base_currency: code(settings.base_currency),
        reporting_currency: code(settings.reporting_currency),
        time_zone: settings.time_zone.name().to_owned(),
        fiscal_year_start_month: settings.fiscal_year_start_month,
    }
}
