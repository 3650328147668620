//! The mirroring engine of one link: mirror topics, their states, and the loop that moves data.
//!
//! One task per link does all the moving, as two loops joined by per-partition queues: the fetch
//! loop sends one Fetch per source leader covering every mirrored partition whose queue has room
//! and stamps what comes back (destination producer id and sequence) into the queue; the produce
//! loop writes the queues with pipelined Produce requests per destination leader (the client
//! groups and sends them concurrently), up to `max_in_flight` batches per partition at a time.
//! No thread or connection per partition; memory is bounded by configuration: per partition by
//! the queue limits, in all by `buffer_max_bytes` plus one fetch (`fetch_max_bytes`). A partition
//! whose produce failed keeps its stamped batches and retries them as they are (same producer id
//! and sequences, so the broker deduplicates) before anything after them, which keeps every
//! partition strictly in order.
//!
//! Everything that decides where to resume is in Kafka: checkpoints (source offset, destination
//! offset) and offset-map runs in the state topic, and the destination log itself. After a crash
//! each partition replays the source from its last checkpoint through the deterministic
//! [`PartitionReader`], counting records until it reaches the destination's end: that is exactly
//! where it stopped, with nothing lost and nothing written twice.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clusterlink_kafka::client::{
    AlterConfigOp, ConfigResource, FetchPartition, FetchRequest, NewTopic, OffsetSpec,
    ProducePartition,
};
use clusterlink_kafka::records::RawBatch;
use clusterlink_kafka::{Client, Error as KafkaError, Isolation, ResponseError};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::copy::DestinationProducer;
use crate::offset_map::{OffsetMap, OffsetMode, Run};
use crate::reader::{PartitionReader, SourceOffsets};
use crate::state_keys;
use crate::store::{Entry, KafkaStore};

/// Settings of one link's engine.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// The link's name (keys its state).
    pub name: String,
    /// `cluster.link.retry.timeout.ms`: how long a partition may keep failing before it is FAILED.
    pub retry_timeout: Duration,
    /// Bytes per partition per fetch.
    pub partition_max_bytes: i32,
    /// Bytes per fetch response.
    pub fetch_max_bytes: i32,
    /// Long-poll wait of a fetch.
    pub max_wait: Duration,
    /// How often checkpoints are written while data moves.
    pub checkpoint_interval: Duration,
    /// How often source partition counts are checked.
    pub metadata_interval: Duration,
    /// Produce requests in flight per destination partition (1 to 5: an idempotent producer's
    /// broker keeps the last five batches of a partition to recognise a retried one).
    pub max_in_flight: usize,
    /// Bytes of fetched batches held for all partitions together (queued or being written)
    /// above which nothing more is fetched until writes drain them. With `fetch_max_bytes`,
    /// this bounds the engine's data memory whatever the number of partitions.
    pub buffer_max_bytes: usize,
    /// The compacted state topic on the destination.
    pub state_topic: String,
}

impl LinkSettings {
    /// Defaults for a link named `name`.
    pub fn new(name: &str) -> Self {
        LinkSettings {
            name: name.to_owned(),
            retry_timeout: Duration::from_millis(300_000),
            partition_max_bytes: 1 << 20,
            fetch_max_bytes: 32 << 20,
            max_wait: Duration::from_millis(200),
            checkpoint_interval: Duration::from_millis(500),
            metadata_interval: Duration::from_secs(5),
            max_in_flight: 5,
            buffer_max_bytes: 64 << 20,
            state_topic: "_clusterlink_state".into(),
        }
    }
}

/// Where a new mirror starts reading (`mirror.start.offset.spec`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StartSpec {
    /// The source's log start.
    Earliest,
    /// The source's end: only records produced from now on.
    Latest,
    /// The first record at or after this time (milliseconds since the epoch).
    Timestamp(i64),
}

/// A mirror topic to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorSpec {
    /// The mirror topic's name on the destination.
    pub name: String,
    /// The topic on the source.
    pub source_topic: String,
    /// Topic config overrides on top of the source's configs.
    pub configs: Vec<(String, String)>,
    /// Replication factor (broker default when `None`).
    pub replication_factor: Option<i16>,
    /// Where mirroring starts.
    pub start: StartSpec,
}

/// What the user wants of a mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Desired {
    /// Mirror.
    Active,
    /// Stop fetching; stay a read-only mirror.
    Paused,
    /// Catch up to zero lag, then stop mirroring for good.
    Promote,
    /// Stop mirroring for good, now.
    Failover,
}

/// The state a mirror is in (Confluent's `mirror_status` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MirrorState {
    /// Mirroring.
    Active,
    /// Paused by the user.
    Paused,
    /// Promote in progress: catching up before stopping.
    PendingStopped,
    /// Mirroring ended; the topic is an ordinary writable topic.
    Stopped,
    /// Mirroring failed; the reason says why.
    Failed,
    /// The source cluster cannot be reached; mirroring resumes when it can.
    SourceUnavailable,
    /// Requested on a source-initiated (INBOUND) link and not yet created by the link's
    /// OUTBOUND side. Engines never set it.
    PendingMirror,
    /// Would mirror, but the whole link is paused (`cluster.link.paused`). Only reported: the
    /// stored state is unchanged, and mirroring resumes where it stopped when the link is.
    LinkPaused,
}

impl MirrorState {
    /// Confluent's name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            MirrorState::Active => "ACTIVE",
            MirrorState::Paused => "PAUSED",
            MirrorState::PendingStopped => "PENDING_STOPPED",
            MirrorState::Stopped => "STOPPED",
            MirrorState::Failed => "FAILED",
            MirrorState::SourceUnavailable => "SOURCE_UNAVAILABLE",
            MirrorState::PendingMirror => "PENDING_MIRROR",
            MirrorState::LinkPaused => "LINK_PAUSED",
        }
    }

    fn moves_data(self) -> bool {
        matches!(
            self,
            MirrorState::Active | MirrorState::PendingStopped | MirrorState::SourceUnavailable
        )
    }
}

/// Errors of the engine's operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// The source topic does not exist.
    #[error("source topic {0} does not exist on the source cluster")]
    SourceTopicMissing(String),
    /// A topic of the mirror's name exists on the destination.
    #[error("topic {0} already exists on the destination cluster; an existing topic cannot be turned into a mirror topic")]
    DestinationExists(String),
    /// A mirror of that name exists already.
    #[error("mirror topic {0} already exists on this link")]
    Duplicate(String),
    /// The source topic is mirrored by another mirror of this link.
    #[error(
        "source topic {source_topic} is already mirrored on this link by mirror topic {mirror}"
    )]
    SourceAlreadyMirrored {
        /// The source topic.
        source_topic: String,
        /// The existing mirror.
        mirror: String,
    },
    /// No mirror of that name.
    #[error("no mirror topic {0} on this link")]
    NotFound(String),
    /// The state change is not possible from the current state.
    #[error("mirror topic {name} is {state}: cannot {action}")]
    InvalidTransition {
        /// Mirror name.
        name: String,
        /// Its state.
        state: &'static str,
        /// What was asked.
        action: &'static str,
    },
    /// A cluster failed.
    #[error("{side} cluster: {source}")]
    Kafka {
        /// `source` or `destination`.
        side: &'static str,
        /// The client error.
        #[source]
        source: KafkaError,
    },
    /// Stored state could not be read.
    #[error("state topic: {0}")]
    State(String),
}

impl MirrorError {
    /// A short, stable label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self {
            MirrorError::SourceTopicMissing(_)
            | MirrorError::DestinationExists(_)
            | MirrorError::Duplicate(_)
            | MirrorError::SourceAlreadyMirrored { .. }
            | MirrorError::NotFound(_)
            | MirrorError::InvalidTransition { .. } => "invalid",
            MirrorError::Kafka { source, .. } => source.category(),
            MirrorError::State(_) => "state",
        }
    }
}

fn src_err(source: KafkaError) -> MirrorError {
    MirrorError::Kafka {
        side: "source",
        source,
    }
}

fn dst_err(source: KafkaError) -> MirrorError {
    MirrorError::Kafka {
        side: "destination",
        source,
    }
}

