//! Columns of the sales-funnel tables: customers, leads, deals and the deals' stage entries.

use std::collections::HashMap;

use crm_metrics_engine::records::{Customer, Deal, Lead, Meta, RecordKind, StageEntry, Timestamp};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::copy_text::copy_in;
use super::enums::{SqlText, get_enum};
use super::table::{Columns, CopyText, Table, money, opt_text, text};
use super::{StorageError, UpsertOutcome};

impl Table for Customer {
    const TABLE: &'static str = "customers";
    const KIND: RecordKind = RecordKind::Customer;
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "email",
        "phone",
        "acquired_time",
        "churned_time",
        "acquisition_channel",
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn write_columns(rows: &[&Self], out: &mut Columns) -> Result<(), StorageError> {
        out.push("name", rows, |r| r.name.as_deref())?;
        out.push("email", rows, |r| r.email.as_deref())?;
        out.push("phone", rows, |r| r.phone.as_deref())?;
        out.push("acquired_time", rows, |r| r.acquired_time)?;
        out.push("churned_time", rows, |r| r.churned_time)?;
        out.push("acquisition_channel", rows, |r| {
            r.acquisition_channel.as_deref()
        })
    }

    fn from_row(meta: Meta, row: &PgRow) -> Result<Self, StorageError> {
        Ok(Customer {
            meta,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
            acquired_time: row.try_get("acquired_time")?,
            churned_time: row.try_get("churned_time")?,
            acquisition_channel: opt_text(row, "acquisition_channel")?,
        })
    }
}

impl Table for Lead {
    const TABLE: &'static str = "leads";
    const KIND: RecordKind = RecordKind::Lead;
    const COLUMNS: &'static [&'static str] = &[
        "created_time",
        "source",
        "owner_id",
        "qualified_time",
        "converted_time",
        "customer_id",
        "disqualified_time",
        "first_response_time",
        "name",
        "email",
        "phone",
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn write_columns(rows: &[&Self], out: &mut Columns) -> Result<(), StorageError> {
        out.push("created_time", rows, |r| r.created_time)?;
        out.push("source", rows, |r| r.source.as_deref())?;
        out.push("owner_id", rows, |r| r.owner_id.as_deref())?;
        out.push("qualified_time", rows, |r| r.qualified_time)?;
        out.push("converted_time", rows, |r| r.converted_time)?;
        out.push("customer_id", rows, |r| r.customer_id.as_deref())?;
        out.push("disqualified_time", rows, |r| r.disqualified_time)?;
        out.push("first_response_time", rows, |r| r.first_response_time)?;
        out.push("name", rows, |r| r.name.as_deref())?;
        out.push("email", rows, |r| r.email.as_deref())?;
        out.push("phone", rows, |r| r.phone.as_deref())
    }

    fn from_row(meta: Meta, row: &PgRow) -> Result<Self, StorageError> {
        Ok(Lead {
            meta,
            created_time: row.try_get("created_time")?,
            source: opt_text(row, "source")?,
            owner_id: opt_text(row, "owner_id")?,
            qualified_time: row.try_get("qualified_time")?,
            converted_time: row.try_get("converted_time")?,
            customer_id: opt_text(row, "customer_id")?,
            disqualified_time: row.try_get("disqualified_time")?,
            first_response_time: row.try_get("first_response_time")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
        })
    }
}

impl Table for Deal {
    const TABLE: &'static str = "deals";
    const KIND: RecordKind = RecordKind::Deal;
    const COLUMNS: &'static [&'static str] = &[
        "created_time",
        "owner_id",
        "amount_minor",
        "amount_currency",
        "status",
        "closed_time",
        "stage",
        "probability_percent",
        "deal_type",
        "lead_id",
        "customer_id",
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn write_columns(rows: &[&Self], out: &mut Columns) -> Result<(), StorageError> {
        out.push("created_time", rows, |r| r.created_time)?;
        out.push("owner_id", rows, |r| r.owner_id.as_deref())?;
        out.money("amount_minor", "amount_currency", rows, |r| Some(r.amount))?;
        out.push("status", rows, |r| r.status.sql())?;
        out.push("closed_time", rows, |r| r.closed_time)?;
        out.push("stage", rows, |r| r.stage.as_str())?;
        // Validated to 0–100 upstream; an impossible value saturates and the CHECK rejects it.
        out.push("probability_percent", rows, |r| {
            r.probability_percent
                .map(|p| i32::try_from(p).unwrap_or(i32::MAX))
        })?;
        out.push("deal_type", rows, |r| r.deal_type.sql())?;
        out.push("lead_id", rows, |r| r.lead_id.as_deref())?;
        out.push("customer_id", rows, |r| r.customer_id.as_deref())
    }

    fn from_row(meta: Meta, row: &PgRow) -> Result<Self, StorageError> {
        let probability: Option<i32> = row.try_get("probability_percent")?;
        let probability_percent = probability
            .map(|p| {
                u32::try_from(p)
                    .map_err(|_| StorageError::Corrupt(format!("probability_percent {p}")))
            })
            .transpose()?;
        Ok(Deal {
            created_time: row.try_get("created_time")?,
            owner_id: opt_text(row, "owner_id")?,
            amount: money(row, "amount_minor", "amount_currency")?,
            status: get_enum(row, "status")?,
            closed_time: row.try_get("closed_time")?,
            stage: text(row, "stage")?,
            // Filled from deal_stage_entries by `load_stage_history`.
            stage_history: Vec::new(),
            probability_percent,
            deal_type: get_enum(row, "deal_type")?,
            lead_id: opt_text(row, "lead_id")?,
            customer_id: opt_text(row, "customer_id")?,
            meta,
        })
    }
}

