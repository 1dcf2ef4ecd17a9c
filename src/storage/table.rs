//! The one shape every record table shares: its columns bound as arrays (or COPY text), and the
//! tenant-scoped, time-bounded read. The write itself is in `upsert.rs`.
//!
//! A kind only describes its columns ([`Table::COLUMNS`], [`Table::write_columns`],
//! [`Table::from_row`]); the SQL around them is generated here. Writes bind one array per column
//! (never one parameter per value), so a batch of any size is a fixed number of round trips.

use crm_metrics_engine::dataset::{KindRead, TimeBound, TimeField};
use crm_metrics_engine::money::{Currency, Money};
use crm_metrics_engine::records::{Attributes, Meta, RecordKind, Text};
use sqlx::postgres::{PgArguments, PgHasArrayType, PgRow};
use sqlx::{Arguments, AssertSqlSafe, Encode, PgConnection, Postgres, Row, Type, TypeInfo};

use super::StorageError;
use super::changes::{Change, LANES, Position};
pub(crate) use super::copy_text::CopyText;

/// The bytes reserved for one COPY text line (most rows are shorter).
const COPY_LINE_CAPACITY: usize = 256;

/// A record kind's table.
pub(crate) trait Table: Sized {
    /// The table name.
    const TABLE: &'static str;
    /// The record kind stored in the table.
    const KIND: RecordKind;
    /// The kind's own columns (tenant_id, id, version, content_fingerprint and attributes are
    /// common), in the order [`Table::write_columns`] pushes them.
    const COLUMNS: &'static [&'static str];

    /// The record's identity, version and attributes.
    fn meta(&self) -> &Meta;

    /// Pushes one array per entry of [`Table::COLUMNS`], each with one value per row.
    fn write_columns(rows: &[&Self], out: &mut Columns) -> Result<(), StorageError>;

    /// Builds a record from a row selected with [`Table::COLUMNS`].
    fn from_row(meta: Meta, row: &PgRow) -> Result<Self, StorageError>;
}

/// Column values of a batch, either bound as arrays for one UNNEST statement (names, SQL array
/// types and the values) or written as the lines of a `COPY ... FROM STDIN` (text format).
pub(crate) struct Columns {
    pub(crate) names: Vec<&'static str>,
    pub(crate) casts: Vec<String>,
    pub(crate) arguments: PgArguments,
    /// In COPY mode: one text line per row, growing by one tab-separated field per column.
    copy_lines: Option<Vec<String>>,
}

impl Columns {
    fn new() -> Columns {
        Columns {
            names: Vec::new(),
            casts: Vec::new(),
            arguments: PgArguments::default(),
            copy_lines: None,
        }
    }

    /// Columns written as COPY text lines, each starting with the tenant id.
    fn for_copy(tenant_id: &str, rows: usize) -> Columns {
        let mut tenant = String::new();
        tenant_id.copy_text(&mut tenant);
        // Room for a typical row up front, so that its fields rarely move it.
        let lines = (0..rows)
            .map(|_| {
                let mut line = String::with_capacity(COPY_LINE_CAPACITY);
                line.push_str(&tenant);
                line
            })
            .collect();
        Columns {
            copy_lines: Some(lines),
            ..Columns::new()
        }
    }