/// One partition's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionStatus {
    /// Partition index.
    pub partition: i32,
    /// Next source offset to copy.
    pub next_source_offset: i64,
    /// Source high watermark, from the last fetch.
    pub source_high_watermark: i64,
    /// Next destination offset.
    pub destination_end: i64,
    /// Records behind the source.
    pub lag_records: i64,
    /// Age in seconds of the oldest record not yet mirrored (0 when caught up).
    pub lag_seconds: f64,
    /// Records written by this engine instance.
    pub records_mirrored: u64,
    /// Batch bytes written by this engine instance.
    pub bytes_mirrored: u64,
    /// The last error, while it persists.
    pub last_error: Option<String>,
    /// Bytes of fetched batches held for it, queued or being written.
    #[serde(default)]
    pub buffered_bytes: u64,
}

/// A mirror topic's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MirrorStatus {
    /// Mirror topic name.
    pub name: String,
    /// Source topic name.
    pub source_topic: String,
    /// State.
    pub state: MirrorState,
    /// Why it is FAILED, or a problem that does not stop mirroring.
    pub reason: Option<String>,
    /// Aligned or translated offsets.
    pub offset_mode: OffsetMode,
    /// When the state last changed (ms since the epoch).
    pub state_time_ms: i64,
    /// Per-partition details.
    pub partitions: Vec<PartitionStatus>,
}

impl MirrorStatus {
    /// The largest lag over partitions, in records.
    pub fn max_lag(&self) -> i64 {
        self.partitions
            .iter()
            .map(|p| p.lag_records)
            .max()
            .unwrap_or(0)
    }
}

/// What is stored per mirror.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct MirrorRecord {
    spec: MirrorSpec,
    desired: Desired,
    state: MirrorState,
    reason: Option<String>,
    state_time_ms: i64,
}

/// A partition checkpoint: everything before `source` is written up to `destination`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Checkpoint {
    source: i64,
    destination: i64,
}

#[derive(Debug)]
struct Part {
    reader: PartitionReader,
    fetch_bytes: i32,
    /// Stamped batches being written (retried as they are until they land), with the source
    /// offsets of their records. Only the stamped copy is kept: the fetched batch is a slice of
    /// its whole fetch response, which holding would keep alive.
    in_flight: Vec<(RawBatch, SourceOffsets)>,
    /// Stamped batches fetched while `in_flight` was being written: the next to write.
    queued: Vec<(RawBatch, SourceOffsets)>,
    dest_end: i64,
    map: OffsetMap,
    saved_runs: usize,
    checkpoint: Checkpoint,
    high_watermark: i64,
    last_stable: i64,
    caught_up: bool,
    lag_seen_at: Option<i64>,
    fetch_error: Option<(Instant, String)>,
    produce_error: Option<(Instant, String)>,
    records: u64,
    bytes: u64,
}

impl Part {
    fn new(checkpoint: Checkpoint, map: OffsetMap, partition_max_bytes: i32) -> Self {
        Part {
            reader: PartitionReader::new(checkpoint.source),
            fetch_bytes: partition_max_bytes,
            in_flight: Vec::new(),
            queued: Vec::new(),
            dest_end: checkpoint.destination,
            saved_runs: map.runs().len(),
            map,
            checkpoint,
            high_watermark: -1,
            last_stable: -1,
            caught_up: false,
            lag_seen_at: None,
            fetch_error: None,
            produce_error: None,
            records: 0,
            bytes: 0,
        }
    }

    /// Whether the fetch loop should fetch for this partition: its queue holds fewer than
    /// `max_in_flight` batches and fewer than that many fetches' worth of bytes. This bounds
    /// memory by configuration: per partition, at most about twice `max_in_flight` times
    /// the fetch size (queued plus in flight); per fetch, `fetch_max_bytes`.
    fn wants_data(&self, settings: &LinkSettings) -> bool {
        let depth = settings.max_in_flight.clamp(1, 5);
        let queued_bytes: usize = self.queued.iter().map(|(b, _)| b.bytes().len()).sum();
        self.queued.len() < depth && queued_bytes < depth * self.fetch_bytes.max(0) as usize
    }

    /// Drops the batches not written yet and rewinds the reader to the first of them, so that
    /// the partition's position (and its checkpoint) says what is really on the destination.
    fn drop_unwritten(&mut self) {
        let first = self
            .in_flight
            .first()
            .or(self.queued.first())
            .map(|(_, source)| source.first());
        if let Some(first) = first {
            self.reader = PartitionReader::new(first);
        }
        self.in_flight.clear();
        self.queued.clear();
    }

    /// First source offset not yet written.
    fn resume_offset(&self) -> i64 {
        self.in_flight
            .first()
            .or(self.queued.first())
            .map(|(_, source)| source.first())
            .unwrap_or_else(|| self.reader.resume_offset())
    }

    fn lag_records(&self) -> i64 {
        if self.high_watermark < 0 {
            0
        } else {
            (self.high_watermark - self.resume_offset()).max(0)
        }
    }

    fn lag_seconds(&self, now_ms: i64) -> f64 {
        if self.lag_records() == 0 {
            return 0.0;
        }
        let oldest = self
            .in_flight
            .first()
            .or(self.queued.first())
            .map(|(b, _)| {
                let h = b.header();
                if h.is_log_append_time() {
                    h.max_timestamp
                } else {
                    h.base_timestamp
                }
            })
            .or(self.lag_seen_at);
        oldest.map_or(0.0, |t| ((now_ms - t).max(0)) as f64 / 1000.0)
    }

    fn is_idle(&self) -> bool {
        self.in_flight.is_empty() && self.queued.is_empty() && self.reader.held() == 0
    }

    /// The error a partition is stuck on, writing first.
    fn last_error(&self) -> Option<String> {
        self.produce_error
            .as_ref()
            .or(self.fetch_error.as_ref())
            .map(|(_, e)| e.clone())
    }

    fn status(&self, partition: i32, now_ms: i64) -> PartitionStatus {
        PartitionStatus {
            partition,
            next_source_offset: self.resume_offset(),
            source_high_watermark: self.high_watermark,
            destination_end: self.dest_end,
            lag_records: self.lag_records(),
            lag_seconds: self.lag_seconds(now_ms),
            records_mirrored: self.records,
            bytes_mirrored: self.bytes,
            last_error: self.last_error(),
            buffered_bytes: self.buffered_bytes() as u64,
        }
    }

    /// Bytes of its fetched batches held, queued or being written.
    fn buffered_bytes(&self) -> usize {
        self.in_flight
            .iter()
            .chain(&self.queued)
            .map(|(b, _)| b.bytes().len())
            .sum()
    }
}

#[derive(Debug)]
struct Mirror {
    record: MirrorRecord,
    parts: BTreeMap<i32, Part>,
    /// A promote saw zero lag once; the next zero-lag round completes it (the final sync).
    promote_synced: bool,
    dirty_record: bool,
    /// Bumped on every change of `record`, so a write knows whether it saved the latest.
    record_version: u64,
}

impl Mirror {
    fn set_state(&mut self, state: MirrorState, reason: Option<String>) {
        if self.record.state != state || self.record.reason != reason {
            info!(mirror = %self.record.spec.name, from = self.record.state.as_str(), to = state.as_str(), reason = reason.as_deref().unwrap_or(""), "mirror state");
            self.record.state = state;
            self.record.reason = reason;
            self.record.state_time_ms = now_ms();
            self.dirty_record = true;
            self.record_version += 1;
        }
    }

    fn fail(&mut self, reason: String) {
        if self.record.state == MirrorState::Failed {
            // The first reason is the one that explains it.
            warn!(mirror = %self.record.spec.name, %reason, "failed mirror: another error");
            return;
        }
        warn!(mirror = %self.record.spec.name, %reason, "mirror failed");
        self.set_state(MirrorState::Failed, Some(reason));
    }

