//! A ClusterLink's status, computed without I/O from what the pass saw and did: CFK's fields
//! (ids, state, mirror topics, the bidirectional state), the problems to report, and the Ready
//! verdict on real mirroring health.

use std::collections::BTreeMap;

use clusterlink_model::cluster_link::{
    BidirectionalState, MirrorDirection, MirrorTopicStatus, PartitionTruncationStatus,
    TruncationStatus,
};
use clusterlink_model::common::AppState;
use clusterlink_model::{
    ClusterLink, ClusterLinkStatus, Plan, Problem, ReportedState, ValidatedClusterLink,
    WaitingForInbound,
};
use clusterlink_rest_v3::links::LinkState;
use clusterlink_rest_v3::MirrorState;

use crate::outcome::Note;
use crate::rest_client::{LinkInfo, MirrorInfo};

use super::conditions::{camel, reason, Conditions};

/// CFK's `status.state` of a resource that exists on its cluster (a healthy link, a topic).
pub const STATE_CREATED: &str = "CREATED";
/// `link_state` of an active link (Confluent's `ACTIVE`); a link whose server reports no state
/// counts as active where only its existence is known.
const LINK_ACTIVE: &str = LinkState::Active.as_str();
/// `link_state` of a paused link (`cluster.link.paused`).
const LINK_PAUSED: &str = LinkState::Paused.as_str();
/// The category of a remote half that could not be read (a problem of the pass, not the plan).
const REMOTE_UNREACHABLE: &str = "remote-unreachable";

/// A mirror's reported `mirror_status` in the shared vocabulary.
pub fn reported_state(m: &MirrorInfo) -> ReportedState {
    ReportedState::parse(&m.status)
}

/// What a pass saw and did: what the status is computed from.
#[derive(Clone, Copy, Debug)]
pub struct PassReport<'a> {
    /// The resource.
    pub link: &'a ValidatedClusterLink,
    /// The local cluster's id.
    pub cluster: &'a str,
    /// The remote cluster's id, if known.
    pub remote_cluster_id: Option<&'a str>,
    /// The local link as last read (`None`: it does not exist).
    pub info: Option<&'a LinkInfo>,
    /// Its mirror topics.
    pub mirrors: &'a [MirrorInfo],
    /// The remote half, if it was read: its link and mirror topics.
    pub remote_half: Option<(Option<&'a LinkInfo>, &'a [MirrorInfo])>,
    /// Where the remote cluster's REST API comes from (`None`: the resource names none).
    pub remote_rest: Option<&'a str>,
    /// Why the remote half could not be read, if it could not.
    pub remote_error: Option<&'a str>,
    /// Whether the link syncs consumer offsets (`consumer.offset.sync.enable`).
    pub offsets_synced: bool,
    /// The plan.
    pub plan: &'a Plan,
    /// Declared mirrors the link server refused to create, with its reason.
    pub create_errors: &'a BTreeMap<String, String>,
}

/// What the status says beyond its fields.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// Whether the link is Ready.
    pub ready: bool,
    /// The problems reported in `Reconciled`: `(category, message)`.
    pub problems: Vec<(&'static str, String)>,
    /// The Event of a `Ready` condition that flipped.
    pub flipped: Option<Note>,
}

/// The status a pass starts from: the previous one, for this generation and link name, with
/// its conditions taken out to be updated.
pub fn begin(link: &ClusterLink) -> (ClusterLinkStatus, Conditions) {
    let previous = link.status.clone().unwrap_or_default();
    let mut status = ClusterLinkStatus {
        observed_generation: link.metadata.generation,
        cluster_link_name: link.link_name().map(str::to_string),
        ..previous
    };
    let conditions = Conditions::from_previous(status.conditions.take());
    (status, conditions)
}

