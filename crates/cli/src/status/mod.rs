//! `clusterlink status`: where links stand, read live from their link servers (nothing is
//! changed), for people (a table, by default) and for scripts (YAML or JSON, and the exit code:
//! 2 when a link is not Ready).
//!
//! Two sources: YAML files (the ClusterLinks, and the KafkaRestClasses and Secrets that say how
//! to reach their link servers), looked at as the operator would, so that the table says what
//! the resource's status would; or `--url`, a link server's REST endpoint, for a link created
//! without YAML (as `confluent kafka mirror list --url` does).

mod table;
mod url_access;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clusterlink_model::cluster_link::MirrorDirection;
use clusterlink_model::ClusterLinkStatus;
use clusterlink_reconcile::rest_client::{MirrorInfo, RestClient};
use clusterlink_reconcile::status::{condition, READY};
use clusterlink_reconcile::LinkReconciler;
use serde_json::{json, Value};

use crate::apply::{key, load};
use crate::cli::{StatusOutput, UrlAccess};
pub use table::{render, LinkView, MirrorView, PartitionView};

/// Where `status` reads from.
#[derive(Clone, Debug)]
pub enum Source {
    /// The ClusterLinks in YAML files, looked at through their link servers.
    Files {
        /// Files or folders.
        files: Vec<PathBuf>,
        /// Namespace of documents that name none.
        namespace: String,
    },
    /// A link server's REST endpoint: every link of the clusters it serves.
    Url {
        /// The endpoint.
        url: String,
        /// Credentials and TLS material.
        access: UrlAccess,
    },
}

/// How `status` runs.
#[derive(Clone, Copy, Debug)]
pub struct StatusOptions {
    /// How it prints.
    pub output: StatusOutput,
    /// Print again this often until interrupted.
    pub watch: Option<Duration>,
    /// Timeout of each REST request.
    pub request_timeout: Duration,
}

/// One look: what the table shows, and the documents YAML and JSON print.
struct Snapshot {
    views: Vec<LinkView>,
    documents: Vec<Value>,
}

/// Mirror topic rows from a ClusterLink's status, with partition counts and lags per partition
/// from what the link servers reported: `seen` on the local one, `seen_remote` on the remote
/// one (where a bidirectional link's `toSource` mirrors live).
fn mirror_views(
    status: &ClusterLinkStatus,
    seen: &[MirrorInfo],
    seen_remote: &[MirrorInfo],
) -> Vec<MirrorView> {
    let bidirectional = status.bidirectional_state.is_some();
    let forward = status.mirror_topics.iter().flatten().map(|m| {
        let direction = bidirectional.then_some(MirrorDirection::ToDestination);
        (m, direction, seen)
    });
    let reverse = status
        .reverse_mirror_topics
        .iter()
        .flatten()
        .map(|m| (m, Some(MirrorDirection::ToSource), seen_remote));
    forward
        .chain(reverse)
        .map(|((name, m), direction, seen)| {
            let info = seen.iter().find(|i| &i.name == name);
            MirrorView {
                name: name.clone(),
                direction,
                status: m.status.clone(),
                partitions: info.and_then(|i| i.num_partitions),
                max_lag: m.max_lag,
                max_lag_seconds: m.max_lag_seconds,
                reason: m.message.clone(),
                partition_lags: info.map(partition_views).unwrap_or_default(),
            }
        })
        .collect()
}

fn partition_views(m: &MirrorInfo) -> Vec<PartitionView> {
    m.partition_lags
        .iter()
        .map(|l| PartitionView {
            partition: l.partition,
            lag: l.lag,
            lag_seconds: l.lag_seconds,
            last_source_fetch_offset: l.last_source_fetch_offset,
        })
        .collect()
}

/// The row of a ClusterLink from the status a look wrote.
fn link_view(
    name: String,
    status: &ClusterLinkStatus,
    seen: &[MirrorInfo],
    seen_remote: &[MirrorInfo],
) -> LinkView {
    let conditions = status.conditions.as_deref().unwrap_or_default();
    let ready = condition(conditions, READY);
    LinkView {
        name,
        state: status.state.clone(),
        ready: ready.and_then(|c| match c.status.as_deref() {
            Some("True") => Some(true),
            Some("False") => Some(false),
            _ => None,
        }),
        reason: ready.map(|c| {
            format!(
                "{}: {}",
                c.reason.as_deref().unwrap_or_default(),
                c.message.as_deref().unwrap_or_default()
            )
        }),
        mirrors: mirror_views(status, seen, seen_remote),
    }
}

