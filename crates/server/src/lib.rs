//! The link server: Confluent's Admin REST API v3 (the cluster-linking, cluster and topic paths)
//! over the cluster links of one local Kafka cluster.
//!
//! - [`configs`]: the link configs we know, their types, ranges, defaults and secrets;
//! - [`links`]: [`LinkManager`], the links of the local cluster, kept in its state topic, each
//!   running one mirroring engine;
//! - [`http`]: the HTTP routes, Confluent's JSON shapes and error bodies, health and metrics.
//!
//! Confluent's API is the contract: tooling written for Confluent Server (CFK, scripts using
//! curl) must work against this server unchanged, so shapes, status codes and error codes follow
//! `confluent-rest-v3-clusterlinking.yaml`; `openapi.yaml` in this crate documents what we serve.

pub mod configs;
pub mod http;
pub mod links;
pub mod secrets;
pub mod source_initiated;

pub use http::{metrics_text, router};
pub use links::{LinkError, LinkManager, ManagerOptions};

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    manager: LinkManager,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(manager))
        .with_graceful_shutdown(shutdown)
        .await
}
