//! One TCP connection to one broker: the messenger.
//!
//! It owns correlation ids and pipelines: many requests can be in flight, each caller waits for
//! its own response, matched by correlation id. Frames are written by a single writer task so
//! that a caller that gives up (timeout, cancellation) can never leave half a frame on the wire.
//! On connect it negotiates API versions and, with SASL settings, authenticates (`sasl`) before
//! the connection is handed out; afterwards every request is sent at the highest
//! version both sides support, capped by what this client was built and tested for.
//!
//! A connection that breaks, times out or receives garbage is closed for good and fails every
//! pending request; the client above opens a new one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::error::{Error, Result};
use crate::sasl::Sasl;

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
}

/// TLS settings of a connection: rustls' client configuration (trust anchors, client
/// certificate, hostname verification).
#[derive(Clone)]
pub struct Tls(pub Arc<rustls::ClientConfig>);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            client_id: "clusterlink".into(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_response_bytes: 256 << 20,
            tls: None,
            sasl: None,
        }
    }
}

/// The highest version of each API this client is built for. Higher versions exist, but some
/// switch from topic names to topic ids (Fetch 13, Produce 13, OffsetCommit 10), which the rest
/// of the client does not speak yet.
pub fn max_supported_version(api: ApiKey) -> Option<i16> {
    let cap = match api {
        ApiKey::Produce => 12,
        ApiKey::Fetch => 12,
        ApiKey::ListOffsets => 9,
        ApiKey::Metadata => 12,
        ApiKey::OffsetCommit => 9,
        ApiKey::OffsetFetch => 7,
        ApiKey::FindCoordinator => 4,
        ApiKey::ListGroups => 5,
        ApiKey::DescribeGroups => 5,
        ApiKey::ApiVersions => 3,
        ApiKey::CreateTopics => 7,
        ApiKey::DeleteTopics => 6,
        ApiKey::DeleteRecords => 2,
        ApiKey::InitProducerId => 5,
        ApiKey::DescribeAcls => 3,
        ApiKey::CreateAcls => 3,
        ApiKey::DeleteAcls => 3,
        ApiKey::DescribeConfigs => 4,
        ApiKey::CreatePartitions => 3,
        ApiKey::IncrementalAlterConfigs => 1,
        ApiKey::DescribeCluster => 1,
        ApiKey::SaslHandshake => 1,
        ApiKey::SaslAuthenticate => 2,
        _ => return None,
    };
    Some(cap.min(api.valid_versions().max))
}

type Reply = oneshot::Sender<Result<Bytes>>;

struct Pending {
    api: ApiKey,
    version: i16,
    reply: Reply,
}

struct Shared {
    broker: String,
    pending: Mutex<HashMap<i32, Pending>>,
    closed: AtomicBool,
    /// Why the connection closed, for the requests that come after.
    close_reason: Mutex<Option<String>>,
}

impl Shared {
    fn close(&self, reason: &str) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        debug!(broker = %self.broker, reason, "closing connection");
        *self.close_reason.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.to_owned());
        let pending: Vec<Pending> = {
            let mut map = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            map.drain().map(|(_, p)| p).collect()
        };
        for p in pending {
            let _ = p.reply.send(Err(Error::Connection {
                broker: self.broker.clone(),
                message: reason.to_owned(),
            }));
        }
    }

    fn closed_error(&self) -> Error {
        let reason = self
            .close_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| "connection closed".into());
        Error::Connection {
            broker: self.broker.clone(),
            message: reason,
        }
    }
}

