//! Mirror topics (`/clusters/{id}/links/{link}/mirrors...`): what they report, how they are
//! created, and the answer to a `mirrors:<action>` state change.

use serde::{Deserialize, Serialize};

use crate::configs::ConfigData;
use crate::resource::ResourceMetadata;
use crate::words::words;
use crate::{Extensible, MirrorAction, MirrorState};

/// A mirror topic (`KafkaMirrorData`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KafkaMirrorData {
    /// `KafkaMirrorData`.
    pub kind: String,
    /// Its URL and CRN.
    pub metadata: ResourceMetadata,
    /// The link.
    pub link_name: String,
    /// The mirror topic (on the destination cluster).
    pub mirror_topic_name: String,
    /// The topic it mirrors (on the source cluster).
    pub source_topic_name: String,
    /// Partitions.
    pub num_partitions: i32,
    /// Per partition, how far behind the source it is.
    pub mirror_lags: Vec<MirrorLag>,
    /// Its state.
    pub mirror_status: Extensible<MirrorState>,
    /// When the state last changed (ms since the epoch).
    pub state_time_ms: i64,
    /// Whether something is wrong with it, as a code.
    pub mirror_topic_error: Extensible<MirrorTopicError>,
    /// What is wrong, in words.
    pub mirror_state_transition_errors: Vec<MirrorStateTransitionError>,
    /// clusterlink's extension: whether mirror offsets equal source offsets.
    pub offset_mode: Option<Extensible<OffsetMode>>,
    /// clusterlink's extension: what `truncate-and-restore` cut when it made this mirror.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncation: Option<MirrorTruncation>,
}

/// What `truncate-and-restore` cut from a topic before it became a mirror, kept with the mirror
/// so that its status tells where the cut records went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MirrorTruncation {
    /// Offsets cut, all partitions together.
    pub messages_truncated: i64,
    /// Per partition, where it was cut and how many offsets.
    pub partition_level_truncation_data: Vec<PartitionTruncation>,
    /// Where the cut records were copied.
    pub diverged_records_topic: String,
}

impl KafkaMirrorData {
    /// The resource's `kind`.
    pub const KIND: &'static str = "KafkaMirrorData";
    /// The list's `kind`.
    pub const LIST_KIND: &'static str = "KafkaMirrorDataList";
}

/// How far one partition of a mirror topic is behind its source (`mirror_lags[]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MirrorLag {
    /// The partition.
    pub partition: i32,
    /// Records behind the source's high watermark.
    pub lag: i64,
    /// The next source offset to copy.
    pub last_source_fetch_offset: i64,
    /// clusterlink's extension: how long ago the oldest record not yet copied was written to
    /// the source, in seconds (0 when caught up); what `clusterlink_mirror_lag_seconds` exports.
    /// Absent from servers that do not measure it (Confluent's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_seconds: Option<f64>,
}

words! {
    /// Whether something is wrong with a mirror topic (`mirror_topic_error`).
    pub enum MirrorTopicError {
        /// Nothing.
        NoError = "NO_ERROR",
        /// Something, said in `mirror_state_transition_errors`.
        Unknown = "UNKNOWN",
    }
}

/// What is wrong with a mirror topic (`mirror_state_transition_errors[]`): clusterlink reports
/// the state the reason belongs to as the code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MirrorStateTransitionError {
    /// The state the mirror is in because of it.
    pub error_code: Extensible<MirrorState>,
    /// What is wrong.
    pub error_message: String,
}

words! {
    /// Whether a mirror topic's offsets equal its source's (clusterlink's extension).
    pub enum OffsetMode {
        /// Every mirrored record has its source offset.
        Aligned = "ALIGNED",
        /// Offsets differ; clusterlink translates them (consumer offsets, checkpoints).
        Translated = "TRANSLATED",
    }
}

/// The body of `POST .../mirrors`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateMirrorRequest {
    /// The topic to mirror.
    pub source_topic_name: String,
    /// The mirror's name (default: the link's prefix and the source topic's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_topic_name: Option<String>,
    /// Replicas per partition of the mirror.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_factor: Option<i32>,
    /// Topic config overrides of the mirror.
    #[serde(default)]
    pub configs: Vec<ConfigData>,
}

/// The body of `POST .../mirrors:<action>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterMirrorsRequest {
    /// The mirror topics to change (required; `Option` so that its absence gets its own error
    /// message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_topic_names: Option<Vec<String>>,
}

