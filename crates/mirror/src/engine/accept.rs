//! What a fetch brought back, partition by partition: batches accepted into the partition's
//! queue, or an error sorted out.
//!
//! Accepting is where fetched bytes become something the destination can take: the partition's
//! deterministic [`PartitionReader`](crate::reader::PartitionReader) splits them into whole
//! batches, drops control batches and aborted transactions, holds open transactions, cuts and
//! renumbers where it must; the destination producer ([`crate::producer`]) stamps each batch
//! with its id, epoch and the partition's next sequence; the stamped batch joins the queue the
//! produce loop writes from. Stamping here, in fetch order, gives every batch its sequence once:
//! a retried write sends the same bytes.
//!
//! A failed partition is sorted out here too: an unreachable source, or one that refuses the
//! link's credentials (a password rotated away on the source: the link's settings will change,
//! the mirror must not be lost meanwhile), makes the mirror SOURCE_UNAVAILABLE (until a fetch
//! succeeds again); a refusal is also kept for the link's status. A missing topic or partition is checked
//! (see `topic_sync`), and so is an offset the source does not have (retention ran past the
//! mirror, or the source's log was cut); an error that cannot be retried, or retries beyond
//! `cluster.link.retry.timeout.ms`, fail the mirror. A fetched batch whose CRC-32C
//! does not match its bytes is never stamped (that would give damaged records a valid
//! checksum): the fetch is dropped and asked again, the partition shows the error, and the
//! mirror fails with the batch's offset when it stays corrupt past the retry timeout.

use std::collections::HashMap;
use std::time::Duration;

use clusterlink_kafka::client::{FetchedPartition, PartitionResult};
use clusterlink_kafka::records::RecordError;
use clusterlink_kafka::{Error as KafkaError, ResponseError};
use clusterlink_rest_v3::MirrorState;

use super::error::retries_exhausted;
use super::link::Link;
use super::mirror::now_ms;
use super::partition::{keep_error, Part};
use super::state::EngineState;
use crate::producer::DestinationProducer;

/// What accepting a fetch's results did.
#[derive(Debug, Default)]
pub(crate) struct Accepted {
    /// Batches were queued.
    pub(crate) moved: bool,
    /// (mirror, source topic) whose source answered UNKNOWN_TOPIC_OR_PARTITION: gone or shrunk?
    pub(crate) missing_topics: Vec<(String, String)>,
    /// Partitions whose source answered OFFSET_OUT_OF_RANGE, with the offset asked for:
    /// retention ran past the mirror, or the source's log was cut or replaced?
    pub(crate) out_of_range: Vec<OutOfRange>,
}

/// A fetch the source answered OFFSET_OUT_OF_RANGE.
#[derive(Debug, Clone)]
pub(crate) struct OutOfRange {
    /// The mirror topic.
    pub(crate) mirror: String,
    /// Its source topic.
    pub(crate) topic: String,
    /// The partition.
    pub(crate) partition: i32,
    /// The offset fetched.
    pub(crate) offset: i64,
}

/// A fetched partition: the source topic's and the mirror topic's.
#[derive(Debug, Clone, Copy)]
struct At<'a> {
    mirror: &'a str,
    topic: &'a str,
    partition: i32,
}

/// How a partition's fetch failed.
enum Failure {
    /// The source cannot be reached.
    SourceDown,
    /// The source topic or partition is unknown.
    TopicMissing,
    /// The source does not have the offset fetched (`topic_sync` finds out why).
    OutOfRange,
    /// The mirror fails, for this reason.
    Fatal(String),
    /// Retried by the next fetch.
    Retrying,
}

