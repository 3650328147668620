//! A mirror's life: created (R8), paused and resumed, promoted or failed over (R9), deleted
//! (R11); and the end of a promotion, once the mirror has caught up.
//!
//! Every change is written to the state topic before it is acknowledged. The produce gate (see
//! `produce`) is what makes a failover and a deletion safe: once they hold it, nothing is on
//! its way to the topic, so no batch lands in a topic that became writable or was deleted (and
//! perhaps created again under the same name). Batches not written yet are given back (see
//! [`Mirror::give_back`]), so that the stored position says what is really on the destination.

use std::collections::BTreeMap;
use std::time::Duration;

use clusterlink_kafka::client::{NewTopic, OffsetSpec, TopicMetadata};
use clusterlink_kafka::{Isolation, ResponseError};
use clusterlink_rest_v3::mirrors::MirrorTruncation;
use clusterlink_rest_v3::MirrorState;
use tracing::info;

use super::checkpoint;
use super::error::{dst_err, src_err, MirrorError};
use super::failback;
use super::fill;
use super::link::Link;
use super::mirror::{Mirror, MirrorRecord, RemoteMirror};
use super::partition::{Checkpoint, Part};
use super::spec::{Desired, MirrorSpec, StartSpec};
use super::topic_sync;
use crate::offset_map::OffsetMap;

/// Creates a mirror topic: checks, creates the destination topic like the source one, stores
/// the mirror, and starts mirroring it.
pub(crate) async fn create_mirror(
    link: &Link,
    spec: MirrorSpec,
    desired: Desired,
    restored: Option<(BTreeMap<i32, i64>, Option<MirrorTruncation>)>,
) -> Result<(), MirrorError> {
    if spec.start == StartSpec::DestinationEnd {
        return failback::adopt_mirror(link, spec, desired, None).await;
    }
    {
        let st = link.lock();
        if st.mirrors.contains_key(&spec.name) {
            return Err(MirrorError::Duplicate(spec.name));
        }
        if let Some(other) = st
            .mirrors
            .values()
            .find(|m| m.record.spec.source_topic == spec.source_topic)
        {
            return Err(MirrorError::SourceAlreadyMirrored {
                source_topic: spec.source_topic,
                mirror: other.name().to_owned(),
            });
        }
    }
    let source_meta = source_topic(link, &spec.source_topic).await?;
    match link.destination.topic_metadata(&spec.name).await {
        Ok(_) => return Err(MirrorError::DestinationExists(spec.name)),
        Err(e) if e.is(ResponseError::UnknownTopicOrPartition) => {}
        Err(e) => return Err(dst_err(e)),
    }
    let partitions: Vec<i32> = source_meta.partitions.keys().copied().collect();
    let mut configs = topic_sync::source_configs(link, &spec.source_topic).await?;
    for (k, v) in &spec.configs {
        configs.retain(|(ck, _)| ck != k);
        configs.push((k.clone(), v.clone()));
    }
    let starts = start_offsets(link, &spec, &partitions).await?;
    let new = NewTopic {
        name: spec.name.clone(),
        partitions: partitions.len() as i32,
        replication_factor: spec.replication_factor.unwrap_or(-1),
        configs,
    };
    for (_, r) in link
        .destination
        .create_topics(&[new], false, Duration::from_secs(30))
        .await
        .map_err(dst_err)?
    {
        match r {
            Err(e) if e.is(ResponseError::TopicAlreadyExists) => {
                return Err(MirrorError::DestinationExists(spec.name))
            }
            Err(e) => return Err(dst_err(e)),
            Ok(()) => {}
        }
    }
    let mut record = MirrorRecord::fresh(spec.clone(), desired);
    if let Some((restore_to, truncation)) = restored {
        record.restore_to = Some(restore_to);
        record.truncation = truncation;
    }
    let mut mirror = Mirror::new(record);
    mirror.touch();
    for (p, start) in partitions.iter().zip(starts) {
        // From the source's log start: aligned, the destination filled up to it first (see
        // `fill`). From its end or a time: translated, since aligning would write as many
        // placeholders as the records skipped on purpose.
        let ckpt = match spec.start {
            StartSpec::Earliest => Checkpoint::aligned_start(start),
            _ => Checkpoint {
                source: start,
                destination: 0,
                fill_to: None,
            },
        };
        let part = Part::new(ckpt, OffsetMap::new(), link.settings.partition_max_bytes);
        mirror.parts.insert(*p, part);
    }
    let (entries, saved) = checkpoint::entries(&link.settings.name, &mirror, true);
    link.store.put(&entries).await.map_err(dst_err)?;
    saved.apply(&mut mirror);
    info!(mirror = %spec.name, source = %spec.source_topic, partitions = partitions.len(), "mirror created");
    link.lock().mirrors.insert(spec.name, mirror);
    link.wake.notify_one();
    Ok(())
}

