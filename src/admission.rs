//! Admission control for the expensive calls (`ComputeMetrics`, `ComputeOnRecords`).
//!
//! At most a configured number of computations run at once. A call that finds every slot busy
//! joins a bounded queue and gets the next slot that frees up:
//!
//! - **Below capacity** the queue only absorbs bursts: waiters are served first come, first
//!   served, and nobody is refused while the queue has room.
//! - **Over capacity** the queue fills. Each arrival to a full queue refuses the call that has
//!   waited longest, and for a short while after (`OVERLOAD_MEMORY`) the gate is overloaded:
//!   freed slots go to the newest waiter first, and only as many computations run as there are
//!   CPUs. The excess is refused within a few service times instead of waiting seconds and
//!   failing later, and the calls that do run start almost at once and do not queue for a CPU,
//!   so their latency stays what it is below capacity (adaptive LIFO with head drop, as in
//!   Facebook's "Fail at scale"). Refusing costs CPU too, so fewer calls are answered than at
//!   capacity; the ones answered are answered in time.
//! - A waiter that gets no slot within the configured wait is refused too (a backstop for long
//!   computations).
//!
//! A closed loop of callers never overflows a queue longer than its callers beyond the slots, so
//! it is served in order and never refused.
//!
//! The gate knows nothing of gRPC: `grpc::status` turns an [`AtCapacity`] into
//! `RESOURCE_EXHAUSTED` with a `google.rpc.RetryInfo`.

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

/// How long a refused caller is told to wait before retrying: a few typical computations, short
/// enough that a retried call does not lose much, long enough not to spin against a full gate.
pub const RETRY_AFTER: Duration = Duration::from_millis(100);

/// How long after the queue last overflowed freed slots go to the newest waiter first.
const OVERLOAD_MEMORY: Duration = Duration::from_millis(100);

/// The default `--max-concurrent-computations`: twice the available CPUs, at least 2. A
/// computation alternates between waiting on the database and evaluating on a blocking thread,
/// so two per CPU keep the CPUs busy without queueing.
pub fn default_max_concurrent_computations() -> usize {
    available_cpus().saturating_mul(2).max(2)
}

/// The default `--max-queued-computations`: sixteen per CPU, enough for the bursts of a load
/// below capacity.
pub fn default_max_queued_computations() -> usize {
    available_cpus().saturating_mul(16)
}

fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Limits how many computations run at once. Clones share the same slots and queue.
#[derive(Debug, Clone)]
pub struct AdmissionGate {
    gate: Arc<Gate>,
}

#[derive(Debug)]
struct Gate {
    capacity: usize,
    /// How many run at once while overloaded (at most `capacity`).
    overload_capacity: usize,
    queue_capacity: usize,
    max_wait: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    running: usize,
    /// Oldest first. A waiter that gave up (its receiver is closed) stays until it is reached.
    waiting: VecDeque<oneshot::Sender<Ticket>>,
    overflowed_at: Option<Instant>,
}

/// What a waiter is sent.
#[derive(Debug)]
enum Ticket {
    /// A slot, handed over by the computation that freed it.
    Admitted,
    /// Pushed out of a full queue by a newer call.
    Refused,
}

/// One admitted computation; its slot passes to a waiter (or frees) when this is dropped.
#[derive(Debug)]
#[must_use = "the computation holds its slot only while this is alive"]
pub struct Admitted {
    gate: Arc<Gate>,
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
    /// A gate running `capacity` computations at once, with up to `queue_capacity` more waiting
    /// at most `max_wait` each for a slot (zero queue: refused at once when no slot is free).
    /// While overloaded, only as many run as there are CPUs.
    pub fn new(
        capacity: usize,
        queue_capacity: usize,
        max_wait: Duration,
    ) -> Result<AdmissionGate, String> {
        AdmissionGate::with_overload_capacity(capacity, available_cpus(), queue_capacity, max_wait)
    }

    /// [`AdmissionGate::new`] with the number running while overloaded given.
    fn with_overload_capacity(
        capacity: usize,
        overload_capacity: usize,
        queue_capacity: usize,
        max_wait: Duration,
    ) -> Result<AdmissionGate, String> {
        if capacity == 0 {
            return Err("must be at least 1".to_owned());
        }
        Ok(AdmissionGate {
            gate: Arc::new(Gate {
                capacity,
                overload_capacity: overload_capacity.clamp(1, capacity),
                queue_capacity,
                max_wait,
                state: Mutex::new(State::default()),
            }),
        })
    }

