//! One tenant's records of one kind, decoded once and shared read-only between requests.
//!
//! Records live in fixed-size chunks behind `Arc`s. Bringing a snapshot to a newer change
//! sequence (copy-on-write) rebuilds only the chunks that hold a changed or deleted record and
//! appends new records; every other chunk is shared with the previous version, which requests
//! still reading it keep alive.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crm_metrics_engine::as_of::unchanged_from;
use crm_metrics_engine::context::{KeptActivityIndex, KeptIdIndex, RecordRef};
use crm_metrics_engine::dataset::{Dataset, KindRead, TimeBound, TimeField};
use crm_metrics_engine::records::{
    Activity, Cost, CrmUser, Customer, Deal, EngagementEvent, ExchangeRate, Lead, Order, Quota,
    RecordKind, Subscription, SurveyResponse, Ticket, Timestamp, UserEvent,
};
use crm_metrics_engine::view::View;

use crate::storage::Position;

/// Records per chunk: small enough that a change copies little, large enough to keep the chunk
/// list short.
const CHUNK_RECORDS: usize = 1024;

/// A record type that snapshots can hold.
pub trait Kept: Clone + Hash + Send + Sync + 'static {
    /// The kind.
    const KIND: RecordKind;
    /// The kind's range-scannable time fields, kept beside the records as packed keys.
    const TIME_FIELDS: &'static [TimeField];
    /// The caller's id.
    fn id(&self) -> &str;
    /// A borrowed view of the record.
    fn as_record(&self) -> RecordRef<'_>;
    /// The list of this kind in a dataset.
    fn list(dataset: &mut Dataset) -> &mut Vec<Self>;
    /// The list of this kind in a view.
    fn view_list<'v, 'a>(view: &'v mut View<'a>) -> &'v mut Vec<&'a Self>;
}

