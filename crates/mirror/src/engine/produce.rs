//! The produce loop: stamped batches from the partitions' queues to the destination.
//!
//! Kafka takes one batch per partition per Produce request, so each call moves up to
//! `max_in_flight` batches per partition from its queue to `in_flight` and sends them as that
//! many requests per destination leader, back to back, the n-th carrying the n-th batch of
//! every partition (the client pipelines them on one connection, which keeps each partition's
//! order). The answers are taken in order. A batch that lands moves the partition's
//! destination end and offset map; at a partition's first failure the rest of its answers are
//! ignored, and its batches are retried as they are (same producer id and sequences: the broker
//! appends what it did not have and recognises what it had), first batch alone, before anything
//! after them. A batch that lands anywhere but at the expected offset means someone else writes
//! to the mirror topic: the mirror fails.
//!
//! A partition is also written one batch at a time until a first batch of this engine's
//! producer has landed there: Kafka accepts any sequence from a producer it does not know on a
//! partition (so that a producer whose state expired can go on), so if the first of several
//! pipelined batches failed (NOT_LEADER_OR_FOLLOWER while a new mirror topic's partition is
//! being created) a later one would land first, out of order, and the first one's retry would
//! be refused with OUT_OF_ORDER_SEQUENCE_NUMBER. Once the broker knows the producer there, it
//! refuses a batch that does not follow the last one, so pipelining is safe.
//!
//! The produce gate is held from sending a call to applying its answers, so that whoever must
//! know nothing is on its way to a topic (failover, deletion) can wait for it.

use std::collections::HashSet;
use std::time::Duration;

use clusterlink_kafka::client::{PartitionResult, ProducePartition, Produced};
use clusterlink_kafka::Client;

use super::error::retries_exhausted;
use super::link::{Link, State};
use super::partition::keep_error;
use super::state::EngineState;

/// A destination partition: (mirror topic, partition).
type Dest = (String, i32);

/// Writes until the engine stops.
pub(crate) async fn produce_loop(link: &Link) {
    let mut idle_rounds = 0u32;
    while !link.stopping() {
        // Checkpoints are the fetch loop's: a checkpoint stuck on an unreachable destination
        // must not hold back the next write attempt.
        let (moved, stuck) = produce_queued(link).await;
        if moved {
            idle_rounds = 0;
        } else {
            // Nothing to write, or every write failed: wait for data, backing off while
            // writes keep failing.
            idle_rounds = (idle_rounds + 1).min(10);
            let pause = if stuck {
                Duration::from_millis(50 * idle_rounds as u64)
            } else {
                Duration::from_millis(20 * idle_rounds as u64)
            };
            let _ = tokio::time::timeout(pause, link.produce_wake.notified()).await;
        }
    }
}

/// Writes queued batches until the queues are empty, a write fails or the engine stops; the
/// produce loop calls again (after a backoff when nothing moved). Returns (whether anything
/// was written, whether a write failed).
async fn produce_queued(link: &Link) -> (bool, bool) {
    let mut moved = false;
    let mut stalled: HashSet<Dest> = HashSet::new();
    let depth = link.settings.pipeline_depth();
    while !link.stopping() {
        let _gate = link.produce_gate.lock().await;
        let (batch, drained) = next_call(&mut link.lock(), depth, &stalled);
        if drained {
            // Queues have room: the fetch loop may be waiting for it.
            link.wake.notify_one();
        }
        if batch.is_empty() {
            return (moved, !stalled.is_empty());
        }
        let results = link
            .destination
            .produce(batch, produce_timeout(&link.destination))
            .await;
        let retry_timeout = link.settings.retry_timeout;
        moved |= take_answers(&mut link.lock(), results, &mut stalled, retry_timeout);
        if !stalled.is_empty() {
            // Retried by the next call, after the produce loop's backoff if nothing moved.
            return (moved, true);
        }
    }
    (moved, false)
}

