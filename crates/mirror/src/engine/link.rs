//! One link's engine, as its steps share it: the settings, the two clusters, the state topic,
//! the mirrors (under one lock), and what coordinates the two loops and the operations: wake-ups,
//! the produce gate, the order of state-topic writes, and the stop and link-pause flags.
//!
//! [`Engine`](super::Engine) is a handle on it; every step takes it by reference.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use clusterlink_kafka::Client;
use tokio::sync::Notify;

use super::mirror::Mirror;
use super::partition::Part;
use super::spec::LinkSettings;
use super::state::EngineState;
use crate::producer::DestinationProducer;
use crate::store::KafkaStore;

/// What the lock guards: the mirrors and the producer that stamps their batches.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) mirrors: BTreeMap<String, Mirror>,
    pub(crate) producer: DestinationProducer,
    /// When positions were last written (see `checkpoint`).
    pub(crate) last_checkpoint: Instant,
    /// When source partition counts were last checked (see `topic_sync`).
    pub(crate) last_metadata: Instant,
    /// The source refused the link's credentials on the last fetch that reached it (the
    /// client's error, which never holds a credential); cleared by a fetch that succeeds.
    pub(crate) source_refused: Option<String>,
}

/// One link's engine.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) settings: LinkSettings,
    pub(crate) source: Client,
    pub(crate) destination: Client,
    pub(crate) store: KafkaStore,
    state: Mutex<State>,
    /// Wakes the fetch loop (a queue has room, a mirror changed, stop).
    pub(crate) wake: Notify,
    /// Wakes the produce loop when batches were queued.
    pub(crate) produce_wake: Notify,
    /// Held by the produce loop from sending a call to applying its answers: whoever must know
    /// that nothing is on its way to a mirror's topic (failover, deletion) takes it.
    pub(crate) produce_gate: tokio::sync::Mutex<()>,
    /// Held from computing state-topic entries until they are written, so that writes land in
    /// the order their contents were taken (a checkpoint never lands after a deletion's
    /// tombstones).
    pub(crate) state_writes: tokio::sync::Mutex<()>,
    /// Held while a partition's fill writes or deletes (see `fill`), so that a stop cutting an
    /// unfinished fill never runs beside one of its steps. Taken before `state_writes`.
    pub(crate) fills: tokio::sync::Mutex<()>,
    stop: AtomicBool,
    /// `cluster.link.paused`: no fetch while set.
    link_paused: AtomicBool,
    /// Set to true when the mirroring task has returned.
    pub(crate) finished: tokio::sync::watch::Sender<bool>,
    /// When the fetch loop last began a round, in milliseconds since the epoch: the engine's
    /// heartbeat, which liveness checks read.
    pub(crate) heartbeat_ms: std::sync::atomic::AtomicI64,
}

impl Link {
    /// A link with no mirrors yet.
    pub(crate) fn new(
        settings: LinkSettings,
        source: Client,
        destination: Client,
        store: KafkaStore,
        producer: DestinationProducer,
    ) -> Self {
        Link {
            settings,
            source,
            destination,
            store,
            state: Mutex::new(State {
                mirrors: BTreeMap::new(),
                producer,
                last_checkpoint: Instant::now(),
                last_metadata: Instant::now(),
                source_refused: None,
            }),
            wake: Notify::new(),
            produce_wake: Notify::new(),
            produce_gate: tokio::sync::Mutex::new(()),
            state_writes: tokio::sync::Mutex::new(()),
            fills: tokio::sync::Mutex::new(()),
            stop: AtomicBool::new(false),
            link_paused: AtomicBool::new(false),
            finished: tokio::sync::watch::channel(false).0,
            heartbeat_ms: std::sync::atomic::AtomicI64::new(super::mirror::now_ms()),
        }
    }

    /// The mirrors and the producer. Never held across an await.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the mirroring task to stop after its current round.
    pub(crate) fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Whether the mirroring task was asked to stop.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sets the link pause; returns what it was.
    pub(crate) fn swap_paused(&self, paused: bool) -> bool {
        self.link_paused.swap(paused, Ordering::SeqCst)
    }

    /// Whether the whole link is paused.
    pub(crate) fn is_paused(&self) -> bool {
        self.link_paused.load(Ordering::SeqCst)
    }

    /// Bytes of fetched batches held by the partitions of mirrors that move data, queued or
    /// being written.
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.lock()
            .mirrors
            .values()
            // A paused mirror keeps its batches for when it resumes; they must not hold back
            // the link's other mirrors.
            .filter(|m| m.record.state.moves_data())
            .flat_map(|m| m.parts.values())
            .map(Part::buffered_bytes)
            .sum()
    }
}
