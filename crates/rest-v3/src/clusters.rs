//! The cluster resource (`GET /clusters`, `GET /clusters/{id}`).

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
