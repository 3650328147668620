//! A source that does not have the offset the mirror fetches (OFFSET_OUT_OF_RANGE), and why.
//!
//! Two different things answer the same error, and the mirror must not blame the wrong one:
//! - the offset is below the source's log start: retention (or DeleteRecords) ran past the
//!   mirror while it was behind (a link down longer than the source's retention), and the
//!   records in between are gone from the source before they were copied;
//! - the offset is above the source's log end: the source's log was cut (an unclean leader
//!   election) or the topic was deleted and created again, and what the source holds now is
//!   not the history the mirror copied.
//!
//! Both stop the mirror by default, with the exact offsets in the reason: resuming would leave
//! a hole in an offset-preserving copy, or mix two histories. An offset back in range by the
//! time it is checked (a leader that changed under the fetch) is fetched again.
//!
//! With `mirror.log.start.policy=resume`, a mirror behind the source's log start goes on from
//! there instead (a cut or replaced log still stops it: resuming would mix two histories). The
//! records in between are counted as lost (the partition's `records_lost`, exported as
//! `clusterlink_mirror_records_lost_total`) and named, offsets and cause, in the mirror's
//! reason. An aligned partition stays aligned: its destination is filled up to the new log
//! start and cut there (see `fill`), so the destination's log start follows the source's and
//! the next record lands at its source offset; a translated one goes on translated (its
//! offset map skips the lost range). The decision is stored with the partition's checkpoint
//! before anything is fetched from the new start, so a restart does not decide it again
//! differently.
//!
//! A caught-up mirror whose source log start advances (retention on the source, DeleteRecords
//! there) loses nothing and is not followed: the mirror topic deletes by its own retention
//! (the source's retention configs are synced to it), and records the source deleted on
//! request stay readable on the destination.

use clusterlink_kafka::client::OffsetSpec;
use clusterlink_kafka::Isolation;
use clusterlink_rest_v3::link_config;
use tracing::{debug, warn};

use super::accept::OutOfRange;
use super::checkpoint;
use super::link::Link;
use super::spec::LogStartPolicy;
use crate::offset_map::OffsetMode;
use crate::reader::PartitionReader;

/// Why the source did not have `gap.offset`, from its log start and end now; `None` when it
/// has it after all.
fn reason(gap: &OutOfRange, log_start: i64, log_end: i64) -> Option<String> {
    let (topic, partition, offset) = (&gap.topic, gap.partition, gap.offset);
    if offset < log_start {
        let lost = log_start - offset;
        Some(format!(
            "source {topic}-{partition} no longer has offsets {offset} to {} ({lost} records \
             never copied): its log start moved to {log_start} while the mirror was behind \
             (retention or DeleteRecords ran past it)",
            log_start - 1
        ))
    } else if offset > log_end {
        Some(format!(
            "source {topic}-{partition} ends at offset {log_end}, before the mirror's next \
             offset {offset}: its log was cut (an unclean leader election?) or the topic was \
             deleted and created again; what it holds now is not the history this mirror copied"
        ))
    } else {
        None
    }
}

/// Finds out why the source answered OFFSET_OUT_OF_RANGE for `gap`, and fails the mirror with
/// that reason (unless the offset is back in range: then the next fetch asks again).
pub(crate) async fn explain(link: &Link, gap: &OutOfRange) {
    let src = &link.source;
    let parts = [gap.partition];
    let listed = |at| src.list_offsets(&gap.topic, &parts, at, Isolation::ReadUncommitted);
    let (start, end) = match (
        listed(OffsetSpec::Earliest).await,
        listed(OffsetSpec::Latest).await,
    ) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => {
            // Asked again at the next fetch, which will answer the same if nothing changed.
            debug!(topic = %gap.topic, partition = gap.partition, error = %e,
                   "cannot read the source's log range");
            return;
        }
    };
    let (Some(start), Some(end)) = (start.get(&gap.partition), end.get(&gap.partition)) else {
        return;
    };
    let Some(why) = reason(gap, start.offset, end.offset) else {
        return;
    };
    let behind = gap.offset < start.offset;
    if behind && link.settings.log_start_policy == LogStartPolicy::Resume {
        resume(link, gap, start.offset).await;
        return;
    }
    let why = if behind {
        format!(
            "{why}; {}=resume would go on from offset {}",
            link_config::MIRROR_LOG_START_POLICY,
            start.offset
        )
    } else {
        why
    };
    let mut st = link.lock();
    let Some(m) = st.mirrors.get_mut(&gap.mirror) else {
        return;
    };
    // Only if the partition still stands where it was fetched from (not reset meanwhile).
    if m.parts
        .get(&gap.partition)
        .is_some_and(|p| p.reader.fetch_offset() == gap.offset)
    {
        m.fail(why);
    }
}