/// Fills `status` and `conditions` from a pass that reached the link server.
pub fn applied(
    status: &mut ClusterLinkStatus,
    conditions: &mut Conditions,
    r: &PassReport<'_>,
) -> Verdict {
    link_fields(status, r);
    status.num_mirror_topics = Some(r.mirrors.len() as i64);
    let mirror_topics = mirror_statuses(r.link, r.mirrors, r.create_errors);
    status.max_lag = mirror_topics.values().filter_map(|m| m.max_lag).max();
    status.max_lag_seconds = mirror_topics
        .values()
        .filter_map(|m| m.max_lag_seconds)
        .reduce(f64::max);
    status.mirror_topics = Some(mirror_topics);
    if r.link.is_bidirectional() {
        bidirectional_fields(status, r);
    }
    status.app_state = Some(app_state(r.info.is_some(), false));
    let problems = problems(r);
    let (ready, why, message) = match &r.plan.waiting_for_inbound {
        Some(w) if r.info.is_none() => (false, reason::WAITING_FOR_INBOUND_LINK, w.to_string()),
        _ => readiness(r.link, r.info, r.mirrors, r.create_errors),
    };
    let flipped = conditions.ready(ready, why, &message).then(|| Note {
        warning: matches!(why, reason::MIRROR_TOPICS_FAILED | reason::LINK_UNAVAILABLE),
        reason: if ready { reason::READY } else { why }.to_string(),
        message,
    });
    match problems.first() {
        None if r.create_errors.is_empty() => conditions.reconciled(
            true,
            reason::APPLIED,
            "the link and its mirror topics match the resource",
        ),
        Some((category, _)) => {
            let all: Vec<&str> = problems.iter().map(|(_, m)| m.as_str()).collect();
            conditions.reconciled(false, &camel(category), &all.join("; "))
        }
        None => {
            let all: Vec<String> = r
                .create_errors
                .iter()
                .map(|(t, e)| format!("{t}: {e}"))
                .collect();
            conditions.reconciled(false, reason::MIRROR_TOPIC_CREATION_FAILED, &all.join("; "))
        }
    }
    Verdict {
        ready,
        problems,
        flipped,
    }
}