    /// How many computations may run at once.
    pub fn capacity(&self) -> usize {
        self.gate.capacity
    }

    /// Computations running now.
    pub fn in_flight(&self) -> usize {
        self.gate.lock().running
    }

    /// Admits one computation, at once or after a wait in the queue, or refuses it.
    pub async fn admit(&self) -> Result<Admitted, AtCapacity> {
        let receiver = {
            let mut state = self.gate.lock();
            // Slots freed while overloaded (fewer ran) go to the waiters before any newcomer.
            self.gate.promote_waiters(&mut state);
            if state.running < self.gate.capacity_now(&state) {
                state.running += 1;
                return Ok(self.admitted());
            }
            if self.gate.queue_capacity == 0 {
                drop(state);
                return Err(self.refusal());
            }
            state.make_room(self.gate.queue_capacity);
            let (sender, receiver) = oneshot::channel();
            state.waiting.push_back(sender);
            receiver
        };
        let mut waiting = Waiting {
            receiver,
            gate: self.gate.clone(),
        };
        match tokio::time::timeout(self.gate.max_wait, &mut waiting.receiver).await {
            Ok(Ok(Ticket::Admitted)) => {
                waiting.receiver.close();
                Ok(self.admitted())
            }
            Ok(Ok(Ticket::Refused) | Err(_)) => Err(self.refusal()),
            // Out of time: a slot handed over meanwhile is still taken, not lost.
            Err(_) => match waiting.take_ticket() {
                Some(Ticket::Admitted) => Ok(self.admitted()),
                _ => Err(self.refusal()),
            },
        }
    }

    fn admitted(&self) -> Admitted {
        Admitted {
            gate: self.gate.clone(),
        }
    }

    fn refusal(&self) -> AtCapacity {
        let refusal = AtCapacity {
            in_flight: self.in_flight(),
            retry_after: RETRY_AFTER,
        };
        tracing::debug!(
            in_flight = refusal.in_flight,
            "computation refused at capacity"
        );
        refusal
    }
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many may run at once now.
    fn capacity_now(&self, state: &State) -> usize {
        if state.overloaded() {
            self.overload_capacity
        } else {
            self.capacity
        }
    }

    /// Admits waiters, oldest first, while fewer run than may now.
    fn promote_waiters(&self, state: &mut State) {
        while state.running < self.capacity_now(state) {
            match state.waiting.pop_front() {
                Some(waiter) => {
                    if waiter.send(Ticket::Admitted).is_ok() {
                        state.running += 1;
                    }
                }
                None => return,
            }
        }
    }

    /// Hands the slot of a finished computation to the next waiter, or frees it.
    fn release(&self) {
        let mut state = self.lock();
        let newest_first = state.overloaded();
        if state.running > self.capacity_now(&state) {
            state.running -= 1;
            return;
        }
        loop {
            let next = if newest_first {
                state.waiting.pop_back()
            } else {
                state.waiting.pop_front()
            };
            match next {
                Some(waiter) => {
                    if waiter.send(Ticket::Admitted).is_ok() {
                        return;
                    }
                }
                None => {
                    state.running = state.running.saturating_sub(1);
                    return;
                }
            }
        }
    }
}

impl State {
    /// Whether the queue overflowed a moment ago.
    fn overloaded(&self) -> bool {
        self.overflowed_at
            .is_some_and(|at| at.elapsed() < OVERLOAD_MEMORY)
    }

    /// Drops waiters that gave up from the front, and when the queue is still full refuses the
    /// one that has waited longest.
    fn make_room(&mut self, queue_capacity: usize) {
        while self.waiting.front().is_some_and(|w| w.is_closed()) {
            self.waiting.pop_front();
        }
        if self.waiting.len() < queue_capacity {
            return;
        }
        self.overflowed_at = Some(Instant::now());
        while let Some(oldest) = self.waiting.pop_front() {
            if oldest.send(Ticket::Refused).is_ok() {
                return;
            }
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.gate.release();
    }
}

/// A queued call; dropped before it took its ticket (cancelled, or out of time), it passes on a
/// slot it was handed.
struct Waiting {
    receiver: oneshot::Receiver<Ticket>,
    gate: Arc<Gate>,
}

impl Waiting {
    /// Closes the queue entry and takes a ticket sent before it closed.
    fn take_ticket(&mut self) -> Option<Ticket> {
        self.receiver.close();
        self.receiver.try_recv().ok()
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(Ticket::Admitted) = self.take_ticket() {
            self.gate.release();
        }
    }
}

#[cfg(test)]
#[path = "tests/admission.rs"]
mod tests;
