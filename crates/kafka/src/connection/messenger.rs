//! [`Connection`]: the messenger over one stream. Callers send requests; a writer task puts
//! their frames on the wire one after the other, a reader task hands each answer to its caller.
//! It runs over any `AsyncRead + AsyncWrite` halves: a TCP or TLS stream in production, an
//! in-memory pipe in tests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

use super::config::ConnectionConfig;
use super::frame::{encode_request, read_loop, write_loop};
use super::pending::{Pending, Shared, Unsent};
use super::versions::{api_key, version_for, BrokerVersions};
use crate::error::{Error, Result};

/// A connection to one broker; cheap to share behind an `Arc`.
pub struct Connection {
    shared: Arc<Shared>,
    writer: mpsc::Sender<Bytes>,
    next_correlation_id: AtomicI32,
    /// Broker's (min, max) per API key; empty until the handshake.
    versions: BrokerVersions,
    config: ConnectionConfig,
    /// When to stop handing the connection out because its SASL session ends soon (KIP-368).
    renew_at: Option<Instant>,
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

/// A request on the wire, waiting for its answer.
struct Sent {
    api: ApiKey,
    rx: oneshot::Receiver<Result<Bytes>>,
}

impl Connection {
    /// Starts the reader and writer tasks over a stream's halves. Nothing is sent yet: the
    /// handshake (`open`) negotiates versions before the connection is handed out.
    pub(super) fn start<R, W>(read: R, write: W, broker: &str, config: ConnectionConfig) -> Self
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let shared = Arc::new(Shared::new(broker));
        let (tx, rx) = mpsc::channel::<Bytes>(64);
        let writer = tokio::spawn(write_loop(write, rx, shared.clone()));
        let reader = tokio::spawn(read_loop(read, shared.clone(), config.max_response_bytes));
        Connection {
            shared,
            writer: tx,
            next_correlation_id: AtomicI32::new(0),
            versions: BrokerVersions::new(),
            config,
            renew_at: None,
            tasks: vec![writer, reader],
        }
    }

    /// The connection's settings.
    pub(super) fn config(&self) -> &ConnectionConfig {
        &self.config
    }

    /// Records what the broker advertised in ApiVersions.
    pub(super) fn set_broker_versions(&mut self, versions: BrokerVersions) {
        self.versions = versions;
    }

    /// Records when the connection's SASL session should be renewed.
    pub(super) fn set_renew_at(&mut self, at: Option<Instant>) {
        self.renew_at = at;
    }

    /// Whether new requests should go on a new connection instead: this one is closed, or its
    /// SASL session is in the last part of its lifetime (the broker closes a connection at the
    /// first request after the session ended).
    pub fn needs_renewal(&self) -> bool {
        self.is_closed() || self.renew_at.is_some_and(|at| Instant::now() >= at)
    }

    /// `host:port` of the broker.
    pub fn broker(&self) -> &str {
        &self.shared.broker
    }

    /// Whether the connection is closed (it is never reopened).
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Closes the connection, failing pending requests.
    pub fn close(&self, reason: &str) {
        self.shared.close(reason)
    }

    /// The broker's advertised `(min, max)` version of every API it listed.
    pub fn broker_versions(&self) -> &HashMap<i16, (i16, i16)> {
        &self.versions
    }

    /// The version at which `api` is sent on this connection.
    pub fn version_for(&self, api: ApiKey) -> Result<i16> {
        version_for(api, &self.versions, &self.shared.broker)
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

    /// Decodes a response body; what does not decode is [`Error::Protocol`].
    pub(super) fn decode<T: Decodable>(&self, mut body: Bytes, version: i16) -> Result<T> {
        let v = T::decode(&mut body, version).map_err(|e| Error::Protocol {
            broker: self.shared.broker.clone(),
            message: format!("{e:#}"),
        })?;
        Ok(v)
    }

    /// Sends a request at an explicit version and waits for its undecoded body (the handshake
    /// needs this before versions are known).
    pub(super) async fn round_trip<R: Encodable + HeaderVersion>(
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
        let frame = encode_request(api, req, version, correlation_id, &self.config.client_id)?;
        let (tx, rx) = oneshot::channel();
        self.shared.insert(
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
}
