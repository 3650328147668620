//! The two controllers — ClusterLink and KafkaTopic — on kube's controller runtime, and the
//! caches of the KafkaRestClasses and `Kafka` resources ([`crate::kafkas`]) they refer to.
//! Secrets are not cached (the operator would hold every Secret of the cluster in memory and
//! need to list and watch them all): each pass reads the Secrets it refers to by name, so that
//! the operator needs only `get` on Secrets, and a rotated credential is read at the next pass.
//!
//! Resources are watched as `DynamicObject`s and converted per object: a typed watcher fails its
//! whole list on one malformed object, which would stop every link; here a malformed object gets
//! an `InvalidSpec` condition and the others carry on. Each pass runs the reconcile core
//! (`clusterlink_reconcile`), publishes its notes as Events, writes the status by server-side
//! apply (only when it changed, so that status writes do not feed a loop), and hands promoted
//! topics to `clink-…` KafkaTopics (R10). Finalizers delete the link, or the topic, before the
//! resource goes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clusterlink_model::names::promoted_topic_resource_name;
use clusterlink_model::topology::topology;
use clusterlink_model::{ClusterLink, KafkaRestClass, KafkaTopic, SecretValue};
use clusterlink_reconcile::status::READY;
use clusterlink_reconcile::{LinkReconciler, Next, Note, Objects, TopicReconciler};
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{finalizer, Event as Finalizer};
use kube::runtime::reflector::{self, reflector, Store};
use kube::runtime::{watcher, Controller, WatchStreamExt};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::broadcast;
use tracing::{info, instrument, warn};

use crate::error::Error;
use crate::kafkas::KafkaCaches;
use crate::metrics::Metrics;

/// The finalizer on ClusterLinks: the link is deleted from its cluster first.
pub const LINK_FINALIZER: &str = "clusterlink.io/delete-link";
/// The finalizer on KafkaTopics: the topic is deleted from its cluster first.
pub const TOPIC_FINALIZER: &str = "clusterlink.io/delete-topic";
/// The server-side apply field manager of status writes.
pub const MANAGER: &str = "clusterlink-operator";

/// Settings of the controllers.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// Watch this namespace only (all when `None`).
    pub namespace: Option<String>,
    /// Timeout of each REST request to a link server.
    pub request_timeout: Duration,
    /// This replica's name, for Events.
    pub instance: String,
    /// How long after a resource's deletion was asked its clean-up (the link or topic deleted
    /// from its cluster) is retried; after that the finalizer is removed anyway, with a
    /// Warning Event, so that an unreachable link server cannot hold a namespace forever.
    pub cleanup_deadline: Duration,
}

/// Whether a clean-up that failed with `error` is abandoned: the resource's deletion was asked
/// at `deleted_at` (seconds since the epoch), now is `now`, and `deadline` has passed since.
/// Then the note that says so (a Warning Event); else the error, to retry.
fn abandon_cleanup(
    what: &str,
    error: Error,
    deleted_at: Option<i64>,
    now: i64,
    deadline: Duration,
) -> Result<Vec<Note>, Error> {
    let waited = deleted_at.map(|t| (now - t).max(0) as u64);
    match waited {
        Some(w) if w >= deadline.as_secs() => Ok(vec![Note {
            warning: true,
            reason: "CleanupAbandoned".into(),
            message: format!(
                "{what} could not be deleted from its cluster within {}s of the resource's \
                 deletion ({error}); the finalizer is removed so that the resource (and its \
                 namespace) can go, and {what} may still exist there: delete it by hand",
                deadline.as_secs()
            ),
        }]),
        _ => Err(error),
    }
}

/// When the deletion of `obj` was asked, in seconds since the epoch.
fn deletion_time(obj: &DynamicObject) -> Option<i64> {
    obj.metadata
        .deletion_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
}

fn resource<K: Resource<DynamicType = ()>>() -> ApiResource {
    ApiResource::erase::<K>(&())
}

