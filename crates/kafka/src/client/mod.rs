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
//!
//! One [`Client`], its methods split by role, bottom up (no file imports one above it):
//! - `config`, `types`: its settings, and the values its methods take and return;
//! - `wire`: small conversions to and from the codec's messages (topic names, per-topic
//!   grouping of partitions, per-topic results);
//! - `handle`: the [`Client`] handle and the state its clones share;
//! - `retry`: retries with backoff and jitter;
//! - `pool`: the connections, one per broker (more for produce), reopened when closed;
//! - `metadata`: bootstrap, the metadata cache and its refresh, partition leaders;
//! - `routing`: requests to any broker, the controller, a group's coordinator or each
//!   partition's leader;
//! - the APIs: `fetch`, `produce`, `offsets` (ListOffsets, DeleteRecords), `admin` (cluster,
//!   topics, configs), `acls` (typed ACL bindings and filters), `groups` (consumer group
//!   offsets and listings).

mod acls;
mod admin;
mod config;
mod fetch;
mod groups;
mod handle;
mod metadata;
mod offsets;
mod pool;
mod produce;
mod retry;
mod routing;
mod types;
mod wire;

pub use acls::{
    AclBinding, AclBindingFilter, AclOperation, AclPermission, PatternType, ResourceType,
};
pub use config::{ClientConfig, RetryPolicy};
pub use handle::Client;
pub use types::{
    AlterConfigOp, ClusterInfo, ClusterMetadata, ConfigEntry, ConfigResource, FetchPartition,
    FetchRequest, FetchedPartition, Isolation, ListedOffset, NewTopic, OffsetSpec,
    PartitionMetadata, PartitionResult, ProducePartition, Produced, TopicMetadata,
};
