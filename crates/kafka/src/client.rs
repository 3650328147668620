//! The cluster client: bootstrap, metadata, routing, retries, and one method per Kafka API.
//!
//! Routing follows Kafka's rules: partition requests (Fetch, Produce, ListOffsets,
//! DeleteRecords) go to the partition leader, group requests to the group coordinator, topic
//! administration to the controller (brokers forward it anyway), and the rest to any broker.
//! Metadata is cached and refreshed when it is older than `metadata_max_age`, when a topic is
//! not known, and after any error that says it is stale (NOT_LEADER_OR_FOLLOWER and friends).
//!
//! Retries: only retriable errors are retried, with exponential backoff and jitter, until the
//! policy's deadline. Data-path calls that batch many partitions (`fetch`, `produce`) make one
//! attempt per leader and return per-partition results, because the caller (the mirroring loop)
//! already retries; the single-partition and admin calls retry by themselves. A produce is only
//! retried when it cannot duplicate data: when every batch carries a producer id (the broker
//! deduplicates), or when the broker said it did not append (a leader error).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::{self as m, ApiKey, BrokerId, GroupId, TopicName};
use kafka_protocol::protocol::{Request, StrBytes};
use tracing::{debug, instrument};

use crate::connection::{Connection, ConnectionConfig};
use crate::error::{Error, KafkaCode, Result};
use crate::records::{AbortedTxn, RawBatch};

/// Settings of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host:port` addresses to bootstrap from.
    pub bootstrap_servers: Vec<String>,
    /// Per-connection settings.
    pub connection: ConnectionConfig,
    /// How retriable errors are retried.
    pub retry: RetryPolicy,
    /// Metadata older than this is refreshed before use.
    pub metadata_max_age: Duration,
    /// Connections per broker that produce requests are spread over (2 by default). A partition
    /// always uses the same one, so its writes stay in order; several let a broker append in
    /// parallel (Kafka handles one request per connection at a time).
    pub produce_connections: usize,
}

impl ClientConfig {
    /// Defaults with the given bootstrap list (comma-separated `host:port`).
    pub fn new(bootstrap: &str) -> Self {
        ClientConfig {
            bootstrap_servers: bootstrap
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            connection: ConnectionConfig::default(),
            retry: RetryPolicy::default(),
            metadata_max_age: Duration::from_secs(300),
            produce_connections: 2,
        }
    }
}

/// Exponential backoff with jitter, bounded by a total time.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// First backoff.
    pub initial_backoff: Duration,
    /// Largest backoff.
    pub max_backoff: Duration,
    /// No attempt starts after this much time has passed since the first.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
        }
    }
}

/// What the client knows of a cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterMetadata {
    /// Cluster id, where the broker reports one.
    pub cluster_id: Option<String>,
    /// The controller's node id (-1 if unknown).
    pub controller_id: i32,
    /// Brokers by node id, as `host:port`.
    pub brokers: BTreeMap<i32, String>,
    /// Topics asked for so far.
    pub topics: BTreeMap<String, TopicMetadata>,
}

/// One topic's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    /// Error reported for the topic (UNKNOWN_TOPIC_OR_PARTITION when it does not exist).
    pub error: Option<KafkaCode>,
    /// Whether the topic is internal to the broker.
    pub is_internal: bool,
    /// Partitions by index.
    pub partitions: BTreeMap<i32, PartitionMetadata>,
}

/// One partition's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    /// Leader node id (-1 when there is none).
    pub leader: i32,
    /// Leader epoch (-1 when unknown).
    pub leader_epoch: i32,
    /// Replica node ids.
    pub replicas: Vec<i32>,
    /// Partition error, if any.
    pub error: Option<KafkaCode>,
}

/// Isolation level of fetches and offset lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Isolation {
    /// Everything up to the high watermark, aborted data included.
    ReadUncommitted,
    /// Only up to the last stable offset; the response lists aborted transactions.
    ReadCommitted,
}

impl Isolation {
    fn code(self) -> i8 {
        match self {
            Isolation::ReadUncommitted => 0,
            Isolation::ReadCommitted => 1,
        }
    }
}

/// One partition to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPartition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// First offset wanted.
    pub offset: i64,
    /// Most bytes for this partition.
    pub max_bytes: i32,
}

/// A fetch over many partitions.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// Partitions to fetch.
    pub partitions: Vec<FetchPartition>,
    /// How long a broker may wait for `min_bytes`.
    pub max_wait: Duration,
    /// Bytes a broker waits for before answering.
    pub min_bytes: i32,
    /// Most bytes per response (per broker).
    pub max_bytes: i32,
    /// Isolation level.
    pub isolation: Isolation,
}

/// What one partition's fetch returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedPartition {
    /// Broker's high watermark (-1 when the broker did not report the partition, which some
    /// brokers do when it has no data).
    pub high_watermark: i64,
    /// Last stable offset (-1 when the broker does not report it).
    pub last_stable_offset: i64,
    /// Log start offset (-1 when the broker does not report it).
    pub log_start_offset: i64,
    /// Aborted transactions overlapping the returned data (read_committed only).
    pub aborted: Vec<AbortedTxn>,
    /// Raw record batches; the last one may be partial.
    pub records: Bytes,
}

/// Per-partition result of a batched call.
#[derive(Debug)]
pub struct PartitionResult<T> {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Outcome.
    pub result: Result<T>,
}

/// One partition's produce input.
#[derive(Debug, Clone)]
pub struct ProducePartition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Whole v2 record batches, concatenated.
    pub records: Bytes,
}

/// What a successful produce returned for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Produced {
    /// Offset given to the first record.
    pub base_offset: i64,
    /// Append time when the topic uses LogAppendTime, else -1.
    pub log_append_time: i64,
}

/// Which offset to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The log end offset (high watermark, or last stable offset with read_committed).
    Latest,
    /// The first offset whose timestamp is at least this (milliseconds).
    Timestamp(i64),
}

/// An offset returned by ListOffsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    /// The offset (-1 when no record matches a timestamp).
    pub offset: i64,
    /// The record's timestamp for timestamp lookups, else -1.
    pub timestamp: i64,
}

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// Topic name.
    pub name: String,
    /// Partition count (-1: broker default).
    pub partitions: i32,
    /// Replication factor (-1: broker default).
    pub replication_factor: i16,
    /// Topic configs.
    pub configs: Vec<(String, String)>,
}

/// The kind of resource whose configs are described or altered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigResource {
    /// A topic.
    Topic,
    /// A broker (name is its node id).
    Broker,
}