/// The typed resource of a dynamic object.
fn typed<T: serde::de::DeserializeOwned>(obj: &DynamicObject) -> Result<T, serde_json::Error> {
    serde_json::from_value(serde_json::to_value(obj)?)
}

struct Context {
    client: Client,
    cluster_links: Store<DynamicObject>,
    links: LinkReconciler,
    topics: TopicReconciler,
    rest_classes: Store<DynamicObject>,
    kafkas: KafkaCaches,
    recorder: Recorder,
    metrics: Metrics,
    failures: Mutex<HashMap<String, u32>>,
    cleanup_deadline: Duration,
}

/// How many times a pass runs again with the Secrets it asked for (one per Secret found).
const SECRET_ROUNDS: usize = 6;

impl Context {
    /// The ClusterLinks, KafkaRestClasses and `Kafka` resources, as the reconcile core reads
    /// them; Secrets are read by name when a pass asks for them ([`Context::with_secrets`]).
    fn objects(&self) -> Objects {
        let mut o = Objects::new();
        for l in self.cluster_links.state() {
            if let Ok(l) = typed::<ClusterLink>(&l) {
                o.add_cluster_link(l);
            }
        }
        for rc in self.rest_classes.state() {
            match typed::<KafkaRestClass>(&rc) {
                Ok(rc) => o.add_rest_class(rc),
                Err(e) => warn!(
                    name = %rc.name_any(),
                    namespace = rc.namespace().unwrap_or_default(),
                    error = %e,
                    "malformed KafkaRestClass ignored"
                ),
            }
        }
        self.kafkas.add_to(&mut o);
        o
    }

    /// Reads the Secrets a pass over `objects` asked for and did not find (by name: the
    /// operator caches no Secret), into `objects`. Whether any was found: then the pass is
    /// worth running again.
    async fn read_missing_secrets(&self, objects: &mut Objects) -> Result<bool, Error> {
        let mut found = false;
        for (ns, name) in objects.missing_secrets() {
            if objects.has_secret(&ns, &name) {
                continue;
            }
            let api: Api<Secret> = Api::namespaced(self.client.clone(), &ns);
            if let Some(secret) = api.get_opt(&name).await? {
                let files = secret.data.iter().flatten().filter_map(|(k, v)| {
                    String::from_utf8(v.0.clone())
                        .ok()
                        .map(|t| (k.clone(), SecretValue::new(t)))
                });
                objects.add_secret(&ns, &name, files);
                found = true;
            }
        }
        Ok(found)
    }

    /// Runs `pass` over the objects, reading the Secrets it asks for by name and running it
    /// again while that finds new ones (each Secret a pass needs is looked up before anything
    /// is written, so a pass that missed one changed nothing).
    async fn with_secrets<T, F, Fut>(&self, mut pass: F) -> Result<T, Error>
    where
        F: FnMut(Objects) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let mut objects = self.objects();
        for _ in 0..SECRET_ROUNDS {
            let out = pass(objects.clone()).await;
            if !self.read_missing_secrets(&mut objects).await? {
                return Ok(out);
            }
        }
        Ok(pass(objects).await)
    }

    async fn publish(&self, obj: &DynamicObject, ar: &ApiResource, notes: &[Note]) {
        let reference = obj.object_ref(ar);
        for n in notes {
            let mut note = n.message.clone();
            if note.len() > 1000 {
                let mut cut = 1000;
                while !note.is_char_boundary(cut) {
                    cut -= 1;
                }
                note.truncate(cut);
            }
            let ev = Event {
                type_: if n.warning {
                    EventType::Warning
                } else {
                    EventType::Normal
                },
                reason: n.reason.clone(),
                note: Some(note),
                action: "Reconcile".into(),
                secondary: None,
            };
            if let Err(e) = self.recorder.publish(&ev, &reference).await {
                warn!(error = %e, reason = %n.reason, "could not publish an Event");
            }
        }
    }

    fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    fn backoff(&self, key: &str) -> Duration {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = f.entry(key.to_string()).or_default();
        *n = (*n + 1).min(9);
        Duration::from_millis(500 << *n).min(Duration::from_secs(300))
    }
}

