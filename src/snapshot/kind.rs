//! One tenant's records of one kind, decoded once and shared read-only between requests.
//!
//! Records live in fixed-size chunks behind `Arc`s. Bringing a snapshot to a newer change
//! sequence (copy-on-write) rebuilds only the chunks that hold a changed or deleted record and
//! appends new records; every other chunk is shared with the previous version, which requests
//! still reading it keep alive.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crm_metrics_engine::context::RecordRef;
use crm_metrics_engine::dataset::{Dataset, KindRead};
use crm_metrics_engine::records::{
    Activity, Cost, CrmUser, Customer, Deal, EngagementEvent, ExchangeRate, Lead, Order, Quota,
    RecordKind, Subscription, SurveyResponse, Ticket, UserEvent,
};
use crm_metrics_engine::view::View;

use crate::storage::Position;

/// Records per chunk: small enough that a change copies little, large enough to keep the chunk
/// list short.
const CHUNK_RECORDS: usize = 1024;

/// A record type that snapshots can hold.
pub trait Kept: Clone + Hash + Send + Sync + 'static {
    /// The caller's id.
    fn id(&self) -> &str;
    /// A borrowed view of the record.
    fn as_record(&self) -> RecordRef<'_>;
    /// The list of this kind in a dataset.
    fn list(dataset: &mut Dataset) -> &mut Vec<Self>;
}

macro_rules! kept {
    ($($kind:ident => $field:ident),* $(,)?) => {
        $(impl Kept for $kind {
            fn id(&self) -> &str {
                &self.meta.id
            }
            fn as_record(&self) -> RecordRef<'_> {
                RecordRef::$kind(self)
            }
            fn list(dataset: &mut Dataset) -> &mut Vec<Self> {
                &mut dataset.$field
            }
        })*

        /// A snapshot of `kind` at `position`, holding the records of that kind in `rows`.
        pub fn snapshot_of(
            kind: RecordKind,
            rows: &mut Dataset,
            position: Position,
        ) -> Arc<dyn AnySnapshot> {
            match kind {
                $(RecordKind::$kind => Arc::new(KindSnapshot::<$kind>::new(
                    std::mem::take(&mut rows.$field),
                    position,
                )),)*
            }
        }
    };
}

kept! {
    Customer => customers,
    Lead => leads,
    Deal => deals,
    Order => orders,
    Subscription => subscriptions,
    Activity => activities,
    Ticket => tickets,
    SurveyResponse => survey_responses,
    Cost => costs,
    EngagementEvent => engagement_events,
    CrmUser => crm_users,
    UserEvent => user_events,
    Quota => quotas,
    ExchangeRate => exchange_rates,
}

/// A snapshot of any kind, as the cache holds it.
pub trait AnySnapshot: Send + Sync {
    /// The tenant's changes the snapshot is exact at.
    fn position(&self) -> Position;
    /// The approximate memory the snapshot's records take, in bytes.
    fn bytes(&self) -> usize;
    /// How many records.
    fn record_count(&self) -> usize;
    /// Adds the records `read` selects to `view`.
    fn select<'a>(&'a self, read: &KindRead, view: &mut View<'a>);
    /// The snapshot at `position`: this one with `rows` (written by the changes since this
    /// snapshot's position) replacing or adding records, and the records with `deleted` ids
    /// removed.
    fn advance(
        &self,
        rows: &mut Dataset,
        deleted: &[String],
        position: Position,
    ) -> Arc<dyn AnySnapshot>;
}

/// Up to [`CHUNK_RECORDS`] records and the memory they take.
struct Chunk<T> {
    records: Vec<T>,
    bytes: usize,
}

impl<T: Kept> Chunk<T> {
    fn new(records: Vec<T>) -> Chunk<T> {
        let bytes = records.iter().map(approximate_bytes).sum();
        Chunk { records, bytes }
    }
}

/// The records of one kind at one change sequence.
pub struct KindSnapshot<T: Kept> {
    chunks: Vec<Arc<Chunk<T>>>,
    position: Position,
    bytes: usize,
    len: usize,
}