impl ConfigResource {
    fn code(self) -> i8 {
        match self {
            ConfigResource::Topic => 2,
            ConfigResource::Broker => 4,
        }
    }
}

/// One config as DescribeConfigs returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// Config name.
    pub name: String,
    /// Value; `None` for sensitive or unset values.
    pub value: Option<String>,
    /// Where the value comes from (Kafka's ConfigSource code: 1 topic, 5 default, ...).
    pub source: i8,
    /// Whether the value is sensitive.
    pub is_sensitive: bool,
    /// Whether the config is read-only.
    pub read_only: bool,
}

/// One change of IncrementalAlterConfigs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlterConfigOp {
    /// Set the config to a value.
    Set(String, String),
    /// Remove the override (back to the default).
    Delete(String),
}

/// The cluster as DescribeCluster reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    /// Cluster id.
    pub cluster_id: String,
    /// Controller node id.
    pub controller_id: i32,
    /// Brokers by node id, as `host:port`.
    pub brokers: BTreeMap<i32, String>,
}

struct Inner {
    config: ClientConfig,
    conns: Mutex<HashMap<String, Arc<Connection>>>,
    metadata: RwLock<(ClusterMetadata, Option<Instant>)>,
    stale: AtomicBool,
}

/// A client for one Kafka cluster; clone it freely (clones share connections and metadata).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("bootstrap", &self.inner.config.bootstrap_servers)
            .finish()
    }
}

fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_owned()))
}

fn opt_string(s: &Option<StrBytes>) -> Option<String> {
    s.as_ref().map(|s| s.as_str().to_owned())
}

