//! Admission control for the expensive calls (`ComputeMetrics`, `ComputeOnRecords`).
//!
//! At most a configured number of computations run at once. A call that finds every slot busy is
//! refused at once, or after a short bounded wait, instead of queueing behind the others on the
//! database pool and the blocking threads. Under overload, queueing makes every call slow and the
//! excess still fails later (deadlines); refusing it early keeps the latency of the admitted calls
//! what it is at capacity and tells the refused callers when to come back.
//!
//! The gate knows nothing of gRPC: `grpc::status` turns an [`AtCapacity`] into
//! `RESOURCE_EXHAUSTED` with a `google.rpc.RetryInfo`.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a refused caller is told to wait before retrying: a few typical computations, short
/// enough that a retried call does not lose much, long enough not to spin against a full gate.
pub const RETRY_AFTER: Duration = Duration::from_millis(100);

/// The default `--max-concurrent-computations`: twice the available CPUs, at least 2. A
/// computation alternates between waiting on the database and evaluating on a blocking thread,
/// so two per CPU keep the CPUs busy without queueing.
pub fn default_max_concurrent_computations() -> usize {
    std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .saturating_mul(2)
        .max(2)
}

/// Limits how many computations run at once. Clones share the same slots.
#[derive(Debug, Clone)]
pub struct AdmissionGate {
    slots: Arc<Semaphore>,
    capacity: usize,
    max_wait: Duration,
}

/// One admitted computation; its slot is freed when this is dropped.
#[derive(Debug)]
#[must_use = "the computation holds its slot only while this is alive"]
pub struct Admitted {
    _slot: OwnedSemaphorePermit,
}

/// A refused call: every slot stayed busy for as long as the call could wait.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the service is at capacity: {in_flight} computations in flight; retry after ~{} ms",
    retry_after.as_millis()
)]
pub struct AtCapacity {
    /// Computations running when the call was refused.
    pub in_flight: usize,
    /// When the caller should try again.
    pub retry_after: Duration,
}

impl AdmissionGate {
    /// A gate admitting `capacity` computations at once; a call waits at most `max_wait` for a
    /// free slot (zero: it is refused at once when none is free).
    pub fn new(capacity: usize, max_wait: Duration) -> Result<AdmissionGate, String> {
        if capacity == 0 || capacity > Semaphore::MAX_PERMITS {
            return Err(format!(
                "must be between 1 and {}, got {capacity}",
                Semaphore::MAX_PERMITS
            ));
        }
        Ok(AdmissionGate {
            slots: Arc::new(Semaphore::new(capacity)),
            capacity,
            max_wait,
        })
    }

    /// How many computations may run at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Computations running now.
    pub fn in_flight(&self) -> usize {
        self.capacity.saturating_sub(self.slots.available_permits())
    }

    /// Admits one computation, or refuses it when no slot frees up within the wait.
    pub async fn admit(&self) -> Result<Admitted, AtCapacity> {
        // The slots are never closed, so an error can only mean "none free".
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => Some(slot),
            Err(_) if self.max_wait.is_zero() => None,
            Err(_) => tokio::time::timeout(self.max_wait, self.slots.clone().acquire_owned())
                .await
                .ok()
                .and_then(Result::ok),
        };
        match slot {
            Some(slot) => Ok(Admitted { _slot: slot }),
            None => {
                let refusal = AtCapacity {
                    in_flight: self.in_flight(),
                    retry_after: RETRY_AFTER,
                };
                tracing::debug!(
                    in_flight = refusal.in_flight,
                    "computation refused at capacity"
                );
                Err(refusal)
            }
        }
    }
}

#[cfg(test)]
#[path = "tests/admission.rs"]
mod tests;
