//! Status, computed without I/O from what the reconcile saw: conditions that keep their
//! `lastTransitionTime` unless their status flips, the Ready verdict on real mirroring health,
//! and CFK's status fields.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use clusterlink_model::cluster_link::{MirrorDirection, MirrorTopicState, MirrorTopicStatus};
use clusterlink_model::common::{AppState, Condition};
use clusterlink_model::ClusterLink;

use crate::rest_client::{LinkInfo, MirrorInfo};

/// Condition type: the link and its mirror topics are healthy and in their declared states.
pub const READY: &str = "Ready";
/// Condition type: the resource was applied to the link server without problems.
pub const RECONCILED: &str = "Reconciled";

/// Now, in RFC 3339 (UTC, seconds).
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(secs)
}

/// Seconds since the epoch in RFC 3339 (UTC).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` into microseconds since the epoch.
pub fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    let mut micros = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
        rest = &frac[digits.len()..];
        let padded = format!("{digits:0<6}");
        micros = padded.get(..6)?.parse::<i64>().ok()?;
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (o.get(1..3)?.parse::<i64>().ok()? * 3600
                + o.get(4..6)?.parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + mi * 60 + sec) - offset) * 1_000_000 + micros)
}

/// Sets condition `type_` in `conditions`: `lastTransitionTime` changes only when the status
/// flips (or the condition is new); reason, message and `lastProbeTime` are always updated.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: bool,
    reason: &str,
    message: &str,
    now: &str,
) {
    let status = if status { "True" } else { "False" };
    match conditions
        .iter_mut()
        .find(|c| c.type_.as_deref() == Some(type_))
    {
        Some(c) => {
            if c.status.as_deref() != Some(status) {
                c.last_transition_time = Some(now.to_string());
            }
            c.status = Some(status.to_string());
            c.reason = Some(reason.to_string());
            c.message = Some(message.to_string());
            c.last_probe_time = Some(now.to_string());
        }
        None => conditions.push(Condition {
            last_probe_time: Some(now.to_string()),
            last_transition_time: Some(now.to_string()),
            message: Some(message.to_string()),
            reason: Some(reason.to_string()),
            status: Some(status.to_string()),
            type_: Some(type_.to_string()),
        }),
    }
}

/// A condition's status and reason, for transition checks.
pub fn condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions
        .iter()
        .find(|c| c.type_.as_deref() == Some(type_))
}

/// The Ready verdict: `(ready, reason, message)`.
pub fn readiness(
    link: &ClusterLink,
    info: Option<&LinkInfo>,
    mirrors: &[MirrorInfo],
    create_errors: &BTreeMap<String, String>,
) -> (bool, &'static str, String) {
    let Some(info) = info else {
        return (false, "LinkMissing", "the link does not exist yet".into());
    };
    let state = info.link_state.as_deref().unwrap_or("UNKNOWN");
    if state == "PAUSED" {
        return (
            false,
            "LinkPaused",
            "the link is paused (cluster.link.paused): no mirror topic moves".into(),
        );
    }
    if state != "ACTIVE" {
        let why = info
            .link_error_message
            .as_deref()
            .unwrap_or("no error reported");
        return (
            false,
            "LinkUnavailable",
            format!("the link is {state}: {why}"),
        );
    }
    let by_name: BTreeMap<&str, &MirrorInfo> =
        mirrors.iter().map(|m| (m.name.as_str(), m)).collect();
    let mut failed = Vec::new();
    let mut pending = Vec::new();
    let declared = link.spec.mirror_topics();
    for t in declared
        .iter()
        .filter(|t| t.effective_direction() == MirrorDirection::ToDestination)
    {
        let Some(m) = by_name.get(t.name.as_str()) else {
            match create_errors.get(&t.name) {
                Some(e) => failed.push(format!("{}: not created: {e}", t.name)),
                None => pending.push(format!("{}: not created yet", t.name)),
            }
            continue;
        };
        let want = match t.effective_state() {
            MirrorTopicState::Pause => "PAUSED",
            MirrorTopicState::Promote | MirrorTopicState::Failover => "STOPPED",
            _ => "ACTIVE",
        };
        if m.status == want {
            continue;
        }
        let detail = m
            .message
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        match m.status.as_str() {
            "FAILED" | "LINK_FAILED" | "SOURCE_UNAVAILABLE" => {
                failed.push(format!("{}: {}{detail}", t.name, m.status))
            }
            "STOPPED" => failed.push(format!("{}: STOPPED, cannot return to {want}", t.name)),
            other => pending.push(format!("{}: {other}, want {want}", t.name)),
        }
    }
    if !failed.is_empty() {
        return (false, "MirrorTopicsFailed", failed.join("; "));
    }
    if !pending.is_empty() {
        return (false, "MirrorTopicsPending", pending.join("; "));
    }
    (
        true,
        "Mirroring",
        format!(
            "link active; {} mirror topic{} in the declared state",
            declared.len(),
            if declared.len() == 1 { "" } else { "s" }
        ),
    )
}

/// Per-topic status entries: every mirror on the link, and declared mirrors that could not be
/// created (with the reason).
pub fn mirror_statuses(
    link: &ClusterLink,
    mirrors: &[MirrorInfo],
    create_errors: &BTreeMap<String, String>,
) -> BTreeMap<String, MirrorTopicStatus> {
    let generation = link.metadata.generation;
    let declared: BTreeMap<&str, Option<i32>> = link
        .spec
        .mirror_topics()
        .iter()
        .map(|t| (t.name.as_str(), t.replication_factor))
        .collect();
    let mut out = BTreeMap::new();
    for m in mirrors {
        out.insert(
            m.name.clone(),
            MirrorTopicStatus {
                max_lag: m.max_lag,
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
    use serde_json::json;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn transition_time_kept_unless_status_flips() {
        let mut c = Vec::new();
        set_condition(&mut c, READY, false, "LinkMissing", "a", "t1");
        set_condition(&mut c, READY, false, "MirrorTopicsPending", "b", "t2");
        assert_eq!(c[0].last_transition_time.as_deref(), Some("t1"));
        assert_eq!(c[0].reason.as_deref(), Some("MirrorTopicsPending"));
        assert_eq!(c[0].last_probe_time.as_deref(), Some("t2"));
        set_condition(&mut c, READY, true, "Mirroring", "c", "t3");
        assert_eq!(c[0].last_transition_time.as_deref(), Some("t3"));
        assert_eq!(c[0].status.as_deref(), Some("True"));
        assert_eq!(c.len(), 1);
    }

    fn link() -> ClusterLink {
        serde_json::from_value(json!({
            "metadata": {"name": "l", "generation": 3},
            "spec": {"sourceKafkaCluster": {"bootstrapEndpoint": "s:9092"},
                     "destinationKafkaCluster": {"kafkaRestClassRef": {"name": "r"}},
                     "mirrorTopics": [{"name": "a"}, {"name": "b", "state": "PAUSE"}, {"name": "c", "state": "PROMOTE"}]}
        }))
        .unwrap()
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
}
