//! The OUTBOUND side of a source-initiated link: a task that finds the INBOUND link on the
//! destination cluster, runs the engine that pushes its mirrors from the local cluster, applies
//! what the INBOUND side's control records ask, and writes back statuses and a heartbeat.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clusterlink_kafka::{Client, ClientConfig};
use clusterlink_mirror::acl_sync::ScheduledAclSync;
use clusterlink_mirror::offset_sync;
use clusterlink_mirror::state_keys;
use clusterlink_mirror::store::{read_state, KafkaStore};
use clusterlink_mirror::{Desired, Engine, LinkSettings, MirrorSpec, MirrorState, MirrorStatus};
use clusterlink_rest_v3::link_config;
use tracing::{info, info_span, warn, Instrument};

use super::exchange::{without_engine, Control, Heartbeat, InboundView, TaskError};
use crate::common::{cluster_id_of, lock, now_ms};
use crate::record::{live_mirror_from, LinkRecord};

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

/// A failed creation, reported as FAILED until it is retried (if ever).
struct Refused {
    why: String,
    at: Instant,
    /// A loop refusal is never retried; other failures (a source topic not there yet) are,
    /// every 30 s.
    retry: bool,
}

/// The pushing engine and what the pusher remembers between rounds.
struct Running {
    remote: Client,
    remote_id: String,
    store: KafkaStore,
    engine: Engine,
    engine_name: String,
    /// Desired states applied to the engine, so that each is applied once.
    applied: BTreeMap<String, Desired>,
    /// Mirrors whose creation failed.
    failed: BTreeMap<String, Refused>,
    /// Status records last written, and when.
    written: BTreeMap<String, (Vec<u8>, i64)>,
    /// Consumer offset sync, on the INBOUND link's schedule.
    offsets: offset_sync::Scheduled,
    /// ACL sync, on the INBOUND link's schedule.
    acls: ScheduledAclSync,
    /// Why its last round failed, if it did (for the heartbeat).
    acl_error: Option<TaskError>,
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

/// The INBOUND link this side pushes for, from the destination's state: it must exist and
/// name this cluster as the one allowed to connect to it.
fn inbound_link(
    remote_state: &BTreeMap<String, Vec<u8>>,
    config: &PushConfig,
) -> Result<LinkRecord, StepError> {
    let Some(inbound) = LinkRecord::read(remote_state, &config.link).filter(|r| r.is_inbound())
    else {
        return Err(StepError::from(format!(
            "waiting for the INBOUND link '{}' on the destination cluster: create it there (connection.mode INBOUND); this side starts as soon as it exists",
            config.link
        )));
    };
    match &inbound.source_cluster_id {
        Some(expected) if *expected != config.cluster_id => Err(StepError::from(format!(
            "the INBOUND link '{}' on the destination cluster expects cluster {expected} to connect, not this one ({})",
            config.link, config.cluster_id
        ))),
        _ => Ok(inbound),
    }
}

/// Starts the pushing engine `engine_name`. Everything that can fail comes before the engine
/// starts: an engine left running by a failed step would be started a second time by the next.
async fn start_pushing(
    remote: Client,
    reader: &Client,
    config: &PushConfig,
    engine_name: String,
) -> Result<Running, StepError> {
    let store = KafkaStore::open(remote.clone(), &config.settings.state_topic)
        .await
        .map_err(|e| format!("opening the destination's state topic: {e}"))?;
    let remote_id = cluster_id_of(&remote)
        .await
        .map_err(|e| format!("reading the destination cluster's id: {e}"))?;
    let mut settings = config.settings.clone();
    settings.name = engine_name.clone();
    let engine = Engine::start(settings, reader.clone(), remote.clone())
        .await
        .map_err(|e| format!("starting the pushing engine: {e}"))?;
    info!(link = %config.link, engine = %engine_name, "source-initiated link pushing");
    Ok(Running {
        remote,
        remote_id,
        store,
        engine,
        engine_name,
        applied: BTreeMap::new(),
        failed: BTreeMap::new(),
        written: BTreeMap::new(),
        offsets: Default::default(),
        acls: Default::default(),
        acl_error: None,
    })
}

/// One round: find the INBOUND link, start the engine, apply control records, report. `local`
/// is the server's client (its state topic), `reader` the one the link reads data with.
async fn step(
    local: &Client,
    reader: &Client,
    config: &PushConfig,
    running: &mut Option<Running>,
) -> Result<(), StepError> {
    let remote = match running {
        Some(r) => r.remote.clone(),
        None => Client::connect(config.remote.clone())
            .await
            .map_err(|e| StepError::kafka("cannot reach the destination cluster", e))?,
    };
    let remote_state = read_state(&remote, &config.settings.state_topic)
        .await
        .map_err(|e| format!("reading the destination's clusterlink state: {e}"))?;
    let inbound = match inbound_link(&remote_state, config) {
        Ok(inbound) => inbound,
        Err(e) => {
            if let Some(r) = running.take() {
                info!(link = %config.link, "no INBOUND side to push for: stopping the pushing engine");
                let _ = r.engine.stop().await;
            }
            return Err(e);
        }
    };
    let engine_name = inbound.engine_name();
    if running
        .as_ref()
        .is_some_and(|r| r.engine_name != engine_name)
    {
        if let Some(r) = running.take() {
            let _ = r.engine.stop().await;
        }
    }
    if running.is_none() {
        *running = Some(start_pushing(remote, reader, config, engine_name).await?);
    }
    let r = running.as_mut().expect("started above");
    let view = InboundView::read(&remote_state, &r.engine_name);
    let mut writes: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    // Status records count as written only once the write succeeded.
    let mut pending: Vec<(String, Vec<u8>, i64)> = Vec::new();
    for (name, control) in &view.controls {
        match control {
            Control::Delete => {
                if r.delete(name).await {
                    writes.push((state_keys::control(&r.engine_name, name), None));
                    writes.push((state_keys::mirror_status(&r.engine_name, name), None));
                }
            }
            Control::Mirror { spec, desired } => {
                r.mirror(local, &config.settings.state_topic, name, spec, *desired)
                    .await?;
                if let Some((bytes, now)) = r.status_to_write(name, spec) {
                    pending.push((name.clone(), bytes.clone(), now));
                    writes.push((state_keys::mirror_status(&r.engine_name, name), Some(bytes)));
                }
            }
        }
    }
    // Consumer offset sync, as the INBOUND link's configs ask: the groups are on this (the
    // source) cluster, their translated offsets go to the destination.
    if let Err(e) = r
        .offsets
        .run_if_due(&r.engine, &r.remote, |k| inbound.config(k))
        .await
    {
        warn!(link = %config.link, error = %e, "consumer offset sync failed; retrying next round");
    }
    r.sync_acls(reader, &config.link, &inbound).await;
    let beat = Heartbeat {
        cluster_id: config.cluster_id.clone(),
        at_ms: now_ms(),
        acl_sync_error: r.acl_error.clone(),
    };
    writes.push((
        state_keys::heartbeat(&r.engine_name),
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

impl Running {
    /// ACL sync, as the INBOUND link's configs ask: the ACLs of this (the source) cluster,
    /// read with `reader`, created on the destination with the link's credentials there.
    async fn sync_acls(&mut self, reader: &Client, link: &str, inbound: &LinkRecord) {
        if !inbound.flag(link_config::ACL_SYNC_ENABLE) {
            self.acl_error = None;
            return;
        }
        if inbound.paused() {
            return;
        }
        let result = self
            .acls
            .run_if_due(reader, &self.remote, &self.store, &self.engine_name, |k| {
                inbound.config(k)
            })
            .instrument(info_span!("acl_sync", link = %link))
            .await;
        let failure = match result {
            Ok(None) => return,
            Ok(Some(round)) => {
                if round.created + round.deleted > 0 {
                    info!(link = %link, created = round.created, deleted = round.deleted, "ACLs synced to the destination");
                }
                round.error()
            }
            Err(e) => Some(e),
        };
        let now = failure.map(|e| TaskError {
            code: e.task_error_code().as_str().into(),
            message: e.to_string(),
        });
        if let Some(e) = now.as_ref().filter(|e| self.acl_error.as_ref() != Some(e)) {
            warn!(link = %link, error = %e.message, "ACL sync failed; retrying next round");
        }
        self.acl_error = now;
    }

    /// Deletes a pushed mirror the INBOUND side deleted; whether its records can go.
    async fn delete(&mut self, name: &str) -> bool {
        if self.engine.status(name).is_some() {
            if let Err(e) = self.engine.delete_mirror(name).await {
                warn!(mirror = %name, error = %e, "deleting a pushed mirror failed");
                return false;
            }
        }
        self.applied.remove(name);
        self.failed.remove(name);
        self.written.remove(name);
        true
    }

    /// Brings a mirror the INBOUND side asks for to its desired state: created (unless it would
    /// loop, or its creation failed lately), then set to `desired` once.
    async fn mirror(
        &mut self,
        local: &Client,
        state_topic: &str,
        name: &str,
        spec: &MirrorSpec,
        desired: Desired,
    ) -> Result<(), StepError> {
        if self
            .failed
            .get(name)
            .is_some_and(|f| f.retry && f.at.elapsed() >= Duration::from_secs(30))
        {
            self.failed.remove(name);
        }
        if self.engine.status(name).is_none() && !self.failed.contains_key(name) {
            // The pushing side's own loop check: a local topic that is a live mirror of the
            // destination's is never pushed back to it.
            let local_state = read_state(local, state_topic)
                .await
                .map_err(|e| format!("reading the local clusterlink state: {e}"))?;
            if let Some((link, origin)) =
                live_mirror_from(&local_state, &spec.source_topic, &self.remote_id)
            {
                let why = format!(
                    "topic '{}' on the source cluster is a mirror of topic '{origin}' of this cluster (link '{link}' there): mirroring it back would loop records between the clusters",
                    spec.source_topic
                );
                self.refuse(name, why, false);
            }
        }
        if self.engine.status(name).is_none() && !self.failed.contains_key(name) {
            match self.engine.create_mirror(spec.clone(), desired).await {
                Ok(()) => {
                    self.applied.insert(name.to_owned(), desired);
                }
                Err(e) => self.refuse(name, e.to_string(), true),
            }
        } else if self.engine.status(name).is_some() && self.applied.get(name) != Some(&desired) {
            match self.engine.set_desired(name, desired).await {
                Ok(()) => {
                    self.applied.insert(name.to_owned(), desired);
                }
                Err(e) => {
                    warn!(mirror = %name, error = %e, "changing a pushed mirror's state failed")
                }
            }
        }
        Ok(())
    }

    fn refuse(&mut self, name: &str, why: String, retry: bool) {
        let at = Instant::now();
        self.failed
            .insert(name.to_owned(), Refused { why, at, retry });
    }

    /// The mirror's status record, if it is due: at once when its state or reason changed,
    /// otherwise at most once a second (lags change all the time).
    fn status_to_write(&self, name: &str, spec: &MirrorSpec) -> Option<(Vec<u8>, i64)> {
        let status = self.engine.status(name).unwrap_or_else(|| {
            let reason = self.failed.get(name).map(|f| f.why.clone());
            without_engine(name, spec, MirrorState::Failed, reason)
        });
        let bytes = serde_json::to_vec(&status).unwrap_or_default();
        let now = now_ms();
        let due = match self.written.get(name) {
            None => true,
            Some((old, at)) => {
                let before: Option<MirrorStatus> = serde_json::from_slice(old).ok();
                let flipped =
                    before.is_none_or(|o| o.state != status.state || o.reason != status.reason);
                flipped || (*old != bytes && now - at >= 1000)
            }
        };
        due.then_some((bytes, now))
    }
}
