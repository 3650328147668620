//! One connection to one broker: the messenger, and how it is opened.
//!
//! A [`Connection`] owns correlation ids and pipelines: many requests can be in flight, each
//! caller waits for its own response, matched by correlation id. Frames are written by a single
//! writer task so that a caller that gives up (timeout, cancellation) can never leave half a
//! frame on the wire. Every request is sent at the highest version both sides support, capped by
//! what this client was built and tested for.
//!
//! A connection that breaks, times out or receives garbage is closed for good and fails every
//! pending request; the client above opens a new one.
//!
//! The files, bottom up (none imports one above it):
//! - `transport`: the byte stream: TCP, and TLS on it when the settings ask ([`Tls`]);
//! - `pending`: the requests waiting for an answer, by correlation id, and closing;
//! - `frame`: the wire framing: size-prefixed request frames out, response frames in (size
//!   bounded, header decoded, matched to its request);
//! - `versions`: which API versions this client speaks, and the one used with a broker;
//! - `messenger`: [`Connection`] itself, over any async stream: send, pipeline, decode;
//! - `authenticate`: SASL over a connection (SaslHandshake, SaslAuthenticate), carrying the
//!   tokens `crate::sasl` decides;
//! - `open`: [`Connection::connect`] (transport, then handshake) and [`Connection::over`] (any
//!   stream, then handshake): the handshake negotiates versions, then authenticates.
//!
//! Because the messenger runs over any `AsyncRead + AsyncWrite`, the framing is tested in memory
//! against a scripted peer (this module's tests), not only against brokers.

mod authenticate;
mod config;
mod connect_to;
pub(crate) mod frame;
mod messenger;
mod open;
mod pending;
mod transport;
mod versions;

#[cfg(test)]
mod tests;

pub use crate::tls::Tls;
pub use config::ConnectionConfig;
pub use connect_to::{ConnectTo, ConnectToError};
pub use messenger::Connection;
pub use versions::max_supported_version;
