//! The cluster links of the local cluster: their definitions and configs, kept in the local
//! cluster's state topic, and one mirroring [`Engine`] per link.
//!
//! The server is stateless: a link is a `link/<name>` record in the same compacted topic the
//! engines keep their mirrors and checkpoints in ([`KafkaStore`]), so a new [`LinkManager`] on
//! the same cluster (after a restart, or on another machine) finds every link, starts its engine,
//! and the engine restores its own mirrors. Each engine keys its state by `<name>@<link id>`, so a
//! link deleted and created again under the same name never inherits the old one's mirrors.
//!
//! Sensitive configs (passwords, JAAS configs, keys) are stored for the link's use but never
//! leave this module in clear: [`LinkConfig::value`] is `None` for them and no error or log line
//! carries their value.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clusterlink_kafka::{Client, ClientConfig, Error as KafkaError, ResponseError};
use clusterlink_mirror::filters::NameFilters;
use clusterlink_mirror::offset_sync;
use clusterlink_mirror::state_keys;
use clusterlink_mirror::store::KafkaStore;

use crate::secrets::PasswordEncoder;
use crate::source_initiated::{self, Control, InboundView, PushConfig, Pusher};
use clusterlink_mirror::{
    Desired, Engine, LinkSettings, MirrorError, MirrorSpec, MirrorState, MirrorStatus, StartSpec,
};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::configs::{self, ConfigError};

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
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            engine: LinkSettings::new(""),
            connect_timeout: Duration::from_secs(10),
            restart_backoff: Duration::from_secs(5),
            password_encoder: None,
        }
    }
}

/// Errors of link operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// No link of that name.
    #[error("Cluster link '{0}' does not exist")]
    NotFound(String),
    /// A link of that name exists.
    #[error("Cluster link '{0}' already exists")]
    AlreadyExists(String),
    /// A config was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The request is wrong in some other way.
    #[error("{0}")]
    Invalid(String),
    /// The source is this cluster.
    #[error(
        "Source cluster ID matches local cluster ID '{0}'. Cannot create cluster link to self."
    )]
    LinkToSelf(String),
    /// `bootstrap.servers` reaches another cluster than the one named.
    #[error(
        "Expected source cluster ID '{expected}' but bootstrap.servers reaches cluster '{actual}'"
    )]
    ClusterIdMismatch {
        /// The id in the request.
        expected: String,
        /// The id the source reports.
        actual: String,
    },
    /// The source cluster cannot be reached.
    #[error("Cannot reach the source cluster of link '{link}': {message}")]
    SourceUnreachable {
        /// Link name.
        link: String,
        /// Why.
        message: String,
    },
    /// The remote cluster refused the link's credentials (its SASL settings).
    #[error("Cluster link '{link}': {message}")]
    Authentication {
        /// Link name.
        link: String,
        /// The client's error: broker, mechanism, what the broker said (never a credential).
        message: String,
    },
    /// The link still has mirror topics and `force` was not given.
    #[error("Cluster link '{link}' has {count} mirror topic(s) that are not stopped ({names}); promote, fail over or delete them first, or delete the link with force=true")]
    HasMirrors {
        /// Link name.
        link: String,
        /// How many.
        count: usize,
        /// Their names.
        names: String,
    },
    /// Topics named in a mirror action are not mirror topics of the link.
    #[error("Topic(s) {topics} are not mirror topics of cluster link '{link}'")]
    NotAMirror {
        /// Link name.
        link: String,
        /// The topics, comma-separated.
        topics: String,
    },
    /// The link's engine is not running (its source has not been reachable since start).
    #[error("Cluster link '{link}' is not running: {message}")]
    Unavailable {
        /// Link name.
        link: String,
        /// The last start error.
        message: String,
    },
    /// The mirroring engine refused or failed.
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    /// The local cluster failed.
    #[error("local cluster: {0}")]
    Local(#[source] KafkaError),
    /// Stored state could not be read.
    #[error("state topic: {0}")]
    State(String),
}

impl LinkError {
    /// A short, stable label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self {
            LinkError::NotFound(_) => "not_found",
            LinkError::AlreadyExists(_) => "duplicate",
            LinkError::Config(e) => e.category(),
            LinkError::Invalid(_)
            | LinkError::LinkToSelf(_)
            | LinkError::ClusterIdMismatch { .. }
            | LinkError::HasMirrors { .. }
            | LinkError::NotAMirror { .. } => "invalid",
            LinkError::Authentication { .. } => "authentication",
            LinkError::SourceUnreachable { .. } | LinkError::Unavailable { .. } => {
                "source_unavailable"
            }
            LinkError::Mirror(e) => e.category(),
            LinkError::Local(e) => e.category(),
            LinkError::State(_) => "state",
        }
    }
}

/// A link to create.
#[derive(Debug, Clone, Default)]
pub struct NewLink {
    /// Link name.
    pub name: String,
    /// The source cluster id the caller expects (checked when the link is validated).
    pub source_cluster_id: Option<String>,
    /// The id of the link pair, when this is the second half of a bidirectional link.
    pub cluster_link_id: Option<String>,
    /// Configs by name.
    pub configs: Vec<(String, String)>,
}

/// What is stored per link.
#[derive(Clone, Serialize, Deserialize)]
struct LinkRecord {
    name: String,
    id: String,
    source_cluster_id: Option<String>,
    configs: BTreeMap<String, String>,
    created_ms: i64,
}

/// Sensitive configs (`sasl.jaas.config`, keys, passwords) are shown as `<redacted>`, so that
/// no `Debug` of a link, its entry or the manager can print a credential.
impl std::fmt::Debug for LinkRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let configs: BTreeMap<&str, &str> = self
            .configs
            .iter()
            .map(|(k, v)| {
                let v = if configs::is_sensitive(k) {
                    "<redacted>"
                } else {
                    v.as_str()
                };
                (k.as_str(), v)
            })
            .collect();
        f.debug_struct("LinkRecord")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("source_cluster_id", &self.source_cluster_id)
            .field("configs", &configs)
            .field("created_ms", &self.created_ms)
            .finish()
    }
}

impl LinkRecord {
    fn engine_name(&self) -> String {
        format!("{}@{}", self.name, self.id)
    }

    fn link_mode(&self) -> &str {
        self.configs
            .get("link.mode")
            .map_or("DESTINATION", String::as_str)
    }

    fn connection_mode(&self) -> &str {
        self.configs
            .get("connection.mode")
            .map_or("OUTBOUND", String::as_str)
    }

    /// The destination half of a source-initiated link: it opens no connection; the source's
    /// link server moves its mirrors (see [`crate::source_initiated`]).
    fn is_inbound(&self) -> bool {
        self.connection_mode() == "INBOUND"
    }

    /// Whether this link pulls mirrors into the local cluster (an engine of its own).
    fn pulls(&self) -> bool {
        !self.is_inbound() && self.link_mode() != "SOURCE"
    }

    /// Whether this link pushes the mirrors of an INBOUND link on the remote cluster.
    fn pushes(&self) -> bool {
        !self.is_inbound() && matches!(self.link_mode(), "SOURCE" | "BIDIRECTIONAL")
    }
}

