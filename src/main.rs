//! The `crm-metrics` binary: parse configuration, start telemetry, build the service, serve until
//! SIGTERM/SIGINT, drain, exit 0.

use clap::Parser;
use crm_metrics::config::{Cli, Command};
use crm_metrics::startup::Application;
use crm_metrics::{shutdown, telemetry};
use crm_metrics_demo as demo;

/// mimalloc instead of the system allocator: ingestion and evaluation allocate many small,
/// short-lived values across threads, where glibc's malloc spent a fifth of the service's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Demo(args)) = cli.command {
        return match demo::run(args).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("crm-metrics demo: {error}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let config = cli.serve;
    let telemetry = match telemetry::init(&config) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("crm-metrics: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = match Application::build(config).await {
        Ok(application) => application.run_until_stopped(shutdown::signal()).await,
        Err(error) => Err(error),
    };
    telemetry.shutdown();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "crm-metrics stopped");
            eprintln!("crm-metrics: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
