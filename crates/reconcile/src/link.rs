//! Reconciling one ClusterLink: validate (pure) → dereference → observe through REST → plan
//! (pure, `clusterlink_model::plan`) → execute → observe again → status (pure).
//!
//! Both drivers call [`LinkReconciler::reconcile`]: the operator writes the returned status and
//! publishes the notes as Events; `clusterlink apply` prints them. Nothing here knows Kubernetes.
//! A pass over a resource whose link already matches makes no write call: the plan is empty, and
//! credentials, which the REST API never shows, are re-sent only when their digest (kept in
//! memory, never in the status) changed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use clusterlink_model::cluster_link::{BidirectionalState, MirrorDirection};
use clusterlink_model::plan::{Action, Observed, ObservedLink, ObservedMirror, Side};
use clusterlink_model::topology::{BrokerLinkMode, ClusterSide};
use clusterlink_model::{
    plan, validate_cluster_link, ClusterLink, ClusterLinkStatus, LinkConfigs, MirrorStatus,
};
use sha2::{Digest, Sha256};
use tracing::{info, instrument, warn};

use crate::deref::{dereference, DerefError, Dereferenced};
use crate::rest_client::{
    CreateLinkIds, LinkInfo, MirrorAction, MirrorInfo, RestClient, RestError,
};
use crate::status::{
    app_state, mirror_statuses, now_rfc3339, readiness, set_condition, READY, RECONCILED,
};
use crate::{Next, Note, Objects};

/// A topic that a promote or failover turned into an ordinary topic: the driver hands it to a
/// `KafkaTopic` resource (R10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoppedTopic {
    /// The Kafka topic's name.
    pub topic: String,
    /// Its partition count, as the REST API reported it.
    pub partitions: Option<i32>,
}

/// The result of one reconcile pass.
#[derive(Clone, Debug)]
pub struct LinkOutcome {
    /// The status to write.
    pub status: ClusterLinkStatus,
    /// What happened, for Events and the CLI's output.
    pub notes: Vec<Note>,
    /// When to look again.
    pub next: Next,
    /// How many write calls the pass made.
    pub writes: usize,
    /// Declared mirrors now STOPPED (promoted or failed over).
    pub stopped: Vec<StoppedTopic>,
}

/// Reconciles ClusterLinks. Keeps, per link, the digest of the credentials last sent.
#[derive(Debug)]
pub struct LinkReconciler {
    timeout: Duration,
    sensitive_digests: Mutex<HashMap<String, String>>,
}

impl Default for LinkReconciler {
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

/// How long a healthy link waits before its status is refreshed.
pub const REFRESH: Duration = Duration::from_secs(30);
/// How long a link in transition (promotion, creation) waits before the next look.
pub const SOON: Duration = Duration::from_secs(2);
/// How long a link that is not Ready (or a bidirectional half whose other direction is down)
/// waits before it looks again: what it waits for is often done by someone else (the other
/// half's resource, the source-initiated side's link server), which does not wake it.
pub const NOT_READY: Duration = Duration::from_secs(5);

fn link_key(link: &ClusterLink) -> String {
    format!(
        "{}/{}/{}",
        link.metadata.namespace.as_deref().unwrap_or("default"),
        link.metadata.name.as_deref().unwrap_or_default(),
        link.metadata.uid.as_deref().unwrap_or_default()
    )
}

fn sensitive_digest(configs: &LinkConfigs) -> Option<String> {
    let mut h = Sha256::new();
    let mut any = false;
    for (k, v) in configs.iter().filter(|(_, v)| v.is_sensitive()) {
        any = true;
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.expose().as_bytes());
        h.update([0]);
    }
    any.then(|| format!("{:x}", h.finalize()))
}

/// CamelCase of a kebab-case category (`immutable-config` → `ImmutableConfig`).
pub fn camel(category: &str) -> String {
    category
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The other cluster's half of a bidirectional link, as read through its REST API.
struct RemoteHalf {
    client: RestClient,
    cluster: String,
    info: Option<LinkInfo>,
    mirrors: Vec<MirrorInfo>,
}

struct Pass<'a> {
    d: &'a Dereferenced,
    cluster: String,
    remote: Option<RemoteHalf>,
    notes: Vec<Note>,
    writes: usize,
    create_errors: BTreeMap<String, String>,
}