/// What a `mirrors:<action>` did to one mirror topic (`AlterMirrorsData`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlterMirrorsData {
    /// `AlterMirrorsData`.
    pub kind: String,
    /// Its URL.
    pub metadata: ResourceMetadata,
    /// The mirror topic.
    pub mirror_topic_name: String,
    /// `null` when its change was accepted, else the HTTP status it would have had alone.
    pub error_code: Option<u32>,
    /// `null` when its change was accepted, else why not.
    pub error_message: Option<String>,
    /// Its lags after the change.
    pub mirror_lags: Vec<MirrorLag>,
    /// `truncate-and-restore`: how many offsets of the local topic were cut (Confluent Cloud's
    /// field; absent for other actions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages_truncated: Option<i64>,
    /// `truncate-and-restore` with `include_partition_level_truncation_data=true`: per
    /// partition, where it was cut and how many offsets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_level_truncation_data: Option<Vec<PartitionTruncation>>,
    /// `truncate-and-restore`: the topic where the cut records were copied before the cut
    /// (clusterlink's; Confluent drops them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diverged_records_topic: Option<String>,
}

/// Where one partition was cut by `truncate-and-restore` (Confluent Cloud's
/// `PartitionLevelTruncationData`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PartitionTruncation {
    /// The partition.
    pub partition_id: i32,
    /// The offset it was cut to: the first offset of the remote's history it now follows.
    pub offset_truncated_to: i64,
    /// How many offsets it lost at its end (kept in the diverged-records topic).
    pub messages_truncated: i64,
}

impl AlterMirrorsData {
    /// The resource's `kind`.
    pub const KIND: &'static str = "AlterMirrorsData";

    /// The list's `kind`, which names the action.
    pub fn list_kind(action: MirrorAction) -> &'static str {
        match action {
            MirrorAction::Promote => "KafkaPromoteMirror",
            MirrorAction::Failover => "KafkaFailoverMirror",
            MirrorAction::Pause => "KafkaPauseMirror",
            MirrorAction::Resume => "KafkaResumeMirror",
            MirrorAction::ReverseAndStartMirror => "KafkaReverseAndStartMirror",
            MirrorAction::ReverseAndPauseMirror => "KafkaReverseAndPauseMirror",
            MirrorAction::TruncateAndRestore => "KafkaTruncateAndRestoreMirror",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirror_reads_back_as_written() {
        let m = KafkaMirrorData {
            kind: KafkaMirrorData::KIND.into(),
            metadata: ResourceMetadata::new("http://h/v3/x", Some("crn:///kafka=c".into())),
            link_name: "l".into(),
            mirror_topic_name: "t".into(),
            source_topic_name: "t".into(),
            num_partitions: 1,
            mirror_lags: vec![MirrorLag {
                partition: 0,
                lag: 2,
                last_source_fetch_offset: 5,
                lag_seconds: Some(1.5),
            }],
            mirror_status: MirrorState::Failed.into(),
            state_time_ms: 1,
            mirror_topic_error: MirrorTopicError::Unknown.into(),
            mirror_state_transition_errors: vec![MirrorStateTransitionError {
                error_code: MirrorState::Failed.into(),
                error_message: "source topic deleted".into(),
            }],
            offset_mode: Some(OffsetMode::Aligned.into()),
            truncation: Some(MirrorTruncation {
                messages_truncated: 3,
                partition_level_truncation_data: vec![PartitionTruncation {
                    partition_id: 0,
                    offset_truncated_to: 5,
                    messages_truncated: 3,
                }],
                diverged_records_topic: "t.diverged".into(),
            }),
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["truncation"]["diverged_records_topic"], "t.diverged");
        assert_eq!(v["mirror_status"], "FAILED");
        assert_eq!(v["metadata"]["self"], "http://h/v3/x");
        assert_eq!(v["offset_mode"], "ALIGNED");
        assert_eq!(v["mirror_lags"][0]["lag_seconds"], 1.5);
        assert_eq!(serde_json::from_value::<KafkaMirrorData>(v).unwrap(), m);
    }

    #[test]
    fn each_action_names_its_result_list() {
        assert_eq!(
            AlterMirrorsData::list_kind(MirrorAction::Promote),
            "KafkaPromoteMirror"
        );
        assert_eq!(
            AlterMirrorsData::list_kind(MirrorAction::Resume),
            "KafkaResumeMirror"
        );
        let accepted = AlterMirrorsData {
            mirror_topic_name: "t".into(),
            ..Default::default()
        };
        let v = serde_json::to_value(&accepted).unwrap();
        assert!(
            v["error_code"].is_null() && v["error_message"].is_null(),
            "{v}"
        );
    }
}