    /// Gives back the batches not written yet: drops them, rewinds the reader to the first,
    /// and the producer's sequence to that batch's (so that, if the mirror moves again, the
    /// same records go out with the same sequences, which the broker recognises should one of
    /// them have landed after all). Only while nothing of it is in flight: under the produce
    /// gate, outside a produce call.
    fn give_back(&mut self, producer: &mut DestinationProducer) {
        for (p, part) in &mut self.parts {
            if let Some((b, _)) = part.in_flight.first().or(part.queued.first()) {
                producer.rewind(&self.record.spec.name, *p, b.header().base_sequence);
            }
            part.drop_unwritten();
        }
    }

    /// The state that `desired` means while nothing is wrong.
    fn healthy_state(&self) -> MirrorState {
        match self.record.desired {
            Desired::Active => MirrorState::Active,
            Desired::Paused => MirrorState::Paused,
            Desired::Promote => MirrorState::PendingStopped,
            Desired::Failover => MirrorState::Stopped,
        }
    }

    fn offset_mode(&self) -> OffsetMode {
        if self
            .parts
            .values()
            .all(|p| p.map.mode() == OffsetMode::Aligned)
        {
            OffsetMode::Aligned
        } else {
            OffsetMode::Translated
        }
    }
}

struct State {
    mirrors: BTreeMap<String, Mirror>,
    producer: DestinationProducer,
    last_checkpoint: Instant,
    last_metadata: Instant,
}

struct Inner {
    settings: LinkSettings,
    source: Client,
    destination: Client,
    store: KafkaStore,
    state: Mutex<State>,
    wake: Notify,
    /// Wakes the produce loop when batches were queued.
    produce_wake: Notify,
    /// Held by the produce loop from sending a call to applying its answers: whoever must know
    /// that nothing is on its way to a mirror's topic (failover, deletion) takes it.
    produce_gate: tokio::sync::Mutex<()>,
    /// Held from computing state-topic entries until they are written, so that writes land in
    /// the order their contents were taken (a checkpoint never lands after a deletion's
    /// tombstones).
    state_writes: tokio::sync::Mutex<()>,
    stop: std::sync::atomic::AtomicBool,
    /// `cluster.link.paused`: no fetch while set.
    link_paused: std::sync::atomic::AtomicBool,
    /// Set to true when the mirroring task has returned.
    finished: tokio::sync::watch::Sender<bool>,
}

/// The engine of one link. Cheap to clone; the mirroring task stops when [`Engine::shutdown`]
/// is called.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("link", &self.inner.settings.name)
            .finish()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A mirror as an engine recorded it in a state topic: what another cluster's link server can
/// learn from that cluster's state (loop prevention between the halves of a link pair).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMirror {
    /// The engine's name (`<link>@<link id>`).
    pub engine: String,
    /// The mirror topic.
    pub name: String,
    /// Its source topic.
    pub source_topic: String,
    /// Its state when last recorded.
    pub state: MirrorState,
}

/// The mirrors recorded in a state topic's contents (see `store::read_state`); records of
/// another shape are skipped.
pub fn stored_mirrors(state: &BTreeMap<String, Vec<u8>>) -> Vec<StoredMirror> {
    state
        .range(state_keys::MIRROR_PREFIX.to_string()..)
        .take_while(|(k, _)| k.starts_with(state_keys::MIRROR_PREFIX))
        .filter_map(|(k, v)| {
            let (engine, name) = state_keys::mirror_of(k)?;
            let r: MirrorRecord = serde_json::from_slice(v).ok()?;
            Some(StoredMirror {
                engine: engine.to_string(),
                name: name.to_string(),
                source_topic: r.spec.source_topic,
                state: r.state,
            })
        })
        .collect()
}

/// Topic configs a mirror takes from its source, with Kafka's defaults. A value is copied when
/// the source reports it as a topic override, or when it differs from Kafka's default (some
/// brokers, tansu among them, report overrides as defaults).
const SYNCED_CONFIGS: &[(&str, &str)] = &[
    ("cleanup.policy", "delete"),
    ("compression.type", "producer"),
    ("delete.retention.ms", "86400000"),
    ("max.compaction.lag.ms", "9223372036854775807"),
    ("max.message.bytes", "1048588"),
    ("message.timestamp.type", "CreateTime"),
    ("min.cleanable.dirty.ratio", "0.5"),
    ("min.compaction.lag.ms", "0"),
    ("retention.bytes", "-1"),
    ("retention.ms", "604800000"),
    ("segment.bytes", "1073741824"),
    ("segment.ms", "604800000"),
];

