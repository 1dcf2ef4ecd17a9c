//! Tenant snapshots in memory: each tenant's records per kind, decoded once, shared read-only
//! between requests and brought up to date copy-on-write — never stale.
//!
//! **Freshness.** Every write transaction advances one of the tenant's change lanes under that
//! lane's row lock, stamps the rows it writes and leaves tombstones for what it deletes
//! (`storage::changes`); the sequences of the tenant's change lanes together are its position.
//! A request reads the tenant's position `S`. A kept snapshot at `S` is used as is; one at an
//! earlier `C` is advanced, in one REPEATABLE READ database snapshot whose position is `S`, by
//! the rows and tombstones of the changes in `S` but not in `C`; a kind not in memory (or kept at
//! a position later than the request's snapshot) is read from the database exactly as the plan
//! asks. Every kind a request reads is therefore exact at the same `S`, which includes every
//! write acknowledged before the request began, on any replica.
//!
//! **Memory.** Snapshots are counted in approximate bytes against a budget; past it, the least
//! recently used tenant-kinds are evicted. A kind missing from memory is answered from the
//! database (as fast as without snapshots) and loaded whole in the background, one load per
//! tenant-kind however many requests miss it at once. A budget of zero keeps nothing.

mod kind;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crm_metrics_engine::dataset::{Dataset, KindRead, ReadPlan};
use crm_metrics_engine::records::RecordKind;
use crm_metrics_engine::view::View;
use tokio::sync::Semaphore;

pub use kind::{AnySnapshot, approximate_bytes};

use crate::storage::{Position, StorageError, Store, TenantRead};

/// How many whole-kind loads run at once in the background.
const CONCURRENT_LOADS: usize = 2;

/// The records one request reads: kinds taken from memory plus kinds read from the database,
/// all exact at one position of the tenant's changes.
pub struct TenantData {
    /// Rows read from the database for kinds not in memory.
    owned: Dataset,
    /// Kinds taken from memory, with the rows the plan selects from them.
    kept: Vec<(KindRead, Arc<dyn AnySnapshot>)>,
    /// The tenant's changes the data is exact at.
    pub position: Position,
}

impl TenantData {
    /// How many records the view can hold at most: the rows read plus every record of the kinds
    /// taken from memory.
    pub fn records_at_most(&self) -> usize {
        self.owned.len()
            + self
                .kept
                .iter()
                .map(|(_, snapshot)| snapshot.record_count())
                .sum::<usize>()
    }

    /// The records as the engine reads them.
    pub fn view(&self) -> View<'_> {
        let mut view = View::of(&self.owned);
        for (read, snapshot) in &self.kept {
            snapshot.select(read, &mut view);
        }
        view
    }
}

/// Counters of what the snapshots did since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    /// Kinds a request took from memory unchanged.
    pub hits: u64,
    /// Kinds a request took from memory after applying newer changes.
    pub advances: u64,
    /// Kinds a request read from the database.
    pub misses: u64,
    /// Whole kinds loaded into memory.
    pub loads: u64,
    /// Tenant-kinds evicted for the budget.
    pub evictions: u64,
    /// Approximate bytes held now.
    pub bytes: u64,
    /// Tenant-kinds held now.
    pub kept: u64,
    /// Whole-kind loads started and not finished (waiting for their turn or running).
    pub loading: u64,
}

/// The tenant snapshots of one service instance. Cheap to clone.
#[derive(Clone)]
pub struct Snapshots {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    budget: usize,
    state: Mutex<CacheState>,
    loads: Semaphore,
    hits: AtomicU64,
    advances: AtomicU64,
    misses: AtomicU64,
    loaded: AtomicU64,
    evictions: AtomicU64,
    loading: AtomicU64,
}

#[derive(Default)]
struct CacheState {
    slots: HashMap<(String, RecordKind), Slot>,
    used: usize,
    clock: u64,
}

#[derive(Default)]
struct Slot {
    snapshot: Option<Arc<dyn AnySnapshot>>,
    last_used: u64,
    loading: bool,
    /// The whole kind was larger than the budget: it is answered from the database and not
    /// loaded again.
    oversized: bool,
}

impl Snapshots {
    /// Snapshots over `store` holding at most about `budget_bytes`.
    pub fn new(store: Store, budget_bytes: usize) -> Snapshots {
        Snapshots {
            inner: Arc::new(Inner {
                store,
                budget: budget_bytes,
                state: Mutex::default(),
                loads: Semaphore::new(CONCURRENT_LOADS),
                hits: AtomicU64::new(0),
                advances: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                loaded: AtomicU64::new(0),
                evictions: AtomicU64::new(0),
                loading: AtomicU64::new(0),
            }),
        }
    }

