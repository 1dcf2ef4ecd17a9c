//! `crm-load ingest` and `crm-load raw-ingest`: write a data set's tenants through the service
//! (`StreamRecords` or `IngestRecords`) or straight into PostgreSQL (COPY or UNNEST), with N
//! parallel workers, and report records/s and per-batch acknowledgement latency.
//!
//! With `--generate ahead` every tenant is generated before the clock starts, so the figure is
//! the write path alone; with `inline` each worker generates its next tenant while writing the
//! current one (for loads too big to hold in memory).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde_json::json;
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinHandle;
use tonic::transport::Channel;

use super::dataset::{DataArgs, TenantData};
use super::stats::{Samples, print_report};
use crm_metrics::grpc::convert::records_from_proto;
use crm_metrics::storage::raw::{self, RawMethod};
use crm_metrics_api as pb;
use crm_metrics_api::ingest_service_client::IngestServiceClient;

/// When tenants are generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    /// All before the clock starts.
    Ahead,
    /// Each worker generates its next tenant while writing the current one.
    Inline,
}

/// Which service call carries the batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Api {
    /// One `StreamRecords` call per worker, up to `--window` batches unacknowledged.
    Stream,
    /// One `IngestRecords` call per batch.
    Unary,
}

/// How the raw baseline writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// `COPY ... FROM STDIN`.
    Copy,
    /// `INSERT ... SELECT FROM UNNEST(...) ON CONFLICT DO UPDATE`.
    Unnest,
}

/// Options shared by both ingest commands.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Parallel workers (streams, callers or connections).
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// When tenants are generated.
    #[arg(long, value_enum, default_value_t = Generate::Ahead)]
    pub generate: Generate,
}

/// `crm-load ingest`.
#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    /// The service.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub address: String,
    /// The call that carries batches.
    #[arg(long, value_enum, default_value_t = Api::Stream)]
    pub api: Api,
    /// Unacknowledged batches a stream may have in flight.
    #[arg(long, default_value_t = 2)]
    pub window: usize,
    #[command(flatten)]
    pub workers: WorkerArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

/// `crm-load raw-ingest`.
#[derive(Debug, Clone, Args)]
pub struct RawIngestArgs {
    /// The database (migrated with the service's migrations first).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// How rows are written.
    #[arg(long, value_enum)]
    pub method: Method,
    #[command(flatten)]
    pub workers: WorkerArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Where batches go.
#[derive(Clone)]
enum Sink {
    Stream {
        channel: Channel,
        window: usize,
    },
    Unary {
        channel: Channel,
    },
    Raw {
        pool: sqlx::PgPool,
        method: RawMethod,
    },
}

impl Sink {
    fn name(&self) -> &'static str {
        match self {
            Sink::Stream { .. } => "service_stream",
            Sink::Unary { .. } => "service_unary",
            Sink::Raw { method, .. } => match method {
                RawMethod::Copy => "raw_copy",
                RawMethod::Unnest => "raw_unnest",
            },
        }
    }
}

/// Runs `crm-load ingest`.
pub async fn run_service(args: IngestArgs) -> Result<(), String> {
    let channel = super::connect(&args.address).await?;
    let sink = match args.api {
        Api::Stream => Sink::Stream {
            channel,
            window: args.window.max(1),
        },
        Api::Unary => Sink::Unary { channel },
    };
    run(sink, &args.workers, &args.data).await
}

/// Runs `crm-load raw-ingest`.
pub async fn run_raw(args: RawIngestArgs) -> Result<(), String> {
    let connections = u32::try_from(args.workers.workers.max(1)).unwrap_or(u32::MAX);
    let pool = crate::database(&args.database_url, connections).await?;
    let method = match args.method {
        Method::Copy => RawMethod::Copy,
        Method::Unnest => RawMethod::Unnest,
    };
    run(Sink::Raw { pool, method }, &args.workers, &args.data).await
}

/// What one worker did.
#[derive(Default)]
struct Progress {
    samples: Samples,
    records: u64,
}

