//! Reversing mirrors (`mirrors:reverse-and-start-mirror`, `mirrors:reverse-and-pause-mirror`),
//! on both clusters.
//!
//! Here, the mirror is promoted (zero lag first, as `mirrors:promote`), and the engine keeps the
//! reverse until the promotion completed. Then this server leaves a request in the source
//! cluster's state topic (`reverse/<this cluster>/<topic>`, written with the link's own
//! connection, as the loop check reads it): that topic is to become a mirror of the promoted
//! one, from the offsets where it stopped.
//!
//! There, the link server follows its state topic for such requests, and the link that pulls
//! from the requesting cluster (the other half of a bidirectional link, or a link the other
//! way) makes its topic a mirror from its end, after checking the topic ends exactly where the
//! promoted mirror stopped and holds the same last record: a topic written to since is refused,
//! never adopted with a gap or an overlap. A refused request stays, with its reason, until the
//! reverse is asked again.

use std::collections::BTreeMap;

use clusterlink_mirror::store::{read_changes, KafkaStore};
use clusterlink_mirror::{state_keys, Desired, Engine, MirrorError, MirrorSpec, StartSpec};
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

use super::error::LinkError;
use super::mirrors::MirrorResults;
use super::registry::LinkManager;
use crate::record::LinkRecord;