    /// The memory budget in bytes.
    pub fn budget(&self) -> usize {
        self.inner.budget
    }

    /// What the snapshots did so far.
    pub fn stats(&self) -> SnapshotStats {
        let (bytes, kept) = {
            let state = self.inner.lock();
            let kept = state
                .slots
                .values()
                .filter(|s| s.snapshot.is_some())
                .count();
            (state.used, kept)
        };
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        SnapshotStats {
            hits: load(&self.inner.hits),
            advances: load(&self.inner.advances),
            misses: load(&self.inner.misses),
            loads: load(&self.inner.loaded),
            evictions: load(&self.inner.evictions),
            loading: load(&self.inner.loading),
            bytes: bytes as u64,
            kept: kept as u64,
        }
    }

    /// The rows `plan` asks for, exact at the tenant's latest committed change, of which
    /// `position` was read just before (`Store::observe`).
    ///
    /// Fast path: when every kind the plan needs is kept at exactly `position`, nothing else
    /// touches the database. Otherwise one REPEATABLE READ transaction reads the position again
    /// (the same or later) and brings every kind to it.
    pub async fn read_observed(
        &self,
        tenant_id: &str,
        plan: &ReadPlan,
        position: Position,
    ) -> Result<TenantData, StorageError> {
        if self.inner.budget > 0
            && !plan.kinds.is_empty()
            && let Some(kept) = self.all_kept_at(tenant_id, plan, &position)
        {
            self.inner
                .hits
                .fetch_add(kept.len() as u64, Ordering::Relaxed);
            return Ok(TenantData {
                owned: Dataset::default(),
                kept,
                position,
            });
        }
        self.read_in_transaction(tenant_id, plan).await
    }

    /// Every kind of `plan` from memory when all are kept at exactly `position`.
    fn all_kept_at(
        &self,
        tenant_id: &str,
        plan: &ReadPlan,
        position: &Position,
    ) -> Option<Vec<(KindRead, Arc<dyn AnySnapshot>)>> {
        let mut kept = Vec::with_capacity(plan.kinds.len());
        for (&kind, rows) in &plan.kinds {
            let snapshot = self.inner.touch(tenant_id, kind)?;
            if snapshot.position() != *position {
                return None;
            }
            kept.push((rows.clone(), snapshot));
        }
        Some(kept)
    }

    async fn read_in_transaction(
        &self,
        tenant_id: &str,
        plan: &ReadPlan,
    ) -> Result<TenantData, StorageError> {
        let mut read = self.inner.store.begin_read(tenant_id).await?;
        let position = read.position();
        let mut data = TenantData {
            owned: Dataset::default(),
            kept: Vec::with_capacity(plan.kinds.len()),
            position,
        };
        let mut missing = Vec::new();
        for (&kind, rows) in &plan.kinds {
            match self.kind_at(&mut read, tenant_id, kind, &position).await? {
                Some(snapshot) => data.kept.push((rows.clone(), snapshot)),
                None => {
                    self.inner.misses.fetch_add(1, Ordering::Relaxed);
                    read.rows(kind, rows, &mut data.owned).await?;
                    missing.push(kind);
                }
            }
        }
        read.finish().await?;
        for kind in missing {
            self.load_in_background(tenant_id, kind);
        }
        Ok(data)
    }