/// The problems of a pass, in the order the `Reconciled` condition lists them: the plan's (a
/// `toSource` mirror that waits for the remote half says why), a remote half that could not be
/// read, then a wait for the INBOUND side.
fn problems(r: &PassReport<'_>) -> Vec<(&'static str, String)> {
    let mut problems: Vec<(&'static str, String)> = r
        .plan
        .problems
        .iter()
        .map(|p| (p.category(), p.to_string()))
        .collect();
    let not_observed = Problem::RemoteNotObserved.category();
    if r.link.is_bidirectional() && problems.iter().any(|(c, _)| *c == not_observed) {
        let why = match (r.remote_rest, r.remote_cluster_id) {
            (None, _) => "the remote cluster has no KafkaRestClass in the resource".to_string(),
            (Some(rest), None) => {
                format!("the remote cluster's id could not be read through {rest}")
            }
            _ => format!(
                "the remote half of link {} does not exist yet (the ClusterLink of the same spec.name on the other cluster creates it)",
                r.link.name
            ),
        };
        problems.retain(|(c, _)| *c != not_observed);
        problems.push((not_observed, format!("toSource mirror topics wait: {why}")));
    }
    if let Some(msg) = r.remote_error {
        problems.retain(|(c, _)| *c != not_observed);
        problems.push((REMOTE_UNREACHABLE, msg.to_string()));
    }
    if let Some(w) = &r.plan.waiting_for_inbound {
        problems.push((WaitingForInbound::CATEGORY, w.to_string()));
    }
    problems
}

/// CFK's link-level fields: the link's id and state, both clusters' ids, the Kafka cluster.
fn link_fields(status: &mut ClusterLinkStatus, r: &PassReport<'_>) {
    status.cluster_link_id = r.info.and_then(|i| i.link_id.clone());
    status.state = r.info.map(|i| match i.link_state.as_deref() {
        Some(LINK_ACTIVE) | None => STATE_CREATED.to_string(),
        Some(other) => other.to_string(),
    });
    let remote_id = r.remote_cluster_id.map(str::to_string).or_else(|| {
        r.info.and_then(|i| {
            i.source_cluster_id
                .clone()
                .or_else(|| i.remote_cluster_id.clone())
                .or_else(|| i.destination_cluster_id.clone())
        })
    });
    let cluster = Some(r.cluster.to_string());
    if r.link.local_is_destination() {
        status.destination_kafka_cluster_id = cluster;
        status.source_kafka_cluster_id = remote_id;
    } else {
        status.source_kafka_cluster_id = cluster;
        status.destination_kafka_cluster_id = remote_id;
    }
    status.kafka_cluster = r.link.local_kafka_cluster();
}

/// Both directions of a bidirectional link, and the `toSource` mirrors of the remote half.
fn bidirectional_fields(status: &mut ClusterLinkStatus, r: &PassReport<'_>) {
    let active = |i: Option<&LinkInfo>| {
        i.is_some_and(|i| i.link_state.as_deref().is_none_or(|s| s == LINK_ACTIVE))
    };
    let (remote_info, remote_mirrors) = r.remote_half.unwrap_or((None, &[]));
    // The local half pulls into the local cluster; the remote half pulls into the remote
    // cluster. Which of them is "source to destination" depends on where the resource's
    // destination is.
    let (into_local, into_remote) = (active(r.info), active(remote_info));
    let (to_destination, to_source) = if r.link.local_is_destination() {
        (into_local, into_remote)
    } else {
        (into_remote, into_local)
    };
    status.bidirectional_state = Some(BidirectionalState {
        consumer_offset_sync_enabled: Some(r.offsets_synced),
        source_to_destination_active: Some(to_destination),
        destination_to_source_active: Some(to_source),
    });
    let reverse: Vec<MirrorInfo> = remote_mirrors
        .iter()
        .filter(|m| r.link.mirror(&m.name, MirrorDirection::ToSource).is_some())
        .cloned()
        .collect();
    status.num_reverse_mirror_topics = Some(reverse.len() as i64);
    status.reverse_mirror_topics = Some(mirror_statuses(r.link, &reverse, &BTreeMap::new()));
}

/// The Ready verdict: `(ready, reason, message)`.
pub fn readiness(
    link: &ValidatedClusterLink,
    info: Option<&LinkInfo>,
    mirrors: &[MirrorInfo],
    create_errors: &BTreeMap<String, String>,
) -> (bool, &'static str, String) {
    let Some(info) = info else {
        return (
            false,
            reason::LINK_MISSING,
            "the link does not exist yet".into(),
        );
    };
    let state = info.link_state.as_deref().unwrap_or("UNKNOWN");
    if state == LINK_PAUSED {
        return (
            false,
            reason::LINK_PAUSED,
            "the link is paused (cluster.link.paused): no mirror topic moves".into(),
        );
    }
    if state != LINK_ACTIVE {
        let why = info
            .link_error_message
            .as_deref()
            .unwrap_or("no error reported");
        return (
            false,
            reason::LINK_UNAVAILABLE,
            format!("the link is {state}: {why}"),
        );
    }
    let by_name: BTreeMap<&str, &MirrorInfo> =
        mirrors.iter().map(|m| (m.name.as_str(), m)).collect();
    let mut failed = Vec::new();
    let mut pending = Vec::new();
    for t in link.forward_mirrors() {
        let Some(m) = by_name.get(t.name.as_str()) else {
            match create_errors.get(&t.name) {
                Some(e) => failed.push(format!("{}: not created: {e}", t.name)),
                None => pending.push(format!("{}: not created yet", t.name)),
            }
            continue;
        };
        let want = t.target_state();
        let state = reported_state(m);
        if state.is(want) {
            continue;
        }
        let detail = m
            .message
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        match state.known() {
            Some(
                MirrorState::Failed | MirrorState::LinkFailed | MirrorState::SourceUnavailable,
            ) => failed.push(format!("{}: {state}{detail}", t.name)),
            Some(MirrorState::Stopped) => failed.push(format!(
                "{}: {}, cannot return to {want}",
                t.name,
                MirrorState::Stopped
            )),
            _ => pending.push(format!("{}: {state}, want {want}", t.name)),
        }
    }
    if !failed.is_empty() {
        return (false, reason::MIRROR_TOPICS_FAILED, failed.join("; "));
    }
    if !pending.is_empty() {
        return (false, reason::MIRROR_TOPICS_PENDING, pending.join("; "));
    }
    let declared = link.mirrors.len();
    (
        true,
        reason::MIRRORING,
        format!(
            "link active; {declared} mirror topic{} in the declared state",
            if declared == 1 { "" } else { "s" }
        ),
    )
}

/// Per-topic status entries: every mirror on the link, and declared mirrors that could not be
/// created (with the reason).
pub fn mirror_statuses(
    link: &ValidatedClusterLink,
    mirrors: &[MirrorInfo],
    create_errors: &BTreeMap<String, String>,
) -> BTreeMap<String, MirrorTopicStatus> {
    let generation = link.resource.generation;
    let declared: BTreeMap<&str, Option<i32>> = link
        .mirrors
        .iter()
        .map(|t| (t.name.as_str(), t.replication_factor))
        .collect();
    let mut out = BTreeMap::new();
    for m in mirrors {
        out.insert(
            m.name.clone(),
            MirrorTopicStatus {
                max_lag: m.max_lag,
                max_lag_seconds: m.max_lag_seconds.map(|s| (s * 10.0).round() / 10.0),
                message: m.message.clone(),
                observed_generation: generation,
                offset_mode: m.offset_mode.as_deref().map(|o| match o {
                    "ALIGNED" => "Identical".to_string(),
                    "TRANSLATED" => "Mapped".to_string(),
                    other => other.to_string(),
                }),
                replication_factor: declared.get(m.name.as_str()).copied().flatten(),
                source_topic_name: Some(m.source_topic_name.clone()),
                status: Some(m.status.clone()),
                truncation: m.truncation.as_ref().map(|t| TruncationStatus {
                    messages_truncated: t.messages_truncated,
                    diverged_records_topic: t.diverged_records_topic.clone(),
                    partitions: t
                        .partition_level_truncation_data
                        .iter()
                        .filter(|p| p.messages_truncated > 0)
                        .map(|p| PartitionTruncationStatus {
                            partition: p.partition_id,
                            offset_truncated_to: p.offset_truncated_to,
                            messages_truncated: p.messages_truncated,
                        })
                        .collect(),
                }),
            },
        );
    }
    for (name, e) in create_errors {
        out.entry(name.clone())
            .or_insert_with(|| MirrorTopicStatus {
                message: Some(e.clone()),
                observed_generation: generation,
                ..Default::default()
            });
    }
    out
}

/// `appState` from what happened.
pub fn app_state(link_exists: bool, failed: bool) -> AppState {
    match (link_exists, failed) {
        (true, _) => AppState::Created,
        (false, true) => AppState::Failed,
        (false, false) => AppState::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clusterlink_model::ClusterLink;
    use serde_json::json;

    fn link() -> ValidatedClusterLink {
        let link: ClusterLink = serde_json::from_value(json!({
            "metadata": {"name": "l", "generation": 3},
            "spec": {"sourceKafkaCluster": {"bootstrapEndpoint": "s:9092"},
                     "destinationKafkaCluster": {"kafkaRestClassRef": {"name": "r"}},
                     "mirrorTopics": [{"name": "a"}, {"name": "b", "state": "PAUSE"}, {"name": "c", "state": "PROMOTE"}]}
        }))
        .unwrap();
        ValidatedClusterLink::from_unchecked(&link)
    }

    fn mirror(name: &str, status: &str) -> MirrorInfo {
        MirrorInfo {
            name: name.into(),
            source_topic_name: name.into(),
            status: status.into(),
            ..Default::default()
        }
    }

    #[test]
    fn ready_only_when_every_mirror_is_in_its_declared_state() {
        let l = link();
        let active = LinkInfo {
            link_state: Some("ACTIVE".into()),
            ..Default::default()
        };
        let none = BTreeMap::new();
        assert_eq!(readiness(&l, None, &[], &none).1, "LinkMissing");
        let ok = [
            mirror("a", "ACTIVE"),
            mirror("b", "PAUSED"),
            mirror("c", "STOPPED"),
        ];
        assert!(readiness(&l, Some(&active), &ok, &none).0);
        let pending = [
            mirror("a", "ACTIVE"),
            mirror("b", "PAUSED"),
            mirror("c", "PENDING_STOPPED"),
        ];
        let (r, reason, msg) = readiness(&l, Some(&active), &pending, &none);
        assert!(!r);
        assert_eq!(reason, "MirrorTopicsPending");
        assert_eq!(msg, "c: PENDING_STOPPED, want STOPPED");
        let mut failed = ok.clone();
        failed[0].status = "FAILED".into();
        failed[0].message = Some("source topic deleted".into());
        let (_, reason, msg) = readiness(&l, Some(&active), &failed, &none);
        assert_eq!(reason, "MirrorTopicsFailed");
        assert_eq!(msg, "a: FAILED (source topic deleted)");
        let down = LinkInfo {
            link_state: Some("UNAVAILABLE".into()),
            link_error_message: Some("connection refused".into()),
            ..Default::default()
        };
        let (_, reason, msg) = readiness(&l, Some(&down), &ok, &none);
        assert_eq!(reason, "LinkUnavailable");
        assert!(msg.contains("connection refused"));
        let mut errs = BTreeMap::new();
        errs.insert("a".to_string(), "source topic a does not exist".to_string());
        let (_, reason, _) = readiness(&l, Some(&active), &ok[1..], &errs);
        assert_eq!(reason, "MirrorTopicsFailed");
        let s = mirror_statuses(&l, &ok[1..], &errs);
        assert_eq!(s["a"].status, None);
        assert_eq!(s["b"].status.as_deref(), Some("PAUSED"));
        assert_eq!(s["b"].observed_generation, Some(3));
    }

    #[test]
    fn lag_in_seconds_is_kept_to_a_tenth_of_a_second() {
        let mut lagging = mirror("a", "ACTIVE");
        lagging.max_lag = Some(12);
        lagging.max_lag_seconds = Some(2.7649);
        let s = mirror_statuses(&link(), &[lagging, mirror("b", "PAUSED")], &BTreeMap::new());
        assert_eq!(s["a"].max_lag_seconds, Some(2.8));
        assert_eq!(s["a"].max_lag, Some(12));
        assert_eq!(s["b"].max_lag_seconds, None, "not reported, not invented");
    }
}