impl<T: Kept> KindSnapshot<T> {
    /// A snapshot holding `records`, exact at `position`.
    pub fn new(records: Vec<T>, position: Position) -> KindSnapshot<T> {
        let mut snapshot = KindSnapshot {
            chunks: Vec::new(),
            position,
            bytes: 0,
            len: 0,
        };
        snapshot.append(records);
        snapshot
    }

    fn push(&mut self, chunk: Arc<Chunk<T>>) {
        if !chunk.records.is_empty() {
            self.len += chunk.records.len();
            self.bytes += chunk.bytes;
            self.chunks.push(chunk);
        }
    }

    fn append(&mut self, records: Vec<T>) {
        let mut records = records.into_iter().peekable();
        while records.peek().is_some() {
            let chunk = Chunk::new(records.by_ref().take(CHUNK_RECORDS).collect());
            self.push(Arc::new(chunk));
        }
    }
}

impl<T: Kept> AnySnapshot for KindSnapshot<T> {
    fn position(&self) -> Position {
        self.position
    }

    fn bytes(&self) -> usize {
        self.bytes
    }

    fn record_count(&self) -> usize {
        self.len
    }

    fn select<'a>(&'a self, read: &KindRead, view: &mut View<'a>) {
        for chunk in &self.chunks {
            for record in &chunk.records {
                let record = record.as_record();
                if read.selects(record) {
                    view.push(record);
                }
            }
        }
    }

    fn advance(
        &self,
        rows: &mut Dataset,
        deleted: &[String],
        position: Position,
    ) -> Arc<dyn AnySnapshot> {
        let written = std::mem::take(T::list(rows));
        let mut replacements: HashMap<&str, &T> =
            written.iter().map(|record| (record.id(), record)).collect();
        let removed: HashSet<&str> = deleted.iter().map(String::as_str).collect();
        let mut next = KindSnapshot::<T> {
            chunks: Vec::with_capacity(self.chunks.len() + 1),
            position,
            bytes: 0,
            len: 0,
        };
        for chunk in &self.chunks {
            let touched = chunk
                .records
                .iter()
                .any(|r| replacements.contains_key(r.id()) || removed.contains(r.id()));
            let chunk = if touched {
                let rebuilt: Vec<T> = chunk
                    .records
                    .iter()
                    .filter(|r| !removed.contains(r.id()))
                    .map(|r| match replacements.remove(r.id()) {
                        Some(newer) => newer.clone(),
                        None => r.clone(),
                    })
                    .collect();
                Arc::new(Chunk::new(rebuilt))
            } else {
                Arc::clone(chunk)
            };
            next.push(chunk);
        }
        // What is left was not in the snapshot: new records (in the order storage returned).
        let added: Vec<T> = written
            .iter()
            .filter(|r| replacements.contains_key(r.id()))
            .cloned()
            .collect();
        next.append(added);
        Arc::new(next)
    }
}

/// The memory one record takes: its inline size, the bytes of its strings and collections, and
/// an allocation header for each string.
pub fn approximate_bytes<T: Hash>(record: &T) -> usize {
    let mut counter = ByteCounter::default();
    record.hash(&mut counter);
    std::mem::size_of::<T>() + counter.bytes + counter.pieces * ALLOCATION_OVERHEAD
}

/// What the allocator adds to each heap block, roughly.
const ALLOCATION_OVERHEAD: usize = 16;

/// Counts what a record's `Hash` feeds: strings arrive as one `write` of their bytes.
#[derive(Default)]
struct ByteCounter {
    bytes: usize,
    pieces: usize,
}

impl Hasher for ByteCounter {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len();
        self.pieces += 1;
    }

    fn write_u8(&mut self, _: u8) {}
    fn write_u32(&mut self, _: u32) {}
    fn write_i32(&mut self, _: i32) {}
    fn write_u64(&mut self, _: u64) {}
    fn write_i64(&mut self, _: i64) {}
    fn write_usize(&mut self, _: usize) {}
    fn write_isize(&mut self, _: isize) {}
}

#[cfg(test)]
#[path = "tests/kind.rs"]
mod tests;
