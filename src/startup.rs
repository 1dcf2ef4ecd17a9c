//! Building and running the server: database (given or embedded), migrations, the gRPC services
//! with health and reflection (also over gRPC-Web), per-call telemetry, the admin HTTP port,
//! load shedding (admission control of computations and a global request limit), and a bounded
//! graceful drain.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::server::NamedService;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::HealthReporter;

use crm_metrics_engine::calendar::parse_time_zone;
use crm_metrics_engine::money::Currency;

use crate::admission::AdmissionGate;
use crate::app::{App, TenantSettings};
use crate::auth::Access;
use crate::config::Config;
use crate::grpc::pb::ingest_service_server::IngestServiceServer;
use crate::grpc::pb::metrics_service_server::MetricsServiceServer;
use crate::grpc::pb::tenant_service_server::TenantServiceServer;
use crate::grpc::{
    DrainingHealth, IngestHandler, MetricsHandler, TenantHandler, keep_personal_data_apart, pb,
};
use crate::shutdown::Stopping;
use crate::storage::Store;
use crate::storage::embedded::EmbeddedPostgres;
use crate::telemetry::admin::{self, Readiness};
use crate::telemetry::metrics::{IngestCounter, Meters};
use crate::telemetry::rpc::RpcTelemetryLayer;
use crate::transport::{grpc_web_cors, server_tls};

/// How far past `max_message_bytes` a message is still decoded (to be refused with a clear error).
const DECODE_SLACK_BYTES: usize = 16 * 1024 * 1024;

/// How often the database is pinged for the health status.
const HEALTH_PROBE_INTERVAL: Duration = Duration::from_millis(500);

/// How long a ping may take before the database counts as unreachable. With the interval, health
/// turns NOT_SERVING within 1.5 s of the database failing, whether it refuses connections or
/// stops answering.
const HEALTH_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Database(String),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(String),
}

/// A built, not yet running, service.
pub struct Application {
    config: Config,
    listener: TcpListener,
    admin_listener: TcpListener,
    meters: Arc<Meters>,
    app: App,
    admission: AdmissionGate,
    access: Access,
    embedded: Option<EmbeddedPostgres>,
}