impl Engine {
    /// Starts the engine: opens the state topic, restores every mirror of this link (replaying
    /// each partition from its checkpoint), and starts the mirroring task.
    pub async fn start(
        settings: LinkSettings,
        source: Client,
        destination: Client,
    ) -> Result<Self, MirrorError> {
        let store = KafkaStore::open(destination.clone(), &settings.state_topic)
            .await
            .map_err(dst_err)?;
        let producer = DestinationProducer::init(&destination)
            .await
            .map_err(|e| MirrorError::State(e.to_string()))?;
        let engine = Engine {
            inner: Arc::new(Inner {
                settings,
                source,
                destination,
                store,
                state: Mutex::new(State {
                    mirrors: BTreeMap::new(),
                    producer,
                    last_checkpoint: Instant::now(),
                    last_metadata: Instant::now(),
                }),
                wake: Notify::new(),
                produce_wake: Notify::new(),
                produce_gate: tokio::sync::Mutex::new(()),
                state_writes: tokio::sync::Mutex::new(()),
                stop: Default::default(),
                link_paused: Default::default(),
                finished: tokio::sync::watch::channel(false).0,
            }),
        };
        engine.restore().await?;
        let runner = engine.clone();
        let span = info_span!("link", link = %engine.inner.settings.name);
        tokio::spawn(async move { runner.run().await }.instrument(span));
        Ok(engine)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The link's settings.
    pub fn settings(&self) -> &LinkSettings {
        &self.inner.settings
    }

    /// Stops the mirroring task after its current round, writing final checkpoints.
    pub async fn shutdown(&self) {
        self.inner
            .stop
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.inner.wake.notify_one();
        let _ = self.checkpoint(true).await;
    }

    /// Stops the mirroring task and waits until it has returned, then writes final checkpoints.
    /// Unlike [`Engine::shutdown`], nothing of this engine writes to the state topic afterwards,
    /// so its state can be removed ([`state_keys::engine_prefixes`]) or taken over by a new engine.
    pub async fn stop(&self) -> Result<(), MirrorError> {
        self.inner
            .stop
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.inner.wake.notify_one();
        let mut finished = self.inner.finished.subscribe();
        // The sender lives in `inner`, which we hold: this only returns once the task is done.
        let _ = finished.wait_for(|done| *done).await;
        self.checkpoint(true).await
    }

    async fn restore(&self) -> Result<(), MirrorError> {
        let link = &self.inner.settings.name;
        let all = self.inner.store.load().await.map_err(dst_err)?;
        let prefix = state_keys::mirror_prefix(link);
        for (key, value) in state_keys::scan(&all, &prefix) {
            let record: MirrorRecord = serde_json::from_slice(value)
                .map_err(|e| MirrorError::State(format!("{prefix}{key}: {e}")))?;
            let name = record.spec.name.clone();
            let mut mirror = Mirror {
                record,
                parts: BTreeMap::new(),
                promote_synced: false,
                dirty_record: false,
                record_version: 0,
            };
            let ckpt_prefix = state_keys::checkpoint_prefix(link, &name);
            for (ckey, cvalue) in state_keys::scan(&all, &ckpt_prefix) {
                let p: i32 = ckey
                    .parse()
                    .map_err(|_| MirrorError::State(format!("bad key {ckpt_prefix}{ckey}")))?;
                let ckpt: Checkpoint = serde_json::from_slice(cvalue)
                    .map_err(|e| MirrorError::State(format!("{ckpt_prefix}{ckey}: {e}")))?;
                let run_prefix = state_keys::run_prefix(link, &name, p);
                let mut map = OffsetMap::new();
                for (rkey, rvalue) in state_keys::scan(&all, &run_prefix) {
                    let r: Run = serde_json::from_slice(rvalue)
                        .map_err(|e| MirrorError::State(format!("{run_prefix}{rkey}: {e}")))?;
                    map.record(r.source, r.destination, r.len);
                }
                let mut part = Part::new(ckpt, map, self.inner.settings.partition_max_bytes);
                if mirror.record.state.moves_data() || mirror.record.state == MirrorState::Paused {
                    if let Err(reason) = self.replay(&mirror.record.spec, p, &mut part).await {
                        mirror.fail(reason);
                    }
                }
                mirror.parts.insert(p, part);
            }
            info!(mirror = %name, state = mirror.record.state.as_str(), partitions = mirror.parts.len(), "restored");
            self.lock().mirrors.insert(name, mirror);
        }
        Ok(())
    }

    /// Brings a partition from its checkpoint to where the destination log really ends.
    async fn replay(&self, spec: &MirrorSpec, p: i32, part: &mut Part) -> Result<(), String> {
        let dest_end = self
            .inner
            .destination
            .fetch_partition(
                &spec.name,
                p,
                part.checkpoint.destination,
                Isolation::ReadUncommitted,
                Duration::from_millis(1),
                1,
            )
            .await
            .map_err(|e| format!("reading the destination end of {}-{p}: {e}", spec.name))?
            .high_watermark;
        if dest_end < part.checkpoint.destination {
            return Err(format!(
                "destination {}-{p} ends at {dest_end}, before the checkpointed offset {}: it was truncated or recreated",
                spec.name, part.checkpoint.destination
            ));
        }
        let mut to_skip = dest_end - part.checkpoint.destination;
        while to_skip > 0 {
            let f = self
                .inner
                .source
                .fetch_partition(
                    &spec.source_topic,
                    p,
                    part.reader.fetch_offset(),
                    Isolation::ReadCommitted,
                    Duration::from_millis(10),
                    part.fetch_bytes,
                )
                .await
                .map_err(|e| format!("replaying {}-{p} from the source: {e}", spec.source_topic))?;
            let end = f.high_watermark;
            let accepted = part
                .reader
                .accept(f.records, &f.aborted)
                .map_err(|(o, e)| format!("source {}-{p} at offset {o}: {e}", spec.source_topic))?;
            if accepted.whole_batches == 0 && part.reader.fetch_offset() >= end {
                return Err(format!(
                    "destination {}-{p} holds {to_skip} more records than the source range from offset {} explains: it was written by someone else",
                    spec.name, part.checkpoint.source
                ));
            }
            if accepted.whole_batches == 0 {
                part.fetch_bytes = part
                    .fetch_bytes
                    .saturating_mul(2)
                    .min(self.inner.settings.fetch_max_bytes);
            }
            for ready in accepted.ready {
                let n = ready.batch.header().record_count as i64;
                if to_skip == 0 {
                    // Fetched during the replay but not written yet: it is the next to write.
                    let stamped = self.lock().producer.stamp(&spec.name, p, &ready.batch);
                    part.in_flight.push((stamped, ready.source));
                } else if n <= to_skip {
                    record_written(&mut part.map, &ready.source, part.dest_end);
                    part.dest_end += n;
                    to_skip -= n;
                } else {
                    return Err(format!(
                        "destination {}-{p} ends inside a source batch (at {dest_end}): it was written by someone else",
                        spec.name
                    ));
                }
            }
        }
        if dest_end > part.checkpoint.destination {
            info!(mirror = %spec.name, partition = p, from = part.checkpoint.destination, to = dest_end, "replayed past checkpoint");
        }
        Ok(())
    }

    /// Creates a mirror topic (R8): checks, creates the destination topic like the source one,
    /// stores the mirror, and starts mirroring it.
    pub async fn create_mirror(
        &self,
        spec: MirrorSpec,
        desired: Desired,
    ) -> Result<(), MirrorError> {
        {
            let st = self.lock();
            if st.mirrors.contains_key(&spec.name) {
                return Err(MirrorError::Duplicate(spec.name));
            }
            if let Some(other) = st
                .mirrors
                .values()
                .find(|m| m.record.spec.source_topic == spec.source_topic)
            {
                return Err(MirrorError::SourceAlreadyMirrored {
                    source_topic: spec.source_topic,
                    mirror: other.record.spec.name.clone(),
                });
            }
        }
        let source_meta = match self.inner.source.topic_metadata(&spec.source_topic).await {
            Ok(t) => t,
            Err(e) if e.is(ResponseError::UnknownTopicOrPartition) => {
                return Err(MirrorError::SourceTopicMissing(spec.source_topic))
            }
            Err(e) => return Err(src_err(e)),
        };
        match self.inner.destination.topic_metadata(&spec.name).await {
            Ok(_) => return Err(MirrorError::DestinationExists(spec.name)),
            Err(e) if e.is(ResponseError::UnknownTopicOrPartition) => {}
            Err(e) => return Err(dst_err(e)),
        }
        let partitions: Vec<i32> = source_meta.partitions.keys().copied().collect();
        let mut configs = self.source_configs(&spec.source_topic).await?;
        for (k, v) in &spec.configs {
            configs.retain(|(ck, _)| ck != k);
            configs.push((k.clone(), v.clone()));
        }
        let starts = self.start_offsets(&spec, &partitions).await?;
        let new = NewTopic {
            name: spec.name.clone(),
            partitions: partitions.len() as i32,
            replication_factor: spec.replication_factor.unwrap_or(-1),
            configs,
        };
        for (_, r) in self
            .inner
            .destination
            .create_topics(&[new], false, Duration::from_secs(30))
            .await
            .map_err(dst_err)?
        {
            match r {
                Err(e) if e.is(ResponseError::TopicAlreadyExists) => {
                    return Err(MirrorError::DestinationExists(spec.name))
                }
                Err(e) => return Err(dst_err(e)),
                Ok(()) => {}
            }
        }
        let mut mirror = Mirror {
            record: MirrorRecord {
                spec: spec.clone(),
                desired,
                state: MirrorState::Active,
                reason: None,
                state_time_ms: now_ms(),
            },
            parts: BTreeMap::new(),
            promote_synced: false,
            dirty_record: true,
            record_version: 0,
        };
        let state = mirror.healthy_state();
        mirror.record.state = state;
        for (p, start) in partitions.iter().zip(starts) {
            let ckpt = Checkpoint {
                source: start,
                destination: 0,
            };
            mirror.parts.insert(
                *p,
                Part::new(
                    ckpt,
                    OffsetMap::new(),
                    self.inner.settings.partition_max_bytes,
                ),
            );
        }
        let (entries, saved) = store_entries(&self.inner.settings.name, &mirror, true);
        self.inner.store.put(&entries).await.map_err(dst_err)?;
        saved.apply(&mut mirror);
        info!(mirror = %spec.name, source = %spec.source_topic, partitions = partitions.len(), "mirror created");
        self.lock().mirrors.insert(spec.name, mirror);
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Topic config sync (`topic.config.sync.ms`): every mirror that still mirrors gets its
    /// source topic's synced configs again, with its own overrides on top; a synced config
    /// reset on the source is reset on the mirror. Returns how many mirrors changed.
    pub async fn sync_topic_configs(&self) -> Result<usize, MirrorError> {
        let mirrors: Vec<(String, String, BTreeMap<String, String>)> = {
            let st = self.lock();
            st.mirrors
                .values()
                .filter(|m| m.record.state.moves_data() || m.record.state == MirrorState::Paused)
                .map(|m| {
                    (
                        m.record.spec.name.clone(),
                        m.record.spec.source_topic.clone(),
                        m.record.spec.configs.iter().cloned().collect(),
                    )
                })
                .collect()
        };
        let mut changed = 0;
        for (name, source_topic, overrides) in mirrors {
            let mut desired: BTreeMap<String, String> = self
                .source_configs(&source_topic)
                .await?
                .into_iter()
                .collect();
            desired.extend(overrides.clone());
            let current = match self
                .inner
                .destination
                .describe_configs(ConfigResource::Topic, &name, None)
                .await
            {
                Ok(c) => c,
                Err(KafkaError::Unsupported { .. }) => return Ok(changed),
                Err(e) => return Err(dst_err(e)),
            };
            let mut ops = Vec::new();
            for (k, v) in &desired {
                let now = current
                    .iter()
                    .find(|c| &c.name == k)
                    .and_then(|c| c.value.as_ref());
                if now != Some(v) {
                    ops.push(AlterConfigOp::Set(k.clone(), v.clone()));
                }
            }
            for c in &current {
                let synced = SYNCED_CONFIGS.iter().any(|(k, _)| *k == c.name);
                if synced && c.source == 1 && !desired.contains_key(&c.name) {
                    ops.push(AlterConfigOp::Delete(c.name.clone()));
                }
            }
            if ops.is_empty() {
                continue;
            }
            self.inner
                .destination
                .incremental_alter_configs(ConfigResource::Topic, &name, &ops, false)
                .await
                .map_err(dst_err)?;
            info!(mirror = %name, changes = ops.len(), "topic configs synced from the source");
            changed += 1;
        }
        Ok(changed)
    }

    async fn source_configs(&self, topic: &str) -> Result<Vec<(String, String)>, MirrorError> {
        let entries = match self
            .inner
            .source
            .describe_configs(ConfigResource::Topic, topic, None)
            .await
        {
            Ok(e) => e,
            // A source without DescribeConfigs: the mirror gets broker defaults and overrides.
            Err(KafkaError::Unsupported { .. }) => return Ok(vec![]),
            Err(e) => return Err(src_err(e)),
        };
        Ok(entries
            .into_iter()
            .filter_map(|e| {
                let (_, default) = SYNCED_CONFIGS.iter().find(|(k, _)| *k == e.name)?;
                let value = e.value?;
                (e.source == 1 || value != *default).then_some((e.name, value))
            })
            .collect())
    }

    async fn start_offsets(
        &self,
        spec: &MirrorSpec,
        partitions: &[i32],
    ) -> Result<Vec<i64>, MirrorError> {
        let src = &self.inner.source;
        let listed = |spec_: OffsetSpec| async move {
            src.list_offsets(
                &spec.source_topic,
                partitions,
                spec_,
                Isolation::ReadCommitted,
            )
            .await
            .map_err(src_err)
        };
        let mut out = Vec::with_capacity(partitions.len());
        match spec.start {
            StartSpec::Earliest => {
                let l = listed(OffsetSpec::Earliest).await?;
                out.extend(
                    partitions
                        .iter()
                        .map(|p| l.get(p).map_or(0, |o| o.offset.max(0))),
                );
            }
            StartSpec::Latest => {
                // The high watermark of a fetch (ListOffsets latest is wrong on some brokers).
                for p in partitions {
                    let f = src
                        .fetch_partition(
                            &spec.source_topic,
                            *p,
                            0,
                            Isolation::ReadCommitted,
                            Duration::from_millis(1),
                            1,
                        )
                        .await
                        .map_err(src_err)?;
                    out.push(if f.last_stable_offset >= 0 {
                        f.last_stable_offset
                    } else {
                        f.high_watermark
                    });
                }
            }
            StartSpec::Timestamp(ts) => {
                let l = listed(OffsetSpec::Timestamp(ts)).await?;
                let end = listed(OffsetSpec::Latest).await?;
                for p in partitions {
                    let o = l.get(p).map_or(-1, |o| o.offset);
                    // No record at or after the time: start at the end.
                    out.push(if o >= 0 {
                        o
                    } else {
                        end.get(p).map_or(0, |o| o.offset.max(0))
                    });
                }
            }
        }
        Ok(out)
    }

    /// Changes what the user wants of a mirror (R9).
    pub async fn set_desired(&self, name: &str, desired: Desired) -> Result<(), MirrorError> {
        let _writes = self.inner.state_writes.lock().await;
        // A failed-over topic is writable at once: no batch may land after this returns.
        let _gate = match desired {
            Desired::Failover => Some(self.inner.produce_gate.lock().await),
            _ => None,
        };
        let entries = {
            let mut guard = self.lock();
            let st = &mut *guard;
            let mirror = st
                .mirrors
                .get_mut(name)
                .ok_or_else(|| MirrorError::NotFound(name.to_owned()))?;
            let state = mirror.record.state;
            let action = match desired {
                Desired::Active => "resume",
                Desired::Paused => "pause",
                Desired::Promote => "promote",
                Desired::Failover => "fail over",
            };
            let invalid = || MirrorError::InvalidTransition {
                name: name.to_owned(),
                state: state.as_str(),
                action,
            };
            match (state, desired) {
                (MirrorState::Stopped, Desired::Promote | Desired::Failover) => return Ok(()),
                (MirrorState::Stopped, _) => return Err(invalid()),
                (MirrorState::Failed, Desired::Active | Desired::Paused | Desired::Promote) => {
                    return Err(invalid())
                }
                _ => {}
            }
            mirror.record.desired = desired;
            mirror.promote_synced = false;
            let next = match (state, desired) {
                (MirrorState::SourceUnavailable, Desired::Active | Desired::Promote) => {
                    MirrorState::SourceUnavailable
                }
                _ => mirror.healthy_state(),
            };
            mirror.set_state(next, None);
            if next == MirrorState::Stopped {
                // Under the produce gate: nothing is in flight, so what is queued is unwritten
                // and the stored position must not count it.
                mirror.give_back(&mut st.producer);
            }
            store_entries(
                &self.inner.settings.name,
                mirror,
                next == MirrorState::Stopped,
            )
        };
        let (entries, saved) = entries;
        self.inner.store.put(&entries).await.map_err(dst_err)?;
        if let Some(m) = self.lock().mirrors.get_mut(name) {
            saved.apply(m);
        }
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Deletes a mirror (R11): stops mirroring it and deletes the destination topic.
    pub async fn delete_mirror(&self, name: &str) -> Result<(), MirrorError> {
        let _writes = self.inner.state_writes.lock().await;
        let removed = {
            // Nothing of this mirror is in flight once the gate is ours, and nothing will be
            // once it is removed: no answer can reach a mirror created again under this name,
            // and no request can land in its new topic.
            let _gate = self.inner.produce_gate.lock().await;
            // The producer's sequences for this name go on: tansu keeps a producer's state
            // across a topic's deletion and refuses a re-created topic's batches that start
            // again at 0 (found by the operator test that deletes and re-adds a mirror); Kafka
            // (2.5 and later) accepts any first sequence on a partition new to the producer.
            let mut guard = self.lock();
            let st = &mut *guard;
            let mut removed = st
                .mirrors
                .remove(name)
                .ok_or_else(|| MirrorError::NotFound(name.to_owned()))?;
            removed.give_back(&mut st.producer);
            removed
        };
        let link = &self.inner.settings.name;
        let mut entries = vec![(state_keys::mirror(link, name), None)];
        for (p, part) in &removed.parts {
            entries.push((state_keys::checkpoint(link, name, *p), None));
            for r in part.map.runs() {
                entries.push((state_keys::run(link, name, *p, r.source), None));
            }
        }
        self.inner.store.put(&entries).await.map_err(dst_err)?;
        for (_, r) in self
            .inner
            .destination
            .delete_topics(&[name.to_owned()], Duration::from_secs(30))
            .await
            .map_err(dst_err)?
        {
            match r {
                Err(e) if !e.is(ResponseError::UnknownTopicOrPartition) => return Err(dst_err(e)),
                _ => {}
            }
        }
        info!(mirror = %name, "mirror deleted");
        Ok(())
    }

    /// Status of one mirror.
    pub fn status(&self, name: &str) -> Option<MirrorStatus> {
        let s = self.lock().mirrors.get(name).map(mirror_status);
        s.map(|s| self.reported(s))
    }

    /// The client of the source cluster (for reading that cluster's clusterlink state).
    pub fn source(&self) -> &Client {
        &self.inner.source
    }

    /// The name of the state topic (on the destination, and on any cluster another link
    /// server runs on).
    pub fn state_topic(&self) -> &str {
        &self.inner.settings.state_topic
    }

    /// Pauses (or resumes) the whole link: no fetch while paused; writes already in flight
    /// finish. Mirrors report LINK_PAUSED meanwhile.
    pub fn set_link_paused(&self, paused: bool) {
        let was = self
            .inner
            .link_paused
            .swap(paused, std::sync::atomic::Ordering::SeqCst);
        if was != paused {
            info!(link = %self.inner.settings.name, paused, "link pause changed");
            self.inner.wake.notify_one();
        }
    }

    /// Whether the whole link is paused.
    pub fn is_link_paused(&self) -> bool {
        self.inner
            .link_paused
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    fn reported(&self, mut s: MirrorStatus) -> MirrorStatus {
        if self.is_link_paused() && s.state.moves_data() {
            s.state = MirrorState::LinkPaused;
        }
        s
    }

    /// Status of every mirror, by name.
    pub fn list(&self) -> Vec<MirrorStatus> {
        let all: Vec<MirrorStatus> = self.lock().mirrors.values().map(mirror_status).collect();
        all.into_iter().map(|s| self.reported(s)).collect()
    }

    /// The destination offset a consumer at source offset `offset` resumes at.
    pub fn translate(&self, name: &str, partition: i32, offset: i64) -> Option<i64> {
        let st = self.lock();
        st.mirrors
            .get(name)?
            .parts
            .get(&partition)?
            .map
            .translate(offset)
    }

    /// Where a consumer at source offset `offset` of a mirror's partition stands on the
    /// destination (see [`crate::offset_map::OffsetMap::position`]).
    pub fn translate_position(&self, name: &str, partition: i32, offset: i64) -> Option<i64> {
        let st = self.lock();
        st.mirrors
            .get(name)?
            .parts
            .get(&partition)?
            .map
            .position(offset)
    }

    /// Writes changed mirror records at once, and positions when the interval is due (or
    /// `force`).
    async fn checkpoint(&self, force: bool) -> Result<(), MirrorError> {
        let _writes = self.inner.state_writes.lock().await;
        let entries = {
            let mut st = self.lock();
            let due =
                force || st.last_checkpoint.elapsed() >= self.inner.settings.checkpoint_interval;
            if due {
                st.last_checkpoint = Instant::now();
            }
            let link = &self.inner.settings.name;
            let mut out = Vec::new();
            let mut saved = Vec::new();
            for m in st.mirrors.values() {
                if due || m.dirty_record {
                    // A stop is final: its positions are written with it.
                    let all = m.record.state == MirrorState::Stopped && m.dirty_record;
                    let (entries, s) = store_entries(link, m, all);
                    out.extend(entries);
                    saved.push(s);
                }
            }
            (out, saved)
        };
        let (entries, saved) = entries;
        self.inner.store.put(&entries).await.map_err(dst_err)?;
        let mut st = self.lock();
        for s in saved {
            if let Some(m) = st.mirrors.get_mut(&s.name) {
                s.apply(m);
            }
        }
        Ok(())
    }

    /// The mirroring task: a fetch loop and a produce loop, side by side. The fetch loop keeps
    /// each partition's queue of stamped batches topped up (bounded, see [`Part::wants_data`]);
    /// the produce loop drains the queues into pipelined produce calls. Neither waits for the
    /// other except through the queues, so the source serves the next batches while the
    /// destination appends the last ones.
    async fn run(&self) {
        tokio::join!(self.fetch_loop(), self.produce_loop());
        debug!("mirroring task stopped");
        self.inner.finished.send_replace(true);
    }

    fn stopping(&self) -> bool {
        self.inner.stop.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn fetch_loop(&self) {
        let mut idle_rounds = 0u32;
        while !self.stopping() {
            let moved = match self.round().await {
                Ok(moved) => moved,
                Err(e) => {
                    warn!(error = %e, "mirroring round failed");
                    false
                }
            };
            if moved {
                self.inner.produce_wake.notify_one();
            }
            if let Err(e) = self.checkpoint(false).await {
                warn!(error = %e, "checkpoint failed");
            }
            if moved {
                idle_rounds = 0;
            } else {
                idle_rounds = (idle_rounds + 1).min(10);
                let pause = Duration::from_millis(20 * idle_rounds as u64);
                let _ = tokio::time::timeout(pause, self.inner.wake.notified()).await;
            }
        }
        // The produce loop may be waiting for work.
        self.inner.produce_wake.notify_one();
    }

    async fn produce_loop(&self) {
        let mut idle_rounds = 0u32;
        while !self.stopping() {
            // Checkpoints are the fetch loop's: a checkpoint stuck on an unreachable destination
            // must not hold back the next write attempt.
            let (moved, stuck) = self.produce_in_flight().await;
            if moved {
                idle_rounds = 0;
            } else {
                // Nothing to write, or every write failed: wait for data, backing off while
                // writes keep failing.
                idle_rounds = (idle_rounds + 1).min(10);
                let pause = if stuck {
                    Duration::from_millis(50 * idle_rounds as u64)
                } else {
                    Duration::from_millis(20 * idle_rounds as u64)
                };
                let _ = tokio::time::timeout(pause, self.inner.produce_wake.notified()).await;
            }
        }
    }

    /// One fetch round: fetch for every partition whose queue has room, stamp and queue what
    /// came back. Returns whether any data moved.
    async fn round(&self) -> Result<bool, MirrorError> {
        self.check_partition_counts().await;
        let settings = &self.inner.settings;
        let paused = self.is_link_paused();
        let held = self.buffered_bytes();
        let full = held >= settings.buffer_max_bytes;
        // Batches wait to be written (every batch has bytes).
        let busy = held > 0;
        let fetches: Vec<FetchPartition> = if paused || full {
            Vec::new()
        } else {
            let st = self.lock();
            st.mirrors
                .values()
                .filter(|m| m.record.state.moves_data())
                .flat_map(|m| {
                    m.parts
                        .iter()
                        .filter(|(_, p)| p.wants_data(settings))
                        .map(|(i, p)| FetchPartition {
                            topic: m.record.spec.source_topic.clone(),
                            partition: *i,
                            offset: p.reader.fetch_offset(),
                            max_bytes: p.fetch_bytes,
                        })
                })
                .collect()
        };
        if fetches.is_empty() {
            self.finish_promotions();
            return Ok(false);
        }
        let requested: std::collections::HashMap<(String, i32), i64> = fetches
            .iter()
            .map(|f| ((f.topic.clone(), f.partition), f.offset))
            .collect();
        // While batches wait to be written, a fetch must not sit in a long poll: a partition
        // whose queue drains would wait for it. Not zero either: tansu answers a Fetch with
        // max_wait 0 with no data even when it has some (measured: every other fetch came back
        // empty), while Kafka answers at once whenever data is there.
        let max_wait = if busy {
            BUSY_FETCH_WAIT.min(settings.max_wait)
        } else {
            settings.max_wait
        };
        let results = self
            .inner
            .source
            .fetch(&FetchRequest {
                partitions: fetches,
                max_wait,
                min_bytes: 1,
                max_bytes: settings.fetch_max_bytes,
                isolation: Isolation::ReadCommitted,
            })
            .await;
        let mut moved = false;
        let mut source_down = Vec::new();
        let mut missing_topics = Vec::new();
        {
            let mut guard = self.lock();
            let st = &mut *guard;
            let now = now_ms();
            for r in results {
                // One mirror per source topic on a link (create_mirror enforces it).
                let names: Vec<String> = st
                    .mirrors
                    .values()
                    .filter(|mm| {
                        mm.record.spec.source_topic == r.topic && mm.record.state.moves_data()
                    })
                    .map(|mm| mm.record.spec.name.clone())
                    .collect();
                for name in names {
                    let m = st.mirrors.get_mut(&name).expect("present");
                    let Some(part) = m.parts.get_mut(&r.partition) else {
                        continue;
                    };
                    if requested.get(&(r.topic.clone(), r.partition))
                        != Some(&part.reader.fetch_offset())
                    {
                        // Reset while the fetch ran (the mirror was deleted and created again).
                        continue;
                    }
                    match &r.result {
                        Ok(f) => {
                            if f.high_watermark >= 0 {
                                part.high_watermark = f.high_watermark;
                                part.last_stable = f.last_stable_offset;
                            }
                            let had_bytes = !f.records.is_empty();
                            match part.reader.accept(f.records.clone(), &f.aborted) {
                                Err((o, e)) => {
                                    m.fail(format!(
                                        "source {}-{} at offset {o}: {e}",
                                        r.topic, r.partition
                                    ));
                                    continue;
                                }
                                Ok(acc) => {
                                    if acc.whole_batches == 0 && had_bytes {
                                        part.fetch_bytes = part
                                            .fetch_bytes
                                            .saturating_mul(2)
                                            .min(settings.fetch_max_bytes);
                                    }
                                    for ready in acc.ready {
                                        let stamped =
                                            st.producer.stamp(&name, r.partition, &ready.batch);
                                        part.queued.push((stamped, ready.source));
                                        moved = true;
                                    }
                                    part.caught_up = acc.whole_batches == 0
                                        && f.high_watermark >= 0
                                        && part.reader.resume_offset() >= f.high_watermark;
                                    part.lag_seen_at = if part.lag_records() > 0 {
                                        part.lag_seen_at.or(Some(now))
                                    } else {
                                        None
                                    };
                                    part.fetch_error = None;
                                }
                            }
                            if m.record.state == MirrorState::SourceUnavailable {
                                let healthy = m.healthy_state();
                                m.set_state(healthy, None);
                            }
                        }
                        Err(e) => {
                            part.caught_up = false;
                            let since = part
                                .fetch_error
                                .get_or_insert_with(|| (Instant::now(), String::new()))
                                .0;
                            part.fetch_error = Some((since, e.to_string()));
                            match e {
                                KafkaError::Connection { .. } | KafkaError::Timeout { .. } => {
                                    source_down.push(name.clone())
                                }
                                e if e.is(ResponseError::UnknownTopicOrPartition) => {
                                    missing_topics.push((name.clone(), r.topic.clone()))
                                }
                                e if e.is(ResponseError::OffsetOutOfRange) => {
                                    let msg = format!("source {}-{} no longer has offset {} (its log start moved past it): {e}", r.topic, r.partition, part.reader.fetch_offset());
                                    m.fail(msg);
                                }
                                e if !e.is_retriable() => {
                                    m.fail(format!("fetching from the source: {e}"))
                                }
                                e if since.elapsed() > settings.retry_timeout => m.fail(format!(
                                    "retries exhausted after cluster.link.retry.timeout.ms={}: {e}",
                                    settings.retry_timeout.as_millis()
                                )),
                                _ => {}
                            }
                        }
                    }
                }
            }
            for name in &source_down {
                if let Some(m) = st.mirrors.get_mut(name) {
                    if matches!(
                        m.record.state,
                        MirrorState::Active | MirrorState::PendingStopped
                    ) {
                        let reason = m.parts.values().find_map(|p| p.last_error());
                        m.set_state(MirrorState::SourceUnavailable, reason);
                    }
                }
            }
        }
        for (name, topic) in missing_topics {
            self.check_source_topic(&name, &topic).await;
        }
        self.finish_promotions();
        Ok(moved)
    }

    /// Bytes of fetched batches held by the partitions of mirrors that move data, queued or
    /// being written.
    fn buffered_bytes(&self) -> usize {
        self.lock()
            .mirrors
            .values()
            // A paused mirror keeps its batches for when it resumes; they must not hold back
            // the link's other mirrors.
            .filter(|m| m.record.state.moves_data())
            .flat_map(|m| m.parts.values())
            .map(Part::buffered_bytes)
            .sum()
    }

    /// After UNKNOWN_TOPIC_OR_PARTITION: is the source topic gone, or did it shrink?
    async fn check_source_topic(&self, name: &str, topic: &str) {
        self.inner.source.invalidate_metadata();
        let meta = self.inner.source.topic_metadata(topic).await;
        let mut st = self.lock();
        let Some(m) = st.mirrors.get_mut(name) else {
            return;
        };
        match meta {
            Err(e) if e.is(ResponseError::UnknownTopicOrPartition) => {
                m.fail(format!("source topic {topic} was deleted"))
            }
            Ok(t) if t.partitions.len() < m.parts.len() => m.fail(format!(
                "source topic {topic} has {} partitions, fewer than the mirror's {}",
                t.partitions.len(),
                m.parts.len()
            )),
            _ => {}
        }
    }

    /// Source partitions added: the mirror gets them too (CreatePartitions), or says why not.
    async fn check_partition_counts(&self) {
        let due: Vec<(String, String, usize)> = {
            let mut st = self.lock();
            if st.last_metadata.elapsed() < self.inner.settings.metadata_interval {
                return;
            }
            st.last_metadata = Instant::now();
            st.mirrors
                .values()
                .filter(|m| {
                    matches!(
                        m.record.state,
                        MirrorState::Active | MirrorState::PendingStopped
                    )
                })
                .map(|m| {
                    (
                        m.record.spec.name.clone(),
                        m.record.spec.source_topic.clone(),
                        m.parts.len(),
                    )
                })
                .collect()
        };
        for (name, topic, have) in due {
            self.inner.source.invalidate_metadata();
            let Ok(t) = self.inner.source.topic_metadata(&topic).await else {
                continue;
            };
            let want = t.partitions.len();
            if want < have {
                if let Some(m) = self.lock().mirrors.get_mut(&name) {
                    m.fail(format!("source topic {topic} has {want} partitions, fewer than the mirror's {have}"));
                }
                continue;
            }
            if want == have {
                continue;
            }
            // The destination may have grown already (before a restart, say): only ask for what
            // is missing.
            self.inner.destination.invalidate_metadata();
            let dest_has = match self.inner.destination.topic_metadata(&name).await {
                Ok(t) => t.partitions.len(),
                Err(_) => continue,
            };
            let err = if dest_has >= want {
                None
            } else {
                let r = self
                    .inner
                    .destination
                    .create_partitions(
                        &[(name.clone(), want as i32)],
                        false,
                        Duration::from_secs(30),
                    )
                    .await;
                match r {
                    Ok(results) => results.into_iter().find_map(|(_, r)| r.err()),
                    Err(e) => Some(e),
                }
            };
            let mut st = self.lock();
            let Some(m) = st.mirrors.get_mut(&name) else {
                continue;
            };
            match err {
                None => {
                    for p in 0..want as i32 {
                        if m.parts.contains_key(&p) {
                            continue;
                        }
                        let start = Checkpoint {
                            source: 0,
                            destination: 0,
                        };
                        let mut part = Part::new(
                            start,
                            OffsetMap::new(),
                            self.inner.settings.partition_max_bytes,
                        );
                        // Not stored yet: the next checkpoint must write it, or a restart
                        // would not know the partition.
                        part.checkpoint = Checkpoint {
                            source: -1,
                            destination: -1,
                        };
                        m.parts.insert(p, part);
                    }
                    m.dirty_record = true;
                    m.record_version += 1;
                    info!(mirror = %name, from = have, to = want, "partitions added");
                }
                Some(e) => {
                    let reason = format!("source topic {topic} grew to {want} partitions but the destination cannot follow: {e}");
                    if m.record.reason.as_deref() != Some(reason.as_str()) {
                        warn!(mirror = %name, %reason);
                        m.record.reason = Some(reason);
                        m.dirty_record = true;
                        m.record_version += 1;
                        m.record_version += 1;
                    }
                }
            }
        }
    }

    /// Writes queued batches until the queues are empty, a write fails or the engine stops.
    /// Each call moves up to `max_in_flight` batches per partition from its queue to
    /// `in_flight` and writes them: Kafka takes one batch per partition per produce request, so
    /// up to that many requests per destination leader go out back to back, the n-th carrying
    /// the n-th batch of every partition (the client pipelines them on one connection, which
    /// keeps each partition's order). The answers are taken in order; at a partition's first
    /// failure the rest of its answers are ignored and this returns: the produce loop calls
    /// again (after a backoff when nothing moved), and the failed batches are retried as they
    /// are (same producer id and sequences: the broker appends what it did not have and
    /// recognises what it had). Returns (whether anything was written, whether a write failed).
    async fn produce_in_flight(&self) -> (bool, bool) {
        let mut moved = false;
        let mut stalled: std::collections::HashSet<(String, i32)> = Default::default();
        let depth = self.inner.settings.max_in_flight.clamp(1, 5);
        while !self.stopping() {
            let _gate = self.inner.produce_gate.lock().await;
            let mut drained = false;
            let batch: Vec<ProducePartition> = {
                let mut guard = self.lock();
                let st = &mut *guard;
                // Mirrors that stopped moving (paused, failed, failed over) hold nothing: no
                // call is in flight now, and their answers were all taken.
                for m in st.mirrors.values_mut() {
                    if !m.record.state.moves_data() {
                        m.give_back(&mut st.producer);
                    }
                }
                for m in st.mirrors.values_mut() {
                    for part in m.parts.values_mut() {
                        // Queued batches follow the in-flight ones (their sequences too).
                        let room = depth.saturating_sub(part.in_flight.len());
                        let n = room.min(part.queued.len());
                        part.in_flight.extend(part.queued.drain(..n));
                        drained |= n > 0;
                    }
                }
                st.mirrors
                    .values()
                    .filter(|m| m.record.state.moves_data())
                    .flat_map(|m| {
                        let name = &m.record.spec.name;
                        m.parts
                            .iter()
                            .filter(|(i, _)| !stalled.contains(&(name.clone(), **i)))
                            .flat_map(move |(i, p)| {
                                // A partition whose last write failed tries its first batch
                                // alone until it lands.
                                let n = if p.produce_error.is_some() { 1 } else { depth };
                                p.in_flight.iter().take(n).map(|(b, _)| ProducePartition {
                                    topic: name.clone(),
                                    partition: *i,
                                    records: b.bytes().clone(),
                                })
                            })
                    })
                    .collect()
            };
            if drained {
                // Queues have room: the fetch loop may be waiting for it.
                self.inner.wake.notify_one();
            }
            if batch.is_empty() {
                return (moved, !stalled.is_empty());
            }
            let results = self
                .inner
                .destination
                .produce(batch, produce_timeout(&self.inner.destination))
                .await;
            let mut st = self.lock();
            let retry_timeout = self.inner.settings.retry_timeout;
            for r in results {
                if stalled.contains(&(r.topic.clone(), r.partition)) {
                    // An earlier batch of this partition failed in this call.
                    continue;
                }
                let Some(m) = st.mirrors.get_mut(&r.topic) else {
                    continue;
                };
                let Some(part) = m.parts.get_mut(&r.partition) else {
                    continue;
                };
                match r.result {
                    Ok(produced) => {
                        if produced.base_offset != part.dest_end {
                            let msg = format!(
                                "destination {}-{} was written by another producer: the mirror expected offset {}, the broker appended at {}",
                                r.topic, r.partition, part.dest_end, produced.base_offset
                            );
                            m.fail(msg);
                            stalled.insert((r.topic.clone(), r.partition));
                            continue;
                        }
                        if part.in_flight.is_empty() {
                            continue;
                        }
                        let (b, source) = part.in_flight.remove(0);
                        let n = b.header().record_count as i64;
                        record_written(&mut part.map, &source, part.dest_end);
                        part.dest_end += n;
                        part.records += n as u64;
                        part.bytes += b.bytes().len() as u64;
                        part.produce_error = None;
                        moved = true;
                    }
                    Err(e) => {
                        stalled.insert((r.topic.clone(), r.partition));
                        let since = part
                            .produce_error
                            .as_ref()
                            .map_or_else(Instant::now, |(t, _)| *t);
                        part.produce_error =
                            Some((since, format!("writing to the destination: {e}")));
                        if !e.is_retriable() {
                            m.fail(format!("writing to the destination: {e}"));
                        } else if since.elapsed() > retry_timeout {
                            m.fail(format!(
                                "retries exhausted after cluster.link.retry.timeout.ms={}: writing to the destination: {e}",
                                retry_timeout.as_millis()
                            ));
                        }
                    }
                }
            }
            if !stalled.is_empty() {
                // Retried by the next call, after the produce loop's backoff if nothing moved.
                return (moved, true);
            }
        }
        (moved, false)
    }

    /// PENDING_STOPPED mirrors with zero lag twice in a row (the second is the final sync) stop.
    fn finish_promotions(&self) {
        let mut st = self.lock();
        for m in st.mirrors.values_mut() {
            if m.record.state != MirrorState::PendingStopped {
                continue;
            }
            let zero = m.parts.values().all(|p| {
                p.caught_up
                    && p.is_idle()
                    && p.lag_records() == 0
                    && (p.last_stable < 0 || p.last_stable == p.high_watermark)
            });
            if !zero {
                m.promote_synced = false;
            } else if m.promote_synced {
                m.set_state(MirrorState::Stopped, None);
            } else {
                m.promote_synced = true;
            }
        }
    }
}

/// The longest a fetch waits for data while other partitions' batches wait to be written.
const BUSY_FETCH_WAIT: Duration = Duration::from_millis(10);

/// The broker-side timeout of a produce: well inside the client's request timeout, so that a
/// slow append is answered with an error rather than dropping the connection for every
/// request on it.
fn produce_timeout(client: &Client) -> Duration {
    (client.config().connection.request_timeout * 2 / 3).min(Duration::from_secs(30))
}

fn record_written(map: &mut OffsetMap, source: &SourceOffsets, destination: i64) {
    match source {
        SourceOffsets::Dense { base, count } => map.record(*base, destination, *count),
        SourceOffsets::Listed(offsets) => map.record_offsets(offsets, destination),
    }
}

fn mirror_status(m: &Mirror) -> MirrorStatus {
    let now = now_ms();
    MirrorStatus {
        name: m.record.spec.name.clone(),
        source_topic: m.record.spec.source_topic.clone(),
        state: m.record.state,
        reason: m.record.reason.clone(),
        offset_mode: m.offset_mode(),
        state_time_ms: m.record.state_time_ms,
        partitions: m.parts.iter().map(|(i, p)| p.status(*i, now)).collect(),
    }
}

/// What a write of [`store_entries`] covered, applied to the mirror once the write succeeded
/// (never before: a failed write must be written again).
#[derive(Debug)]
struct Saved {
    name: String,
    record_version: Option<u64>,
    parts: Vec<(i32, Checkpoint, usize)>,
}

impl Saved {
    fn apply(self, mirror: &mut Mirror) {
        if self.record_version == Some(mirror.record_version) {
            mirror.dirty_record = false;
        }
        for (p, ckpt, runs) in self.parts {
            if let Some(part) = mirror.parts.get_mut(&p) {
                part.checkpoint = ckpt;
                part.saved_runs = part.saved_runs.max(runs);
            }
        }
    }
}

/// Store entries for a mirror's record (when changed or `all`) and for every partition whose
/// position moved (or all, with `all`): its checkpoint and the offset-map runs since the last
/// one written.
fn store_entries(link: &str, mirror: &Mirror, all: bool) -> (Vec<Entry>, Saved) {
    let name = mirror.record.spec.name.clone();
    let mut out = Vec::new();
    let mut saved = Saved {
        name: name.clone(),
        record_version: None,
        parts: Vec::new(),
    };
    if mirror.dirty_record || all {
        out.push((
            state_keys::mirror(link, &name),
            serde_json::to_vec(&mirror.record).ok(),
        ));
        saved.record_version = Some(mirror.record_version);
    }
    for (p, part) in mirror.parts.iter() {
        let ckpt = Checkpoint {
            source: part.resume_offset(),
            destination: part.dest_end,
        };
        if !all
            && ckpt.source == part.checkpoint.source
            && ckpt.destination == part.checkpoint.destination
        {
            continue;
        }
        // The last saved run may have grown since: write it again with the new ones.
        let runs = part.map.runs();
        for r in &runs[part.saved_runs.saturating_sub(1).min(runs.len())..] {
            out.push((
                state_keys::run(link, &name, *p, r.source),
                serde_json::to_vec(r).ok(),
            ));
        }
        out.push((
            state_keys::checkpoint(link, &name, *p),
            serde_json::to_vec(&ckpt).ok(),
        ));
        saved.parts.push((*p, ckpt, runs.len()));
    }
    (out, saved)
}
