//! What the engine reports: each mirror's state and reason, and per partition its position,
//! lag, throughput, buffered bytes and the error it is stuck on (read by the link server's REST
//! API, its metrics and the CLI); and what another engine recorded in a state topic (read by the
//! link server to keep the two halves of a link pair from mirroring in a loop).
//!
//! A mirror of a paused link reports LINK_PAUSED while it would move data; that is only
//! reported, never stored.

use std::collections::BTreeMap;

use clusterlink_rest_v3::mirrors::MirrorTruncation;
use clusterlink_rest_v3::MirrorState;
use serde::{Deserialize, Serialize};

use super::mirror::{now_ms, Mirror, MirrorRecord};
use super::partition::{Checkpoint, Part};
use super::state::EngineState;
use crate::offset_map::{OffsetMode, Run};
use crate::state_keys;

/// One partition's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionStatus {
    /// Partition index.
    pub partition: i32,
    /// Next source offset to copy.
    pub next_source_offset: i64,
    /// Source high watermark, from the last fetch.
    pub source_high_watermark: i64,
    /// Next destination offset.
    pub destination_end: i64,
    /// Records behind the source.
    pub lag_records: i64,
    /// Age in seconds of the oldest record not yet mirrored (0 when caught up).
    pub lag_seconds: f64,
    /// Records written by this engine instance.
    pub records_mirrored: u64,
    /// Batch bytes written by this engine instance.
    pub bytes_mirrored: u64,
    /// The last error, while it persists.
    pub last_error: Option<String>,
    /// Bytes of fetched batches held for it, queued or being written.
    #[serde(default)]
    pub buffered_bytes: u64,
    /// Source records this engine instance skipped because the source's log start moved past
    /// them before they were copied (`mirror.log.start.policy=resume`). Not written while 0,
    /// so a status stored by an older engine is written back as it was.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub records_lost: u64,
    /// While the destination is being filled with placeholders up to this offset (see the
    /// engine's `fill`), before anything is mirrored into it: what it holds below this offset
    /// is placeholders, deleted when the fill ends. Not written while `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filling_to: Option<i64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A mirror topic's status. Its JSON is what the OUTBOUND side of a source-initiated link
/// stores for the INBOUND side (`mstatus/…`), with the state in the stored form (see `state`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MirrorStatus {
    /// Mirror topic name.
    pub name: String,
    /// Source topic name.
    pub source_topic: String,
    /// State.
    #[serde(with = "super::state::stored")]
    pub state: MirrorState,
    /// Why it is FAILED, or a problem that does not stop mirroring.
    pub reason: Option<String>,
    /// Aligned or translated offsets.
    #[serde(with = "crate::offset_map::stored_offset_mode")]
    pub offset_mode: OffsetMode,
    /// When the state last changed (ms since the epoch).
    pub state_time_ms: i64,
    /// Per-partition details.
    pub partitions: Vec<PartitionStatus>,
    /// What truncate-and-restore cut when it made this mirror.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncation: Option<MirrorTruncation>,
}

impl MirrorStatus {
    /// The largest lag over partitions, in records.
    pub fn max_lag(&self) -> i64 {
        self.partitions
            .iter()
            .map(|p| p.lag_records)
            .max()
            .unwrap_or(0)
    }
}

/// A partition's status now.
fn partition_status(partition: i32, part: &Part, now_ms: i64) -> PartitionStatus {
    PartitionStatus {
        partition,
        next_source_offset: part.resume_offset(),
        source_high_watermark: part.high_watermark,
        destination_end: part.dest_end,
        lag_records: part.lag_records(),
        lag_seconds: part.lag_seconds(now_ms),
        records_mirrored: part.records,
        bytes_mirrored: part.bytes,
        last_error: part.last_error(),
        buffered_bytes: part.buffered_bytes() as u64,
        records_lost: part.records_lost,
        filling_to: part.fill_to,
    }
}

/// A mirror's status now, as reported while the link is `link_paused` or not.
pub(crate) fn mirror_status(m: &Mirror, link_paused: bool) -> MirrorStatus {
    let now = now_ms();
    let state = if link_paused && m.record.state.moves_data() {
        MirrorState::LinkPaused
    } else if m.record.state == MirrorState::Active && m.restoring() {
        MirrorState::PendingRestore
    } else {
        m.record.state
    };
    MirrorStatus {
        name: m.name().to_owned(),
        source_topic: m.record.spec.source_topic.clone(),
        state,
        reason: m.record.reason.clone(),
        offset_mode: m.offset_mode(),
        state_time_ms: m.record.state_time_ms,
        partitions: m
            .parts
            .iter()
            .map(|(i, p)| partition_status(*i, p, now))
            .collect(),
        truncation: m.record.truncation.clone(),
    }
}

/// A mirror as an engine recorded it in a state topic: what another cluster's link server can
/// learn from that cluster's state (loop prevention between the halves of a link pair).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMirror {
    /// The engine's name (`<link>@<link id>`).
    pub engine: String,
    /// The mirror topic.
    pub name: String,
    /// Its source topic.
    pub source_topic: String,
    /// Its state when last recorded.
    pub state: MirrorState,
}

