//! `StreamRecords`: a bulk-load stream whose batches are converted ahead, committed up to two at
//! a time, and acknowledged strictly in stream order.
//!
//! Three stages run per stream:
//! - the reader decodes and converts the next batch on a blocking thread while earlier ones
//!   commit;
//! - the writer starts each converted batch's transaction as soon as it may: while fewer than
//!   [`COMMITS_IN_FLIGHT`] are running and the batch shares no record (same tenant, kind and id)
//!   with one still running;
//! - acknowledgements are sent in stream order, each after its own batch's commit.
//!
//! A batch that shares a record with a running one waits for it, so every record sees its
//! writes in stream order: outcomes and stored rows are exactly those of a one-by-one commit.
//! Batches without a shared record touch disjoint rows, so their order of commit cannot show in
//! any stored row or outcome; it shows only in which of two acknowledged batches a reader could
//! see first, and a batch's acknowledgement never precedes an earlier one's. Running two
//! transactions keeps the database busy while the service prepares, sends and acknowledges the
//! other batch's rows.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::pin::Pin;

use prost::Message;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::{Stream, StreamExt};
use tonic::{Status, Streaming};

use super::caller::Caller;
use super::ingest_service::{IngestHandler, rejection};
use super::pb;
use crate::app::{AppError, TenantId};
use crate::auth::Permission;
use crm_metrics_engine::records::Record;

/// Batches of one stream converted ahead of the ones being written.
const PREPARED_AHEAD: usize = 1;

/// Transactions one stream may have running at once.
const COMMITS_IN_FLIGHT: usize = 2;

/// The acknowledgements of a stream.
pub(super) type AckStream =
    Pin<Box<dyn Stream<Item = Result<pb::StreamRecordsResponse, Status>> + Send>>;

/// A converted batch: its tenant, its records (or why it is refused) and its record keys.
struct Prepared {
    /// The tenant, for telling which batches may commit side by side (empty when refused).
    tenant_id: String,
    /// The tenant and its converted records, or why the batch is refused.
    batch: Result<(TenantId, Vec<Record>), AppError>,
    keys: RecordKeys,
}

/// The sorted hashes of a batch's (kind, id) pairs: two batches of one tenant whose keys do not
/// meet share no record (a hash collision only makes them wait for each other).
struct RecordKeys(Vec<u64>);

