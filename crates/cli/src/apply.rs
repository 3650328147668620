//! `clusterlink apply` and `clusterlink status`: the reconcile core driven from YAML files, for
//! places without Kubernetes (a laptop, a CI pipeline, the quickstart).
//!
//! The files hold the same documents a cluster would: ClusterLinks, KafkaTopics, the
//! KafkaRestClasses they name and the Secrets with their credentials. Other kinds (CFK's `Kafka`,
//! `Zookeeper`, ...) are skipped with a note, so a CFK manifest folder can be used as is. Without
//! an API server there is no stored status: `apply` keeps it in memory for as long as it runs,
//! and `status` reads it live from the link servers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use clusterlink_model::compat::ParseError;
use clusterlink_model::names::promoted_topic_resource_name;
use clusterlink_model::{parse_documents, parse_resource, ClusterLink, KafkaTopic, Resource};
use clusterlink_reconcile::status::{condition, READY, RECONCILED};
use clusterlink_reconcile::{LinkReconciler, Next, Note, Objects, TopicReconciler};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// What the files hold.
#[derive(Debug, Default)]
pub struct Manifests {
    /// ClusterLinks, in file order.
    pub links: Vec<ClusterLink>,
    /// KafkaTopics, in file order.
    pub topics: Vec<KafkaTopic>,
    /// KafkaRestClasses and Secrets.
    pub objects: Objects,
}

