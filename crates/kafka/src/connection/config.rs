//! The settings of one connection: identity, timeouts, the response size limit, and security.

use std::time::Duration;

use super::connect_to::ConnectTo;
use crate::sasl::Sasl;
use crate::tls::Tls;

/// Settings of one connection.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Sent as `client.id` in every request header.
    pub client_id: String,
    /// How long to wait for the TCP connection and the version handshake.
    pub connect_timeout: Duration,
    /// How long to wait for any response.
    pub request_timeout: Duration,
    /// Largest response accepted; a larger frame is a protocol error, not an allocation.
    pub max_response_bytes: usize,
    /// TLS (`security.protocol` SSL or SASL_SSL); plaintext when `None`.
    pub tls: Option<Tls>,
    /// SASL authentication (`security.protocol` SASL_PLAINTEXT or SASL_SSL); none when `None`.
    pub sasl: Option<Sasl>,
    /// Where TCP connections to some broker addresses really go (`--connect-to`).
    pub connect_to: ConnectTo,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            client_id: "clusterlink".into(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_response_bytes: 256 << 20,
            tls: None,
            sasl: None,
            connect_to: ConnectTo::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::sasl::{Mechanism, Sasl};
    use crate::Error;

    #[test]
    fn debug_never_shows_the_password() {
        let sasl = Sasl::new(Mechanism::ScramSha256, "alice", "hunter2-secret");
        let shown = format!("{sasl:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("alice") && shown.contains("SCRAM-SHA-256"),
            "{shown}"
        );
        let config = super::ConnectionConfig {
            sasl: Some(sasl),
            ..Default::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
        let e = Error::Auth {
            broker: "b:9092".into(),
            mechanism: "SCRAM-SHA-256".into(),
            message: "SASL_AUTHENTICATION_FAILED (58)".into(),
        };
        assert!(!e.is_retriable());
        assert_eq!(e.category(), "auth");
        assert!(e.to_string().contains("SCRAM-SHA-256") && e.to_string().contains("b:9092"));
    }
}
