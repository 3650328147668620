//! `clusterlink apply`: the reconcile core driven from YAML files, for places without Kubernetes
//! (a laptop, a CI pipeline, the quickstart); `clusterlink status` reads the same files.
//!
//! The files hold the same documents a cluster would ([`manifests`]): ClusterLinks,
//! KafkaTopics, the KafkaRestClasses they name, the Secrets with their credentials, and the
//! `Kafka` resources whose listeners give clusters' endpoints. Without an API server there is
//! no stored status: `apply` keeps it in memory for as long as it runs, and `status` reads it
//! live from the link servers.
//!
//! A one-shot `apply` fails fast: a refusal (HTTP 4xx, an invalid spec, a missing object, an
//! unresolvable reference) is reported once and ends the command; only transient failures are
//! retried, with backoff, within `--retry-for-secs`. `--watch` retries everything with backoff
//! and prints a failure when it starts or changes, not at every attempt.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Result};
use clusterlink_model::common::Condition;
use clusterlink_model::names::promoted_topic_resource_name;
use clusterlink_reconcile::status::conditions::reason::WAITING_FOR_INBOUND_LINK;
use clusterlink_reconcile::status::{condition, READY, RECONCILED};
use clusterlink_reconcile::{LinkReconciler, Next, Note, TopicReconciler};

mod manifests;

use manifests::files;
pub use manifests::{load, Manifests};

pub(crate) fn key(namespace: Option<&str>, name: Option<&str>) -> String {
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

/// How a pass left a resource, for `apply` to decide what next. The reconcile core classifies
/// failures ([`Next::Retry`] only for what retrying can cure); this only reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// Reconciled (a link) or Ready (a topic).
    Settled,
    /// Failed in a way retrying can cure: the link server did not answer, HTTP 5xx, 408, 429,
    /// a timeout.
    Transient,
    /// Waiting for another resource: a source-initiated link's OUTBOUND side until its INBOUND
    /// side exists (R5), which the same run may be creating. Looked at again while anything
    /// else moves; left unreconciled (and reported so) when nothing does.
    Waiting,
    /// Refused: HTTP 4xx, an invalid spec, a missing object, an unresolvable reference. The
    /// same pass would fail the same way until the files change.
    Refused,
}

/// The verdict on a pass whose status has `conditions`, judged by condition `settled_by`.
fn verdict(conditions: &[Condition], settled_by: &str, next: &Next) -> Verdict {
    let settled_by = condition(conditions, settled_by);
    let settled = settled_by.is_some_and(|c| c.status.as_deref() == Some("True"));
    let waiting = settled_by.is_some_and(|c| c.reason.as_deref() == Some(WAITING_FOR_INBOUND_LINK));
    match next {
        _ if settled => Verdict::Settled,
        _ if waiting => Verdict::Waiting,
        Next::Retry(_) => Verdict::Transient,
        _ => Verdict::Refused,
    }
}

/// The message of condition `type_`, if it is not true: what a failure says.
fn failure_message(conditions: &[Condition], type_: &str) -> String {
    condition(conditions, type_)
        .map(|c| {
            format!(
                "{}: {}",
                c.reason.as_deref().unwrap_or_default(),
                c.message.as_deref().unwrap_or_default()
            )
        })
        .unwrap_or_default()
}

/// In-memory state of `apply` across passes: statuses, when each resource is due, and the
/// failure each last reported (so that a failure is printed when it starts or changes, not at
/// every attempt).
#[derive(Default)]
struct State {
    link_status: HashMap<String, clusterlink_model::ClusterLinkStatus>,
    topic_status: HashMap<String, clusterlink_model::KafkaTopicStatus>,
    due: HashMap<String, Instant>,
    failures: HashMap<String, u32>,
    announced: HashMap<String, String>,
    /// Per resource: the failure last printed, and since when it has failed transiently.
    failing: HashMap<String, (String, Option<Instant>)>,
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

    /// Prints a pass's notes: all of them, except the warnings of a failure already printed.
    fn report(&mut self, key: &str, notes: &[Note], verdict: Verdict, failure: String) {
        if verdict == Verdict::Settled {
            self.failing.remove(key);
            print_notes(key, notes);
            return;
        }
        let since = (verdict == Verdict::Transient).then(Instant::now);
        let previous = self.failing.get(key);
        let same = previous.is_some_and(|(m, _)| *m == failure);
        let since = match previous {
            Some((_, Some(t))) if verdict == Verdict::Transient => Some(*t),
            _ => since,
        };
        if same {
            let fresh: Vec<Note> = notes.iter().filter(|n| !n.warning).cloned().collect();
            print_notes(key, &fresh);
        } else {
            print_notes(key, notes);
        }
        self.failing.insert(key.to_string(), (failure, since));
    }

    /// The resources failing transiently (retried when due), with how long they have been.
    fn transient(&self) -> Vec<(String, Duration)> {
        let mut v: Vec<(String, Duration)> = self
            .failing
            .iter()
            .filter_map(|(k, (_, since))| since.map(|t| (k.clone(), t.elapsed())))
            .collect();
        v.sort();
        v
    }
}

/// What one round saw.
#[derive(Default)]
struct Round {
    /// Writes made, or a transition under way.
    moving: bool,
    /// Resources refused, by key.
    refused: Vec<String>,
}

