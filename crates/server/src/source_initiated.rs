//! Source-initiated links (R3, R5): the destination cannot open connections, so the source's
//! link server does the moving for both.
//!
//! The destination's link server holds the INBOUND link and its mirror topics but opens no
//! connection. The source's link server holds the OUTBOUND link (`link.mode` SOURCE, or the
//! OUTBOUND half of a bidirectional pair) and can reach the destination's Kafka cluster. The two
//! servers never talk to each other directly: they share the destination cluster's state topic.
//!
//! - The INBOUND side writes what its REST API is asked for as *control* records
//!   (`ctl/<link>@<id>/<topic>`: a mirror's spec and desired state, or its deletion).
//! - The OUTBOUND side's [`Pusher`] reads them, runs an ordinary mirroring engine named
//!   `<link>@<id>` with the local cluster as source and the destination as destination (so the
//!   engine's own records, checkpoints and offset maps land in the destination's state topic,
//!   as for any destination link), and writes back each mirror's status
//!   (`mstatus/<link>@<id>/<topic>`) and a heartbeat (`peer/<link>@<id>`).
//! - The INBOUND side's REST API answers from those records.
//!
//! The link id is the INBOUND side's: the OUTBOUND side takes it from the INBOUND link's record,
//! so that both name the same engine. An OUTBOUND link created before its INBOUND side waits for
//! it, says so in its status, and starts as soon as it appears.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clusterlink_kafka::{Client, ClientConfig};
use clusterlink_mirror::offset_map::OffsetMode;
use clusterlink_mirror::offset_sync;
use clusterlink_mirror::state_keys;
use clusterlink_mirror::store::{read_state, KafkaStore};
use clusterlink_mirror::{Desired, Engine, LinkSettings, MirrorSpec, MirrorState, MirrorStatus};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

/// How old a heartbeat may be for the INBOUND side to call its link connected.
pub const HEARTBEAT_FRESH: Duration = Duration::from_secs(15);

/// What the INBOUND side asks of a mirror topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Control {
    /// Mirror it with this spec, in this desired state.
    Mirror {
        /// The mirror.
        spec: MirrorSpec,
        /// Its desired state.
        desired: Desired,
    },
    /// Delete it (the topic goes with it).
    Delete,
}

/// The OUTBOUND side's sign of life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The source cluster's id.
    pub cluster_id: String,
    /// When (ms since the epoch).
    pub at_ms: i64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The INBOUND side's view of its link, from its state topic.
#[derive(Debug, Clone, Default)]
pub struct InboundView {
    /// Control records by topic.
    pub controls: BTreeMap<String, Control>,
    /// Status records by topic.
    pub statuses: BTreeMap<String, MirrorStatus>,
    /// The last heartbeat.
    pub heartbeat: Option<Heartbeat>,
}

impl InboundView {
    /// Reads the records of `engine` from a state topic's contents.
    pub fn read(state: &BTreeMap<String, Vec<u8>>, engine: &str) -> Self {
        let ctl = state_keys::control_prefix(engine);
        let st = state_keys::mirror_status_prefix(engine);
        InboundView {
            controls: state_keys::scan(state, &ctl)
                .filter_map(|(t, v)| Some((t.to_string(), serde_json::from_slice(v).ok()?)))
                .collect(),
            statuses: state_keys::scan(state, &st)
                .filter_map(|(t, v)| Some((t.to_string(), serde_json::from_slice(v).ok()?)))
                .collect(),
            heartbeat: state
                .get(&state_keys::heartbeat(engine))
                .and_then(|v| serde_json::from_slice(v).ok()),
        }
    }

    /// The mirror topics: as the OUTBOUND side last reported them, or PENDING_MIRROR until it
    /// has created them. Deleted ones are left out.
    pub fn mirrors(&self) -> Vec<MirrorStatus> {
        self.controls
            .iter()
            .filter_map(|(topic, c)| match c {
                Control::Delete => None,
                Control::Mirror { spec, .. } => Some(
                    self.statuses
                        .get(topic)
                        .cloned()
                        .unwrap_or_else(|| MirrorStatus {
                            name: topic.clone(),
                            source_topic: spec.source_topic.clone(),
                            state: MirrorState::PendingMirror,
                            reason: Some(
                                "waiting for the link's OUTBOUND side (on the source cluster) to create it"
                                    .into(),
                            ),
                            offset_mode: OffsetMode::Aligned,
                            state_time_ms: now_ms(),
                            partitions: Vec::new(),
                        }),
                ),
            })
            .collect()
    }
}