/// A link as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkInfo {
    /// Link name.
    pub name: String,
    /// `cluster_link_id`.
    pub id: String,
    /// The source cluster's id.
    pub source_cluster_id: Option<String>,
    /// The local (destination) cluster's id.
    pub destination_cluster_id: String,
    /// The other cluster of a bidirectional link.
    pub remote_cluster_id: Option<String>,
    /// Mirror topic names.
    pub topic_names: Vec<String>,
    /// `ACTIVE` while the engine runs, `UNAVAILABLE` while the source cannot be reached.
    pub state: &'static str,
    /// Why the link is not ACTIVE.
    pub error_message: Option<String>,
    /// Whether it is not ACTIVE because a cluster (the remote one, or the local one for the
    /// `local.*` credentials of a link that pushes) refused its credentials.
    pub authentication_failed: bool,
    /// Configs that are set but not applied by this server yet.
    pub not_applied: Vec<String>,
    /// Mirror counts by state.
    pub mirror_states: BTreeMap<&'static str, usize>,
}

/// One link config as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// Name.
    pub name: String,
    /// Value; `None` for secrets and unset configs.
    pub value: Option<String>,
    /// Whether the value is the default (not set on the link).
    pub is_default: bool,
    /// Whether it cannot change.
    pub read_only: bool,
    /// Whether it is a secret.
    pub sensitive: bool,
    /// Whether the server applies it today.
    pub applied: bool,
}

/// A change of a link config.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigOp {
    /// Set a value.
    Set(String, String),
    /// Back to the default.
    Delete(String),
}

/// A mirror topic to create.
#[derive(Debug, Clone, Default)]
pub struct NewMirror {
    /// The source topic.
    pub source_topic: String,
    /// The mirror's name (default: the link's prefix followed by the source name).
    pub mirror_topic: Option<String>,
    /// Replication factor.
    pub replication_factor: Option<i16>,
    /// Topic config overrides.
    pub configs: Vec<(String, String)>,
}

/// What a mirror action asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MirrorAction {
    /// Catch up, then stop mirroring.
    Promote,
    /// Stop mirroring now.
    Failover,
    /// Pause.
    Pause,
    /// Resume.
    Resume,
}

impl MirrorAction {
    fn desired(self) -> Desired {
        match self {
            MirrorAction::Promote => Desired::Promote,
            MirrorAction::Failover => Desired::Failover,
            MirrorAction::Pause => Desired::Paused,
            MirrorAction::Resume => Desired::Active,
        }
    }
}

#[derive(Debug)]
struct Entry {
    record: Mutex<LinkRecord>,
    engine: Mutex<Option<Engine>>,
    /// The pushing side of a source-initiated link.
    pusher: Mutex<Option<Pusher>>,
    error: Mutex<Option<Failure>>,
    /// Bumped whenever the running engine is replaced or the link deleted: a starter task of an
    /// older generation gives up.
    generation: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Entry {
    fn record(&self) -> LinkRecord {
        lock(&self.record).clone()
    }
    fn engine(&self) -> Option<Engine> {
        lock(&self.engine).clone()
    }
    fn set_error(&self, e: Option<&LinkError>) {
        *lock(&self.error) = e.map(|e| Failure {
            message: e.to_string(),
            authentication: matches!(e, LinkError::Authentication { .. }),
        });
    }
}

/// Why a link's engine or pusher is not running.
#[derive(Debug, Clone)]
struct Failure {
    message: String,
    /// The remote cluster refused the link's credentials.
    authentication: bool,
}

impl Failure {
    fn starting() -> Self {
        Failure {
            message: "starting".into(),
            authentication: false,
        }
    }
}

#[derive(Debug)]
struct Inner {
    local: Client,
    cluster_id: String,
    store: KafkaStore,
    options: ManagerOptions,
    links: Mutex<BTreeMap<String, Arc<Entry>>>,
    /// Serializes changes of links (create, delete, configs).
    changes: tokio::sync::Mutex<()>,
    /// The local state topic's contents as INBOUND links see them, refreshed in the background
    /// while such links exist (their mirrors are moved by the other cluster's link server).
    inbound: Mutex<BTreeMap<String, Vec<u8>>>,
    /// Per INBOUND engine, the last heartbeat record seen and when (on this server's clock,
    /// so that clock skew between the clusters' servers does not matter).
    heartbeats: Mutex<BTreeMap<String, (Vec<u8>, std::time::Instant)>>,
    errors: Mutex<BTreeMap<&'static str, u64>>,
}

/// How to reach the remote cluster securely, from `security.protocol`: TLS (`ssl.*`, for SSL and
/// SASL_SSL) and SASL (`sasl.mechanism`, `sasl.jaas.config`, for SASL_PLAINTEXT and SASL_SSL).
/// Errors name the setting, never a secret's value.
fn remote_security(record: &LinkRecord) -> Result<Security, LinkError> {
    security(&record.configs, &record.name, "")
}

/// The link's own security settings toward the local cluster (`local.security.protocol`,
/// `local.ssl.*`, `local.sasl.*`): the identity a link that pushes reads the local cluster
/// with, as Confluent's source-initiated links use them. `None` for a link that does not push,
/// and without `local.security.protocol` (the server's own connections are used, with their
/// `--command-config` security).
fn local_security(record: &LinkRecord) -> Result<Option<Security>, LinkError> {
    if !record.pushes() || !record.configs.contains_key("local.security.protocol") {
        return Ok(None);
    }
    let local: BTreeMap<String, String> = record
        .configs
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("local.")?.to_owned(), v.clone())))
        .filter(|(k, _)| is_security_config(k))
        .collect();
    if local.is_empty() {
        return Ok(None);
    }
    security(&local, &record.name, "local.").map(Some)
}

fn security(
    configs: &BTreeMap<String, String>,
    link: &str,
    prefix: &str,
) -> Result<Security, LinkError> {
    let tls = clusterlink_kafka::tls::from_configs(configs).map_err(|e| {
        LinkError::Invalid(format!(
            "Cluster link '{link}': {prefix}ssl.* settings: {e}"
        ))
    })?;
    let sasl = clusterlink_kafka::sasl::from_configs(configs).map_err(|e| {
        LinkError::Invalid(format!(
            "Cluster link '{link}': {prefix}sasl.* settings: {e}"
        ))
    })?;
    Ok(Security { tls, sasl })
}

/// The TLS and SASL settings of a link's connections to one cluster.
struct Security {
    tls: Option<clusterlink_kafka::connection::Tls>,
    sasl: Option<clusterlink_kafka::sasl::Sasl>,
}

impl Security {
    fn apply(self, config: &mut ClientConfig) {
        config.connection.tls = self.tls;
        config.connection.sasl = self.sasl;
    }
}

/// Whether a config is one of a connection's security settings (a change reconnects).
fn is_security_config(name: &str) -> bool {
    let name = name.strip_prefix("local.").unwrap_or(name);
    name == "security.protocol" || name.starts_with("ssl.") || name.starts_with("sasl.")
}

/// A failed connection to a link's remote cluster: refused credentials are the link's settings
/// at fault (never worth waiting for), anything else a remote that cannot be reached.
fn remote_error(link: &str, e: KafkaError) -> LinkError {
    if e.category() == "auth" {
        LinkError::Authentication {
            link: link.to_owned(),
            message: e.to_string(),
        }
    } else {
        LinkError::SourceUnreachable {
            link: link.to_owned(),
            message: e.to_string(),
        }
    }
}

/// `cluster.link.paused`.
fn link_paused(record: &LinkRecord) -> bool {
    record
        .configs
        .get("cluster.link.paused")
        .is_some_and(|v| v == "true")
}

/// Per-link state of the periodic duties.
#[derive(Default)]
struct Housekeeping {
    offsets: offset_sync::Scheduled,
    auto_at: Option<std::time::Instant>,
    configs_at: Option<std::time::Instant>,
    auto_failed: BTreeSet<String>,
}

/// The links of the local cluster. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LinkManager {
    inner: Arc<Inner>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A random 16-byte id in URL-safe base64 without padding (22 characters), like Kafka's ids.
