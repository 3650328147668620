//! The `KafkaTopic` resource: a topic managed through the Admin REST API.
//!
//! clusterlink creates one when a mirror topic is promoted or failed over, so that the now
//! writable topic keeps an owner (see [`crate::names::promoted_topic_resource_name`]). The shape
//! is CFK 3.3's.

// kube's `#[kube(...)]` repeats keys such as `shortname` and `printcolumn(type_ = ...)` by design.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{AppState, Condition, KafkaClusterRef, KafkaRestApi, KafkaRestClassRef};

/// A Kafka topic.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "platform.confluent.io",
    version = "v1beta1",
    kind = "KafkaTopic",
    plural = "kafkatopics",
    singular = "kafkatopic",
    namespaced,
    status = "KafkaTopicStatus",
    derive = "PartialEq",
    derive = "Default",
    shortname = "kt",
    shortname = "topic",
    category = "all",
    category = "confluent-platform",
    category = "confluent",
    doc = "KafkaTopic is a Kafka topic managed through the Admin REST API.",
    printcolumn(name = "Replicas", type_ = "string", json_path = ".status.replicas"),
    printcolumn(
        name = "Partition",
        type_ = "string",
        json_path = ".status.partitionCount"
    ),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.state"),
    printcolumn(
        name = "ClusterID",
        type_ = "string",
        json_path = ".status.kafkaClusterID"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "KafkaCluster",
        type_ = "string",
        json_path = ".status.kafkaCluster",
        priority = 1
    )
)]
#[serde(rename_all = "camelCase")]
pub struct KafkaTopicSpec {
    /// Topic configurations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-map-type" = "granular"))]
    pub configs: Option<BTreeMap<String, String>>,
    /// The CFK-managed Kafka cluster of the topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_cluster_ref: Option<KafkaClusterRef>,
    /// An explicit REST API endpoint and its client settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_rest: Option<KafkaRestApi>,
    /// The KafkaRestClass through which the topic is managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_rest_class_ref: Option<KafkaRestClassRef>,
    /// The topic's name; the resource's name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9\._\-]*$"))]
    pub name: Option<String>,
    /// Number of partitions; the REST API's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_count: Option<i32>,
    /// Replication factor; the REST API's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

/// Observed state of a KafkaTopic.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaTopicStatus {
    /// Lifecycle summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Unknown"))]
    pub app_state: Option<AppState>,
    /// Latest observations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// `<namespace>/<name>` of the Kafka cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_cluster: Option<String>,
    /// The Kafka cluster's id.
    #[serde(
        rename = "kafkaClusterID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub kafka_cluster_id: Option<String>,
    /// The REST endpoint used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_rest_endpoint: Option<String>,
    /// The most recent generation observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Partition count of the topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_count: Option<i32>,
    /// Replication factor of the topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// State of the topic, e.g. `CREATED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl KafkaTopic {
    /// The Kafka topic's name: `spec.name`, or the resource's name when absent.
    pub fn topic_name(&self) -> Option<&str> {
        self.spec.name.as_deref().or(self.metadata.name.as_deref())
    }
}
