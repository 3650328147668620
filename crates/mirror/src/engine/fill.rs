//! Filling a destination partition with placeholders, so that its offsets equal the source's.
//!
//! Kafka gives a record the next offset of its partition, and no request sets where an empty
//! partition starts. A mirror that starts at source offset N > 0 (the source's log start, after
//! retention or DeleteRecords ran there) would write source offset N at destination offset 0:
//! TRANSLATED. To stay ALIGNED, the destination partition is first filled with placeholder
//! records up to N (batches of up to [`PER_BATCH`], zstd-compressed to a few hundred kilobytes;
//! each record with an empty, non-null key, which a compacted topic accepts), then DeleteRecords
//! moves its log start to N, so no placeholder can be read. Only then is the first real record
//! fetched (a partition waiting for its fill wants no data, see `Part::wants_data`): on the
//! destination it lands at its source offset. The same fill keeps a mirror aligned when the
//! source's log start jumps past it (`mirror.log.start.policy=resume`, see `out_of_range`).
//!
//! Crash safety: the target is stored with the partition's checkpoint (`fill_to`) before
//! anything is produced, and cleared in the state topic, before anything real is fetched, only
//! once the log start has reached it. A restarted engine finishes the fill from what the
//! destination holds: its end says how many placeholders landed, so none is written twice and
//! none is missed. Placeholders are not written under the idempotent producer (its sequences
//! number the mirrored batches); a placeholder batch whose answer was lost is counted from the
//! destination's end on the next round, and a destination past the target (someone else wrote,
//! or a lost batch landed late) fails the mirror rather than shift its offsets.
//!
//! Compacted topics: Kafka (checked on 4.3.1) refuses DeleteRecords on a topic whose
//! `cleanup.policy` is `compact` only (POLICY_VIOLATION). The fill then sets the mirror topic to
//! `compact,delete` with `retention.ms=-1` and `retention.bytes=-1` (so nothing is deleted by
//! time or size meanwhile), deletes, and gives the topic back its synced configs (as topic
//! config sync does). A crash in between leaves those settings until the restarted fill, or the
//! next config sync, restores them.
//!
//! A destination without DeleteRecords could not hide the placeholders: none is written, and
//! the partition is mirrored TRANSLATED, with the reason noted.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use clusterlink_kafka::client::{AlterConfigOp, ConfigResource, OffsetSpec};
use clusterlink_kafka::records::{encode_batch, BatchSpec, Compression, Record, RecordError};
use clusterlink_kafka::{Error as KafkaError, Isolation, ResponseError};
use clusterlink_rest_v3::MirrorState;
use tracing::{info, warn};

use super::error::retries_exhausted;
use super::link::Link;
use super::mirror::now_ms;
use super::partition::{keep_error, Checkpoint};
use super::state::EngineState;
use super::topic_sync;
use crate::state_keys;

/// Placeholders per produced batch, at most (fewer when the topic's `max.message.bytes` refuses
/// that many).
const PER_BATCH: i64 = 100_000;
/// Batches a partition's fill writes per fetch round, so other partitions keep moving.
const BATCHES_PER_ROUND: usize = 10;
/// How long a placeholder produce or a DeleteRecords may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// What lets DeleteRecords run on a compacted topic, with no deletion by time or size.
const ALLOW_DELETE: [(&str, &str); 3] = [
    ("cleanup.policy", "compact,delete"),
    ("retention.ms", "-1"),
    ("retention.bytes", "-1"),
];