macro_rules! kept {
    ($($kind:ident => $field:ident [$($time:ident),*]),* $(,)?) => {
        $(impl Kept for $kind {
            const KIND: RecordKind = RecordKind::$kind;
            const TIME_FIELDS: &'static [TimeField] = &[$(TimeField::$time),*];
            fn id(&self) -> &str {
                &self.meta.id
            }
            fn as_record(&self) -> RecordRef<'_> {
                RecordRef::$kind(self)
            }
            fn list(dataset: &mut Dataset) -> &mut Vec<Self> {
                &mut dataset.$field
            }
            fn view_list<'v, 'a>(view: &'v mut View<'a>) -> &'v mut Vec<&'a Self> {
                &mut view.$field
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
    Customer => customers [CustomerAcquired],
    Lead => leads [LeadCreated],
    Deal => deals [DealCreated, DealClosed],
    Order => orders [OrderOrdered, OrderFulfilled],
    Subscription => subscriptions [SubscriptionStart],
    Activity => activities [ActivityOccurred],
    Ticket => tickets [TicketCreated, TicketResolved],
    SurveyResponse => survey_responses [SurveyResponded],
    Cost => costs [CostIncurred],
    EngagementEvent => engagement_events [EngagementOccurred],
    CrmUser => crm_users [],
    UserEvent => user_events [UserEventOccurred],
    Quota => quotas [QuotaPeriodStart],
    ExchangeRate => exchange_rates [],
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

/// Up to [`CHUNK_RECORDS`] records, the memory they take, and their time keys: for record `i`,
/// `keys[i * F + f]` is the value of `T::TIME_FIELDS[f]` in microseconds ([`ABSENT`] when the
/// record has none), so a read plan's time bounds are tested on packed integers without touching
/// the records. `unchanged_from` is the latest of the records' [`unchanged_from`] (`None` if any
/// has none): from that instant on, the `as_of` view leaves every record of the chunk as it is.
///
/// `ranges[f]` is the zone map of field `f`: the smallest and largest present key and whether
/// some record has none, so a bound can skip a chunk it cannot match, or take a chunk it
/// matches whole, without testing its records one by one.
struct Chunk<T> {
    records: Vec<T>,
    keys: Vec<i64>,
    ranges: Vec<KeyRange>,
    bytes: usize,
    unchanged_from: Option<Timestamp>,
}

/// The keys one time field takes within a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeyRange {
    /// The smallest present key (`i64::MAX` when no record has the field).
    min: i64,
    /// The largest present key (`ABSENT` when no record has the field).
    max: i64,
    /// Whether some record lacks the field.
    any_absent: bool,
}

impl KeyRange {
    const EMPTY: KeyRange = KeyRange {
        min: i64::MAX,
        max: ABSENT,
        any_absent: false,
    };

    fn add(&mut self, key: i64) {
        if key == ABSENT {
            self.any_absent = true;
        } else {
            self.min = self.min.min(key);
            self.max = self.max.max(key);
        }
    }
}

/// How a read plan's bounds meet one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meets {
    /// No record of the chunk can match.
    None,
    /// Every record matches.
    All,
    /// Each record must be tested.
    Some,
}

/// The key of an absent time field: below every bound.
const ABSENT: i64 = i64::MIN;

impl<T: Kept> Chunk<T> {
    fn new(records: Vec<T>) -> Chunk<T> {
        let bytes = records.iter().map(approximate_bytes).sum();
        let unchanged_from = records
            .iter()
            .try_fold(Timestamp::MIN_UTC, |latest, record| {
                unchanged_from(record.as_record()).map(|from| latest.max(from))
            });
        let mut keys = Vec::with_capacity(records.len() * T::TIME_FIELDS.len());
        let mut ranges = vec![KeyRange::EMPTY; T::TIME_FIELDS.len()];
        for record in &records {
            for (field, range) in T::TIME_FIELDS.iter().zip(ranges.iter_mut()) {
                let key = time_key(*field, record);
                range.add(key);
                keys.push(key);
            }
        }
        Chunk {
            records,
            keys,
            ranges,
            bytes,
            unchanged_from,
        }
    }
}

/// One time bound of a read plan as packed keys: the field's position among the kind's time
/// fields and the half-open range `[from, until)` in microseconds.
struct KeyBound {
    field: usize,
    from: i64,
    until: i64,
}

impl KeyBound {
    /// The bounds of `bounds` that can match records with `fields`; a bound on another kind's
    /// field matches nothing and is left out.
    fn of(bounds: &[TimeBound], fields: &[TimeField]) -> Vec<KeyBound> {
        bounds
            .iter()
            .filter_map(|bound| {
                let field = fields.iter().position(|f| *f == bound.field)?;
                Some(KeyBound {
                    field,
                    // Stored times have microsecond precision: t >= from exactly when t's
                    // microseconds are at least from rounded up, and likewise for until.
                    from: bound.from.map_or(ABSENT + 1, micros_ceil),
                    until: bound.until.map_or(i64::MAX, micros_ceil),
                })
            })
            .collect()
    }

    fn contains(&self, keys: &[i64]) -> bool {
        let key = keys[self.field];
        key >= self.from && key < self.until
    }

    /// How this bound meets a chunk with `ranges` (an absent field never matches).
    fn meets(&self, ranges: &[KeyRange]) -> Meets {
        let range = ranges[self.field];
        if range.min > range.max || range.max < self.from || range.min >= self.until {
            Meets::None
        } else if !range.any_absent && range.min >= self.from && range.max < self.until {
            Meets::All
        } else {
            Meets::Some
        }
    }

    /// How any of `bounds` meets a chunk with `ranges`: whole if one bound takes it whole, not
    /// at all if none can match.
    fn any_meets(bounds: &[KeyBound], ranges: &[KeyRange]) -> Meets {
        let mut meets = Meets::None;
        for bound in bounds {
            match bound.meets(ranges) {
                Meets::All => return Meets::All,
                Meets::Some => meets = Meets::Some,
                Meets::None => {}
            }
        }
        meets
    }
}

/// The packed key of `field` in `record` ([`ABSENT`] when it has none).
fn time_key<T: Kept>(field: TimeField, record: &T) -> i64 {
    field
        .value_of(record.as_record())
        .map_or(ABSENT, |t| t.timestamp_micros())
}

/// `t` in microseconds, rounded up.
fn micros_ceil(t: Timestamp) -> i64 {
    let floor = t.timestamp_micros();
    if t.timestamp_subsec_nanos().is_multiple_of(1000) {
        floor
    } else {
        floor.saturating_add(1)
    }
}

/// The lookup indexes one snapshot version can lend (only those of its kind are ever built).
#[derive(Default)]
struct KindIndexes {
    ids: KeptIdIndex,
    activities: KeptActivityIndex,
}

/// The records of one kind at one change sequence.
pub struct KindSnapshot<T: Kept> {
    chunks: Vec<Arc<Chunk<T>>>,
    position: Position,
    bytes: usize,
    len: usize,
    /// The engine's lookup indexes over every record of this version (by id for customers and
    /// leads, earliest activities for activities), each built by the first request that follows
    /// a reference over the whole kind.
    indexes: KindIndexes,
}

impl<T: Kept> KindSnapshot<T> {
    /// A snapshot holding `records`, exact at `position`.
    ///
    /// The records are kept in the order of their first time field (records without it first,
    /// ties in the order given), so each chunk covers a short stretch of time and a time-bounded
    /// read skips or takes most chunks whole. Evaluation does not depend on record order.
    pub fn new(mut records: Vec<T>, position: Position) -> KindSnapshot<T> {
        if let Some(first) = T::TIME_FIELDS.first() {
            records.sort_by_cached_key(|record| time_key(*first, record));
        }
        let mut snapshot = KindSnapshot {
            chunks: Vec::new(),
            position,
            bytes: 0,
            len: 0,
            indexes: KindIndexes::default(),
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
        let list = T::view_list(view);
        // The kind's list is settled only when it holds this snapshot's records alone.
        let alone = list.is_empty();
        // At most every record: reserved once, so the list never grows by copying itself.
        list.reserve(self.len);
        let bounds = match read {
            KindRead::All => Vec::new(),
            KindRead::AnyOf(bounds) => KeyBound::of(bounds, T::TIME_FIELDS),
        };
        let width = T::TIME_FIELDS.len();
        let mut unchanged_from = Some(Timestamp::MIN_UTC);
        for chunk in &self.chunks {
            let before = list.len();
            let meets = match read {
                KindRead::All => Meets::All,
                // No bound on this kind's fields (or none at all) meets nothing.
                KindRead::AnyOf(_) => KeyBound::any_meets(&bounds, &chunk.ranges),
            };
            match meets {
                Meets::All => list.extend(chunk.records.iter()),
                Meets::None => {}
                Meets::Some => {
                    for (record, keys) in chunk.records.iter().zip(chunk.keys.chunks_exact(width)) {
                        if bounds.iter().any(|bound| bound.contains(keys)) {
                            list.push(record);
                        }
                    }
                }
            }
            if list.len() > before {
                unchanged_from = unchanged_from
                    .zip(chunk.unchanged_from)
                    .map(|(a, b)| a.max(b));
            }
        }
        if alone {
            view.settle(T::KIND, unchanged_from);
            // The whole kind, exactly: the indexes over this version's records apply.
            if matches!(read, KindRead::All) {
                let kept = &mut view.kept_indexes;
                match T::KIND {
                    RecordKind::Customer => kept.customers = Some(&self.indexes.ids),
                    RecordKind::Lead => kept.leads = Some(&self.indexes.ids),
                    RecordKind::Activity => kept.activities = Some(&self.indexes.activities),
                    _ => {}
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
        // Written records move into the new chunks (no copies): each is taken from its slot
        // once, by the chunk holding its id or, when no chunk does, as a new record.
        let mut written: Vec<Option<T>> = std::mem::take(T::list(rows))
            .into_iter()
            .map(Some)
            .collect();
        let slot_of: HashMap<String, usize> = written
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().map(|r| (r.id().to_owned(), i)))
            .collect();
        let removed: HashSet<&str> = deleted.iter().map(String::as_str).collect();
        let mut next = KindSnapshot::<T> {
            chunks: Vec::with_capacity(self.chunks.len() + 1),
            position,
            bytes: 0,
            len: 0,
            indexes: KindIndexes::default(),
        };
        for chunk in &self.chunks {
            let touched = chunk
                .records
                .iter()
                .any(|r| slot_of.contains_key(r.id()) || removed.contains(r.id()));
            let chunk = if touched {
                let rebuilt: Vec<T> = chunk
                    .records
                    .iter()
                    .filter(|r| !removed.contains(r.id()))
                    .map(|r| {
                        slot_of
                            .get(r.id())
                            .and_then(|&slot| written[slot].take())
                            .unwrap_or_else(|| r.clone())
                    })
                    .collect();
                Arc::new(Chunk::new(rebuilt))
            } else {
                Arc::clone(chunk)
            };
            next.push(chunk);
        }
        // What is left was not in the snapshot: new records (in the order storage returned).
        let added: Vec<T> = written.into_iter().flatten().collect();
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
