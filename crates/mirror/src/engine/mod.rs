//! The mirroring engine of one link: its mirror topics, their states, and the task that moves
//! their data.
//!
//! One task per link does all the moving, as two loops joined by per-partition queues. The
//! modules are the steps of the data, in order:
//!
//! 1. `fetch`: the fetch loop sends one Fetch per source leader covering every mirrored
//!    partition whose queue has room, a long poll when nothing waits to be written;
//! 2. `accept`: each partition's fetched bytes go through its deterministic reader
//!    ([`crate::reader`]: transactions resolved, gaps closed) and are stamped by the
//!    destination producer ([`crate::producer`]: id, epoch, sequence) into its queue; fetch
//!    errors are sorted out (source unavailable, topic gone, retries exhausted);
//! 3. `produce`: the produce loop writes the queues with pipelined Produce requests per
//!    destination leader, up to `max_in_flight` batches per partition; a partition whose write
//!    failed retries its stamped batches as they are (same producer id and sequences, so the
//!    broker deduplicates) before anything after them, which keeps every partition in order;
//! 4. `checkpoint`: positions (source offset, destination offset) and offset-map runs go to
//!    the state topic, together;
//! 5. `recovery`: after a crash, each partition replays the source from its last checkpoint
//!    through the same reader, counting records until it reaches the destination's end: that
//!    is exactly where it stopped, with nothing lost and nothing written twice.
//!
//! Before the data path: `fill` (a destination partition filled with placeholders up to the
//! source offset it starts at, then cut there, so that its offsets equal the source's).
//!
//! Beside the data path: `lifecycle` (create, pause and resume, promote, fail over, delete),
//! `topic_sync` (topic configs, partitions added, source topics gone), `out_of_range` (an
//! offset the source does not have, and why), `paused_lag` (the lag of mirrors that do not
//! fetch), `failback` (a topic adopted as a mirror, reverses), `offline` (the mirrors of a
//! link whose engine cannot start: listed and failed over from the state topic) and `status`
//! (what the engine reports). What the steps share: `spec` (what the engine is asked), `state`
//! (what the mirror states mean to it), `partition` (one partition: reader, queues,
//! position, lag), `mirror` (one mirror topic), `link` (the link's clients, mirrors and
//! locks) and `error`.
//!
//! No thread or connection per partition; memory is bounded by configuration: per partition by
//! the queue limits, in all by `buffer_max_bytes` plus one fetch (`fetch_max_bytes`).

mod accept;
mod checkpoint;
mod error;
mod failback;
mod fetch;
mod fill;
mod lifecycle;
mod link;
mod mirror;
mod offline;
mod out_of_range;
mod partition;
mod paused_lag;
mod produce;
mod recovery;
mod spec;
mod state;
mod status;
mod topic_sync;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clusterlink_kafka::Client;
use tracing::{debug, info, info_span, Instrument};

pub use clusterlink_rest_v3::MirrorState;
pub use error::MirrorError;
pub use failback::{log_ranges, record_at, same_record, LogRange, Reversal};
pub use offline::{fail_over_offline, offline_mirrors};
pub use spec::{Desired, LinkSettings, LogStartPolicy, MirrorSpec, StartSpec};
pub use status::{
    stored_aligned, stored_mirrors, stored_positions, MirrorStatus, PartitionStatus, StoredMirror,
};

use crate::offset_map::OffsetMap;
use crate::producer::DestinationProducer;
use crate::store::KafkaStore;
use error::dst_err;
use link::Link;

/// The engine of one link. Cheap to clone; the mirroring task stops when [`Engine::shutdown`]
/// or [`Engine::stop`] is called.
#[derive(Clone)]
pub struct Engine {
    link: Arc<Link>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("link", &self.link.settings.name)
            .finish()
    }
}

impl Engine {
    /// Starts the engine: opens the state topic, restores every mirror of this link (replaying
    /// each partition from its checkpoint), and starts the mirroring task.
    pub async fn start(
        settings: LinkSettings,
        source: Client,
        destination: Client,
    ) -> Result<Self, MirrorError> {
        let store = KafkaStore::open(destination.clone(), &settings.state_topic)
            .await
            .map_err(dst_err)?;
        let producer = DestinationProducer::init(&destination)
            .await
            .map_err(|e| MirrorError::State(format!("destination cluster: {e}")))?;
        let link = Arc::new(Link::new(settings, source, destination, store, producer));
        recovery::restore(&link).await?;
        let span = info_span!("link", link = %link.settings.name);
        tokio::spawn(run(link.clone()).instrument(span));
        Ok(Engine { link })
    }

    /// The link's settings.
    pub fn settings(&self) -> &LinkSettings {
        &self.link.settings
    }