impl Application {
    /// Connects to (or starts) PostgreSQL, runs migrations and binds the listener.
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        let default_settings = default_settings(&config)?;
        let default_settings_base_missing = default_settings.base_currency.is_none();
        let tenant_currencies = parse_tenant_currencies(&config.tenant_currencies)?;
        let access =
            Access::from_config(&config.auth, config.listen).map_err(StartupError::Config)?;
        let admission = AdmissionGate::new(
            config.max_concurrent_computations,
            config.max_queued_computations,
            config.admission_wait(),
        )
        .map_err(|e| StartupError::Config(format!("--max-concurrent-computations {e}")))?;
        let (database_url, embedded) = match &config.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let embedded = EmbeddedPostgres::start(&config.data_dir)
                    .await
                    .map_err(|e| StartupError::Database(e.to_string()))?;
                tracing::info!(data_dir = %config.data_dir.display(), "started embedded postgresql");
                (embedded.database_url(), Some(embedded))
            }
        };
        let store = Store::connect(&database_url, config.db_max_connections)
            .await
            .map_err(|e| StartupError::Database(format!("cannot connect to the database: {e}")))?;
        store
            .migrate()
            .await
            .map_err(|e| StartupError::Database(format!("migrations failed: {e}")))?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartupError::Listen {
                    address: config.listen,
                    source,
                })?;
        let admin_listener = TcpListener::bind(config.admin_listen)
            .await
            .map_err(|source| StartupError::Listen {
                address: config.admin_listen,
                source,
            })?;
        let meters =
            Arc::new(Meters::new(config.otlp_endpoint.as_deref()).map_err(StartupError::Config)?);
        let app = App::new(store, config.limits(), config.snapshot_budget_bytes())
            .with_default_settings(default_settings, tenant_currencies)
            .with_computation_retention(Duration::from_secs(config.computation_retention_seconds))
            .with_ingest_counter(IngestCounter::new(meters.meter()));
        meters.observe_service(&app, &admission);
        // Before serving, so erasure reaches every kept computation's personal data. A failure
        // must not keep the service down: it is logged, and every sweep tries again.
        match keep_personal_data_apart(&app).await {
            Ok(0) => {}
            Ok(cleaned) => tracing::info!(cleaned, "kept computations' personal data moved apart"),
            Err(error) => tracing::error!(
                %error,
                "moving kept computations' personal data apart failed; erasure may miss it until a sweep succeeds"
            ),
        }
        if default_settings_base_missing {
            tracing::warn!(
                "no --base-currency: tenants without stored settings convert money only between \
                 currencies that have exchange rates of their own; set the currency their rates \
                 convert into with --base-currency or UpdateTenantSettings"
            );
        }
        Ok(Application {
            config,
            listener,
            admin_listener,
            meters,
            app,
            admission,
            access,
            embedded,
        })
    }

    /// The application the server runs (tests read its snapshot counters).
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The address the server listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.config.listen)
    }

    /// The address of the admin HTTP port (useful with port 0).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_listener
            .local_addr()
            .unwrap_or(self.config.admin_listen)
    }

    /// Serves until `shutdown` resolves, then drains: health turns NOT_SERVING at once, calls
    /// are still served for the drain delay, then no new connections are accepted and in-flight
    /// calls get the grace period to finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let Application {
            config,
            listener,
            admin_listener,
            meters,
            app,
            admission,
            access,
            embedded,
        } = self;
        let grpc_address = listener.local_addr().unwrap_or(config.listen);
        let admin_address = admin_listener.local_addr().unwrap_or(config.admin_listen);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopping = Stopping::new(stop_rx.clone());
        let reporter = HealthReporter::new();
        let health_service =
            HealthServer::new(DrainingHealth::new(reporter.clone(), stopping.clone()));
        let readiness = Arc::new(Readiness::default());
        set_all(&reporter, ServingStatus::Serving).await;
        let sweep = tokio::spawn(sweep_expired_computations(app.clone()));
        let probe = tokio::spawn(probe_database(
            app.store().clone(),
            reporter.clone(),
            readiness.clone(),
        ));
        let admin_server = tokio::spawn(admin::serve(
            admin_listener,
            meters.clone(),
            readiness.clone(),
        ));

        let reflection_of_every_service = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection_failed = |e| StartupError::Serve(format!("reflection: {e}"));
        let reflection = reflection_of_every_service()
            .build_v1()
            .map_err(reflection_failed)?
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd);
        // Python's grpcio-reflection and older tools speak v1alpha.
        let reflection_v1alpha = reflection_of_every_service()
            .build_v1alpha()
            .map_err(reflection_failed)?
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd);
        // A client with channel-wide compression must reach health and reflection too.
        let health_service = health_service
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd);
        // Messages somewhat over the configured limit are still decoded, so an oversize batch gets
        // a clear INVALID_ARGUMENT naming the limit rather than a transport error.
        let decode_limit = config.max_message_bytes.saturating_add(DECODE_SLACK_BYTES);
        let ingest =
            IngestServiceServer::new(IngestHandler::new(app.clone(), access.clone(), stopping))
                .max_decoding_message_size(decode_limit)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .send_compressed(CompressionEncoding::Gzip);
        let tenants = TenantServiceServer::new(TenantHandler::new(app.clone(), access.clone()))
            .max_decoding_message_size(decode_limit);
        let metrics =
            MetricsServiceServer::new(MetricsHandler::new(app.clone(), admission, access))
                .max_decoding_message_size(decode_limit)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .send_compressed(CompressionEncoding::Gzip);

        let drain_reporter = reporter.clone();
        let drain_readiness = readiness.clone();
        let drain_delay = Duration::from_secs(config.drain_delay_seconds);
        tokio::spawn(async move {
            shutdown.await;
            drain_readiness.start_draining();
            set_all(&drain_reporter, ServingStatus::NotServing).await;
            // Health says NOT_SERVING first; calls keep being served until balancers notice.
            tracing::info!(drain_delay_seconds = drain_delay.as_secs(), "draining");
            tokio::time::sleep(drain_delay).await;
            tracing::info!("refusing new connections");
            let _ = stop_tx.send(true);
        });
        let mut stop_for_server = stop_rx.clone();
        let telemetry = RpcTelemetryLayer::new(
            meters.meter(),
            &[
                pb::FILE_DESCRIPTOR_SET,
                tonic_health::pb::FILE_DESCRIPTOR_SET,
                tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            ],
            config.otlp_endpoint.is_some(),
        );
        let cors = grpc_web_cors(&config.grpc_web_origins)?;
        // HTTP/1.1 too, for gRPC-Web; HTTP/2 calls are unchanged.
        let mut builder = Server::builder().accept_http1(true);
        if let Some(tls) = server_tls(&config.auth)? {
            builder = builder
                .tls_config(tls)
                .map_err(|e| StartupError::Config(format!("TLS: {e}")))?;
        }
        let server = builder
            // Outermost: browsers' CORS preflights are answered, then gRPC-Web calls become gRPC
            // calls before anything else sees them.
            .layer(tower::util::option_layer(cors))
            .layer(tonic_web::GrpcWebLayer::new())
            // Outside the request limit, so calls it sheds are measured and logged too.
            .layer(telemetry)
            // A backstop over every call (computations are bounded by `admission` in the
            // handler): tonic answers tower's `Overloaded` with RESOURCE_EXHAUSTED.
            .layer(tower::ServiceBuilder::new().load_shed().layer(
                tower::limit::GlobalConcurrencyLimitLayer::new(config.max_concurrent_requests),
            ))
            .add_service(health_service)
            .add_service(reflection)
            .add_service(reflection_v1alpha)
            .add_service(ingest)
            .add_service(metrics)
            .add_service(tenants)
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                async move {
                    let _ = stop_for_server.wait_for(|stop| *stop).await;
                },
            );
        tracing::info!(
            address = %grpc_address,
            admin_address = %admin_address,
            max_concurrent_computations = config.max_concurrent_computations,
            max_queued_computations = config.max_queued_computations,
            admission_wait_ms = config.admission_wait_ms,
            "serving"
        );
        let grace = Duration::from_secs(config.shutdown_grace_seconds);
        let mut stop_for_grace = stop_rx;
        let result = tokio::select! {
            result = server => result.map_err(|e| StartupError::Serve(e.to_string())),
            () = async {
                let _ = stop_for_grace.wait_for(|stop| *stop).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(grace_seconds = grace.as_secs(), "grace period over; closing remaining calls");
                Ok(())
            }
        };
        probe.abort();
        sweep.abort();
        admin_server.abort();
        meters.shutdown();
        app.store().close().await;
        if let Some(embedded) = embedded {
            embedded.stop().await;
        }
        tracing::info!("stopped");
        result
    }
}