    /// Binds `column` as an array with `value(row)` for each row. The SQL array type is taken
    /// from the Rust type, so the cast in the statement can never disagree with the binding.
    pub(crate) fn push<'a, R, T>(
        &mut self,
        column: &'static str,
        rows: &[&'a R],
        value: impl Fn(&'a R) -> T,
    ) -> Result<(), StorageError>
    where
        T: Encode<'a, Postgres> + Type<Postgres> + PgHasArrayType + CopyText,
    {
        if let Some(lines) = &mut self.copy_lines {
            for (line, row) in lines.iter_mut().zip(rows) {
                line.push('\t');
                value(row).copy_text(line);
            }
            self.names.push(column);
            return Ok(());
        }
        let values: Vec<T> = rows.iter().map(|row| value(row)).collect();
        let cast = <Vec<T> as Type<Postgres>>::type_info().name().to_owned();
        self.arguments
            .add(values)
            .map_err(|error| StorageError::Other(sqlx::Error::Encode(error)))?;
        self.names.push(column);
        self.casts.push(cast);
        Ok(())
    }

    /// Binds an amount as two columns, `<prefix>_minor` and `<prefix>_currency`.
    pub(crate) fn money<'a, R>(
        &mut self,
        minor: &'static str,
        currency: &'static str,
        rows: &[&'a R],
        value: impl Fn(&'a R) -> Option<Money>,
    ) -> Result<(), StorageError> {
        self.push(minor, rows, |row| value(row).map(|money| money.minor_units))?;
        self.push(currency, rows, |row| {
            value(row).map(|money| money.currency.as_str().to_owned())
        })
    }
}

/// One record of a batch waiting to be upserted.
pub(crate) struct Pending<'a, T> {
    /// Position in the caller's batch, where its outcome goes.
    pub(crate) index: usize,
    pub(crate) record: &'a T,
    pub(crate) fingerprint: i64,
}

/// Binds every column of `items` (common ones first) as arrays after `$1 = tenant_id`.
pub(crate) fn bound_columns<T: Table>(
    tenant_id: &str,
    change: Change,
    items: &[&Pending<'_, T>],
) -> Result<Columns, StorageError> {
    let mut columns = Columns::new();
    columns
        .arguments
        .add(tenant_id)
        .map_err(|e| StorageError::Other(sqlx::Error::Encode(e)))?;
    push_all_columns(&mut columns, change, items)?;
    Ok(columns)
}

/// Pushes the common columns (id, version, fingerprint, change, attributes), then the kind's own.
fn push_all_columns<T: Table>(
    columns: &mut Columns,
    change: Change,
    items: &[&Pending<'_, T>],
) -> Result<(), StorageError> {
    columns.push("id", items, |item| item.record.meta().id.as_str())?;
    columns.push("change_lane", items, |_| change.lane)?;
    columns.push("change_seq", items, |_| change.seq)?;
    columns.push("version", items, |item| item.record.meta().version)?;
    columns.push("content_fingerprint", items, |item| item.fingerprint)?;
    columns.push("attributes", items, |item| {
        attributes_json(&item.record.meta().attributes)
    })?;
    let rows: Vec<&T> = items.iter().map(|item| item.record).collect();
    T::write_columns(&rows, columns)
}

/// `COPY <table> (tenant_id, ...) FROM STDIN` and its text-format data for `items`.
pub(crate) fn copy_statement<T: Table>(
    tenant_id: &str,
    change: Change,
    items: &[&Pending<'_, T>],
) -> Result<(String, String), StorageError> {
    let mut columns = Columns::for_copy(tenant_id, items.len());
    push_all_columns(&mut columns, change, items)?;
    let statement = format!(
        "COPY {} (tenant_id, {}) FROM STDIN",
        T::TABLE,
        columns.names.join(", ")
    );
    let lines = columns.copy_lines.unwrap_or_default();
    let mut data = String::with_capacity(lines.iter().map(|line| line.len() + 1).sum());
    for line in lines {
        data.push_str(&line);
        data.push('\n');
    }
    Ok((statement, data))
}

/// Which rows of a kind to read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RowFilter<'a> {
    /// The rows a read plan selects.
    Plan(&'a KindRead),
    /// The rows written by changes that `Position` does not contain.
    ChangedSince(&'a Position),
}

/// Reads the tenant's rows of one kind that `filter` selects, ordered by id.
pub(crate) async fn load<T: Table>(
    conn: &mut PgConnection,
    tenant_id: &str,
    filter: RowFilter<'_>,
) -> Result<Vec<T>, StorageError> {
    let mut arguments = PgArguments::default();
    let encode = |e| StorageError::Other(sqlx::Error::Encode(e));
    arguments.add(tenant_id).map_err(encode)?;
    let filter = match filter {
        RowFilter::Plan(KindRead::All) => String::new(),
        // No bound: no row can match, so skip the round trip.
        RowFilter::Plan(KindRead::AnyOf(bounds)) if bounds.is_empty() => return Ok(Vec::new()),
        RowFilter::Plan(KindRead::AnyOf(bounds)) => {
            let mut clauses = Vec::with_capacity(bounds.len());
            for bound in bounds {
                clauses.push(bound_clause::<T>(bound, &mut arguments)?);
            }
            format!(" AND ({})", clauses.join(" OR "))
        }
        RowFilter::ChangedSince(position) => {
            arguments.add(position.0.to_vec()).map_err(encode)?;
            format!(" AND ({})", changed_since_clause("$2"))
        }
    };
    let sql = format!(
        "SELECT id, version, attributes, {columns} FROM {table} WHERE tenant_id = $1{filter} \
         ORDER BY id",
        columns = T::COLUMNS.join(", "),
        table = T::TABLE,
    );
    let rows = sqlx::query_with(AssertSqlSafe(sql), arguments)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| T::from_row(meta_from_row(row)?, row))
        .collect()
}

/// Rows whose change is not in the position bound as the `bigint[]` parameter `array` (one
/// sequence per lane): one index range per lane.
pub(crate) fn changed_since_clause(array: &str) -> String {
    (0..LANES)
        .map(|lane| {
            format!(
                "(change_lane = {lane} AND change_seq > {array}[{}])",
                lane + 1
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// `(<col> >= $n AND <col> < $m)` for one bound, binding its open-or-closed sides.
fn bound_clause<T: Table>(
    bound: &TimeBound,
    arguments: &mut PgArguments,
) -> Result<String, StorageError> {
    let (table, column) = time_column(bound.field);
    if table != T::TABLE {
        // A plan built by hand with a field of another kind: a caller bug, not bad data.
        return Err(StorageError::Other(sqlx::Error::InvalidArgument(format!(
            "time field {:?} does not belong to table {}",
            bound.field,
            T::TABLE
        ))));
    }
    let encode = |e| StorageError::Other(sqlx::Error::Encode(e));
    // NULL never matches: with both sides open the bound still requires the field to be present.
    let mut parts = vec![format!("{column} IS NOT NULL")];
    if let Some(from) = bound.from {
        arguments.add(from).map_err(encode)?;
        parts.push(format!("{column} >= ${}", arguments.len()));
    }
    if let Some(until) = bound.until {
        arguments.add(until).map_err(encode)?;
        parts.push(format!("{column} < ${}", arguments.len()));
    }
    if parts.len() > 1 {
        // A comparison already excludes NULL; keep the clause a plain range for the index.
        parts.remove(0);
    }
    Ok(format!("({})", parts.join(" AND ")))
}

/// The table and column of each range-scannable time field (each has a `(tenant_id, column)`
/// index in the migrations).
pub(crate) fn time_column(field: TimeField) -> (&'static str, &'static str) {
    match field {
        TimeField::CustomerAcquired => ("customers", "acquired_time"),
        TimeField::LeadCreated => ("leads", "created_time"),
        TimeField::DealCreated => ("deals", "created_time"),
        TimeField::DealClosed => ("deals", "closed_time"),
        TimeField::OrderOrdered => ("orders", "ordered_time"),
        TimeField::OrderFulfilled => ("orders", "fulfilled_time"),
        TimeField::SubscriptionStart => ("subscriptions", "start_time"),
        TimeField::ActivityOccurred => ("activities", "occurred_time"),
        TimeField::TicketCreated => ("tickets", "created_time"),
        TimeField::TicketResolved => ("tickets", "resolved_time"),
        TimeField::SurveyResponded => ("survey_responses", "responded_time"),
        TimeField::CostIncurred => ("costs", "incurred_time"),
        TimeField::EngagementOccurred => ("engagement_events", "occurred_time"),
        TimeField::UserEventOccurred => ("user_events", "occurred_time"),
        TimeField::QuotaPeriodStart => ("quotas", "period_start"),
    }
}

/// Attributes as a JSON object of strings (stored as jsonb).
fn attributes_json(attributes: &Attributes) -> serde_json::Value {
    serde_json::Value::Object(
        attributes
            .iter()
            .map(|(key, value)| (key.to_owned(), serde_json::Value::String(value.to_owned())))
            .collect(),
    )
}

/// Reads a text column straight into a record's inline [`Text`].
pub(crate) fn text(row: &PgRow, column: &str) -> Result<Text, StorageError> {
    Ok(Text::from(row.try_get::<&str, _>(column)?))
}

/// Reads a nullable text column into an optional [`Text`].
pub(crate) fn opt_text(row: &PgRow, column: &str) -> Result<Option<Text>, StorageError> {
    Ok(row.try_get::<Option<&str>, _>(column)?.map(Text::from))
}

fn meta_from_row(row: &PgRow) -> Result<Meta, StorageError> {
    let id = text(row, "id")?;
    let json: serde_json::Value = row.try_get("attributes")?;
    let serde_json::Value::Object(map) = json else {
        return Err(StorageError::Corrupt(format!(
            "attributes of {id:?} are not an object"
        )));
    };
    let attributes = map
        .into_iter()
        .map(|(key, value)| match value {
            serde_json::Value::String(value) => Ok((key, value)),
            _ => Err(StorageError::Corrupt(format!(
                "attribute {key:?} of {id:?} is not a string"
            ))),
        })
        .collect::<Result<Attributes, _>>()?;
    Ok(Meta {
        version: row.try_get("version")?,
        id,
        attributes,
    })
}

/// Reads an amount stored as `<minor>` + `<currency>` columns.
pub(crate) fn money(row: &PgRow, minor: &str, currency: &str) -> Result<Money, StorageError> {
    opt_money(row, minor, currency)?
        .ok_or_else(|| StorageError::Corrupt(format!("{minor} or {currency} is NULL")))
}

/// Reads an optional amount; both columns NULL means absent.
pub(crate) fn opt_money(
    row: &PgRow,
    minor: &str,
    currency: &str,
) -> Result<Option<Money>, StorageError> {
    let units: Option<i64> = row.try_get(minor)?;
    let code: Option<String> = row.try_get(currency)?;
    match (units, code) {
        (None, None) => Ok(None),
        (Some(units), Some(code)) => Ok(Some(Money::new(parse_currency(&code)?, units))),
        _ => Err(StorageError::Corrupt(format!(
            "only one of {minor} and {currency} is set"
        ))),
    }
}

/// Parses a stored ISO 4217 code.
pub(crate) fn parse_currency(code: &str) -> Result<Currency, StorageError> {
    Currency::from_letters(code)
        .ok_or_else(|| StorageError::Corrupt(format!("bad currency {code:?}")))
}

/// Reads a non-negative integer column into a `u32`.
pub(crate) fn get_u32<I>(row: &PgRow, column: &str) -> Result<u32, StorageError>
where
    I: for<'r> sqlx::Decode<'r, Postgres> + Type<Postgres> + TryInto<u32> + Copy + std::fmt::Debug,
{
    let value: I = row.try_get(column)?;
    value
        .try_into()
        .map_err(|_| StorageError::Corrupt(format!("{column} {value:?} is out of range")))
}

#[cfg(test)]
#[path = "tests/table.rs"]
pub(crate) mod tests;
