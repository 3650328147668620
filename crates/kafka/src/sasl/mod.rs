//! SASL authentication to a broker (`security.protocol` SASL_PLAINTEXT or SASL_SSL): PLAIN and
//! SCRAM-SHA-256 / SCRAM-SHA-512, from Kafka's client settings.
//!
//! It is a module of its own because it is the one place where passwords live: reading them
//! from `sasl.jaas.config`, holding them ([`Sasl`], whose `Debug` redacts the password), and
//! spending them in the exchange's tokens, so that "no secret in a log, an error or a status" is
//! checked here and nowhere else. Errors name the setting, the broker and the mechanism, never a
//! value read from `sasl.jaas.config`.
//!
//! Nothing here does I/O, so every part is tested on its own; the files, from settings to tokens:
//! - `settings`: [`Mechanism`] and [`Sasl`] (mechanism and credentials);
//! - `configs`: [`from_configs`]: `security.protocol`, `sasl.mechanism` and `sasl.jaas.config`
//!   into a [`Sasl`], with `jaas` reading Kafka's JAAS syntax (one `PlainLoginModule` or
//!   `ScramLoginModule` entry with `username` and `password` options, quoted or not,
//!   `;`-terminated);
//! - `scram`: SCRAM (RFC 5802 with RFC 7677's SHA-256; SHA-512 as Kafka defines it) as a pure
//!   state machine, tested against RFC 7677's vector, which checks the server's signature: a
//!   broker that cannot prove it knows the password is refused, not trusted;
//! - `exchange`: one exchange, mechanism by mechanism (PLAIN's single token, RFC 4616, or
//!   SCRAM's two): tokens out, server answers in.
//!
//! Carrying the tokens to a broker (SaslHandshake v1, then SaslAuthenticate round trips, after
//! ApiVersions and before the connection is handed out) is the connection's handshake
//! (`crate::connection`), which sits above this module: SASL does not know connections.
//!
//! An authentication failure is [`crate::Error::Auth`]: never retried, because the same
//! credentials would fail again.

mod configs;
mod exchange;
mod jaas;
mod scram;
mod settings;

pub use configs::{from_configs, protocol_uses_sasl, SaslConfigError};
pub(crate) use exchange::Exchange;
pub(crate) use scram::printable;
pub use settings::{Mechanism, Sasl, SUPPORTED_MECHANISMS};
