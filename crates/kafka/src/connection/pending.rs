//! The requests of a connection that wait for an answer, by correlation id, and how the
//! connection closes: shared by the callers (who register a request before its frame is written)
//! and the reader task (which hands each answer to its caller).
//!
//! Closing is final and fails every waiting request with the reason, so that no caller waits
//! on a connection that will never answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use tokio::sync::oneshot;
use tracing::debug;

use crate::error::{Error, Result};

/// Where a request's answer (the response body, after its header) goes.
pub(super) type Reply = oneshot::Sender<Result<Bytes>>;

/// A request whose answer has not come yet.
pub(super) struct Pending {
    /// Its API, for the response header's version.
    pub(super) api: ApiKey,
    /// The version it was sent at.
    pub(super) version: i16,
    /// Its caller.
    pub(super) reply: Reply,
}

/// The state a connection's callers and its reader and writer tasks share.
pub(super) struct Shared {
    /// `host:port` of the broker, for errors.
    pub(super) broker: String,
    pending: Mutex<HashMap<i32, Pending>>,
    closed: AtomicBool,
    /// Why the connection closed, for the requests that come after.
    close_reason: Mutex<Option<String>>,
}

impl Shared {
    pub(super) fn new(broker: &str) -> Self {
        Shared {
            broker: broker.to_owned(),
            pending: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
            close_reason: Mutex::new(None),
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Registers a request before its frame is written.
    pub(super) fn insert(&self, correlation_id: i32, pending: Pending) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(correlation_id, pending);
    }

    /// Takes the request an answer belongs to (or a request whose frame was never written).
    pub(super) fn take(&self, correlation_id: i32) -> Option<Pending> {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&correlation_id)
    }

    /// Closes the connection for good, failing every waiting request with `reason`.
    pub(super) fn close(&self, reason: &str) {
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

    /// The error of a request on a closed connection: why it closed.
    pub(super) fn closed_error(&self) -> Error {
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

/// Takes a registered request back on drop while `armed`: until its frame is handed to the
/// writer, a caller that leaves (an error, or giving up) must not leave its entry behind.
pub(super) struct Unsent<'a> {
    pub(super) shared: &'a Shared,
    pub(super) correlation_id: i32,
    pub(super) armed: bool,
}

impl Drop for Unsent<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.take(self.correlation_id);
        }
    }
}
