//! What the reconciler reads from the API's responses: digests of the contract's shapes
//! (`clusterlink_rest_v3`), with just what the plan and the status need, in the reconciler's
//! terms (a link's id, whichever field names it; a mirror's largest lag; its errors joined).

use clusterlink_rest_v3::links::KafkaLinkData;
use clusterlink_rest_v3::mirrors::{
    AlterMirrorsData, KafkaMirrorData, MirrorLag, MirrorTruncation,
};
use clusterlink_rest_v3::topics::{KafkaTopicConfigData, KafkaTopicData};

/// `Some` for a non-empty text (a field a server left out reads as empty).
fn non_empty(s: impl ToString) -> Option<String> {
    Some(s.to_string()).filter(|s| !s.is_empty())
}

/// The link as `GET /links/{name}` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkInfo {
    /// `cluster_link_id`, or the deprecated `link_id`.
    pub link_id: Option<String>,
    /// `link_state` (`ACTIVE`, `UNAVAILABLE`, ...).
    pub link_state: Option<String>,
    /// `link_error_message`.
    pub link_error_message: Option<String>,
    /// `source_cluster_id`.
    pub source_cluster_id: Option<String>,
    /// `destination_cluster_id`.
    pub destination_cluster_id: Option<String>,
    /// `remote_cluster_id`.
    pub remote_cluster_id: Option<String>,
}

impl From<KafkaLinkData> for LinkInfo {
    fn from(l: KafkaLinkData) -> Self {
        LinkInfo {
            link_id: non_empty(l.cluster_link_id).or_else(|| non_empty(l.link_id)),
            link_state: non_empty(l.link_state),
            link_error_message: l.link_error_message,
            source_cluster_id: l.source_cluster_id,
            destination_cluster_id: l.destination_cluster_id,
            remote_cluster_id: l.remote_cluster_id,
        }
    }
}

/// The ids a link is created with (Confluent's create-link body): `source_cluster_id` for a
/// destination link, `remote_cluster_id` for a bidirectional one, and `cluster_link_id` for
/// the second half of a pair.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateLinkIds {
    /// The source cluster (destination links).
    pub source_cluster_id: Option<String>,
    /// The remote cluster (bidirectional links).
    pub remote_cluster_id: Option<String>,
    /// The destination cluster (SOURCE links).
    pub destination_cluster_id: Option<String>,
    /// The id of the pair, taken from its first half.
    pub cluster_link_id: Option<String>,
}

/// A mirror topic as `GET /links/{name}/mirrors` reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MirrorInfo {
    /// `mirror_topic_name`.
    pub name: String,
    /// `source_topic_name`.
    pub source_topic_name: String,
    /// `mirror_status`, as the server spelled it (`UNKNOWN` when it did not say).
    pub status: String,
    /// `num_partitions`.
    pub num_partitions: Option<i64>,
    /// The largest `mirror_lags[].lag`.
    pub max_lag: Option<i64>,
    /// The largest `mirror_lags[].lag_seconds` (clusterlink's extension), if reported.
    pub max_lag_seconds: Option<f64>,
    /// `mirror_lags`, per partition.
    pub partition_lags: Vec<MirrorLag>,
    /// `offset_mode` (clusterlink: `ALIGNED` or `TRANSLATED`), if reported.
    pub offset_mode: Option<String>,
    /// The state transition errors' messages, joined.
    pub message: Option<String>,
    /// What truncate-and-restore cut (clusterlink's extension), if it made this mirror.
    pub truncation: Option<MirrorTruncation>,
}

impl From<KafkaMirrorData> for MirrorInfo {
    fn from(m: KafkaMirrorData) -> Self {
        let errors: Vec<String> = m
            .mirror_state_transition_errors
            .into_iter()
            .map(|e| e.error_message)
            .filter(|e| !e.is_empty())
            .collect();
        MirrorInfo {
            status: non_empty(&m.mirror_status).unwrap_or_else(|| "UNKNOWN".into()),
            name: m.mirror_topic_name,
            source_topic_name: m.source_topic_name,
            num_partitions: Some(m.num_partitions.into()),
            max_lag: m.mirror_lags.iter().map(|l| l.lag).max(),
            max_lag_seconds: m
                .mirror_lags
                .iter()
                .filter_map(|l| l.lag_seconds)
                .reduce(f64::max),
            partition_lags: m.mirror_lags,
            offset_mode: m.offset_mode.as_ref().and_then(non_empty),
            message: (!errors.is_empty()).then(|| errors.join("; ")),
            truncation: m.truncation,
        }
    }
}