/// One round: every due ClusterLink and KafkaTopic once.
async fn round(
    m: &Manifests,
    links: &LinkReconciler,
    topics: &TopicReconciler,
    state: &mut State,
) -> Round {
    let mut refused = Vec::new();
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
        let conditions = out.status.conditions.clone().unwrap_or_default();
        let v = verdict(&conditions, RECONCILED, &out.next);
        state.report(&k, &out.notes, v, failure_message(&conditions, RECONCILED));
        if v == Verdict::Refused {
            refused.push(k.clone());
        }
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
        let conditions = out.status.conditions.clone().unwrap_or_default();
        let v = verdict(&conditions, READY, &out.next);
        state.report(&k, &out.notes, v, failure_message(&conditions, READY));
        if v == Verdict::Refused {
            refused.push(k.clone());
        }
        moving |= out.writes > 0;
        state.schedule(&k, &out.next);
        state.topic_status.insert(k, out.status);
    }
    Round { moving, refused }
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

/// How `apply` runs.
#[derive(Clone, Copy, Debug)]
pub struct ApplyOptions {
    /// Keep reconciling until interrupted.
    pub watch: bool,
    /// Without `watch`: how long to follow transitions (creation, promotion).
    pub timeout: Duration,
    /// Without `watch`: how long a transient failure is retried before giving up.
    pub retry_for: Duration,
    /// Timeout of each REST request.
    pub request_timeout: Duration,
}

/// `clusterlink apply`. Without `watch`: passes until nothing moves any more, then a summary;
/// `Ok(false)` when a resource could not be applied. A refusal ends it at once (after the round
/// it happened in); a transient failure is retried with backoff for `retry_for`.
pub async fn apply(paths: &[PathBuf], namespace: &str, o: ApplyOptions) -> Result<bool> {
    let mut m = load(paths, namespace)?;
    if m.links.is_empty() && m.topics.is_empty() {
        bail!("no ClusterLink or KafkaTopic in {paths:?}");
    }
    let links = LinkReconciler::new(o.request_timeout);
    let topics = TopicReconciler::new(o.request_timeout);
    let mut state = State::default();
    if !o.watch {
        let deadline = Instant::now() + o.timeout;
        loop {
            let seen = round(&m, &links, &topics, &mut state).await;
            if !seen.refused.is_empty() {
                eprintln!("error: refused, not retried: {}", seen.refused.join(", "));
                break;
            }
            let transient = state.transient();
            let expired: Vec<&str> = transient
                .iter()
                .filter(|(_, failing)| *failing >= o.retry_for)
                .map(|(k, _)| k.as_str())
                .collect();
            if !expired.is_empty() {
                eprintln!(
                    "error: still failing after retrying for {:?}: {}",
                    o.retry_for,
                    expired.join(", ")
                );
                break;
            }
            if (!seen.moving && transient.is_empty()) || Instant::now() >= deadline {
                break;
            }
            if seen.moving {
                // Transitions (creation, promotion) are followed without waiting for their due
                // time; resources failing transiently keep their backoff.
                state
                    .due
                    .retain(|k, _| transient.iter().any(|(t, _)| t == k));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn conditions(reconciled: &str) -> Vec<Condition> {
        vec![Condition {
            type_: Some(RECONCILED.into()),
            status: Some(reconciled.into()),
            reason: Some("R".into()),
            message: Some("m".into()),
            ..Default::default()
        }]
    }

    #[test]
    fn only_what_the_core_retries_is_transient() {
        let failed = conditions("False");
        let retry = Next::Retry("rest-unreachable");
        let later = Next::After(Duration::from_secs(30));
        assert_eq!(verdict(&failed, RECONCILED, &retry), Verdict::Transient);
        assert_eq!(verdict(&failed, RECONCILED, &later), Verdict::Refused);
        assert_eq!(
            verdict(&failed, RECONCILED, &Next::WaitForChange),
            Verdict::Refused
        );
        assert_eq!(
            verdict(&conditions("True"), RECONCILED, &later),
            Verdict::Settled
        );
        assert_eq!(verdict(&[], RECONCILED, &later), Verdict::Refused);
        assert_eq!(failure_message(&failed, RECONCILED), "R: m");
    }

    #[test]
    fn an_outbound_side_waiting_for_its_inbound_side_is_not_refused() {
        let mut waiting = conditions("False");
        waiting[0].reason = Some(WAITING_FOR_INBOUND_LINK.into());
        let soon = Next::After(Duration::from_secs(1));
        assert_eq!(verdict(&waiting, RECONCILED, &soon), Verdict::Waiting);
    }

    #[test]
    fn a_failure_is_reported_once_until_it_changes() {
        let mut s = State::default();
        let k = "ClusterLink ns/l";
        let t0 = {
            s.report(k, &[], Verdict::Transient, "A".into());
            s.failing[k].1.unwrap()
        };
        s.report(k, &[], Verdict::Transient, "A".into());
        assert_eq!(s.failing[k].1, Some(t0), "the same failure keeps its start");
        s.report(k, &[], Verdict::Refused, "B".into());
        assert_eq!(s.failing[k].1, None);
        assert_eq!(s.failing[k].0, "B");
        assert_eq!(s.transient(), []);
        s.report(k, &[], Verdict::Transient, "C".into());
        assert_eq!(s.transient().len(), 1);
        s.report(k, &[], Verdict::Settled, String::new());
        assert!(!s.failing.contains_key(k));
    }
}