async fn from_files(files: &[PathBuf], namespace: &str, timeout: Duration) -> Result<Snapshot> {
    let m = load(files, namespace)?;
    anyhow::ensure!(!m.links.is_empty(), "no ClusterLink in {files:?}");
    let links = LinkReconciler::new(timeout);
    let mut snapshot = Snapshot {
        views: Vec::new(),
        documents: Vec::new(),
    };
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
        snapshot
            .views
            .push(link_view(k, &out.status, &out.mirrors, &out.remote_mirrors));
        snapshot.documents.push(json!({
            "apiVersion": "platform.confluent.io/v1beta1",
            "kind": "ClusterLink",
            "metadata": {"name": l.metadata.name, "namespace": l.metadata.namespace},
            "status": out.status,
        }));
    }
    Ok(snapshot)
}

/// Mirror states that are where a mirror rests: anything else is a transition or a failure.
const SETTLED_MIRROR_STATES: [&str; 3] = ["ACTIVE", "PAUSED", "STOPPED"];

/// Ready without a declared state to compare with: the link is ACTIVE and every mirror rests.
fn readiness(
    link_state: Option<&str>,
    error: Option<&str>,
    mirrors: &[MirrorView],
) -> (bool, String) {
    if link_state != Some("ACTIVE") {
        let state = link_state.unwrap_or("UNKNOWN");
        return match error {
            Some(e) => (false, format!("link {state}: {e}")),
            None => (false, format!("link {state}")),
        };
    }
    let unsettled: Vec<String> = mirrors
        .iter()
        .filter(|m| !SETTLED_MIRROR_STATES.contains(&m.status.as_deref().unwrap_or_default()))
        .map(|m| {
            let status = m.status.as_deref().unwrap_or("UNKNOWN");
            match &m.reason {
                Some(r) => format!("{}: {status} ({r})", m.name),
                None => format!("{}: {status}", m.name),
            }
        })
        .collect();
    (unsettled.is_empty(), unsettled.join("; "))
}

async fn from_url(url: &str, access: &UrlAccess, timeout: Duration) -> Result<Snapshot> {
    let mut endpoint = url_access::endpoint(url, access, |k| std::env::var(k).ok())?;
    endpoint.timeout = timeout;
    let client = RestClient::new(&endpoint)?;
    let clusters = client.cluster_ids().await?;
    let mut snapshot = Snapshot {
        views: Vec::new(),
        documents: Vec::new(),
    };
    for cluster in &clusters {
        for (name, info) in client.links(cluster).await? {
            let seen = client.mirrors(cluster, &name).await?;
            let mirrors: Vec<MirrorView> = seen
                .iter()
                .map(|m| MirrorView {
                    name: m.name.clone(),
                    direction: None,
                    status: Some(m.status.clone()),
                    partitions: m.num_partitions,
                    max_lag: m.max_lag,
                    max_lag_seconds: m.max_lag_seconds,
                    reason: m.message.clone(),
                    partition_lags: partition_views(m),
                })
                .collect();
            let (ready, reason) = readiness(
                info.link_state.as_deref(),
                info.link_error_message.as_deref(),
                &mirrors,
            );
            let view = LinkView {
                name: if clusters.len() > 1 {
                    format!("{cluster}/{name}")
                } else {
                    name
                },
                state: info.link_state.clone(),
                ready: Some(ready),
                reason: Some(reason).filter(|r| !r.is_empty()),
                mirrors,
            };
            snapshot.documents.push(serde_json::to_value(&view)?);
            snapshot.views.push(view);
        }
    }
    Ok(snapshot)
}

async fn look(source: &Source, timeout: Duration) -> Result<Snapshot> {
    match source {
        Source::Files { files, namespace } => from_files(files, namespace, timeout).await,
        Source::Url { url, access } => from_url(url, access, timeout)
            .await
            .with_context(|| format!("reading the links at {url}")),
    }
}

