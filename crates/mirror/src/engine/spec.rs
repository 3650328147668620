//! What an engine is asked to do: the link's settings, the mirror topics to create, where they
//! start, and what the user wants of each. Plain data; everything else in the engine reads it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

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
    /// `mirror.log.start.policy`: what a mirror does when the source's log start moved past
    /// the next offset it would copy.
    pub log_start_policy: LogStartPolicy,
}

/// What a mirror does when the source's log start moved past the next offset it would copy
/// (retention or DeleteRecords ran past a mirror that was behind): `mirror.log.start.policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LogStartPolicy {
    /// The mirror fails, naming the offsets lost: someone decides (the default).
    #[default]
    Stop,
    /// The mirror goes on from the new log start, counting the records lost; an aligned mirror
    /// stays aligned (its destination filled up to the new start and cut there).
    Resume,
}

impl LogStartPolicy {
    /// Every policy, as the link config spells it.
    pub const NAMES: &'static [&'static str] = &["stop", "resume"];

    /// The policy a link config value names (any case).
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "stop" => Some(LogStartPolicy::Stop),
            "resume" => Some(LogStartPolicy::Resume),
            _ => None,
        }
    }
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
            log_start_policy: LogStartPolicy::Stop,
        }
    }

    /// Batches in flight (and queued) per partition: `max_in_flight`, kept within 1 to 5.
    pub(crate) fn pipeline_depth(&self) -> usize {
        self.max_in_flight.clamp(1, 5)
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
    /// The destination topic exists and already holds the source's history up to its end:
    /// mirroring continues from there, offsets aligned (a reversed mirror after a failback, or
    /// a topic restored with nothing to cut). Checked before the mirror is created.
    DestinationEnd,
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
