//! The admin HTTP port, apart from the gRPC port so that probes and scrapes never compete with
//! calls for the request limit, and so it can stay inside the cluster:
//! - `GET /livez`: 200 while the process serves; a database outage never fails it, so an
//!   orchestrator does not restart every replica while the database is down;
//! - `GET /readyz`: 200 while the database answers and the service is not draining, else 503
//!   with the reason (the gRPC health service keeps meaning the same);
//! - `GET /metrics`: the Prometheus text format of [`super::metrics::Meters`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use super::metrics::Meters;

/// What readiness depends on, set by the database probe and the drain.
#[derive(Debug)]
pub struct Readiness {
    database_reachable: AtomicBool,
    draining: AtomicBool,
}

impl Default for Readiness {
    fn default() -> Readiness {
        Readiness {
            database_reachable: AtomicBool::new(true),
            draining: AtomicBool::new(false),
        }
    }
}

impl Readiness {
    /// Records whether the last database ping succeeded.
    pub fn set_database_reachable(&self, reachable: bool) {
        self.database_reachable.store(reachable, Ordering::SeqCst);
    }

    /// Records that the drain has started; readiness never comes back.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether the drain has started.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// `Ok` when ready, else why not.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.is_draining() {
            Err("draining")
        } else if !self.database_reachable.load(Ordering::SeqCst) {
            Err("database unreachable")
        } else {
            Ok(())
        }
    }
}

#[derive(Clone)]
struct AdminState {
    meters: Arc<Meters>,
    readiness: Arc<Readiness>,
}

/// Serves the admin endpoints on `listener` until the task is dropped or aborted.
pub async fn serve(
    listener: TcpListener,
    meters: Arc<Meters>,
    readiness: Arc<Readiness>,
) -> std::io::Result<()> {
    let router = Router::new()
        .route("/livez", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(scrape))
        .with_state(AdminState { meters, readiness });
    axum::serve(listener, router).await
}

async fn ready(State(state): State<AdminState>) -> (StatusCode, String) {
    match state.readiness.check() {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")),
    }
}

async fn scrape(State(state): State<AdminState>) -> axum::response::Response {
    match state.meters.prometheus_text() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "metrics scrape failed");
            (StatusCode::INTERNAL_SERVER_ERROR, error).into_response()
        }
    }
}