/// Takes one fetch's results: `requested` is the offset each partition was fetched from (a
/// partition that moved since, because its mirror was deleted and created again, is skipped).
pub(crate) fn accept(
    link: &Link,
    results: Vec<PartitionResult<FetchedPartition>>,
    requested: &HashMap<(String, i32), i64>,
) -> Accepted {
    let settings = &link.settings;
    let mut out = Accepted::default();
    let mut source_down = Vec::new();
    let mut guard = link.lock();
    let st = &mut *guard;
    let now = now_ms();
    for r in results {
        // One mirror per source topic on a link (create_mirror enforces it).
        let names: Vec<String> = st
            .mirrors
            .values()
            .filter(|m| m.record.spec.source_topic == r.topic && m.record.state.moves_data())
            .map(|m| m.name().to_owned())
            .collect();
        for name in names {
            let m = st.mirrors.get_mut(&name).expect("present");
            let Some(part) = m.parts.get_mut(&r.partition) else {
                continue;
            };
            if requested.get(&(r.topic.clone(), r.partition)) != Some(&part.reader.fetch_offset()) {
                // Reset while the fetch ran (the mirror was deleted and created again).
                continue;
            }
            let at = At {
                mirror: &name,
                topic: &r.topic,
                partition: r.partition,
            };
            match &r.result {
                Ok(f) => {
                    st.source_refused = None;
                    match take(part, &mut st.producer, at, f, settings.fetch_max_bytes, now) {
                        Err(Unreadable::Fatal(reason)) => {
                            m.fail(reason);
                            continue;
                        }
                        Err(Unreadable::Corrupt(reason)) => {
                            if let Some(reason) = corrupt(part, reason, settings.retry_timeout) {
                                m.fail(reason);
                            }
                            continue;
                        }
                        Ok(moved) => out.moved |= moved,
                    }
                    if m.record.state == MirrorState::SourceUnavailable {
                        let healthy = m.healthy_state();
                        m.set_state(healthy, None);
                    }
                }
                Err(e) => match failure(part, e, settings.retry_timeout) {
                    Failure::SourceDown => {
                        if e.category() == "auth" {
                            st.source_refused = Some(e.to_string());
                        }
                        source_down.push(name.clone())
                    }
                    Failure::TopicMissing => {
                        out.missing_topics.push((name.clone(), r.topic.clone()))
                    }
                    Failure::OutOfRange => out.out_of_range.push(OutOfRange {
                        mirror: name.clone(),
                        topic: r.topic.clone(),
                        partition: r.partition,
                        offset: part.reader.fetch_offset(),
                    }),
                    Failure::Fatal(reason) => m.fail(reason),
                    Failure::Retrying => {}
                },
            }
        }
    }
    for name in &source_down {
        if let Some(m) = st.mirrors.get_mut(name) {
            if matches!(
                m.record.state,
                MirrorState::Active | MirrorState::PendingStopped
            ) {
                let reason = m.parts.values().find_map(|p| p.last_error());
                m.set_state(MirrorState::SourceUnavailable, reason);
            }
        }
    }
    out
}

/// Why fetched data could not be taken.
enum Unreadable {
    /// It cannot be read: the mirror fails, for this reason.
    Fatal(String),
    /// A batch's CRC-32C does not match its bytes: nothing was taken, the next fetch asks again.
    Corrupt(String),
}

/// Keeps a corrupt fetch as the partition's error; the reason the mirror fails when the source
/// has kept answering corrupt data for longer than `retry_timeout` (damaged on its disk, not on
/// the way).
fn corrupt(part: &mut Part, reason: String, retry_timeout: Duration) -> Option<String> {
    part.caught_up = false;
    let since = keep_error(&mut part.fetch_error, reason.clone());
    (since.elapsed() > retry_timeout).then(|| {
        format!(
            "{reason}; still corrupt after {}s of fetching it again: the mirror stops rather \
             than write it",
            since.elapsed().as_secs()
        )
    })
}

/// Accepts one partition's fetched data into its queue, stamping each batch for the mirror
/// topic's partition. Returns whether batches were queued, or why the source data could not be
/// read.
fn take(
    part: &mut Part,
    producer: &mut DestinationProducer,
    at: At<'_>,
    f: &FetchedPartition,
    fetch_max_bytes: i32,
    now: i64,
) -> Result<bool, Unreadable> {
    if f.high_watermark >= 0 {
        part.high_watermark = f.high_watermark;
        part.last_stable = f.last_stable_offset;
    }
    let had_bytes = !f.records.is_empty();
    let acc = part
        .reader
        .accept(f.records.clone(), &f.aborted)
        .map_err(|(o, e)| {
            let reason = format!("source {}-{} at offset {o}: {e}", at.topic, at.partition);
            match e {
                RecordError::CorruptCrc { .. } => Unreadable::Corrupt(reason),
                _ => Unreadable::Fatal(reason),
            }
        })?;
    if acc.whole_batches == 0 && had_bytes {
        part.grow_fetch(fetch_max_bytes);
    }
    let moved = !acc.ready.is_empty();
    for ready in acc.ready {
        let stamped = producer.stamp(at.mirror, at.partition, &ready.batch);
        part.queued.push((stamped, ready.source));
    }
    part.caught_up = acc.whole_batches == 0
        && f.high_watermark >= 0
        && part.reader.resume_offset() >= f.high_watermark;
    part.note_lag(now);
    part.fetch_error = None;
    Ok(moved)
}

/// Records a partition's fetch error and sorts it out.
fn failure(part: &mut Part, e: &KafkaError, retry_timeout: Duration) -> Failure {
    part.caught_up = false;
    let since = keep_error(&mut part.fetch_error, e.to_string());
    match e {
        KafkaError::Connection { .. } | KafkaError::Timeout { .. } => Failure::SourceDown,
        // Refused credentials: not retriable by the same client, but the source is down for
        // this link only until its credentials change (the engine is restarted with them).
        e if e.category() == "auth" => Failure::SourceDown,
        e if e.is(ResponseError::UnknownTopicOrPartition) => Failure::TopicMissing,
        e if e.is(ResponseError::OffsetOutOfRange) => Failure::OutOfRange,
        e if !e.is_retriable() => Failure::Fatal(format!("fetching from the source: {e}")),
        e if since.elapsed() > retry_timeout => Failure::Fatal(retries_exhausted(retry_timeout, e)),
        _ => Failure::Retrying,
    }
}