async fn run(sink: Sink, workers: &WorkerArgs, data: &DataArgs) -> Result<(), String> {
    data.validate()?;
    let count = workers.workers.max(1);
    let mut sources = Vec::with_capacity(count);
    for worker in 0..count {
        sources.push(TenantSource::new(data, data.share(count, worker), workers.generate).await?);
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for source in sources {
        let sink = sink.clone();
        tasks.spawn(async move { work(sink, source).await });
    }
    let mut progress = Progress::default();
    while let Some(done) = tasks.join_next().await {
        let part = done.map_err(|error| format!("worker failed: {error}"))??;
        progress.samples.merge(part.samples);
        progress.records += part.records;
    }
    let seconds = started.elapsed().as_secs_f64();
    let per_second = progress.records as f64 / seconds.max(1e-9);
    let report = json!({
        "command": "ingest",
        "target": sink.name(),
        "tenants": data.tenants,
        "first_tenant": data.first_tenant,
        "scale": data.scale,
        "batch": data.batch,
        "workers": count,
        "generate": format!("{:?}", workers.generate).to_lowercase(),
        "records": progress.records,
        "batches": progress.samples.completed(),
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "records_per_s": per_second.round(),
        "ack_ms": progress.samples.latency_json(),
        "errors": progress.samples.errors_json(),
    });
    print_report(
        &format!(
            "{}: {} records in {seconds:.1} s = {per_second:.0} records/s, {} failed batches",
            sink.name(),
            progress.records,
            progress.samples.failed()
        ),
        &report,
    );
    if progress.samples.failed() > 0 {
        return Err(format!("{} batches failed", progress.samples.failed()));
    }
    Ok(())
}

async fn work(sink: Sink, mut source: TenantSource) -> Result<Progress, String> {
    match sink {
        Sink::Stream { channel, window } => stream(channel, window, source).await,
        Sink::Unary { channel } => {
            let mut client = IngestServiceClient::new(channel);
            let mut progress = Progress::default();
            while let Some(tenant) = source.next().await {
                let tenant = tenant?;
                for records in tenant.batches {
                    let size = records.len() as u64;
                    let request = pb::IngestRecordsRequest {
                        tenant_id: tenant.tenant.clone(),
                        records,
                    };
                    let started = Instant::now();
                    match client.ingest_records(request).await {
                        Ok(_) => record_ok(&mut progress, started.elapsed(), size),
                        Err(status) => progress.samples.error(format!("{:?}", status.code())),
                    }
                }
            }
            Ok(progress)
        }
        Sink::Raw { pool, method } => {
            let mut progress = Progress::default();
            while let Some(tenant) = source.next().await {
                let tenant = tenant?;
                for batch in tenant.batches {
                    // The service converts and validates too, so the raw path pays for it alike.
                    let started = Instant::now();
                    let size = batch.len() as u64;
                    let records = records_from_proto(batch)
                        .map_err(|problems| format!("invalid generated records: {problems:?}"))?;
                    match raw::write(&pool, &tenant.tenant, &records, method).await {
                        Ok(_) => record_ok(&mut progress, started.elapsed(), size),
                        Err(error) => {
                            eprintln!("crm-load: raw batch for {} failed: {error}", tenant.tenant);
                            progress.samples.error("database");
                        }
                    }
                }
            }
            Ok(progress)
        }
    }
}

fn record_ok(progress: &mut Progress, latency: Duration, records: u64) {
    progress.samples.ok(latency);
    progress.records += records;
}

/// One `StreamRecords` call carrying every batch of the worker's tenants, with at most `window`
/// batches sent but not yet acknowledged. Acknowledgements arrive in order.
async fn stream(
    channel: Channel,
    window: usize,
    mut source: TenantSource,
) -> Result<Progress, String> {
    let (sender, receiver) = tokio::sync::mpsc::channel(window);
    let sent: Arc<Mutex<VecDeque<(Instant, u64)>>> = Arc::default();
    let slots = Arc::new(Semaphore::new(window));
    let producer = {
        let (sent, slots) = (sent.clone(), slots.clone());
        tokio::spawn(async move {
            while let Some(tenant) = source.next().await {
                let tenant = tenant?;
                for records in tenant.batches {
                    slots
                        .acquire()
                        .await
                        .map_err(|_| "stream closed".to_owned())?
                        .forget();
                    sent.lock()
                        .await
                        .push_back((Instant::now(), records.len() as u64));
                    let request = pb::StreamRecordsRequest {
                        tenant_id: tenant.tenant.clone(),
                        records,
                    };
                    if sender.send(request).await.is_err() {
                        return Err("the stream ended early".to_owned());
                    }
                }
            }
            Ok::<(), String>(())
        })
    };
    let mut acks = IngestServiceClient::new(channel)
        .stream_records(tokio_stream::wrappers::ReceiverStream::new(receiver))
        .await
        .map_err(|status| format!("StreamRecords: {status}"))?
        .into_inner();
    let mut progress = Progress::default();
    loop {
        let ack = match acks.message().await {
            Ok(Some(ack)) => ack,
            Ok(None) => break,
            Err(status) => {
                progress.samples.error(format!("{:?}", status.code()));
                break;
            }
        };
        let Some((at, size)) = sent.lock().await.pop_front() else {
            return Err(format!("acknowledgement {} for no batch", ack.sequence));
        };
        match ack.result {
            Some(pb::stream_records_response::Result::Accepted(_)) => {
                record_ok(&mut progress, at.elapsed(), size)
            }
            _ => progress.samples.error("rejected"),
        }
        slots.add_permits(1);
    }
    slots.close();
    producer
        .await
        .map_err(|error| format!("producer failed: {error}"))??;
    Ok(progress)
}

/// A worker's tenants: generated up front, or one ahead of the one being written.
struct TenantSource {
    data: DataArgs,
    numbers: VecDeque<u32>,
    ready: VecDeque<TenantData>,
    prefetch: Option<JoinHandle<TenantData>>,
}

impl TenantSource {
    async fn new(data: &DataArgs, numbers: Vec<u32>, when: Generate) -> Result<Self, String> {
        let mut source = TenantSource {
            data: data.clone(),
            numbers: numbers.into(),
            ready: VecDeque::new(),
            prefetch: None,
        };
        match when {
            Generate::Ahead => {
                while let Some(number) = source.numbers.pop_front() {
                    source.ready.push_back(data.generate_async(number).await?);
                }
            }
            Generate::Inline => source.start_next(),
        }
        Ok(source)
    }

    fn start_next(&mut self) {
        if let Some(number) = self.numbers.pop_front() {
            let data = self.data.clone();
            self.prefetch = Some(tokio::task::spawn_blocking(move || data.generate(number)));
        }
    }

    async fn next(&mut self) -> Option<Result<TenantData, String>> {
        if let Some(tenant) = self.ready.pop_front() {
            return Some(Ok(tenant));
        }
        let generating = self.prefetch.take()?;
        self.start_next();
        Some(
            generating
                .await
                .map_err(|error| format!("generating a tenant: {error}")),
        )
    }
}
