//! What runs a link: its mirroring engine when it pulls mirrors into this cluster (retried in
//! the background while the remote cannot be reached), its pusher when it pushes mirrors into
//! the remote cluster's INBOUND link; nothing for an INBOUND link (the other side moves its
//! mirrors). Started when a link is created or restored, restarted when its connection settings
//! change, stopped when it is deleted or the server shuts down.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clusterlink_kafka::{Client, ClientConfig};
use clusterlink_mirror::{offline_mirrors, Engine, LinkSettings, LogStartPolicy, MirrorError};
use clusterlink_rest_v3::link_config;
use tracing::{info, warn};

use super::error::LinkError;
use super::registry::{Entry, LinkManager};
use super::security::{local_security, remote_security};
use crate::common::lock;
use crate::record::LinkRecord;
use crate::source_initiated::{PushConfig, Pusher};

/// A link's source cluster, as far as the caller got with it before starting the engine.
#[derive(Debug)]
pub(super) enum Reached {
    /// Connected: the engine starts with this client.
    Client(Client),
    /// Tried and failed: the engine is started in the background (the caller holds the lock
    /// that serialises link changes, and must not wait for the remote a second time).
    Unreachable(LinkError),
    /// Not tried: the engine connects now.
    NotTried,
}

impl Reached {
    /// What an attempt to connect came to.
    pub(super) fn from(result: Result<Client, LinkError>) -> Self {
        match result {
            Ok(c) => Reached::Client(c),
            Err(e) => Reached::Unreachable(e),
        }
    }
}

impl LinkManager {
    /// Registers a link (created, or restored from the state topic) and starts what runs it.
    pub(super) async fn add(&self, record: LinkRecord, source: Reached) {
        let entry = Entry::new(record.clone());
        lock(&self.inner.links).insert(record.name.clone(), entry.clone());
        self.start(&entry, &record, source).await;
    }

    /// Registers a stored link whose `sealed` configs cannot be decrypted: it reports `error`
    /// and runs nothing until they are set again.
    pub(super) fn add_sealed(&self, record: LinkRecord, sealed: Vec<String>, error: &LinkError) {
        let entry = Entry::new(record.clone());
        entry.set_error(Some(error));
        *lock(&entry.sealed) = sealed;
        lock(&self.inner.links).insert(record.name.clone(), entry);
    }

    /// Starts what a link runs: its engine when it pulls (retried in the background while the
    /// remote cannot be reached), its pusher when it pushes; nothing for an INBOUND link.
    pub(super) async fn start(&self, entry: &Arc<Entry>, record: &LinkRecord, source: Reached) {
        if record.pulls() {
            let generation = entry.generation.load(Ordering::SeqCst);
            self.run_engine(entry, record, source, generation).await;
        } else {
            entry.set_error(None);
        }
        if record.pushes() {
            self.restart_pusher(entry, record).await;
        }
    }

    /// Replaces a link's engine by one with its current settings (the new one resumes the
    /// mirrors from their checkpoints).
    pub(super) async fn restart_engine(
        &self,
        entry: &Arc<Entry>,
        record: &LinkRecord,
        source: Reached,
    ) {
        let generation = entry.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let engine = lock(&entry.engine).take();
        if let Some(engine) = engine {
            // The new engine replays from the last stored checkpoint: a failed final
            // checkpoint costs a longer replay, never the link's engine.
            if let Err(e) = engine.stop().await {
                warn!(link = %record.name, error = %e, "final checkpoint before the restart failed");
            }
        }
        self.run_engine(entry, record, source, generation).await;
    }

    /// Starts a link's engine now, or (the remote cannot be reached) keeps trying in the
    /// background for as long as the link's `generation` lasts.
    async fn run_engine(
        &self,
        entry: &Arc<Entry>,
        record: &LinkRecord,
        source: Reached,
        generation: u64,
    ) {
        let source = match source {
            Reached::Client(c) => Some(c),
            Reached::NotTried => None,
            Reached::Unreachable(e) => {
                entry.set_error(Some(&e));
                self.read_offline_mirrors(entry, record).await;
                self.restart_in_background(entry.clone(), generation);
                return;
            }
        };
        match self.start_engine(record, source).await {
            Ok(engine) => {
                *lock(&entry.engine) = Some(engine);
                entry.set_error(None);
                lock(&entry.offline).clear();
            }
            Err(e) => {
                entry.set_error(Some(&e));
                self.read_offline_mirrors(entry, record).await;
                self.restart_in_background(entry.clone(), generation);
            }
        }
    }