/// `mirror.log.start.policy=resume`: the partition goes on from the source's log start, the
/// records before it counted as lost; an aligned partition is filled up to it first. Once the
/// batches fetched before the gap are written (until then the next fetch asks again).
async fn resume(link: &Link, gap: &OutOfRange, log_start: i64) {
    let _writes = link.state_writes.lock().await;
    let (entries, saved) = {
        let mut st = link.lock();
        let Some(m) = st.mirrors.get_mut(&gap.mirror) else {
            return;
        };
        let Some(part) = m.parts.get_mut(&gap.partition) else {
            return;
        };
        if part.reader.fetch_offset() != gap.offset
            || !part.in_flight.is_empty()
            || !part.queued.is_empty()
        {
            return;
        }
        // The first offset not copied (records held for a transaction whose end is gone are
        // lost with the rest).
        let from = part.resume_offset();
        let aligned = part.map.mode() == OffsetMode::Aligned && part.dest_end == from;
        part.reader = PartitionReader::new(log_start);
        part.records_lost += (log_start - from).max(0) as u64;
        part.caught_up = false;
        part.fetch_error = None;
        let how = if aligned {
            part.fill_to = Some(log_start);
            part.dest_end = log_start;
            format!(
                "the destination is filled and cut to offset {log_start}, so offsets stay aligned"
            )
        } else {
            "offsets stay translated".to_owned()
        };
        let lost = OutOfRange {
            offset: from,
            ..gap.clone()
        };
        let why = reason(&lost, log_start, i64::MAX).unwrap_or_default();
        m.note(format!(
            "{why}; {}=resume: mirroring goes on from offset {log_start}, {how}",
            link_config::MIRROR_LOG_START_POLICY
        ));
        checkpoint::entries(&link.settings.name, m, false)
    };
    if let Err(e) = checkpoint::put(link, &entries, vec![saved]).await {
        // Written by the next checkpoint; a restart before it decides the same again.
        warn!(mirror = %gap.mirror, error = %e, "resumed position not stored yet");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(offset: i64) -> OutOfRange {
        OutOfRange {
            mirror: "orders".into(),
            topic: "orders".into(),
            partition: 2,
            offset,
        }
    }

    #[test]
    fn below_the_log_start_retention_ran_past_with_the_lost_offsets() {
        let why = reason(&gap(20), 60, 75).unwrap();
        assert!(
            why.contains("orders-2 no longer has offsets 20 to 59 (40 records"),
            "{why}"
        );
        assert!(why.contains("retention"), "{why}");
    }

    #[test]
    fn above_the_log_end_the_log_was_cut_or_replaced_not_retention() {
        let why = reason(&gap(80), 0, 12).unwrap();
        assert!(
            why.contains("ends at offset 12, before the mirror's next offset 80"),
            "{why}"
        );
        assert!(!why.contains("retention"), "{why}");
    }

    #[test]
    fn in_range_again_is_fetched_again() {
        assert_eq!(reason(&gap(20), 0, 20), None);
        assert_eq!(reason(&gap(20), 20, 30), None);
    }
}
