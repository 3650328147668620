//! One mirrored partition as the engine holds it, shared by every step of the data path: the
//! reader's position in the source, the queue of stamped batches waiting to be written and
//! those being written, the destination's end, the offset map, the last checkpoint written,
//! what the source last said (high watermark, last stable offset) and the errors it is stuck on.
//!
//! The queues are what joins the fetch loop to the produce loop, and what bounds memory: a
//! partition asks for data only while its queue is short ([`Part::wants_data`]).

use std::time::Instant;

use clusterlink_kafka::records::RawBatch;
use serde::{Deserialize, Serialize};

use super::spec::LinkSettings;
use crate::offset_map::OffsetMap;
use crate::reader::{PartitionReader, SourceOffsets};

/// A partition checkpoint: everything before `source` is written up to `destination`.
///
/// With `fill_to`, the destination partition is being filled with placeholders up to that
/// offset and its log start moved there (see `fill`) before anything is mirrored into it:
/// `destination` is where it will end then, not where it ends now. Absent from checkpoints
/// written before fills existed (they read as `None`), and not written while `None`, so
/// every stored checkpoint reads the same as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    pub(crate) source: i64,
    pub(crate) destination: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) fill_to: Option<i64>,
}

impl Checkpoint {
    /// The checkpoint of a partition that was never written to the state topic: it differs
    /// from any real position, so the next checkpoint writes the partition.
    pub(crate) const UNSAVED: Checkpoint = Checkpoint {
        source: -1,
        destination: -1,
        fill_to: None,
    };

    /// A partition starting at source offset `start` with nothing written yet: aligned from
    /// there, so the destination is first filled up to `start` (nothing to fill from 0).
    pub(crate) fn aligned_start(start: i64) -> Checkpoint {
        Checkpoint {
            source: start,
            destination: start,
            fill_to: (start > 0).then_some(start),
        }
    }
}

/// Records a partition's error in `slot` (its fetch or its produce error), keeping when the
/// partition started failing; returns that time (retries end `retry_timeout` after it).
pub(crate) fn keep_error(slot: &mut Option<(Instant, String)>, error: String) -> Instant {
    let since = slot.as_ref().map_or_else(Instant::now, |(t, _)| *t);
    *slot = Some((since, error));
    since
}

/// A stamped batch and the source offsets of its records.
pub(crate) type Stamped = (RawBatch, SourceOffsets);

/// One mirrored partition.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) reader: PartitionReader,
    /// Bytes asked for per fetch: grows when a batch does not fit.
    pub(crate) fetch_bytes: i32,
    /// Stamped batches being written (retried as they are until they land), with the source
    /// offsets of their records. Only the stamped copy is kept: the fetched batch is a slice of
    /// its whole fetch response, which holding would keep alive.
    pub(crate) in_flight: Vec<Stamped>,
    /// Stamped batches fetched while `in_flight` was being written: the next to write.
    pub(crate) queued: Vec<Stamped>,
    /// The next destination offset.
    pub(crate) dest_end: i64,
    pub(crate) map: OffsetMap,
    /// Runs of `map` written to the state topic.
    pub(crate) saved_runs: usize,
    /// The last checkpoint written to the state topic.
    pub(crate) checkpoint: Checkpoint,
    pub(crate) high_watermark: i64,
    pub(crate) last_stable: i64,
    /// The last fetch found nothing new up to the high watermark.
    pub(crate) caught_up: bool,
    /// When lag was first seen with nothing fetched to date it by.
    pub(crate) lag_seen_at: Option<i64>,
    pub(crate) fetch_error: Option<(Instant, String)>,
    pub(crate) produce_error: Option<(Instant, String)>,
    /// A batch of this engine's producer landed here, so the broker checks the sequences of
    /// the next ones: until then the partition is written one batch at a time (see `produce`).
    pub(crate) producer_known: bool,
    /// Records written by this engine instance.
    pub(crate) records: u64,
    /// Batch bytes written by this engine instance.
    pub(crate) bytes: u64,
    /// The destination is to be filled up to this offset before anything is fetched (see
    /// `fill`); stored with the checkpoint until done.
    pub(crate) fill_to: Option<i64>,
    /// Source records this engine instance skipped because the source's log start moved past
    /// them before they were copied (`mirror.log.start.policy=resume`).
    pub(crate) records_lost: u64,
}

impl Part {
    /// A partition at `checkpoint`, with the offset map written so far.
    pub(crate) fn new(checkpoint: Checkpoint, map: OffsetMap, partition_max_bytes: i32) -> Self {
        Part {
            reader: PartitionReader::new(checkpoint.source),
            fetch_bytes: partition_max_bytes,
            in_flight: Vec::new(),
            queued: Vec::new(),
            dest_end: checkpoint.destination,
            saved_runs: map.runs().len(),
            map,
            checkpoint,
            high_watermark: -1,
            last_stable: -1,
            caught_up: false,
            lag_seen_at: None,
            fetch_error: None,
            produce_error: None,
            producer_known: false,
            records: 0,
            bytes: 0,
            fill_to: checkpoint.fill_to,
            records_lost: 0,
        }
    }