/// A status without what changes on every pass: probe times, and lags beyond whether they are
/// zero. Status writes are watch events that start the next pass at once, so a status that
/// differs only there is not rewritten (but refreshed every [`STATUS_REFRESH`]).
fn comparable(status: &Value) -> Value {
    let mut s = status.clone();
    if let Some(conds) = s.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in conds {
            if let Some(o) = c.as_object_mut() {
                o.remove("lastProbeTime");
            }
        }
    }
    /// Each lag field of `o` as whether it is zero.
    fn lags_as_nonzero(o: &mut Value) {
        for lag in ["maxLag", "maxLagSeconds"] {
            if let Some(v) = o.get(lag).and_then(Value::as_f64) {
                o[lag] = json!(v > 0.0);
            }
        }
    }
    lags_as_nonzero(&mut s);
    for key in ["mirrorTopics", "reverseMirrorTopics"] {
        if let Some(topics) = s.get_mut(key).and_then(Value::as_object_mut) {
            topics.values_mut().for_each(lags_as_nonzero);
        }
    }
    s
}

/// How old a written status may get before lags and probe times are written again.
pub const STATUS_REFRESH: Duration = Duration::from_secs(60);

/// When the status was last written, from its newest `lastProbeTime`.
fn written_at_micros(status: &Value) -> Option<i64> {
    status
        .get("conditions")?
        .as_array()?
        .iter()
        .filter_map(|c| c.get("lastProbeTime")?.as_str())
        .filter_map(clusterlink_reconcile::status::parse_time)
        .max()
}

async fn write_status(
    api: &Api<DynamicObject>,
    ar: &ApiResource,
    obj: &DynamicObject,
    status: &impl Serialize,
) -> Result<(), Error> {
    let new = serde_json::to_value(status)?;
    let old = obj.data.get("status").cloned().unwrap_or(Value::Null);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let fresh =
        written_at_micros(&old).is_some_and(|at| now - at < STATUS_REFRESH.as_micros() as i64);
    if comparable(&old) == comparable(&new) && fresh {
        return Ok(());
    }
    let patch = json!({"apiVersion": ar.api_version, "kind": ar.kind, "status": new});
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

fn action(next: &Next) -> Result<Action, Error> {
    match next {
        Next::After(d) => Ok(Action::requeue(*d)),
        Next::Retry(category) => Err(Error::Transient(category)),
        _ => Ok(Action::await_change()),
    }
}

/// A resource that is not even of its kind's shape: InvalidSpec, and nothing else.
async fn malformed(
    ctx: &Context,
    api: &Api<DynamicObject>,
    ar: &ApiResource,
    obj: &DynamicObject,
    finalizer_name: &str,
    error: &serde_json::Error,
) -> Result<Action, Error> {
    let message = format!("the resource does not fit the {} schema: {error}", ar.kind);
    warn!(name = %obj.name_any(), %message, "malformed resource");
    if obj.metadata.deletion_timestamp.is_some() {
        // Nothing could ever have been created from it: let it go.
        let keep: Vec<String> = obj
            .finalizers()
            .iter()
            .filter(|f| *f != finalizer_name)
            .cloned()
            .collect();
        let patch = json!({"metadata": {"finalizers": keep}});
        api.patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
        return Ok(Action::await_change());
    }
    let now = clusterlink_reconcile::status::now_rfc3339();
    let mut conds: Vec<clusterlink_model::common::Condition> = obj
        .data
        .pointer("/status/conditions")
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default();
    clusterlink_reconcile::status::conditions::mark_malformed(&mut conds, &message, &now);
    let mut status = obj.data.get("status").cloned().unwrap_or_else(|| json!({}));
    status["conditions"] = serde_json::to_value(&conds)?;
    status["observedGeneration"] = json!(obj.metadata.generation);
    write_status(api, ar, obj, &status).await?;
    ctx.publish(
        obj,
        ar,
        &[Note {
            warning: true,
            reason: clusterlink_reconcile::status::conditions::reason::INVALID_SPEC.into(),
            message,
        }],
    )
    .await;
    Ok(Action::await_change())
}

fn finalizer_error(e: kube::runtime::finalizer::Error<Error>) -> Error {
    use kube::runtime::finalizer::Error as F;
    match e {
        F::ApplyFailed(e) | F::CleanupFailed(e) => e,
        F::AddFinalizer(e) | F::RemoveFinalizer(e) => Error::Kube(e),
        other => Error::Finalizer(other.to_string()),
    }
}

/// The label and annotation naming the link a `clink-…` KafkaTopic was promoted from.
const LINK_KEY: &str = "platform.confluent.io/cluster-link";

/// Whether `s` is a valid Kubernetes label value: at most 63 characters of `[A-Za-z0-9._-]`,
/// starting and ending alphanumeric (or empty).
fn is_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    b.is_empty()
        || (b.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric())
}