/// A topic as `GET /topics/{name}` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicInfo {
    /// `partitions_count`.
    pub partitions_count: Option<i32>,
    /// `replication_factor`.
    pub replication_factor: Option<i32>,
}

impl From<KafkaTopicData> for TopicInfo {
    fn from(t: KafkaTopicData) -> Self {
        TopicInfo {
            partitions_count: t.details.as_ref().map(|d| d.partitions_count),
            replication_factor: t.details.as_ref().map(|d| d.replication_factor),
        }
    }
}

/// One topic config as `GET /topics/{name}/configs` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicConfig {
    /// The value (`None` when sensitive).
    pub value: Option<String>,
    /// Whether it is the default.
    pub is_default: bool,
    /// Whether it is read-only.
    pub is_read_only: bool,
}

impl From<KafkaTopicConfigData> for TopicConfig {
    fn from(c: KafkaTopicConfigData) -> Self {
        TopicConfig {
            value: c.value,
            is_default: c.is_default,
            is_read_only: c.is_read_only,
        }
    }
}

/// The result of a `mirrors:<action>` call for one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlterResult {
    /// The topic.
    pub name: String,
    /// The error, if that topic's change failed.
    pub error: Option<String>,
    /// Truncate-and-restore: what was cut and where it was kept (none for other actions).
    pub truncation: Option<MirrorTruncation>,
}

impl AlterResult {
    /// What a truncate-and-restore cut, in words (empty for other actions).
    pub fn truncation(&self) -> String {
        let Some(t) = &self.truncation else {
            return String::new();
        };
        let each: Vec<String> = t
            .partition_level_truncation_data
            .iter()
            .filter(|p| p.messages_truncated > 0)
            .map(|p| {
                format!(
                    "partition {}: {} from offset {}",
                    p.partition_id, p.messages_truncated, p.offset_truncated_to
                )
            })
            .collect();
        format!(
            ": {} offsets cut ({}), their records kept in topic {}",
            t.messages_truncated,
            each.join(", "),
            t.diverged_records_topic
        )
    }
}

impl From<AlterMirrorsData> for AlterResult {
    fn from(r: AlterMirrorsData) -> Self {
        AlterResult {
            name: r.mirror_topic_name,
            error: r.error_message.and_then(non_empty),
            truncation: r.diverged_records_topic.map(|topic| MirrorTruncation {
                messages_truncated: r.messages_truncated.unwrap_or_default(),
                partition_level_truncation_data: r
                    .partition_level_truncation_data
                    .unwrap_or_default(),
                diverged_records_topic: topic,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_read_what_a_confluent_server_sends() {
        let link: KafkaLinkData = serde_json::from_value(serde_json::json!({
            "link_name": "l", "link_id": "old-id", "cluster_link_id": "id",
            "link_state": "ACTIVE", "source_cluster_id": "src", "topic_names": []
        }))
        .unwrap();
        let info = LinkInfo::from(link);
        assert_eq!(info.link_id.as_deref(), Some("id"));
        assert_eq!(info.link_state.as_deref(), Some("ACTIVE"));
        assert_eq!(info.destination_cluster_id, None);

        let mirror: KafkaMirrorData = serde_json::from_value(serde_json::json!({
            "mirror_topic_name": "t", "source_topic_name": "t", "num_partitions": 2,
            "mirror_status": "PENDING_SOMETHING_NEW",
            "mirror_lags": [{"partition": 0, "lag": 3, "last_source_fetch_offset": 9},
                            {"partition": 1, "lag": 7, "last_source_fetch_offset": 9}],
            "mirror_state_transition_errors": [{"error_code": "X", "error_message": "why"}]
        }))
        .unwrap();
        let info = MirrorInfo::from(mirror);
        assert_eq!(info.status, "PENDING_SOMETHING_NEW");
        assert_eq!(info.max_lag, Some(7));
        assert_eq!(
            info.max_lag_seconds, None,
            "Confluent does not send lag_seconds"
        );
        assert_eq!(info.partition_lags.len(), 2);
        let ours: KafkaMirrorData = serde_json::from_value(serde_json::json!({
            "mirror_lags": [{"partition": 0, "lag": 3, "last_source_fetch_offset": 9, "lag_seconds": 2.5},
                            {"partition": 1, "lag": 0, "last_source_fetch_offset": 9, "lag_seconds": 0.0}]
        }))
        .unwrap();
        assert_eq!(MirrorInfo::from(ours).max_lag_seconds, Some(2.5));
        assert_eq!(info.offset_mode, None);
        assert_eq!(info.message.as_deref(), Some("why"));
        let silent = MirrorInfo::from(KafkaMirrorData::default());
        assert_eq!(silent.status, "UNKNOWN");
    }
}
