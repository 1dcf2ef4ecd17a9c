//! Shutdown signals: SIGTERM or SIGINT (Ctrl-C) start a graceful drain; [`Stopping`] tells
//! long-lived calls (streams, health watches) when the service stops accepting connections, so
//! they end instead of holding shutdown for the whole grace period.

/// Fires once the service stops accepting connections. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Stopping(tokio::sync::watch::Receiver<bool>);

impl Stopping {
    /// Follows `stop`, which turns `true` when the service stops accepting connections.
    pub fn new(stop: tokio::sync::watch::Receiver<bool>) -> Stopping {
        Stopping(stop)
    }

    /// Resolves when the service stops accepting connections (never, if its sender is gone
    /// without having fired).
    pub async fn stopped(&self) {
        let mut receiver = self.0.clone();
        if receiver.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Resolves when the process receives SIGTERM or SIGINT.
pub async fn signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("received SIGINT"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