/// A connection to one broker; cheap to share behind an `Arc`.
pub struct Connection {
    shared: Arc<Shared>,
    writer: mpsc::Sender<Bytes>,
    next_correlation_id: AtomicI32,
    /// Broker's (min, max) per API key.
    versions: HashMap<i16, (i16, i16)>,
    config: ConnectionConfig,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("broker", &self.shared.broker)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.shared.close("connection dropped");
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Connection {
    /// Connects to `broker` (`host:port`) and negotiates API versions.
    pub async fn connect(broker: &str, config: ConnectionConfig) -> Result<Self> {
        let conn_err = |message: String| Error::Connection {
            broker: broker.to_owned(),
            message,
        };
        let stream = tokio::time::timeout(config.connect_timeout, TcpStream::connect(broker))
            .await
            .map_err(|_| {
                conn_err(format!(
                    "connect timed out after {:?}",
                    config.connect_timeout
                ))
            })?
            .map_err(|e| conn_err(e.to_string()))?;
        stream
            .set_nodelay(true)
            .map_err(|e| conn_err(e.to_string()))?;
        let (read, write): (ReadHalf, WriteHalf) = match &config.tls {
            None => {
                let (r, w) = stream.into_split();
                (Box::new(r), Box::new(w))
            }
            Some(Tls(tls)) => {
                let host = broker.rsplit_once(':').map_or(broker, |(h, _)| h);
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let name = rustls::pki_types::ServerName::try_from(host.to_owned())
                    .map_err(|e| conn_err(format!("TLS server name {host}: {e}")))?;
                let tls = tokio_rustls::TlsConnector::from(tls.clone());
                let stream =
                    tokio::time::timeout(config.connect_timeout, tls.connect(name, stream))
                        .await
                        .map_err(|_| conn_err("TLS handshake timed out".into()))?
                        .map_err(|e| conn_err(format!("TLS handshake: {e}")))?;
                let (r, w) = tokio::io::split(stream);
                (Box::new(r), Box::new(w))
            }
        };
        let shared = Arc::new(Shared {
            broker: broker.to_owned(),
            pending: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
            close_reason: Mutex::new(None),
        });
        let (tx, rx) = mpsc::channel::<Bytes>(64);
        let writer = tokio::spawn(write_loop(write, rx, shared.clone()));
        let reader = tokio::spawn(read_loop(read, shared.clone(), config.max_response_bytes));
        let mut conn = Connection {
            shared,
            writer: tx,
            next_correlation_id: AtomicI32::new(0),
            versions: HashMap::new(),
            config,
            tasks: vec![writer, reader],
        };
        let handshake = tokio::time::timeout(conn.config.connect_timeout, conn.negotiate());
        conn.versions = handshake
            .await
            .map_err(|_| conn_err("ApiVersions handshake timed out".into()))??;
        if let Some(sasl) = conn.config.sasl.clone() {
            let auth = crate::sasl::authenticate(&conn, &sasl);
            tokio::time::timeout(conn.config.connect_timeout, auth)
                .await
                .map_err(|_| conn_err("SASL authentication timed out".into()))??;
        }
        Ok(conn)
    }

    /// `host:port` of the broker.
    pub fn broker(&self) -> &str {
        &self.shared.broker
    }

    /// Whether the connection is closed (it is never reopened).
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    /// Closes the connection, failing pending requests.
    pub fn close(&self, reason: &str) {
        self.shared.close(reason)
    }

    async fn negotiate(&self) -> Result<HashMap<i16, (i16, i16)>> {
        let ours = max_supported_version(ApiKey::ApiVersions).unwrap_or(0);
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("clusterlink"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let body = self.round_trip(ApiKey::ApiVersions, &req, ours).await?;
        // A broker that does not speak our version answers UNSUPPORTED_VERSION in the v0 layout,
        // listing what it does speak; the error code is the first field in every version.
        let code = if body.len() >= 2 {
            i16::from_be_bytes([body[0], body[1]])
        } else {
            -1
        };
        let resp = if code == 35 {
            let retry = self.round_trip(ApiKey::ApiVersions, &req, 0).await?;
            self.decode::<ApiVersionsResponse>(retry, 0)?
        } else {
            self.decode::<ApiVersionsResponse>(body, ours)?
        };
        Error::check(resp.error_code, None, || "ApiVersions".into())?;
        Ok(resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect())
    }

    /// The broker's advertised `(min, max)` version of every API it listed.
    pub fn broker_versions(&self) -> &HashMap<i16, (i16, i16)> {
        &self.versions
    }

    /// The version at which `api` is sent on this connection.
    pub fn version_for(&self, api: ApiKey) -> Result<i16> {
        let ours = api.valid_versions();
        let cap = max_supported_version(api).unwrap_or(ours.max);
        let unsupported = |broker_range: String| Error::Unsupported {
            api,
            broker: self.shared.broker.clone(),
            broker_range,
            ours: format!("{}..={}", ours.min, cap),
        };
        let Some(&(min, max)) = self.versions.get(&(api as i16)) else {
            return Err(unsupported("none".into()));
        };
        let v = max.min(cap);
        if v < min.max(ours.min) {
            return Err(unsupported(format!("{min}..={max}")));
        }
        Ok(v)
    }

    /// Sends a request at the negotiated version and waits for its response.
    pub async fn send<R: Request>(&self, req: &R) -> Result<(R::Response, i16)> {
        let api = api_key::<R>()?;
        let version = self.version_for(api)?;
        let body = self.round_trip(api, req, version).await?;
        Ok((self.decode::<R::Response>(body, version)?, version))
    }

    /// Sends requests back to back, without waiting for answers in between, then waits for
    /// them all. The frames reach the broker in the order given and a broker answers a
    /// connection's requests in order, so when each request carries the next batch of the same
    /// partitions, the batches are appended in order while several requests are in flight.
    /// When a request cannot be sent, neither can any after it: they all get that error.
    pub async fn send_pipelined<R: Request>(&self, reqs: &[R]) -> Vec<Result<(R::Response, i16)>> {
        let started = api_key::<R>().and_then(|api| Ok((api, self.version_for(api)?)));
        let (api, version) = match started {
            Ok(v) => v,
            Err(e) => return reqs.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut sent = Vec::with_capacity(reqs.len());
        let mut failed = None;
        for req in reqs {
            match self.enqueue(api, req, version).await {
                Ok(s) => sent.push(s),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        // A broker answers a connection's requests one after the other: the n-th may wait for
        // the n - 1 before it, so its deadline is n request timeouts.
        let replies = futures::future::join_all(sent.into_iter().enumerate().map(|(i, s)| {
            let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
            self.reply_within(s, self.config.request_timeout.saturating_mul(n))
        }))
        .await;
        let mut out: Vec<Result<(R::Response, i16)>> = replies
            .into_iter()
            .map(|body| Ok((self.decode::<R::Response>(body?, version)?, version)))
            .collect();
        if let Some(e) = failed {
            out.resize_with(reqs.len(), || Err(e.clone()));
        }
        out
    }

    fn decode<T: Decodable>(&self, mut body: Bytes, version: i16) -> Result<T> {
        let v = T::decode(&mut body, version).map_err(|e| Error::Protocol {
            broker: self.shared.broker.clone(),
            message: format!("{e:#}"),
        })?;
        Ok(v)
    }

    async fn round_trip<R: Encodable + HeaderVersion>(
        &self,
        api: ApiKey,
        req: &R,
        version: i16,
    ) -> Result<Bytes> {
        let sent = self.enqueue(api, req, version).await?;
        self.reply(sent).await
    }

    /// Hands a request's frame to the writer; its answer is awaited with [`Self::reply`].
    async fn enqueue<R: Encodable + HeaderVersion>(
        &self,
        api: ApiKey,
        req: &R,
        version: i16,
    ) -> Result<Sent> {
        if self.is_closed() {
            return Err(self.shared.closed_error());
        }
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let frame = self.encode_frame(api, req, version, correlation_id)?;
        let (tx, rx) = oneshot::channel();
        self.shared
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                correlation_id,
                Pending {
                    api,
                    version,
                    reply: tx,
                },
            );
        // Until the frame is handed to the writer, leaving (an error, or the caller giving up)
        // must take the pending entry back; once it is sent, the answer will come and find it.
        let mut unsent = Unsent {
            shared: &self.shared,
            correlation_id,
            armed: true,
        };
        // The connection may have closed between the check and the insert.
        if self.is_closed() {
            return Err(self.shared.closed_error());
        }
        if self.writer.send(frame).await.is_err() {
            return Err(self.shared.closed_error());
        }
        unsent.armed = false;
        Ok(Sent { api, rx })
    }

    /// Waits for the answer to a sent request.
    async fn reply(&self, sent: Sent) -> Result<Bytes> {
        self.reply_within(sent, self.config.request_timeout).await
    }

    async fn reply_within(&self, sent: Sent, timeout: Duration) -> Result<Bytes> {
        let Sent { api, rx } = sent;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(self.shared.closed_error()),
            Err(_) => {
                // The broker may still answer, but a connection that stalls is not trusted.
                self.shared.close(&format!("{api:?} request timed out"));
                Err(Error::Timeout {
                    api,
                    broker: self.shared.broker.clone(),
                    timeout,
                })
            }
        }
    }

    fn encode_frame<R: Encodable + HeaderVersion>(
        &self,
        api: ApiKey,
        req: &R,
        version: i16,
        correlation_id: i32,
    ) -> Result<Bytes> {
        let encode_err = |e: anyhow::Error| Error::Encode {
            api,
            version,
            message: format!("{e:#}"),
        };
        let header = RequestHeader::default()
            .with_request_api_key(api as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_string(self.config.client_id.clone())));
        let mut buf = BytesMut::new();
        buf.put_i32(0); // size, filled below
        header
            .encode(&mut buf, R::header_version(version))
            .map_err(encode_err)?;
        req.encode(&mut buf, version).map_err(encode_err)?;
        let size = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        Ok(buf.freeze())
    }
}

/// A request on the wire, waiting for its answer.
struct Sent {
    api: ApiKey,
    rx: oneshot::Receiver<Result<Bytes>>,
}

/// Removes a pending request's entry on drop while `armed`.
struct Unsent<'a> {
    shared: &'a Shared,
    correlation_id: i32,
    armed: bool,
}

impl Drop for Unsent<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&self.correlation_id);
        }
    }
}

