//! The engine's part in a failback: a mirror created over a topic that already holds the
//! source's history (the reversed direction, or a restored topic with nothing to cut), a
//! stopped mirror forgotten so that its topic can be mirrored again, and the reverses waiting
//! to be handed to the source cluster once their promotion completed.
//!
//! Adopting a topic is only safe when its log is a prefix of the source's, offset for offset:
//! that is checked here (ends, open transactions, and the last record on both sides compared),
//! never assumed. A topic that diverged is refused with the offsets; `truncate-and-restore`
//! (in the link server) is what handles it.

use std::collections::BTreeMap;
use std::time::Duration;

use clusterlink_kafka::client::OffsetSpec;
use clusterlink_kafka::records::{split_batches, Record};
use clusterlink_kafka::{Client, Isolation};
use clusterlink_rest_v3::MirrorState;
use tracing::info;

use super::checkpoint;
use super::error::{dst_err, src_err, MirrorError};
use super::lifecycle;
use super::link::Link;
use super::mirror::{Mirror, MirrorRecord};
use super::partition::{Checkpoint, Part};
use super::spec::{Desired, MirrorSpec};
use crate::offset_map::OffsetMap;

/// A promoted mirror whose source topic is to become a mirror of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reversal {
    /// The (now stopped) mirror topic.
    pub name: String,
    /// Its source topic, the one to reverse.
    pub source_topic: String,
    /// The reversed mirror starts paused.
    pub paused: bool,
    /// Where the mirror stopped, per partition: the end the source topic must have.
    pub ends: BTreeMap<i32, i64>,
}

/// A partition's offsets on one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRange {
    /// First offset.
    pub start: i64,
    /// High watermark.
    pub end: i64,
    /// Last stable offset (below `end` while a transaction is open).
    pub stable: i64,
}

/// The ranges of `partitions` of `topic`.
pub async fn log_ranges(
    client: &Client,
    topic: &str,
    partitions: &[i32],
) -> Result<BTreeMap<i32, LogRange>, clusterlink_kafka::Error> {
    let listed = |at, isolation| client.list_offsets(topic, partitions, at, isolation);
    let start = listed(OffsetSpec::Earliest, Isolation::ReadUncommitted).await?;
    let end = listed(OffsetSpec::Latest, Isolation::ReadUncommitted).await?;
    let stable = listed(OffsetSpec::Latest, Isolation::ReadCommitted).await?;
    let at = |m: &BTreeMap<i32, _>, p: &i32| {
        m.get(p)
            .map_or(0, |o: &clusterlink_kafka::client::ListedOffset| {
                o.offset.max(0)
            })
    };
    Ok(partitions
        .iter()
        .map(|p| {
            (
                *p,
                LogRange {
                    start: at(&start, p),
                    end: at(&end, p),
                    stable: at(&stable, p),
                },
            )
        })
        .collect())
}

