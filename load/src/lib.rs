//! `crm-metrics-load` (`crm-load`): the load generator and the same-run baselines behind
//! BENCHMARKS.md.
//!
//! It speaks to the service only through the generated gRPC clients, and to PostgreSQL only for
//! the baselines (raw ingest into the same tables, the SQL twins of metrics). Every run prints a
//! human summary and, as its last line, one JSON object with the figures.

pub mod dataset;
pub mod ingest;
pub mod query;
pub mod runner;
pub mod scenarios;
pub mod stats;

use clap::{Parser, Subcommand};
use crm_metrics::storage;
use tonic::transport::{Channel, Endpoint};

/// crm-load: drive crm-metrics and its baselines, and report throughput and latency as JSON.
#[derive(Debug, Parser)]
#[command(name = "crm-load", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: LoadCommand,
}

/// What to run.
#[derive(Debug, Subcommand)]
pub enum LoadCommand {
    /// Write a data set's tenants through StreamRecords or IngestRecords.
    Ingest(ingest::IngestArgs),
    /// Write the same rows straight into PostgreSQL (COPY or INSERT … UNNEST … ON CONFLICT).
    RawIngest(ingest::RawIngestArgs),
    /// ComputeMetrics requests of one scenario, closed or open loop.
    Query(query::QueryArgs),
    /// The SQL twin of a scenario, straight against PostgreSQL, paced the same way.
    RawQuery(query::RawQueryArgs),
    /// gRPC health checks (no database), paced the same way.
    Health(query::HealthArgs),
    /// Check that the service's answers equal the SQL twins' for every tenant given.
    Verify(query::VerifyArgs),
    /// Apply the service's migrations to a database (for the raw-ingest baselines).
    Migrate {
        /// The database.
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
    },
}

/// Runs a parsed command.
pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        LoadCommand::Ingest(args) => ingest::run_service(args).await,
        LoadCommand::RawIngest(args) => ingest::run_raw(args).await,
        LoadCommand::Query(args) => query::run_service(args).await,
        LoadCommand::RawQuery(args) => query::run_raw(args).await,
        LoadCommand::Health(args) => query::run_health(args).await,
        LoadCommand::Verify(args) => query::run_verify(args).await,
        LoadCommand::Migrate { database_url } => {
            let pool = database(&database_url, 1).await?;
            storage::migrate(&pool)
                .await
                .map_err(|error| format!("migrating: {error}"))
        }
    }
}

/// A pool of at most `connections` to the database (TCP_NODELAY on, as the service's).
pub async fn database(database_url: &str, connections: u32) -> Result<sqlx::PgPool, String> {
    storage::nodelay::pool_options()
        .max_connections(connections.max(1))
        .acquire_timeout(std::time::Duration::from_secs(60))
        .connect(database_url)
        .await
        .map_err(|error| format!("connecting to the database: {error}"))
}

/// A channel to the service (one HTTP/2 connection; calls multiplex over it).
pub async fn connect(address: &str) -> Result<Channel, String> {
    Endpoint::from_shared(address.to_owned())
        .map_err(|error| format!("bad address {address}: {error}"))?
        .connect()
        .await
        .map_err(|error| format!("cannot reach the service at {address}: {error}"))
}
