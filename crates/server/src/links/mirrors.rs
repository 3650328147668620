//! A link's mirror topics: listing them, creating them (never one that would copy records back
//! to where they came from), changing their state (`mirrors:<action>`) and deleting them.
//!
//! A link that pulls asks its own engine; an INBOUND link answers from what its other side
//! reported and writes requests as control records for it (see [`super::inbound`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use clusterlink_kafka::ResponseError;
use clusterlink_mirror::{
    fail_over_offline, Desired, Engine, MirrorError, MirrorSpec, MirrorStatus, StartSpec,
};
use clusterlink_rest_v3::{link_config, MirrorAction};
use tracing::warn;

use super::error::LinkError;
use super::registry::{Entry, LinkManager};
use crate::common::lock;
use crate::iso8601::parse_iso8601_ms;
use crate::record::{live_mirror_from, LinkRecord};
use crate::source_initiated::Control;

/// A mirror topic to create.
#[derive(Debug, Clone, Default)]
pub struct NewMirror {
    /// The source topic.
    pub source_topic: String,
    /// The mirror's name (default: the link's prefix followed by the source name).
    pub mirror_topic: Option<String>,
    /// Replication factor.
    pub replication_factor: Option<i16>,
    /// Topic config overrides.
    pub configs: Vec<(String, String)>,
}

/// What the engine is asked for by a mirror action.
fn desired(action: MirrorAction) -> Result<Desired, LinkError> {
    match action {
        MirrorAction::Promote => Ok(Desired::Promote),
        MirrorAction::Failover => Ok(Desired::Failover),
        MirrorAction::Pause => Ok(Desired::Paused),
        MirrorAction::Resume => Ok(Desired::Active),
        other => Err(LinkError::Invalid(format!(
            "mirrors:{other} is not supported"
        ))),
    }
}

/// A mirror action names at least one mirror topic.
fn require_names(names: &[String]) -> Result<(), LinkError> {
    if names.is_empty() {
        return Err(LinkError::Invalid(
            "mirror_topic_names must name at least one mirror topic".into(),
        ));
    }
    Ok(())
}

/// Per topic of a mirror action, its status after the change, or why it did not change.
pub type MirrorResults = Vec<(String, Result<MirrorStatus, LinkError>)>;

impl LinkManager {
    /// The mirrors of a link: its engine's, or for an INBOUND link what its OUTBOUND side
    /// reported (PENDING_MIRROR until created).
    pub(super) fn entry_mirrors(&self, entry: &Entry) -> Vec<MirrorStatus> {
        let record = entry.record();
        if record.is_inbound() {
            return self.inbound_view(&record).mirrors();
        }
        let mut mirrors = match entry.engine() {
            Some(e) => e.list(),
            // Not running (its source not reached since the start): as the state topic has
            // them, so that they can be seen and failed over.
            None => lock(&entry.offline).clone(),
        };
        for restoring in self.restores_under_way(&record.name) {
            if !mirrors.iter().any(|m| m.name == restoring.name) {
                mirrors.push(restoring);
            }
        }
        mirrors
    }

    /// Mirrors of one link, or of every running link (`None`), with their link's name.
    pub fn mirrors(&self, link: Option<&str>) -> Result<Vec<(String, MirrorStatus)>, LinkError> {
        let entries: Vec<(String, Arc<Entry>)> = match link {
            Some(l) => vec![(l.to_owned(), self.entry(l)?)],
            None => self.entries(),
        };
        Ok(entries
            .into_iter()
            .flat_map(|(name, e)| {
                self.entry_mirrors(&e)
                    .into_iter()
                    .map(move |m| (name.clone(), m))
            })
            .collect())
    }