    /// Why the engine is not alive, if it is not: its mirroring task ended without being asked
    /// to, or has not begun a round for longer than `stall_limit` (wedged). A liveness probe's
    /// answer: a restart is what fixes either.
    pub fn liveness(&self, stall_limit: Duration) -> Result<(), String> {
        let finished = *self.link.finished.borrow();
        let since_ms = mirror::now_ms() - self.link.heartbeat_ms.load(Ordering::Relaxed);
        liveness(
            finished,
            self.link.stopping(),
            Duration::from_millis(since_ms.max(0) as u64),
            stall_limit,
        )
    }

    /// Stops the mirroring task after its current round, writing final checkpoints.
    pub async fn shutdown(&self) {
        self.link.request_stop();
        let _ = checkpoint::write(&self.link, true).await;
    }

    /// Stops the mirroring task and waits until it has returned, then writes final checkpoints.
    /// Unlike [`Engine::shutdown`], nothing of this engine writes to the state topic afterwards,
    /// so its state can be removed ([`crate::state_keys::engine_prefixes`]) or taken over by a
    /// new engine.
    pub async fn stop(&self) -> Result<(), MirrorError> {
        self.link.request_stop();
        let mut finished = self.link.finished.subscribe();
        // The sender lives in `link`, which we hold: this only returns once the task is done.
        let _ = finished.wait_for(|done| *done).await;
        checkpoint::write(&self.link, true).await
    }

    /// Creates a mirror topic (R8): checks, creates the destination topic like the source one,
    /// stores the mirror, and starts mirroring it.
    pub async fn create_mirror(
        &self,
        spec: MirrorSpec,
        desired: Desired,
    ) -> Result<(), MirrorError> {
        lifecycle::create_mirror(&self.link, spec, desired, None).await
    }

    /// Creates the mirror of a restored topic (truncate-and-restore): as
    /// [`Engine::create_mirror`], reported PENDING_RESTORE until each partition has its history
    /// up to `restore_to` back, and with what was cut (`truncation`) in its status.
    pub async fn create_restored_mirror(
        &self,
        spec: MirrorSpec,
        restore_to: std::collections::BTreeMap<i32, i64>,
        truncation: Option<clusterlink_rest_v3::mirrors::MirrorTruncation>,
    ) -> Result<(), MirrorError> {
        let restored = Some((restore_to, truncation));
        lifecycle::create_mirror(&self.link, spec, Desired::Active, restored).await
    }

    /// Changes what the user wants of a mirror (R9).
    pub async fn set_desired(&self, name: &str, desired: Desired) -> Result<(), MirrorError> {
        lifecycle::set_desired(&self.link, name, desired).await
    }

    /// Promotes a mirror (zero lag first) and records that its source topic is then to become
    /// a mirror of it, started or paused (`mirrors:reverse-and-*-mirror`); see
    /// [`Engine::reversals`].
    pub async fn promote_and_reverse(&self, name: &str, paused: bool) -> Result<(), MirrorError> {
        let remote = mirror::RemoteMirror { paused };
        lifecycle::set_desired_then(&self.link, name, Desired::Promote, Some(remote)).await
    }

    /// The reverses whose promotion completed, for the link server to hand to the source
    /// cluster; [`Engine::reversal_delivered`] once it did.
    pub fn reversals(&self) -> Vec<Reversal> {
        failback::reversals(&self.link)
    }

    /// A reverse was handed to the source cluster.
    pub async fn reversal_delivered(&self, name: &str) -> Result<(), MirrorError> {
        failback::reversal_delivered(&self.link, name).await
    }

    /// Makes an existing destination topic a mirror from its end (`spec.start` is taken as
    /// [`StartSpec::DestinationEnd`]), after checking it holds the source's history, ending at
    /// `expected_ends` when given. A stopped mirror of that name is replaced.
    pub async fn adopt_mirror(
        &self,
        mut spec: MirrorSpec,
        desired: Desired,
        expected_ends: Option<&std::collections::BTreeMap<i32, i64>>,
    ) -> Result<(), MirrorError> {
        spec.start = StartSpec::DestinationEnd;
        failback::adopt_mirror(&self.link, spec, desired, expected_ends).await
    }

    /// Forgets a stopped mirror; its topic stays, an ordinary topic.
    pub async fn forget_stopped(&self, name: &str) -> Result<(), MirrorError> {
        failback::forget_stopped(&self.link, name).await
    }

    /// The destination cluster's client.
    pub fn destination(&self) -> &Client {
        &self.link.destination
    }

    /// Deletes a mirror (R11): stops mirroring it and deletes the destination topic.
    pub async fn delete_mirror(&self, name: &str) -> Result<(), MirrorError> {
        lifecycle::delete_mirror(&self.link, name).await
    }