    /// The kept snapshot of `kind` brought to `position` inside `read`'s database snapshot, or
    /// `None` when nothing usable is in memory.
    async fn kind_at(
        &self,
        read: &mut TenantRead,
        tenant_id: &str,
        kind: RecordKind,
        position: &Position,
    ) -> Result<Option<Arc<dyn AnySnapshot>>, StorageError> {
        let Some(snapshot) = self.inner.touch(tenant_id, kind) else {
            return Ok(None);
        };
        let kept_at = snapshot.position();
        if kept_at == *position {
            self.inner.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(snapshot));
        }
        if !kept_at.precedes(position) {
            // Newer than this request's database snapshot: mixing would break consistency.
            return Ok(None);
        }
        let mut rows = Dataset::default();
        let deleted = read.changed_since(kind, &kept_at, &mut rows).await?;
        let next = snapshot.advance(&mut rows, &deleted, *position);
        self.inner.advances.fetch_add(1, Ordering::Relaxed);
        self.inner.install(tenant_id, kind, Arc::clone(&next));
        Ok(Some(next))
    }

    /// Starts loading the whole of `kind` for the tenant unless it is loading already.
    fn load_in_background(&self, tenant_id: &str, kind: RecordKind) {
        if self.inner.budget == 0 {
            return;
        }
        {
            let mut state = self.inner.lock();
            let slot = state.slots.entry((tenant_id.to_owned(), kind)).or_default();
            if slot.loading || slot.oversized || slot.snapshot.is_some() {
                return;
            }
            slot.loading = true;
        }
        self.inner.loading.fetch_add(1, Ordering::Relaxed);
        let inner = Arc::clone(&self.inner);
        let tenant_id = tenant_id.to_owned();
        tokio::spawn(async move {
            let loaded = inner.load(&tenant_id, kind).await;
            let outcome = loaded.map(|snapshot| {
                inner.loaded.fetch_add(1, Ordering::Relaxed);
                let sizes = (snapshot.record_count(), snapshot.bytes());
                inner.install(&tenant_id, kind, snapshot);
                sizes
            });
            if let Some(slot) = inner.lock().slots.get_mut(&(tenant_id.clone(), kind)) {
                slot.loading = false;
            }
            // Logged after the count drops, so a line with loads_pending = 0 means all are done.
            let loads_pending = inner
                .loading
                .fetch_sub(1, Ordering::Relaxed)
                .saturating_sub(1);
            match outcome {
                Ok((records, bytes)) => {
                    let kept_bytes = inner.lock().used;
                    tracing::info!(
                        tenant_id,
                        kind = kind.name(),
                        records,
                        bytes,
                        kept_bytes,
                        budget_bytes = inner.budget,
                        loads_pending,
                        "snapshot loaded"
                    );
                }
                Err(error) => {
                    tracing::warn!(
                        %error,
                        tenant_id,
                        kind = kind.name(),
                        loads_pending,
                        "snapshot load failed"
                    );
                }
            }
        });
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, CacheState> {
        // A panic while holding the lock cannot leave the map inconsistent (every update is a
        // single assignment), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The kept snapshot of a tenant-kind, marked as just used.
    fn touch(&self, tenant_id: &str, kind: RecordKind) -> Option<Arc<dyn AnySnapshot>> {
        let mut state = self.lock();
        state.clock += 1;
        let now = state.clock;
        let slot = state.slots.get_mut(&(tenant_id.to_owned(), kind))?;
        slot.last_used = now;
        slot.snapshot.clone()
    }

    /// Reads the whole kind in one database snapshot and decodes it into a snapshot.
    async fn load(
        &self,
        tenant_id: &str,
        kind: RecordKind,
    ) -> Result<Arc<dyn AnySnapshot>, StorageError> {
        let _permit = self.loads.acquire().await;
        let mut read = self.store.begin_read(tenant_id).await?;
        let mut rows = Dataset::default();
        read.rows(kind, &KindRead::All, &mut rows).await?;
        let position = read.position();
        read.finish().await?;
        let built =
            tokio::task::spawn_blocking(move || kind::snapshot_of(kind, &mut rows, position));
        built
            .await
            .map_err(|join| StorageError::Corrupt(format!("snapshot build failed: {join}")))
    }

    /// Keeps `snapshot` unless one at the same or a later position is kept already, then evicts the least recently used
    /// tenant-kinds until the budget holds. A snapshot larger than the whole budget is not kept.
    fn install(&self, tenant_id: &str, kind: RecordKind, snapshot: Arc<dyn AnySnapshot>) {
        let key = (tenant_id.to_owned(), kind);
        let mut state = self.lock();
        if snapshot.bytes() > self.budget {
            let slot = state.slots.entry(key).or_default();
            slot.oversized = true;
            let released = slot.snapshot.take().map_or(0, |kept| kept.bytes());
            state.used = state.used.saturating_sub(released);
            return;
        }
        state.clock += 1;
        let now = state.clock;
        let slot = state.slots.entry(key.clone()).or_default();
        if slot
            .snapshot
            .as_ref()
            .is_some_and(|kept| snapshot.position().precedes(&kept.position()))
        {
            return;
        }
        let released = slot.snapshot.as_ref().map_or(0, |kept| kept.bytes());
        let added = snapshot.bytes();
        slot.snapshot = Some(snapshot);
        slot.last_used = now;
        state.used = state.used.saturating_sub(released) + added;
        while state.used > self.budget {
            let victim = state
                .slots
                .iter()
                .filter(|(k, slot)| **k != key && slot.snapshot.is_some())
                .min_by_key(|(_, slot)| slot.last_used)
                .map(|(k, _)| k.clone());
            let Some(victim) = victim else { break };
            if let Some(slot) = state.slots.get_mut(&victim)
                && let Some(evicted) = slot.snapshot.take()
            {
                state.used = state.used.saturating_sub(evicted.bytes());
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        // Empty slots of evicted kinds that are not loading are dropped with the map entry.
        state
            .slots
            .retain(|_, slot| slot.snapshot.is_some() || slot.loading || slot.oversized);
    }
}