fn new_id() -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_i64(now_ms());
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    let mut out = String::with_capacity(22);
    let mut acc = 0u32;
    let mut bits = 0;
    for b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(A[((acc >> bits) & 63) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(A[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out
}

/// The id of the cluster `client` talks to.
pub async fn cluster_id_of(client: &Client) -> Result<String, KafkaError> {
    if let Some(id) = client.cached_metadata().cluster_id {
        return Ok(id);
    }
    if let Some(id) = client.refresh_metadata(Some(&[])).await?.cluster_id {
        return Ok(id);
    }
    Ok(client.describe_cluster().await?.cluster_id)
}

/// Whether `topic`, in a cluster whose clusterlink state is `state`, is a live mirror (not
/// promoted or failed over) of a link pulling from the cluster `from`: then copying it to
/// `from` would bring records back where they came from. Returns that link's name and the
/// original topic.
pub(crate) fn live_mirror_from(
    state: &BTreeMap<String, Vec<u8>>,
    topic: &str,
    from: &str,
) -> Option<(String, String)> {
    clusterlink_mirror::stored_mirrors(state)
        .into_iter()
        .filter(|m| m.name == topic && m.state != MirrorState::Stopped)
        .find_map(|m| {
            let (link_name, id) = m.engine.split_once('@')?;
            let record: LinkRecord =
                serde_json::from_slice(state.get(&state_keys::link(link_name))?).ok()?;
            (record.id == id && record.source_cluster_id.as_deref() == Some(from))
                .then(|| (link_name.to_string(), m.source_topic))
        })
}

/// Kafka's rule for topic names (links follow it too): 1 to 249 of `[a-zA-Z0-9._-]`, and not
/// `.` or `..`. Brokers that do not check it (tansu) must not get other names from us.
pub fn is_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A link name: a topic name, and not `-` (the "all links" path segment).
fn check_link_name(name: &str) -> Result<(), LinkError> {
    let ok = is_topic_name(name) && name != "-";
    if ok {
        Ok(())
    } else {
        Err(LinkError::Invalid(format!(
            "Invalid link name '{name}': use 1 to 249 of [a-zA-Z0-9._-]"
        )))
    }
}

impl LinkManager {
    /// Opens the manager on the local cluster: reads every stored link and starts its engine
    /// (a link whose source is unreachable keeps retrying in the background).
    pub async fn open(local: Client, options: ManagerOptions) -> Result<Self, LinkError> {
        let cluster_id = cluster_id_of(&local).await.map_err(LinkError::Local)?;
        let store = KafkaStore::open(local.clone(), &options.engine.state_topic)
            .await
            .map_err(LinkError::Local)?;
        let all = store.load().await.map_err(LinkError::Local)?;
        let manager = LinkManager {
            inner: Arc::new(Inner {
                local,
                cluster_id,
                store,
                options,
                links: Mutex::new(BTreeMap::new()),
                changes: tokio::sync::Mutex::new(()),
                inbound: Mutex::new(all.clone()),
                heartbeats: Mutex::new(BTreeMap::new()),
                errors: Mutex::new(BTreeMap::new()),
            }),
        };
        for (key, value) in all.range(state_keys::LINK_PREFIX.to_owned()..) {
            if state_keys::link_of(key).is_none() {
                break;
            }
            let mut record: LinkRecord = serde_json::from_slice(value)
                .map_err(|e| LinkError::State(format!("{key}: {e}")))?;
            decrypt_sensitive(&mut record, manager.inner.options.password_encoder.as_ref())?;
            let entry = Arc::new(Entry {
                record: Mutex::new(record.clone()),
                engine: Mutex::new(None),
                pusher: Mutex::new(None),
                error: Mutex::new(Some(Failure::starting())),
                generation: AtomicU64::new(0),
            });
            lock(&manager.inner.links).insert(record.name.clone(), entry.clone());
            manager.start(&entry, &record, None).await;
            info!(link = %record.name, "link restored");
        }
        manager.spawn_inbound_refresher();
        manager.spawn_housekeeping();
        Ok(manager)
    }

    /// The local cluster's id.
    pub fn cluster_id(&self) -> &str {
        &self.inner.cluster_id
    }

    /// The local cluster's client.
    pub fn local(&self) -> &Client {
        &self.inner.local
    }

    /// Counts an error of this category (for `/metrics`).
    pub fn count_error(&self, category: &'static str) {
        *lock(&self.inner.errors).entry(category).or_default() += 1;
    }

    /// Errors counted so far, by category.
    pub fn error_counts(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.inner.errors).clone()
    }

    fn entry(&self, name: &str) -> Result<Arc<Entry>, LinkError> {
        lock(&self.inner.links)
            .get(name)
            .cloned()
            .ok_or_else(|| LinkError::NotFound(name.to_owned()))
    }

    fn running(&self, name: &str) -> Result<(Arc<Entry>, Engine), LinkError> {
        let entry = self.entry(name)?;
        let engine = entry.engine().ok_or_else(|| LinkError::Unavailable {
            link: name.to_owned(),
            message: lock(&entry.error)
                .clone()
                .map_or_else(|| "starting".into(), |f| f.message),
        })?;
        Ok((entry, engine))
    }

    /// Connects to a link's source, as its configs say.
    async fn connect_source(&self, record: &LinkRecord) -> Result<Client, LinkError> {
        let bootstrap = record.configs.get("bootstrap.servers").ok_or_else(|| {
            LinkError::Invalid(format!(
                "Cluster link '{}' has no bootstrap.servers",
                record.name
            ))
        })?;
        let mut config = ClientConfig::new(bootstrap);
        config.retry.timeout = self.inner.options.connect_timeout;
        config.connection.connect_timeout = self.inner.options.connect_timeout;
        remote_security(record)?.apply(&mut config);
        if let Some(ms) = record
            .configs
            .get("metadata.max.age.ms")
            .and_then(|v| v.parse().ok())
        {
            config.metadata_max_age = Duration::from_millis(ms);
        }
        if let Some(ms) = record
            .configs
            .get("retry.backoff.ms")
            .and_then(|v| v.parse().ok())
        {
            config.retry.initial_backoff = Duration::from_millis(ms);
        }
        let client = Client::connect(config)
            .await
            .map_err(|e| remote_error(&record.name, e))?;
        // Once connected, the link keeps retrying for as long as the engine's own timeout.
        Ok(client)
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
        let mut settings = self.inner.options.engine.clone();
        settings.name = record.engine_name();
        if let Some(ms) = record
            .configs
            .get("cluster.link.retry.timeout.ms")
            .and_then(|v| v.parse().ok())
        {
            settings.retry_timeout = Duration::from_millis(ms);
        }
        let engine = Engine::start(settings, source, self.inner.local.clone()).await?;
        engine.set_link_paused(link_paused(record));
        Ok(engine)
    }

    /// Keeps trying to start a link's engine until it runs or the generation moves on.
    fn restart_in_background(&self, entry: Arc<Entry>, generation: u64) {
        let manager = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(manager.inner.options.restart_backoff).await;
                if entry.generation.load(Ordering::SeqCst) != generation {
                    return;
                }
                let record = entry.record();
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
                        return;
                    }
                    Err(e) => entry.set_error(Some(&e)),
                }
            }
        });
    }

    /// Creates a link. With `validate_link`, the source must be reachable and be the cluster
    /// `source_cluster_id` names; with `validate_only`, nothing is created.
    pub async fn create_link(
        &self,
        link: NewLink,
        validate_only: bool,
        validate_link: bool,
    ) -> Result<(), LinkError> {
        check_link_name(&link.name)?;
        let mut configs = BTreeMap::new();
        for (name, value) in &link.configs {
            configs.insert(name.clone(), configs::validate(name, value)?);
        }
        configs::validate_set(&configs)?;
        let link_mode = configs
            .get("link.mode")
            .map_or("DESTINATION", String::as_str);
        let connection_mode = configs
            .get("connection.mode")
            .map_or("OUTBOUND", String::as_str);
        if let Some(id) = &link.cluster_link_id {
            if link_mode == "BIDIRECTIONAL" && connection_mode == "INBOUND" {
                return Err(LinkError::Invalid(
                    "cluster_link_id must not be given for a bidirectional INBOUND link: the INBOUND side creates the link id and the OUTBOUND side uses it".into(),
                ));
            }
            if link_mode == "DESTINATION" {
                return Err(LinkError::Invalid(
                    "cluster_link_id names the other half of a link pair (bidirectional, or the SOURCE side of a source-initiated link); this link's link.mode is DESTINATION".into(),
                ));
            }
            if id.is_empty()
                || id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(LinkError::Invalid(format!(
                    "cluster_link_id '{id}' is not a link id (1 to 64 characters of A-Z, a-z, 0-9, - and _)"
                )));
            }
        }
        let inbound = connection_mode == "INBOUND";
        if inbound && link_mode == "SOURCE" {
            return Err(LinkError::Invalid(
                "a link with link.mode SOURCE opens the connection: its connection.mode must be OUTBOUND".into(),
            ));
        }
        if inbound {
            if configs.contains_key("bootstrap.servers") {
                return Err(LinkError::Invalid(
                    "an INBOUND link opens no connection: bootstrap.servers must not be set (the source side's OUTBOUND link connects here)".into(),
                ));
            }
            if link.source_cluster_id.is_none() {
                return Err(LinkError::Invalid(
                    "an INBOUND link needs the id of the cluster that connects to it (source_cluster_id, or remote_cluster_id for a bidirectional link)".into(),
                ));
            }
        } else if !configs.contains_key("bootstrap.servers") {
            return Err(LinkError::Invalid(
                "bootstrap.servers is required: an OUTBOUND link connects to the remote cluster"
                    .into(),
            ));
        }
        if link.source_cluster_id.as_deref() == Some(self.cluster_id()) {
            return Err(LinkError::LinkToSelf(self.cluster_id().to_owned()));
        }
        let _guard = self.inner.changes.lock().await;
        if lock(&self.inner.links).contains_key(&link.name) {
            return Err(LinkError::AlreadyExists(link.name));
        }
        let mut record = LinkRecord {
            name: link.name.clone(),
            id: link.cluster_link_id.clone().unwrap_or_else(new_id),
            source_cluster_id: link.source_cluster_id.clone(),
            configs,
            created_ms: now_ms(),
        };
        if !inbound {
            // Unusable TLS or SASL settings are the request's fault, whether or not the link
            // is validated by connecting.
            remote_security(&record)?;
            local_security(&record)?;
        }
        let mut source = None;
        if validate_link && !inbound {
            let client = self.connect_source(&record).await?;
            let actual =
                cluster_id_of(&client)
                    .await
                    .map_err(|e| LinkError::SourceUnreachable {
                        link: record.name.clone(),
                        message: e.to_string(),
                    })?;
            if actual == self.cluster_id() {
                return Err(LinkError::LinkToSelf(actual));
            }
            match &record.source_cluster_id {
                Some(expected) if *expected != actual => {
                    return Err(LinkError::ClusterIdMismatch {
                        expected: expected.clone(),
                        actual,
                    })
                }
                _ => record.source_cluster_id = Some(actual),
            }
            source = Some(client);
        }
        if validate_only {
            return Ok(());
        }
        self.put_record(&record).await?;
        let entry = Arc::new(Entry {
            record: Mutex::new(record.clone()),
            engine: Mutex::new(None),
            pusher: Mutex::new(None),
            error: Mutex::new(Some(Failure::starting())),
            generation: AtomicU64::new(0),
        });
        lock(&self.inner.links).insert(record.name.clone(), entry.clone());
        self.start(&entry, &record, source).await;
        self.refresh_inbound().await;
        info!(link = %record.name, id = %record.id, source = record.source_cluster_id.as_deref().unwrap_or("?"), "link created");
        Ok(())
    }

    /// Starts what a link runs: its engine when it pulls (retried in the background while the
    /// remote cannot be reached), its pusher when it pushes; nothing for an INBOUND link.
    async fn start(&self, entry: &Arc<Entry>, record: &LinkRecord, source: Option<Client>) {
        if record.pulls() {
            match self.start_engine(record, source).await {
                Ok(engine) => {
                    *lock(&entry.engine) = Some(engine);
                    entry.set_error(None);
                }
                Err(e) => {
                    entry.set_error(Some(&e));
                    let generation = entry.generation.load(Ordering::SeqCst);
                    self.restart_in_background(entry.clone(), generation);
                }
            }
        } else {
            entry.set_error(None);
        }
        if record.pushes() {
            self.restart_pusher(entry, record).await;
        }
    }

    /// (Re)starts a link's pusher. One pusher (one engine of that name) at a time: the old one
    /// stops first. Settings that cannot be used (stored before they were checked) leave no
    /// pusher, and the link's status says why.
    async fn restart_pusher(&self, entry: &Entry, record: &LinkRecord) {
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
        let mut remote = ClientConfig::new(
            record
                .configs
                .get("bootstrap.servers")
                .map_or("", String::as_str),
        );
        remote.retry.timeout = self.inner.options.connect_timeout;
        remote.connection.connect_timeout = self.inner.options.connect_timeout;
        // The pushing engine writes there: as many connections as the server writes locally with.
        remote.produce_connections = self.inner.local.config().produce_connections;
        remote_security(record)?.apply(&mut remote);
        let mut settings = self.inner.options.engine.clone();
        if let Some(ms) = record
            .configs
            .get("cluster.link.retry.timeout.ms")
            .and_then(|v| v.parse().ok())
        {
            settings.retry_timeout = Duration::from_millis(ms);
        }
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

    /// Re-reads the local state topic for INBOUND links' views.
    async fn refresh_inbound(&self) {
        let any = lock(&self.inner.links)
            .values()
            .any(|e| e.record().is_inbound());
        if !any {
            return;
        }
        match self.inner.store.load().await {
            Ok(all) => {
                let mut beats = lock(&self.inner.heartbeats);
                for (k, v) in all.range(state_keys::HEARTBEAT_PREFIX.to_string()..) {
                    let Some(engine) = state_keys::heartbeat_of(k) else {
                        break;
                    };
                    let changed = beats.get(engine).is_none_or(|(old, _)| old != v);
                    if changed {
                        beats.insert(engine.to_string(), (v.clone(), std::time::Instant::now()));
                    }
                }
                drop(beats);
                *lock(&self.inner.inbound) = all;
            }
            Err(e) => warn!(error = %e, "reading the state topic for INBOUND links failed"),
        }
    }

    fn spawn_inbound_refresher(&self) {
        let weak = Arc::downgrade(&self.inner);
        let every = self
            .inner
            .options
            .engine
            .metadata_interval
            .min(Duration::from_secs(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(inner) = weak.upgrade() else { return };
                LinkManager { inner }.refresh_inbound().await;
            }
        });
    }

    /// The periodic duties of pulling links, each at its own interval: consumer offset sync
    /// (`consumer.offset.sync.*`, see `clusterlink_mirror::offset_sync`) and auto-created
    /// mirror topics (`auto.create.mirror.topics.*`).
    fn spawn_housekeeping(&self) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut state: BTreeMap<String, Housekeeping> = BTreeMap::new();
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let Some(inner) = weak.upgrade() else { return };
                let manager = LinkManager { inner };
                let entries: Vec<Arc<Entry>> =
                    lock(&manager.inner.links).values().cloned().collect();
                let mut live = BTreeSet::new();
                for entry in entries {
                    let record = entry.record();
                    let Some(engine) = entry.engine().filter(|_| record.pulls()) else {
                        continue;
                    };
                    live.insert(record.engine_name());
                    let h = state.entry(record.engine_name()).or_default();
                    manager.sync_offsets(&record, &engine, h).await;
                    manager.auto_create(&record, &engine, h).await;
                    manager.sync_topic_configs(&record, &engine, h).await;
                }
                state.retain(|k, _| live.contains(k));
            }
        });
    }

    async fn sync_offsets(&self, record: &LinkRecord, engine: &Engine, h: &mut Housekeeping) {
        let setting = |k: &str| record.configs.get(k).map(String::as_str);
        match h
            .offsets
            .run_if_due(engine, &self.inner.local, setting)
            .await
        {
            Ok(Some(r)) if r.committed > 0 => {
                info!(link = %record.name, groups = r.groups, committed = r.committed, "consumer offsets synced")
            }
            Ok(_) => {}
            Err(e) => {
                self.count_error(e.category());
                warn!(link = %record.name, error = %e, "consumer offset sync failed; retrying next round");
            }
        }
    }

    /// Topic config sync, every `topic.config.sync.ms` (Confluent's default: 5 s).
    async fn sync_topic_configs(&self, record: &LinkRecord, engine: &Engine, h: &mut Housekeeping) {
        let every = Duration::from_millis(
            record
                .configs
                .get("topic.config.sync.ms")
                .and_then(|v| v.parse().ok())
                .unwrap_or(5_000),
        );
        if h.configs_at.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        h.configs_at = Some(std::time::Instant::now());
        if let Err(e) = engine.sync_topic_configs().await {
            self.count_error(e.category());
            warn!(link = %record.name, error = %e, "topic config sync failed; retrying next round");
        }
    }

    /// Creates mirrors for the source topics the link's auto-create filters select (internal
    /// topics, whose names start with `_`, never). A topic that cannot be mirrored (a
    /// destination topic of that name exists, ...) is reported once and not tried again until
    /// the server restarts.
    async fn auto_create(&self, record: &LinkRecord, engine: &Engine, h: &mut Housekeeping) {
        let c = &record.configs;
        if c.get("auto.create.mirror.topics.enable")
            .is_none_or(|v| v != "true")
        {
            return;
        }
        let every = self.inner.options.engine.metadata_interval;
        if h.auto_at.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        h.auto_at = Some(std::time::Instant::now());
        let filters = match NameFilters::parse(
            c.get("auto.create.mirror.topics.filters")
                .map_or("", String::as_str),
            "topicFilters",
        ) {
            Ok(f) => f,
            Err(e) => {
                warn!(link = %record.name, error = %e, "auto.create.mirror.topics.filters unusable");
                return;
            }
        };
        let topics = match engine.source().refresh_metadata(None).await {
            Ok(md) => md.topics.into_keys().collect::<Vec<_>>(),
            Err(e) => {
                warn!(link = %record.name, error = %e, "listing the source's topics for auto-create failed");
                return;
            }
        };
        let prefix = c.get("cluster.link.prefix").map_or("", String::as_str);
        for topic in topics {
            if topic.starts_with('_')
                || !filters.includes(&topic)
                || h.auto_failed.contains(&topic)
                || engine.status(&format!("{prefix}{topic}")).is_some()
            {
                continue;
            }
            let new = NewMirror {
                source_topic: topic.clone(),
                ..Default::default()
            };
            match self.create_mirror(&record.name, new).await {
                Ok(()) => info!(link = %record.name, %topic, "mirror topic auto-created"),
                Err(e) => {
                    warn!(link = %record.name, %topic, error = %e, "auto-create of a mirror topic failed; not retried");
                    h.auto_failed.insert(topic);
                }
            }
        }
    }

    fn inbound_view(&self, record: &LinkRecord) -> InboundView {
        InboundView::read(&lock(&self.inner.inbound), &record.engine_name())
    }

    /// The mirrors of a link: its engine's, or for an INBOUND link what its OUTBOUND side
    /// reported (PENDING_MIRROR until created).
    fn entry_mirrors(&self, entry: &Entry) -> Vec<MirrorStatus> {
        let record = entry.record();
        if record.is_inbound() {
            return self.inbound_view(&record).mirrors();
        }
        entry.engine().map(|e| e.list()).unwrap_or_default()
    }

    /// Writes control records for an INBOUND link and shows them at once.
    async fn put_controls(
        &self,
        record: &LinkRecord,
        controls: &[(String, Control)],
    ) -> Result<(), LinkError> {
        let engine = record.engine_name();
        let entries: Vec<(String, Option<Vec<u8>>)> = controls
            .iter()
            .map(|(topic, c)| {
                (
                    state_keys::control(&engine, topic),
                    serde_json::to_vec(c).ok(),
                )
            })
            .collect();
        self.inner
            .store
            .put(&entries)
            .await
            .map_err(LinkError::Local)?;
        let mut cache = lock(&self.inner.inbound);
        for (k, v) in entries {
            if let Some(v) = v {
                cache.insert(k, v);
            }
        }
        Ok(())
    }

    async fn put_record(&self, record: &LinkRecord) -> Result<(), LinkError> {
        let stored = encrypt_sensitive(record, self.inner.options.password_encoder.as_ref())?;
        let value = serde_json::to_vec(&stored).map_err(|e| LinkError::State(e.to_string()))?;
        self.inner
            .store
            .put(&[(state_keys::link(&record.name), Some(value))])
            .await
            .map_err(LinkError::Local)
    }

    fn info(&self, entry: &Entry) -> LinkInfo {
        let record = entry.record();
        let mirrors = self.entry_mirrors(entry);
        let mut mirror_states = BTreeMap::new();
        for m in &mirrors {
            *mirror_states.entry(m.state.as_str()).or_insert(0) += 1;
        }
        let failure = lock(&entry.error).clone();
        let mut authentication_failed = failure.as_ref().is_some_and(|f| f.authentication);
        let mut error = failure.map(|f| f.message);
        let mut up = entry.engine().is_some();
        if record.is_inbound() {
            up = lock(&self.inner.heartbeats)
                .get(&record.engine_name())
                .is_some_and(|(_, seen)| seen.elapsed() < source_initiated::HEARTBEAT_FRESH);
            if !up {
                error = Some(format!(
                    "INBOUND link: waiting for its OUTBOUND side (the link '{}' on cluster {}) to connect",
                    record.name,
                    record.source_cluster_id.as_deref().unwrap_or("?")
                ));
            }
        } else if !record.pulls() {
            let push = lock(&entry.pusher).as_ref().map(|p| p.state());
            up = push
                .as_ref()
                .is_some_and(|p| p.engine.is_some() && p.error.is_none());
            // Without a pusher, the reason it could not start.
            if let Some(p) = push {
                error = p.error;
                authentication_failed = p.authentication;
            }
        } else if record.pushes() {
            // A bidirectional link pulls and pushes. Its pusher's "waiting for the INBOUND
            // link" is no error of the link (an outbound-outbound pair never has one), but
            // credentials refused on the pushing side are.
            if let Some(p) = lock(&entry.pusher).as_ref().map(|p| p.state()) {
                if p.authentication {
                    up = false;
                    error = p.error;
                    authentication_failed = true;
                }
            }
        }
        LinkInfo {
            name: record.name.clone(),
            id: record.id.clone(),
            // A SOURCE link's remote is the destination.
            source_cluster_id: if record.link_mode() == "SOURCE" {
                Some(self.cluster_id().to_owned())
            } else {
                record.source_cluster_id.clone()
            },
            destination_cluster_id: if record.link_mode() == "SOURCE" {
                record.source_cluster_id.clone().unwrap_or_default()
            } else {
                self.cluster_id().to_owned()
            },
            remote_cluster_id: (record.link_mode() == "BIDIRECTIONAL")
                .then(|| record.source_cluster_id.clone())
                .flatten(),
            topic_names: mirrors.iter().map(|m| m.name.clone()).collect(),
            state: match (up, link_paused(&record)) {
                (true, true) => "PAUSED",
                (true, false) => "ACTIVE",
                _ => "UNAVAILABLE",
            },
            error_message: error,
            authentication_failed: authentication_failed && !up,
            not_applied: configs::not_applied(&record.configs),
            mirror_states,
        }
    }

    /// The link server's own state topic (links, mirrors, checkpoints): never to be deleted or
    /// altered through the API.
    pub fn state_topic(&self) -> &str {
        &self.inner.options.engine.state_topic
    }

    /// Every link.
    pub fn links(&self) -> Vec<LinkInfo> {
        let entries: Vec<Arc<Entry>> = lock(&self.inner.links).values().cloned().collect();
        entries.iter().map(|e| self.info(e)).collect()
    }

    /// One link.
    pub fn link(&self, name: &str) -> Result<LinkInfo, LinkError> {
        let entry = self.entry(name)?;
        Ok(self.info(&entry))
    }

    /// Deletes a link: its engine stops and its state is removed. Its mirror topics stay on the
    /// local cluster as ordinary topics. Without `force`, a link with mirrors that are not
    /// stopped is refused.
    pub async fn delete_link(
        &self,
        name: &str,
        force: bool,
        validate_only: bool,
    ) -> Result<(), LinkError> {
        let _guard = self.inner.changes.lock().await;
        let entry = self.entry(name)?;
        if !force {
            let live: Vec<String> = self
                .entry_mirrors(&entry)
                .into_iter()
                .filter(|m| m.state != MirrorState::Stopped)
                .map(|m| m.name)
                .collect();
            if !live.is_empty() {
                return Err(LinkError::HasMirrors {
                    link: name.to_owned(),
                    count: live.len(),
                    names: live.join(", "),
                });
            }
        }
        if validate_only {
            return Ok(());
        }
        entry.generation.fetch_add(1, Ordering::SeqCst);
        let engine = lock(&entry.engine).take();
        if let Some(engine) = engine {
            if let Err(e) = engine.stop().await {
                warn!(link = %name, error = %e, "final checkpoint of a deleted link failed");
            }
        }
        let pusher = lock(&entry.pusher).take();
        if let Some(p) = pusher {
            p.stop().await;
        }
        let record = entry.record();
        let mut prefixes = state_keys::engine_prefixes(&record.engine_name()).to_vec();
        if record.is_inbound() {
            prefixes.extend(state_keys::exchange_prefixes(&record.engine_name()));
        }
        let all = self.inner.store.load().await.map_err(LinkError::Local)?;
        let mut tombstones: Vec<(String, Option<Vec<u8>>)> = all
            .keys()
            .filter(|k| prefixes.iter().any(|p| k.starts_with(p.as_str())))
            .map(|k| (k.clone(), None))
            .collect();
        tombstones.push((state_keys::link(name), None));
        self.inner
            .store
            .put(&tombstones)
            .await
            .map_err(LinkError::Local)?;
        lock(&self.inner.links).remove(name);
        info!(link = %name, force, "link deleted");
        Ok(())
    }

    /// Every known link config of a link, set or default (secrets without their value).
    pub fn configs(&self, name: &str) -> Result<Vec<LinkConfig>, LinkError> {
        let record = self.entry(name)?.record();
        let mut names: BTreeSet<String> = configs::DEFS
            .iter()
            .filter(|d| d.default.is_some() || record.configs.contains_key(d.name))
            .map(|d| d.name.to_owned())
            .collect();
        names.extend(record.configs.keys().cloned());
        let not_applied = configs::not_applied(&record.configs);
        Ok(names
            .into_iter()
            .map(|n| {
                let def = configs::lookup(&n);
                let set = record.configs.get(&n);
                let sensitive = configs::is_sensitive(&n);
                let value = if sensitive {
                    None
                } else {
                    set.cloned()
                        .or_else(|| def.and_then(|d| d.default).map(str::to_owned))
                };
                LinkConfig {
                    is_default: set.is_none(),
                    read_only: def.is_some_and(|d| d.immutable),
                    // `local.*` settings apply to some links only: their record says.
                    applied: !not_applied.contains(&n)
                        && (def.is_some_and(|d| d.applied)
                            || (n.starts_with("local.") && set.is_some())),
                    sensitive,
                    value,
                    name: n,
                }
            })
            .collect())
    }

    /// One link config.
    pub fn config(&self, link: &str, name: &str) -> Result<LinkConfig, LinkError> {
        if let Some(c) = self.configs(link)?.into_iter().find(|c| c.name == name) {
            return Ok(c);
        }
        // Known but neither set nor defaulted.
        let def = configs::lookup(name).ok_or_else(|| ConfigError::Unknown(name.to_owned()))?;
        Ok(LinkConfig {
            name: name.to_owned(),
            value: None,
            is_default: true,
            read_only: def.immutable,
            sensitive: configs::is_sensitive(name),
            applied: def.applied,
        })
    }

    /// Changes link configs, all or nothing. A change of the source connection (its address,
    /// TLS or SASL settings) or the retry timeout restarts the link's engine (its mirrors resume
    /// from their checkpoints).
    pub async fn alter_configs(
        &self,
        link: &str,
        ops: &[ConfigOp],
        validate_only: bool,
    ) -> Result<(), LinkError> {
        let _guard = self.inner.changes.lock().await;
        let entry = self.entry(link)?;
        let old = entry.record();
        let mut record = old.clone();
        for op in ops {
            let name = match op {
                ConfigOp::Set(n, _) | ConfigOp::Delete(n) => n,
            };
            let def = configs::lookup(name).ok_or_else(|| ConfigError::Unknown(name.clone()))?;
            match op {
                ConfigOp::Set(n, v) => {
                    let v = configs::validate(n, v)?;
                    if def.immutable && record.configs.get(n) != Some(&v) {
                        return Err(ConfigError::Immutable(n.clone()).into());
                    }
                    record.configs.insert(n.clone(), v);
                }
                ConfigOp::Delete(n) => {
                    if n == "bootstrap.servers" {
                        return Err(LinkError::Invalid(
                            "bootstrap.servers cannot be reset: the link needs it".into(),
                        ));
                    }
                    if def.immutable && record.configs.contains_key(n) {
                        return Err(ConfigError::Immutable(n.clone()).into());
                    }
                    record.configs.remove(n);
                }
            }
        }
        configs::validate_set(&record.configs)?;
        if !record.is_inbound() {
            remote_security(&record)?;
            local_security(&record)?;
        }
        let restart_keys = [
            "bootstrap.servers",
            "cluster.link.retry.timeout.ms",
            "metadata.max.age.ms",
            "retry.backoff.ms",
        ];
        // New credentials or TLS settings reconnect too: toward the remote cluster, everything
        // of the link; toward the local one (`local.*`), its pusher only.
        let changed = |k: &str| old.configs.get(k) != record.configs.get(k);
        let security_changed = |local: bool| {
            old.configs
                .keys()
                .chain(record.configs.keys())
                .any(|k| k.starts_with("local.") == local && is_security_config(k) && changed(k))
        };
        let restart = security_changed(false) || restart_keys.iter().any(|k| changed(k));
        let local_changed = security_changed(true);
        let mut source = None;
        if old.configs.get("bootstrap.servers") != record.configs.get("bootstrap.servers") {
            // The new address must reach the same source cluster.
            let client = self.connect_source(&record).await?;
            let actual =
                cluster_id_of(&client)
                    .await
                    .map_err(|e| LinkError::SourceUnreachable {
                        link: link.to_owned(),
                        message: e.to_string(),
                    })?;
            if let Some(expected) = &record.source_cluster_id {
                if *expected != actual {
                    return Err(LinkError::ClusterIdMismatch {
                        expected: expected.clone(),
                        actual,
                    });
                }
            }
            source = Some(client);
        }
        if validate_only {
            return Ok(());
        }
        self.put_record(&record).await?;
        *lock(&entry.record) = record.clone();
        if let Some(engine) = entry.engine() {
            engine.set_link_paused(link_paused(&record));
        }
        if (restart || local_changed) && record.pushes() {
            self.restart_pusher(&entry, &record).await;
        }
        if restart && record.pulls() {
            let generation = entry.generation.fetch_add(1, Ordering::SeqCst) + 1;
            let engine = lock(&entry.engine).take();
            if let Some(engine) = engine {
                // The new engine replays from the last stored checkpoint: a failed final
                // checkpoint costs a longer replay, never the link's engine.
                if let Err(e) = engine.stop().await {
                    warn!(link = %record.name, error = %e, "final checkpoint before the restart failed");
                }
            }
            match self.start_engine(&record, source).await {
                Ok(engine) => {
                    *lock(&entry.engine) = Some(engine);
                    entry.set_error(None);
                }
                Err(e) => {
                    entry.set_error(Some(&e));
                    self.restart_in_background(entry, generation);
                }
            }
            info!(link = %link, "link configs changed; engine restarted");
        }
        Ok(())
    }

    /// Creates a mirror topic on a link.
    pub async fn create_mirror(&self, link: &str, mirror: NewMirror) -> Result<(), LinkError> {
        let entry = self.entry(link)?;
        let record = entry.record();
        if !record.pulls() && !record.is_inbound() {
            return Err(LinkError::Invalid(format!(
                "Cluster link '{link}' has link.mode SOURCE: its mirror topics are created on the destination cluster's INBOUND link of the same name"
            )));
        }
        if mirror.source_topic.is_empty() {
            return Err(LinkError::Invalid("source_topic_name is required".into()));
        }
        let prefix = record
            .configs
            .get("cluster.link.prefix")
            .cloned()
            .unwrap_or_default();
        let expected = format!("{prefix}{}", mirror.source_topic);
        let name = match mirror.mirror_topic {
            Some(n) if !prefix.is_empty() && n != expected => {
                return Err(LinkError::Invalid(format!(
                    "Mirror topic name '{n}' must be the link's prefix '{prefix}' followed by the source topic name: '{expected}'"
                )))
            }
            Some(n) if n.is_empty() => expected,
            Some(n) => n,
            None => expected,
        };
        let start = match record
            .configs
            .get("mirror.start.offset.spec")
            .map(String::as_str)
        {
            None | Some("earliest") => StartSpec::Earliest,
            Some("latest") => StartSpec::Latest,
            Some(ts) => StartSpec::Timestamp(configs::parse_iso8601_ms(ts).ok_or_else(|| {
                LinkError::Invalid(format!("bad mirror.start.offset.spec '{ts}'"))
            })?),
        };
        if let Some(other) = self.owner_of(&name) {
            return Err(MirrorError::DestinationExists(format!(
                "{name} (a mirror of link {other})"
            ))
            .into());
        }
        let spec = MirrorSpec {
            name,
            source_topic: mirror.source_topic,
            configs: mirror.configs,
            replication_factor: mirror.replication_factor,
            start,
        };
        if record.is_inbound() {
            // The OUTBOUND side creates it; what can be checked here is checked now.
            match self.inner.local.topic_metadata(&spec.name).await {
                Ok(_) => {
                    return Err(MirrorError::DestinationExists(spec.name.clone()).into());
                }
                Err(e) if e.is(ResponseError::UnknownTopicOrPartition) => {}
                Err(e) => return Err(LinkError::Local(e)),
            }
            let name = spec.name.clone();
            return self
                .put_controls(
                    &record,
                    &[(
                        name,
                        Control::Mirror {
                            spec,
                            desired: Desired::Active,
                        },
                    )],
                )
                .await;
        }
        let (_, engine) = self.running(link)?;
        self.check_no_loop(&record, &engine, &spec.source_topic)
            .await?;
        engine.create_mirror(spec, Desired::Active).await?;
        Ok(())
    }

    /// Refuses a mirror whose source topic is itself a live mirror, on the source cluster, of a
    /// topic of this cluster: the two halves of a link pair (or two links facing each other)
    /// would copy records back to where they came from. What the other cluster's link server
    /// recorded in its state topic tells; a cluster without clusterlink state has no mirrors we
    /// could loop through. A mirror that was promoted or failed over is an ordinary topic and
    /// may be mirrored back (the reverse direction of a disaster recovery).
    async fn check_no_loop(
        &self,
        record: &LinkRecord,
        engine: &Engine,
        source_topic: &str,
    ) -> Result<(), LinkError> {
        // A source we may not read the state of (ACLs: the link's principal usually has rights
        // on the mirrored topics only) runs no clusterlink we could loop through, or none we can
        // know of: the check is skipped rather than the mirror refused.
        let state = match clusterlink_mirror::store::read_state(
            engine.source(),
            engine.state_topic(),
        )
        .await
        {
            Ok(state) => state,
            Err(e) => {
                warn!(link = %record.name, error = %e, "the source's clusterlink state cannot be read: the loop check is skipped");
                return Ok(());
            }
        };
        if let Some((link_name, origin)) = live_mirror_from(&state, source_topic, self.cluster_id())
        {
            return Err(LinkError::Invalid(format!(
                "Topic '{source_topic}' on the source cluster is a mirror of topic '{origin}' of this cluster (link '{link_name}' there): mirroring it back would loop records between the clusters"
            )));
        }
        Ok(())
    }

    /// Mirrors of one link, or of every running link (`None`), with their link's name.
    pub fn mirrors(&self, link: Option<&str>) -> Result<Vec<(String, MirrorStatus)>, LinkError> {
        let entries: Vec<(String, Arc<Entry>)> = match link {
            Some(l) => vec![(l.to_owned(), self.entry(l)?)],
            None => lock(&self.inner.links)
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        Ok(entries
            .into_iter()
            .flat_map(|(name, e)| {
                self.entry_mirrors(&e)
                    .into_iter()
                    .map(move |m| (name.clone(), m))
            })
            .collect())
    }

    /// One mirror of a link.
    pub fn mirror(&self, link: &str, name: &str) -> Result<MirrorStatus, LinkError> {
        let entry = self.entry(link)?;
        if entry.record().is_inbound() {
            return self
                .entry_mirrors(&entry)
                .into_iter()
                .find(|m| m.name == name)
                .ok_or_else(|| MirrorError::NotFound(name.to_owned()).into());
        }
        let (_, engine) = self.running(link)?;
        engine
            .status(name)
            .ok_or_else(|| MirrorError::NotFound(name.to_owned()).into())
    }

    /// The link mirroring into topic `topic`, if any.
    pub fn owner_of(&self, topic: &str) -> Option<String> {
        let entries: Vec<(String, Arc<Entry>)> = lock(&self.inner.links)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        entries
            .into_iter()
            .find(|(_, e)| {
                if e.record().is_inbound() {
                    self.entry_mirrors(e).iter().any(|m| m.name == topic)
                } else {
                    e.engine().is_some_and(|e| e.status(topic).is_some())
                }
            })
            .map(|(k, _)| k)
    }

    /// Deletes a mirror topic (the destination topic goes with it).
    pub async fn delete_mirror(&self, link: &str, name: &str) -> Result<(), LinkError> {
        let entry = self.entry(link)?;
        let record = entry.record();
        if record.is_inbound() {
            if !self.entry_mirrors(&entry).iter().any(|m| m.name == name) {
                return Err(MirrorError::NotFound(name.to_owned()).into());
            }
            // The OUTBOUND side deletes the topic (and this request) when it next looks.
            return self
                .put_controls(&record, &[(name.to_owned(), Control::Delete)])
                .await;
        }
        let (_, engine) = self.running(link)?;
        Ok(engine.delete_mirror(name).await?)
    }

    /// Applies an action to mirrors of a link. Every name must be a mirror of the link (else
    /// nothing changes); the result per topic says whether its change was accepted.
    pub async fn alter_mirrors(
        &self,
        link: &str,
        names: &[String],
        action: MirrorAction,
        validate_only: bool,
    ) -> Result<Vec<(String, Result<MirrorStatus, LinkError>)>, LinkError> {
        let entry = self.entry(link)?;
        let record = entry.record();
        if record.is_inbound() {
            return self
                .alter_inbound_mirrors(&record, names, action, validate_only)
                .await;
        }
        let (_, engine) = self.running(link)?;
        if names.is_empty() {
            return Err(LinkError::Invalid(
                "mirror_topic_names must name at least one mirror topic".into(),
            ));
        }
        let missing: Vec<&str> = names
            .iter()
            .filter(|n| engine.status(n).is_none())
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(LinkError::NotAMirror {
                link: link.to_owned(),
                topics: missing.join(", "),
            });
        }
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            let result = if validate_only {
                Ok(())
            } else {
                engine.set_desired(n, action.desired()).await
            };
            let result = result.map_err(LinkError::from).and_then(|()| {
                engine
                    .status(n)
                    .ok_or_else(|| MirrorError::NotFound(n.clone()).into())
            });
            out.push((n.clone(), result));
        }
        Ok(out)
    }

    /// `alter_mirrors` for an INBOUND link: the desired states go into control records.
    async fn alter_inbound_mirrors(
        &self,
        record: &LinkRecord,
        names: &[String],
        action: MirrorAction,
        validate_only: bool,
    ) -> Result<Vec<(String, Result<MirrorStatus, LinkError>)>, LinkError> {
        if names.is_empty() {
            return Err(LinkError::Invalid(
                "mirror_topic_names must name at least one mirror topic".into(),
            ));
        }
        let view = self.inbound_view(record);
        let mut controls = Vec::new();
        let mut missing = Vec::new();
        for n in names {
            match view.controls.get(n) {
                Some(Control::Mirror { spec, .. }) => controls.push((
                    n.clone(),
                    Control::Mirror {
                        spec: spec.clone(),
                        desired: action.desired(),
                    },
                )),
                _ => missing.push(n.as_str()),
            }
        }
        if !missing.is_empty() {
            return Err(LinkError::NotAMirror {
                link: record.name.clone(),
                topics: missing.join(", "),
            });
        }
        if !validate_only {
            self.put_controls(record, &controls).await?;
        }
        let now = self.inbound_view(record).mirrors();
        Ok(names
            .iter()
            .map(|n| {
                let status = now
                    .iter()
                    .find(|m| &m.name == n)
                    .cloned()
                    .ok_or_else(|| MirrorError::NotFound(n.clone()).into());
                (n.clone(), status)
            })
            .collect())
    }

    /// Stops every engine (final checkpoints written) and pusher.
    pub async fn shutdown(&self) {
        let entries: Vec<Arc<Entry>> = lock(&self.inner.links).values().cloned().collect();
        for e in entries {
            e.generation.fetch_add(1, Ordering::SeqCst);
            let engine = lock(&e.engine).take();
            if let Some(engine) = engine {
                let _ = engine.stop().await;
            }
            let pusher = lock(&e.pusher).take();
            if let Some(p) = pusher {
                p.stop().await;
            }
        }
    }

    /// Whether the local cluster answers.
    pub async fn ready(&self) -> bool {
        self.inner.local.refresh_metadata(Some(&[])).await.is_ok()
    }
}