    /// Topic config sync (`topic.config.sync.ms`): every mirror that still mirrors gets its
    /// source topic's synced configs again, with its own overrides on top; a synced config
    /// reset on the source is reset on the mirror. Returns how many mirrors changed.
    pub async fn sync_topic_configs(&self) -> Result<usize, MirrorError> {
        topic_sync::sync_topic_configs(&self.link).await
    }

    /// Pauses (or resumes) the whole link: no fetch while paused; writes already in flight
    /// finish. Mirrors report LINK_PAUSED meanwhile.
    pub fn set_link_paused(&self, paused: bool) {
        if self.link.swap_paused(paused) != paused {
            info!(link = %self.link.settings.name, paused, "link pause changed");
            self.link.wake.notify_one();
        }
    }

    /// Whether the whole link is paused.
    pub fn is_link_paused(&self) -> bool {
        self.link.is_paused()
    }

    /// Status of one mirror.
    pub fn status(&self, name: &str) -> Option<MirrorStatus> {
        let paused = self.is_link_paused();
        let st = self.link.lock();
        st.mirrors
            .get(name)
            .map(|m| status::mirror_status(m, paused))
    }

    /// Status of every mirror, by name.
    pub fn list(&self) -> Vec<MirrorStatus> {
        let paused = self.is_link_paused();
        let st = self.link.lock();
        st.mirrors
            .values()
            .map(|m| status::mirror_status(m, paused))
            .collect()
    }

    /// The destination offset a consumer at source offset `offset` resumes at.
    pub fn translate(&self, name: &str, partition: i32, offset: i64) -> Option<i64> {
        self.with_offset_map(name, partition, |map| map.translate(offset))
    }

    /// Where a consumer at source offset `offset` of a mirror's partition stands on the
    /// destination (see [`crate::offset_map::OffsetMap::position`]).
    pub fn translate_position(&self, name: &str, partition: i32, offset: i64) -> Option<i64> {
        self.with_offset_map(name, partition, |map| map.position(offset))
    }

    fn with_offset_map(
        &self,
        name: &str,
        partition: i32,
        f: impl FnOnce(&OffsetMap) -> Option<i64>,
    ) -> Option<i64> {
        let st = self.link.lock();
        f(&st.mirrors.get(name)?.parts.get(&partition)?.map)
    }

    /// Whether the source refuses the link's credentials: the error of the last fetch that
    /// reached it, if that was a refusal (its mirrors are SOURCE_UNAVAILABLE meanwhile). Never
    /// holds a credential.
    pub fn source_refused(&self) -> Option<String> {
        self.link.lock().source_refused.clone()
    }

    /// The client of the source cluster (for reading that cluster's clusterlink state).
    pub fn source(&self) -> &Client {
        &self.link.source
    }

    /// The name of the state topic (on the destination, and on any cluster another link
    /// server runs on).
    pub fn state_topic(&self) -> &str {
        &self.link.settings.state_topic
    }
}

/// The mirroring task: the fetch loop and the produce loop, side by side. The fetch loop keeps
/// each partition's queue of stamped batches topped up (bounded, see
/// `Part::wants_data` in `partition`); the produce loop drains the queues into pipelined produce
/// calls. Neither waits for the other except through the queues, so the source serves the next
/// batches while the destination appends the last ones.
/// The liveness verdict of an engine whose task has `finished` (or not) while it was
/// `stopping` (or not), and began its last round `since` ago.
fn liveness(
    finished: bool,
    stopping: bool,
    since: Duration,
    stall_limit: Duration,
) -> Result<(), String> {
    if stopping {
        return Ok(());
    }
    if finished {
        return Err("its mirroring task ended without being asked to".into());
    }
    if since > stall_limit {
        return Err(format!(
            "its mirroring task has not begun a round for {}s (limit {}s)",
            since.as_secs(),
            stall_limit.as_secs()
        ));
    }
    Ok(())
}

async fn run(link: Arc<Link>) {
    tokio::join!(fetch::fetch_loop(&link), produce::produce_loop(&link));
    debug!("mirroring task stopped");
    link.finished.send_replace(true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_is_alive_while_its_task_loops_within_the_stall_limit() {
        let limit = Duration::from_secs(300);
        assert_eq!(
            liveness(false, false, Duration::from_secs(2), limit),
            Ok(())
        );
        let wedged = liveness(false, false, Duration::from_secs(301), limit).unwrap_err();
        assert!(
            wedged.contains("not begun a round for 301s (limit 300s)"),
            "{wedged}"
        );
        let ended = liveness(true, false, Duration::ZERO, limit).unwrap_err();
        assert!(ended.contains("ended without being asked"), "{ended}");
        // Asked to stop: neither an ended task nor a quiet one is a fault.
        assert_eq!(
            liveness(true, true, Duration::from_secs(999), limit),
            Ok(())
        );
    }
}
