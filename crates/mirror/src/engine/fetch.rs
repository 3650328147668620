//! The fetch loop: the first step of the data path.
//!
//! Each round asks the source for every mirrored partition whose queue has room
//! ([`Part::wants_data`](super::partition::Part::wants_data)), in one Fetch per source leader
//! (the client groups the partitions by leader and sends the requests concurrently), and hands
//! what came back to `accept`. Nothing is fetched while the link is paused or while the batches
//! held for all partitions reach `buffer_max_bytes`: with `fetch_max_bytes`, that bounds the
//! engine's data memory whatever the number of partitions. After each round the loop writes
//! due checkpoints, and backs off while rounds move nothing.
//!
//! A round also runs the periodic source checks of `topic_sync` (partitions added, a topic
//! gone) and completes promotions that have caught up (`lifecycle`); the loop keeps the lag of
//! mirrors that do not fetch current (`paused_lag`).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clusterlink_kafka::client::{FetchPartition, FetchRequest};
use clusterlink_kafka::Isolation;
use tracing::warn;

use super::link::Link;
use super::mirror::now_ms;
use super::state::EngineState;
use super::{accept, checkpoint, fill, lifecycle, out_of_range, paused_lag, topic_sync};

/// The longest a fetch waits for data while other partitions' batches wait to be written.
const BUSY_FETCH_WAIT: Duration = Duration::from_millis(10);

/// Fetches until the engine stops.
pub(crate) async fn fetch_loop(link: &Link) {
    let mut idle_rounds = 0u32;
    let mut paused_lag_read = None;
    while !link.stopping() {
        link.heartbeat_ms.store(now_ms(), Ordering::Relaxed);
        let moved = round(link).await;
        paused_lag::refresh_if_due(link, &mut paused_lag_read).await;
        if moved {
            link.produce_wake.notify_one();
        }
        if let Err(e) = checkpoint::write(link, false).await {
            warn!(error = %e, "checkpoint failed");
        }
        if moved {
            idle_rounds = 0;
        } else {
            idle_rounds = (idle_rounds + 1).min(10);
            let pause = Duration::from_millis(20 * idle_rounds as u64);
            let _ = tokio::time::timeout(pause, link.wake.notified()).await;
        }
    }
    // The produce loop may be waiting for work.
    link.produce_wake.notify_one();
}

/// One fetch round: fetch for every partition whose queue has room, accept what came back.
/// Returns whether any data moved.
async fn round(link: &Link) -> bool {
    topic_sync::check_partition_counts(link).await;
    // Partitions waiting for their fill fetch nothing until it is done.
    let filled = fill::run_pending(link).await;
    let settings = &link.settings;
    let held = link.buffered_bytes();
    let full = held >= settings.buffer_max_bytes;
    // Batches wait to be written (every batch has bytes).
    let busy = held > 0;
    let fetches = if link.is_paused() || full {
        Vec::new()
    } else {
        wanted(link)
    };
    if fetches.is_empty() {
        lifecycle::finish_promotions(link);
        return filled;
    }
    let requested: HashMap<(String, i32), i64> = fetches
        .iter()
        .map(|f| ((f.topic.clone(), f.partition), f.offset))
        .collect();
    // While batches wait to be written, a fetch must not sit in a long poll: a partition
    // whose queue drains would wait for it. Not zero either: tansu answers a Fetch with
    // max_wait 0 with no data even when it has some (measured: every other fetch came back
    // empty), while Kafka answers at once whenever data is there.
    let max_wait = if busy {
        BUSY_FETCH_WAIT.min(settings.max_wait)
    } else {
        settings.max_wait
    };
    let results = link
        .source
        .fetch(&FetchRequest {
            partitions: fetches,
            max_wait,
            min_bytes: 1,
            max_bytes: settings.fetch_max_bytes,
            isolation: Isolation::ReadCommitted,
        })
        .await;
    let accepted = accept::accept(link, results, &requested);
    for (name, topic) in accepted.missing_topics {
        topic_sync::check_source_topic(link, &name, &topic).await;
    }
    for gap in accepted.out_of_range {
        out_of_range::explain(link, &gap).await;
    }
    lifecycle::finish_promotions(link);
    accepted.moved || filled
}

/// The partitions to fetch: those of mirrors that move data whose queue has room, from where
/// their reader stands.
fn wanted(link: &Link) -> Vec<FetchPartition> {
    let st = link.lock();
    st.mirrors
        .values()
        .filter(|m| m.record.state.moves_data())
        .flat_map(|m| {
            m.parts
                .iter()
                .filter(|(_, p)| p.wants_data(&link.settings))
                .map(|(i, p)| FetchPartition {
                    topic: m.record.spec.source_topic.clone(),
                    partition: *i,
                    offset: p.reader.fetch_offset(),
                    max_bytes: p.fetch_bytes,
                })
        })
        .collect()
}
