//! Configuration: command-line flags, each with an environment-variable equivalent.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::admission::{default_max_concurrent_computations, default_max_queued_computations};
use crate::app::{
    DEFAULT_COMPUTATION_RETENTION, DEFAULT_MAX_BATCH_RECORDS, DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_SAVED_RESULT_BYTES, Limits,
};
use crate::auth::AuthConfig;

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// crm-metrics: ingest CRM records and compute CRM metrics over gRPC. Without a subcommand it
/// serves.
#[derive(Debug, Clone, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: Config,
}

/// What to do instead of serving.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Load a realistic demo data set into a running service and print every metric.
    Demo(crm_metrics_demo::DemoArgs),
}

/// The server's configuration.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to serve gRPC on.
    #[arg(long, env = "CRM_METRICS_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Address of the admin HTTP port: `/livez`, `/readyz` and `/metrics` (Prometheus). Keep it
    /// inside the cluster: it needs no identity.
    #[arg(
        long,
        env = "CRM_METRICS_ADMIN_LISTEN",
        default_value = "127.0.0.1:9464"
    )]
    pub admin_listen: SocketAddr,

    /// Browser origins (`https://app.example.com`, or `*` for any) whose pages may call the
    /// service over gRPC-Web: CORS preflights from them are answered and responses expose the
    /// gRPC status headers. Unset: no CORS (same-origin pages, or a gateway that answers CORS).
    #[arg(long, env = "CRM_METRICS_GRPC_WEB_ORIGINS", value_delimiter = ',')]
    pub grpc_web_origins: Vec<String>,

    /// PostgreSQL to use. Unset: an embedded PostgreSQL under --data-dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory of the embedded PostgreSQL cluster (used when DATABASE_URL is unset).
    #[arg(long, env = "CRM_METRICS_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Most connections in the database pool.
    #[arg(long, env = "CRM_METRICS_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// Most records in one ingestion batch.
    #[arg(long, env = "CRM_METRICS_MAX_BATCH_RECORDS", default_value_t = DEFAULT_MAX_BATCH_RECORDS)]
    pub max_batch_records: usize,

    /// Most bytes in one request message.
    #[arg(long, env = "CRM_METRICS_MAX_MESSAGE_BYTES", default_value_t = DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,

    /// Most bytes in one ComputeMetrics/ComputeOnRecords response; a larger one is refused with
    /// INVALID_ARGUMENT naming this limit. The default, 4 MiB, is what default gRPC clients
    /// accept.
    #[arg(
        long,
        env = "CRM_METRICS_MAX_RESPONSE_BYTES",
        default_value_t = DEFAULT_MAX_RESPONSE_BYTES
    )]
    pub max_response_bytes: usize,

    /// Most bytes of the result a kept computation holds (ComputeMetrics with save,
    /// ComputeOnRecords); a larger one is refused with INVALID_ARGUMENT and nothing is kept.
    #[arg(
        long,
        env = "CRM_METRICS_MAX_SAVED_RESULT_BYTES",
        default_value_t = DEFAULT_MAX_SAVED_RESULT_BYTES
    )]
    pub max_saved_result_bytes: usize,

    /// Most requests served at once; further ones are shed with RESOURCE_EXHAUSTED.
    #[arg(
        long,
        env = "CRM_METRICS_MAX_CONCURRENT_REQUESTS",
        default_value_t = 256
    )]
    pub max_concurrent_requests: usize,

    /// Memory for tenant snapshots (records kept decoded in memory so queries need not read
    /// them from the database), in MiB; the least recently used tenant-kinds are evicted past
    /// it. 0 keeps none: every query reads its rows from the database.
    #[arg(long, env = "CRM_METRICS_SNAPSHOT_MEMORY_MIB", default_value_t = 1024)]
    pub snapshot_memory_mib: usize,

    /// Most ComputeMetrics/ComputeOnRecords calls computing at once; a call beyond it waits in
    /// the admission queue. Default: twice the CPUs.
    #[arg(
        long,
        env = "CRM_METRICS_MAX_CONCURRENT_COMPUTATIONS",
        default_value_t = default_max_concurrent_computations()
    )]
    pub max_concurrent_computations: usize,

    /// Most computations waiting for a slot. When the queue is full, each new call refuses the
    /// one that has waited longest (RESOURCE_EXHAUSTED with a retry delay) and the newest are
    /// served first for a while. 0: a call finding no free slot is refused at once. Default:
    /// sixteen per CPU.
    #[arg(
        long,
        env = "CRM_METRICS_MAX_QUEUED_COMPUTATIONS",
        default_value_t = default_max_queued_computations()
    )]
    pub max_queued_computations: usize,

    /// Milliseconds a queued computation may wait for a slot before it is refused.
    #[arg(long, env = "CRM_METRICS_ADMISSION_WAIT_MS", default_value_t = 1000)]
    pub admission_wait_ms: u64,

    /// Seconds between SIGTERM/SIGINT and refusing new connections: health already answers
    /// NOT_SERVING, so load balancers stop sending calls, and calls that still arrive are served.
    #[arg(long, env = "CRM_METRICS_DRAIN_DELAY_SECONDS", default_value_t = 5)]
    pub drain_delay_seconds: u64,

    /// Seconds in-flight calls get to finish once new connections are refused.
    #[arg(long, env = "CRM_METRICS_SHUTDOWN_GRACE_SECONDS", default_value_t = 10)]
    pub shutdown_grace_seconds: u64,

    /// The base currency (ISO 4217) of tenants that stored no settings: the currency their
    /// exchange rates convert into. Unset: none, so only currencies with rates of their own
    /// convert. A tenant's stored settings (TenantService) win over every default flag.
    #[arg(long, env = "CRM_METRICS_BASE_CURRENCY")]
    pub base_currency: Option<String>,

    /// The reporting currency (ISO 4217) of tenants that stored no settings: money results are
    /// converted into it with the tenant's exchange rates unless a request names another.
    /// Unset: the data's own currency.
    #[arg(long, env = "CRM_METRICS_REPORTING_CURRENCY")]
    pub reporting_currency: Option<String>,

    /// The time zone (IANA) of tenants that stored no settings, used when a request names none.
    #[arg(long, env = "CRM_METRICS_TIME_ZONE", default_value = "UTC")]
    pub time_zone: String,

    /// The month (1-12) the fiscal year starts in, for tenants that stored no settings.
    #[arg(long, env = "CRM_METRICS_FISCAL_YEAR_START_MONTH", default_value_t = 1)]
    pub fiscal_year_start_month: u32,

    /// A reporting currency for one tenant that stored no settings, `tenant=EUR`; wins over
    /// --reporting-currency.
    #[arg(
        long = "tenant-currency",
        env = "CRM_METRICS_TENANT_CURRENCIES",
        value_delimiter = ','
    )]
    pub tenant_currencies: Vec<String>,

    /// Seconds kept computations (ComputeOnRecords, ComputeMetrics with save) are kept; older
    /// ones are not returned and are deleted, with the personal data kept beside them.
    #[arg(
        long,
        env = "CRM_METRICS_COMPUTATION_RETENTION_SECONDS",
        default_value_t = DEFAULT_COMPUTATION_RETENTION.as_secs()
    )]
    pub computation_retention_seconds: u64,

    /// Log format.
    #[arg(long, env = "CRM_METRICS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// OTLP/gRPC endpoint for traces (e.g. http://127.0.0.1:4317). Unset: no export.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// Caller identity and authorization.
    #[command(flatten)]
    pub auth: AuthConfig,
}