/// The KafkaTopic that takes over a promoted or failed-over topic (R10), created once.
async fn hand_over(
    ctx: &Context,
    link: &ClusterLink,
    topic: &clusterlink_reconcile::StoppedTopic,
) -> Result<Option<Note>, Error> {
    let ns = link
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let uid = link.metadata.uid.clone().unwrap_or_default();
    let name = promoted_topic_resource_name(&topic.topic, &uid);
    let ar = resource::<KafkaTopic>();
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &ns, &ar);
    if let Some(existing) = api.get_opt(&name).await? {
        // Two topics can map to one name (case, `_` → `-`, the 63-character cut): say so
        // rather than leave the second topic without its KafkaTopic.
        let owns = existing.data.pointer("/spec/name").and_then(Value::as_str);
        return Ok(match owns {
            Some(t) if t != topic.topic => Some(Note {
                warning: true,
                reason: "KafkaTopicNameTaken".into(),
                message: format!(
                    "topic {} was not handed to a KafkaTopic: {name} already exists for topic {t}",
                    topic.topic
                ),
            }),
            _ => None,
        });
    }
    let local = topology(&link.spec).local.of(&link.spec).clone();
    let mut spec = json!({"name": topic.topic});
    if let Some(p) = topic.partitions {
        spec["partitionCount"] = json!(p);
    }
    if let Some(r) = &local.kafka_rest_class_ref {
        spec["kafkaRestClassRef"] = serde_json::to_value(r)?;
    } else if let Some(k) = &local.name {
        spec["kafkaClusterRef"] =
            json!({"name": k, "namespace": local.namespace.clone().unwrap_or_else(|| ns.clone())});
    }
    // The link's name always goes in an annotation; in a label only when it is a valid label
    // value (link names may end in `_` or `.`, or be longer than 63 characters, and the API
    // server refuses such a label, which would fail every pass of the link).
    let link_name = link.link_name().unwrap_or_default();
    let mut labels = json!({"app.kubernetes.io/managed-by": MANAGER});
    if is_label_value(link_name) {
        labels[LINK_KEY] = json!(link_name);
    }
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": ar.api_version, "kind": ar.kind,
        "metadata": {"name": name, "namespace": ns, "labels": labels,
                     "annotations": {LINK_KEY: link_name}},
        "spec": spec,
    }))?;
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => Ok(Some(Note {
            warning: false,
            reason: "KafkaTopicCreated".into(),
            message: format!("KafkaTopic {name} now owns topic {}", topic.topic),
        })),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[instrument(skip_all, fields(namespace = obj.namespace().unwrap_or_default(), name = %obj.name_any()))]