/// What the OUTBOUND side's pusher reports.
#[derive(Debug, Clone, Default)]
pub struct PushState {
    /// The engine it runs (`<link>@<id>`), once the INBOUND side was found.
    pub engine: Option<String>,
    /// Why it is not pushing, if it is not.
    pub error: Option<String>,
    /// Whether that is a cluster refusing the link's credentials.
    pub authentication: bool,
}

/// Why a round of the pusher failed.
#[derive(Debug, Clone, PartialEq)]
struct StepError {
    message: String,
    /// A cluster refused the link's credentials.
    authentication: bool,
}

impl StepError {
    fn kafka(context: &str, e: clusterlink_kafka::Error) -> Self {
        StepError {
            authentication: matches!(e, clusterlink_kafka::Error::Auth { .. }),
            message: format!("{context}: {e}"),
        }
    }
}

impl From<String> for StepError {
    fn from(message: String) -> Self {
        StepError {
            message,
            authentication: false,
        }
    }
}

/// The OUTBOUND side's task: pushes the INBOUND side's mirror topics from the local cluster.
#[derive(Debug)]
pub struct Pusher {
    state: Arc<Mutex<PushState>>,
    /// The engine the task runs, so that an aborted task's engine is still stopped.
    engine: Arc<Mutex<Option<Engine>>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// What a pusher needs.
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// The link's name (the INBOUND link has the same).
    pub link: String,
    /// The local (source) cluster's id, for the heartbeat and checks.
    pub cluster_id: String,
    /// How to reach the destination cluster.
    pub remote: ClientConfig,
    /// How this link reads the local cluster when its `local.*` settings say so; the server's
    /// own connections otherwise.
    pub local: Option<ClientConfig>,
    /// Engine settings (name set by the pusher).
    pub settings: LinkSettings,
    /// How often the control records are read.
    pub poll: Duration,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pusher {
    /// Starts pushing for `config.link`, from `local`.
    pub fn spawn(local: Client, config: PushConfig) -> Pusher {
        let state = Arc::new(Mutex::new(PushState {
            engine: None,
            authentication: false,
            error: Some("starting".into()),
        }));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let s = state.clone();
        let engine: Arc<Mutex<Option<Engine>>> = Arc::default();
        let e = engine.clone();
        let task = tokio::spawn(async move { run(local, config, s, e, stopped).await });
        Pusher {
            state,
            engine,
            stop,
            task,
        }
    }

    /// What it is doing.
    pub fn state(&self) -> PushState {
        lock(&self.state).clone()
    }

    /// Stops it (and its engine, with final checkpoints). A pusher that does not stop within
    /// 30 s is aborted, so that it never runs beside its successor.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let abort = self.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .is_err()
        {
            abort.abort();
            let engine = lock(&self.engine).take();
            if let Some(engine) = engine {
                // Waits for its loops, so that no batch of this engine lands while a successor
                // replays from the checkpoints (bounded: its calls time out).
                match tokio::time::timeout(Duration::from_secs(60), engine.stop()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => warn!(error = %e, "final checkpoint of a pushing engine failed"),
                    Err(_) => warn!("a pushing engine did not stop within 60 s"),
                }
            }
        }
    }
}

struct Running {
    remote: Client,
    remote_id: String,
    store: KafkaStore,
    engine: Engine,
    engine_name: String,
    /// Desired states applied to the engine, so that each is applied once.
    applied: BTreeMap<String, Desired>,
    /// Creation failures, reported as FAILED: (why, when, retried). A loop refusal is never
    /// retried; other failures (a source topic not there yet) are, every 30 s.
    failed: BTreeMap<String, (String, std::time::Instant, bool)>,
    /// Status records last written, and when.
    written: BTreeMap<String, (Vec<u8>, i64)>,
    /// Consumer offset sync, on the INBOUND link's schedule.
    offsets: offset_sync::Scheduled,
}

async fn run(
    local: Client,
    config: PushConfig,
    state: Arc<Mutex<PushState>>,
    engine_slot: Arc<Mutex<Option<Engine>>>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut running: Option<Running> = None;
    let mut own_local: Option<Client> = None;
    loop {
        // Not raced with the stop signal: a step cut short could leave an engine started and
        // not recorded. A stop that takes too long aborts the whole task instead.
        let report = match local_client(&local, &config, &mut own_local).await {
            Ok(reader) => step(&local, &reader, &config, &mut running).await.err(),
            Err(e) => Some(e),
        };
        *lock(&engine_slot) = running.as_ref().map(|r| r.engine.clone());
        let changed = {
            let mut s = lock(&state);
            s.engine = running.as_ref().map(|r| r.engine_name.clone());
            let message = report.as_ref().map(|r| r.message.clone());
            let changed = s.error != message;
            s.error = message;
            s.authentication = report.as_ref().is_some_and(|r| r.authentication);
            changed
        };
        if let (Some(StepError { message: e, .. }), true) = (&report, changed) {
            warn!(link = %config.link, error = %e, "source-initiated link not pushing");
        }
        // Waiting (no INBOUND side, unreachable destination) polls less often: each poll
        // reads the destination's whole state topic.
        let wait = if running.is_some() {
            config.poll
        } else {
            config.poll * 5
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => break,
        }
    }
    lock(&engine_slot).take();
    if let Some(r) = running {
        if let Err(e) = r.engine.stop().await {
            warn!(link = %config.link, error = %e, "final checkpoint of a pushing engine failed");
        }
    }
}