    /// One mirror of a link.
    pub fn mirror(&self, link: &str, name: &str) -> Result<MirrorStatus, LinkError> {
        let entry = self.entry(link)?;
        if entry.record().is_inbound() {
            return self
                .entry_mirrors(&entry)
                .into_iter()
                .find(|m| m.name == name)
                .ok_or_else(|| MirrorError::NotFound(name.to_owned()).into());
        }
        let engine = match self.running(link) {
            Ok((_, engine)) => engine,
            Err(e) => {
                return lock(&entry.offline)
                    .iter()
                    .find(|m| m.name == name)
                    .cloned()
                    .ok_or(e)
            }
        };
        engine
            .status(name)
            .or_else(|| {
                self.restores_under_way(link)
                    .into_iter()
                    .find(|m| m.name == name)
            })
            .ok_or_else(|| MirrorError::NotFound(name.to_owned()).into())
    }

    /// The link mirroring into topic `topic`, if any.
    pub fn owner_of(&self, topic: &str) -> Option<String> {
        self.entries()
            .into_iter()
            .find(|(_, e)| {
                if e.record().is_inbound() {
                    self.entry_mirrors(e).iter().any(|m| m.name == topic)
                } else {
                    e.engine().is_some_and(|e| e.status(topic).is_some())
                }
            })
            .map(|(k, _)| k)
    }

    /// Creates a mirror topic on a link.
    pub async fn create_mirror(&self, link: &str, mirror: NewMirror) -> Result<(), LinkError> {
        let entry = self.entry(link)?;
        let record = entry.record();
        if !record.pulls() && !record.is_inbound() {
            return Err(LinkError::Invalid(format!(
                "Cluster link '{link}' has link.mode SOURCE: its mirror topics are created on the destination cluster's INBOUND link of the same name"
            )));
        }
        if mirror.source_topic.is_empty() {
            return Err(LinkError::Invalid("source_topic_name is required".into()));
        }
        let name = mirror_name(&record, &mirror)?;
        let start = start_spec(&record)?;
        if let Some(other) = self.owner_of(&name) {
            return Err(MirrorError::DestinationExists(format!(
                "{name} (a mirror of link {other})"
            ))
            .into());
        }
        let spec = MirrorSpec {
            name,
            source_topic: mirror.source_topic,
            configs: mirror.configs,
            replication_factor: mirror.replication_factor,
            start,
        };
        if record.is_inbound() {
            return self.request_inbound_mirror(&record, spec).await;
        }
        let (_, engine) = self.running(link)?;
        self.check_no_loop(&record, &engine, &spec.source_topic)
            .await?;
        engine.create_mirror(spec, Desired::Active).await?;
        Ok(())
    }

    /// An INBOUND link's mirror: the OUTBOUND side creates it; what can be checked here is
    /// checked now.
    async fn request_inbound_mirror(
        &self,
        record: &LinkRecord,
        spec: MirrorSpec,
    ) -> Result<(), LinkError> {
        match self.inner.local.topic_metadata(&spec.name).await {
            Ok(_) => {
                return Err(MirrorError::DestinationExists(spec.name.clone()).into());
            }
            Err(e) if e.is(ResponseError::UnknownTopicOrPartition) => {}
            Err(e) => return Err(LinkError::Local(e)),
        }
        let name = spec.name.clone();
        let control = Control::Mirror {
            spec,
            desired: Desired::Active,
        };
        self.put_controls(record, &[(name, control)]).await
    }

    /// Refuses a mirror whose source topic is itself a live mirror, on the source cluster, of a
    /// topic of this cluster: the two halves of a link pair (or two links facing each other)
    /// would copy records back to where they came from. What the other cluster's link server
    /// recorded in its state topic tells; a cluster without clusterlink state has no mirrors we
    /// could loop through. A mirror that was promoted or failed over is an ordinary topic and
    /// may be mirrored back (the reverse direction of a disaster recovery).
    async fn check_no_loop(
        &self,
        record: &LinkRecord,
        engine: &Engine,
        source_topic: &str,
    ) -> Result<(), LinkError> {
        // A source we may not read the state of (ACLs: the link's principal usually has rights
        // on the mirrored topics only) runs no clusterlink we could loop through, or none we can
        // know of: the check is skipped rather than the mirror refused.
        let state = match clusterlink_mirror::store::read_state(
            engine.source(),
            engine.state_topic(),
        )
        .await
        {
            Ok(state) => state,
            Err(e) => {
                warn!(link = %record.name, error = %e, "the source's clusterlink state cannot be read: the loop check is skipped");
                return Ok(());
            }
        };
        if let Some((link_name, origin)) = live_mirror_from(&state, source_topic, self.cluster_id())
        {
            return Err(LinkError::Invalid(format!(
                "Topic '{source_topic}' on the source cluster is a mirror of topic '{origin}' of this cluster (link '{link_name}' there): mirroring it back would loop records between the clusters"
            )));
        }
        Ok(())
    }

