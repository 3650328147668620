//! The byte stream under a connection: TCP (no Nagle delay), and TLS on it when the settings
//! ask. What comes out is a pair of halves the messenger reads and writes independently.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::config::ConnectionConfig;
use crate::error::{Error, Result};
use crate::tls::Tls;

/// The half of a stream responses are read from.
pub(super) type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
/// The half of a stream requests are written to.
pub(super) type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// Opens a stream to `broker` (`host:port`): TCP within the connect timeout (to the address
/// `connect_to` gives for it, if any), then the TLS handshake (its own connect timeout) when
/// the settings ask, checking the broker's name.
pub(super) async fn open(broker: &str, config: &ConnectionConfig) -> Result<(ReadHalf, WriteHalf)> {
    let (tls, connect_timeout) = (config.tls.as_ref(), config.connect_timeout);
    let conn_err = |message: String| Error::Connection {
        broker: broker.to_owned(),
        message,
    };
    let address = config.connect_to.target(broker);
    let stream = tokio::time::timeout(connect_timeout, TcpStream::connect(address))
        .await
        .map_err(|_| conn_err(format!("connect timed out after {connect_timeout:?}")))?
        .map_err(|e| conn_err(e.to_string()))?;
    stream
        .set_nodelay(true)
        .map_err(|e| conn_err(e.to_string()))?;
    match tls {
        // Plain TCP splits into owned halves, without the lock a generic split takes.
        None => {
            let (r, w) = stream.into_split();
            Ok((Box::new(r), Box::new(w)))
        }
        Some(Tls(tls)) => {
            let host = broker.rsplit_once(':').map_or(broker, |(h, _)| h);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let name = rustls::pki_types::ServerName::try_from(host.to_owned())
                .map_err(|e| conn_err(format!("TLS server name {host}: {e}")))?;
            let tls = tokio_rustls::TlsConnector::from(tls.clone());
            let stream = tokio::time::timeout(connect_timeout, tls.connect(name, stream))
                .await
                .map_err(|_| conn_err("TLS handshake timed out".into()))?
                .map_err(|e| conn_err(format!("TLS handshake: {e}")))?;
            let (r, w) = tokio::io::split(stream);
            Ok((Box::new(r), Box::new(w)))
        }
    }
}
