//! A Kafka wire client for moving raw record batches between clusters.
//!
//! Layers, bottom up, each only talking to the ones below (the shape rskafka uses: protocol,
//! messenger, client):
//! - [`records`]: record batches as bytes: headers, splitting, producer rewrite, codecs,
//!   read_committed filtering;
//! - `kafka_protocol` (the codec crate) types every request and response;
//! - [`tls`] and [`sasl`]: the security settings, read from Kafka's `security.protocol`, `ssl.*`
//!   and `sasl.*` configs; SASL's mechanisms are pure state machines (no I/O);
//! - [`connection`]: one connection to one broker: the transport (TCP, TLS on it), the framing,
//!   the messenger that owns correlation ids and pipelines requests over any async stream, and
//!   the handshake (version negotiation, then SASL) that opens it;
//! - [`client`]: the [`Client`] handle: bootstrap, metadata, routing to leaders and coordinators,
//!   retries with backoff, and one typed method per Kafka API the product needs, split by role
//!   (fetch, produce, offsets, admin, groups).
//!
//! [`error`] is the one error type of every layer. Nothing here decides what to mirror; that is
//! the mirroring engine's job.

pub mod client;
pub mod connection;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod records;
pub mod sasl;
pub mod tls;

pub use client::{Client, ClientConfig, Isolation, RetryPolicy};
pub use error::{Error, KafkaCode, ResponseError, Result};
/// The codec crate's message types, for callers of the raw routed `send_*` methods.
pub use kafka_protocol::messages;
