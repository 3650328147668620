//! Reconciling one ClusterLink, as a pipeline of steps each named after what it does:
//!
//! 1. validate (pure, `clusterlink_model::validate_cluster_link`): the resource → the
//!    validated model, or every problem at once;
//! 2. dereference ([`crate::deref`]): the objects it names → REST clients, cluster ids, link
//!    configs with their secrets, the pair's other resource;
//!    then resolve endpoints ([`crate::endpoint`]): the bootstrap of a dialed cluster the
//!    resource gives none for;
//! 3. [`observe`]: the link (and its remote half) as the REST API reports it;
//! 4. plan (pure, `clusterlink_model::plan`): desired vs observed → actions, problems, and how
//!    the halves pair;
//! 5. [`execute`]: the actions through the REST API; then observe again if anything was written;
//! 6. status (pure, [`crate::status`]): CFK's status fields and the conditions.
//!
//! Both drivers call [`LinkReconciler::reconcile`]: the operator writes the returned status and
//! publishes the notes as Events; `clusterlink apply` prints them. Nothing here knows Kubernetes.
//! A pass over a resource whose link already matches makes no write call: the plan is empty, and
//! credentials, which the REST API never shows, are re-sent only when their digest
//! ([`credentials`]) changed.

pub mod credentials;
pub mod execute;
pub mod observe;

use std::time::Duration;

use clusterlink_model::{
    plan, validate_cluster_link, ClusterLink, ClusterLinkStatus, Plan, ResourceId,
    ValidatedClusterLink,
};
use clusterlink_rest_v3::{link_config, MirrorState};
use tracing::{instrument, warn};

use crate::deref::{dereference, local_target, ClusterIds, DerefError, Dereferenced};
use crate::endpoint::resolve_endpoint;
use crate::objects::Objects;
use crate::outcome::{Next, Note};
use crate::rest_client::{MirrorInfo, RestError};
use crate::status::conditions::{reason, Conditions};
use crate::status::link::{app_state, reported_state, PassReport};
use crate::status::{self};

use credentials::SentCredentials;
use execute::{api_message, Executor};
use observe::Observation;

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
    /// The mirror topics the pass saw on the local link server, with their lags per
    /// partition, which the status only sums up (`clusterlink status -o wide` prints them).
    /// Empty when the pass did not reach the link server.
    pub mirrors: Vec<MirrorInfo>,
    /// The same for the remote half of a bidirectional link (its `toSource` mirrors live
    /// there); empty for other links and when the remote link server was not reached.
    pub remote_mirrors: Vec<MirrorInfo>,
}

/// How long a healthy link waits before its status is refreshed.
pub const REFRESH: Duration = Duration::from_secs(30);
/// How long a link in transition (promotion, creation) waits before the next look.
pub const SOON: Duration = Duration::from_secs(2);
/// How long a link that is not Ready (or a bidirectional half whose other direction is down)
/// waits before it looks again: what it waits for is often done by someone else (the other
/// half's resource, the source-initiated side's link server), which does not wake it.
pub const NOT_READY: Duration = Duration::from_secs(5);

/// Whether a pass changes the link or only looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Apply,
    Look,
}

/// Reconciles ClusterLinks. Keeps, per link, the digest of the credentials last sent.
#[derive(Debug)]
pub struct LinkReconciler {
    timeout: Duration,
    credentials: SentCredentials,
}

impl Default for LinkReconciler {
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

/// What steps 3 to 5 produced.
struct Applied<'a> {
    ids: ClusterIds,
    seen: Observation,
    plan: Plan,
    executed: Executor<'a>,
}

/// A REST error that ended the pass, and what the pass had done until then.
struct Stopped {
    error: RestError,
    notes: Vec<Note>,
    writes: usize,
}

impl Stopped {
    /// `error` ended the pass after `executed` did what it did.
    fn after(error: RestError, executed: &mut Executor<'_>) -> Self {
        Stopped {
            error,
            notes: std::mem::take(&mut executed.notes),
            writes: executed.writes,
        }
    }
}

impl From<RestError> for Stopped {
    fn from(error: RestError) -> Self {
        Stopped {
            error,
            notes: Vec::new(),
            writes: 0,
        }
    }
}

/// A pass that ended before it could judge the link: `Reconciled` and `Ready` false, with the
/// same reason.
fn failed(
    mut status: ClusterLinkStatus,
    mut conditions: Conditions,
    why: (&str, String),
    next: Next,
    notes: Vec<Note>,
    writes: usize,
) -> LinkOutcome {
    conditions.failed(why.0, &why.1);
    status.conditions = Some(conditions.into_vec());
    LinkOutcome {
        status,
        notes,
        next,
        writes,
        stopped: Vec::new(),
        mirrors: Vec::new(),
        remote_mirrors: Vec::new(),
    }
}

