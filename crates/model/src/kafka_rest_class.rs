//! The `KafkaRestClass` resource: how to reach the Confluent Admin REST API of one Kafka cluster.
//!
//! A ClusterLink never names REST endpoints itself; it refers to a KafkaRestClass per cluster
//! (`kafkaRestClassRef`), or to a Kafka cluster resource whose KafkaRestClass is found through
//! `kafkaClusterRef`. The shape is CFK 3.3's.

// kube's `#[kube(...)]` repeats keys such as `shortname` and `printcolumn(type_ = ...)` by design.
#![allow(clippy::duplicated_attributes)]

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{Condition, KafkaClusterRef, KafkaRestApi};

/// How to reach the Admin REST API of a Kafka cluster.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "platform.confluent.io",
    version = "v1beta1",
    kind = "KafkaRestClass",
    plural = "kafkarestclasses",
    singular = "kafkarestclass",
    namespaced,
    status = "KafkaRestClassStatus",
    derive = "PartialEq",
    derive = "Default",
    shortname = "krc",
    shortname = "kafkarestclass",
    category = "all",
    category = "confluent-platform",
    category = "confluent",
    doc = "KafkaRestClass says how to reach the Admin REST API of a Kafka cluster.",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct KafkaRestClassSpec {
    /// The CFK-managed Kafka cluster whose REST API this is; its endpoint is discovered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_cluster_ref: Option<KafkaClusterRef>,
    /// An explicit REST API endpoint and its client settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_rest: Option<KafkaRestApi>,
    /// The secondary Kafka cluster, with centralized RBAC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_kafka_cluster_ref: Option<KafkaClusterRef>,
    /// The secondary REST API, with centralized RBAC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_kafka_rest: Option<KafkaRestApi>,
}

/// Observed state of a KafkaRestClass.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaRestClassStatus {
    /// Latest observations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// The REST endpoint in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The Kafka cluster's id.
    #[serde(
        rename = "kafkaClusterID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub kafka_cluster_id: Option<String>,
    /// The most recent generation observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
