//! `crm-metrics-demo`, behind `crm-metrics demo`: generates a realistic data set for one tenant,
//! streams it into a running service through `StreamRecords`, and prints every metric of the
//! catalog for the last full quarter of the data beside the quarter before. The demo is a client:
//! it speaks to the service only through the public gRPC API (`crm-metrics-api`). Its data
//! generator ([`generate`]) also feeds the load generator.

pub mod generate;
mod report;

use std::io::{IsTerminal, Write};
use std::time::Instant;

use chrono::Months;
use clap::Args;
use tokio_stream::StreamExt;

use crm_metrics_api as pb;
use crm_metrics_api::ingest_service_client::IngestServiceClient;
use crm_metrics_api::metrics_service_client::MetricsServiceClient;
use crm_metrics_api::tenant_service_client::TenantServiceClient;

/// Options of `crm-metrics demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// The service to load and query: `http://host:port`, `https://…`, or `host:port`.
    #[arg(
        long,
        env = "CRM_METRICS_DEMO_ADDRESS",
        default_value = "http://127.0.0.1:50051"
    )]
    pub address: String,
    /// The tenant the data goes to.
    #[arg(long, default_value = "demo")]
    pub tenant: String,
    /// Size of the data set: 1.0 is about 2,000 customers and 79,000 records.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Seed of the generator: the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// How many tenants to load (`<tenant>-001`, `<tenant>-002`, … when more than one, each with
    /// its own seed); the report shows the first.
    #[arg(long, default_value_t = 1)]
    pub tenants: u32,
    /// Records per streamed batch.
    #[arg(long, default_value_t = 2000)]
    pub batch: usize,
}

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "cannot reach the service at {address}: {source} (start it with `cargo run --release`)"
    )]
    Connect {
        address: String,
        source: tonic::transport::Error,
    },
    #[error("the service refused a call: {0}")]
    Call(#[from] tonic::Status),
    #[error("batch {sequence} was rejected: {message}")]
    Rejected { sequence: u64, message: String },
    #[error("invalid option: {0}")]
    Option(String),
}

/// Runs the demo against a running service.
pub async fn run(args: DemoArgs) -> Result<(), DemoError> {
    if !(args.scale > 0.0 && args.scale <= 100.0) || args.batch == 0 || args.tenants == 0 {
        return Err(DemoError::Option(
            "--scale must be in (0, 100], --batch and --tenants at least 1".to_owned(),
        ));
    }
    let address = endpoint_address(&args.address);
    let channel = tonic::transport::Endpoint::from_shared(address)
        .map_err(|source| DemoError::Connect {
            address: args.address.clone(),
            source,
        })?
        .connect()
        .await
        .map_err(|source| DemoError::Connect {
            address: args.address.clone(),
            source,
        })?;
    let tenants = tenant_ids(&args.tenant, args.tenants);
    let mut spec = generate::Spec::default();
    for (i, tenant) in tenants.iter().enumerate() {
        spec = generate::Spec {
            seed: args.seed.wrapping_add(i as u64),
            scale: args.scale,
            ..generate::Spec::default()
        };
        let records = generate::generate(&spec);
        // The generated exchange rates convert into US dollars: that is the tenant's base.
        TenantServiceClient::new(channel.clone())
            .update_tenant_settings(pb::UpdateTenantSettingsRequest {
                tenant_id: tenant.clone(),
                settings: Some(pb::TenantSettings {
                    base_currency: "USD".to_owned(),
                    reporting_currency: "USD".to_owned(),
                    ..Default::default()
                }),
                etag: String::new(),
            })
            .await?;
        println!(
            "generated {} records for tenant '{tenant}' ({} to {})",
            records.len(),
            spec.start.date_naive(),
            spec.end.date_naive()
        );
        load(
            IngestServiceClient::new(channel.clone()),
            tenant,
            args.batch,
            records,
        )
        .await?;
    }
    let quarter_end = spec.end;
    let quarter_start = quarter_end
        .checked_sub_months(Months::new(3))
        .unwrap_or(quarter_end);
    report::print(
        MetricsServiceClient::new(channel),
        &tenants[0],
        quarter_start,
        quarter_end,
    )
    .await
}

/// Streams the records in batches, drawing a progress line as acknowledgements arrive.
async fn load(
    mut client: IngestServiceClient<tonic::transport::Channel>,
    tenant: &str,
    batch: usize,
    records: Vec<pb::CrmRecord>,
) -> Result<(), DemoError> {
    let total = records.len();
    let batches: Vec<pb::StreamRecordsRequest> = records
        .chunks(batch)
        .map(|chunk| pb::StreamRecordsRequest {
            tenant_id: tenant.to_owned(),
            records: chunk.to_vec(),
        })
        .collect();
    let sizes: Vec<usize> = batches.iter().map(|b| b.records.len()).collect();
    let started = Instant::now();
    let mut acks = client
        .stream_records(tokio_stream::iter(batches))
        .await?
        .into_inner();
    let mut done = 0usize;
    let on_terminal = std::io::stdout().is_terminal();
    while let Some(ack) = acks.next().await {
        let ack = ack?;
        if let Some(pb::stream_records_response::Result::Rejected(rejection)) = ack.result {
            return Err(DemoError::Rejected {
                sequence: ack.sequence,
                message: rejection.message,
            });
        }
        done += sizes.get(ack.sequence as usize).copied().unwrap_or(0);
        // A redrawn line belongs on a terminal only; logs get the summary below.
        if !on_terminal {
            continue;
        }
        let width = 40;
        let filled = done * width / total.max(1);
        let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
        print!(
            "\ringesting [{}{}] {done}/{total} records, {rate:.0} records/s",
            "#".repeat(filled),
            " ".repeat(width - filled)
        );
        let _ = std::io::stdout().flush();
    }
    if on_terminal {
        println!();
    }
    println!(
        "ingested {total} records in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// An instant as a protobuf timestamp (chrono's leap-second nanos clamped to protobuf's range).
pub fn timestamp_to_proto(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos().min(999_999_999)).unwrap_or(999_999_999),
    }
}

/// `host:port` as `http://host:port`; an address with a scheme is kept as it is.
pub fn endpoint_address(address: &str) -> String {
    if address.contains("://") {
        address.to_owned()
    } else {
        format!("http://{address}")
    }
}

/// The tenant ids to load: the name itself, or numbered names when there are several.
pub fn tenant_ids(name: &str, count: u32) -> Vec<String> {
    if count == 1 {
        vec![name.to_owned()]
    } else {
        (1..=count).map(|i| format!("{name}-{i:03}")).collect()
    }
}
