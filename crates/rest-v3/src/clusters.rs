//! The cluster resource (`GET /clusters`, `GET /clusters/{id}`) and its brokers
//! (`GET /clusters/{id}/brokers`).

use serde::{Deserialize, Serialize};

use crate::resource::{Relationship, ResourceMetadata};

/// A Kafka cluster (`KafkaCluster`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KafkaClusterData {
    /// `KafkaCluster`.
    pub kind: String,
    /// Its URL and CRN.
    pub metadata: ResourceMetadata,
    /// The cluster's id.
    pub cluster_id: String,
    /// The controller broker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<Relationship>,
    /// Its ACLs.
    pub acls: Relationship,
    /// Its brokers.
    pub brokers: Relationship,
    /// Its broker configs.
    pub broker_configs: Relationship,
    /// Its consumer groups.
    pub consumer_groups: Relationship,
    /// Its topics.
    pub topics: Relationship,
    /// Its partition reassignments.
    pub partition_reassignments: Relationship,
}

impl KafkaClusterData {
    /// The resource's `kind`.
    pub const KIND: &'static str = "KafkaCluster";
    /// The list's `kind`.
    pub const LIST_KIND: &'static str = "KafkaClusterList";
}

/// A broker of a cluster (`KafkaBroker`, `GET /clusters/{id}/brokers`): where clients reach
/// it. A link server lists the brokers its local cluster advertises, or the addresses it was
/// told other clusters dial (`clusterlink server --advertised-bootstrap-server`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KafkaBrokerData {
    /// `KafkaBroker`.
    pub kind: String,
    /// Its URL and CRN.
    pub metadata: ResourceMetadata,
    /// The cluster's id.
    pub cluster_id: String,
    /// The broker's id.
    pub broker_id: i32,
    /// The host clients connect to.
    pub host: Option<String>,
    /// The port clients connect to.
    pub port: Option<i32>,
    /// The broker's rack, if it has one.
    pub rack: Option<String>,
}

impl KafkaBrokerData {
    /// The resource's `kind`.
    pub const KIND: &'static str = "KafkaBroker";
    /// The list's `kind`.
    pub const LIST_KIND: &'static str = "KafkaBrokerList";

    /// `host:port`, when both are given.
    pub fn address(&self) -> Option<String> {
        match (&self.host, self.port) {
            (Some(h), Some(p)) if !h.is_empty() => Some(format!("{h}:{p}")),
            _ => None,
        }
    }
}
