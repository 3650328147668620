//! What the engine reports: each mirror's state and reason, and per partition its position,
//! lag, throughput, buffered bytes and the error it is stuck on (read by the link server's REST
//! API, its metrics and the CLI); and what another engine recorded in a state topic (read by the
//! link server to keep the two halves of a link pair from mirroring in a loop).
//!
//! A mirror of a paused link reports LINK_PAUSED while it would move data; that is only
//! reported, never stored.

use std::collections::BTreeMap;

use clusterlink_rest_v3::MirrorState;
use serde::{Deserialize, Serialize};

use super::mirror::{now_ms, Mirror, MirrorRecord};
use super::partition::Part;
use super::state::EngineState;
use crate::offset_map::OffsetMode;
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

#[cfg(test)]
mod tests {
    use super::*;

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
