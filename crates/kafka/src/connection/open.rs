//! Opening a connection: a stream (TCP and TLS from `transport`, or any stream the caller
//! brings), the messenger on it, then the handshake before anyone else may use it: ApiVersions
//! (which versions to speak), then SASL when the settings ask. Each step has the connect
//! timeout; a connection whose handshake fails is dropped, which closes it. A SASL session with
//! a lifetime is remembered so that the pool replaces the connection before the broker closes it.

use std::time::Instant;

use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::StrBytes;
use tokio::io::{AsyncRead, AsyncWrite};

use super::authenticate::authenticate;
use super::config::ConnectionConfig;
use super::messenger::Connection;
use super::transport;
use super::versions::{max_supported_version, BrokerVersions};
use crate::error::{Error, ResponseError, Result};

/// The share of a SASL session's lifetime after which its connection is replaced.
const RENEW_AT_SHARE: f64 = 0.85;

impl Connection {
    /// Connects to `broker` (`host:port`), over TLS when `config.tls` says so, negotiates API
    /// versions and, with SASL settings, authenticates.
    pub async fn connect(broker: &str, config: ConnectionConfig) -> Result<Self> {
        let (read, write) = transport::open(broker, &config).await?;
        Connection::start(read, write, broker, config)
            .handshake()
            .await
    }

    /// Runs a connection over a stream that is already open (`broker` only names it in errors),
    /// then negotiates versions and, with SASL settings, authenticates. The stream is used as it
    /// is: `config.tls` is not applied to it.
    pub async fn over<S>(stream: S, broker: &str, config: ConnectionConfig) -> Result<Self>
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (read, write) = tokio::io::split(stream);
        Connection::start(read, write, broker, config)
            .handshake()
            .await
    }

    async fn handshake(mut self) -> Result<Self> {
        let broker = self.broker().to_owned();
        let conn_err = |message: &str| Error::Connection {
            broker: broker.clone(),
            message: message.to_owned(),
        };
        let timeout = self.config().connect_timeout;
        let versions = tokio::time::timeout(timeout, negotiate(&self))
            .await
            .map_err(|_| conn_err("ApiVersions handshake timed out"))??;
        self.set_broker_versions(versions);
        if let Some(sasl) = self.config().sasl.clone() {
            // The lifetime counts from before the exchange (the broker's clock started no
            // earlier); renewed at 85 % of it, where Kafka's own clients re-authenticate.
            let started = Instant::now();
            let lifetime = tokio::time::timeout(timeout, authenticate(&self, &sasl))
                .await
                .map_err(|_| conn_err("SASL authentication timed out"))??;
            self.set_renew_at(lifetime.map(|l| started + l.mul_f64(RENEW_AT_SHARE)));
        }
        Ok(self)
    }
}

/// ApiVersions at our highest version, falling back to v0 when the broker does not speak it.
async fn negotiate(conn: &Connection) -> Result<BrokerVersions> {
    let ours = max_supported_version(ApiKey::ApiVersions).unwrap_or(0);
    let req = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("clusterlink"))
        .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
    let body = conn.round_trip(ApiKey::ApiVersions, &req, ours).await?;
    // A broker that does not speak our version answers UNSUPPORTED_VERSION in the v0 layout,
    // listing what it does speak; the error code is the first field in every version.
    let code = if body.len() >= 2 {
        i16::from_be_bytes([body[0], body[1]])
    } else {
        -1
    };
    let resp = if code == ResponseError::UnsupportedVersion.code() {
        let retry = conn.round_trip(ApiKey::ApiVersions, &req, 0).await?;
        conn.decode::<ApiVersionsResponse>(retry, 0)?
    } else {
        conn.decode::<ApiVersionsResponse>(body, ours)?
    };
    Error::check(resp.error_code, None, || "ApiVersions".into())?;
    Ok(resp
        .api_keys
        .iter()
        .map(|k| (k.api_key, (k.min_version, k.max_version)))
        .collect())
}
