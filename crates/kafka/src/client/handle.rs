//! The [`Client`] handle: what its clones share (settings, the connection pool, the metadata
//! cache) and the few accessors every other part of the client goes through.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use super::config::ClientConfig;
use super::types::ClusterMetadata;
use crate::connection::Connection;

/// The cached metadata and when it was loaded.
pub(super) type CachedMetadata = (ClusterMetadata, Option<Instant>);

/// What the clones of a [`Client`] share.
pub(super) struct Inner {
    pub(super) config: ClientConfig,
    /// Open connections by `host:port` (`host:port#lane` for extra produce lanes).
    pub(super) conns: Mutex<HashMap<String, Arc<Connection>>>,
    pub(super) metadata: RwLock<CachedMetadata>,
    /// Set when an error said the metadata is stale; cleared by a refresh.
    pub(super) stale: AtomicBool,
}

/// A client for one Kafka cluster; clone it freely (clones share connections and metadata).
#[derive(Clone)]
pub struct Client {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("bootstrap", &self.inner.config.bootstrap_servers)
            .finish()
    }
}

impl Client {
    /// A handle on nothing yet: no connection, metadata stale.
    pub(super) fn new(config: ClientConfig) -> Self {
        Client {
            inner: Arc::new(Inner {
                config,
                conns: Mutex::new(HashMap::new()),
                metadata: RwLock::new((ClusterMetadata::default(), None)),
                stale: AtomicBool::new(true),
            }),
        }
    }

    /// The client's configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// A copy of the cached metadata.
    pub fn cached_metadata(&self) -> ClusterMetadata {
        self.read_metadata().0.clone()
    }

    /// Marks metadata stale, so that the next routed call refreshes it.
    pub fn invalidate_metadata(&self) {
        self.inner.stale.store(true, Ordering::SeqCst);
    }

    /// The metadata cache, for reading (a poisoned lock is still read: the data is plain).
    pub(super) fn read_metadata(&self) -> RwLockReadGuard<'_, CachedMetadata> {
        self.inner
            .metadata
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The metadata cache, for a refresh or a coordinator learnt on the way.
    pub(super) fn write_metadata(&self) -> RwLockWriteGuard<'_, CachedMetadata> {
        self.inner
            .metadata
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Whether an error marked the metadata stale since the last refresh.
    pub(super) fn metadata_is_stale(&self) -> bool {
        self.inner.stale.load(Ordering::SeqCst)
    }
}
