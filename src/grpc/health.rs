//! `grpc.health.v1.Health` whose watches end when the service stops accepting connections.
//!
//! tonic-health's watch streams never end by themselves, so one open watch would hold shutdown
//! for the whole grace period. Watchers see NOT_SERVING as soon as the drain starts; once the
//! service stops accepting connections their streams end, and they reconnect elsewhere.

use std::pin::Pin;

use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};
use tonic_health::pb::health_server::Health;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthReporter, HealthService};

use crate::shutdown::Stopping;

/// The health service, over the statuses `reporter` sets.
pub struct DrainingHealth {
    inner: HealthService,
    stopping: Stopping,
}

impl DrainingHealth {
    /// Answers with the statuses `reporter` sets; watches end once `stopping` fires.
    pub fn new(reporter: HealthReporter, stopping: Stopping) -> DrainingHealth {
        DrainingHealth {
            inner: HealthService::from_health_reporter(reporter),
            stopping,
        }
    }
}

#[tonic::async_trait]
impl Health for DrainingHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.inner.check(request).await
    }

    type WatchStream =
        Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send + 'static>>;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let mut statuses = self.inner.watch(request).await?.into_inner();
        let stopping = self.stopping.clone();
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        // Forwards statuses until the service stops or the watcher goes away.
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stopping.stopped() => return,
                    () = sender.closed() => return,
                    next = statuses.next() => {
                        let Some(status) = next else { return };
                        if sender.send(status).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}