impl Pass<'_> {
    fn note(&mut self, warning: bool, reason: &str, message: String) {
        if warning {
            warn!(link = %self.d.link_name, reason, "{message}");
        } else {
            info!(link = %self.d.link_name, reason, "{message}");
        }
        self.notes.push(Note {
            warning,
            reason: reason.to_string(),
            message,
        });
    }

    /// The REST API, cluster id and a suffix for messages, of one side of the link.
    fn target(&self, side: Side) -> Option<(RestClient, String, &'static str)> {
        match side {
            Side::Local => Some((self.d.local.client.clone(), self.cluster.clone(), "")),
            _ => self.remote.as_ref().filter(|r| r.info.is_some()).map(|r| {
                (
                    r.client.clone(),
                    r.cluster.clone(),
                    " on the remote cluster",
                )
            }),
        }
    }

    /// Executes one action. Per-topic refusals are noted and do not stop the pass; an error is
    /// returned only when the rest of the plan cannot go on (the link server is unreachable, or
    /// the link itself was refused).
    async fn execute(&mut self, action: &Action, ids: &CreateLinkIds) -> Result<(), RestError> {
        let name = self.d.link_name.clone();
        let side = match action {
            Action::CreateMirror { side, .. }
            | Action::DeleteMirror { side, .. }
            | Action::Pause { side, .. }
            | Action::Resume { side, .. }
            | Action::Promote { side, .. }
            | Action::Failover { side, .. } => *side,
            _ => Side::Local,
        };
        let Some((rest, cid, where_)) = self.target(side) else {
            self.note(
                true,
                "RemoteLinkMissing",
                format!(
                    "not executed, the remote half of link {name} does not exist yet: {}",
                    describe(action)
                ),
            );
            return Ok(());
        };
        match action {
            Action::CreateLink { configs } => {
                self.writes += 1;
                rest.create_link(&cid, &name, ids, configs).await?;
                let paired = ids
                    .cluster_link_id
                    .as_deref()
                    .map(|id| format!(", paired with the remote half (link id {id})"))
                    .unwrap_or_default();
                self.note(
                    false,
                    "LinkCreated",
                    format!("created link {name} on cluster {cid}{paired}"),
                );
            }
            Action::AlterConfigs { set, delete } => {
                self.writes += 1;
                rest.alter_link_configs(&cid, &name, set, delete).await?;
                let mut changed: Vec<&str> = set.keys().map(String::as_str).collect();
                changed.extend(delete.iter().map(String::as_str));
                self.note(
                    false,
                    "LinkConfigsAltered",
                    format!("link {name}: configs {} changed", changed.join(", ")),
                );
            }
            Action::CreateMirror {
                name: topic,
                source_topic_name,
                configs,
                replication_factor,
                ..
            } => {
                self.writes += 1;
                match rest
                    .create_mirror(
                        &cid,
                        &name,
                        topic,
                        source_topic_name,
                        configs,
                        *replication_factor,
                    )
                    .await
                {
                    Ok(()) => self.note(
                        false,
                        "MirrorTopicCreated",
                        format!("mirror topic {topic} created from {source_topic_name}{where_}"),
                    ),
                    Err(e) if !e.is_retriable() => {
                        let msg = api_message(&e);
                        self.note(
                            true,
                            "MirrorTopicCreationFailed",
                            format!("mirror topic {topic}{where_}: {msg}"),
                        );
                        self.create_errors.insert(topic.clone(), msg);
                    }
                    Err(e) => return Err(e),
                }
            }
            Action::DeleteMirror { name: topic, .. } => {
                self.writes += 1;
                match rest.delete_topic(&cid, topic).await {
                    Ok(()) => self.note(
                        false,
                        "MirrorTopicDeleted",
                        format!(
                            "mirror topic {topic}{where_} deleted: not declared in the resource"
                        ),
                    ),
                    Err(e) if e.is_not_found() => {}
                    Err(e) if !e.is_retriable() => self.note(
                        true,
                        "MirrorTopicDeletionFailed",
                        format!("mirror topic {topic}{where_}: {}", api_message(&e)),
                    ),
                    Err(e) => return Err(e),
                }
            }
            Action::Pause { names, .. } => {
                self.alter(&rest, &cid, MirrorAction::Pause, names, "MirrorTopicPaused")
                    .await?
            }
            Action::Resume { names, .. } => {
                self.alter(
                    &rest,
                    &cid,
                    MirrorAction::Resume,
                    names,
                    "MirrorTopicResumed",
                )
                .await?
            }
            Action::Promote { names, .. } => {
                self.alter(
                    &rest,
                    &cid,
                    MirrorAction::Promote,
                    names,
                    "MirrorTopicPromoting",
                )
                .await?
            }
            Action::Failover { names, .. } => {
                self.alter(
                    &rest,
                    &cid,
                    MirrorAction::Failover,
                    names,
                    "MirrorTopicFailingOver",
                )
                .await?
            }
            other => self.note(
                true,
                "Unsupported",
                format!("not executed: {}", describe(other)),
            ),
        }
        Ok(())
    }

    async fn alter(
        &mut self,
        rest: &RestClient,
        cluster: &str,
        action: MirrorAction,
        names: &[String],
        reason: &str,
    ) -> Result<(), RestError> {
        self.writes += 1;
        let results = rest
            .alter_mirrors(cluster, &self.d.link_name, action, names)
            .await?;
        for name in names {
            match results
                .iter()
                .find(|r| &r.name == name)
                .and_then(|r| r.error.clone())
            {
                None => self.note(
                    false,
                    reason,
                    format!("mirror topic {name}: {} requested", action.as_str()),
                ),
                Some(e) => self.note(
                    true,
                    "MirrorTopicStateChangeFailed",
                    format!("mirror topic {name}: {} refused: {e}", action.as_str()),
                ),
            }
        }
        Ok(())
    }
}

