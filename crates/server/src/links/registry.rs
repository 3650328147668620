//! The link manager's state: the options it runs links with, the registry of links (one
//! [`Entry`] per link: its record, its engine or pusher, why they do not run), and the lookups
//! every operation starts with.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clusterlink_kafka::Client;
use clusterlink_mirror::store::KafkaStore;
use clusterlink_mirror::{Engine, LinkSettings, MirrorStatus};

use super::acl_sync::AclSyncReport;
use super::error::LinkError;
use super::failback::RestoreProgress;
use crate::common::lock;
use crate::record::LinkRecord;
use crate::secrets::PasswordEncoder;
use crate::source_initiated::Pusher;

/// How the manager runs links.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// Engine settings every link starts from (its name and retry timeout are set per link).
    pub engine: LinkSettings,
    /// How long connecting to a source cluster may take before the attempt fails.
    pub connect_timeout: Duration,
    /// How long to wait between attempts to start a link whose source is unreachable.
    pub restart_backoff: Duration,
    /// Encrypts sensitive link configs in the state topic; without it they are refused.
    pub password_encoder: Option<PasswordEncoder>,
    /// `host:port` addresses other clusters reach the local cluster at, listed by `GET
    /// /clusters/{id}/brokers` instead of the brokers' advertised ones (which may be addresses
    /// only the local network knows). Empty: the advertised ones.
    pub advertised_bootstrap: Vec<String>,
    /// How long an engine's mirroring task may go without beginning a round before `/healthz`
    /// calls the process not alive (a wedged task is fixed by a restart).
    pub stall_limit: Duration,
    /// How long the answer to `mirrors:truncate-and-restore` waits for the restore, which goes
    /// on after it in any case.
    pub restore_answer_within: Duration,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            engine: LinkSettings::new(""),
            connect_timeout: Duration::from_secs(10),
            restart_backoff: Duration::from_secs(5),
            password_encoder: None,
            advertised_bootstrap: Vec::new(),
            stall_limit: Duration::from_secs(600),
            restore_answer_within: Duration::from_secs(30),
        }
    }
}

/// The links of the local cluster. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LinkManager {
    pub(super) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    pub local: Client,
    pub cluster_id: String,
    pub store: KafkaStore,
    pub options: ManagerOptions,
    pub links: Mutex<BTreeMap<String, Arc<Entry>>>,
    /// Serializes changes of links (create, delete, configs).
    pub changes: tokio::sync::Mutex<()>,
    /// The local state topic's contents as INBOUND links see them, refreshed in the background
    /// while such links exist (their mirrors are moved by the other cluster's link server).
    pub inbound: Mutex<BTreeMap<String, Vec<u8>>>,
    /// Per INBOUND engine, the last heartbeat record seen and when (on this server's clock,
    /// so that clock skew between the clusters' servers does not matter).
    pub heartbeats: Mutex<BTreeMap<String, (Vec<u8>, Instant)>>,
    pub errors: Mutex<BTreeMap<&'static str, u64>>,
    /// Truncate-and-restores under way, by (link, topic): they run on their own, not bounded
    /// by the request that started them.
    pub restores: Mutex<BTreeMap<(String, String), RestoreProgress>>,
    /// Sensitive values re-encrypted with the current secret when the manager opened.
    pub reencrypted: AtomicUsize,
}

/// One link: its record, and what runs it.
#[derive(Debug)]
pub(super) struct Entry {
    pub record: Mutex<LinkRecord>,
    pub engine: Mutex<Option<Engine>>,
    /// The pushing side of a source-initiated link.
    pub pusher: Mutex<Option<Pusher>>,
    pub error: Mutex<Option<Failure>>,
    /// Sensitive configs stored encrypted with a secret this server does not have: the link
    /// does not run until they are set again (their values in `record` are still encrypted).
    pub sealed: Mutex<Vec<String>>,
    /// Bumped whenever the running engine is replaced or the link deleted: a starter task of an
    /// older generation gives up.
    pub generation: AtomicU64,
    /// What the link's ACL sync did (its `AclSync` task).
    pub acl_sync: Mutex<AclSyncReport>,
    /// While a pulling link's engine does not run: its mirrors as the state topic has them.
    pub offline: Mutex<Vec<MirrorStatus>>,
    /// Held by a background attempt to start the engine, from the start until the engine is
    /// registered or dropped: no engine starts unseen while mirrors are failed over without it.
    pub starting: tokio::sync::Mutex<()>,
}

