//! The `ClusterLink` status, as CFK reports it (plus clusterlink's extensions on mirror topics,
//! marked as such, which kubectl and CFK tooling ignore).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{AppState, Condition};

/// The observed state of a cluster link, as CFK reports it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterLinkStatus {
    /// Lifecycle summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Unknown"))]
    pub app_state: Option<AppState>,
    /// State of both directions of a bidirectional link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bidirectional_state: Option<BidirectionalState>,
    /// The link's id.
    #[serde(
        rename = "clusterLinkID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cluster_link_id: Option<String>,
    /// The link's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_link_name: Option<String>,
    /// Latest observations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Id of the destination cluster.
    #[serde(
        rename = "destinationKafkaClusterID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub destination_kafka_cluster_id: Option<String>,
    /// `<namespace>/<name>` of the Kafka cluster the link belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_cluster: Option<String>,
    /// Status of each mirror topic, by topic name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-map-type" = "granular"))]
    pub mirror_topics: Option<BTreeMap<String, MirrorTopicStatus>>,
    /// clusterlink extension: the largest `maxLag` of its (forward) mirror topics, in records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lag: Option<i64>,
    /// clusterlink extension: the largest `maxLagSeconds` of its (forward) mirror topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lag_seconds: Option<f64>,
    /// Number of mirror topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_mirror_topics: Option<i64>,
    /// Number of reverse (`toSource`) mirror topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_reverse_mirror_topics: Option<i64>,
    /// The most recent generation observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// clusterlink extension: the bootstrap endpoint the link dials when the resource gives
    /// none (`bootstrapEndpoint`), and where it was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_bootstrap: Option<ResolvedBootstrap>,
    /// Status of each reverse (`toSource`) mirror topic, by topic name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-map-type" = "granular"))]
    pub reverse_mirror_topics: Option<BTreeMap<String, MirrorTopicStatus>>,
    /// Id of the source cluster.
    #[serde(
        rename = "sourceKafkaClusterID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub source_kafka_cluster_id: Option<String>,
    /// State of the link, `CREATED` when healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// clusterlink extension: a bootstrap endpoint resolved for the cluster a link dials.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedBootstrap {
    /// The spec field of that cluster, e.g. `spec.sourceKafkaCluster`.
    pub cluster: String,
    /// The endpoint (`bootstrap.servers`).
    pub bootstrap_servers: String,
    /// Where it came from, e.g. `Kafka source/kafka-src (platform.confluent.io/v1beta1),
    /// listener internal`.
    pub source: String,
}

/// State of both directions of a bidirectional link.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BidirectionalState {
    /// Whether consumer offset sync is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_offset_sync_enabled: Option<bool>,
    /// Whether the destination-to-source direction is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_to_source_active: Option<bool>,
    /// Whether the source-to-destination direction is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_to_destination_active: Option<bool>,
}

/// Status of one mirror topic.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MirrorTopicStatus {
    /// clusterlink extension: the largest lag of its partitions, in records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lag: Option<i64>,
    /// clusterlink extension: the largest lag of its partitions, in seconds (how long ago the
    /// oldest record not yet copied was written to the source; 0 when caught up), to a tenth of
    /// a second. Absent when the link server does not report it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lag_seconds: Option<f64>,
    /// clusterlink extension: why the topic is in its status (e.g. the reason it FAILED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The generation of the resource this status was written for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// clusterlink extension: whether destination offsets equal the source's (`Identical`) or
    /// go through an offset map (`Mapped`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_mode: Option<String>,
    /// Replication factor on the destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_factor: Option<i32>,
    /// Name of the source topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_topic_name: Option<String>,
    /// Mirror status: `ACTIVE`, `PAUSED`, `PENDING_STOPPED`, `STOPPED`, `FAILED`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// clusterlink extension: what `TRUNCATE_AND_RESTORE` cut from the topic before it became
    /// this mirror, and where those records were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncation: Option<TruncationStatus>,
}

/// What a truncate-and-restore cut from a topic.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TruncationStatus {
    /// Offsets cut, all partitions together.
    pub messages_truncated: i64,
    /// The topic the cut records were copied to.
    pub diverged_records_topic: String,
    /// Per partition that lost offsets: where it was cut and how many.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<PartitionTruncationStatus>,
}

/// Where one partition was cut.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartitionTruncationStatus {
    /// The partition.
    pub partition: i32,
    /// The first offset cut.
    pub offset_truncated_to: i64,
    /// How many offsets were cut.
    pub messages_truncated: i64,
}
