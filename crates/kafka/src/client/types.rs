//! The values the client's methods take and return: metadata, fetch and produce inputs and
//! results, offsets, topics, configs. Plain data; the codec's message types stay inside the
//! client.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;

use crate::error::{KafkaCode, Result};
use crate::records::AbortedTxn;

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
    pub(super) fn code(self) -> i8 {
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
    pub(super) fn code(self) -> i8 {
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
