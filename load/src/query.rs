//! `crm-load query`, `raw-query`, `health` and `verify`: compute requests against the service,
//! their SQL twins straight against PostgreSQL, and a trivial unary call with no database, all
//! paced the same way; and a check that the service and the SQL agree.

use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};
use sqlx::{PgPool, Row};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use super::dataset::tenant_id;
use super::runner::{Outcome, Pace, run};
use super::scenarios::{Counts, Scenario, raw_counts};
use super::stats::print_report;
use crm_metrics_api::metrics_service_client::MetricsServiceClient;

/// How hard and how long to call.
#[derive(Debug, Clone, Args)]
pub struct PaceArgs {
    /// Callers in a closed loop (ignored with --rate).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Calls per second in an open loop; unset: closed loop.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Most calls in flight in the open loop.
    #[arg(long, default_value_t = 4096)]
    pub max_in_flight: usize,
    /// Seconds to issue calls for.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Closed loop only: stop once this many calls have started, even before the duration ends.
    #[arg(long)]
    pub calls: Option<u64>,
    /// Seconds after which a call counts as the error `timeout`.
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
}

impl PaceArgs {
    fn pace(&self) -> Pace {
        match self.rate {
            Some(rate) => Pace::Open {
                rate,
                max_in_flight: self.max_in_flight,
            },
            None => Pace::Closed {
                concurrency: self.concurrency.max(1),
                calls: self.calls.unwrap_or(u64::MAX),
            },
        }
    }

    fn durations(&self) -> Result<(Duration, Duration), String> {
        let ok = |s: f64| s.is_finite() && s > 0.0 && s < 86_400.0;
        if !ok(self.duration) || !ok(self.timeout) || self.rate.is_some_and(|r| !ok(r)) {
            return Err("--duration, --timeout and --rate must be positive".to_owned());
        }
        Ok((
            Duration::from_secs_f64(self.duration),
            Duration::from_secs_f64(self.timeout),
        ))
    }
}

/// The tenants calls pick from.
#[derive(Debug, Clone, Args)]
pub struct TenantArgs {
    /// Tenant ids are `<prefix>-001`, ….
    #[arg(long, default_value = "bench")]
    pub tenant_prefix: String,
    /// Calls spread over tenants 1..=tenants (1 = every call to the same tenant).
    #[arg(long, default_value_t = 1)]
    pub tenants: u32,
    /// Take the tenants in turn instead of spreading calls: call n goes to tenant
    /// `n % tenants + 1` and asks the scenario's request `n / tenants`, so the first
    /// `tenants × 12` calls of `catalog-mix` ask every metric of the mix of every tenant once (a
    /// warm-up that leaves no tenant-kind out).
    #[arg(long)]
    pub sweep: bool,
}

impl TenantArgs {
    /// The tenant of call `n`: spread evenly but not in lockstep with the scenario's rotation
    /// (or, with `--sweep`, in turn).
    fn pick(&self, n: u64) -> String {
        let tenants = u64::from(self.tenants.max(1));
        let spread = if self.sweep {
            n
        } else {
            n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32
        };
        tenant_id(&self.tenant_prefix, (spread % tenants) as u32 + 1)
    }

    /// The scenario's request index for call `n`: `n`, or with `--sweep` the round of turns.
    fn request_index(&self, n: u64) -> u64 {
        if self.sweep {
            n / u64::from(self.tenants.max(1))
        } else {
            n
        }
    }
}

/// `crm-load query`.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// The service.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub address: String,
    /// What to ask.
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// With `catalog-mix`: ask only this metric of the mix (to measure one metric's cost).
    #[arg(long)]
    pub metric: Option<String>,
    #[command(flatten)]
    pub tenants: TenantArgs,
    #[command(flatten)]
    pub pace: PaceArgs,
}

/// `crm-load raw-query`.
#[derive(Debug, Clone, Args)]
pub struct RawQueryArgs {
    /// The service's database.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// Whose SQL twin to run.
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    #[command(flatten)]
    pub tenants: TenantArgs,
    #[command(flatten)]
    pub pace: PaceArgs,
}

/// `crm-load health`.
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// The service.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub address: String,
    #[command(flatten)]
    pub pace: PaceArgs,
}

/// `crm-load verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The service.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub address: String,
    /// The service's database.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    #[command(flatten)]
    pub tenants: TenantArgs,
}

/// Runs `crm-load query`.
pub async fn run_service(args: QueryArgs) -> Result<(), String> {
    let (duration, timeout) = args.pace.durations()?;
    let client = MetricsServiceClient::new(super::connect(&args.address).await?);
    let (scenario, tenants) = (args.scenario, args.tenants.clone());
    let only = match &args.metric {
        Some(metric) => Some(scenario.mix_position(metric)?),
        None => None,
    };
    let outcome = run(args.pace.pace(), duration, timeout, move |n| {
        let mut client = client.clone();
        let request = scenario.request(tenants.pick(n), only.unwrap_or(tenants.request_index(n)));
        async move {
            client
                .compute_metrics(request)
                .await
                .map(drop)
                .map_err(|status| format!("{:?}", status.code()))
        }
    })
    .await;
    report("service", Some(args.scenario), &args.pace, &outcome)
}