    /// Whether the fetch loop should fetch for this partition: its queue holds fewer than
    /// `max_in_flight` batches and fewer than that many fetches' worth of bytes. This bounds
    /// memory by configuration: per partition, at most about twice `max_in_flight` times
    /// the fetch size (queued plus in flight); per fetch, `fetch_max_bytes`. Never while the
    /// destination waits to be filled: nothing may be written before the fill is done.
    pub(crate) fn wants_data(&self, settings: &LinkSettings) -> bool {
        if self.fill_to.is_some() {
            return false;
        }
        let depth = settings.pipeline_depth();
        let queued_bytes: usize = self.queued.iter().map(|(b, _)| b.bytes().len()).sum();
        self.queued.len() < depth && queued_bytes < depth * self.fetch_bytes.max(0) as usize
    }

    /// Doubles the fetch size (up to `max`): a whole batch did not fit.
    pub(crate) fn grow_fetch(&mut self, max: i32) {
        self.fetch_bytes = self.fetch_bytes.saturating_mul(2).min(max);
    }

    /// The first batch not written yet (in flight, else queued).
    pub(crate) fn first_unwritten(&self) -> Option<&Stamped> {
        self.in_flight.first().or(self.queued.first())
    }

    /// Drops the batches not written yet and rewinds the reader to the first of them, so that
    /// the partition's position (and its checkpoint) says what is really on the destination.
    pub(crate) fn drop_unwritten(&mut self) {
        if let Some(first) = self.first_unwritten().map(|(_, source)| source.first()) {
            self.reader = PartitionReader::new(first);
        }
        self.in_flight.clear();
        self.queued.clear();
    }

    /// A batch of `count` records from `source` landed at the destination's end.
    pub(crate) fn landed(&mut self, source: &SourceOffsets, count: i64) {
        match source {
            SourceOffsets::Dense { base, count: n } => self.map.record(*base, self.dest_end, *n),
            SourceOffsets::Listed(offsets) => self.map.record_offsets(offsets, self.dest_end),
        }
        self.dest_end += count;
    }

    /// First source offset not yet written.
    pub(crate) fn resume_offset(&self) -> i64 {
        self.first_unwritten()
            .map(|(_, source)| source.first())
            .unwrap_or_else(|| self.reader.resume_offset())
    }

    /// Where a checkpoint taken now would say the partition is.
    pub(crate) fn position(&self) -> Checkpoint {
        Checkpoint {
            source: self.resume_offset(),
            destination: self.dest_end,
            fill_to: self.fill_to,
        }
    }

    /// Records behind the source's high watermark.
    pub(crate) fn lag_records(&self) -> i64 {
        if self.high_watermark < 0 {
            0
        } else {
            (self.high_watermark - self.resume_offset()).max(0)
        }
    }

    /// Keeps when the current lag was first seen (`now`), or forgets it once there is none.
    pub(crate) fn note_lag(&mut self, now: i64) {
        self.lag_seen_at = if self.lag_records() > 0 {
            self.lag_seen_at.or(Some(now))
        } else {
            None
        };
    }

    /// Age of the oldest record not written yet, from its batch's timestamp (else from when
    /// the lag was first seen).
    pub(crate) fn lag_seconds(&self, now_ms: i64) -> f64 {
        if self.lag_records() == 0 {
            return 0.0;
        }
        let oldest = self
            .first_unwritten()
            .map(|(b, _)| {
                let h = b.header();
                if h.is_log_append_time() {
                    h.max_timestamp
                } else {
                    h.base_timestamp
                }
            })
            .or(self.lag_seen_at);
        oldest.map_or(0.0, |t| ((now_ms - t).max(0)) as f64 / 1000.0)
    }

    /// Nothing queued, in flight or held for a transaction marker.
    pub(crate) fn is_idle(&self) -> bool {
        self.in_flight.is_empty() && self.queued.is_empty() && self.reader.held() == 0
    }

    /// The error a partition is stuck on, writing first.
    pub(crate) fn last_error(&self) -> Option<String> {
        self.produce_error
            .as_ref()
            .or(self.fetch_error.as_ref())
            .map(|(_, e)| e.clone())
    }

    /// Bytes of its fetched batches held, queued or being written.
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.in_flight
            .iter()
            .chain(&self.queued)
            .map(|(b, _)| b.bytes().len())
            .sum()
    }
}