impl Client {
    /// Connects to the cluster: contacts a bootstrap server and loads broker metadata.
    pub async fn connect(config: ClientConfig) -> Result<Self> {
        if config.bootstrap_servers.is_empty() {
            return Err(Error::Invalid("no bootstrap servers given".into()));
        }
        let client = Client {
            inner: Arc::new(Inner {
                config,
                conns: Mutex::new(HashMap::new()),
                metadata: RwLock::new((ClusterMetadata::default(), None)),
                stale: AtomicBool::new(true),
            }),
        };
        client
            .retry("bootstrap", || client.refresh_metadata(Some(&[])))
            .await?;
        Ok(client)
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

    fn read_metadata(&self) -> std::sync::RwLockReadGuard<'_, (ClusterMetadata, Option<Instant>)> {
        self.inner
            .metadata
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `op` until it succeeds, fails with a non-retriable error, or the policy's time is up.
    pub async fn retry<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let policy = &self.inner.config.retry;
        let start = Instant::now();
        let mut backoff = policy.initial_backoff;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let err = match op().await {
                Ok(v) => return Ok(v),
                Err(e) if !e.is_retriable() => return Err(e),
                Err(e) => e,
            };
            if err.needs_metadata_refresh() {
                self.invalidate_metadata();
            }
            let sleep = jitter(backoff);
            if start.elapsed() + sleep > policy.timeout {
                return Err(Error::RetriesExhausted {
                    attempts,
                    elapsed: start.elapsed(),
                    last: Box::new(err),
                });
            }
            debug!(what, attempts, error = %err, backoff = ?sleep, "retrying");
            tokio::time::sleep(sleep).await;
            backoff = (backoff * 2).min(policy.max_backoff);
        }
    }

    /// An open connection to `addr`, reusing the pooled one.
    async fn connection(&self, addr: &str) -> Result<Arc<Connection>> {
        self.connection_lane(addr, 0).await
    }

    /// An open connection to `addr`, lane `lane` (lane 0 is the one every request uses).
    async fn connection_lane(&self, addr: &str, lane: usize) -> Result<Arc<Connection>> {
        let key = if lane == 0 {
            addr.to_owned()
        } else {
            format!("{addr}#{lane}")
        };
        if let Some(c) = self.pooled(&key) {
            return Ok(c);
        }
        let conn = Arc::new(Connection::connect(addr, self.inner.config.connection.clone()).await?);
        let mut conns = self.inner.conns.lock().unwrap_or_else(|e| e.into_inner());
        match conns.get(&key) {
            // Another task connected meanwhile: use theirs, drop ours.
            Some(existing) if !existing.is_closed() => Ok(existing.clone()),
            _ => {
                conns.insert(key, conn.clone());
                Ok(conn)
            }
        }
    }

    /// How many pooled connections are open (one per broker at most).
    pub fn open_connections(&self) -> usize {
        let conns = self.inner.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.values().filter(|c| !c.is_closed()).count()
    }

    fn pooled(&self, addr: &str) -> Option<Arc<Connection>> {
        let conns = self.inner.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.get(addr).filter(|c| !c.is_closed()).cloned()
    }

    /// A connection to any reachable broker: pooled first, then known brokers, then bootstrap.
    async fn any_connection(&self) -> Result<Arc<Connection>> {
        let mut candidates: Vec<String> =
            self.read_metadata().0.brokers.values().cloned().collect();
        candidates.extend(self.inner.config.bootstrap_servers.iter().cloned());
        for addr in &candidates {
            if let Some(c) = self.pooled(addr) {
                return Ok(c);
            }
        }
        let mut last = None;
        for addr in &candidates {
            match self.connection(addr).await {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::NoRoute("no broker known".into())))
    }

    async fn node_connection(&self, node: i32) -> Result<Arc<Connection>> {
        self.node_connection_lane(node, 0).await
    }

    async fn node_connection_lane(&self, node: i32, lane: usize) -> Result<Arc<Connection>> {
        let addr = self.read_metadata().0.brokers.get(&node).cloned();
        match addr {
            Some(addr) => self.connection_lane(&addr, lane).await,
            None => Err(Error::NoRoute(format!(
                "broker {node} is not in the metadata"
            ))),
        }
    }

    /// Loads metadata for `topics` (every topic when `None`) and the broker list, and merges
    /// it into the cache.
    #[instrument(level = "debug", skip(self))]
    pub async fn refresh_metadata(&self, topics: Option<&[String]>) -> Result<ClusterMetadata> {
        let req = m::MetadataRequest::default()
            .with_topics(topics.map(|topics| {
                topics
                    .iter()
                    .map(|t| {
                        m::metadata_request::MetadataRequestTopic::default()
                            .with_name(Some(topic_name(t)))
                    })
                    .collect()
            }))
            .with_allow_auto_topic_creation(false);
        let conn = self.any_connection().await?;
        let (resp, _) = conn.send(&req).await?;
        let mut fresh = ClusterMetadata {
            cluster_id: opt_string(&resp.cluster_id),
            controller_id: resp.controller_id.0,
            brokers: resp
                .brokers
                .iter()
                .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
                .collect(),
            topics: BTreeMap::new(),
        };
        for t in &resp.topics {
            let Some(name) = &t.name else { continue };
            let code = |c: i16| {
                (c != 0).then_some(KafkaCode {
                    code: c,
                    message: None,
                })
            };
            fresh.topics.insert(
                name.0.as_str().to_owned(),
                TopicMetadata {
                    error: code(t.error_code),
                    is_internal: t.is_internal,
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| {
                            (
                                p.partition_index,
                                PartitionMetadata {
                                    leader: p.leader_id.0,
                                    leader_epoch: p.leader_epoch,
                                    replicas: p.replica_nodes.iter().map(|r| r.0).collect(),
                                    error: code(p.error_code),
                                },
                            )
                        })
                        .collect(),
                },
            );
        }
        let mut guard = self
            .inner
            .metadata
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let (cached, at) = &mut *guard;
        cached.cluster_id = fresh.cluster_id.clone();
        cached.controller_id = fresh.controller_id;
        cached.brokers = fresh.brokers.clone();
        for (name, t) in &fresh.topics {
            cached.topics.insert(name.clone(), t.clone());
        }
        *at = Some(Instant::now());
        self.inner.stale.store(false, Ordering::SeqCst);
        Ok(fresh)
    }

    /// Metadata of `topic`, from the cache when fresh. A missing topic is an
    /// UNKNOWN_TOPIC_OR_PARTITION error.
    pub async fn topic_metadata(&self, topic: &str) -> Result<TopicMetadata> {
        let cached = {
            let guard = self.read_metadata();
            let fresh = !self.inner.stale.load(Ordering::SeqCst)
                && guard
                    .1
                    .is_some_and(|at| at.elapsed() < self.inner.config.metadata_max_age);
            guard.0.topics.get(topic).filter(|_| fresh).cloned()
        };
        let t =
            match cached {
                Some(t) if t.error.is_none() => t,
                _ => {
                    let fresh = self.refresh_metadata(Some(&[topic.to_owned()])).await?;
                    fresh.topics.get(topic).cloned().ok_or_else(|| {
                        Error::kafka(3, None, format!("Metadata for topic {topic}"))
                    })?
                }
            };
        if let Some(e) = &t.error {
            return Err(Error::Kafka {
                code: e.clone(),
                context: format!("Metadata for topic {topic}"),
            });
        }
        Ok(t)
    }

    async fn leader_of(&self, topic: &str, partition: i32) -> Result<i32> {
        let t = self.topic_metadata(topic).await?;
        let p = t.partitions.get(&partition).ok_or_else(|| {
            Error::kafka(
                3,
                None,
                format!("partition {topic}-{partition} does not exist"),
            )
        })?;
        if p.leader < 0 {
            self.invalidate_metadata();
            return Err(Error::kafka(
                5,
                None,
                format!("{topic}-{partition} has no leader"),
            ));
        }
        Ok(p.leader)
    }

    /// Groups `(topic, partition, item)` by leader, failing those whose leader is unknown.
    async fn by_leader<T>(
        &self,
        items: Vec<(String, i32, T)>,
    ) -> (
        BTreeMap<i32, Vec<(String, i32, T)>>,
        Vec<PartitionResult<Never>>,
    ) {
        let mut groups: BTreeMap<i32, Vec<(String, i32, T)>> = BTreeMap::new();
        let mut failed = Vec::new();
        // One answer per partition for the whole call: several items of one partition (its
        // batches, in order) must go to the same broker even if metadata is refreshed meanwhile.
        let mut leaders: HashMap<(String, i32), Result<i32>> = HashMap::new();
        for (topic, partition, item) in items {
            let key = (topic.clone(), partition);
            let leader = match leaders.get(&key) {
                Some(l) => l.clone(),
                None => {
                    let l = self.leader_of(&topic, partition).await;
                    leaders.insert(key, l.clone());
                    l
                }
            };
            match leader {
                Ok(leader) => groups
                    .entry(leader)
                    .or_default()
                    .push((topic, partition, item)),
                Err(e) => failed.push(PartitionResult {
                    topic,
                    partition,
                    result: Err(e),
                }),
            }
        }
        (groups, failed)
    }

    /// Sends `req` to any broker, once.
    pub async fn send_to_any<R: Request>(&self, req: &R) -> Result<R::Response> {
        let conn = self.any_connection().await?;
        Ok(conn.send(req).await?.0)
    }

    /// Sends `req` to the controller (or any broker when the controller is unknown), once.
    pub async fn send_to_controller<R: Request>(&self, req: &R) -> Result<R::Response> {
        // KRaft brokers report a random broker as "controller" and forward; some brokers name
        // a controller that is not in the broker list: then any broker will do.
        let known = {
            let md = self.read_metadata();
            md.0.brokers
                .contains_key(&md.0.controller_id)
                .then_some(md.0.controller_id)
        };
        let conn = match known {
            Some(controller) => self.node_connection(controller).await?,
            None => self.any_connection().await?,
        };
        Ok(conn.send(req).await?.0)
    }

    /// Sends `req` to the coordinator of `group`, once.
    pub async fn send_to_coordinator<R: Request>(
        &self,
        group: &str,
        req: &R,
    ) -> Result<R::Response> {
        let node = self.find_coordinator(group).await?;
        let conn = self.node_connection(node).await?;
        Ok(conn.send(req).await?.0)
    }

    /// The API version a broker would be sent `api` at (for callers that depend on a feature).
    pub async fn api_version(&self, api: ApiKey) -> Result<i16> {
        self.any_connection().await?.version_for(api)
    }

    /// For every API this client speaks: the version it would use with a broker, or why not.
    pub async fn api_support(&self) -> Result<Vec<(ApiKey, Result<i16>)>> {
        let conn = self.any_connection().await?;
        Ok(ApiKey::iter()
            .filter(|k| crate::connection::max_supported_version(*k).is_some())
            .map(|k| (k, conn.version_for(k)))
            .collect())
    }

    // ---------------------------------------------------------------- cluster

    /// DescribeCluster: the cluster id, controller and brokers.
    pub async fn describe_cluster(&self) -> Result<ClusterInfo> {
        self.retry("DescribeCluster", || async {
            let resp = self
                .send_to_any(&m::DescribeClusterRequest::default())
                .await?;
            Error::check(resp.error_code, resp.error_message.as_deref(), || {
                "DescribeCluster".into()
            })?;
            Ok(ClusterInfo {
                cluster_id: resp.cluster_id.as_str().to_owned(),
                controller_id: resp.controller_id.0,
                brokers: resp
                    .brokers
                    .iter()
                    .map(|b| (b.broker_id.0, format!("{}:{}", b.host.as_str(), b.port)))
                    .collect(),
            })
        })
        .await
    }

    // ---------------------------------------------------------------- data path

    /// Fetches many partitions: one request per leader, sent concurrently, one attempt each.
    #[instrument(level = "debug", skip_all, fields(partitions = req.partitions.len()))]
    pub async fn fetch(&self, req: &FetchRequest) -> Vec<PartitionResult<FetchedPartition>> {
        if self.inner.stale.load(Ordering::SeqCst) {
            let topics: Vec<String> = dedup(req.partitions.iter().map(|p| p.topic.clone()));
            let _ = self.refresh_metadata(Some(&topics)).await;
        }
        let items = req
            .partitions
            .iter()
            .map(|p| (p.topic.clone(), p.partition, (p.offset, p.max_bytes)))
            .collect();
        self.to_leaders(items, |leader, parts| self.fetch_from(leader, req, parts))
            .await
    }

    /// Sends one request per partition leader, concurrently, and gathers the per-partition
    /// results; partitions without a known leader fail with the routing error. Marks metadata
    /// stale when a result says it is.
    async fn to_leaders<I, T, F, Fut>(
        &self,
        items: Vec<(String, i32, I)>,
        call: F,
    ) -> Vec<PartitionResult<T>>
    where
        F: Fn(i32, Vec<(String, i32, I)>) -> Fut,
        Fut: Future<Output = Vec<PartitionResult<T>>>,
    {
        let (groups, failed) = self.by_leader(items).await;
        let mut out: Vec<PartitionResult<T>> = failed.into_iter().map(retype).collect();
        let calls = groups
            .into_iter()
            .map(|(leader, parts)| call(leader, parts));
        for results in futures::future::join_all(calls).await {
            out.extend(results);
        }
        if out
            .iter()
            .any(|r| r.result.as_ref().is_err_and(Error::needs_metadata_refresh))
        {
            self.invalidate_metadata();
        }
        out
    }

    async fn fetch_from(
        &self,
        leader: i32,
        req: &FetchRequest,
        parts: Vec<(String, i32, (i64, i32))>,
    ) -> Vec<PartitionResult<FetchedPartition>> {
        let mut topics: Vec<m::fetch_request::FetchTopic> = Vec::new();
        for (topic, partition, (offset, max_bytes)) in &parts {
            let fp = m::fetch_request::FetchPartition::default()
                .with_partition(*partition)
                .with_fetch_offset(*offset)
                .with_partition_max_bytes(*max_bytes)
                .with_current_leader_epoch(-1)
                .with_last_fetched_epoch(-1)
                .with_log_start_offset(-1);
            match topics.iter_mut().find(|t| t.topic.0.as_str() == topic) {
                Some(t) => t.partitions.push(fp),
                None => topics.push(
                    m::fetch_request::FetchTopic::default()
                        .with_topic(topic_name(topic))
                        .with_partitions(vec![fp]),
                ),
            }
        }
        let request = m::FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(req.max_wait.as_millis().min(i32::MAX as u128) as i32)
            .with_min_bytes(req.min_bytes)
            .with_max_bytes(req.max_bytes)
            .with_isolation_level(req.isolation.code())
            .with_session_id(0)
            .with_session_epoch(-1)
            .with_topics(topics);
        let all_fail = |e: Error| {
            parts
                .iter()
                .map(|(t, p, _)| PartitionResult {
                    topic: t.clone(),
                    partition: *p,
                    result: Err(e.clone()),
                })
                .collect::<Vec<_>>()
        };
        let resp = match self.node_connection(leader).await {
            Ok(conn) => conn.send(&request).await.map(|r| r.0),
            Err(e) => Err(e),
        };
        let resp = match resp {
            Ok(r) => r,
            Err(e) => return all_fail(e),
        };
        if resp.error_code != 0 {
            return all_fail(Error::kafka(resp.error_code, None, "Fetch"));
        }
        let mut out = Vec::with_capacity(parts.len());
        for (topic, partition, _) in &parts {
            let data = resp
                .responses
                .iter()
                .filter(|t| t.topic.0.as_str() == topic)
                .flat_map(|t| t.partitions.iter())
                .find(|p| p.partition_index == *partition);
            let result = match data {
                // tansu leaves out partitions that have no data when the wait expires (Kafka
                // lists every partition asked for): no data, and no watermarks to report.
                None => Ok(FetchedPartition {
                    high_watermark: -1,
                    last_stable_offset: -1,
                    log_start_offset: -1,
                    aborted: vec![],
                    records: Bytes::new(),
                }),
                Some(p) if p.error_code != 0 => Err(Error::kafka(
                    p.error_code,
                    None,
                    format!("Fetch {topic}-{partition}"),
                )),
                Some(p) => Ok(FetchedPartition {
                    high_watermark: p.high_watermark,
                    last_stable_offset: p.last_stable_offset,
                    log_start_offset: p.log_start_offset,
                    aborted: p
                        .aborted_transactions
                        .iter()
                        .flatten()
                        .map(|a| AbortedTxn {
                            producer_id: a.producer_id.0,
                            first_offset: a.first_offset,
                        })
                        .collect(),
                    records: p.records.clone().unwrap_or_default(),
                }),
            };
            out.push(PartitionResult {
                topic: topic.clone(),
                partition: *partition,
                result,
            });
        }
        out
    }

    /// Fetches one partition, retrying retriable errors, and until the broker reports the
    /// partition's watermarks (some leave out a partition that has no data).
    pub async fn fetch_partition(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        isolation: Isolation,
        max_wait: Duration,
        max_bytes: i32,
    ) -> Result<FetchedPartition> {
        let req = FetchRequest {
            partitions: vec![FetchPartition {
                topic: topic.to_owned(),
                partition,
                offset,
                max_bytes,
            }],
            max_wait,
            min_bytes: 1,
            max_bytes,
            isolation,
        };
        self.retry("Fetch", || async {
            match self.fetch(&req).await.pop().map(|r| r.result) {
                Some(Ok(f)) if f.high_watermark < 0 => Err(Error::NoRoute(format!(
                    "{topic}-{partition}: the broker returned neither data nor watermarks"
                ))),
                Some(r) => r,
                None => Err(Error::NoRoute(format!("{topic}-{partition}"))),
            }
        })
        .await
    }

    /// Produces raw batches to many partitions with acks=all, one attempt each. A partition may
    /// appear several times: its batches are written in the order given, pipelined (Kafka takes
    /// one batch per partition per request, so the n-th batch of every partition goes in the
    /// n-th request to its leader, and those requests are sent back to back on one connection,
    /// which the broker answers in order). Partitions are spread over `produce_connections`
    /// connections per leader, always the same one for a partition. The results come in the
    /// order of the batches of each partition; after a failed batch, the later batches of that
    /// partition were rejected too (out of sequence) or must be retried anyway.
    #[instrument(level = "debug", skip_all, fields(partitions = parts.len()))]
    pub async fn produce(
        &self,
        parts: Vec<ProducePartition>,
        timeout: Duration,
    ) -> Vec<PartitionResult<Produced>> {
        let lanes = self.inner.config.produce_connections.max(1);
        let mut by_lane: Vec<Vec<(String, i32, Bytes)>> = vec![Vec::new(); lanes];
        for p in parts {
            by_lane[p.partition.unsigned_abs() as usize % lanes].push((
                p.topic,
                p.partition,
                p.records,
            ));
        }
        let calls = by_lane
            .into_iter()
            .enumerate()
            .filter(|(_, items)| !items.is_empty())
            .map(|(lane, items)| {
                self.to_leaders(items, move |leader, parts| {
                    self.produce_to(leader, lane, parts, timeout)
                })
            });
        futures::future::join_all(calls)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    async fn produce_to(
        &self,
        leader: i32,
        lane: usize,
        parts: Vec<(String, i32, Bytes)>,
        timeout: Duration,
    ) -> Vec<PartitionResult<Produced>> {
        // The n-th batch of a partition goes in the n-th request.
        let mut seen: HashMap<(&str, i32), usize> = HashMap::new();
        let rounds: Vec<usize> = parts
            .iter()
            .map(|(topic, partition, _)| {
                let n = seen.entry((topic.as_str(), *partition)).or_insert(0);
                *n += 1;
                *n - 1
            })
            .collect();
        let depth = rounds.iter().max().map_or(0, |m| m + 1);
        let mut requests: Vec<Vec<m::produce_request::TopicProduceData>> = vec![Vec::new(); depth];
        for ((topic, partition, records), round) in parts.iter().zip(&rounds) {
            let topics = &mut requests[*round];
            let pd = m::produce_request::PartitionProduceData::default()
                .with_index(*partition)
                .with_records(Some(records.clone()));
            match topics.iter_mut().find(|t| t.name.0.as_str() == topic) {
                Some(t) => t.partition_data.push(pd),
                None => topics.push(
                    m::produce_request::TopicProduceData::default()
                        .with_name(topic_name(topic))
                        .with_partition_data(vec![pd]),
                ),
            }
        }
        let requests: Vec<m::ProduceRequest> = requests
            .into_iter()
            .map(|topics| {
                m::ProduceRequest::default()
                    .with_acks(-1)
                    .with_timeout_ms(timeout.as_millis().min(i32::MAX as u128) as i32)
                    .with_topic_data(topics)
            })
            .collect();
        let responses: Vec<Result<m::ProduceResponse>> =
            match self.node_connection_lane(leader, lane).await {
                Ok(conn) => conn
                    .send_pipelined(&requests)
                    .await
                    .into_iter()
                    .map(|r| r.map(|r| r.0))
                    .collect(),
                Err(e) => requests.iter().map(|_| Err(e.clone())).collect(),
            };
        parts
            .iter()
            .zip(&rounds)
            .map(|((topic, partition, _), round)| {
                let result = match &responses[*round] {
                    Err(e) => Err(e.clone()),
                    Ok(resp) => match resp
                        .responses
                        .iter()
                        .filter(|t| t.name.0.as_str() == topic)
                        .flat_map(|t| t.partition_responses.iter())
                        .find(|p| p.index == *partition)
                    {
                        None => Err(Error::Protocol {
                            broker: format!("node {leader}"),
                            message: format!("Produce response lacks {topic}-{partition}"),
                        }),
                        Some(p) if p.error_code != 0 => {
                            let detail = p
                                .record_errors
                                .iter()
                                .filter_map(|e| e.batch_index_error_message.as_deref())
                                .chain(p.error_message.as_deref())
                                .collect::<Vec<_>>()
                                .join("; ");
                            Err(Error::kafka(
                                p.error_code,
                                (!detail.is_empty()).then_some(detail),
                                format!("Produce {topic}-{partition}"),
                            ))
                        }
                        Some(p) => Ok(Produced {
                            base_offset: p.base_offset,
                            log_append_time: p.log_append_time_ms,
                        }),
                    },
                };
                PartitionResult {
                    topic: topic.clone(),
                    partition: *partition,
                    result,
                }
            })
            .collect()
    }

    /// Produces batches to one partition, in order, one batch per request (Kafka accepts one
    /// batch per partition per produce request), retrying only where that cannot duplicate
    /// data. Returns what the first batch got.
    pub async fn produce_partition(
        &self,
        topic: &str,
        partition: i32,
        batches: &[RawBatch],
        timeout: Duration,
    ) -> Result<Produced> {
        let mut first = None;
        for batch in batches {
            let produced = self.produce_batch(topic, partition, batch, timeout).await?;
            first.get_or_insert(produced);
        }
        first.ok_or_else(|| Error::Invalid("nothing to produce".into()))
    }

    async fn produce_batch(
        &self,
        topic: &str,
        partition: i32,
        batch: &RawBatch,
        timeout: Duration,
    ) -> Result<Produced> {
        let idempotent = batch.header().producer_id >= 0;
        let policy = &self.inner.config.retry;
        let start = Instant::now();
        let mut backoff = policy.initial_backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let part = ProducePartition {
                topic: topic.to_owned(),
                partition,
                records: batch.bytes().clone(),
            };
            let err = match self
                .produce(vec![part], timeout)
                .await
                .pop()
                .map(|r| r.result)
            {
                Some(Ok(p)) => return Ok(p),
                Some(Err(e)) => e,
                None => Error::NoRoute(format!("{topic}-{partition}")),
            };
            // Without idempotence only a broker's explicit "not appended" is safe to retry.
            let safe = idempotent
                || matches!(err, Error::Kafka { ref code, .. } if code.needs_metadata_refresh());
            if !err.is_retriable() || !safe {
                return Err(err);
            }
            let sleep = jitter(backoff);
            if start.elapsed() + sleep > policy.timeout {
                return Err(Error::RetriesExhausted {
                    attempts,
                    elapsed: start.elapsed(),
                    last: Box::new(err),
                });
            }
            tokio::time::sleep(sleep).await;
            backoff = (backoff * 2).min(policy.max_backoff);
        }
    }

    /// InitProducerId for an idempotent (non-transactional) producer: `(producer_id, epoch)`.
    pub async fn init_producer_id(&self) -> Result<(i64, i16)> {
        self.retry("InitProducerId", || async {
            let req = m::InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(-1)
                .with_producer_id(m::ProducerId(-1))
                .with_producer_epoch(-1);
            let resp = self.send_to_any(&req).await?;
            Error::check(resp.error_code, None, || "InitProducerId".into())?;
            Ok((resp.producer_id.0, resp.producer_epoch))
        })
        .await
    }

    /// ListOffsets for partitions of one topic.
    pub async fn list_offsets(
        &self,
        topic: &str,
        partitions: &[i32],
        spec: OffsetSpec,
        isolation: Isolation,
    ) -> Result<BTreeMap<i32, ListedOffset>> {
        let timestamp = match spec {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::Timestamp(ts) => ts,
        };
        self.retry("ListOffsets", || async {
            let items = partitions
                .iter()
                .map(|p| (topic.to_owned(), *p, ()))
                .collect();
            let (groups, failed) = self.by_leader(items).await;
            if let Some(f) = failed.into_iter().next() {
                f.result?;
            }
            let mut out = BTreeMap::new();
            for (leader, parts) in groups {
                let req = m::ListOffsetsRequest::default()
                    .with_replica_id(BrokerId(-1))
                    .with_isolation_level(isolation.code())
                    .with_topics(vec![m::list_offsets_request::ListOffsetsTopic::default()
                        .with_name(topic_name(topic))
                        .with_partitions(
                            parts
                                .iter()
                                .map(|(_, p, _)| {
                                    m::list_offsets_request::ListOffsetsPartition::default()
                                        .with_partition_index(*p)
                                        .with_current_leader_epoch(-1)
                                        .with_timestamp(timestamp)
                                })
                                .collect(),
                        )]);
                let conn = self.node_connection(leader).await?;
                let (resp, _) = conn.send(&req).await?;
                for p in resp.topics.iter().flat_map(|t| t.partitions.iter()) {
                    Error::check(p.error_code, None, || {
                        format!("ListOffsets {topic}-{}", p.partition_index)
                    })?;
                    out.insert(
                        p.partition_index,
                        ListedOffset {
                            offset: p.offset,
                            timestamp: p.timestamp,
                        },
                    );
                }
            }
            Ok(out)
        })
        .await
    }

    /// DeleteRecords: moves each partition's log start up to the offset; returns low watermarks.
    pub async fn delete_records(
        &self,
        topic: &str,
        offsets: &[(i32, i64)],
        timeout: Duration,
    ) -> Result<BTreeMap<i32, i64>> {
        self.retry("DeleteRecords", || async {
            let items = offsets
                .iter()
                .map(|(p, o)| (topic.to_owned(), *p, *o))
                .collect();
            let (groups, failed) = self.by_leader(items).await;
            if let Some(f) = failed.into_iter().next() {
                f.result?;
            }
            let mut out = BTreeMap::new();
            for (leader, parts) in groups {
                let req = m::DeleteRecordsRequest::default()
                    .with_timeout_ms(timeout.as_millis() as i32)
                    .with_topics(vec![
                        m::delete_records_request::DeleteRecordsTopic::default()
                            .with_name(topic_name(topic))
                            .with_partitions(
                                parts
                                    .iter()
                                    .map(|(_, p, o)| {
                                        m::delete_records_request::DeleteRecordsPartition::default()
                                            .with_partition_index(*p)
                                            .with_offset(*o)
                                    })
                                    .collect(),
                            ),
                    ]);
                let conn = self.node_connection(leader).await?;
                let (resp, _) = conn.send(&req).await?;
                for p in resp.topics.iter().flat_map(|t| t.partitions.iter()) {
                    Error::check(p.error_code, None, || {
                        format!("DeleteRecords {topic}-{}", p.partition_index)
                    })?;
                    out.insert(p.partition_index, p.low_watermark);
                }
            }
            Ok(out)
        })
        .await
    }

    // ---------------------------------------------------------------- topics and configs

    /// CreateTopics; one result per topic. TOPIC_ALREADY_EXISTS is an error like any other.
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
        validate_only: bool,
        timeout: Duration,
    ) -> Result<Vec<(String, Result<()>)>> {
        let req = m::CreateTopicsRequest::default()
            .with_timeout_ms(timeout.as_millis() as i32)
            .with_validate_only(validate_only)
            .with_topics(
                topics
                    .iter()
                    .map(|t| {
                        m::create_topics_request::CreatableTopic::default()
                            .with_name(topic_name(&t.name))
                            .with_num_partitions(t.partitions)
                            .with_replication_factor(t.replication_factor)
                            .with_configs(
                                t.configs
                                    .iter()
                                    .map(|(k, v)| {
                                        m::create_topics_request::CreatableTopicConfig::default()
                                            .with_name(StrBytes::from_string(k.clone()))
                                            .with_value(Some(StrBytes::from_string(v.clone())))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        let resp = self
            .retry("CreateTopics", || self.send_to_controller(&req))
            .await?;
        self.invalidate_metadata();
        Ok(per_topic(
            "CreateTopics",
            resp.topics
                .iter()
                .map(|t| (t.name.0.as_str(), t.error_code, &t.error_message)),
        ))
    }

    /// DeleteTopics by name; one result per topic.
    pub async fn delete_topics(
        &self,
        names: &[String],
        timeout: Duration,
    ) -> Result<Vec<(String, Result<()>)>> {
        let req = m::DeleteTopicsRequest::default()
            .with_timeout_ms(timeout.as_millis() as i32)
            .with_topic_names(names.iter().map(|n| topic_name(n)).collect())
            .with_topics(
                names
                    .iter()
                    .map(|n| {
                        m::delete_topics_request::DeleteTopicState::default()
                            .with_name(Some(topic_name(n)))
                    })
                    .collect(),
            );
        let resp = self
            .retry("DeleteTopics", || self.send_to_controller(&req))
            .await?;
        self.invalidate_metadata();
        Ok(per_topic(
            "DeleteTopics",
            resp.responses.iter().map(|t| {
                let name = t.name.as_ref().map_or("", |n| n.0.as_str());
                (name, t.error_code, &t.error_message)
            }),
        ))
    }

    /// CreatePartitions: grows each topic to the given total partition count.
    pub async fn create_partitions(
        &self,
        topics: &[(String, i32)],
        validate_only: bool,
        timeout: Duration,
    ) -> Result<Vec<(String, Result<()>)>> {
        let req = m::CreatePartitionsRequest::default()
            .with_timeout_ms(timeout.as_millis() as i32)
            .with_validate_only(validate_only)
            .with_topics(
                topics
                    .iter()
                    .map(|(n, c)| {
                        m::create_partitions_request::CreatePartitionsTopic::default()
                            .with_name(topic_name(n))
                            .with_count(*c)
                            .with_assignments(None)
                    })
                    .collect(),
            );
        let resp = self
            .retry("CreatePartitions", || self.send_to_controller(&req))
            .await?;
        self.invalidate_metadata();
        Ok(per_topic(
            "CreatePartitions",
            resp.results
                .iter()
                .map(|t| (t.name.0.as_str(), t.error_code, &t.error_message)),
        ))
    }

    /// DescribeConfigs of one resource (all configs when `keys` is `None`).
    pub async fn describe_configs(
        &self,
        resource: ConfigResource,
        name: &str,
        keys: Option<&[String]>,
    ) -> Result<Vec<ConfigEntry>> {
        let req = m::DescribeConfigsRequest::default().with_resources(vec![
            m::describe_configs_request::DescribeConfigsResource::default()
                .with_resource_type(resource.code())
                .with_resource_name(StrBytes::from_string(name.to_owned()))
                .with_configuration_keys(
                    keys.map(|k| k.iter().map(|s| StrBytes::from_string(s.clone())).collect()),
                ),
        ]);
        let resp = self
            .retry("DescribeConfigs", || self.send_to_any(&req))
            .await?;
        let r = resp.results.first().ok_or_else(|| Error::Protocol {
            broker: "any".into(),
            message: "DescribeConfigs response has no result".into(),
        })?;
        Error::check(r.error_code, r.error_message.as_deref(), || {
            format!("DescribeConfigs {name}")
        })?;
        Ok(r.configs
            .iter()
            .map(|c| ConfigEntry {
                name: c.name.as_str().to_owned(),
                value: if c.is_sensitive {
                    None
                } else {
                    opt_string(&c.value)
                },
                source: c.config_source,
                is_sensitive: c.is_sensitive,
                read_only: c.read_only,
            })
            .collect())
    }

    /// IncrementalAlterConfigs of one resource.
    pub async fn incremental_alter_configs(
        &self,
        resource: ConfigResource,
        name: &str,
        ops: &[AlterConfigOp],
        validate_only: bool,
    ) -> Result<()> {
        let configs = ops
            .iter()
            .map(|op| match op {
                AlterConfigOp::Set(k, v) => {
                    m::incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(StrBytes::from_string(k.clone()))
                        .with_config_operation(0)
                        .with_value(Some(StrBytes::from_string(v.clone())))
                }
                AlterConfigOp::Delete(k) => {
                    m::incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(StrBytes::from_string(k.clone()))
                        .with_config_operation(1)
                        .with_value(None)
                }
            })
            .collect();
        let req = m::IncrementalAlterConfigsRequest::default()
            .with_validate_only(validate_only)
            .with_resources(vec![
                m::incremental_alter_configs_request::AlterConfigsResource::default()
                    .with_resource_type(resource.code())
                    .with_resource_name(StrBytes::from_string(name.to_owned()))
                    .with_configs(configs),
            ]);
        let resp = self
            .retry("IncrementalAlterConfigs", || self.send_to_any(&req))
            .await?;
        for r in &resp.responses {
            Error::check(r.error_code, r.error_message.as_deref(), || {
                format!("IncrementalAlterConfigs {name}")
            })?;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- groups

    /// FindCoordinator for a consumer group: the coordinator's node id (its address is added to
    /// the broker list).
    pub async fn find_coordinator(&self, group: &str) -> Result<i32> {
        self.retry("FindCoordinator", || async {
            let conn = self.any_connection().await?;
            let version = conn.version_for(ApiKey::FindCoordinator)?;
            let group_bytes = StrBytes::from_string(group.to_owned());
            let req = if version >= 4 {
                m::FindCoordinatorRequest::default()
                    .with_key_type(0)
                    .with_coordinator_keys(vec![group_bytes])
            } else {
                m::FindCoordinatorRequest::default()
                    .with_key_type(0)
                    .with_key(group_bytes)
            };
            let (resp, _) = conn.send(&req).await?;
            let (code, msg, node, host, port) = match resp.coordinators.first() {
                Some(c) if version >= 4 => (
                    c.error_code,
                    c.error_message.clone(),
                    c.node_id.0,
                    c.host.clone(),
                    c.port,
                ),
                _ => (
                    resp.error_code,
                    resp.error_message.clone(),
                    resp.node_id.0,
                    resp.host.clone(),
                    resp.port,
                ),
            };
            Error::check(code, msg.as_deref(), || format!("FindCoordinator {group}"))?;
            let mut guard = self
                .inner
                .metadata
                .write()
                .unwrap_or_else(|e| e.into_inner());
            guard
                .0
                .brokers
                .insert(node, format!("{}:{}", host.as_str(), port));
            Ok(node)
        })
        .await
    }

    /// ListGroups: `(group id, protocol type, state)` of every group. Each broker lists the
    /// groups it coordinates, so every broker is asked.
    pub async fn list_groups(&self) -> Result<Vec<(String, String, String)>> {
        let req = m::ListGroupsRequest::default();
        let mut brokers: Vec<i32> = self.read_metadata().0.brokers.keys().copied().collect();
        if brokers.is_empty() {
            brokers = self
                .refresh_metadata(Some(&[]))
                .await?
                .brokers
                .keys()
                .copied()
                .collect();
        }
        let mut out = Vec::new();
        for broker in brokers {
            let resp = self
                .retry("ListGroups", || async {
                    let conn = self.node_connection(broker).await?;
                    Ok(conn.send(&req).await?.0)
                })
                .await?;
            Error::check(resp.error_code, None, || {
                format!("ListGroups on broker {broker}")
            })?;
            out.extend(resp.groups.iter().map(|g| {
                (
                    g.group_id.0.as_str().to_owned(),
                    g.protocol_type.as_str().to_owned(),
                    g.group_state.as_str().to_owned(),
                )
            }));
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// DescribeGroups for one group, raw response (member details vary by broker).
    pub async fn describe_group(&self, group: &str) -> Result<m::DescribeGroupsResponse> {
        let req = m::DescribeGroupsRequest::default()
            .with_groups(vec![GroupId(StrBytes::from_string(group.to_owned()))]);
        let resp = self
            .retry("DescribeGroups", || self.send_to_coordinator(group, &req))
            .await?;
        for g in &resp.groups {
            Error::check(g.error_code, None, || format!("DescribeGroups {group}"))?;
        }
        Ok(resp)
    }

    /// OffsetFetch: a group's committed offsets for the given topics and partitions, or for
    /// every topic when `None`. Partitions without a commit are left out.
    pub async fn offset_fetch(
        &self,
        group: &str,
        topics: Option<&[(String, Vec<i32>)]>,
    ) -> Result<BTreeMap<(String, i32), i64>> {
        let req = m::OffsetFetchRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
            .with_topics(topics.map(|ts| {
                ts.iter()
                    .map(|(t, ps)| {
                        m::offset_fetch_request::OffsetFetchRequestTopic::default()
                            .with_name(topic_name(t))
                            .with_partition_indexes(ps.clone())
                    })
                    .collect()
            }));
        let resp = self
            .retry("OffsetFetch", || self.send_to_coordinator(group, &req))
            .await?;
        Error::check(resp.error_code, None, || format!("OffsetFetch {group}"))?;
        let mut out = BTreeMap::new();
        for t in &resp.topics {
            for p in &t.partitions {
                Error::check(p.error_code, None, || {
                    format!(
                        "OffsetFetch {group} {}-{}",
                        t.name.0.as_str(),
                        p.partition_index
                    )
                })?;
                if p.committed_offset >= 0 {
                    out.insert(
                        (t.name.0.as_str().to_owned(), p.partition_index),
                        p.committed_offset,
                    );
                }
            }
        }
        Ok(out)
    }

    /// OffsetCommit outside any group generation (what offset sync does for an empty group).
    pub async fn offset_commit(&self, group: &str, offsets: &[(String, i32, i64)]) -> Result<()> {
        let mut topics: Vec<m::offset_commit_request::OffsetCommitRequestTopic> = Vec::new();
        for (topic, partition, offset) in offsets {
            let p = m::offset_commit_request::OffsetCommitRequestPartition::default()
                .with_partition_index(*partition)
                .with_committed_offset(*offset)
                .with_committed_leader_epoch(-1);
            match topics.iter_mut().find(|t| t.name.0.as_str() == topic) {
                Some(t) => t.partitions.push(p),
                None => topics.push(
                    m::offset_commit_request::OffsetCommitRequestTopic::default()
                        .with_name(topic_name(topic))
                        .with_partitions(vec![p]),
                ),
            }
        }
        let req = m::OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
            .with_generation_id_or_member_epoch(-1)
            .with_member_id(StrBytes::from_static_str(""))
            .with_retention_time_ms(-1)
            .with_topics(topics);
        let resp = self
            .retry("OffsetCommit", || self.send_to_coordinator(group, &req))
            .await?;
        for t in &resp.topics {
            for p in &t.partitions {
                Error::check(p.error_code, None, || {
                    format!(
                        "OffsetCommit {group} {}-{}",
                        t.name.0.as_str(),
                        p.partition_index
                    )
                })?;
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- ACLs

    /// DescribeAcls with a filter, raw response.
    pub async fn describe_acls(
        &self,
        filter: &m::DescribeAclsRequest,
    ) -> Result<m::DescribeAclsResponse> {
        let resp = self
            .retry("DescribeAcls", || self.send_to_any(filter))
            .await?;
        Error::check(resp.error_code, resp.error_message.as_deref(), || {
            "DescribeAcls".into()
        })?;
        Ok(resp)
    }

    /// CreateAcls; every creation must succeed.
    pub async fn create_acls(
        &self,
        creations: Vec<m::create_acls_request::AclCreation>,
    ) -> Result<()> {
        let req = m::CreateAclsRequest::default().with_creations(creations);
        let resp = self.retry("CreateAcls", || self.send_to_any(&req)).await?;
        for r in &resp.results {
            Error::check(r.error_code, r.error_message.as_deref(), || {
                "CreateAcls".into()
            })?;
        }
        Ok(())
    }

    /// DeleteAcls; returns how many bindings were deleted.
    pub async fn delete_acls(
        &self,
        filters: Vec<m::delete_acls_request::DeleteAclsFilter>,
    ) -> Result<usize> {
        let req = m::DeleteAclsRequest::default().with_filters(filters);
        let resp = self.retry("DeleteAcls", || self.send_to_any(&req)).await?;
        let mut n = 0;
        for r in &resp.filter_results {
            Error::check(r.error_code, r.error_message.as_deref(), || {
                "DeleteAcls".into()
            })?;
            n += r.matching_acls.len();
        }
        Ok(n)
    }
}

/// A result type that has no success value, for failures re-typed into any result list.
#[derive(Debug)]
enum Never {}

fn retype<T>(r: PartitionResult<Never>) -> PartitionResult<T> {
    PartitionResult {
        topic: r.topic,
        partition: r.partition,
        result: r.result.map(|never| match never {}),
    }
}

/// Per-topic results of a topic admin call, from (name, error code, error message) triples.
fn per_topic<'a>(
    api: &str,
    results: impl Iterator<Item = (&'a str, i16, &'a Option<StrBytes>)>,
) -> Vec<(String, Result<()>)> {
    results
        .map(|(name, code, message)| {
            let r = Error::check(code, message.as_deref(), || format!("{api} {name}"));
            (name.to_owned(), r)
        })
        .collect()
}

fn dedup(it: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = it.collect();
    v.sort();
    v.dedup();
    v
}

/// Backoff between 50% and 100% of `d`, spread by the clock's low bits (no RNG needed).
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    let frac = 0.5 + (nanos % 1000) as f64 / 2000.0;
    d.mul_f64(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_half_and_whole() {
        for _ in 0..100 {
            let j = jitter(Duration::from_millis(1000));
            assert!(
                j >= Duration::from_millis(500) && j <= Duration::from_millis(1000),
                "{j:?}"
            );
        }
    }

    #[test]
    fn bootstrap_list_is_split_and_trimmed() {
        let c = ClientConfig::new(" a:1, b:2 ,,");
        assert_eq!(c.bootstrap_servers, vec!["a:1", "b:2"]);
    }
}
