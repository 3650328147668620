//! Topics and their configs (`/clusters/{id}/topics/...`): what the reconciler creates for
//! topics a promote leaves behind, and reads to compare.

use serde::{Deserialize, Serialize};

use crate::configs::{ConfigData, ConfigSource, ConfigSynonym};
use crate::resource::{Relationship, ResourceMetadata};
use crate::Extensible;

/// A topic (`KafkaTopic`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaTopicData {
    /// `KafkaTopic`.
    #[serde(default)]
    pub kind: String,
    /// Its URL and CRN.
    #[serde(default)]
    pub metadata: ResourceMetadata,
    /// The cluster's id.
    #[serde(default)]
    pub cluster_id: String,
    /// The topic's name.
    #[serde(default)]
    pub topic_name: String,
    /// What the cluster reports of an existing topic; absent in the answer to a validate-only
    /// creation, which created nothing to report on.
    #[serde(flatten)]
    pub details: Option<TopicDetails>,
}

impl KafkaTopicData {
    /// The resource's `kind`.
    pub const KIND: &'static str = "KafkaTopic";
    /// The list's `kind`.
    pub const LIST_KIND: &'static str = "KafkaTopicList";
}

/// What the cluster reports of an existing topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicDetails {
    /// Whether it is one of Kafka's internal topics.
    pub is_internal: bool,
    /// Replicas per partition.
    pub replication_factor: i32,
    /// Partitions.
    pub partitions_count: i32,
    /// Its partitions.
    pub partitions: Relationship,
    /// Its configs.
    pub configs: Relationship,
    /// Its partition reassignments.
    pub partition_reassignments: Relationship,
}

/// The body of `POST /topics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTopicRequest {
    /// The topic's name.
    pub topic_name: String,
    /// Partitions (`-1` or absent: the broker's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions_count: Option<i32>,
    /// Replication factor (`-1` or absent: the broker's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_factor: Option<i32>,
    /// Config overrides.
    #[serde(default)]
    pub configs: Vec<ConfigData>,
}

/// One config of a topic (`KafkaTopicConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KafkaTopicConfigData {
    /// `KafkaTopicConfig`.
    pub kind: String,
    /// Its URL and CRN.
    pub metadata: ResourceMetadata,
    /// The cluster's id.
    pub cluster_id: String,
    /// The topic.
    pub topic_name: String,
    /// The config.
    pub name: String,
    /// Its value (`null` when sensitive).
    pub value: Option<String>,
    /// Whether it is Kafka's default.
    pub is_default: bool,
    /// Whether it cannot be changed.
    pub is_read_only: bool,
    /// Whether it is a secret.
    pub is_sensitive: bool,
    /// Where the value comes from.
    pub source: Extensible<ConfigSource>,
    /// The same setting at other levels.
    pub synonyms: Vec<ConfigSynonym>,
}

impl KafkaTopicConfigData {
    /// The resource's `kind`.
    pub const KIND: &'static str = "KafkaTopicConfig";
    /// The list's `kind`.
    pub const LIST_KIND: &'static str = "KafkaTopicConfigList";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validate_only_answer_has_no_details_and_reads_back() {
        let bare = KafkaTopicData {
            kind: KafkaTopicData::KIND.into(),
            topic_name: "t".into(),
            ..Default::default()
        };
        let v = serde_json::to_value(&bare).unwrap();
        assert!(v.get("partitions_count").is_none(), "{v}");
        let back: KafkaTopicData = serde_json::from_value(v).unwrap();
        assert_eq!(back, bare);
        let full = KafkaTopicData {
            details: Some(TopicDetails {
                partitions_count: 3,
                replication_factor: 1,
                ..Default::default()
            }),
            ..bare
        };
        let v = serde_json::to_value(&full).unwrap();
        assert_eq!(v["partitions_count"], 3);
        let back: KafkaTopicData = serde_json::from_value(v).unwrap();
        assert_eq!(back, full);
    }
}
