//! Checkpoints: where each partition stands, kept in the state topic so that a restart resumes
//! there (see `recovery`).
//!
//! A checkpoint is a pair (source offset, destination offset): everything before the source
//! offset is on the destination, which ends at the destination offset. With it go the runs of
//! the partition's offset map written since the last one, in the same state-topic batch, so
//! that a checkpoint and the offsets it covers land together or not at all. A mirror's record
//! (spec, desired, state) is written the same way, at once when it changes.
//!
//! Everything about them is here: building the entries ([`entries`], [`tombstones`]), writing
//! them ([`write`], the fetch loop's periodic call; [`put`] for an operation's own), and reading
//! them back ([`read`]). An entry is marked written ([`Saved`]) only once the write
//! succeeded: a failed write is written again.

use std::collections::BTreeMap;
use std::time::Instant;

use clusterlink_rest_v3::MirrorState;

use super::error::{dst_err, MirrorError};
use super::link::Link;
use super::mirror::{Mirror, MirrorRecord};
use super::partition::Checkpoint;
use crate::offset_map::{OffsetMap, Run};
use crate::state_keys;
use crate::store::Entry;

/// What a write of [`entries`] covered, applied to the mirror once the write succeeded
/// (never before: a failed write must be written again).
#[derive(Debug)]
pub(crate) struct Saved {
    name: String,
    record_version: Option<u64>,
    parts: Vec<(i32, Checkpoint, usize)>,
}

impl Saved {
    /// Marks what was written as written.
    pub(crate) fn apply(self, mirror: &mut Mirror) {
        if self.record_version == Some(mirror.record_version) {
            mirror.dirty_record = false;
        }
        for (p, ckpt, runs) in self.parts {
            if let Some(part) = mirror.parts.get_mut(&p) {
                part.checkpoint = ckpt;
                part.saved_runs = part.saved_runs.max(runs);
            }
        }
    }
}

/// State-topic entries for a mirror's record (when changed, or `all`) and for every partition
/// whose position moved (or all, with `all`): its checkpoint and the offset-map runs since the
/// last one written.
pub(crate) fn entries(link: &str, mirror: &Mirror, all: bool) -> (Vec<Entry>, Saved) {
    let name = mirror.name();
    let mut out = Vec::new();
    let mut saved = Saved {
        name: name.to_owned(),
        record_version: None,
        parts: Vec::new(),
    };
    if mirror.dirty_record || all {
        out.push((
            state_keys::mirror(link, name),
            serde_json::to_vec(&mirror.record).ok(),
        ));
        saved.record_version = Some(mirror.record_version);
    }
    for (p, part) in mirror.parts.iter() {
        let ckpt = part.position();
        if !all && ckpt == part.checkpoint {
            continue;
        }
        // The last saved run may have grown since: write it again with the new ones.
        let runs = part.map.runs();
        for r in &runs[part.saved_runs.saturating_sub(1).min(runs.len())..] {
            out.push((
                state_keys::run(link, name, *p, r.source),
                serde_json::to_vec(r).ok(),
            ));
        }
        out.push((
            state_keys::checkpoint(link, name, *p),
            serde_json::to_vec(&ckpt).ok(),
        ));
        saved.parts.push((*p, ckpt, runs.len()));
    }
    (out, saved)
}

/// State-topic entries that delete everything stored for a mirror.
pub(crate) fn tombstones(link: &str, mirror: &Mirror) -> Vec<Entry> {
    let name = mirror.name();
    let mut out = vec![(state_keys::mirror(link, name), None)];
    for (p, part) in &mirror.parts {
        out.push((state_keys::checkpoint(link, name, *p), None));
        for r in part.map.runs() {
            out.push((state_keys::run(link, name, *p, r.source), None));
        }
    }
    out
}

/// Writes `entries` and marks what they covered as written.
pub(crate) async fn put(
    link: &Link,
    entries: &[Entry],
    saved: Vec<Saved>,
) -> Result<(), MirrorError> {
    link.store.put(entries).await.map_err(dst_err)?;
    let mut st = link.lock();
    for s in saved {
        if let Some(m) = st.mirrors.get_mut(&s.name) {
            s.apply(m);
        }
    }
    Ok(())
}

/// Writes changed mirror records at once, and positions when the interval is due (or
/// `force`).
pub(crate) async fn write(link: &Link, force: bool) -> Result<(), MirrorError> {
    let _writes = link.state_writes.lock().await;
    let (entries, saved) = {
        let mut st = link.lock();
        let due = force || st.last_checkpoint.elapsed() >= link.settings.checkpoint_interval;
        if due {
            st.last_checkpoint = Instant::now();
        }
        let mut out = Vec::new();
        let mut saved = Vec::new();
        for m in st.mirrors.values() {
            if due || m.dirty_record {
                // A stop is final: its positions are written with it.
                let all = m.record.state == MirrorState::Stopped && m.dirty_record;
                let (entries, s) = entries(&link.settings.name, m, all);
                out.extend(entries);
                saved.push(s);
            }
        }
        (out, saved)
    };
    put(link, &entries, saved).await
}

/// A mirror as stored, with the stored position and offset map of each of its partitions.
#[derive(Debug)]
pub(crate) struct Stored {
    pub(crate) record: MirrorRecord,
    pub(crate) parts: Vec<(i32, Checkpoint, OffsetMap)>,
}

/// The mirrors of `link` in the state topic's contents `all`.
pub(crate) fn read(
    all: &BTreeMap<String, Vec<u8>>,
    link: &str,
) -> Result<Vec<Stored>, MirrorError> {
    let prefix = state_keys::mirror_prefix(link);
    let mut out = Vec::new();
    for (key, value) in state_keys::scan(all, &prefix) {
        let record: MirrorRecord = serde_json::from_slice(value)
            .map_err(|e| MirrorError::State(format!("{prefix}{key}: {e}")))?;
        let name = &record.spec.name;
        let ckpt_prefix = state_keys::checkpoint_prefix(link, name);
        let mut parts = Vec::new();
        for (ckey, cvalue) in state_keys::scan(all, &ckpt_prefix) {
            let p: i32 = ckey
                .parse()
                .map_err(|_| MirrorError::State(format!("bad key {ckpt_prefix}{ckey}")))?;
            let ckpt: Checkpoint = serde_json::from_slice(cvalue)
                .map_err(|e| MirrorError::State(format!("{ckpt_prefix}{ckey}: {e}")))?;
            let run_prefix = state_keys::run_prefix(link, name, p);
            let mut map = OffsetMap::new();
            for (rkey, rvalue) in state_keys::scan(all, &run_prefix) {
                let r: Run = serde_json::from_slice(rvalue)
                    .map_err(|e| MirrorError::State(format!("{run_prefix}{rkey}: {e}")))?;
                map.record(r.source, r.destination, r.len);
            }
            parts.push((p, ckpt, map));
        }
        out.push(Stored { record, parts });
    }
    Ok(out)
}