/// The data record at `offset` (none when the offset holds a control marker or is gone).
pub async fn record_at(
    client: &Client,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<Option<Record>, clusterlink_kafka::Error> {
    let fetched = client
        .fetch_partition(
            topic,
            partition,
            offset,
            Isolation::ReadUncommitted,
            Duration::from_millis(1),
            8 << 20,
        )
        .await?;
    for batch in split_batches(fetched.records)? {
        let h = batch.header();
        if h.is_control() || h.next_offset() <= offset {
            continue;
        }
        return Ok(batch.records()?.into_iter().find(|r| r.offset == offset));
    }
    Ok(None)
}

/// Whether two records are the same record (a mirror copies them byte for byte: key, value,
/// headers and timestamp are kept).
pub fn same_record(a: &Record, b: &Record) -> bool {
    a.key == b.key && a.value == b.value && a.headers == b.headers && a.timestamp == b.timestamp
}

/// Creates a mirror over a destination topic that already holds the source's history up to
/// its end (`StartSpec::DestinationEnd`), after checking that it does: same partitions, no
/// open transaction, an end within the source's log (`expected_ends`, when given, must be it)
/// and the last record the same on both sides. A stopped mirror of the same name is replaced.
pub(crate) async fn adopt_mirror(
    link: &Link,
    spec: MirrorSpec,
    desired: Desired,
    expected_ends: Option<&BTreeMap<i32, i64>>,
) -> Result<(), MirrorError> {
    let name = spec.name.clone();
    let refuse = |why: String| MirrorError::CannotAdopt {
        name: name.clone(),
        why,
    };
    {
        let st = link.lock();
        match st.mirrors.get(&spec.name) {
            Some(m) if m.record.state != MirrorState::Stopped => {
                return Err(MirrorError::Duplicate(spec.name))
            }
            _ => {}
        }
        if let Some(other) = st.mirrors.values().find(|m| {
            m.record.spec.source_topic == spec.source_topic
                && m.name() != spec.name
                && m.record.state != MirrorState::Stopped
        }) {
            return Err(MirrorError::SourceAlreadyMirrored {
                source_topic: spec.source_topic,
                mirror: other.name().to_owned(),
            });
        }
    }
    let source_meta = lifecycle::source_topic(link, &spec.source_topic).await?;
    let dest_meta = link
        .destination
        .topic_metadata(&spec.name)
        .await
        .map_err(dst_err)?;
    let partitions: Vec<i32> = source_meta.partitions.keys().copied().collect();
    let dest_partitions: Vec<i32> = dest_meta.partitions.keys().copied().collect();
    if partitions != dest_partitions {
        return Err(refuse(format!(
            "it has {} partitions and the source topic {} has {}",
            dest_partitions.len(),
            spec.source_topic,
            partitions.len()
        )));
    }
    let src = log_ranges(&link.source, &spec.source_topic, &partitions)
        .await
        .map_err(src_err)?;
    let dst = log_ranges(&link.destination, &spec.name, &partitions)
        .await
        .map_err(dst_err)?;
    // Per partition: the adopted end and where the history both sides share starts.
    let mut ends = BTreeMap::new();
    for p in &partitions {
        let (s, d) = (src[p], dst[p]);
        if d.stable != d.end {
            return Err(refuse(format!(
                "partition {p} has a transaction open at offset {}",
                d.stable
            )));
        }
        if let Some(want) = expected_ends.and_then(|e| e.get(p)) {
            if *want != d.end {
                return Err(refuse(format!(
                    "partition {p} ends at offset {} where the source topic's mirror stopped at {want}: records were written to it since",
                    d.end
                )));
            }
        }
        if d.end > s.end {
            return Err(refuse(format!(
                "partition {p} ends at offset {} beyond the source's end {}: its offsets {} to {} diverged from the source (truncate-and-restore cuts them)",
                d.end,
                s.end,
                s.end,
                d.end - 1
            )));
        }
        if d.end < s.start {
            return Err(refuse(format!(
                "partition {p} ends at offset {} before the source's log start {}: the records between are gone from the source",
                d.end, s.start
            )));
        }
        let last = d.end - 1;
        if last >= s.start.max(d.start) {
            let theirs = record_at(&link.source, &spec.source_topic, *p, last)
                .await
                .map_err(src_err)?;
            let ours = record_at(&link.destination, &spec.name, *p, last)
                .await
                .map_err(dst_err)?;
            match (ours, theirs) {
                (Some(a), Some(b)) if !same_record(&a, &b) => {
                    return Err(refuse(format!(
                        "partition {p}: the record at offset {last} differs from the source's: the logs diverged"
                    )))
                }
                (Some(_), None) | (None, Some(_)) => {
                    return Err(refuse(format!(
                        "partition {p}: offset {last} holds a record on one side and none on the other: the logs diverged"
                    )))
                }
                _ => {}
            }
        }
        ends.insert(*p, (s.start.max(d.start).min(d.end), d.end));
    }
    let _writes = link.state_writes.lock().await;
    let mut entries = Vec::new();
    {
        let mut st = link.lock();
        match st.mirrors.get(&spec.name) {
            Some(m) if m.record.state != MirrorState::Stopped => {
                return Err(MirrorError::Duplicate(spec.name))
            }
            Some(_) => {
                let old = st.mirrors.remove(&spec.name).expect("present");
                entries.extend(checkpoint::tombstones(&link.settings.name, &old));
            }
            None => {}
        }
    }
    let mut mirror = Mirror::new(MirrorRecord::fresh(spec.clone(), desired));
    mirror.touch();
    for (p, (shared, end)) in &ends {
        let ckpt = Checkpoint {
            source: *end,
            destination: *end,
            fill_to: None,
        };
        let mut part = Part::new(ckpt, OffsetMap::new(), link.settings.partition_max_bytes);
        // The history both sides hold is aligned: consumer offsets in it translate to
        // themselves (offset sync), as they would had this mirror copied it.
        part.map.record(*shared, *shared, end - shared);
        mirror.parts.insert(*p, part);
    }
    let (mine, saved) = checkpoint::entries(&link.settings.name, &mirror, true);
    // Tombstones of a replaced stopped mirror first: the new records win.
    let mine_keys: std::collections::BTreeSet<&String> = mine.iter().map(|(k, _)| k).collect();
    entries.retain(|(k, _)| !mine_keys.contains(k));
    entries.extend(mine.iter().cloned());
    link.store.put(&entries).await.map_err(dst_err)?;
    saved.apply(&mut mirror);
    info!(mirror = %spec.name, source = %spec.source_topic, ?ends, "existing topic now a mirror from its end");
    link.lock().mirrors.insert(spec.name, mirror);
    link.wake.notify_one();
    Ok(())
}

/// Forgets a stopped mirror: its records leave the state topic, its topic stays as it is (an
/// ordinary topic). Nothing to do for a name that is not a mirror.
pub(crate) async fn forget_stopped(link: &Link, name: &str) -> Result<(), MirrorError> {
    let _writes = link.state_writes.lock().await;
    let removed = {
        let mut st = link.lock();
        match st.mirrors.get(name) {
            None => return Ok(()),
            Some(m) if m.record.state != MirrorState::Stopped => {
                return Err(MirrorError::InvalidTransition {
                    name: name.to_owned(),
                    state: m.record.state.as_str(),
                    action: "forget",
                })
            }
            Some(_) => st.mirrors.remove(name).expect("present"),
        }
    };
    let entries = checkpoint::tombstones(&link.settings.name, &removed);
    checkpoint::put(link, &entries, Vec::new()).await?;
    info!(mirror = %name, "stopped mirror forgotten; its topic stays");
    Ok(())
}

/// The reverses whose promotion completed, waiting to be handed to the source cluster.
pub(crate) fn reversals(link: &Link) -> Vec<Reversal> {
    let st = link.lock();
    st.mirrors
        .values()
        .filter(|m| m.record.state == MirrorState::Stopped)
        .filter_map(|m| {
            let r = m.record.reverse?;
            Some(Reversal {
                name: m.name().to_owned(),
                source_topic: m.record.spec.source_topic.clone(),
                paused: r.paused,
                ends: m
                    .parts
                    .iter()
                    .map(|(p, part)| (*p, part.position().destination))
                    .collect(),
            })
        })
        .collect()
}

/// A reverse was handed to the source cluster: forgotten here.
pub(crate) async fn reversal_delivered(link: &Link, name: &str) -> Result<(), MirrorError> {
    let _writes = link.state_writes.lock().await;
    let (entries, saved) = {
        let mut st = link.lock();
        let Some(m) = st.mirrors.get_mut(name) else {
            return Ok(());
        };
        if m.record.reverse.take().is_none() {
            return Ok(());
        }
        m.touch();
        checkpoint::entries(&link.settings.name, m, false)
    };
    checkpoint::put(link, &entries, vec![saved]).await
}
