//! One mirror topic as the engine holds it: its stored record (spec, what the user wants, its
//! state and why) and its partitions, with the changes every step may make to them: set a
//! state, fail, note a problem, give back batches not written yet.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use clusterlink_rest_v3::mirrors::MirrorTruncation;
use clusterlink_rest_v3::MirrorState;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::partition::Part;
use super::spec::{Desired, MirrorSpec};
use super::state::healthy_state;
use crate::offset_map::OffsetMode;
use crate::producer::DestinationProducer;

/// What is stored per mirror (`mirror/<link>/<name>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MirrorRecord {
    pub(crate) spec: MirrorSpec,
    pub(crate) desired: Desired,
    #[serde(with = "super::state::stored")]
    pub(crate) state: MirrorState,
    pub(crate) reason: Option<String>,
    pub(crate) state_time_ms: i64,
    /// A reverse asked for (`mirrors:reverse-and-*-mirror`) and not yet handed to the source
    /// cluster: once the promotion completes, the source topic is to become a mirror of this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reverse: Option<RemoteMirror>,
    /// A restored topic (truncate-and-restore): per partition, the end of the history it shared
    /// with the remote; the mirror reports PENDING_RESTORE until it has it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) restore_to: Option<BTreeMap<i32, i64>>,
    /// What truncate-and-restore cut before this mirror was created, for its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) truncation: Option<MirrorTruncation>,
}

/// What the source cluster's topic is to become once a reversed mirror stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RemoteMirror {
    /// The remote mirror starts paused (`reverse-and-pause-mirror`).
    pub(crate) paused: bool,
}

/// One mirror topic.
#[derive(Debug)]
pub(crate) struct Mirror {
    pub(crate) record: MirrorRecord,
    pub(crate) parts: BTreeMap<i32, Part>,
    /// A promote saw zero lag once; the next zero-lag round completes it (the final sync).
    pub(crate) promote_synced: bool,
    /// `record` changed since it was last written.
    pub(crate) dirty_record: bool,
    /// Bumped on every change of `record`, so a write knows whether it saved the latest.
    pub(crate) record_version: u64,
}

/// Now, in milliseconds since the epoch (how state times are kept).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl MirrorRecord {
    /// The record of a mirror created now: in the state `desired` means while nothing is wrong.
    pub(crate) fn fresh(spec: MirrorSpec, desired: Desired) -> Self {
        MirrorRecord {
            spec,
            desired,
            state: healthy_state(desired),
            reason: None,
            state_time_ms: now_ms(),
            reverse: None,
            restore_to: None,
            truncation: None,
        }
    }
}

impl Mirror {
    /// A mirror of `record`, as stored, with no partitions yet.
    pub(crate) fn new(record: MirrorRecord) -> Self {
        Mirror {
            record,
            parts: BTreeMap::new(),
            promote_synced: false,
            dirty_record: false,
            record_version: 0,
        }
    }

    /// The mirror topic's name.
    pub(crate) fn name(&self) -> &str {
        &self.record.spec.name
    }

    /// The record changed: it must be written again.
    pub(crate) fn touch(&mut self) {
        self.dirty_record = true;
        self.record_version += 1;
    }

    pub(crate) fn set_state(&mut self, state: MirrorState, reason: Option<String>) {
        if self.record.state != state || self.record.reason != reason {
            info!(mirror = %self.name(), from = self.record.state.as_str(), to = state.as_str(), reason = reason.as_deref().unwrap_or(""), "mirror state");
            self.record.state = state;
            self.record.reason = reason;
            self.record.state_time_ms = now_ms();
            self.touch();
        }
    }

    pub(crate) fn fail(&mut self, reason: String) {
        if self.record.state == MirrorState::Failed {
            // The first reason is the one that explains it.
            warn!(mirror = %self.name(), %reason, "failed mirror: another error");
            return;
        }
        warn!(mirror = %self.name(), %reason, "mirror failed");
        self.set_state(MirrorState::Failed, Some(reason));
    }

    /// Records a problem that does not stop mirroring (the state stays).
    pub(crate) fn note(&mut self, reason: String) {
        if self.record.reason.as_deref() != Some(reason.as_str()) {
            warn!(mirror = %self.name(), %reason);
            self.record.reason = Some(reason);
            self.touch();
        }
    }

    /// Gives back the batches not written yet: drops them, rewinds the reader to the first,
    /// and the producer's sequence to that batch's (so that, if the mirror moves again, the
    /// same records go out with the same sequences, which the broker recognises should one of
    /// them have landed after all). Only while nothing of it is in flight: under the produce
    /// gate, outside a produce call.
    pub(crate) fn give_back(&mut self, producer: &mut DestinationProducer) {
        for (p, part) in &mut self.parts {
            if let Some((b, _)) = part.first_unwritten() {
                producer.rewind(&self.record.spec.name, *p, b.header().base_sequence);
            }
            part.drop_unwritten();
        }
    }

    /// The state that `desired` means while nothing is wrong.
    pub(crate) fn healthy_state(&self) -> MirrorState {
        healthy_state(self.record.desired)
    }

    /// A restored mirror that has not yet written back the history it shared with the remote.
    pub(crate) fn restoring(&self) -> bool {
        self.record.restore_to.as_ref().is_some_and(|to| {
            to.iter().any(|(p, end)| {
                self.parts
                    .get(p)
                    .is_some_and(|part| part.position().destination < *end)
            })
        })
    }

    /// Aligned while every partition is.
    pub(crate) fn offset_mode(&self) -> OffsetMode {
        if self
            .parts
            .values()
            .all(|p| p.map.mode() == OffsetMode::Aligned)
        {
            OffsetMode::Aligned
        } else {
            OffsetMode::Translated
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as the engine wrote it before its state type was the shared one.
    const OLD_RECORD: &str = r#"{"spec":{"name":"orders","source_topic":"src-orders","configs":[["retention.ms","1000"]],"replication_factor":null,"start":{"Timestamp":5}},"desired":"Promote","state":"PendingStopped","reason":null,"state_time_ms":1700000000000}"#;

    #[test]
    fn an_old_record_reads_and_is_written_back_the_same() {
        let r: MirrorRecord = serde_json::from_str(OLD_RECORD).expect("old record reads");
        assert_eq!(r.state, MirrorState::PendingStopped);
        assert_eq!(r.desired, Desired::Promote);
        assert_eq!(serde_json::to_string(&r).unwrap(), OLD_RECORD);
    }

    #[test]
    fn a_record_with_the_api_spelling_reads() {
        let r: MirrorRecord =
            serde_json::from_str(&OLD_RECORD.replace("PendingStopped", "PENDING_STOPPED"))
                .expect("reads");
        assert_eq!(r.state, MirrorState::PendingStopped);
    }
}
