//! The link server: Confluent's Admin REST API v3 (the cluster-linking, cluster and topic paths)
//! over the cluster links of one local Kafka cluster.
//!
//! - [`links`]: [`LinkManager`], the links of the local cluster, kept in its state topic, each
//!   run by a mirroring engine or a pusher;
//! - `record`: the stored link record, which the manager and the pusher both read;
//! - [`source_initiated`]: links whose destination opens no connection: the records the two
//!   sides exchange, and the source side's pusher;
//! - [`configs`]: the link configs we know, their types, ranges, defaults and secrets
//!   ([`iso8601`]: the timestamps `mirror.start.offset.spec` may name; [`configs_doc`]: the table
//!   as `docs/link-configs.md`);
//! - [`secrets`]: sensitive configs encrypted at rest;
//! - [`http`]: the HTTP routes, in Confluent's JSON shapes (`clusterlink_rest_v3`) and error
//!   bodies, health, metrics ([`metrics`]: every metric the server exposes, through
//!   `prometheus-client`) and `/openapi.yaml`;
//! - [`listener`]: the accept loop (plain or TLS, see [`tls`]), per-connection deadlines and
//!   the limits of [`ServeOptions`];
//! - `common`: small helpers all of them use.
//!
//! Confluent's API is the contract: tooling written for Confluent Server (CFK, scripts using
//! curl) must work against this server unchanged, so shapes, status codes and error codes follow
//! `confluent-rest-v3-clusterlinking.yaml`; `openapi.yaml` in this crate documents what we serve.

mod common;
pub mod configs;
pub mod configs_doc;
pub mod http;
pub mod iso8601;
pub mod links;
pub mod listener;
pub mod metrics;
mod record;
pub mod secrets;
pub mod source_initiated;
pub mod tls;

pub use http::router;
pub use links::{LinkError, LinkManager, ManagerOptions};
pub use listener::{serve_with, Limits, ServeOptions};
pub use metrics::ServerMetrics;

/// Serves the API on `listener` over plain HTTP, open to anyone, with the default limits, until
/// `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    manager: LinkManager,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, manager, ServeOptions::default(), shutdown).await
}