/// The mirrors recorded in a state topic's contents (see `store::read_state`); records of
/// another shape are skipped.
pub fn stored_mirrors(state: &BTreeMap<String, Vec<u8>>) -> Vec<StoredMirror> {
    state
        .range(state_keys::MIRROR_PREFIX.to_string()..)
        .take_while(|(k, _)| k.starts_with(state_keys::MIRROR_PREFIX))
        .filter_map(|(k, v)| {
            let (engine, name) = state_keys::mirror_of(k)?;
            let r: MirrorRecord = serde_json::from_slice(v).ok()?;
            Some(StoredMirror {
                engine: engine.to_string(),
                name: name.to_string(),
                source_topic: r.spec.source_topic,
                state: r.state,
            })
        })
        .collect()
}

/// Where a mirror recorded in a state topic's contents stands, per partition: (next source
/// offset, destination end) of its last checkpoint. A stopped mirror's is where it stopped.
pub fn stored_positions(
    state: &BTreeMap<String, Vec<u8>>,
    engine: &str,
    topic: &str,
) -> BTreeMap<i32, (i64, i64)> {
    let prefix = state_keys::checkpoint_prefix(engine, topic);
    state_keys::scan(state, &prefix)
        .filter_map(|(p, v)| {
            let c: Checkpoint = serde_json::from_slice(v).ok()?;
            Some((p.parse().ok()?, (c.source, c.destination)))
        })
        .collect()
}

/// Whether every offset-map run recorded for a mirror maps offsets to themselves.
pub fn stored_aligned(state: &BTreeMap<String, Vec<u8>>, engine: &str, topic: &str) -> bool {
    let prefix = state_keys::runs_prefix(engine, topic);
    let aligned = state_keys::scan(state, &prefix)
        .all(|(_, v)| serde_json::from_slice::<Run>(v).is_ok_and(|r| r.source == r.destination));
    aligned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::{Desired, MirrorSpec, StartSpec};
    use crate::offset_map::OffsetMap;

    #[test]
    fn a_restored_mirror_is_pending_restore_until_its_shared_history_is_back() {
        let record = MirrorRecord {
            spec: MirrorSpec {
                name: "orders".into(),
                source_topic: "orders".into(),
                configs: vec![],
                replication_factor: None,
                start: StartSpec::Earliest,
            },
            desired: Desired::Active,
            state: MirrorState::Active,
            reason: None,
            state_time_ms: 0,
            reverse: None,
            restore_to: Some([(0, 10), (1, 0)].into()),
            truncation: None,
        };
        let at = |o| {
            Part::new(
                Checkpoint {
                    source: o,
                    destination: o,
                    fill_to: None,
                },
                OffsetMap::new(),
                1 << 20,
            )
        };
        let mut m = Mirror::new(record);
        m.parts.insert(0, at(4));
        m.parts.insert(1, at(0));
        assert_eq!(mirror_status(&m, false).state, MirrorState::PendingRestore);
        // A paused link shows that first; a state other than ACTIVE is shown as it is.
        assert_eq!(mirror_status(&m, true).state, MirrorState::LinkPaused);
        m.record.state = MirrorState::SourceUnavailable;
        assert_eq!(
            mirror_status(&m, false).state,
            MirrorState::SourceUnavailable
        );
        m.record.state = MirrorState::Active;
        m.parts.insert(0, at(10));
        assert_eq!(mirror_status(&m, false).state, MirrorState::Active);
        // A record without the field (every mirror before restores existed) reads as none.
        let json = serde_json::to_string(&m.record).unwrap();
        let old = json.replace(r#","restore_to":{"0":10,"1":0}"#, "");
        assert_ne!(old, json);
        let r: MirrorRecord = serde_json::from_str(&old).unwrap();
        assert_eq!(r.restore_to, None);
    }

    /// A status as the OUTBOUND side wrote it before the engine's state type was the shared
    /// one.
    const OLD_STATUS: &str = r#"{"name":"orders","source_topic":"orders","state":"SourceUnavailable","reason":"connection refused","offset_mode":"Aligned","state_time_ms":1700000000000,"partitions":[{"partition":0,"next_source_offset":5,"source_high_watermark":9,"destination_end":5,"lag_records":4,"lag_seconds":1.5,"records_mirrored":5,"bytes_mirrored":400,"last_error":null,"buffered_bytes":0}]}"#;

    #[test]
    fn an_old_status_reads_and_is_written_back_the_same() {
        let s: MirrorStatus = serde_json::from_str(OLD_STATUS).expect("old status reads");
        assert_eq!(s.state, MirrorState::SourceUnavailable);
        assert_eq!(serde_json::to_string(&s).unwrap(), OLD_STATUS);
    }

    #[test]
    fn stored_mirrors_reads_old_records_of_every_engine() {
        let record = |state: &str| {
            format!(r#"{{"spec":{{"name":"m","source_topic":"s","configs":[],"replication_factor":null,"start":"Earliest"}},"desired":"Active","state":"{state}","reason":null,"state_time_ms":0}}"#).into_bytes()
        };
        let mut state = BTreeMap::new();
        state.insert(state_keys::mirror("east@1", "m"), record("Active"));
        state.insert(state_keys::mirror("west@2", "m"), record("Stopped"));
        state.insert(state_keys::mirror("west@2", "bad"), b"{}".to_vec());
        state.insert(state_keys::checkpoint("east@1", "m", 0), b"{}".to_vec());
        let found = stored_mirrors(&state);
        assert_eq!(
            found
                .iter()
                .map(|m| (m.engine.as_str(), m.state))
                .collect::<Vec<_>>(),
            [
                ("east@1", MirrorState::Active),
                ("west@2", MirrorState::Stopped)
            ]
        );
    }
}