/// The source topic's metadata; a missing topic is [`MirrorError::SourceTopicMissing`].
pub(crate) async fn source_topic(link: &Link, topic: &str) -> Result<TopicMetadata, MirrorError> {
    match link.source.topic_metadata(topic).await {
        Ok(t) => Ok(t),
        Err(e) if e.is(ResponseError::UnknownTopicOrPartition) => {
            Err(MirrorError::SourceTopicMissing(topic.to_owned()))
        }
        Err(e) => Err(src_err(e)),
    }
}

/// Where each partition of a new mirror starts (`mirror.start.offset.spec`).
async fn start_offsets(
    link: &Link,
    spec: &MirrorSpec,
    partitions: &[i32],
) -> Result<Vec<i64>, MirrorError> {
    let src = &link.source;
    let listed = |at: OffsetSpec| async move {
        src.list_offsets(&spec.source_topic, partitions, at, Isolation::ReadCommitted)
            .await
            .map_err(src_err)
    };
    let mut out = Vec::with_capacity(partitions.len());
    match spec.start {
        StartSpec::Earliest => {
            let l = listed(OffsetSpec::Earliest).await?;
            out.extend(
                partitions
                    .iter()
                    .map(|p| l.get(p).map_or(0, |o| o.offset.max(0))),
            );
        }
        StartSpec::Latest => {
            // The high watermark of a fetch (ListOffsets latest is wrong on some brokers).
            for p in partitions {
                let f = src
                    .fetch_partition(
                        &spec.source_topic,
                        *p,
                        0,
                        Isolation::ReadCommitted,
                        Duration::from_millis(1),
                        1,
                    )
                    .await
                    .map_err(src_err)?;
                out.push(if f.last_stable_offset >= 0 {
                    f.last_stable_offset
                } else {
                    f.high_watermark
                });
            }
        }
        // Adopted mirrors start where the destination ends (see `failback`).
        StartSpec::DestinationEnd => {
            return Err(MirrorError::State(
                "a mirror from the destination's end is adopted, not created".into(),
            ))
        }
        StartSpec::Timestamp(ts) => {
            let l = listed(OffsetSpec::Timestamp(ts)).await?;
            let end = listed(OffsetSpec::Latest).await?;
            for p in partitions {
                let o = l.get(p).map_or(-1, |o| o.offset);
                // No record at or after the time: start at the end.
                out.push(if o >= 0 {
                    o
                } else {
                    end.get(p).map_or(0, |o| o.offset.max(0))
                });
            }
        }
    }
    Ok(out)
}

/// The verb of a change to `desired`, as errors name it.
fn action(desired: Desired) -> &'static str {
    match desired {
        Desired::Active => "resume",
        Desired::Paused => "pause",
        Desired::Promote => "promote",
        Desired::Failover => "fail over",
    }
}

/// Changes what the user wants of a mirror: pause, resume, promote, fail over.
pub(crate) async fn set_desired(
    link: &Link,
    name: &str,
    desired: Desired,
) -> Result<(), MirrorError> {
    set_desired_then(link, name, desired, None).await
}

