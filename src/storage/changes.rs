//! Tenant change sequences: what makes in-memory copies of a tenant's records exactly fresh.
//!
//! A tenant has [`LANES`] change lanes. Every write transaction first calls [`advance`], which
//! raises the sequence of one lane (chosen by the database connection, so concurrent writers
//! mostly take different lanes) in `tenant_changes` and holds that lane's row lock until commit.
//! Writes on one lane therefore commit in sequence order, and a snapshot that sees a lane at `S`
//! sees exactly that lane's changes `1..=S`: the lanes' sequences together ([`Position`]) name
//! exactly which writes a snapshot contains. Rows a transaction writes carry its
//! `(change_lane, change_seq)`, deletions leave tombstones with it, so the changes after any
//! earlier position are one indexed read away.
//!
//! The consistency token handed to writers is `seq:<lane>.<n>`: the write that committed as
//! change `n` of lane `lane`.

use sqlx::PgConnection;

use super::StorageError;

/// How many change lanes a tenant has: its writers that can commit concurrently.
pub const LANES: usize = 8;

/// One write transaction's change: its lane and its sequence in that lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub lane: i16,
    pub seq: i64,
}

/// Where a tenant's history stands in one snapshot: the sequence of every lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position(pub [i64; LANES]);

impl Position {
    /// Whether every change of `self` is also in `other` (`other` is the same or later).
    pub fn precedes(&self, other: &Position) -> bool {
        self.0.iter().zip(other.0.iter()).all(|(a, b)| a <= b)
    }

    /// Whether the change is among those this position contains.
    pub fn contains(&self, change: Change) -> bool {
        usize::try_from(change.lane)
            .ok()
            .and_then(|lane| self.0.get(lane))
            .is_some_and(|&seq| seq >= change.seq)
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lanes: Vec<String> = self.0.iter().map(i64::to_string).collect();
        write!(f, "[{}]", lanes.join(", "))
    }
}

/// Raises the sequence of one of the tenant's lanes and returns the change. Takes that lane's
/// row lock for the rest of the transaction: call it first in every write transaction.
pub(crate) async fn advance(
    conn: &mut PgConnection,
    tenant_id: &str,
) -> Result<Change, StorageError> {
    let (lane, seq): (i16, i64) = sqlx::query_as(
        "INSERT INTO tenant_changes AS c (tenant_id, lane, change_seq) \
         VALUES ($1, (pg_backend_pid() % $2)::smallint, 1) \
         ON CONFLICT (tenant_id, lane) DO UPDATE SET change_seq = c.change_seq + 1 \
         RETURNING lane, change_seq",
    )
    .bind(tenant_id)
    .bind(LANES as i32)
    .fetch_one(conn)
    .await?;
    Ok(Change { lane, seq })
}

/// The tenant's position as the transaction (or statement) sees it; lanes never written are 0.
pub(crate) async fn current(
    conn: &mut PgConnection,
    tenant_id: &str,
) -> Result<Position, StorageError> {
    let lanes: Vec<(i16, i64)> =
        sqlx::query_as("SELECT lane, change_seq FROM tenant_changes WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_all(conn)
            .await?;
    Ok(position_of(lanes)?.0)
}

/// What one statement sees of a tenant: its change position and the version of its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    pub position: Position,
    /// 0 when the tenant has no stored settings.
    pub settings_version: i64,
}

/// The tenant's position and settings version, read by one statement (the settings as the
/// pseudo-lane -1).
pub(crate) async fn observe(
    conn: &mut PgConnection,
    tenant_id: &str,
) -> Result<Observed, StorageError> {
    let rows: Vec<(i16, i64)> = sqlx::query_as(
        "SELECT lane, change_seq FROM tenant_changes WHERE tenant_id = $1 \
         UNION ALL SELECT -1::smallint, version FROM tenant_settings WHERE tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_all(conn)
    .await?;
    let (position, settings_version) = position_of(rows)?;
    Ok(Observed {
        position,
        settings_version,
    })
}

/// A position from `(lane, seq)` rows, and the sequence of the settings pseudo-lane -1 (0 when
/// absent).
fn position_of(rows: Vec<(i16, i64)>) -> Result<(Position, i64), StorageError> {
    let mut position = Position::default();
    let mut settings_version = 0;
    for (lane, seq) in rows {
        if lane == -1 {
            settings_version = seq;
            continue;
        }
        let slot = usize::try_from(lane)
            .ok()
            .and_then(|lane| position.0.get_mut(lane))
            .ok_or_else(|| StorageError::Corrupt(format!("change lane {lane} out of range")))?;
        *slot = seq;
    }
    Ok((position, settings_version))
}

/// The consistency token of a write that committed as `change`.
pub fn token(change: Change) -> String {
    format!("seq:{}.{}", change.lane, change.seq)
}

/// The change a consistency token names; `None` when it is not a token this service issues.
pub fn parse_token(token: &str) -> Option<Change> {
    let (lane, seq) = token.strip_prefix("seq:")?.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(lane) || !digits(seq) {
        return None;
    }
    let lane: i16 = lane.parse().ok()?;
    if !(0..LANES as i16).contains(&lane) {
        return None;
    }
    Some(Change {
        lane,
        seq: seq.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_positions_order_by_every_lane() {
        let change = Change { lane: 3, seq: 42 };
        assert_eq!(token(change), "seq:3.42");
        assert_eq!(parse_token("seq:3.42"), Some(change));
        for bad in [
            "seq:3", "seq:8.1", "seq:.1", "seq:1.", "xid:1", "seq:1.2a", "seq:-1.2",
        ] {
            assert_eq!(parse_token(bad), None, "{bad}");
        }
        let mut early = Position::default();
        early.0[3] = 41;
        let mut late = early;
        late.0[3] = 42;
        assert!(early.precedes(&late) && !late.precedes(&early));
        assert!(late.contains(change) && !early.contains(change));
        // Concurrent positions: neither precedes the other.
        let mut other = early;
        other.0[0] = 1;
        assert!(!other.precedes(&late) && !late.precedes(&other));
    }
}
