//! Crash recovery: at start, every mirror of the link comes back from the state topic, and each
//! of its partitions is brought from its last checkpoint to where the destination log really
//! ends.
//!
//! Everything that decides where to resume is in Kafka: the checkpoints and offset-map runs in
//! the state topic (see `checkpoint`), and the destination log itself. A checkpoint may be
//! behind the destination (the engine stopped between a write and the next checkpoint), never
//! ahead. So each partition replays the source from its checkpoint through the same
//! deterministic [`PartitionReader`](crate::reader::PartitionReader) the fetch loop uses,
//! counting records until it reaches the destination's end: that is exactly where it stopped,
//! with nothing lost and nothing written twice. Batches the replay reads past that end are the
//! next to write. A destination that ends before the checkpoint, or inside a source batch, or
//! past what the source explains, was written by someone else: the mirror fails.

use std::time::Duration;

use clusterlink_kafka::Isolation;
use tracing::info;

use super::checkpoint;
use super::error::{dst_err, MirrorError};
use super::link::Link;
use super::mirror::Mirror;
use super::partition::Part;
use super::spec::MirrorSpec;
use super::state::EngineState;

/// Restores every mirror of this link (replaying each partition from its checkpoint).
pub(crate) async fn restore(link: &Link) -> Result<(), MirrorError> {
    let all = link.store.load().await.map_err(dst_err)?;
    for stored in checkpoint::read(&all, &link.settings.name)? {
        let mut mirror = Mirror::new(stored.record);
        for (p, ckpt, map) in stored.parts {
            let mut part = Part::new(ckpt, map, link.settings.partition_max_bytes);
            // A partition still to be filled has had nothing real written since its fill was
            // decided (the fill is cleared in the state topic before it fetches): `fill` ends it.
            if mirror.record.state.keeps_position() && part.fill_to.is_none() {
                if let Err(reason) = replay(link, &mirror.record.spec, p, &mut part).await {
                    mirror.fail(reason);
                }
            }
            mirror.parts.insert(p, part);
        }
        let name = mirror.name().to_owned();
        info!(mirror = %name, state = mirror.record.state.as_str(), partitions = mirror.parts.len(), "restored");
        link.lock().mirrors.insert(name, mirror);
    }
    Ok(())
}

/// Brings a partition from its checkpoint to where the destination log really ends.
async fn replay(link: &Link, spec: &MirrorSpec, p: i32, part: &mut Part) -> Result<(), String> {
    let dest_end = link
        .destination
        .fetch_partition(
            &spec.name,
            p,
            part.checkpoint.destination,
            Isolation::ReadUncommitted,
            Duration::from_millis(1),
            1,
        )
        .await
        .map_err(|e| format!("reading the destination end of {}-{p}: {e}", spec.name))?
        .high_watermark;
    if dest_end < part.checkpoint.destination {
        return Err(format!(
            "destination {}-{p} ends at {dest_end}, before the checkpointed offset {}: it was truncated or recreated",
            spec.name, part.checkpoint.destination
        ));
    }
    let mut to_skip = dest_end - part.checkpoint.destination;
    while to_skip > 0 {
        let f = link
            .source
            .fetch_partition(
                &spec.source_topic,
                p,
                part.reader.fetch_offset(),
                Isolation::ReadCommitted,
                Duration::from_millis(10),
                part.fetch_bytes,
            )
            .await
            .map_err(|e| format!("replaying {}-{p} from the source: {e}", spec.source_topic))?;
        let end = f.high_watermark;
        let accepted = part
            .reader
            .accept(f.records, &f.aborted)
            .map_err(|(o, e)| format!("source {}-{p} at offset {o}: {e}", spec.source_topic))?;
        if accepted.whole_batches == 0 && part.reader.fetch_offset() >= end {
            return Err(format!(
                "destination {}-{p} holds {to_skip} more records than the source range from offset {} explains: it was written by someone else",
                spec.name, part.checkpoint.source
            ));
        }
        if accepted.whole_batches == 0 {
            part.grow_fetch(link.settings.fetch_max_bytes);
        }
        for ready in accepted.ready {
            let n = ready.batch.header().record_count as i64;
            if to_skip == 0 {
                // Fetched during the replay but not written yet: it is the next to write.
                let stamped = link.lock().producer.stamp(&spec.name, p, &ready.batch);
                part.in_flight.push((stamped, ready.source));
            } else if n <= to_skip {
                part.landed(&ready.source, n);
                to_skip -= n;
            } else {
                return Err(format!(
                    "destination {}-{p} ends inside a source batch (at {dest_end}): it was written by someone else",
                    spec.name
                ));
            }
        }
    }
    if dest_end > part.checkpoint.destination {
        info!(mirror = %spec.name, partition = p, from = part.checkpoint.destination, to = dest_end, "replayed past checkpoint");
    }
    Ok(())
}
