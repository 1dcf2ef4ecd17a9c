//! Writing one kind's records of a batch. First one statement inserts every record whose id is
//! new (nothing stored, no tombstone at its version or later): those are CREATED, and a first
//! load needs nothing more. The rest, if any, go through a second statement that reads what is
//! stored for their ids (row version and fingerprint, or tombstone), writes what should be
//! written and reports both, so each record's outcome (UPDATED / UNCHANGED / STALE) is known.

use std::collections::{HashMap, HashSet};

use sqlx::postgres::PgArguments;
use sqlx::{AssertSqlSafe, PgConnection, Row};

use super::changes::Change;
use super::table::{Columns, Pending, Table, bound_columns};
use super::{StorageError, UpsertOutcome};

/// What the stored side says about an id: its row, or the tombstone a deletion left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    /// The row's version and content fingerprint.
    Row { version: i64, fingerprint: i64 },
    /// Deleted at this version.
    Tombstone { version: i64 },
}

/// Upserts one kind's records of a batch inside the caller's transaction, stamping written rows
/// with the transaction's `change`, and records each one's outcome. Returns the records
/// actually written with their outcomes (for child tables such as stage entries).
///
/// Writers of one tenant on other change lanes may run concurrently: the version guard of the
/// write keeps them convergent, and a record the guard refused is reported STALE.
pub(crate) async fn upsert<'a, T: Table>(
    conn: &mut PgConnection,
    tenant_id: &str,
    change: Change,
    items: &[Pending<'a, T>],
    outcomes: &mut [UpsertOutcome],
) -> Result<Vec<(&'a T, UpsertOutcome)>, StorageError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    // Repeated ids carry identical content (the API layer checks): the first copy is written.
    let mut first_seen: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    let mut duplicates = Vec::new();
    for (position, item) in items.iter().enumerate() {
        let id = item.record.meta().id.as_str();
        match first_seen.get(id) {
            Some(&first) => duplicates.push((position, first)),
            None => {
                first_seen.insert(id, position);
            }
        }
    }
    let mut ordered: Vec<&Pending<'a, T>> = first_seen.values().map(|&i| &items[i]).collect();
    // Rows are written in id order, so concurrent writers lock them in the same order.
    ordered.sort_by(|a, b| a.record.meta().id.cmp(&b.record.meta().id));

    // New ids, the whole of a first load, are inserted without reading anything first.
    let columns = bound_columns(tenant_id, change, &ordered)?;
    let created: HashSet<String> = sqlx::query_scalar_with(
        AssertSqlSafe(insert_new_sql::<T>(&columns)),
        columns.arguments,
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let mut written = Vec::with_capacity(ordered.len());
    let mut existing = Vec::new();
    for item in ordered {
        if created.contains(item.record.meta().id.as_str()) {
            outcomes[item.index] = UpsertOutcome::Created;
            written.push((item.record, UpsertOutcome::Created));
        } else {
            existing.push(item);
        }
    }
    if !existing.is_empty() {
        classify_and_write(conn, tenant_id, change, existing, outcomes, &mut written).await?;
    }
    for (duplicate, first) in duplicates {
        outcomes[items[duplicate].index] = match outcomes[items[first].index] {
            UpsertOutcome::Stale => UpsertOutcome::Stale,
            _ => UpsertOutcome::Unchanged,
        };
    }
    Ok(written)
}

/// Classifies and writes the items whose ids are stored (or tombstoned), appending the written
/// ones to `written`.
async fn classify_and_write<'a, T: Table>(
    conn: &mut PgConnection,
    tenant_id: &str,
    change: Change,
    items: Vec<&Pending<'a, T>>,
    outcomes: &mut [UpsertOutcome],
    written: &mut Vec<(&'a T, UpsertOutcome)>,
) -> Result<(), StorageError> {
    let columns = bound_columns(tenant_id, change, &items)?;
    let mut seen: HashMap<String, (Option<Stored>, bool)> = HashMap::with_capacity(items.len());
    for row in sqlx::query_with(
        AssertSqlSafe(classify_and_write_sql::<T>(&columns)),
        columns.arguments,
    )
    .fetch_all(&mut *conn)
    .await?
    {
        let row_version: Option<i64> = row.try_get(1)?;
        let tomb_version: Option<i64> = row.try_get(3)?;
        let stored = match (row_version, tomb_version) {
            (Some(version), _) => Some(Stored::Row {
                version,
                fingerprint: row.try_get::<Option<i64>, _>(2)?.unwrap_or_default(),
            }),
            (None, Some(version)) => Some(Stored::Tombstone { version }),
            (None, None) => None,
        };
        seen.insert(row.try_get(0)?, (stored, row.try_get(4)?));
    }

    for item in items {
        let (stored, was_written) = seen
            .get(item.record.meta().id.as_str())
            .copied()
            .ok_or_else(|| StorageError::Corrupt("an upserted id was not reported".into()))?;
        let (outcome, write) = classify(item, stored);
        // A write the version guard refused lost to a concurrent writer's higher version.
        let outcome = if write && !was_written {
            UpsertOutcome::Stale
        } else {
            outcome
        };
        outcomes[item.index] = outcome;
        if was_written {
            written.push((item.record, outcome));
        }
    }
    Ok(())
}

/// An item's outcome given what is stored, and whether it is written. The statement writes
/// exactly the items this says to write (`classify_and_write_sql` states the same rule in SQL).
fn classify<T: Table>(item: &Pending<'_, T>, stored: Option<Stored>) -> (UpsertOutcome, bool) {
    let version = item.record.meta().version;
    match stored {
        None => (UpsertOutcome::Created, true),
        // A replay of the deleted version or an older one must not bring the record back.
        Some(Stored::Tombstone { version: deleted }) if version <= deleted => {
            (UpsertOutcome::Stale, false)
        }
        Some(Stored::Tombstone { .. }) => (UpsertOutcome::Created, true),
        Some(Stored::Row { version: kept, .. }) if version < kept => (UpsertOutcome::Stale, false),
        // Same content: still store a higher version so later lower versions become stale; at
        // the same version the write would change nothing.
        Some(Stored::Row {
            version: kept,
            fingerprint,
        }) if fingerprint == item.fingerprint => (UpsertOutcome::Unchanged, version > kept),
        Some(Stored::Row { .. }) => (UpsertOutcome::Updated, true),
    }
}

/// One statement: the incoming rows (arrays bound after `$1 = tenant_id`), what is stored for
/// their ids (read before the write, in the statement's snapshot, by one primary-key probe per
/// id: the `LATERAL … OFFSET 0` fence keeps the planner from joining against a scan of the
/// tenant's whole table, which it chooses on a young table whose statistics are still missing;
/// a `LIMIT 1` there would instead tempt it into scanning another `tenant_id` index), the write of the rows
/// [`classify`] says to write (guarded by version against concurrent writers), the removal of
/// the tombstones of recreated records, and per id: stored version, fingerprint, tombstone
/// version and whether it was written.
fn classify_and_write_sql<T: Table>(columns: &Columns) -> String {
    let names = columns.names.join(", ");
    let arrays = array_parameters(columns);
    let updates = update_list(columns);
    format!(
        "WITH incoming AS MATERIALIZED ( \
             SELECT * FROM UNNEST({arrays}) AS u({names})), \
         prior AS MATERIALIZED ( \
             SELECT i.id, s.version AS row_version, s.content_fingerprint AS row_fingerprint, \
                    tb.version AS tomb_version \
             FROM incoming i \
             LEFT JOIN LATERAL ( \
                 SELECT version, content_fingerprint FROM {table} \
                 WHERE tenant_id = $1 AND id = i.id OFFSET 0) s ON true \
             LEFT JOIN LATERAL ( \
                 SELECT version FROM tombstones \
                 WHERE tenant_id = $1 AND kind = '{kind}' AND id = i.id OFFSET 0) tb ON true), \
         written AS ( \
             INSERT INTO {table} AS t (tenant_id, {names}) \
             SELECT $1, i.* FROM incoming i JOIN prior p ON p.id = i.id \
             WHERE CASE WHEN p.row_version IS NOT NULL \
                        THEN i.version > p.row_version \
                             OR (i.version = p.row_version \
                                 AND i.content_fingerprint <> p.row_fingerprint) \
                        ELSE p.tomb_version IS NULL OR i.version > p.tomb_version END \
             ORDER BY i.id \
             ON CONFLICT (tenant_id, id) DO UPDATE SET {updates}, updated_at = now() \
             WHERE t.version <= EXCLUDED.version \
             RETURNING t.id), \
         revived AS ( \
             DELETE FROM tombstones \
             WHERE tenant_id = $1 AND kind = '{kind}' \
               AND id = ANY(ARRAY(SELECT id FROM written))) \
         SELECT p.id, p.row_version, p.row_fingerprint, p.tomb_version, w.id IS NOT NULL \
         FROM prior p LEFT JOIN written w ON w.id = p.id",
        table = T::TABLE,
        kind = T::KIND.name(),
    )
}

/// Inserts the incoming rows whose ids are neither stored nor tombstoned at their version or a
/// later one (`ON CONFLICT DO NOTHING`), removes the tombstones of the ids it recreated, and
/// returns the inserted ids: they are CREATED, every other id goes through
/// [`classify_and_write_sql`].
fn insert_new_sql<T: Table>(columns: &Columns) -> String {
    let names = columns.names.join(", ");
    let arrays = array_parameters(columns);
    format!(
        "WITH written AS ( \
             INSERT INTO {table} AS t (tenant_id, {names}) \
             SELECT $1, i.* FROM UNNEST({arrays}) AS i({names}) \
             WHERE NOT EXISTS ( \
                 SELECT 1 FROM tombstones tb \
                 WHERE tb.tenant_id = $1 AND tb.kind = '{kind}' AND tb.id = i.id \
                   AND tb.version >= i.version) \
             ORDER BY i.id \
             ON CONFLICT (tenant_id, id) DO NOTHING \
             RETURNING t.id), \
         revived AS ( \
             DELETE FROM tombstones \
             WHERE tenant_id = $1 AND kind = '{kind}' \
               AND id = ANY(ARRAY(SELECT id FROM written))) \
         SELECT id FROM written",
        table = T::TABLE,
        kind = T::KIND.name(),
    )
}

/// `INSERT ... SELECT FROM UNNEST(...) ON CONFLICT ...` for `items` with no classification:
/// the database's own floor for an upsert of the same rows.
pub(crate) fn plain_upsert<T: Table>(
    tenant_id: &str,
    change: Change,
    items: &[&Pending<'_, T>],
) -> Result<(String, PgArguments), StorageError> {
    let columns = bound_columns(tenant_id, change, items)?;
    let sql = format!(
        "INSERT INTO {table} AS t (tenant_id, {names}) \
         SELECT $1, u.* FROM UNNEST({arrays}) AS u({names}) \
         ON CONFLICT (tenant_id, id) DO UPDATE SET {updates}, updated_at = now() \
         WHERE t.version <= EXCLUDED.version",
        table = T::TABLE,
        names = columns.names.join(", "),
        arrays = array_parameters(&columns),
        updates = update_list(&columns),
    );
    Ok((sql, columns.arguments))
}

/// `$2::<type>[], $3::<type>[], …`: one array parameter per column.
fn array_parameters(columns: &Columns) -> String {
    columns
        .casts
        .iter()
        .enumerate()
        .map(|(i, cast)| format!("${}::{cast}", i + 2))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `<column> = EXCLUDED.<column>, …` for every column but the id.
fn update_list(columns: &Columns) -> String {
    columns
        .names
        .iter()
        .filter(|name| **name != "id")
        .map(|name| format!("{name} = EXCLUDED.{name}"))
        .collect::<Vec<_>>()
        .join(", ")
}