async fn reconcile_link(obj: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let ar = resource::<ClusterLink>();
    let ns = obj.namespace().unwrap_or_else(|| "default".into());
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &ns, &ar);
    let key = format!("ClusterLink {ns}/{}", obj.name_any());
    let mut writes = 0;
    let result = match typed::<ClusterLink>(&obj) {
        Err(e) => malformed(&ctx, &api, &ar, &obj, LINK_FINALIZER, &e).await,
        Ok(link) => finalizer(&api, LINK_FINALIZER, obj.clone(), |event| async {
            match event {
                Finalizer::Apply(obj) => {
                    let outcome = ctx
                        .with_secrets(async |o| ctx.links.reconcile(&link, &o).await)
                        .await?;
                    writes = outcome.writes;
                    let mut notes = outcome.notes.clone();
                    // A failed hand-over (RBAC, API refusal) must not hide the status: it is
                    // reported, the status written, and the pass retried.
                    let mut hand_over_failed = None;
                    for t in &outcome.stopped {
                        match hand_over(&ctx, &link, t).await {
                            Ok(Some(n)) => notes.push(n),
                            Ok(None) => {}
                            Err(e) => {
                                notes.push(Note {
                                    warning: true,
                                    reason: "KafkaTopicNotCreated".into(),
                                    message: format!(
                                        "the KafkaTopic taking over topic {} could not be created: {e}",
                                        t.topic
                                    ),
                                });
                                hand_over_failed = Some(e);
                            }
                        }
                    }
                    ctx.publish(&obj, &ar, &notes).await;
                    let ready = outcome.status.conditions.iter().flatten().any(|c| {
                        c.type_.as_deref() == Some(READY) && c.status.as_deref() == Some("True")
                    });
                    let lags: BTreeMap<String, i64> = outcome
                        .status
                        .mirror_topics
                        .iter()
                        .flatten()
                        .filter_map(|(t, s)| s.max_lag.map(|l| (t.clone(), l)))
                        .collect();
                    ctx.metrics.link(&ns, &obj.name_any(), ready, &lags);
                    write_status(&api, &ar, &obj, &outcome.status).await?;
                    if let Some(e) = hand_over_failed {
                        return Err(e);
                    }
                    action(&outcome.next)
                }
                Finalizer::Cleanup(obj) => {
                    let cleanup = ctx
                        .with_secrets(async |o| ctx.links.cleanup(&link, &o).await)
                        .await?;
                    let notes = match cleanup {
                        Ok(notes) => notes,
                        Err(e) => abandon_cleanup(
                            "the link",
                            e.into(),
                            deletion_time(&obj),
                            jiff::Timestamp::now().as_second(),
                            ctx.cleanup_deadline,
                        )?,
                    };
                    ctx.publish(&obj, &ar, &notes).await;
                    ctx.metrics.forget_link(&ns, &obj.name_any());
                    info!("link deleted with its resource");
                    Ok(Action::await_change())
                }
            }
        })
        .await
        .map_err(finalizer_error),
    };
    ctx.metrics
        .reconciled("clusterlink", result.is_ok(), started.elapsed(), writes);
    if result.is_ok() {
        ctx.succeeded(&key);
    }
    result
}