    /// Deletes a mirror topic (the destination topic goes with it).
    pub async fn delete_mirror(&self, link: &str, name: &str) -> Result<(), LinkError> {
        let entry = self.entry(link)?;
        let record = entry.record();
        if record.is_inbound() {
            if !self.entry_mirrors(&entry).iter().any(|m| m.name == name) {
                return Err(MirrorError::NotFound(name.to_owned()).into());
            }
            // The OUTBOUND side deletes the topic (and this request) when it next looks.
            return self
                .put_controls(&record, &[(name.to_owned(), Control::Delete)])
                .await;
        }
        let (_, engine) = self.running(link)?;
        Ok(engine.delete_mirror(name).await?)
    }

    /// Applies an action to mirrors of a link. Every name must be a mirror of the link (else
    /// nothing changes); the result per topic says whether its change was accepted.
    pub async fn alter_mirrors(
        &self,
        link: &str,
        names: &[String],
        action: MirrorAction,
        validate_only: bool,
    ) -> Result<MirrorResults, LinkError> {
        let entry = self.entry(link)?;
        let record = entry.record();
        if record.is_inbound() {
            return self
                .alter_inbound_mirrors(&record, names, action, validate_only)
                .await;
        }
        let engine = match self.running(link) {
            Ok((_, engine)) => engine,
            // A lost source is what failover is for: it works without the engine.
            Err(e) if action == MirrorAction::Failover && record.pulls() => {
                return self
                    .fail_over_offline(&entry, &record, names, validate_only)
                    .await
                    .map_err(|offline| match offline {
                        LinkError::NotAMirror { .. } => offline,
                        _ => e,
                    })
            }
            Err(e) => return Err(e),
        };
        self.existing_mirrors(link, &engine, names)?;
        let desired = desired(action)?;
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            let result = if validate_only {
                Ok(())
            } else {
                engine.set_desired(n, desired).await
            };
            let result = result.map_err(LinkError::from).and_then(|()| {
                engine
                    .status(n)
                    .ok_or_else(|| MirrorError::NotFound(n.clone()).into())
            });
            out.push((n.clone(), result));
        }
        Ok(out)
    }

    /// `mirrors:failover` of a pulling link whose engine does not run (its source not reached
    /// since the server started): the mirrors are stopped at their destination's end from the
    /// state topic alone. No engine of the link starts meanwhile (an attempt under way is
    /// waited for; the next one reads the stopped mirrors).
    async fn fail_over_offline(
        &self,
        entry: &Arc<Entry>,
        record: &LinkRecord,
        names: &[String],
        validate_only: bool,
    ) -> Result<MirrorResults, LinkError> {
        require_names(names)?;
        // Lock order as the background start's: starting, then changes.
        let _starting = entry.starting.lock().await;
        let _changes = self.inner.changes.lock().await;
        if entry.engine().is_some() {
            return Err(LinkError::Unavailable {
                link: record.name.clone(),
                message: "it started meanwhile: ask again".into(),
            });
        }
        self.read_offline_mirrors(entry, record).await;
        let known: Vec<String> = lock(&entry.offline)
            .iter()
            .map(|m| m.name.clone())
            .collect();
        let missing: Vec<&str> = names
            .iter()
            .filter(|n| !known.contains(n))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(LinkError::NotAMirror {
                link: record.name.clone(),
                topics: missing.join(", "),
            });
        }
        if validate_only {
            let offline = lock(&entry.offline).clone();
            return Ok(names
                .iter()
                .map(|n| {
                    let m = offline.iter().find(|m| &m.name == n).cloned();
                    (
                        n.clone(),
                        m.ok_or_else(|| MirrorError::NotFound(n.clone()).into()),
                    )
                })
                .collect());
        }
        let generation = entry.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let results = fail_over_offline(
            &self.inner.store,
            &self.inner.local,
            &record.engine_name(),
            names,
        )
        .await?;
        self.read_offline_mirrors(entry, record).await;
        self.restart_in_background(entry.clone(), generation);
        Ok(results
            .into_iter()
            .map(|(n, r)| (n, r.map_err(LinkError::from)))
            .collect())
    }

    /// `names`, when each is a mirror of the link's engine (else which are not).
    pub(super) fn existing_mirrors(
        &self,
        link: &str,
        engine: &Engine,
        names: &[String],
    ) -> Result<Vec<String>, LinkError> {
        require_names(names)?;
        let missing: Vec<&str> = names
            .iter()
            .filter(|n| engine.status(n).is_none())
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(LinkError::NotAMirror {
                link: link.to_owned(),
                topics: missing.join(", "),
            });
        }
        Ok(names.to_vec())
    }

    /// `alter_mirrors` for an INBOUND link: the desired states go into control records.
    async fn alter_inbound_mirrors(
        &self,
        record: &LinkRecord,
        names: &[String],
        action: MirrorAction,
        validate_only: bool,
    ) -> Result<MirrorResults, LinkError> {
        require_names(names)?;
        let desired = desired(action)?;
        let view = self.inbound_view(record);
        let mut controls = Vec::new();
        let mut missing = Vec::new();
        for n in names {
            match view.controls.get(n) {
                Some(Control::Mirror { spec, .. }) => controls.push((
                    n.clone(),
                    Control::Mirror {
                        spec: spec.clone(),
                        desired,
                    },
                )),
                _ => missing.push(n.as_str()),
            }
        }
        if !missing.is_empty() {
            return Err(LinkError::NotAMirror {
                link: record.name.clone(),
                topics: missing.join(", "),
            });
        }
        if !validate_only {
            self.put_controls(record, &controls).await?;
        }
        let now = self.inbound_view(record).mirrors();
        Ok(names
            .iter()
            .map(|n| {
                let status = now
                    .iter()
                    .find(|m| &m.name == n)
                    .cloned()
                    .ok_or_else(|| MirrorError::NotFound(n.clone()).into());
                (n.clone(), status)
            })
            .collect())
    }
}