    /// Reads what the state topic says of the mirrors of a link whose engine does not run, for
    /// listing them and failing them over meanwhile (see `clusterlink_mirror::offline_mirrors`).
    pub(super) async fn read_offline_mirrors(&self, entry: &Entry, record: &LinkRecord) {
        let read = match self.inner.store.load().await {
            Ok(all) => offline_mirrors(&all, &record.engine_name()).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match read {
            Ok(mirrors) => *lock(&entry.offline) = mirrors,
            Err(e) => {
                warn!(link = %record.name, error = %e, "the mirrors of a link that does not run cannot be read")
            }
        }
    }

    /// The engine settings of a link.
    fn engine_settings(&self, record: &LinkRecord) -> LinkSettings {
        let mut settings = self.inner.options.engine.clone();
        if let Some(timeout) = record.millis(link_config::CLUSTER_LINK_RETRY_TIMEOUT_MS) {
            settings.retry_timeout = timeout;
        }
        if let Some(policy) = record
            .config(link_config::MIRROR_LOG_START_POLICY)
            .and_then(LogStartPolicy::parse)
        {
            settings.log_start_policy = policy;
        }
        settings
    }

    /// Starts a link's engine (connecting to the source unless a client is given).
    async fn start_engine(
        &self,
        record: &LinkRecord,
        source: Option<Client>,
    ) -> Result<Engine, LinkError> {
        let source = match source {
            Some(c) => c,
            None => self.connect_source(record).await?,
        };
        let mut settings = self.engine_settings(record);
        settings.name = record.engine_name();
        let engine = Engine::start(settings, source, self.inner.local.clone()).await?;
        engine.set_link_paused(record.paused());
        Ok(engine)
    }

    /// Keeps trying to start a link's engine until it runs or the generation moves on.
    pub(super) fn restart_in_background(&self, entry: Arc<Entry>, generation: u64) {
        let manager = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(manager.inner.options.restart_backoff).await;
                if entry.generation.load(Ordering::SeqCst) != generation {
                    return;
                }
                let record = entry.record();
                // Held until the engine is registered or dropped: a failover without the engine
                // waits for an attempt under way (see `fail_over_offline`).
                let _starting = entry.starting.lock().await;
                if entry.generation.load(Ordering::SeqCst) != generation {
                    return;
                }
                let result = manager.start_engine(&record, None).await;
                let _guard = manager.inner.changes.lock().await;
                if entry.generation.load(Ordering::SeqCst) != generation {
                    if let Ok(engine) = result {
                        let _ = engine.stop().await;
                    }
                    return;
                }
                match result {
                    Ok(engine) => {
                        info!(link = %record.name, "link running");
                        *lock(&entry.engine) = Some(engine);
                        entry.set_error(None);
                        lock(&entry.offline).clear();
                        return;
                    }
                    Err(e) => {
                        entry.set_error(Some(&e));
                        // Nothing but a failover without the engine (which reads them again)
                        // changes its mirrors meanwhile: read once, unless that read failed.
                        if lock(&entry.offline).is_empty() {
                            manager.read_offline_mirrors(&entry, &record).await;
                        }
                    }
                }
            }
        });
    }

    /// (Re)starts a link's pusher. One pusher (one engine of that name) at a time: the old one
    /// stops first. Settings that cannot be used (stored before they were checked) leave no
    /// pusher, and the link's status says why.
    pub(super) async fn restart_pusher(&self, entry: &Entry, record: &LinkRecord) {
        let old = lock(&entry.pusher).take();
        if let Some(old) = old {
            old.stop().await;
        }
        match self.push_config(record) {
            Ok(config) => {
                let pusher = Pusher::spawn(self.inner.local.clone(), config);
                *lock(&entry.pusher) = Some(pusher);
            }
            Err(e) => {
                warn!(link = %record.name, error = %e, "link settings unusable; not pushing");
                entry.set_error(Some(&e));
            }
        }
    }

    fn push_config(&self, record: &LinkRecord) -> Result<PushConfig, LinkError> {
        let mut remote =
            ClientConfig::new(record.config(link_config::BOOTSTRAP_SERVERS).unwrap_or(""));
        remote.retry.timeout = self.inner.options.connect_timeout;
        remote.connection.connect_timeout = self.inner.options.connect_timeout;
        remote.connection.connect_to = self.inner.local.config().connection.connect_to.clone();
        // The pushing engine writes there: as many connections as the server writes locally with.
        remote.produce_connections = self.inner.local.config().produce_connections;
        remote_security(record)?.apply(&mut remote);
        let settings = self.engine_settings(record);
        let local = match local_security(record)? {
            Some(security) => {
                let mut local = self.inner.local.config().clone();
                security.apply(&mut local);
                Some(local)
            }
            None => None,
        };
        Ok(PushConfig {
            link: record.name.clone(),
            cluster_id: self.cluster_id().to_owned(),
            remote,
            local,
            poll: settings.metadata_interval.min(Duration::from_secs(1)),
            settings,
        })
    }

    /// Stops every engine (final checkpoints written) and pusher.
    pub async fn shutdown(&self) {
        for (_, entry) in self.entries() {
            let _ = stop_running(&entry).await;
        }
    }
}

/// Stops what runs a link (a starter task in the background gives up too); the result is the
/// engine's final checkpoint's.
pub(super) async fn stop_running(entry: &Entry) -> Result<(), MirrorError> {
    entry.generation.fetch_add(1, Ordering::SeqCst);
    let engine = lock(&entry.engine).take();
    let stopped = match engine {
        Some(engine) => engine.stop().await,
        None => Ok(()),
    };
    let pusher = lock(&entry.pusher).take();
    if let Some(pusher) = pusher {
        pusher.stop().await;
    }
    stopped
}