/// Why a fill step did not finish.
#[derive(Debug, thiserror::Error)]
enum FillError {
    /// The destination holds records the fill did not write: the mirror fails.
    #[error("{0}")]
    Foreign(String),
    /// The destination cannot delete records: the partition is mirrored translated.
    #[error("the destination cannot delete records ({0}), so placeholders could not be hidden")]
    Unsupported(KafkaError),
    /// An empty destination partition did not take the no-op deletion that comes before any
    /// placeholder: retried, and past the retry timeout the partition is mirrored translated
    /// (nothing to hide: it is empty). tansu, for one, advertises DeleteRecords but closes the
    /// connection on it.
    #[error("the destination did not take a DeleteRecords: {0}")]
    CannotDelete(KafkaError),
    /// A destination error: retried by the next round, until the retry timeout.
    #[error("filling the destination: {0}")]
    Kafka(#[from] KafkaError),
    /// The state topic could not be written: retried like a destination error.
    #[error("state topic: {0}")]
    State(String),
    /// The placeholder batch could not be encoded.
    #[error("encoding placeholders: {0}")]
    Encode(#[from] RecordError),
}

impl FillError {
    /// A short, stable label for metrics and logs.
    fn category(&self) -> &'static str {
        match self {
            FillError::Foreign(_) => "foreign_write",
            FillError::Unsupported(_) => "unsupported",
            FillError::CannotDelete(e) | FillError::Kafka(e) => e.category(),
            FillError::State(_) => "state",
            FillError::Encode(_) => "encode",
        }
    }
}

/// Where a fill stands after a step.
enum Progress {
    /// More placeholders to write, or a deletion to retry.
    More,
    /// The destination's log starts and ends at the target.
    Done,
}

/// A partition waiting for its fill: mirror, source topic, its overrides, partition, target.
struct Pending {
    mirror: String,
    source_topic: String,
    overrides: BTreeMap<String, String>,
    partition: i32,
    to: i64,
}

/// One step of every pending fill of the link's mirrors that are still mirrors (paused ones
/// and those of a paused link too: a fill reads nothing from the source, and finishing it is
/// what hides the placeholders written so far). Returns whether any fill moved.
pub(crate) async fn run_pending(link: &Link) -> bool {
    let pending: Vec<Pending> = {
        let st = link.lock();
        st.mirrors
            .values()
            .filter(|m| m.record.state.keeps_position())
            .flat_map(|m| {
                m.parts.iter().filter_map(|(p, part)| {
                    Some(Pending {
                        mirror: m.name().to_owned(),
                        source_topic: m.record.spec.source_topic.clone(),
                        overrides: m.record.spec.configs.iter().cloned().collect(),
                        partition: *p,
                        // Only once the fill is stored: a restart must know of any placeholder.
                        to: part
                            .fill_to
                            .filter(|to| part.is_idle() && part.checkpoint.fill_to == Some(*to))?,
                    })
                })
            })
            .collect()
    };
    let mut moved = false;
    for fill in pending {
        let (name, p, to) = (&fill.mirror, fill.partition, fill.to);
        let _fills = link.fills.lock().await;
        let still_pending = link.lock().mirrors.get(name).is_some_and(|m| {
            m.record.state.keeps_position()
                && m.parts.get(&p).is_some_and(|part| part.fill_to == Some(to))
        });
        if !still_pending {
            // Stopped (and cut) or deleted meanwhile.
            continue;
        }
        let outcome = match step(link, name, p, to).await {
            Ok(Progress::Done) => finish(link, &fill).await,
            Err(FillError::Unsupported(e)) => match translated(link, name, p).await {
                Ok(()) => Err(FillError::Unsupported(e)),
                Err(other) => Err(other),
            },
            Err(FillError::CannotDelete(e))
                if failing_for(link, name, p, &e) > link.settings.retry_timeout =>
            {
                match translated(link, name, p).await {
                    Ok(()) => Err(FillError::Unsupported(e)),
                    Err(other) => Err(other),
                }
            }
            other => other,
        };
        let mut st = link.lock();
        let Some(m) = st.mirrors.get_mut(name) else {
            continue;
        };
        let Some(part) = m.parts.get_mut(&p) else {
            continue;
        };
        match outcome {
            Ok(progress) => {
                part.produce_error = None;
                moved = true;
                if matches!(progress, Progress::Done) {
                    info!(mirror = %name, partition = p, offset = to, "destination filled: aligned from the source's offset");
                }
            }
            Err(FillError::Foreign(reason)) => m.fail(reason),
            Err(FillError::Unsupported(e)) => {
                // `translated` stored and cleared the fill already.
                m.note(format!(
                    "{name}-{p} is mirrored with translated offsets from source offset {to}: {}",
                    FillError::Unsupported(e)
                ));
            }
            Err(FillError::CannotDelete(e)) => {
                // Recorded by `failing_for`; translated once past the retry timeout.
                warn!(mirror = %name, partition = p, error = %e, "no DeleteRecords on the destination yet; retried");
            }
            Err(e) => {
                warn!(mirror = %name, partition = p, category = e.category(), error = %e, "fill failed; retried");
                let since = keep_error(&mut part.produce_error, e.to_string());
                if since.elapsed() > link.settings.retry_timeout {
                    m.fail(retries_exhausted(link.settings.retry_timeout, e));
                }
            }
        }
    }
    moved
}

/// A mirror stopped (failed over) before its fills finished: what was written is only
/// placeholders, which must not stay readable in a topic that now belongs to its users. Each
/// unfinished partition is cut at its end (DeleteRecords) before the stop is acknowledged, and
/// its fill cleared. What cannot be cut is noted in the mirror's reason, with the offsets.
pub(crate) async fn cut_unfinished(link: &Link, name: &str) {
    let _fills = link.fills.lock().await;
    let (source_topic, overrides, parts): (String, BTreeMap<String, String>, Vec<i32>) = {
        let st = link.lock();
        let Some(m) = st.mirrors.get(name) else {
            return;
        };
        if m.record.state != MirrorState::Stopped {
            return;
        }
        (
            m.record.spec.source_topic.clone(),
            m.record.spec.configs.iter().cloned().collect(),
            m.parts
                .iter()
                .filter(|(_, part)| part.fill_to.is_some())
                .map(|(p, _)| *p)
                .collect(),
        )
    };
    if parts.is_empty() {
        return;
    }
    for p in parts {
        if let Err(e) = cut(link, name, p).await {
            let mut st = link.lock();
            if let Some(m) = st.mirrors.get_mut(name) {
                m.note(format!(
                    "{name}-{p} was stopped in the middle of its fill: the placeholders written \
                     so far could not be deleted ({e})"
                ));
            }
        }
    }
    if let Err(e) = topic_sync::sync_mirror_configs(link, name, &source_topic, overrides).await {
        warn!(mirror = %name, error = %e, "topic configs not restored after cutting a fill");
    }
}

/// Deletes everything `name[p]` holds (placeholders only: its fill was not finished) and clears
/// its fill. Retries a compacted topic's refusal for a few seconds, while deletion is allowed.
async fn cut(link: &Link, name: &str, p: i32) -> Result<(), FillError> {
    let (_, end) = log_range(link, name, p).await?;
    let mut attempts = 0;
    while !may_delete(link, name, p, end).await? {
        attempts += 1;
        if attempts > 50 {
            return Err(FillError::Foreign(
                "deletion still refused by the topic's cleanup.policy".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    store_cleared(link, name, p, Some(end)).await
}

/// Records `e` as `name[p]`'s error; how long the partition has been failing.
fn failing_for(link: &Link, name: &str, p: i32, e: &KafkaError) -> Duration {
    let mut st = link.lock();
    st.mirrors
        .get_mut(name)
        .and_then(|m| m.parts.get_mut(&p))
        .map_or(Duration::ZERO, |part| {
            keep_error(&mut part.produce_error, e.to_string()).elapsed()
        })
}

/// The destination partition's log start (ListOffsets) and end (a fetch's high watermark:
/// tansu's ListOffsets latest is wrong, see docs/test-brokers.md).
async fn log_range(link: &Link, name: &str, p: i32) -> Result<(i64, i64), KafkaError> {
    let dst = &link.destination;
    let start = dst
        .list_offsets(name, &[p], OffsetSpec::Earliest, Isolation::ReadUncommitted)
        .await?
        .get(&p)
        .map(|o| o.offset)
        .ok_or_else(|| KafkaError::Invalid(format!("no log start listed for {name}-{p}")))?;
    let fetched = dst
        .fetch_partition(
            name,
            p,
            start,
            Isolation::ReadUncommitted,
            Duration::from_millis(1),
            1,
        )
        .await?;
    // Some brokers report no high watermark (-1) for a partition without data.
    Ok((start, fetched.high_watermark.max(start)))
}

/// Brings `name[p]` closer to a log that starts and ends at `to`: up to [`BATCHES_PER_ROUND`]
/// placeholder batches, then the deletion.
async fn step(link: &Link, name: &str, p: i32, to: i64) -> Result<Progress, FillError> {
    let (start, mut end) = log_range(link, name, p).await?;
    if end > to {
        return Err(FillError::Foreign(format!(
            "destination {name}-{p} ends at offset {end}, past offset {to} it was being filled \
             to: it holds records this link did not write"
        )));
    }
    if start == to {
        return Ok(Progress::Done);
    }
    if end < to {
        // A no-op deletion first: placeholders are written only where they can be deleted.
        let may = match may_delete(link, name, p, start).await {
            Err(FillError::Kafka(e)) if start == end => return Err(FillError::CannotDelete(e)),
            other => other?,
        };
        if !may {
            return Ok(Progress::More);
        }
        let mut per_batch = PER_BATCH;
        let mut batches = 0;
        while end < to && batches < BATCHES_PER_ROUND {
            let n = per_batch.min(to - end);
            let batch = placeholders(n)?;
            let produced = match link
                .destination
                .produce_partition(name, p, &[batch], TIMEOUT)
                .await
            {
                Err(e)
                    if (e.is(ResponseError::MessageTooLarge)
                        || e.is(ResponseError::RecordListTooLarge))
                        && n > 1 =>
                {
                    per_batch = (n / 2).max(1);
                    continue;
                }
                r => r?,
            };
            if produced.base_offset != end {
                return Err(FillError::Foreign(format!(
                    "destination {name}-{p} took placeholders at offset {} while it ended at \
                     {end}: someone else writes to it",
                    produced.base_offset
                )));
            }
            end += n;
            batches += 1;
        }
        if end < to {
            return Ok(Progress::More);
        }
    }
    Ok(if may_delete(link, name, p, to).await? {
        Progress::Done
    } else {
        Progress::More
    })
}

/// Deletes `name[p]` up to `offset`. False when the topic's policy refused and was just set
/// to allow it (the change reaches the leader a moment later: the next round asks again).
async fn may_delete(link: &Link, name: &str, p: i32, offset: i64) -> Result<bool, FillError> {
    match link
        .destination
        .delete_records(name, &[(p, offset)], TIMEOUT)
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.is(ResponseError::PolicyViolation) => {
            let ops: Vec<AlterConfigOp> = ALLOW_DELETE
                .iter()
                .map(|(k, v)| AlterConfigOp::Set((*k).into(), (*v).into()))
                .collect();
            link.destination
                .incremental_alter_configs(ConfigResource::Topic, name, &ops, false)
                .await?;
            info!(mirror = %name, "compacted mirror topic: deletion allowed while it is filled");
            Ok(false)
        }
        Err(e @ KafkaError::Unsupported { .. }) => Err(FillError::Unsupported(e)),
        Err(e) if e.is(ResponseError::UnsupportedVersion) => Err(FillError::Unsupported(e)),
        Err(e) => Err(e.into()),
    }
}

/// `n` placeholder records in one zstd batch: an empty key (a compacted topic refuses records
/// without one), no value, no headers, the time now.
fn placeholders(n: i64) -> Result<clusterlink_kafka::records::RawBatch, RecordError> {
    let now = now_ms();
    let records: Vec<Record> = (0..n)
        .map(|offset| Record {
            offset,
            timestamp: now,
            key: Some(Bytes::new()),
            value: None,
            headers: Vec::new(),
        })
        .collect();
    encode_batch(&BatchSpec::plain(Compression::Zstd), &records)
}

/// A finished fill: the topic gets its synced configs back (they were changed for a compacted
/// topic), and the checkpoint without the fill is stored before the partition may fetch.
async fn finish(link: &Link, fill: &Pending) -> Result<Progress, FillError> {
    let name = &fill.mirror;
    if let Err(e) =
        topic_sync::sync_mirror_configs(link, name, &fill.source_topic, fill.overrides.clone())
            .await
    {
        // Only a compacted topic's configs were changed, to settings that delete nothing;
        // topic config sync restores them too.
        warn!(mirror = %name, error = %e, "topic configs not restored after the fill");
    }
    store_cleared(link, name, fill.partition, None).await?;
    Ok(Progress::Done)
}

/// Stores `name[p]`'s checkpoint without its fill (with the destination's end at `dest_end`,
/// when given), then clears the fill in memory: the partition fetches only after that write.
async fn store_cleared(
    link: &Link,
    name: &str,
    p: i32,
    dest_end: Option<i64>,
) -> Result<(), FillError> {
    let _writes = link.state_writes.lock().await;
    let ckpt = {
        let st = link.lock();
        let Some(part) = st.mirrors.get(name).and_then(|m| m.parts.get(&p)) else {
            return Ok(());
        };
        Checkpoint {
            destination: dest_end.unwrap_or(part.dest_end),
            fill_to: None,
            ..part.position()
        }
    };
    let entry = (
        state_keys::checkpoint(&link.settings.name, name, p),
        serde_json::to_vec(&ckpt).ok(),
    );
    link.store
        .put(&[entry])
        .await
        .map_err(|e| FillError::State(e.to_string()))?;
    let mut st = link.lock();
    if let Some(part) = st.mirrors.get_mut(name).and_then(|m| m.parts.get_mut(&p)) {
        part.fill_to = None;
        part.dest_end = ckpt.destination;
        part.checkpoint = ckpt;
    }
    Ok(())
}

/// A destination that cannot delete records: the partition is mirrored from where the
/// destination ends, translated, stored before it fetches.
async fn translated(link: &Link, name: &str, p: i32) -> Result<(), FillError> {
    let (_, end) = log_range(link, name, p).await?;
    store_cleared(link, name, p, Some(end)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_have_an_empty_key_no_value_and_compress() {
        let batch = placeholders(PER_BATCH).unwrap();
        assert_eq!(batch.header().record_count as i64, PER_BATCH);
        assert!(
            batch.bytes().len() < 1_000_000,
            "under Kafka's default max.message.bytes: {}",
            batch.bytes().len()
        );
        let records = batch.records().unwrap();
        assert!(records
            .iter()
            .all(|r| r.key.as_deref() == Some(&b""[..]) && r.value.is_none()));
    }

    #[test]
    fn a_checkpoint_without_a_fill_reads_and_writes_as_before() {
        let old = r#"{"source":5,"destination":3}"#;
        let c: Checkpoint = serde_json::from_str(old).unwrap();
        assert_eq!(c.fill_to, None);
        assert_eq!(serde_json::to_string(&c).unwrap(), old);
        let filling = Checkpoint::aligned_start(30);
        let json = serde_json::to_string(&filling).unwrap();
        assert_eq!(json, r#"{"source":30,"destination":30,"fill_to":30}"#);
        assert_eq!(serde_json::from_str::<Checkpoint>(&json).unwrap(), filling);
        assert_eq!(
            Checkpoint::aligned_start(0).fill_to,
            None,
            "nothing to fill"
        );
    }
}