#[instrument(skip_all, fields(namespace = obj.namespace().unwrap_or_default(), name = %obj.name_any()))]
async fn reconcile_topic(obj: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let ar = resource::<KafkaTopic>();
    let ns = obj.namespace().unwrap_or_else(|| "default".into());
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &ns, &ar);
    let key = format!("KafkaTopic {ns}/{}", obj.name_any());
    let mut writes = 0;
    // CFK's schema does not require `spec`; an absent one reads as empty.
    let mut with_spec = (*obj).clone();
    if with_spec.data.get("spec").is_none_or(Value::is_null) {
        with_spec.data["spec"] = json!({});
    }
    let result = match typed::<KafkaTopic>(&with_spec) {
        Err(e) => malformed(&ctx, &api, &ar, &obj, TOPIC_FINALIZER, &e).await,
        Ok(topic) => finalizer(&api, TOPIC_FINALIZER, obj.clone(), |event| async {
            match event {
                Finalizer::Apply(obj) => {
                    let outcome = ctx
                        .with_secrets(async |o| ctx.topics.reconcile(&topic, &o).await)
                        .await?;
                    writes = outcome.writes;
                    ctx.publish(&obj, &ar, &outcome.notes).await;
                    write_status(&api, &ar, &obj, &outcome.status).await?;
                    action(&outcome.next)
                }
                Finalizer::Cleanup(obj) => {
                    let cleanup = ctx
                        .with_secrets(async |o| ctx.topics.cleanup(&topic, &o).await)
                        .await?;
                    let notes = match cleanup {
                        Ok(notes) => notes,
                        Err(e) => abandon_cleanup(
                            "the topic",
                            e.into(),
                            deletion_time(&obj),
                            jiff::Timestamp::now().as_second(),
                            ctx.cleanup_deadline,
                        )?,
                    };
                    ctx.publish(&obj, &ar, &notes).await;
                    Ok(Action::await_change())
                }
            }
        })
        .await
        .map_err(finalizer_error),
    };
    ctx.metrics
        .reconciled("kafkatopic", result.is_ok(), started.elapsed(), writes);
    if result.is_ok() {
        ctx.succeeded(&key);
    }
    result
}

fn error_policy(
    controller: &'static str,
) -> impl Fn(Arc<DynamicObject>, &Error, Arc<Context>) -> Action {
    move |obj, err, ctx| {
        ctx.metrics.error(controller, err.category());
        let key = format!(
            "{} {}/{}",
            if controller == "clusterlink" {
                "ClusterLink"
            } else {
                "KafkaTopic"
            },
            obj.namespace().unwrap_or_default(),
            obj.name_any()
        );
        let wait = ctx.backoff(&key);
        warn!(%key, error = %err, category = err.category(), ?wait, "reconcile failed; retrying");
        Action::requeue(wait)
    }
}

fn api_for(client: &Client, namespace: Option<&str>, ar: &ApiResource) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, ar),
        None => Api::all_with(client.clone(), ar),
    }
}

/// A stream of unit triggers from a broadcast channel (lagging receivers just trigger once more).
fn triggers(rx: broadcast::Receiver<()>) -> impl Stream<Item = ()> + Send + 'static {
    futures::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => Some(((), rx)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    })
}