impl Entry {
    /// A link that is about to start.
    pub fn new(record: LinkRecord) -> Arc<Self> {
        Arc::new(Entry {
            record: Mutex::new(record),
            engine: Mutex::new(None),
            pusher: Mutex::new(None),
            error: Mutex::new(Some(Failure {
                message: "starting".into(),
                authentication: false,
            })),
            sealed: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
            acl_sync: Mutex::new(AclSyncReport::default()),
            offline: Mutex::new(Vec::new()),
            starting: tokio::sync::Mutex::new(()),
        })
    }

    pub fn record(&self) -> LinkRecord {
        lock(&self.record).clone()
    }

    pub fn engine(&self) -> Option<Engine> {
        lock(&self.engine).clone()
    }

    pub fn set_error(&self, e: Option<&LinkError>) {
        *lock(&self.error) = e.map(|e| Failure {
            message: e.to_string(),
            authentication: matches!(e, LinkError::Authentication { .. }),
        });
    }
}

/// Why a link's engine or pusher is not running.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub message: String,
    /// The remote cluster refused the link's credentials.
    pub authentication: bool,
}

impl LinkManager {
    /// The local cluster's id.
    pub fn cluster_id(&self) -> &str {
        &self.inner.cluster_id
    }

    /// How many sensitive values were re-encrypted with the current password encoder secret
    /// when the manager opened (an older format, or the old secret of a rotation).
    pub fn reencrypted(&self) -> usize {
        self.inner.reencrypted.load(Ordering::SeqCst)
    }

    /// The local cluster's client.
    pub fn local(&self) -> &Client {
        &self.inner.local
    }

    /// The options it runs with.
    pub fn options(&self) -> &ManagerOptions {
        &self.inner.options
    }

    /// The link server's own state topic (links, mirrors, checkpoints): never to be deleted or
    /// altered through the API.
    pub fn state_topic(&self) -> &str {
        &self.inner.options.engine.state_topic
    }

    /// Counts an error of this category (for `/metrics`).
    pub fn count_error(&self, category: &'static str) {
        *lock(&self.inner.errors).entry(category).or_default() += 1;
    }

    /// Errors counted so far, by category.
    pub fn error_counts(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.inner.errors).clone()
    }

    /// Whether the local cluster answers.
    pub async fn ready(&self) -> bool {
        self.inner.local.refresh_metadata(Some(&[])).await.is_ok()
    }

    /// What keeps this process from being alive: per link whose engine's task ended or is
    /// wedged, why. Empty when alive.
    pub fn liveness_problems(&self) -> Vec<String> {
        let limit = self.inner.options.stall_limit;
        self.entries()
            .into_iter()
            .filter_map(|(name, entry)| {
                let engine = lock(&entry.engine);
                let why = engine.as_ref()?.liveness(limit).err()?;
                Some(format!("link {name}: {why}"))
            })
            .collect()
    }

    /// Every link, by name.
    pub(super) fn entries(&self) -> Vec<(String, Arc<Entry>)> {
        lock(&self.inner.links)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The link `name`.
    pub(super) fn entry(&self, name: &str) -> Result<Arc<Entry>, LinkError> {
        lock(&self.inner.links)
            .get(name)
            .cloned()
            .ok_or_else(|| LinkError::NotFound(name.to_owned()))
    }

    /// The link `name` and its running engine.
    pub(super) fn running(&self, name: &str) -> Result<(Arc<Entry>, Engine), LinkError> {
        let entry = self.entry(name)?;
        let engine = entry.engine().ok_or_else(|| LinkError::Unavailable {
            link: name.to_owned(),
            message: lock(&entry.error)
                .clone()
                .map_or_else(|| "starting".into(), |f| f.message),
        })?;
        Ok((entry, engine))
    }
}