impl Config {
    /// The request limits.
    pub fn limits(&self) -> Limits {
        Limits {
            max_batch_records: self.max_batch_records,
            max_message_bytes: self.max_message_bytes,
            max_response_bytes: self.max_response_bytes,
            max_saved_result_bytes: self.max_saved_result_bytes,
        }
    }

    /// The tenant snapshots' memory budget in bytes.
    pub fn snapshot_budget_bytes(&self) -> usize {
        self.snapshot_memory_mib.saturating_mul(1024 * 1024)
    }

    /// How long a queued computation may wait for a slot.
    pub fn admission_wait(&self) -> Duration {
        Duration::from_millis(self.admission_wait_ms)
    }

    /// Every flag at its default, whatever the environment says: the flags' own defaults are
    /// the one place defaults are written. An error only if a flag were declared required.
    pub fn defaults() -> Result<Config, clap::Error> {
        let command = <Config as clap::Args>::augment_args(clap::Command::new("crm-metrics"))
            .mut_args(|arg| arg.env(None::<&str>));
        let matches = command.try_get_matches_from(["crm-metrics"])?;
        <Config as clap::FromArgMatches>::from_arg_matches(&matches)
    }

    /// A configuration for tests and embedding: every flag at its default, on `database_url`,
    /// serving on `listen` with the admin port on any free loopback port, and no drain delay
    /// (callers that test draining set one).
    pub fn for_database(database_url: String, listen: SocketAddr) -> Result<Config, clap::Error> {
        Ok(Config {
            listen,
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: Some(database_url),
            drain_delay_seconds: 0,
            ..Config::defaults()?
        })
    }
}

#[cfg(test)]
#[path = "tests/config.rs"]
mod tests;