/// What one look prints.
fn print(snapshot: &mut Snapshot, output: StatusOutput) -> Result<String> {
    Ok(match output {
        StatusOutput::Table => render(&snapshot.views, false),
        StatusOutput::Wide => render(&snapshot.views, true),
        StatusOutput::Json => {
            let v = if snapshot.documents.len() == 1 {
                snapshot.documents.remove(0)
            } else {
                json!({"apiVersion": "v1", "kind": "List", "items": snapshot.documents})
            };
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        }
        StatusOutput::Yaml => {
            let mut out = String::new();
            for d in &snapshot.documents {
                out.push_str("---\n");
                out.push_str(&serde_norway::to_string(d)?);
            }
            out
        }
    })
}

/// `clusterlink status`: `Ok(false)` when a link is not Ready (with `watch`: at the last look
/// before it was interrupted).
pub async fn status(source: &Source, options: StatusOptions) -> Result<bool> {
    let Some(every) = options.watch else {
        let mut snapshot = look(source, options.request_timeout).await?;
        print!("{}", print(&mut snapshot, options.output)?);
        return Ok(snapshot.views.iter().all(LinkView::is_ready));
    };
    let terminal = std::io::stdout().is_terminal();
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        let (text, all_ready) = match look(source, options.request_timeout).await {
            Ok(mut snapshot) => {
                let all_ready = snapshot.views.iter().all(LinkView::is_ready);
                (print(&mut snapshot, options.output)?, all_ready)
            }
            Err(e) => (format!("error: {e:#}\n"), false),
        };
        let now = jiff::Timestamp::now().round(jiff::Unit::Second)?;
        if terminal {
            // Home and clear: the view replaces the previous one, as `watch` does.
            print!("\x1b[H\x1b[2J");
        } else {
            println!();
        }
        let every_text = jiff::SignedDuration::try_from(every)?;
        print!("Every {every_text:#}: {now}\n\n{text}");
        tokio::select! {
            _ = &mut stop => return Ok(all_ready),
            _ = tokio::time::sleep(every) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirror(name: &str, status: &str, reason: Option<&str>) -> MirrorView {
        MirrorView {
            name: name.into(),
            status: Some(status.into()),
            reason: reason.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn a_link_read_from_its_server_is_ready_when_active_and_every_mirror_rests() {
        let resting = [
            mirror("a", "ACTIVE", None),
            mirror("b", "PAUSED", None),
            mirror("c", "STOPPED", None),
        ];
        assert_eq!(
            readiness(Some("ACTIVE"), None, &resting),
            (true, String::new())
        );
        let failed = [
            mirror("a", "ACTIVE", None),
            mirror("b", "FAILED", Some("source topic deleted")),
            mirror("c", "PENDING_STOPPED", None),
        ];
        assert_eq!(
            readiness(Some("ACTIVE"), None, &failed),
            (
                false,
                "b: FAILED (source topic deleted); c: PENDING_STOPPED".to_string()
            )
        );
        assert_eq!(
            readiness(Some("UNAVAILABLE"), Some("connection refused"), &resting),
            (false, "link UNAVAILABLE: connection refused".to_string())
        );
    }

    #[test]
    fn a_cluster_link_row_says_why_it_is_not_ready() {
        let status: ClusterLinkStatus = serde_json::from_value(json!({
            "state": "CREATED",
            "conditions": [{"type": "Ready", "status": "False", "reason": "MirrorTopicsFailed",
                            "message": "b: FAILED"}],
            "mirrorTopics": {"b": {"status": "FAILED", "maxLag": 4, "maxLagSeconds": 1.5,
                                   "message": "source topic deleted"}}
        }))
        .unwrap();
        let seen = [MirrorInfo {
            name: "b".into(),
            num_partitions: Some(3),
            ..Default::default()
        }];
        let v = link_view("ns/l".into(), &status, &seen, &[]);
        assert_eq!(v.ready, Some(false));
        assert_eq!(v.state.as_deref(), Some("CREATED"));
        assert_eq!(v.reason.as_deref(), Some("MirrorTopicsFailed: b: FAILED"));
        assert_eq!(v.mirrors.len(), 1);
        assert_eq!(v.mirrors[0].partitions, Some(3));
        assert_eq!(v.mirrors[0].max_lag_seconds, Some(1.5));
        assert_eq!(v.mirrors[0].reason.as_deref(), Some("source topic deleted"));
    }
}
