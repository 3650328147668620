//! The one-shot copy tool (the CLI's `copy`): one partition, source to destination, as raw
//! record batches, up to the source's end, then it returns.
//!
//! The loop is the engine's data path for a single partition, without queues or state: fetch
//! read_committed from the source leader; [`PartitionReader`] turns the bytes into batches to
//! write (control batches and aborted transactions dropped, a first batch that starts before the
//! wanted offset cut, batches with offset gaps renumbered: the only two cases that decode and
//! re-encode); the [`DestinationProducer`] stamps each with its id, epoch and next sequence;
//! produce them with acks=all; advance past everything fetched. Because batches carry our
//! idempotent producer id, a produce retried after a lost answer is deduplicated by the broker.

use std::time::Duration;

use clusterlink_kafka::client::FetchedPartition;
use clusterlink_kafka::records::RawBatch;
use clusterlink_kafka::{Client, Isolation};
use tracing::{debug, instrument};

use crate::producer::DestinationProducer;
use crate::reader::PartitionReader;

/// Why a copy stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The source or destination failed.
    #[error("{side} cluster: {source}")]
    Kafka {
        /// `source` or `destination`.
        side: &'static str,
        /// The client error.
        #[source]
        source: clusterlink_kafka::Error,
    },
    /// A batch could not be read or rewritten.
    #[error("partition {partition} at offset {offset}: {source}")]
    Records {
        /// Source partition.
        partition: i32,
        /// Source offset of the batch.
        offset: i64,
        /// What was wrong.
        #[source]
        source: clusterlink_kafka::records::RecordError,
    },
    /// A batch larger than the largest fetch allowed.
    #[error("partition {partition} at offset {offset}: a batch exceeds the {max_bytes} byte fetch limit")]
    BatchTooLarge {
        /// Source partition.
        partition: i32,
        /// Source offset.
        offset: i64,
        /// The limit.
        max_bytes: i32,
    },
}

impl CopyError {
    /// A short, stable label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self {
            CopyError::Kafka { source, .. } => source.category(),
            CopyError::Records { .. } => "records",
            CopyError::BatchTooLarge { .. } => "records",
        }
    }
}

/// What a copy moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Records written to the destination.
    pub records: u64,
    /// Batches written.
    pub batches: u64,
    /// Bytes written (batch bytes).
    pub bytes: u64,
    /// Batches skipped: control markers and aborted transactions.
    pub skipped_batches: u64,
    /// Batches that had to be decoded and re-encoded.
    pub reencoded_batches: u64,
    /// Where to resume: the first source offset not yet copied or decided.
    pub next_offset: i64,
    /// Transactional batches still waiting for their commit or abort marker.
    pub held_batches: u64,
}

/// Settings of a copy.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Bytes per fetch at first (doubled, up to `max_fetch_bytes`, for a larger batch).
    pub fetch_bytes: i32,
    /// Largest fetch.
    pub max_fetch_bytes: i32,
    /// Produce timeout.
    pub produce_timeout: Duration,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            fetch_bytes: 1 << 20,
            max_fetch_bytes: 64 << 20,
            produce_timeout: Duration::from_secs(30),
        }
    }
}

/// Which partition goes where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRoute {
    /// Topic on the source cluster.
    pub source_topic: String,
    /// Topic on the destination cluster.
    pub destination_topic: String,
    /// Partition index (the same on both sides).
    pub partition: i32,
}

/// Copies the route's source partition from `from` up to the source's last stable offset as
/// of the last fetch, into the destination partition. Returns what was moved.
#[instrument(skip(source, destination, producer, options), fields(
    source_topic = %route.source_topic,
    destination_topic = %route.destination_topic,
    partition = route.partition,
))]
pub async fn copy_partition(
    source: &Client,
    destination: &Client,
    route: &PartitionRoute,
    from: i64,
    producer: &mut DestinationProducer,
    options: &CopyOptions,
) -> Result<CopyStats, CopyError> {
    let PartitionRoute {
        source_topic,
        destination_topic,
        partition,
    } = route;
    let partition = *partition;
    let mut stats = CopyStats {
        next_offset: from,
        ..Default::default()
    };
    let mut fetch_bytes = options.fetch_bytes;
    let mut reader = PartitionReader::new(from);
    loop {
        let fetched: FetchedPartition = source
            .fetch_partition(
                source_topic,
                partition,
                reader.fetch_offset(),
                Isolation::ReadCommitted,
                Duration::from_millis(50),
                fetch_bytes,
            )
            .await
            .map_err(|source| CopyError::Kafka {
                side: "source",
                source,
            })?;
        let end = if fetched.last_stable_offset >= 0 {
            fetched.last_stable_offset
        } else {
            fetched.high_watermark
        };
        let had_bytes = !fetched.records.is_empty();
        let accepted =
            reader
                .accept(fetched.records, &fetched.aborted)
                .map_err(|(offset, source)| CopyError::Records {
                    partition,
                    offset,
                    source,
                })?;
        if accepted.whole_batches == 0 {
            if reader.fetch_offset() >= end {
                return Ok(stats);
            }
            if had_bytes {
                // Only a partial batch came back: the batch is larger than the fetch size.
                if fetch_bytes >= options.max_fetch_bytes {
                    return Err(CopyError::BatchTooLarge {
                        partition,
                        offset: reader.fetch_offset(),
                        max_bytes: fetch_bytes,
                    });
                }
                fetch_bytes = (fetch_bytes.saturating_mul(2)).min(options.max_fetch_bytes);
            }
            continue;
        }
        stats.skipped_batches += accepted.dropped;
        stats.reencoded_batches += accepted.reencoded;
        let out: Vec<RawBatch> = accepted
            .ready
            .iter()
            .map(|r| producer.stamp(destination_topic, partition, &r.batch))
            .collect();
        if !out.is_empty() {
            destination
                .produce_partition(destination_topic, partition, &out, options.produce_timeout)
                .await
                .map_err(|source| CopyError::Kafka {
                    side: "destination",
                    source,
                })?;
            for b in &out {
                stats.records += b.header().record_count as u64;
                stats.batches += 1;
                stats.bytes += b.bytes().len() as u64;
            }
        }
        stats.next_offset = reader.resume_offset();
        stats.held_batches = reader.held() as u64;
        debug!(
            next_offset = stats.next_offset,
            batches = out.len(),
            "copied"
        );
    }
}