impl LinkReconciler {
    /// A reconciler whose REST calls time out after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        LinkReconciler {
            timeout,
            credentials: SentCredentials::default(),
        }
    }

    /// One reconcile pass of `link`, given the objects it may refer to.
    #[instrument(skip_all, fields(link = %link.link_name().unwrap_or_default(), namespace = link.metadata.namespace.as_deref().unwrap_or("default")))]
    pub async fn reconcile(&self, link: &ClusterLink, objects: &Objects) -> LinkOutcome {
        self.pass(link, objects, Mode::Apply).await
    }

    /// The status `link` would have, read from the link server without changing anything; the
    /// actions a reconcile would take are listed as notes (reason `Pending`).
    #[instrument(skip_all, fields(link = %link.link_name().unwrap_or_default(), namespace = link.metadata.namespace.as_deref().unwrap_or("default")))]
    pub async fn observe(&self, link: &ClusterLink, objects: &Objects) -> LinkOutcome {
        self.pass(link, objects, Mode::Look).await
    }

    /// validate → dereference → (observe → plan → execute → observe) → status.
    async fn pass(&self, link: &ClusterLink, objects: &Objects, mode: Mode) -> LinkOutcome {
        let (mut status, conditions) = status::link::begin(link);
        let valid = match validate_cluster_link(link) {
            Ok(v) => v,
            Err(errors) => {
                let message = errors.one_line();
                warn!(%message, "invalid resource");
                status.app_state = Some(app_state(status.state.is_some(), true));
                let notes = vec![Note::warning(reason::INVALID_SPEC, &message)];
                let why = (reason::INVALID_SPEC, message);
                return failed(status, conditions, why, Next::WaitForChange, notes, 0);
            }
        };
        let mut d = match dereference(&valid, objects, self.timeout) {
            Ok(d) => d,
            Err(e) => {
                let message = e.to_string();
                warn!(%message, category = e.category(), "cannot dereference");
                let notes = vec![Note::warning(e.reason(), &message)];
                let next = match e {
                    DerefError::Unsupported { .. } => Next::WaitForChange,
                    _ => Next::After(REFRESH),
                };
                return failed(status, conditions, (e.reason(), message), next, notes, 0);
            }
        };
        match resolve_endpoint(link, &valid, &mut d, objects).await {
            Ok(resolved) => status.resolved_bootstrap = resolved,
            Err(e) => {
                let message = e.to_string();
                warn!(%message, category = e.category(), "cannot resolve the bootstrap endpoint");
                let notes = vec![Note::warning(e.reason(), &message)];
                // Objects that appear (a Kafka resource, a KafkaRestClass) wake the operator;
                // a REST API that did not answer is retried.
                let next = match e.transient {
                    Some(category) => Next::Retry(category),
                    None => Next::After(REFRESH),
                };
                status.resolved_bootstrap = None;
                return failed(status, conditions, (e.reason(), message), next, notes, 0);
            }
        }
        match self.apply(link, &valid, &d, mode).await {
            Ok(applied) => report(&valid, &d, status, conditions, applied),
            Err(Stopped {
                error,
                mut notes,
                writes,
            }) => {
                let message = error.to_string();
                warn!(%message, category = error.category(), "REST call failed");
                let why = if error.is_retriable() {
                    reason::LINK_SERVER_UNAVAILABLE
                } else {
                    reason::LINK_SERVER_REJECTED
                };
                notes.push(Note::warning(why, &message));
                // Only what retrying can cure is retried with backoff: a refusal (4xx) comes
                // back the same until something changes, so it is looked at again only at the
                // refresh interval (and `clusterlink apply` gives up on it at once).
                let next = if error.is_retriable() {
                    Next::Retry(error.category())
                } else {
                    Next::After(REFRESH)
                };
                failed(status, conditions, (why, message), next, notes, writes)
            }
        }
    }

    /// Cluster ids → observe → plan → execute (or list) → observe again if anything changed.
    async fn apply<'a>(
        &self,
        link: &ClusterLink,
        valid: &'a ValidatedClusterLink,
        d: &Dereferenced,
        mode: Mode,
    ) -> Result<Applied<'a>, Stopped> {
        let ids = d.cluster_ids().await?;
        let mut seen = Observation::read(valid, d, &ids).await?;
        let key = valid.resource.key();
        let digest = SentCredentials::digest(&d.configs);
        let reapply = self.credentials.changed(&key, &digest);
        let observed = seen.observed(d, &ids, link.status.as_ref(), reapply);
        let plan = plan(valid, &d.configs, &observed);
        let mut executed = Executor::new(&valid.name, d, &ids, &seen, &plan);
        if mode == Mode::Apply && plan.waiting_for_inbound.is_none() {
            let run = executed.run(&plan, &self.credentials, &key, &digest).await;
            run.map_err(|e| Stopped::after(e, &mut executed))?;
        } else {
            executed.list_pending(&plan);
        }
        if executed.writes > 0 {
            let again = seen.refresh(valid, d, &ids).await;
            again.map_err(|e| Stopped::after(e, &mut executed))?;
        }
        Ok(Applied {
            ids,
            seen,
            plan,
            executed,
        })
    }

    /// Deletes the link of a ClusterLink that is being deleted (its mirror topics stay, as
    /// topics). Returns what happened; an error only when retrying can help.
    #[instrument(skip_all, fields(link = %link.link_name().unwrap_or_default()))]
    pub async fn cleanup(
        &self,
        link: &ClusterLink,
        objects: &Objects,
    ) -> Result<Vec<Note>, RestError> {
        self.credentials
            .forget(&ResourceId::of(&link.metadata).key());
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
        let local = match local_target(link, objects, self.timeout) {
            Ok(t) => t,
            Err(e) => return not_deleted(e.to_string()),
        };
        let cluster = match local.resolve_cluster_id().await {
            Ok(id) => id,
            Err(e) if !e.is_retriable() => return not_deleted(e.to_string()),
            Err(e) => return Err(e),
        };
        match local.client.delete_link(&cluster, &name, true).await {
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

/// What each documentation placeholder of the resource was replaced with.
fn placeholder_notes(
    valid: &ValidatedClusterLink,
    d: &Dereferenced,
    ids: &ClusterIds,
) -> Vec<Note> {
    valid
        .ignored_placeholders
        .iter()
        .map(|p| {
            let (id, from) = if p.path.starts_with(valid.remote.path()) {
                (
                    ids.remote.as_deref(),
                    d.remote.as_ref().map(|r| r.source.as_str()),
                )
            } else {
                (Some(ids.local.as_str()), Some(d.local.source.as_str()))
            };
            let used = match (id, from) {
                (Some(id), Some(from)) => format!("using {id} read from {from}"),
                _ => "no id could be read from the cluster's REST API".to_string(),
            };
            let field = p.path.rsplit('.').next().unwrap_or(&p.path);
            let message = format!("{field} '{}' is a placeholder: {used}", p.value);
            Note::logged(&valid.name, false, reason::PLACEHOLDER_IGNORED, message)
        })
        .collect()
}

/// The status, notes, next look and hand-overs of a pass that reached the link server.
fn report(
    valid: &ValidatedClusterLink,
    d: &Dereferenced,
    mut status: ClusterLinkStatus,
    mut conditions: Conditions,
    applied: Applied<'_>,
) -> LinkOutcome {
    let Applied {
        ids,
        seen,
        plan,
        executed,
    } = applied;
    let info = seen.local.info.as_ref();
    let pass = PassReport {
        link: valid,
        cluster: &ids.local,
        remote_cluster_id: ids.remote.as_deref(),
        info,
        mirrors: &seen.local.mirrors,
        remote_half: seen
            .remote
            .as_ref()
            .map(|r| (r.read.info.as_ref(), r.read.mirrors.as_slice())),
        remote_rest: d.remote.as_ref().map(|r| r.source.as_str()),
        remote_error: seen.remote_error.as_deref(),
        offsets_synced: d
            .configs
            .get(link_config::CONSUMER_OFFSET_SYNC_ENABLE)
            .is_some_and(|v| v.expose() == "true"),
        plan: &plan,
        create_errors: &executed.create_errors,
    };
    let verdict = status::link::applied(&mut status, &mut conditions, &pass);
    for (category, message) in &verdict.problems {
        warn!(category, "{message}");
    }
    status.conditions = Some(conditions.into_vec());
    let mut notes = executed.notes;
    if executed.writes > 0 {
        // Said when the link is written (created, or changed), not at every look.
        notes.extend(placeholder_notes(valid, d, &ids));
    }
    if let Some(n) = verdict.flipped {
        notes.push(Note::logged(&valid.name, n.warning, &n.reason, n.message));
    }
    let transitioning = seen
        .local
        .mirrors
        .iter()
        .any(|m| reported_state(m).is_pending());
    let half_down = status.bidirectional_state.as_ref().is_some_and(|b| {
        b.source_to_destination_active != Some(true) || b.destination_to_source_active != Some(true)
    });
    let next = if executed.writes > 0 || transitioning || info.is_none() {
        Next::After(SOON)
    } else if half_down || !verdict.ready {
        Next::After(NOT_READY)
    } else {
        Next::After(REFRESH)
    };
    // Declared mirrors a promote or failover made ordinary topics.
    let stopped = valid
        .mirrors
        .iter()
        .filter_map(|t| seen.local.mirrors.iter().find(|m| m.name == t.name))
        .filter(|m| reported_state(m).is(MirrorState::Stopped))
        .map(|m| StoppedTopic {
            topic: m.name.clone(),
            partitions: m.num_partitions.map(|n| n as i32),
        })
        .collect();
    LinkOutcome {
        status,
        notes,
        next,
        writes: executed.writes,
        stopped,
        mirrors: seen.local.mirrors.clone(),
        remote_mirrors: seen.remote.map(|r| r.read.mirrors).unwrap_or_default(),
    }
}