/// The settings of tenants that stored none, from the flags.
fn default_settings(config: &Config) -> Result<TenantSettings, StartupError> {
    let currency = |flag: &str, code: &Option<String>| match code {
        None => Ok(None),
        Some(code) => Currency::parse(code).map(Some).ok_or_else(|| {
            StartupError::Config(format!("{flag} '{code}' is not an ISO 4217 currency code"))
        }),
    };
    let time_zone = parse_time_zone(&config.time_zone).ok_or_else(|| {
        StartupError::Config(format!(
            "--time-zone '{}' is not an IANA time zone",
            config.time_zone
        ))
    })?;
    if !(1..=12).contains(&config.fiscal_year_start_month) {
        return Err(StartupError::Config(format!(
            "--fiscal-year-start-month {} is not a month (1-12)",
            config.fiscal_year_start_month
        )));
    }
    Ok(TenantSettings {
        base_currency: currency("--base-currency", &config.base_currency)?,
        reporting_currency: currency("--reporting-currency", &config.reporting_currency)?,
        time_zone,
        fiscal_year_start_month: config.fiscal_year_start_month,
    })
}

/// Parses `tenant=CUR` pairs.
fn parse_tenant_currencies(pairs: &[String]) -> Result<BTreeMap<String, Currency>, StartupError> {
    pairs
        .iter()
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (tenant, code) = pair.trim().split_once('=').unwrap_or((pair, ""));
            match Currency::parse(code.trim()) {
                Some(currency) if !tenant.trim().is_empty() => {
                    Ok((tenant.trim().to_owned(), currency))
                }
                _ => Err(StartupError::Config(format!(
                    "--tenant-currency '{pair}' is not tenant=CUR with an ISO 4217 code"
                ))),
            }
        })
        .collect()
}

async fn set_all(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in [
        <IngestServiceServer<IngestHandler> as NamedService>::NAME,
        <MetricsServiceServer<MetricsHandler> as NamedService>::NAME,
        <TenantServiceServer<TenantHandler> as NamedService>::NAME,
    ] {
        reporter.set_service_status(name, status).await;
    }
}

/// Deletes kept computations past the retention period, at the interval the app asks for.
async fn sweep_expired_computations(app: App) {
    loop {
        tokio::time::sleep(app.computation_sweep_interval()).await;
        match app.delete_expired_computations().await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "deleted expired computations"),
            Err(error) => tracing::warn!(%error, "deleting expired computations failed"),
        }
        // An older replica may still keep computations with their personal data inside.
        match keep_personal_data_apart(&app).await {
            Ok(0) => {}
            Ok(cleaned) => tracing::info!(cleaned, "kept computations' personal data moved apart"),
            Err(error) => tracing::warn!(%error, "moving personal data apart failed"),
        }
    }
}

/// Keeps the health status and readiness in step with the database: NOT_SERVING and not ready
/// while it is unreachable.
async fn probe_database(store: Store, reporter: HealthReporter, readiness: Arc<Readiness>) {
    let mut healthy = true;
    loop {
        tokio::time::sleep(HEALTH_PROBE_INTERVAL).await;
        if readiness.is_draining() {
            return;
        }
        let now_healthy = matches!(
            tokio::time::timeout(HEALTH_PROBE_TIMEOUT, store.ping()).await,
            Ok(Ok(()))
        );
        if now_healthy != healthy {
            healthy = now_healthy;
            readiness.set_database_reachable(healthy);
            if healthy {
                tracing::info!("database reachable again");
            } else {
                tracing::warn!("database unreachable");
            }
            let status = if healthy {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            set_all(&reporter, status).await;
        }
    }
}

#[cfg(test)]
#[path = "tests/startup.rs"]
mod tests;