/// [`set_desired`], and what the source's topic becomes once the mirror stopped (a reverse:
/// only with a promotion).
pub(crate) async fn set_desired_then(
    link: &Link,
    name: &str,
    desired: Desired,
    reverse: Option<RemoteMirror>,
) -> Result<(), MirrorError> {
    let _writes = link.state_writes.lock().await;
    // A failed-over topic is writable at once: no batch may land after this returns.
    let _gate = match desired {
        Desired::Failover => Some(link.produce_gate.lock().await),
        _ => None,
    };
    let (entries, saved) = {
        let mut guard = link.lock();
        let st = &mut *guard;
        let mirror = st
            .mirrors
            .get_mut(name)
            .ok_or_else(|| MirrorError::NotFound(name.to_owned()))?;
        let state = mirror.record.state;
        let invalid = || MirrorError::InvalidTransition {
            name: name.to_owned(),
            state: state.as_str(),
            action: action(desired),
        };
        if reverse.is_some() && mirror.record.reverse.is_none() && state == MirrorState::Stopped {
            return Err(MirrorError::InvalidTransition {
                name: name.to_owned(),
                state: state.as_str(),
                action: "reverse",
            });
        }
        match (state, desired) {
            (MirrorState::Stopped, Desired::Promote | Desired::Failover) => return Ok(()),
            (MirrorState::Stopped, _) => return Err(invalid()),
            (MirrorState::Failed, Desired::Active | Desired::Paused | Desired::Promote) => {
                return Err(invalid())
            }
            _ => {}
        }
        mirror.record.desired = desired;
        mirror.record.reverse = reverse;
        mirror.promote_synced = false;
        let next = match (state, desired) {
            (MirrorState::SourceUnavailable, Desired::Active | Desired::Promote) => {
                MirrorState::SourceUnavailable
            }
            _ => mirror.healthy_state(),
        };
        mirror.set_state(next, None);
        let stopped = next == MirrorState::Stopped;
        if stopped {
            // Under the produce gate: nothing is in flight, so what is queued is unwritten
            // and the stored position must not count it.
            mirror.give_back(&mut st.producer);
        }
        checkpoint::entries(&link.settings.name, mirror, stopped)
    };
    checkpoint::put(link, &entries, vec![saved]).await?;
    // A stop before a fill finished: its placeholders are cut before the topic is the users'
    // (nothing of the mirror is in flight any more; the fill takes its own locks).
    drop(_gate);
    drop(_writes);
    fill::cut_unfinished(link, name).await;
    link.wake.notify_one();
    Ok(())
}

/// Deletes a mirror: stops mirroring it, deletes what is stored of it, and deletes the
/// destination topic.
pub(crate) async fn delete_mirror(link: &Link, name: &str) -> Result<(), MirrorError> {
    // No fill step of this mirror runs on, into a topic created again under its name.
    let _fills = link.fills.lock().await;
    let _writes = link.state_writes.lock().await;
    let removed = {
        // Nothing of this mirror is in flight once the gate is ours, and nothing will be
        // once it is removed: no answer can reach a mirror created again under this name,
        // and no request can land in its new topic.
        let _gate = link.produce_gate.lock().await;
        // The producer's sequences for this name go on: tansu keeps a producer's state
        // across a topic's deletion and refuses a re-created topic's batches that start
        // again at 0 (found by the operator test that deletes and re-adds a mirror); Kafka
        // (2.5 and later) accepts any first sequence on a partition new to the producer.
        let mut guard = link.lock();
        let st = &mut *guard;
        let mut removed = st
            .mirrors
            .remove(name)
            .ok_or_else(|| MirrorError::NotFound(name.to_owned()))?;
        removed.give_back(&mut st.producer);
        removed
    };
    let entries = checkpoint::tombstones(&link.settings.name, &removed);
    checkpoint::put(link, &entries, Vec::new()).await?;
    for (_, r) in link
        .destination
        .delete_topics(&[name.to_owned()], Duration::from_secs(30))
        .await
        .map_err(dst_err)?
    {
        match r {
            Err(e) if !e.is(ResponseError::UnknownTopicOrPartition) => return Err(dst_err(e)),
            _ => {}
        }
    }
    info!(mirror = %name, "mirror deleted");
    Ok(())
}

/// PENDING_STOPPED mirrors with zero lag twice in a row (the second is the final sync) stop;
/// restored mirrors that have their shared history back are ordinary mirrors.
pub(crate) fn finish_promotions(link: &Link) {
    let mut st = link.lock();
    for m in st.mirrors.values_mut() {
        if m.record.restore_to.is_some() && !m.restoring() {
            info!(mirror = %m.name(), "restored: the history shared with the remote is back");
            m.record.restore_to = None;
            m.touch();
        }
        if m.record.state != MirrorState::PendingStopped {
            continue;
        }
        let zero = m.parts.values().all(|p| {
            p.caught_up
                && p.is_idle()
                && p.lag_records() == 0
                && (p.last_stable < 0 || p.last_stable == p.high_watermark)
        });
        if !zero {
            m.promote_synced = false;
        } else if m.promote_synced {
            m.set_state(MirrorState::Stopped, None);
        } else {
            m.promote_synced = true;
        }
    }
}