/// A request that a topic of the cluster whose state topic holds it become a mirror.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ReverseRequest {
    /// The requesting link (a link of that name is preferred on this side).
    link: String,
    /// The requesting cluster's topic that the local topic is to mirror.
    source_topic: String,
    /// Where the requesting cluster's topic ended when its mirror stopped, per partition.
    ends: BTreeMap<i32, i64>,
    /// The new mirror starts paused.
    paused: bool,
    /// Why it was not done, once tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl LinkManager {
    /// `mirrors:reverse-and-*-mirror` of `names`: each is promoted, and its source topic becomes
    /// a mirror of it once the promotion completed.
    pub async fn reverse_mirrors(
        &self,
        link: &str,
        names: &[String],
        paused: bool,
        validate_only: bool,
    ) -> Result<MirrorResults, LinkError> {
        let entry = self.entry(link)?;
        if entry.record().is_inbound() {
            return Err(LinkError::Invalid(format!(
                "Cluster link '{link}' is INBOUND: reverse its mirrors on the cluster that runs them"
            )));
        }
        let (_, engine) = self.running(link)?;
        let names = self.existing_mirrors(link, &engine, names)?;
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            let result = if validate_only {
                Ok(())
            } else {
                engine.promote_and_reverse(&n, paused).await
            };
            let result = result.map_err(LinkError::from).and_then(|()| {
                engine
                    .status(&n)
                    .ok_or_else(|| MirrorError::NotFound(n.clone()).into())
            });
            out.push((n, result));
        }
        Ok(out)
    }

    /// Hands the reverses whose promotion completed to the link's source cluster.
    pub(super) async fn hand_over_reversals(&self, record: &LinkRecord, engine: &Engine) {
        let reversals = engine.reversals();
        if reversals.is_empty() {
            return;
        }
        let store = match KafkaStore::open(engine.source().clone(), engine.state_topic()).await {
            Ok(s) => s,
            Err(e) => {
                warn!(link = %record.name, error = %e, "the source cluster's state topic cannot be written: reverses wait");
                return;
            }
        };
        for r in reversals {
            let request = ReverseRequest {
                link: record.name.clone(),
                source_topic: r.name.clone(),
                ends: r.ends.clone(),
                paused: r.paused,
                error: None,
            };
            let key = state_keys::reverse(self.cluster_id(), &r.source_topic);
            let value = serde_json::to_vec(&request).expect("a request serializes");
            if let Err(e) = store.put(&[(key, Some(value))]).await {
                warn!(link = %record.name, mirror = %r.name, error = %e, "reverse not handed over yet");
                continue;
            }
            info!(link = %record.name, mirror = %r.name, source_topic = %r.source_topic, "reverse handed to the source cluster");
            if let Err(e) = engine.reversal_delivered(&r.name).await {
                warn!(link = %record.name, mirror = %r.name, error = %e, "reverse handed over but not recorded: it will be handed again");
            }
        }
    }

    /// Carries out the reverse requests other clusters left in the local state topic since
    /// `from` (the whole topic at first), and moves `from` past them.
    pub(super) async fn take_reverse_requests(&self, from: &mut Option<i64>) {
        let changes = match read_changes(&self.inner.local, self.state_topic(), *from).await {
            Ok(Some(c)) => c,
            Ok(None) => return,
            Err(e) => {
                warn!(error = %e, "reading the state topic for reverse requests failed");
                return;
            }
        };
        let (records, next) = changes;
        let mut latest: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
        for (k, v) in records {
            if k.starts_with(state_keys::REVERSE_PREFIX) {
                latest.insert(k, v);
            }
        }
        let mut done = true;
        for (key, value) in latest {
            let (Some((cluster, topic)), Some(value)) = (state_keys::reverse_of(&key), value)
            else {
                continue;
            };
            let Ok(request) = serde_json::from_slice::<ReverseRequest>(&value) else {
                warn!(%key, "a reverse request that does not read: left alone");
                continue;
            };
            if request.error.is_some() {
                continue;
            }
            let outcome = match self.carry_out(cluster, topic, &request).await {
                Ok(()) => None,
                Err(Retry(e)) => {
                    // Not now (the link is starting, its source unreachable): read it again
                    // next time; said once a second, so only at debug level.
                    debug!(%topic, error = %e, "reverse request waits");
                    done = false;
                    continue;
                }
                Err(Refused(e)) => {
                    let mut failed = request.clone();
                    failed.error = Some(e);
                    Some(serde_json::to_vec(&failed).expect("a request serializes"))
                }
            };
            if let Err(e) = self.inner.store.put(&[(key.clone(), outcome)]).await {
                warn!(%key, error = %e, "reverse request outcome not recorded");
                done = false;
            }
        }
        if done {
            *from = Some(next);
        }
    }

    async fn carry_out(
        &self,
        cluster: &str,
        topic: &str,
        request: &ReverseRequest,
    ) -> Result<(), Outcome> {
        let mut candidates: Vec<(String, Option<Engine>)> = self
            .entries()
            .into_iter()
            .filter(|(_, e)| {
                let record = e.record();
                record.pulls() && record.source_cluster_id.as_deref() == Some(cluster)
            })
            .map(|(name, e)| (name, e.engine()))
            .collect();
        candidates.sort_by_key(|(name, _)| *name != request.link);
        let (link, engine) = match candidates.into_iter().next() {
            Some((link, Some(engine))) => (link, engine),
            // The link is starting (its source not reached yet): the request waits for it.
            Some((link, None)) => {
                return Err(Retry(format!(
                    "link '{link}', which is to mirror topic '{topic}', is not running yet"
                )))
            }
            None => {
                return Err(Refused(format!(
                    "no link of this cluster pulls from cluster {cluster}: create one (or the other half of link '{}') to reverse topic '{topic}'",
                    request.link
                )))
            }
        };
        let spec = MirrorSpec {
            name: topic.to_owned(),
            source_topic: request.source_topic.clone(),
            configs: vec![],
            replication_factor: None,
            start: StartSpec::DestinationEnd,
        };
        let desired = if request.paused {
            Desired::Paused
        } else {
            Desired::Active
        };
        let adopted = engine
            .adopt_mirror(spec, desired, Some(&request.ends))
            .await;
        match adopted {
            Ok(()) => {
                info!(link = %link, %topic, source_topic = %request.source_topic, paused = request.paused, "reversed: the topic is now a mirror");
                Ok(())
            }
            Err(MirrorError::Kafka { source, .. }) if source.is_retriable() => {
                Err(Retry(source.to_string()))
            }
            Err(e) => {
                warn!(link = %link, %topic, error = %e, "reverse refused");
                Err(Refused(e.to_string()))
            }
        }
    }
}

/// Why a reverse request was not carried out.
enum Outcome {
    /// Worth trying again later.
    Retry(String),
    /// Not possible as asked: recorded with the request.
    Refused(String),
}
use Outcome::{Refused, Retry};