/// Runs `crm-load raw-query`.
pub async fn run_raw(args: RawQueryArgs) -> Result<(), String> {
    let (duration, timeout) = args.pace.durations()?;
    let sql = args
        .scenario
        .raw_sql()
        .ok_or_else(|| format!("scenario {:?} has no SQL twin", args.scenario))?;
    let pool = pool(&args.database_url, &args.pace).await?;
    let (window, tenants) = (args.scenario.window(), args.tenants.clone());
    let outcome = run(args.pace.pace(), duration, timeout, move |n| {
        let (pool, tenant) = (pool.clone(), tenants.pick(n));
        async move { raw_rows(&pool, sql, &tenant, window).await.map(drop) }
    })
    .await;
    report("raw_sql", Some(args.scenario), &args.pace, &outcome)
}

/// Runs `crm-load health`.
pub async fn run_health(args: HealthArgs) -> Result<(), String> {
    let (duration, timeout) = args.pace.durations()?;
    let client = HealthClient::new(super::connect(&args.address).await?);
    let outcome = run(args.pace.pace(), duration, timeout, move |_| {
        let mut client = client.clone();
        async move {
            client
                .check(HealthCheckRequest::default())
                .await
                .map(drop)
                .map_err(|status| format!("{:?}", status.code()))
        }
    })
    .await;
    report("health", None, &args.pace, &outcome)
}

/// Runs `crm-load verify`: every scenario with a SQL twin, for each tenant.
pub async fn run_verify(args: VerifyArgs) -> Result<(), String> {
    let mut client = MetricsServiceClient::new(super::connect(&args.address).await?);
    let pool = pool(&args.database_url, &PaceArgs::single()).await?;
    let mut checked = 0u64;
    let mut mismatches = Vec::new();
    for scenario in Scenario::ALL {
        let Some(sql) = scenario.raw_sql() else {
            continue;
        };
        for number in 1..=args.tenants.tenants.max(1) {
            let tenant = tenant_id(&args.tenants.tenant_prefix, number);
            let response = client
                .compute_metrics(scenario.request(tenant.clone(), 0))
                .await
                .map_err(|status| format!("{scenario:?} for {tenant}: {status}"))?
                .into_inner();
            let service = scenario.service_counts(&response);
            let raw = raw_counts(raw_rows(&pool, sql, &tenant, scenario.window()).await?);
            checked += service.len() as u64;
            if service != raw || service.is_empty() {
                mismatches.push(json!({
                    "scenario": format!("{scenario:?}"), "tenant": tenant,
                    "service": counts_json(&service), "raw_sql": counts_json(&raw),
                }));
            }
        }
    }
    let report = json!({
        "command": "verify", "values_compared": checked,
        "agree": mismatches.is_empty(), "mismatches": mismatches,
    });
    print_report(
        &format!(
            "verify: {checked} win-rate values compared, {} mismatches",
            mismatches.len()
        ),
        &report,
    );
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err("the service and the SQL twins disagree".to_owned())
    }
}

fn counts_json(counts: &Counts) -> Value {
    json!(counts)
}

async fn pool(database_url: &str, pace: &PaceArgs) -> Result<PgPool, String> {
    let connections = match pace.pace() {
        Pace::Closed { concurrency, .. } => concurrency,
        // An open loop may have many calls in flight; they queue for connections as the
        // service's calls queue for its pool.
        Pace::Open { .. } => pace.concurrency,
    };
    crate::database(
        database_url,
        u32::try_from(connections.max(1)).unwrap_or(u32::MAX),
    )
    .await
}

/// Runs a SQL twin and decodes its rows.
async fn raw_rows(
    pool: &PgPool,
    sql: &'static str,
    tenant: &str,
    (start, end): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
) -> Result<Vec<(String, i64, i64)>, String> {
    let rows = sqlx::query(sql)
        .bind(tenant)
        .bind(start)
        .bind(end)
        .fetch_all(pool)
        .await
        .map_err(|error| format!("database: {error}"))?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("key")?,
                row.try_get("won")?,
                row.try_get("closed")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(|error| format!("decoding: {error}"))
}

fn report(
    target: &str,
    scenario: Option<Scenario>,
    pace: &PaceArgs,
    outcome: &Outcome,
) -> Result<(), String> {
    let samples = &outcome.samples;
    let latency = samples.latency_json();
    let mut report = json!({
        "command": "query",
        "target": target,
        "scenario": scenario.map(|s| format!("{s:?}")),
        "duration_s": pace.duration,
        "requests": samples.completed(),
        "qps": (outcome.per_second() * 10.0).round() / 10.0,
        "latency_ms": latency,
        "errors": samples.errors_json(),
    });
    if let (Value::Object(fields), Value::Object(pace)) = (&mut report, pace.pace().json()) {
        fields.extend(pace);
        if let Some(lag) = samples.send_lag_json() {
            fields.insert("send_lag_ms".to_owned(), lag);
        }
    }
    print_report(
        &format!(
            "{target} {}: {} calls, {:.1}/s, p50 {} ms, p99 {} ms, {} errors",
            scenario.map(|s| format!("{s:?}")).unwrap_or_default(),
            samples.completed(),
            outcome.per_second(),
            latency["p50"],
            latency["p99"],
            samples.failed()
        ),
        &report,
    );
    Ok(())
}

impl PaceArgs {
    /// One caller, for checks.
    fn single() -> PaceArgs {
        PaceArgs {
            concurrency: 1,
            rate: None,
            max_in_flight: 1,
            duration: 1.0,
            calls: None,
            timeout: 60.0,
        }
    }
}

#[cfg(test)]
#[path = "tests/query.rs"]
mod tests;