/// The client this link reads the local cluster with: its own (`local.*`), connected once, or
/// the server's.
async fn local_client(
    server: &Client,
    config: &PushConfig,
    own: &mut Option<Client>,
) -> Result<Client, StepError> {
    let Some(settings) = &config.local else {
        return Ok(server.clone());
    };
    if let Some(client) = own {
        return Ok(client.clone());
    }
    let client = Client::connect(settings.clone()).await.map_err(|e| {
        StepError::kafka(
            "connecting to the local cluster with the link's local.* settings",
            e,
        )
    })?;
    *own = Some(client.clone());
    Ok(client)
}

/// One round: find the INBOUND link, start the engine, apply control records, report. `local`
/// is the server's client (its state topic), `reader` the one the link reads data with.
async fn step(
    local: &Client,
    reader: &Client,
    config: &PushConfig,
    running: &mut Option<Running>,
) -> Result<(), StepError> {
    let topic = &config.settings.state_topic;
    let remote = match running {
        Some(r) => r.remote.clone(),
        None => Client::connect(config.remote.clone())
            .await
            .map_err(|e| StepError::kafka("cannot reach the destination cluster", e))?,
    };
    let remote_state = read_state(&remote, topic)
        .await
        .map_err(|e| format!("reading the destination's clusterlink state: {e}"))?;
    let inbound = remote_state
        .get(&state_keys::link(&config.link))
        .and_then(|v| serde_json::from_slice::<serde_json::Value>(v).ok())
        .filter(|l| {
            l.pointer("/configs/connection.mode")
                .and_then(serde_json::Value::as_str)
                == Some("INBOUND")
        });
    let Some(inbound) = inbound else {
        if let Some(r) = running.take() {
            info!(link = %config.link, "the INBOUND side is gone: stopping the pushing engine");
            let _ = r.engine.stop().await;
        }
        return Err(StepError::from(format!(
            "waiting for the INBOUND link '{}' on the destination cluster: create it there (connection.mode INBOUND); this side starts as soon as it exists",
            config.link
        )));
    };
    // The INBOUND link names the cluster allowed to connect to it: only that one pushes.
    let expected = inbound
        .get("source_cluster_id")
        .and_then(serde_json::Value::as_str);
    if expected.is_some_and(|e| e != config.cluster_id) {
        if let Some(r) = running.take() {
            let _ = r.engine.stop().await;
        }
        return Err(StepError::from(format!(
            "the INBOUND link '{}' on the destination cluster expects cluster {} to connect, not this one ({})",
            config.link,
            expected.unwrap_or_default(),
            config.cluster_id
        )));
    }
    let id = inbound
        .get("id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let engine_name = format!("{}@{id}", config.link);
    if running
        .as_ref()
        .is_some_and(|r| r.engine_name != engine_name)
    {
        if let Some(r) = running.take() {
            let _ = r.engine.stop().await;
        }
    }
    if running.is_none() {
        // Everything that can fail comes before the engine starts: an engine left running by a
        // failed step would be started a second time by the next one.
        let store = KafkaStore::open(remote.clone(), topic)
            .await
            .map_err(|e| format!("opening the destination's state topic: {e}"))?;
        let remote_id = crate::links::cluster_id_of(&remote)
            .await
            .map_err(|e| format!("reading the destination cluster's id: {e}"))?;
        let mut settings = config.settings.clone();
        settings.name = engine_name.clone();
        let engine = Engine::start(settings, reader.clone(), remote.clone())
            .await
            .map_err(|e| format!("starting the pushing engine: {e}"))?;
        info!(link = %config.link, engine = %engine_name, "source-initiated link pushing");
        *running = Some(Running {
            remote,
            remote_id,
            store,
            engine,
            engine_name: engine_name.clone(),
            applied: BTreeMap::new(),
            failed: BTreeMap::new(),
            written: BTreeMap::new(),
            offsets: Default::default(),
        });
    }
    let r = running.as_mut().expect("started above");
    let view = InboundView::read(&remote_state, &engine_name);
    let mut writes: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    // Status records count as written only once the write succeeded.
    let mut pending: Vec<(String, Vec<u8>, i64)> = Vec::new();
    for (name, control) in &view.controls {
        match control {
            Control::Delete => {
                if r.engine.status(name).is_some() {
                    if let Err(e) = r.engine.delete_mirror(name).await {
                        warn!(mirror = %name, error = %e, "deleting a pushed mirror failed");
                        continue;
                    }
                }
                r.applied.remove(name);
                r.failed.remove(name);
                r.written.remove(name);
                writes.push((state_keys::control(&engine_name, name), None));
                writes.push((state_keys::mirror_status(&engine_name, name), None));
            }
            Control::Mirror { spec, desired } => {
                let retry_due = r.failed.get(name).is_some_and(|(_, at, retry)| {
                    *retry && at.elapsed() >= Duration::from_secs(30)
                });
                if retry_due {
                    r.failed.remove(name);
                }
                if r.engine.status(name).is_none() && !r.failed.contains_key(name) {
                    // The pushing side's own loop check: a local topic that is a live mirror
                    // of the destination's is never pushed back to it.
                    let local_state = read_state(local, topic)
                        .await
                        .map_err(|e| format!("reading the local clusterlink state: {e}"))?;
                    if let Some((link, origin)) = crate::links::live_mirror_from(
                        &local_state,
                        &spec.source_topic,
                        &r.remote_id,
                    ) {
                        r.failed.insert(
                            name.clone(),
                            (
                                format!(
                                    "topic '{}' on the source cluster is a mirror of topic '{origin}' of this cluster (link '{link}' there): mirroring it back would loop records between the clusters",
                                    spec.source_topic
                                ),
                                std::time::Instant::now(),
                                false,
                            ),
                        );
                    }
                }
                if r.engine.status(name).is_none() && !r.failed.contains_key(name) {
                    match r.engine.create_mirror(spec.clone(), *desired).await {
                        Ok(()) => {
                            r.applied.insert(name.clone(), *desired);
                        }
                        Err(e) => {
                            r.failed.insert(
                                name.clone(),
                                (e.to_string(), std::time::Instant::now(), true),
                            );
                        }
                    }
                } else if r.engine.status(name).is_some() && r.applied.get(name) != Some(desired) {
                    match r.engine.set_desired(name, *desired).await {
                        Ok(()) => {
                            r.applied.insert(name.clone(), *desired);
                        }
                        Err(e) => {
                            warn!(mirror = %name, error = %e, "changing a pushed mirror's state failed")
                        }
                    }
                }
                let status = r.engine.status(name).unwrap_or_else(|| MirrorStatus {
                    name: name.clone(),
                    source_topic: spec.source_topic.clone(),
                    state: MirrorState::Failed,
                    reason: r.failed.get(name).map(|(why, _, _)| why.clone()),
                    offset_mode: OffsetMode::Aligned,
                    state_time_ms: now_ms(),
                    partitions: Vec::new(),
                });
                let bytes = serde_json::to_vec(&status).unwrap_or_default();
                let now = now_ms();
                // Written when the state or reason changes at once, otherwise at most once a
                // second (lags change all the time).
                let stale = match r.written.get(name) {
                    None => true,
                    Some((old, at)) => {
                        let before: Option<MirrorStatus> = serde_json::from_slice(old).ok();
                        let flipped = before
                            .is_none_or(|o| o.state != status.state || o.reason != status.reason);
                        flipped || (*old != bytes && now - at >= 1000)
                    }
                };
                if stale {
                    pending.push((name.clone(), bytes.clone(), now));
                    writes.push((state_keys::mirror_status(&engine_name, name), Some(bytes)));
                }
            }
        }
    }
    // Consumer offset sync, as the INBOUND link's configs ask: the groups are on this (the
    // source) cluster, their translated offsets go to the destination.
    let cfg = |k: &str| {
        inbound
            .get("configs")
            .and_then(|c| c.get(k))
            .and_then(serde_json::Value::as_str)
    };
    if let Err(e) = r.offsets.run_if_due(&r.engine, &r.remote, cfg).await {
        warn!(link = %config.link, error = %e, "consumer offset sync failed; retrying next round");
    }
    let beat = Heartbeat {
        cluster_id: config.cluster_id.clone(),
        at_ms: now_ms(),
    };
    writes.push((
        state_keys::heartbeat(&engine_name),
        Some(serde_json::to_vec(&beat).unwrap_or_default()),
    ));
    r.store
        .put(&writes)
        .await
        .map_err(|e| format!("writing to the destination's state topic: {e}"))?;
    for (name, bytes, at) in pending {
        r.written.insert(name, (bytes, at));
    }
    Ok(())
}