fn api_key<R: Request>() -> Result<ApiKey> {
    ApiKey::try_from(R::KEY).map_err(|_| Error::Invalid(format!("unknown API key {}", R::KEY)))
}

async fn write_loop(mut write: WriteHalf, mut rx: mpsc::Receiver<Bytes>, shared: Arc<Shared>) {
    while let Some(frame) = rx.recv().await {
        // A flush pushes TLS records out (a no-op on plain TCP).
        let written = match write.write_all(&frame).await {
            Ok(()) => write.flush().await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            shared.close(&format!("write failed: {e}"));
            return;
        }
    }
}

async fn read_loop(mut read: ReadHalf, shared: Arc<Shared>, max_bytes: usize) {
    let reason = loop {
        let size = match read.read_i32().await {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break "connection closed by broker".to_owned()
            }
            Err(e) => break format!("read failed: {e}"),
        };
        if size < 4 || size as usize > max_bytes {
            break format!("response frame size {size} outside 4..={max_bytes}");
        }
        let mut frame = BytesMut::zeroed(size as usize);
        if let Err(e) = read.read_exact(&mut frame).await {
            break format!("read failed mid-response: {e}");
        }
        let mut frame = frame.freeze();
        let correlation_id = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
        let pending = shared
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&correlation_id);
        let Some(p) = pending else {
            break format!("response with unknown correlation id {correlation_id}");
        };
        let header_version = p.api.response_header_version(p.version);
        let result = match ResponseHeader::decode(&mut frame, header_version) {
            Ok(_) => Ok(frame),
            Err(e) => Err(Error::Protocol {
                broker: shared.broker.clone(),
                message: format!("bad response header: {e:#}"),
            }),
        };
        let bad = result.is_err();
        let _ = p.reply.send(result);
        if bad {
            break "bad response header".to_owned();
        }
    };
    if !shared.closed.load(Ordering::SeqCst) {
        warn!(broker = %shared.broker, %reason, "connection lost");
    }
    shared.close(&reason);
}