/// The next produce call: queued batches moved in flight (up to `depth` per partition), and
/// the in-flight batches of every partition not `stalled` in this call. Returns the call and
/// whether queues were drained.
fn next_call(
    st: &mut State,
    depth: usize,
    stalled: &HashSet<Dest>,
) -> (Vec<ProducePartition>, bool) {
    let mut drained = false;
    // Mirrors that stopped moving (paused, failed, failed over) hold nothing: no call is in
    // flight now, and their answers were all taken.
    for m in st.mirrors.values_mut() {
        if !m.record.state.moves_data() {
            m.give_back(&mut st.producer);
        }
    }
    for m in st.mirrors.values_mut() {
        for part in m.parts.values_mut() {
            // Queued batches follow the in-flight ones (their sequences too).
            let room = depth.saturating_sub(part.in_flight.len());
            let n = room.min(part.queued.len());
            part.in_flight.extend(part.queued.drain(..n));
            drained |= n > 0;
        }
    }
    let batch = st
        .mirrors
        .values()
        .filter(|m| m.record.state.moves_data())
        .flat_map(|m| {
            let name = m.name();
            m.parts
                .iter()
                .filter(|(i, _)| !stalled.contains(&(name.to_owned(), **i)))
                .flat_map(move |(i, p)| {
                    // A partition whose last write failed tries its first batch alone until
                    // it lands; so does one the broker does not know our producer on yet.
                    let n = if p.produce_error.is_some() || !p.producer_known {
                        1
                    } else {
                        depth
                    };
                    p.in_flight.iter().take(n).map(|(b, _)| ProducePartition {
                        topic: name.to_owned(),
                        partition: *i,
                        records: b.bytes().clone(),
                    })
                })
        })
        .collect();
    (batch, drained)
}

/// Applies a call's answers, in order; a partition's first failure stalls it for the rest of
/// the call. Returns whether any batch landed.
fn take_answers(
    st: &mut State,
    results: Vec<PartitionResult<Produced>>,
    stalled: &mut HashSet<Dest>,
    retry_timeout: Duration,
) -> bool {
    let mut moved = false;
    for r in results {
        let dest = (r.topic, r.partition);
        if stalled.contains(&dest) {
            // An earlier batch of this partition failed in this call.
            continue;
        }
        let Some(m) = st.mirrors.get_mut(&dest.0) else {
            continue;
        };
        let Some(part) = m.parts.get_mut(&dest.1) else {
            continue;
        };
        match r.result {
            Ok(produced) => {
                if produced.base_offset != part.dest_end {
                    let msg = format!(
                        "destination {}-{} was written by another producer: the mirror expected offset {}, the broker appended at {}",
                        dest.0, dest.1, part.dest_end, produced.base_offset
                    );
                    m.fail(msg);
                    stalled.insert(dest);
                    continue;
                }
                if part.in_flight.is_empty() {
                    continue;
                }
                let (b, source) = part.in_flight.remove(0);
                let n = b.header().record_count as i64;
                part.landed(&source, n);
                part.records += n as u64;
                part.bytes += b.bytes().len() as u64;
                part.produce_error = None;
                part.producer_known = true;
                moved = true;
            }
            Err(e) => {
                stalled.insert(dest);
                let error = format!("writing to the destination: {e}");
                let since = keep_error(&mut part.produce_error, error.clone());
                if !e.is_retriable() {
                    m.fail(error);
                } else if since.elapsed() > retry_timeout {
                    m.fail(retries_exhausted(retry_timeout, error));
                }
            }
        }
    }
    moved
}

/// The broker-side timeout of a produce: well inside the client's request timeout, so that a
/// slow append is answered with an error rather than dropping the connection for every
/// request on it.
fn produce_timeout(client: &Client) -> Duration {
    (client.config().connection.request_timeout * 2 / 3).min(Duration::from_secs(30))
}
