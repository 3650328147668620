//! A Kafka wire client for moving raw record batches between clusters.
//!
//! Layers, each only talking to the one below (the shape rskafka uses):
//! - [`records`]: record batches as bytes: headers, splitting, producer rewrite, codecs;
//! - `kafka_protocol` (the codec crate) types every request and response;
//! - [`connection`]: one TCP connection that owns correlation ids, pipelines requests and
//!   negotiates API versions; [`tls`] and [`sasl`] secure it (`security.protocol`);
//! - [`client`]: bootstrap, metadata, routing to leaders and coordinators, retries with backoff,
//!   and one typed method per Kafka API the product needs.
//!
//! Nothing here decides what to mirror; that is the mirroring engine's job.

pub mod client;
pub mod connection;
pub mod error;
pub mod records;
pub mod sasl;
pub mod tls;

pub use client::{Client, ClientConfig, Isolation, RetryPolicy};
pub use error::{Error, KafkaCode, ResponseError, Result};
/// The codec crate's message types, for callers of the raw routed `send_*` methods.
pub use kafka_protocol::messages;