/// The mirror's name: the link's prefix followed by the source topic's name, which a name
/// given on a prefixed link must be.
fn mirror_name(record: &LinkRecord, mirror: &NewMirror) -> Result<String, LinkError> {
    let prefix = record
        .config(link_config::CLUSTER_LINK_PREFIX)
        .unwrap_or_default();
    let expected = format!("{prefix}{}", mirror.source_topic);
    match &mirror.mirror_topic {
        Some(n) if !prefix.is_empty() && *n != expected => Err(LinkError::Invalid(format!(
            "Mirror topic name '{n}' must be the link's prefix '{prefix}' followed by the source topic name: '{expected}'"
        ))),
        Some(n) if n.is_empty() => Ok(expected),
        Some(n) => Ok(n.clone()),
        None => Ok(expected),
    }
}

/// Where a new mirror starts reading its source (`mirror.start.offset.spec`).
fn start_spec(record: &LinkRecord) -> Result<StartSpec, LinkError> {
    match record.config(link_config::MIRROR_START_OFFSET_SPEC) {
        None | Some("earliest") => Ok(StartSpec::Earliest),
        Some("latest") => Ok(StartSpec::Latest),
        Some(ts) => parse_iso8601_ms(ts)
            .map(StartSpec::Timestamp)
            .ok_or_else(|| LinkError::Invalid(format!("bad mirror.start.offset.spec '{ts}'"))),
    }
}