impl RecordKeys {
    fn of(records: &[Record]) -> RecordKeys {
        let mut keys: Vec<u64> = records
            .iter()
            .map(|record| {
                // SipHash with fixed keys: the same key for the same record in every batch.
                let mut hasher = std::hash::DefaultHasher::new();
                record.kind().hash(&mut hasher);
                record.meta().id.hash(&mut hasher);
                hasher.finish()
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        RecordKeys(keys)
    }

    fn meets(&self, other: &RecordKeys) -> bool {
        let (mut a, mut b) = (self.0.iter().peekable(), other.0.iter().peekable());
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            match x.cmp(y) {
                std::cmp::Ordering::Less => {
                    a.next();
                }
                std::cmp::Ordering::Greater => {
                    b.next();
                }
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }
}

/// A batch whose transaction is running (or a refusal waiting for its turn to be acknowledged).
struct Running {
    tenant_id: String,
    keys: RecordKeys,
    result: JoinHandle<Result<pb::IngestRecordsResponse, AppError>>,
}

impl Running {
    fn conflicts_with(&self, next: &Prepared) -> bool {
        self.tenant_id == next.tenant_id && self.keys.meets(&next.keys)
    }
}

/// Starts the stream's stages and returns its acknowledgements.
pub(super) fn stream_records(
    handler: &IngestHandler,
    caller: Caller,
    batches: Streaming<pb::StreamRecordsRequest>,
) -> AckStream {
    let (acks, receiver) = mpsc::channel(4);
    let (prepared_sender, prepared) = mpsc::channel(PREPARED_AHEAD);
    tokio::spawn(read(handler.clone(), caller, batches, prepared_sender));
    tokio::spawn(write(handler.clone(), prepared, acks));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver))
}

/// Decodes and converts batches in stream order; a broken stream (decode error, cancelled
/// client) is passed on as its status, and reading stops. Once the service stops accepting
/// connections no further batch is read: the batches already read are committed and
/// acknowledged, then the stream ends UNAVAILABLE so the client sends the rest elsewhere.
async fn read(
    handler: IngestHandler,
    caller: Caller,
    mut batches: Streaming<pb::StreamRecordsRequest>,
    prepared: mpsc::Sender<Result<Prepared, Status>>,
) {
    loop {
        let next = tokio::select! {
            biased;
            () = handler.stopping.stopped() => {
                let _ = prepared.send(Err(Status::unavailable(
                    "the service is shutting down: the batches acknowledged on this stream are \
                     committed; send the others again on a new stream",
                ))).await;
                return;
            }
            next = batches.next() => next,
        };
        let Some(next) = next else {
            return;
        };
        let item = match next {
            Ok(batch) => {
                let handler = handler.clone();
                let caller = caller.clone();
                tokio::task::spawn_blocking(move || {
                    let encoded_len = batch.encoded_len();
                    let pb::StreamRecordsRequest { tenant_id, records } = batch;
                    // Each batch names its tenant, so each is authorized on its own.
                    let batch = caller
                        .tenant(&handler.access, Permission::Ingest, tenant_id)
                        .and_then(|tenant| {
                            let records = handler.prepare_batch(records, encoded_len)?;
                            Ok((tenant, records))
                        });
                    let (tenant_id, keys) = match &batch {
                        Ok((tenant, records)) => {
                            (tenant.as_str().to_owned(), RecordKeys::of(records))
                        }
                        Err(_) => (String::new(), RecordKeys(Vec::new())),
                    };
                    Prepared {
                        tenant_id,
                        batch,
                        keys,
                    }
                })
                .await
                .map_err(|_| Status::internal("converting a batch failed"))
            }
            Err(status) => Err(status),
        };
        let broken = item.is_err();
        if prepared.send(item).await.is_err() || broken {
            return;
        }
    }
}

/// Commits converted batches, up to [`COMMITS_IN_FLIGHT`] at once, and acknowledges them in
/// stream order.
async fn write(
    handler: IngestHandler,
    mut prepared: mpsc::Receiver<Result<Prepared, Status>>,
    acks: mpsc::Sender<Result<pb::StreamRecordsResponse, Status>>,
) {
    let mut running: VecDeque<Running> = VecDeque::new();
    let mut waiting: Option<Prepared> = None;
    let mut ended: Option<Result<(), Status>> = None;
    let mut sequence: u64 = 0;
    loop {
        if let Some(next) = waiting.take() {
            if running.len() < COMMITS_IN_FLIGHT && !running.iter().any(|r| r.conflicts_with(&next))
            {
                running.push_back(start(&handler, next));
            } else {
                waiting = Some(next);
            }
        }
        let may_read = waiting.is_none() && ended.is_none();
        if running.is_empty() && !may_read {
            // Nothing runs and nothing more can start: the stream is over.
            if let Some(Err(status)) = ended {
                let _ = acks.send(Err(status)).await;
            }
            return;
        }
        tokio::select! {
            finished = oldest(&mut running) => {
                running.pop_front();
                let result = match finished {
                    Ok(Ok(accepted)) => pb::stream_records_response::Result::Accepted(accepted),
                    Ok(Err(error)) => {
                        tracing::info!(sequence, error = %error, "stream batch rejected");
                        pb::stream_records_response::Result::Rejected(rejection(error))
                    }
                    Err(join) => pb::stream_records_response::Result::Rejected(rejection(
                        AppError::internal_caused("committing a batch failed", join),
                    )),
                };
                let ack = pb::StreamRecordsResponse { sequence, result: Some(result) };
                if acks.send(Ok(ack)).await.is_err() {
                    // The client is gone; batches already running still finish on their own.
                    return;
                }
                sequence += 1;
            }
            next = prepared.recv(), if may_read => match next {
                Some(Ok(batch)) => waiting = Some(batch),
                // A broken stream ends the call once the batches before it are acknowledged.
                Some(Err(status)) => ended = Some(Err(status)),
                None => ended = Some(Ok(())),
            },
        }
    }
}

/// Starts a batch's transaction (or, for a refused batch, a task that returns the refusal).
fn start(handler: &IngestHandler, batch: Prepared) -> Running {
    let Prepared {
        tenant_id,
        batch,
        keys,
    } = batch;
    let handler = handler.clone();
    let result = tokio::spawn(async move {
        let (tenant, records) = batch?;
        handler.commit_batch(&tenant, &records).await
    });
    Running {
        tenant_id,
        keys,
        result,
    }
}

/// The result of the oldest running batch; never ready when none runs.
async fn oldest(
    running: &mut VecDeque<Running>,
) -> Result<Result<pb::IngestRecordsResponse, AppError>, tokio::task::JoinError> {
    match running.front_mut() {
        Some(batch) => (&mut batch.result).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::RecordKeys;

    #[test]
    fn keys_meet_only_when_a_hash_is_shared() {
        let a = RecordKeys(vec![1, 4, 9]);
        assert!(a.meets(&RecordKeys(vec![2, 9])));
        assert!(!a.meets(&RecordKeys(vec![0, 2, 5, 10])));
        assert!(!a.meets(&RecordKeys(Vec::new())));
    }
}