/// Brings the stage entries of just-written deals in line: a created deal's entries are
/// inserted, an updated deal's replaced, and a deal whose content did not change (only its
/// version rose) keeps its entries untouched.
pub(crate) async fn write_stage_history(
    conn: &mut PgConnection,
    tenant_id: &str,
    deals: &[(&Deal, UpsertOutcome)],
) -> Result<(), StorageError> {
    let updated: Vec<&str> = deals
        .iter()
        .filter(|(_, outcome)| *outcome == UpsertOutcome::Updated)
        .map(|(deal, _)| deal.meta.id.as_str())
        .collect();
    if !updated.is_empty() {
        sqlx::query("DELETE FROM deal_stage_entries WHERE tenant_id = $1 AND deal_id = ANY($2)")
            .bind(tenant_id)
            .bind(&updated)
            .execute(&mut *conn)
            .await?;
    }
    let changed: Vec<&Deal> = deals
        .iter()
        .filter(|(_, outcome)| matches!(outcome, UpsertOutcome::Created | UpsertOutcome::Updated))
        .map(|(deal, _)| *deal)
        .collect();
    insert_stage_entries(conn, tenant_id, &changed).await
}

/// The stage entries of `deals`, column by column, in order.
#[derive(Default)]
struct StageColumns<'a> {
    deal_ids: Vec<&'a str>,
    positions: Vec<i32>,
    stages: Vec<&'a str>,
    times: Vec<Timestamp>,
}

impl<'a> StageColumns<'a> {
    fn of(deals: &[&'a Deal]) -> Result<StageColumns<'a>, StorageError> {
        let mut columns = StageColumns::default();
        for deal in deals {
            for (position, entry) in deal.stage_history.iter().enumerate() {
                columns.deal_ids.push(&deal.meta.id);
                columns.positions.push(i32::try_from(position).map_err(|_| {
                    StorageError::Corrupt(format!("deal {:?} has too many stages", deal.meta.id))
                })?);
                columns.stages.push(&entry.stage);
                columns.times.push(entry.entered_time);
            }
        }
        Ok(columns)
    }
}

/// Inserts the stage entries of `deals` (which have none stored) with one UNNEST INSERT.
pub(crate) async fn insert_stage_entries(
    conn: &mut PgConnection,
    tenant_id: &str,
    deals: &[&Deal],
) -> Result<(), StorageError> {
    let columns = StageColumns::of(deals)?;
    if columns.deal_ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO deal_stage_entries (tenant_id, deal_id, position, stage, entered_time) \
         SELECT $1, u.* FROM UNNEST($2::text[], $3::integer[], $4::text[], $5::timestamptz[]) \
         AS u(deal_id, position, stage, entered_time)",
    )
    .bind(tenant_id)
    .bind(&columns.deal_ids)
    .bind(&columns.positions)
    .bind(&columns.stages)
    .bind(&columns.times)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the stage entries of `deals` (which have none stored) with one COPY.
pub(crate) async fn copy_stage_entries(
    conn: &mut PgConnection,
    tenant_id: &str,
    deals: &[&Deal],
) -> Result<(), StorageError> {
    let columns = StageColumns::of(deals)?;
    if columns.deal_ids.is_empty() {
        return Ok(());
    }
    let mut data = String::new();
    for i in 0..columns.deal_ids.len() {
        tenant_id.copy_text(&mut data);
        for field in [
            &columns.deal_ids[i] as &dyn CopyText,
            &columns.positions[i],
            &columns.stages[i],
            &columns.times[i],
        ] {
            data.push('\t');
            field.copy_text(&mut data);
        }
        data.push('\n');
    }
    copy_in(
        conn,
        "COPY deal_stage_entries (tenant_id, deal_id, position, stage, entered_time) FROM STDIN",
        data,
    )
    .await?;
    Ok(())
}

/// Fills `stage_history` of loaded deals from deal_stage_entries, with one query.
pub(crate) async fn load_stage_history(
    conn: &mut PgConnection,
    tenant_id: &str,
    deals: &mut [Deal],
) -> Result<(), StorageError> {
    if deals.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = deals.iter().map(|deal| deal.meta.id.as_str()).collect();
    let rows = sqlx::query(
        "SELECT deal_id, stage, entered_time FROM deal_stage_entries \
         WHERE tenant_id = $1 AND deal_id = ANY($2) ORDER BY deal_id, position",
    )
    .bind(tenant_id)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut histories: HashMap<String, Vec<StageEntry>> = HashMap::new();
    for row in rows {
        histories
            .entry(row.try_get("deal_id")?)
            .or_default()
            .push(StageEntry {
                stage: text(&row, "stage")?,
                entered_time: row.try_get("entered_time")?,
            });
    }
    for deal in deals {
        if let Some(history) = histories.remove(deal.meta.id.as_str()) {
            deal.stage_history = history;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::table::tests::check_columns;
    use super::*;

    #[test]
    fn bound_columns_match_declared_columns() {
        check_columns::<Customer>();
        check_columns::<Lead>();
        check_columns::<Deal>();
    }
}