/// Runs both controllers until `shutdown` completes.
pub async fn run_controllers(
    client: Client,
    config: ControllerConfig,
    metrics: Metrics,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> Result<(), Error> {
    let ns = config.namespace.as_deref();
    // Caches of what the resources refer to; a change re-runs every reconcile (idempotent, and
    // a pass that changes nothing writes nothing).
    let (tx, _) = broadcast::channel::<()>(16);
    let rc_ar = resource::<KafkaRestClass>();
    let rc_writer = reflector::store::Writer::new(rc_ar.clone());
    let rc_store = rc_writer.as_reader();
    let rc_stream = reflector(
        rc_writer,
        watcher(api_for(&client, ns, &rc_ar), watcher::Config::default()),
    )
    .default_backoff()
    .touched_objects();
    let (kafkas, kafka_tasks) = KafkaCaches::spawn(&client, ns, tx.clone());
    let tx1 = tx.clone();
    let caches = tokio::spawn(async move {
        let rc = rc_stream.for_each(|_| {
            let _ = tx1.send(());
            async {}
        });
        rc.await;
    });
    let wait = async {
        let _ = rc_store.wait_until_ready().await;
    };
    if tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .is_err()
    {
        caches.abort();
        kafka_tasks.iter().for_each(|t| t.abort());
        return Err(Error::Lease(
            "the KafkaRestClass cache did not fill within 60 s".into(),
        ));
    }
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: MANAGER.into(),
            instance: Some(config.instance.clone()),
        },
    );
    let cl_ar = resource::<ClusterLink>();
    let link_controller = Controller::new_with(
        api_for(&client, ns, &cl_ar),
        watcher::Config::default(),
        cl_ar,
    );
    let ctx = Arc::new(Context {
        client: client.clone(),
        cluster_links: link_controller.store(),
        links: LinkReconciler::new(config.request_timeout),
        topics: TopicReconciler::new(config.request_timeout),
        rest_classes: rc_store,
        kafkas,
        recorder,
        metrics: metrics.clone(),
        failures: Mutex::new(HashMap::new()),
        cleanup_deadline: config.cleanup_deadline,
    });
    let shutdown = futures::future::FutureExt::shared(Box::pin(shutdown));
    let links = link_controller
        .reconcile_all_on(triggers(tx.subscribe()))
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile_link, error_policy("clusterlink"), ctx.clone())
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "ClusterLink controller");
            }
        });
    let kt_ar = resource::<KafkaTopic>();
    let topics = Controller::new_with(
        api_for(&client, ns, &kt_ar),
        watcher::Config::default(),
        kt_ar,
    )
    .reconcile_all_on(triggers(tx.subscribe()))
    .graceful_shutdown_on(shutdown.clone())
    .run(reconcile_topic, error_policy("kafkatopic"), ctx)
    .for_each(|r| async move {
        if let Err(e) = r {
            tracing::debug!(error = %e, "KafkaTopic controller");
        }
    });
    metrics.set_ready(true);
    info!(namespace = ns.unwrap_or("<all>"), "controllers running");
    futures::join!(links, topics);
    metrics.set_ready(false);
    caches.abort();
    kafka_tasks.iter().for_each(|t| t.abort());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{abandon_cleanup, comparable, is_label_value, Error};
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn a_failing_cleanup_is_retried_until_the_deadline_then_abandoned_with_a_warning() {
        let deadline = Duration::from_secs(600);
        let err = || Error::Transient("rest-unreachable");
        // Deleted 9 minutes ago: retried.
        let r = abandon_cleanup("the link", err(), Some(1_000), 1_540, deadline);
        assert!(matches!(r, Err(Error::Transient(_))), "{r:?}");
        // No deletion time known: retried.
        assert!(abandon_cleanup("the link", err(), None, 1_540, deadline).is_err());
        // 10 minutes: abandoned, said as a warning that names the cause.
        let notes = abandon_cleanup("the link", err(), Some(1_000), 1_600, deadline).unwrap();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].warning);
        assert_eq!(notes[0].reason, "CleanupAbandoned");
        assert!(
            notes[0].message.contains("within 600s"),
            "{}",
            notes[0].message
        );
        assert!(
            notes[0].message.contains("rest-unreachable"),
            "{}",
            notes[0].message
        );
    }

    #[test]
    fn statuses_differing_only_in_nonzero_lags_compare_equal() {
        let status = |lag: i64, secs: f64| {
            json!({"maxLag": lag, "maxLagSeconds": secs,
                   "mirrorTopics": {"t": {"maxLag": lag, "maxLagSeconds": secs}}})
        };
        assert_eq!(comparable(&status(5, 1.5)), comparable(&status(9, 0.2)));
        assert_ne!(comparable(&status(5, 1.5)), comparable(&status(0, 0.0)));
        assert_ne!(comparable(&status(0, 1.5)), comparable(&status(0, 0.0)));
    }

    #[test]
    fn label_values_follow_the_api_servers_rule() {
        for ok in ["", "orders-link", "a", "my_link.v2", &"x".repeat(63)] {
            assert!(is_label_value(ok), "{ok:?}");
        }
        for bad in ["orders-link_", "_a", ".a", "a-", &"x".repeat(64), "no good"] {
            assert!(!is_label_value(bad), "{bad:?}");
        }
    }
}
