//! The Kubernetes control plane: controllers that reconcile `ClusterLink` and `KafkaTopic`
//! resources (and follow the `KafkaRestClass` and `Secret` objects they refer to) through the
//! Admin REST API of a link server — ours, or a Confluent Server, which speaks the same API.
//!
//! The decisions live in `clusterlink_reconcile` (shared with `clusterlink apply`); this crate
//! only adds Kubernetes: watches and caches ([`controller`], and `kafkas` for the CFK and
//! Strimzi `Kafka` resources that give clusters' endpoints), finalizers, status by server-side
//! apply, Events, leader election ([`leader`]) and Prometheus metrics ([`metrics`]).

pub mod controller;
pub mod error;
mod kafkas;
pub mod leader;
pub mod metrics;

use std::future::Future;
use std::net::SocketAddr;

pub use controller::{ControllerConfig, LINK_FINALIZER, MANAGER, TOPIC_FINALIZER};
pub use error::Error;
pub use leader::LeaseConfig;
pub use metrics::Metrics;

use futures::FutureExt;
use kube::Client;
use tracing::{info, warn};

/// Everything the operator needs to run.
#[derive(Clone, Debug)]
pub struct OperatorConfig {
    /// The controllers' settings.
    pub controllers: ControllerConfig,
    /// Leader election; `None` acts at once (one replica only).
    pub lease: Option<LeaseConfig>,
    /// Where to serve `/metrics`, `/healthz` and `/readyz`.
    pub metrics_listen: Option<SocketAddr>,
}

/// Runs the operator until `shutdown` completes or leadership is lost (then it returns an
/// error: the process should exit and be restarted as a candidate).
pub async fn run(
    client: Client,
    config: OperatorConfig,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> Result<(), Error> {
    let shutdown = shutdown.boxed().shared();
    if let Some(addr) = config.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Lease(format!("metrics listener {addr}: {e}")))?;
        let router = metrics.router();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(stop)
                .await
            {
                warn!(error = %e, "metrics server stopped");
            }
        });
        info!(%addr, "serving /metrics, /healthz and /readyz");
    }
    let mut leadership = match config.lease {
        Some(lease) => {
            let acquired = tokio::select! {
                l = leader::acquire(client.clone(), lease) => Some(l?),
                _ = shutdown.clone() => None,
            };
            match acquired {
                Some(l) => Some(l),
                None => return Ok(()),
            }
        }
        None => None,
    };
    metrics.set_leader(true);
    let (lost_tx, lost_rx) = tokio::sync::oneshot::channel::<()>();
    let stop = {
        let shutdown = shutdown.clone();
        async move {
            tokio::select! {
                _ = shutdown => {}
                _ = lost_rx => {}
            }
        }
    };
    let watch_lease = async {
        match leadership.as_mut() {
            Some(l) => {
                l.lost().await;
                let _ = lost_tx.send(());
                true
            }
            None => {
                futures::future::pending::<()>().await;
                false
            }
        }
    };
    let controllers =
        controller::run_controllers(client, config.controllers, metrics.clone(), stop);
    let (result, lost) = tokio::select! {
        r = controllers => (r, false),
        lost = watch_lease => {
            // Leadership lost: the controllers (dropped here) must not act any more; the
            // caller exits and restarts as a candidate.
            (Ok(()), lost)
        }
    };
    metrics.set_leader(false);
    if let Some(l) = leadership {
        l.release();
    }
    if lost {
        return Err(Error::Lease("leadership lost".into()));
    }
    result
}
