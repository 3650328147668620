//! A link's mirrors while its engine cannot run. After a link server restarts, a link's engine
//! starts only once its source answers (recovery replays from the source), and a disaster is
//! exactly when it does not. From the state topic and the destination alone, the mirrors can
//! still be listed (those that would move data as SOURCE_UNAVAILABLE) and failed over: each
//! becomes STOPPED at the end its destination partitions really have (everything the mirror
//! wrote, checkpointed or not), which is where a later truncate-and-restore cuts. The engine,
//! once it starts, restores them STOPPED and never writes to them again.

use std::collections::BTreeMap;

use clusterlink_kafka::Client;
use clusterlink_rest_v3::MirrorState;
use tracing::info;

use super::checkpoint::{self, Stored};
use super::error::{dst_err, MirrorError};
use super::failback::log_ranges;
use super::mirror::{now_ms, Mirror};
use super::partition::{Checkpoint, Part};
use super::spec::Desired;
use super::state::EngineState;
use super::status::{mirror_status, MirrorStatus};
use crate::store::KafkaStore;

/// Why a stored mirror that would move data is SOURCE_UNAVAILABLE.
const NOT_RUNNING: &str =
    "the link's engine is not running: its source cluster has not been reached since the link server started";

/// The mirror a stored record describes, with its stored positions.
fn mirror_of(stored: Stored) -> Mirror {
    let mut m = Mirror::new(stored.record);
    for (p, ckpt, map) in stored.parts {
        m.parts.insert(p, Part::new(ckpt, map, 1));
    }
    m
}

/// The mirrors of engine `engine` in the state topic's contents `state`, as they stand while
/// the engine does not run.
pub fn offline_mirrors(
    state: &BTreeMap<String, Vec<u8>>,
    engine: &str,
) -> Result<Vec<MirrorStatus>, MirrorError> {
    Ok(checkpoint::read(state, engine)?
        .into_iter()
        .map(|stored| {
            let m = mirror_of(stored);
            let mut s = mirror_status(&m, false);
            if m.record.state.moves_data() {
                s.state = MirrorState::SourceUnavailable;
                s.reason = Some(NOT_RUNNING.into());
            }
            s
        })
        .collect())
}

/// Fails over mirrors `names` of engine `engine`, which does not run: each is stored STOPPED at
/// its destination's end. Per name, the mirror after, or why not.
pub async fn fail_over_offline(
    store: &KafkaStore,
    destination: &Client,
    engine: &str,
    names: &[String],
) -> Result<Vec<(String, Result<MirrorStatus, MirrorError>)>, MirrorError> {
    let all = store.load().await.map_err(dst_err)?;
    let mut stored: BTreeMap<String, Stored> = checkpoint::read(&all, engine)?
        .into_iter()
        .map(|s| (s.record.spec.name.clone(), s))
        .collect();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let result = match stored.remove(name) {
            None => Err(MirrorError::NotFound(name.clone())),
            Some(s) => fail_over_one(store, destination, engine, s).await,
        };
        out.push((name.clone(), result));
    }
    Ok(out)
}

async fn fail_over_one(
    store: &KafkaStore,
    destination: &Client,
    engine: &str,
    stored: Stored,
) -> Result<MirrorStatus, MirrorError> {
    let name = stored.record.spec.name.clone();
    if stored.record.state == MirrorState::Stopped {
        return Ok(mirror_status(&mirror_of(stored), false));
    }
    if stored.parts.iter().any(|(_, c, _)| c.fill_to.is_some()) {
        return Err(MirrorError::InvalidTransition {
            name,
            state: "filling with placeholders",
            action: "fail over while its link does not run (fail it over once the link runs)",
        });
    }
    let partitions: Vec<i32> = stored.parts.iter().map(|(p, _, _)| *p).collect();
    let ends = log_ranges(destination, &name, &partitions)
        .await
        .map_err(dst_err)?;
    let mut mirror = Mirror::new(stored.record);
    mirror.record.desired = Desired::Failover;
    mirror.record.state = MirrorState::Stopped;
    mirror.record.reason = None;
    mirror.record.state_time_ms = now_ms();
    mirror.record.reverse = None;
    mirror.touch();
    for (p, ckpt, map) in stored.parts {
        // The records written after the last checkpoint are on the destination: the stopped
        // position is its end. Their source offsets are not known without the source; the
        // stored source position moves as far (exact for an aligned mirror without gaps).
        let end = ends.get(&p).map_or(ckpt.destination, |r| r.end);
        let at = Checkpoint {
            source: ckpt.source + (end - ckpt.destination).max(0),
            destination: end,
            fill_to: None,
        };
        mirror.parts.insert(p, Part::new(at, map, 1));
    }
    let (entries, _) = checkpoint::entries(engine, &mirror, true);
    store.put(&entries).await.map_err(dst_err)?;
    info!(engine, mirror = %name, "failed over while the link's engine does not run");
    Ok(mirror_status(&mirror, false))
}
