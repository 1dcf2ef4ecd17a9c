//! Use cases: ingest a batch, delete or erase records, compute a query. This layer owns
//! transactions (through storage) and the clock; it speaks only domain types.

mod computations;
mod compute;
mod error;
pub mod ids;
mod ingest;
mod retry;
mod settings;

pub use computations::{ComputationSource, KeptComputation};
pub use compute::{Asked, ComputeOutcome};
pub use error::{AppError, error_chain};
pub use ids::{RecordId, TenantId};
pub use ingest::{IngestOutcome, RecordOutcome};
pub use settings::{TenantSettings, VersionedSettings};

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::snapshot::Snapshots;
use crate::storage::Store;
use crate::telemetry::metrics::IngestCounter;

/// How long kept computations are kept unless configured otherwise: 30 days.
pub const DEFAULT_COMPUTATION_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Most records in one ingestion batch unless configured otherwise.
pub const DEFAULT_MAX_BATCH_RECORDS: usize = 10_000;
/// Most bytes of one encoded request message unless configured otherwise: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Most bytes of one encoded response unless configured otherwise: 4 MiB, what default gRPC
/// clients (Go, Java, Python, C++) accept.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Most bytes of one kept computation's encoded result unless configured otherwise: 4 MiB, as a
/// response may hold, so every answer that can be sent can be kept (ComputeOnRecords always
/// keeps its answer).
pub const DEFAULT_MAX_SAVED_RESULT_BYTES: usize = 4 * 1024 * 1024;

/// Limits applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most records in one ingestion batch.
    pub max_batch_records: usize,
    /// Most bytes of one encoded request message.
    pub max_message_bytes: usize,
    /// Most bytes of one encoded computation response.
    pub max_response_bytes: usize,
    /// Most bytes of the encoded result a kept computation holds.
    pub max_saved_result_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_batch_records: DEFAULT_MAX_BATCH_RECORDS,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_saved_result_bytes: DEFAULT_MAX_SAVED_RESULT_BYTES,
        }
    }
}

/// The application: storage plus limits. Cheap to clone; shared by every handler.
#[derive(Clone)]
pub struct App {
    store: Store,
    snapshots: Snapshots,
    limits: Limits,
    settings: Arc<settings::SettingsCache>,
    /// One permit per core: every evaluation holds one while it runs.
    evaluation_slots: Arc<Semaphore>,
    /// How long kept computations are kept.
    computation_retention: Duration,
    /// Counts committed records by kind and outcome.
    ingested: IngestCounter,
}

impl App {
    /// An application over `store`, keeping tenant snapshots in at most about
    /// `snapshot_budget_bytes` of memory (0: none).
    pub fn new(store: Store, limits: Limits, snapshot_budget_bytes: usize) -> App {
        App {
            snapshots: Snapshots::new(store.clone(), snapshot_budget_bytes),
            store,
            limits,
            settings: Arc::default(),
            evaluation_slots: Arc::new(Semaphore::new(
                std::thread::available_parallelism().map_or(1, usize::from),
            )),
            computation_retention: DEFAULT_COMPUTATION_RETENTION,
            ingested: IngestCounter::disabled(),
        }
    }

    /// Counts committed records into `counter`.
    pub fn with_ingest_counter(mut self, counter: IngestCounter) -> App {
        self.ingested = counter;
        self
    }

    /// Keeps computations for `retention`: older ones are not returned, and
    /// [`App::delete_expired_computations`] deletes them.
    pub fn with_computation_retention(mut self, retention: Duration) -> App {
        self.computation_retention = retention;
        self
    }

    /// The request limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The storage handle (health checks).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The tenant snapshots (their counters show what they did).
    pub fn snapshots(&self) -> &Snapshots {
        &self.snapshots
    }
}
