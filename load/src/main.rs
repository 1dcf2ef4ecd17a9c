//! `crm-load`: the load generator and same-run baselines (see BENCHMARKS.md and `scripts/bench`).

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match crm_metrics_load::run(crm_metrics_load::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crm-load: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