fn api_message(e: &RestError) -> String {
    match e {
        RestError::Api { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn observed_mirrors(mirrors: &[MirrorInfo]) -> BTreeMap<String, ObservedMirror> {
    mirrors
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                ObservedMirror {
                    status: MirrorStatus::parse(&m.status),
                    source_topic_name: m.source_topic_name.clone(),
                },
            )
        })
        .collect()
}

impl LinkReconciler {
    /// A reconciler whose REST calls time out after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        LinkReconciler {
            timeout,
            sensitive_digests: Mutex::new(HashMap::new()),
        }
    }

    fn digests(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.sensitive_digests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// One reconcile pass of `link`, given the objects it may refer to.
    #[instrument(skip_all, fields(link = %link.link_name().unwrap_or_default(), namespace = link.metadata.namespace.as_deref().unwrap_or("default")))]
    pub async fn reconcile(&self, link: &ClusterLink, objects: &Objects) -> LinkOutcome {
        self.pass(link, objects, true).await
    }

    /// The status `link` would have, read from the link server without changing anything; the
    /// actions a reconcile would take are listed as notes (reason `Pending`).
    #[instrument(skip_all, fields(link = %link.link_name().unwrap_or_default(), namespace = link.metadata.namespace.as_deref().unwrap_or("default")))]
    pub async fn observe(&self, link: &ClusterLink, objects: &Objects) -> LinkOutcome {
        self.pass(link, objects, false).await
    }

    async fn pass(&self, link: &ClusterLink, objects: &Objects, execute: bool) -> LinkOutcome {
        let now = now_rfc3339();
        let previous = link.status.clone().unwrap_or_default();
        let mut status = ClusterLinkStatus {
            conditions: previous.conditions.clone(),
            observed_generation: link.metadata.generation,
            cluster_link_name: link.link_name().map(str::to_string),
            ..previous.clone()
        };
        let mut conditions = status.conditions.take().unwrap_or_default();
        let fail = |conditions: &mut Vec<_>,
                    status: ClusterLinkStatus,
                    reason: &str,
                    message: String,
                    next: Next,
                    notes: Vec<Note>| {
            set_condition(conditions, RECONCILED, false, reason, &message, &now);
            set_condition(conditions, READY, false, reason, &message, &now);
            let mut status = status;
            status.conditions = Some(std::mem::take(conditions));
            LinkOutcome {
                status,
                notes,
                next,
                writes: 0,
                stopped: Vec::new(),
            }
        };

        if let Err(errors) = validate_cluster_link(link) {
            let message = errors
                .errors()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            status.app_state = Some(app_state(status.state.is_some(), true));
            let notes = vec![Note {
                warning: true,
                reason: "InvalidSpec".into(),
                message: message.clone(),
            }];
            warn!(%message, "invalid resource");
            return fail(
                &mut conditions,
                status,
                "InvalidSpec",
                message,
                Next::WaitForChange,
                notes,
            );
        }

        let d = match dereference(link, objects, self.timeout) {
            Ok(d) => d,
            Err(e) => {
                let message = e.to_string();
                warn!(%message, category = e.category(), "cannot dereference");
                let notes = vec![Note {
                    warning: true,
                    reason: e.reason().into(),
                    message: message.clone(),
                }];
                let next = match e {
                    DerefError::Unsupported { .. } => Next::WaitForChange,
                    _ => Next::After(REFRESH),
                };
                return fail(&mut conditions, status, e.reason(), message, next, notes);
            }
        };

        match self.apply(link, &d, objects, &mut status, execute).await {
            Ok((mut pass, info, mirrors, problems)) => {
                let link_exists = info.is_some();
                status.app_state = Some(app_state(link_exists, false));
                let (ready, reason, message) = match problems
                    .iter()
                    .find(|(c, _)| *c == "waiting-for-inbound-link")
                {
                    Some((_, m)) if info.is_none() => (false, "WaitingForInboundLink", m.clone()),
                    _ => readiness(link, info.as_ref(), &mirrors, &pass.create_errors),
                };
                let prev_ready =
                    crate::status::condition(&conditions, READY).and_then(|c| c.status.clone());
                set_condition(&mut conditions, READY, ready, reason, &message, &now);
                let flipped = prev_ready.as_deref() != Some(if ready { "True" } else { "False" });
                if flipped {
                    let alarming = matches!(reason, "MirrorTopicsFailed" | "LinkUnavailable");
                    pass.note(
                        alarming,
                        if ready { "Ready" } else { reason },
                        message.clone(),
                    );
                }
                if problems.is_empty() && pass.create_errors.is_empty() {
                    set_condition(
                        &mut conditions,
                        RECONCILED,
                        true,
                        "Applied",
                        "the link and its mirror topics match the resource",
                        &now,
                    );
                } else {
                    let (reason, msg) = match problems.first() {
                        Some((cat, _)) => (
                            camel(cat),
                            problems
                                .iter()
                                .map(|(_, m)| m.clone())
                                .collect::<Vec<_>>()
                                .join("; "),
                        ),
                        None => (
                            "MirrorTopicCreationFailed".to_string(),
                            pass.create_errors
                                .iter()
                                .map(|(t, e)| format!("{t}: {e}"))
                                .collect::<Vec<_>>()
                                .join("; "),
                        ),
                    };
                    set_condition(&mut conditions, RECONCILED, false, &reason, &msg, &now);
                }
                status.conditions = Some(conditions);
                let transitioning = mirrors.iter().any(|m| m.status.starts_with("PENDING"));
                let half_down = status.bidirectional_state.as_ref().is_some_and(|b| {
                    b.source_to_destination_active != Some(true)
                        || b.destination_to_source_active != Some(true)
                });
                let next = if pass.writes > 0 || transitioning || !link_exists {
                    Next::After(SOON)
                } else if half_down || !ready {
                    Next::After(NOT_READY)
                } else {
                    Next::After(REFRESH)
                };
                let stopped = link
                    .spec
                    .mirror_topics()
                    .iter()
                    .filter_map(|t| mirrors.iter().find(|m| m.name == t.name))
                    .filter(|m| m.status == "STOPPED")
                    .map(|m| StoppedTopic {
                        topic: m.name.clone(),
                        partitions: m.num_partitions.map(|n| n as i32),
                    })
                    .collect();
                LinkOutcome {
                    status,
                    notes: pass.notes,
                    next,
                    writes: pass.writes,
                    stopped,
                }
            }
            Err((e, notes, writes)) => {
                let message = e.to_string();
                warn!(%message, category = e.category(), "REST call failed");
                let reason = if e.is_retriable() {
                    "LinkServerUnavailable"
                } else {
                    "LinkServerRejected"
                };
                let mut notes = notes;
                notes.push(Note {
                    warning: true,
                    reason: reason.into(),
                    message: message.clone(),
                });
                let mut out = fail(
                    &mut conditions,
                    status,
                    reason,
                    message,
                    Next::Retry(e.category()),
                    notes,
                );
                out.writes = writes;
                out
            }
        }
    }

    #[allow(clippy::type_complexity)]
    async fn apply<'a>(
        &self,
        link: &'a ClusterLink,
        d: &'a Dereferenced,
        objects: &Objects,
        status: &mut ClusterLinkStatus,
        execute: bool,
    ) -> Result<
        (
            Pass<'a>,
            Option<LinkInfo>,
            Vec<MirrorInfo>,
            Vec<(&'static str, String)>,
        ),
        (RestError, Vec<Note>, usize),
    > {
        let rest = &d.local.client;
        let fail0 = |e| (e, Vec::new(), 0);
        let cluster = match &d.local.cluster_id {
            Some(id) => id.clone(),
            None => rest.cluster_id().await.map_err(fail0)?,
        };
        let remote_cluster_id = match (&d.remote_cluster_id, &d.remote) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(r)) => match r.client.cluster_id().await {
                Ok(id) => Some(id),
                Err(e) => {
                    warn!(error = %e, "the remote cluster's id could not be read through its REST API");
                    None
                }
            },
            (None, None) => None,
        };
        let local_is_destination = d.topology.local == ClusterSide::Destination;
        let bidirectional = d.topology.link_mode == BrokerLinkMode::Bidirectional;
        let (info, mirrors) = self
            .read_link(rest, &cluster, &d.link_name)
            .await
            .map_err(fail0)?;
        // The other half of a bidirectional link, through the remote cluster's REST API: its
        // id pairs the halves, and `toSource` mirrors live on it.
        let source_mode = d.topology.link_mode == BrokerLinkMode::Source;
        // An unreachable remote (the region a bidirectional link exists for may be the lost
        // one) must not stop the local half: it is reported, and the local plan goes on.
        let mut remote_error = None;
        let remote = match (&d.remote, &remote_cluster_id) {
            (Some(r), Some(rcid)) if bidirectional || source_mode => {
                match self.read_link(&r.client, rcid, &d.link_name).await {
                    Ok((rinfo, rmirrors)) => Some(RemoteHalf {
                        client: r.client.clone(),
                        cluster: rcid.clone(),
                        info: rinfo,
                        mirrors: rmirrors,
                    }),
                    Err(e) => {
                        warn!(error = %e, "the remote half of the link cannot be read");
                        remote_error = Some(format!(
                            "the remote half of link {} cannot be read through {}: {e}",
                            d.link_name, r.source
                        ));
                        None
                    }
                }
            }
            _ => None,
        };
        let mut observed = match &info {
            None => Observed::default(),
            Some(_) => Observed {
                link: Some(ObservedLink {
                    configs: rest
                        .link_configs(&cluster, &d.link_name)
                        .await
                        .map_err(fail0)?,
                    mirrors: observed_mirrors(&mirrors),
                }),
                ..Default::default()
            },
        };
        if let Some(r) = remote.as_ref().filter(|r| r.info.is_some()) {
            observed.remote_mirrors = Some(observed_mirrors(&r.mirrors));
        }
        // Mirrors the other resource of the pair pushes here (its `toSource` ones) are its own:
        // this resource neither deletes nor counts them as undeclared.
        if let (Some(peer), Some(l)) = (objects.bidirectional_peer(link), observed.link.as_mut()) {
            for name in Objects::to_source_mirrors(peer) {
                l.mirrors.remove(name);
            }
        }
        observed.remote_owned = status
            .reverse_mirror_topics
            .iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .collect();
        let key = link_key(link);
        let digest = sensitive_digest(&d.configs);
        observed.reapply_sensitive =
            digest.is_some() && self.digests().get(&key) != digest.as_ref();
        let p = plan(&link.spec, &d.configs, &observed);
        let mut problems: Vec<(&'static str, String)> = p
            .problems
            .iter()
            .map(|pr| (pr.category(), pr.to_string()))
            .collect();
        if bidirectional
            && p.problems
                .iter()
                .any(|pr| pr.category() == "remote-not-observed")
        {
            let why = match (&d.remote, &remote) {
                (None, _) => "the remote cluster has no KafkaRestClass in the resource".to_string(),
                (Some(r), _) if remote_cluster_id.is_none() => {
                    format!("the remote cluster's id could not be read through {}", r.source)
                }
                _ => format!(
                    "the remote half of link {} does not exist yet (the ClusterLink of the same spec.name on the other cluster creates it)",
                    d.link_name
                ),
            };
            problems.retain(|(c, _)| *c != "remote-not-observed");
            problems.push((
                "remote-not-observed",
                format!("toSource mirror topics wait: {why}"),
            ));
        }
        if let Some(msg) = remote_error {
            problems.retain(|(c, _)| *c != "remote-not-observed");
            problems.push(("remote-unreachable", msg));
        }
        for (cat, msg) in &problems {
            warn!(category = cat, "{msg}");
        }
        // R5: the OUTBOUND side of a source-initiated link takes the INBOUND side's link id,
        // so the INBOUND side must exist first. Where CFK fails, this waits (and says so).
        let outbound = d.topology.is_outbound();
        let peer_inbound = objects.bidirectional_peer(link).is_some_and(|p| {
            clusterlink_model::topology::topology(&p.spec).connection_mode
                == clusterlink_model::topology::BrokerConnectionMode::Inbound
        });
        // An explicit `connectionMode: Outbound` is how CFK's source-initiated bidirectional
        // pair marks its Outbound side (destination-initiated pairs leave it out).
        let explicit_outbound = link.spec.source_initiated_link.as_ref().is_some_and(|s| {
            s.connection_mode == Some(clusterlink_model::cluster_link::ConnectionMode::Outbound)
        });
        let needs_inbound =
            outbound && (source_mode || (bidirectional && (peer_inbound || explicit_outbound)));
        let waiting_for_inbound =
            needs_inbound && info.is_none() && remote.as_ref().is_some_and(|r| r.info.is_none());
        if waiting_for_inbound {
            problems.push((
                "waiting-for-inbound-link",
                format!(
                    "link {} is source-initiated: its INBOUND side must exist first on cluster {} (the ClusterLink with connectionMode Inbound{}); this side is created as soon as it does",
                    d.link_name,
                    remote_cluster_id.as_deref().unwrap_or("?"),
                    objects
                        .bidirectional_peer(link)
                        .map(|p| format!(
                            ", {}/{}",
                            p.metadata.namespace.as_deref().unwrap_or("default"),
                            p.metadata.name.as_deref().unwrap_or_default()
                        ))
                        .unwrap_or_default()
                ),
            ));
        }
        let ids = CreateLinkIds {
            source_cluster_id: remote_cluster_id
                .clone()
                .filter(|_| local_is_destination && !bidirectional),
            remote_cluster_id: remote_cluster_id.clone().filter(|_| bidirectional),
            destination_cluster_id: remote_cluster_id.clone().filter(|_| source_mode),
            cluster_link_id: remote
                .as_ref()
                .filter(|_| outbound && (bidirectional || source_mode))
                .and_then(|r| r.info.as_ref())
                .and_then(|i| i.link_id.clone()),
        };
        let mut pass = Pass {
            d,
            cluster: cluster.clone(),
            remote,
            notes: Vec::new(),
            writes: 0,
            create_errors: BTreeMap::new(),
        };
        if execute && !waiting_for_inbound {
            for action in &p.actions {
                if let Err(e) = pass.execute(action, &ids).await {
                    return Err((e, pass.notes, pass.writes));
                }
                if matches!(
                    action,
                    Action::CreateLink { .. } | Action::AlterConfigs { .. }
                ) {
                    match &digest {
                        Some(dg) => {
                            self.digests().insert(key.clone(), dg.clone());
                        }
                        None => {
                            self.digests().remove(&key);
                        }
                    }
                }
            }
            if !p
                .actions
                .iter()
                .any(|a| matches!(a, Action::CreateLink { .. } | Action::AlterConfigs { .. }))
            {
                if let Some(dg) = &digest {
                    self.digests().insert(key.clone(), dg.clone());
                }
            }
        } else {
            for action in &p.actions {
                pass.notes.push(crate::Note {
                    warning: false,
                    reason: "Pending".into(),
                    message: describe(action),
                });
            }
        }
        let (info, mirrors) = if pass.writes > 0 {
            let again = self.read_link(rest, &cluster, &d.link_name).await;
            let again = match again {
                Ok(v) => v,
                Err(e) => return Err((e, pass.notes, pass.writes)),
            };
            if let Some(r) = pass.remote.as_mut() {
                match self.read_link(&r.client, &r.cluster, &d.link_name).await {
                    Ok((i, m)) => {
                        r.info = i;
                        r.mirrors = m;
                    }
                    Err(e) => return Err((e, pass.notes, pass.writes)),
                }
            }
            again
        } else {
            (info, mirrors)
        };
        fill_status(link, d, status, &cluster, remote_cluster_id, info.as_ref());
        let statuses = mirror_statuses(link, &mirrors, &pass.create_errors);
        status.num_mirror_topics = Some(mirrors.len() as i64);
        status.mirror_topics = Some(statuses);
        if bidirectional {
            let active = |i: Option<&LinkInfo>| {
                i.is_some_and(|i| i.link_state.as_deref().is_none_or(|s| s == "ACTIVE"))
            };
            let remote_info = pass.remote.as_ref().and_then(|r| r.info.as_ref());
            // The local half pulls into the local cluster; the remote half pulls into the
            // remote cluster. Which of them is "source to destination" depends on where the
            // resource's destination is.
            let (into_local, into_remote) = (active(info.as_ref()), active(remote_info));
            let offsets = d
                .configs
                .get("consumer.offset.sync.enable")
                .is_some_and(|v| v.expose() == "true");
            status.bidirectional_state = Some(BidirectionalState {
                consumer_offset_sync_enabled: Some(offsets),
                source_to_destination_active: Some(if local_is_destination {
                    into_local
                } else {
                    into_remote
                }),
                destination_to_source_active: Some(if local_is_destination {
                    into_remote
                } else {
                    into_local
                }),
            });
            let reverse: Vec<MirrorInfo> = pass
                .remote
                .as_ref()
                .map(|r| {
                    r.mirrors
                        .iter()
                        .filter(|m| {
                            link.spec.mirror_topics().iter().any(|t| {
                                t.name == m.name
                                    && t.effective_direction() == MirrorDirection::ToSource
                            })
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            status.num_reverse_mirror_topics = Some(reverse.len() as i64);
            status.reverse_mirror_topics = Some(mirror_statuses(link, &reverse, &BTreeMap::new()));
        }
        Ok((pass, info, mirrors, problems))
    }

    async fn read_link(
        &self,
        rest: &crate::rest_client::RestClient,
        cluster: &str,
        link: &str,
    ) -> Result<(Option<LinkInfo>, Vec<MirrorInfo>), RestError> {
        let info = rest.link(cluster, link).await?;
        let mirrors = match &info {
            Some(_) => rest.mirrors(cluster, link).await?,
            None => Vec::new(),
        };
        Ok((info, mirrors))
    }

    /// Deletes the link of a ClusterLink that is being deleted (its mirror topics stay, as
    /// topics). Returns what happened; an error only when retrying can help.
    #[instrument(skip_all, fields(link = %link.link_name().unwrap_or_default()))]
    pub async fn cleanup(
        &self,
        link: &ClusterLink,
        objects: &Objects,
    ) -> Result<Vec<Note>, RestError> {
        self.digests().remove(&link_key(link));
        let name = link.link_name().unwrap_or_default().to_string();
        let not_deleted = |why: String| {
            // Blocking the deletion on something that will not come back (a KafkaRestClass gone
            // with its namespace, credentials refused) would leave the resource, and its
            // namespace, stuck for ever: say so and let it go.
            let message = format!("link {name} was not deleted from its cluster: {why}");
            warn!("{message}");
            Ok(vec![Note {
                warning: true,
                reason: "LinkNotDeleted".into(),
                message,
            }])
        };
        let local = match crate::deref::local_target(link, objects, self.timeout) {
            Ok(t) => t,
            Err(e) => return not_deleted(e.to_string()),
        };
        let rest = &local.client;
        let cluster = match &local.cluster_id {
            Some(id) => id.clone(),
            None => match rest.cluster_id().await {
                Ok(id) => id,
                Err(e) if !e.is_retriable() => return not_deleted(e.to_string()),
                Err(e) => return Err(e),
            },
        };
        match rest.delete_link(&cluster, &name, true).await {
            Ok(()) => Ok(vec![Note {
                warning: false,
                reason: "LinkDeleted".into(),
                message: format!("link {name} deleted from cluster {cluster}"),
            }]),
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) if !e.is_retriable() => not_deleted(api_message(&e)),
            Err(e) => Err(e),
        }
    }
}

/// CFK's link-level status fields from what was observed.
fn fill_status(
    link: &ClusterLink,
    d: &Dereferenced,
    status: &mut ClusterLinkStatus,
    cluster: &str,
    remote_cluster_id: Option<String>,
    info: Option<&LinkInfo>,
) {
    let cluster = cluster.to_string();
    let local_is_destination = d.topology.local == ClusterSide::Destination;
    status.cluster_link_id = info.and_then(|i| i.link_id.clone());
    status.state = info.map(|i| match i.link_state.as_deref() {
        Some("ACTIVE") | None => "CREATED".to_string(),
        Some(other) => other.to_string(),
    });
    let remote_id = remote_cluster_id.or_else(|| {
        info.and_then(|i| {
            i.source_cluster_id
                .clone()
                .or_else(|| i.remote_cluster_id.clone())
                .or_else(|| i.destination_cluster_id.clone())
        })
    });
    if local_is_destination {
        status.destination_kafka_cluster_id = Some(cluster.clone());
        status.source_kafka_cluster_id = remote_id;
    } else {
        status.source_kafka_cluster_id = Some(cluster.clone());
        status.destination_kafka_cluster_id = remote_id;
    }
    let local = d.topology.local.of(&link.spec);
    status.kafka_cluster = local.name.as_ref().map(|n| {
        format!(
            "{}/{n}",
            local
                .namespace
                .as_deref()
                .or(link.metadata.namespace.as_deref())
                .unwrap_or("default")
        )
    });
}

/// An action in words (never with config values: they may be credentials).
fn describe(action: &Action) -> String {
    match action {
        Action::CreateLink { configs } => format!(
            "create the link with configs {}",
            configs.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        Action::AlterConfigs { set, delete } => format!(
            "set link configs [{}], reset [{}]",
            set.keys().cloned().collect::<Vec<_>>().join(", "),
            delete.join(", ")
        ),
        Action::CreateMirror {
            name,
            source_topic_name,
            ..
        } => {
            format!("create mirror topic {name} from {source_topic_name}")
        }
        Action::DeleteMirror { name, .. } => format!("delete mirror topic {name}"),
        Action::Pause { names, .. } => format!("pause {}", names.join(", ")),
        Action::Resume { names, .. } => format!("resume {}", names.join(", ")),
        Action::Promote { names, .. } => format!("promote {}", names.join(", ")),
        Action::Failover { names, .. } => format!("fail over {}", names.join(", ")),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_reasons() {
        assert_eq!(camel("immutable-config"), "ImmutableConfig");
        assert_eq!(camel("remote-not-observed"), "RemoteNotObserved");
    }
}