/// The record as stored: sensitive config values encrypted. Refuses sensitive values when no
/// password encoder secret is configured, rather than storing them in clear.
fn encrypt_sensitive(
    record: &LinkRecord,
    encoder: Option<&PasswordEncoder>,
) -> Result<LinkRecord, LinkError> {
    let mut stored = record.clone();
    for (name, value) in stored.configs.iter_mut() {
        if !crate::configs::is_sensitive(name) {
            continue;
        }
        let encoder = encoder.ok_or_else(|| {
            LinkError::Invalid(format!(
                "Config '{name}' is sensitive and this server has no password encoder secret to encrypt it at rest; start it with --password-encoder-secret-file"
            ))
        })?;
        *value = encoder
            .encrypt(value)
            .map_err(|e| LinkError::State(format!("encrypting '{name}': {e}")))?;
    }
    Ok(stored)
}

/// Decrypts a stored record's sensitive values in place.
fn decrypt_sensitive(
    record: &mut LinkRecord,
    encoder: Option<&PasswordEncoder>,
) -> Result<(), LinkError> {
    for (name, value) in record.configs.iter_mut() {
        // Only sensitive configs are ever encrypted: another value that merely looks encrypted
        // is a user's value, left alone.
        if !crate::configs::is_sensitive(name) || !PasswordEncoder::is_encrypted(value) {
            continue;
        }
        let encoder = encoder.ok_or_else(|| {
            LinkError::State(format!(
                "link '{}': config '{name}' is encrypted but this server has no password encoder secret",
                record.name
            ))
        })?;
        *value = encoder.decrypt(value).map_err(|e| {
            LinkError::State(format!("link '{}': config '{name}' {e}", record.name))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_22_url_safe_characters_and_differ() {
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 22);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, b);
    }

    #[test]
    fn link_names() {
        assert!(check_link_name("link-1.a_b").is_ok());
        for bad in ["", "-", "a/b", "a b", ".."] {
            assert!(check_link_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_of_a_link_never_shows_its_secrets() {
        let record = LinkRecord {
            name: "l".into(),
            id: "i".into(),
            source_cluster_id: None,
            configs: [
                ("sasl.mechanism", "PLAIN"),
                (
                    "sasl.jaas.config",
                    "x.PlainLoginModule required username=\"u\" password=\"hunter2\";",
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            created_ms: 0,
        };
        let shown = format!("{record:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("PLAIN"),
            "{shown}"
        );
    }

    #[test]
    fn errors_have_categories() {
        assert_eq!(LinkError::NotFound("x".into()).category(), "not_found");
        assert_eq!(
            LinkError::Config(ConfigError::Unknown("x".into())).category(),
            "unknown_config"
        );
        assert_eq!(LinkError::LinkToSelf("c".into()).category(), "invalid");
    }
}