/// Files under `paths`: files as given, folders walked for `.yaml`, `.yml` and `.json`, sorted.
fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("{}", p.display()))?;
        if meta.is_dir() {
            let mut inner = Vec::new();
            walk(p, &mut inner)?;
            inner.sort();
            out.extend(inner);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
        let path = e?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| matches!(x, "yaml" | "yml" | "json"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// A stand-in for the uid an API server would give: stable for a namespace and name, so the
/// `clink-<topic>-<uid>` names of promoted topics (R10) do not change between runs.
fn local_uid(namespace: &str, name: &str) -> String {
    let d = Sha256::digest(format!("{namespace}/{name}").as_bytes());
    let h: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Reads every document of the files.
pub fn load(paths: &[PathBuf], namespace: &str) -> Result<Manifests> {
    let mut m = Manifests::default();
    for file in files(paths)? {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let docs = parse_documents(&text).with_context(|| format!("{}", file.display()))?;
        for (i, doc) in docs.into_iter().enumerate() {
            let at = format!("{} (document {})", file.display(), i + 1);
            let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
            let api_version = doc
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if kind == "Secret" && api_version == "v1" {
                m.objects
                    .add_secret_document(&doc, namespace)
                    .with_context(|| at.clone())?;
                continue;
            }
            let parsed = match parse_resource(doc) {
                Ok(p) => p,
                Err(ParseError::UnsupportedKind { api_version, kind }) => {
                    eprintln!("{at}: skipping {api_version} {kind}: not managed by clusterlink");
                    continue;
                }
                Err(e) => bail!("{at}: {e}"),
            };
            for f in &parsed.dropped_fields {
                eprintln!(
                    "{at}: {}: unknown field {f} ignored",
                    parsed.resource.kind()
                );
            }
            match parsed.resource {
                Resource::ClusterLink(mut l) => {
                    let ns = l
                        .metadata
                        .namespace
                        .get_or_insert_with(|| namespace.to_string())
                        .clone();
                    let name = l.metadata.name.clone().unwrap_or_default();
                    l.metadata.uid.get_or_insert_with(|| local_uid(&ns, &name));
                    l.metadata.generation.get_or_insert(1);
                    m.objects.add_cluster_link((*l).clone());
                    m.links.push(*l);
                }
                Resource::KafkaRestClass(mut rc) => {
                    rc.metadata
                        .namespace
                        .get_or_insert_with(|| namespace.to_string());
                    m.objects.add_rest_class(*rc);
                }
                Resource::KafkaTopic(mut t) => {
                    t.metadata
                        .namespace
                        .get_or_insert_with(|| namespace.to_string());
                    t.metadata.generation.get_or_insert(1);
                    m.topics.push(*t);
                }
                other => eprintln!("{at}: skipping {}", other.kind()),
            }
        }
    }
    Ok(m)
}

fn key(namespace: Option<&str>, name: Option<&str>) -> String {
    format!(
        "{}/{}",
        namespace.unwrap_or("default"),
        name.unwrap_or_default()
    )
}

fn print_notes(what: &str, notes: &[Note]) {
    for n in notes {
        let mark = if n.warning { "warning" } else { "ok" };
        println!("{what}: [{mark}] {}: {}", n.reason, n.message);
    }
}

/// In-memory state of `apply` across passes: statuses and when each resource is due.
#[derive(Default)]
struct State {
    link_status: HashMap<String, clusterlink_model::ClusterLinkStatus>,
    topic_status: HashMap<String, clusterlink_model::KafkaTopicStatus>,
    due: HashMap<String, Instant>,
    failures: HashMap<String, u32>,
    announced: HashMap<String, String>,
}

impl State {
    fn schedule(&mut self, key: &str, next: &Next) {
        let after = match next {
            Next::After(d) => {
                self.failures.remove(key);
                *d
            }
            Next::Retry(_) => {
                let n = self.failures.entry(key.to_string()).or_default();
                *n += 1;
                Duration::from_millis(500 << (*n).min(7))
            }
            // Only a change of the files brings it back.
            _ => Duration::from_secs(365 * 24 * 3600),
        };
        self.due.insert(key.to_string(), Instant::now() + after);
    }

    fn is_due(&self, key: &str) -> bool {
        self.due.get(key).is_none_or(|t| *t <= Instant::now())
    }
}

/// One round: every due ClusterLink and KafkaTopic once. Returns whether anything is still
/// moving (writes made or a transition under way).
async fn round(
    m: &Manifests,
    links: &LinkReconciler,
    topics: &TopicReconciler,
    state: &mut State,
) -> bool {
    let mut moving = false;
    for l in &m.links {
        let k = format!(
            "ClusterLink {}",
            key(l.metadata.namespace.as_deref(), l.metadata.name.as_deref())
        );
        if !state.is_due(&k) {
            continue;
        }
        let mut l = l.clone();
        l.status = state.link_status.get(&k).cloned();
        let out = links.reconcile(&l, &m.objects).await;
        print_notes(&k, &out.notes);
        for s in &out.stopped {
            let uid = l.metadata.uid.as_deref().unwrap_or_default();
            let resource = promoted_topic_resource_name(&s.topic, uid);
            if state
                .announced
                .insert(format!("{k}/{}", s.topic), resource.clone())
                .is_none()
            {
                println!(
                    "{k}: [ok] TopicHandedOver: topic {} is no longer a mirror; under the operator, KafkaTopic {resource} takes it over",
                    s.topic
                );
            }
        }
        moving |= out.writes > 0 || out.next == Next::After(clusterlink_reconcile::link::SOON);
        state.schedule(&k, &out.next);
        state.link_status.insert(k, out.status);
    }
    for t in &m.topics {
        let k = format!(
            "KafkaTopic {}",
            key(t.metadata.namespace.as_deref(), t.metadata.name.as_deref())
        );
        if !state.is_due(&k) {
            continue;
        }
        let mut t = t.clone();
        t.status = state.topic_status.get(&k).cloned();
        let out = topics.reconcile(&t, &m.objects).await;
        print_notes(&k, &out.notes);
        moving |= out.writes > 0;
        state.schedule(&k, &out.next);
        state.topic_status.insert(k, out.status);
    }
    moving
}

fn summary(state: &State) -> bool {
    let mut ok = true;
    let mut keys: Vec<&String> = state.link_status.keys().collect();
    keys.sort();
    for k in keys {
        let s = &state.link_status[k];
        let conds = s.conditions.as_deref().unwrap_or_default();
        let line = |t: &str| {
            condition(conds, t)
                .map(|c| {
                    format!(
                        "{t}={} ({}: {})",
                        c.status.as_deref().unwrap_or("Unknown"),
                        c.reason.as_deref().unwrap_or_default(),
                        c.message.as_deref().unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| format!("{t}=Unknown"))
        };
        let reconciled =
            condition(conds, RECONCILED).is_some_and(|c| c.status.as_deref() == Some("True"));
        ok &= reconciled;
        println!("{k}: {}", line(RECONCILED));
        println!("{k}: {}", line(READY));
    }
    let mut keys: Vec<&String> = state.topic_status.keys().collect();
    keys.sort();
    for k in keys {
        let conds = state.topic_status[k].conditions.clone().unwrap_or_default();
        if let Some(c) = condition(&conds, READY) {
            ok &= c.status.as_deref() == Some("True");
            println!(
                "{k}: Ready={} ({}: {})",
                c.status.as_deref().unwrap_or("Unknown"),
                c.reason.as_deref().unwrap_or_default(),
                c.message.as_deref().unwrap_or_default()
            );
        }
    }
    ok
}

fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    files(paths)
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            let meta = std::fs::metadata(&f).ok();
            let modified = meta.as_ref().and_then(|m| m.modified().ok());
            let len = meta.map(|m| m.len()).unwrap_or(0);
            (f, modified, len)
        })
        .collect()
}

/// `clusterlink apply`. Without `watch`: passes until nothing moves any more (bounded by
/// `timeout`), then a summary; `Ok(false)` when a resource could not be applied.
pub async fn apply(
    paths: &[PathBuf],
    namespace: &str,
    watch: bool,
    timeout: Duration,
    request_timeout: Duration,
) -> Result<bool> {
    let mut m = load(paths, namespace)?;
    if m.links.is_empty() && m.topics.is_empty() {
        bail!("no ClusterLink or KafkaTopic in {paths:?}");
    }
    let links = LinkReconciler::new(request_timeout);
    let topics = TopicReconciler::new(request_timeout);
    let mut state = State::default();
    if !watch {
        let deadline = Instant::now() + timeout;
        loop {
            let moving = round(&m, &links, &topics, &mut state).await;
            if !moving || Instant::now() >= deadline {
                break;
            }
            // Transitions (creation, promotion) are followed without waiting for their due time.
            state.due.clear();
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        return Ok(summary(&state));
    }
    let mut seen = fingerprint(paths);
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        round(&m, &links, &topics, &mut state).await;
        tokio::select! {
            _ = &mut stop => {
                summary(&state);
                return Ok(true);
            }
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        let now = fingerprint(paths);
        if now != seen {
            seen = now;
            match load(paths, namespace) {
                Ok(new) => {
                    println!("files changed: reloaded");
                    for old in &m.links {
                        let gone = !new.links.iter().any(|l| {
                            l.metadata.name == old.metadata.name
                                && l.metadata.namespace == old.metadata.namespace
                        });
                        if gone {
                            println!(
                                "ClusterLink {}: no longer in the files; its link is left as it is",
                                key(
                                    old.metadata.namespace.as_deref(),
                                    old.metadata.name.as_deref()
                                )
                            );
                        }
                    }
                    m = new;
                    state.due.clear();
                }
                Err(e) => {
                    eprintln!("files changed but cannot be read, keeping the previous ones: {e:#}")
                }
            }
        }
    }
}

/// `clusterlink status`: per ClusterLink, the status block the operator would write, read live.
pub async fn status(
    paths: &[PathBuf],
    namespace: &str,
    json_output: bool,
    request_timeout: Duration,
) -> Result<()> {
    let m = load(paths, namespace)?;
    let links = LinkReconciler::new(request_timeout);
    let mut docs = Vec::new();
    for l in &m.links {
        let out = links.observe(l, &m.objects).await;
        let k = key(l.metadata.namespace.as_deref(), l.metadata.name.as_deref());
        for n in out
            .notes
            .iter()
            .filter(|n| n.reason == clusterlink_reconcile::outcome::PENDING)
        {
            eprintln!("ClusterLink {k}: not applied yet: {}", n.message);
        }
        docs.push(json!({
            "apiVersion": "platform.confluent.io/v1beta1",
            "kind": "ClusterLink",
            "metadata": {"name": l.metadata.name, "namespace": l.metadata.namespace},
            "status": out.status,
        }));
    }
    if json_output {
        let v = if docs.len() == 1 {
            docs.remove(0)
        } else {
            json!({"apiVersion": "v1", "kind": "List", "items": docs})
        };
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let mut out = String::new();
        for d in &docs {
            out.push_str("---\n");
            out.push_str(&serde_norway::to_string(d)?);
        }
        print!("{out}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_uids_are_stable_and_uuid_shaped() {
        let a = local_uid("ns", "link");
        assert_eq!(a, local_uid("ns", "link"));
        assert_ne!(a, local_uid("ns", "other"));
        assert_eq!(
            a.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
    }

    #[test]
    fn documents_sorted_into_resources_secrets_and_skipped_kinds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.yaml"),
            r#"
apiVersion: platform.confluent.io/v1beta1
kind: Kafka
metadata: {name: kafka}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {plain.txt: "username=a\npassword=b"}
---
apiVersion: platform.confluent.io/v1beta1
kind: KafkaRestClass
metadata: {name: rest}
spec: {kafkaRest: {endpoint: "http://localhost:1"}}
---
apiVersion: platform.confluent.io/v1beta1
kind: ClusterLink
metadata: {name: link}
spec:
  sourceKafkaCluster: {bootstrapEndpoint: "s:9092"}
  destinationKafkaCluster: {kafkaRestClassRef: {name: rest}}
"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("ignored.txt"), "not yaml: [").unwrap();
        let m = load(&[dir.path().to_path_buf()], "team").unwrap();
        assert_eq!(m.links.len(), 1);
        assert_eq!(m.links[0].metadata.namespace.as_deref(), Some("team"));
        assert!(m.objects.rest_class("team", "rest").is_some());
        assert!(m.objects.secret("team", "creds").is_some());
    }

    #[test]
    fn the_quickstart_examples_load_and_validate() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart");
        let m = load(&[dir], "default").unwrap();
        assert_eq!(m.links.len(), 1);
        for l in &m.links {
            clusterlink_model::validate_cluster_link(l).unwrap();
        }
        assert!(m
            .objects
            .rest_class("destination", "kafka-dest-rest")
            .is_some());
        assert!(m
            .objects
            .rest_class_for_kafka("destination", "kafka-dest")
            .is_some());
    }

    #[test]
    fn a_malformed_document_names_file_and_document() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.yaml");
        std::fs::write(
            &f,
            "apiVersion: platform.confluent.io/v1beta1\nkind: ClusterLink\nmetadata: {name: x}\nspec: {mirrorTopics: 3}\n",
        )
        .unwrap();
        let e = load(&[f], "default").unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("bad.yaml (document 1)"), "{msg}");
        assert!(msg.contains("ClusterLink"), "{msg}");
    }
}
