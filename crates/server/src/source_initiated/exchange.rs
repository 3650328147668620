//! The records the two sides of a source-initiated link exchange through the destination's
//! state topic, and the INBOUND side's view of them.

use std::collections::BTreeMap;
use std::time::Duration;

use clusterlink_mirror::offset_map::OffsetMode;
use clusterlink_mirror::state_keys;
use clusterlink_mirror::{Desired, MirrorSpec, MirrorState, MirrorStatus};
use serde::{Deserialize, Serialize};

use crate::common::now_ms;

/// How old a heartbeat may be for the INBOUND side to call its link connected.
pub const HEARTBEAT_FRESH: Duration = Duration::from_secs(15);

/// What the INBOUND side asks of a mirror topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Control {
    /// Mirror it with this spec, in this desired state.
    Mirror {
        /// The mirror.
        spec: MirrorSpec,
        /// Its desired state.
        desired: Desired,
    },
    /// Delete it (the topic goes with it).
    Delete,
}

/// The OUTBOUND side's sign of life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The source cluster's id.
    pub cluster_id: String,
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// Why the last round of the INBOUND link's ACL sync (run by the OUTBOUND side) failed, if
    /// it did: the INBOUND link's `AclSync` task shows it. Absent while it succeeds, and from
    /// older servers' heartbeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl_sync_error: Option<TaskError>,
}

/// A task's problem as the exchange carries it: plain strings, so that a code this server does
/// not know never makes a heartbeat unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskError {
    /// Confluent's `LinkTaskErrorCode` word.
    pub code: String,
    /// What is wrong (never a credential).
    pub message: String,
}

/// The INBOUND side's view of its link, from its state topic.
#[derive(Debug, Clone, Default)]
pub struct InboundView {
    /// Control records by topic.
    pub controls: BTreeMap<String, Control>,
    /// Status records by topic.
    pub statuses: BTreeMap<String, MirrorStatus>,
    /// The last heartbeat.
    pub heartbeat: Option<Heartbeat>,
}

impl InboundView {
    /// Reads the records of `engine` from a state topic's contents.
    pub fn read(state: &BTreeMap<String, Vec<u8>>, engine: &str) -> Self {
        let ctl = state_keys::control_prefix(engine);
        let st = state_keys::mirror_status_prefix(engine);
        InboundView {
            controls: state_keys::scan(state, &ctl)
                .filter_map(|(t, v)| Some((t.to_string(), serde_json::from_slice(v).ok()?)))
                .collect(),
            statuses: state_keys::scan(state, &st)
                .filter_map(|(t, v)| Some((t.to_string(), serde_json::from_slice(v).ok()?)))
                .collect(),
            heartbeat: state
                .get(&state_keys::heartbeat(engine))
                .and_then(|v| serde_json::from_slice(v).ok()),
        }
    }

    /// The mirror topics: as the OUTBOUND side last reported them, or PENDING_MIRROR until it
    /// has created them. Deleted ones are left out.
    pub fn mirrors(&self) -> Vec<MirrorStatus> {
        self.controls
            .iter()
            .filter_map(|(topic, c)| match c {
                Control::Delete => None,
                Control::Mirror { spec, .. } => Some(
                    self.statuses.get(topic).cloned().unwrap_or_else(|| {
                        without_engine(
                            topic,
                            spec,
                            MirrorState::PendingMirror,
                            Some(
                                "waiting for the link's OUTBOUND side (on the source cluster) to create it"
                                    .into(),
                            ),
                        )
                    }),
                ),
            })
            .collect()
    }
}

/// The status of a mirror no engine runs (yet): not created by the OUTBOUND side, or refused.
pub(crate) fn without_engine(
    name: &str,
    spec: &MirrorSpec,
    state: MirrorState,
    reason: Option<String>,
) -> MirrorStatus {
    MirrorStatus {
        name: name.to_owned(),
        source_topic: spec.source_topic.clone(),
        state,
        reason,
        offset_mode: OffsetMode::Aligned,
        state_time_ms: now_ms(),
        partitions: Vec::new(),
        truncation: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeats_with_and_without_an_acl_sync_error_read_back() {
        // An older server's heartbeat has no acl_sync_error.
        let old: Heartbeat = serde_json::from_str(r#"{"cluster_id":"c","at_ms":1}"#).unwrap();
        assert_eq!(old.acl_sync_error, None);
        let beat = Heartbeat {
            cluster_id: "c".into(),
            at_ms: 2,
            acl_sync_error: Some(TaskError {
                code: "SOME_FUTURE_CODE".into(),
                message: "why".into(),
            }),
        };
        let text = serde_json::to_string(&beat).unwrap();
        assert_eq!(serde_json::from_str::<Heartbeat>(&text).unwrap(), beat);
        // Without an error, the heartbeat is what older servers write.
        let ok = Heartbeat {
            acl_sync_error: None,
            ..beat
        };
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"cluster_id":"c","at_ms":2}"#
        );
    }
}
