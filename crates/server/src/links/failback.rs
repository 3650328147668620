//! Failback: `mirrors:truncate-and-restore`, which turns a topic that was mirrored to the
//! link's source cluster, and failed over there, into a mirror of that failed-over topic; and
//! `mirrors:reverse-and-start-mirror` / `reverse-and-pause-mirror` (in `reverse`), which
//! promote a mirror and make its source topic a mirror of it.
//!
//! Kafka has no request that cuts the end of a log, so truncate-and-restore works on any Kafka
//! by one of two ways, per topic:
//! - nothing to cut (the local log ends where the remote's mirror stopped, or before): the
//!   topic becomes a mirror from its end (the engine's `adopt_mirror` checks it holds the
//!   remote's history, offset for offset);
//! - otherwise the records after the cut are **copied aside** first (byte for byte, to the
//!   diverged-records topic, `<topic>.diverged` unless the link says otherwise, kept forever),
//!   then the topic is deleted, created again and mirrored from the remote's log start, so its
//!   offsets equal the remote's. Producers are fenced off the topic before the copy
//!   (`max.message.bytes=0` refuses every batch on any Kafka), so nothing written during the
//!   restore can be lost with the deletion.
//!
//! The steps are recorded in the local state topic (`restore/<engine>/<topic>`) before they
//! run; asking again after a crash continues where it stopped, and never deletes the topic
//! before its diverged records are safely copied.
//!
//! Where the remote's mirror stopped comes from the remote cluster's clusterlink state (its
//! state topic, read with the link's own connection, as the loop check does): the checkpoint of
//! the failed-over mirror is exactly what it had written.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clusterlink_kafka::client::{AlterConfigOp, ConfigResource, NewTopic};
use clusterlink_kafka::{Client, ResponseError};
use clusterlink_mirror::store::read_state;
use clusterlink_mirror::{
    copy_partition, log_ranges, record_at, same_record, state_keys, stored_aligned, stored_mirrors,
    stored_positions, CopyOptions, Desired, DestinationProducer, Engine, MirrorError, MirrorSpec,
    MirrorState, MirrorStatus, PartitionRoute, StartSpec,
};
use clusterlink_rest_v3::link_config;
use clusterlink_rest_v3::mirrors::{MirrorTruncation, PartitionTruncation};
use serde::{Deserialize, Serialize};
use tracing::{info, info_span, warn, Instrument};

use super::error::LinkError;
use super::registry::LinkManager;
use crate::common::lock;
use crate::record::LinkRecord;

/// The default suffix of the topic that keeps the records a truncate-and-restore cut.
pub const DIVERGED_TOPIC_SUFFIX: &str = ".diverged";

/// How long a deleted topic may take to be gone before it is created again.
const TOPIC_GONE_WITHIN: Duration = Duration::from_secs(60);

/// What a truncate-and-restore did to one topic.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The mirror, after.
    pub status: MirrorStatus,
    /// Offsets cut, all partitions together.
    pub truncated: i64,
    /// Per partition: where it was cut and how many offsets.
    pub partitions: Vec<PartitionTruncation>,
    /// Where the cut records were copied (none when nothing was cut).
    pub diverged_topic: Option<String>,
}

/// One partition's cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Cut {
    /// The first offset cut: where the remote's mirror stopped (or the local end, if before).
    truncate_to: i64,
    /// The local end when the restore began.
    end: i64,
}

/// A truncate-and-restore between its steps (`restore/<engine>/<topic>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RestorePlan {
    /// The remote topic the restored one mirrors.
    source_topic: String,
    /// Where the cut records go.
    diverged_topic: String,
    cuts: BTreeMap<i32, Cut>,
    /// The remote topic has partitions the local one lacks (added after the failover): the
    /// local one is created again even with nothing to cut.
    recreate: bool,
    /// The cut records are all in the diverged-records topic.
    copied: bool,
    /// Per partition, where the remote's mirror stopped: the restored mirror reports
    /// PENDING_RESTORE until it has that history back.
    #[serde(default)]
    restore_to: BTreeMap<i32, i64>,
}

/// A truncate-and-restore under way, and once done, its outcome (until the request that waits
/// for it takes it).
#[derive(Debug)]
pub(crate) struct RestoreProgress {
    /// `None` while it is being planned (the claim that keeps a second request from starting
    /// another restore of the same topic meanwhile).
    plan: Option<RestorePlan>,
    outcome: Option<Result<Restored, LinkError>>,
}

impl RestorePlan {
    /// What a restore that is not done yet reports: the topic as it will be mirrored,
    /// PENDING_SETUP_FOR_RESTORE, and what it cuts.
    fn under_way(&self, topic: &str) -> Restored {
        Restored {
            status: preview(topic, self),
            truncated: self.truncated(),
            partitions: self.partitions(),
            diverged_topic: (self.truncated() > 0).then(|| self.diverged_topic.clone()),
        }
    }

    /// The local cluster has no such topic (it came back empty): no partition to cut.
    fn local_topic_missing(&self) -> bool {
        self.cuts.is_empty()
    }

    fn truncated(&self) -> i64 {
        self.cuts.values().map(|c| c.end - c.truncate_to).sum()
    }

    /// What the restored mirror's status keeps of the cut (none when nothing was cut).
    fn truncation(&self) -> Option<MirrorTruncation> {
        (self.truncated() > 0).then(|| MirrorTruncation {
            messages_truncated: self.truncated(),
            partition_level_truncation_data: self.partitions(),
            diverged_records_topic: self.diverged_topic.clone(),
        })
    }

    fn partitions(&self) -> Vec<PartitionTruncation> {
        self.cuts
            .iter()
            .map(|(p, c)| PartitionTruncation {
                partition_id: *p,
                offset_truncated_to: c.truncate_to,
                messages_truncated: c.end - c.truncate_to,
            })
            .collect()
    }
}

impl LinkManager {
    /// `mirrors:truncate-and-restore` of `names` on a pulling link: per topic, what was cut
    /// and the mirror it became, or why not. Each restore runs as a task of its own: the answer
    /// waits for it up to `restore_answer_within` (30 s by default), then reports it under way
    /// (PENDING_SETUP_FOR_RESTORE, as the link's mirror list does until it is done).
    pub async fn truncate_and_restore(
        &self,
        link: &str,
        names: &[String],
        validate_only: bool,
    ) -> Result<Vec<(String, Result<Restored, LinkError>)>, LinkError> {
        if self.entry(link)?.record().is_inbound() {
            return Err(LinkError::Invalid(format!(
                "Cluster link '{link}' is INBOUND: restore its topics on the cluster that runs its mirrors"
            )));
        }
        let (entry, engine) = self.running(link)?;
        let record = entry.record();
        if names.is_empty() {
            return Err(LinkError::Invalid(
                "mirror_topic_names must name at least one topic".into(),
            ));
        }
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let r = self
                .restore_one(&record, &engine, name, validate_only)
                .await;
            if let Err(e) = &r {
                warn!(link = %link, topic = %name, error = %e, "truncate-and-restore refused or failed");
            }
            out.push((name.clone(), r));
        }
        Ok(out)
    }

    /// The restores of `link` under way, as mirrors in PENDING_SETUP_FOR_RESTORE.
    pub(super) fn restores_under_way(&self, link: &str) -> Vec<MirrorStatus> {
        lock(&self.inner.restores)
            .iter()
            .filter(|((l, _), p)| l == link && p.outcome.is_none())
            .filter_map(|((_, topic), p)| Some(preview(topic, p.plan.as_ref()?)))
            .collect()
    }

    async fn restore_one(
        &self,
        record: &LinkRecord,
        engine: &Engine,
        topic: &str,
        validate_only: bool,
    ) -> Result<Restored, LinkError> {
        let key = (record.name.clone(), topic.to_owned());
        {
            // Under way: say so. Done since the last answer (which did not wait that long):
            // that is the answer.
            let mut restores = lock(&self.inner.restores);
            match restores.get(&key) {
                Some(RestoreProgress {
                    plan: Some(plan),
                    outcome: None,
                }) => return Ok(plan.under_way(topic)),
                Some(RestoreProgress {
                    plan: None,
                    outcome: None,
                }) => {
                    return Err(LinkError::Invalid(format!(
                        "Topic '{topic}': a truncate-and-restore of it is starting; ask again"
                    )))
                }
                Some(_) if !validate_only => {
                    let done = restores.remove(&key).and_then(|p| p.outcome);
                    return done.expect("an outcome");
                }
                _ if !validate_only => {
                    let claim = RestoreProgress {
                        plan: None,
                        outcome: None,
                    };
                    restores.insert(key.clone(), claim);
                }
                _ => {}
            }
        }
        let planned = self.load_or_plan(record, engine, topic).await;
        if validate_only {
            return Ok(planned?.under_way(topic));
        }
        let plan = match planned {
            Ok(plan) => plan,
            Err(e) => {
                lock(&self.inner.restores).remove(&key);
                return Err(e);
            }
        };
        if let Some(p) = lock(&self.inner.restores).get_mut(&key) {
            p.plan = Some(plan.clone());
        }
        let manager = self.clone();
        let (record, engine, name) = (record.clone(), engine.clone(), topic.to_owned());
        let span = info_span!("restore", link = %record.name, topic = %name);
        let task_key = key.clone();
        tokio::spawn(
            async move {
                let outcome = manager.execute_restore(&record, &engine, &name, plan).await;
                if let Some(p) = lock(&manager.inner.restores).get_mut(&task_key) {
                    p.outcome = Some(outcome);
                }
            }
            .instrument(span),
        );
        let since = Instant::now();
        loop {
            {
                let mut restores = lock(&self.inner.restores);
                match restores.get(&key) {
                    Some(p) if p.outcome.is_some() => {
                        let done = restores.remove(&key).and_then(|p| p.outcome);
                        return done.expect("an outcome");
                    }
                    Some(RestoreProgress {
                        plan: Some(plan), ..
                    }) if since.elapsed() >= self.inner.options.restore_answer_within => {
                        return Ok(plan.under_way(topic));
                    }
                    Some(_) => {}
                    None => {
                        return Err(LinkError::State(format!(
                            "the restore of {topic} is no longer known"
                        )))
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The restore of `topic` recorded in the state topic (one that stopped half-way), or a new
    /// plan.
    async fn load_or_plan(
        &self,
        record: &LinkRecord,
        engine: &Engine,
        topic: &str,
    ) -> Result<RestorePlan, LinkError> {
        let stored_key = state_keys::restore(&record.engine_name(), topic);
        let stored = self.inner.store.load().await.map_err(LinkError::Local)?;
        match stored.get(&stored_key) {
            Some(v) => serde_json::from_slice::<RestorePlan>(v)
                .map_err(|e| LinkError::State(format!("{stored_key}: {e}"))),
            None => self.plan_restore(record, engine, topic).await,
        }
    }

    /// Carries a restore out, from wherever its recorded steps stopped.
    async fn execute_restore(
        &self,
        record: &LinkRecord,
        engine: &Engine,
        topic: &str,
        mut plan: RestorePlan,
    ) -> Result<Restored, LinkError> {
        let key = state_keys::restore(&record.engine_name(), topic);
        let result = |plan: &RestorePlan, status: MirrorStatus, diverged: bool| Restored {
            status,
            truncated: plan.truncated(),
            partitions: plan.partitions(),
            diverged_topic: diverged.then(|| plan.diverged_topic.clone()),
        };
        let cut = plan.truncated() > 0;
        let local = &self.inner.local;
        let spec = |plan: &RestorePlan, start| spec_of(topic, plan, start);
        if plan.local_topic_missing() {
            // The cluster came back without the topic: nothing to cut, the whole history
            // comes from the remote.
            engine.forget_stopped(topic).await?;
            create_mirror_again(engine, spec(&plan, StartSpec::Earliest), &plan).await?;
            let status = engine
                .status(topic)
                .ok_or_else(|| MirrorError::NotFound(topic.to_owned()))?;
            return Ok(result(&plan, status, false));
        }
        if !cut && !plan.recreate {
            engine.forget_stopped(topic).await?;
            engine
                .adopt_mirror(
                    spec(&plan, StartSpec::DestinationEnd),
                    Desired::Active,
                    None,
                )
                .await?;
            info!(%topic, "restored: nothing to cut, mirroring from its end");
            let status = engine
                .status(topic)
                .ok_or_else(|| MirrorError::NotFound(topic.to_owned()))?;
            return Ok(result(&plan, status, false));
        }
        self.put_plan(&key, Some(&plan)).await?;
        if !plan.copied {
            if cut {
                copy_aside(local, topic, &plan).await?;
            }
            plan.copied = true;
            self.put_plan(&key, Some(&plan)).await?;
        }
        engine.forget_stopped(topic).await?;
        delete_and_wait(local, topic).await?;
        create_mirror_again(engine, spec(&plan, StartSpec::Earliest), &plan).await?;
        self.put_plan(&key, None).await?;
        info!(%topic, truncated = plan.truncated(), diverged_topic = %plan.diverged_topic, "restored: created again, mirroring the remote's history");
        let status = engine
            .status(topic)
            .ok_or_else(|| MirrorError::NotFound(topic.to_owned()))?;
        Ok(result(&plan, status, cut))
    }

    async fn put_plan(&self, key: &str, plan: Option<&RestorePlan>) -> Result<(), LinkError> {
        let value = plan.map(|p| serde_json::to_vec(p).expect("a plan serializes"));
        self.inner
            .store
            .put(&[(key.to_owned(), value)])
            .await
            .map_err(LinkError::Local)
    }

    /// Works out what a truncate-and-restore of `topic` cuts: where the remote's failed-over
    /// mirror of it stopped, checked against both logs.
    async fn plan_restore(
        &self,
        record: &LinkRecord,
        engine: &Engine,
        topic: &str,
    ) -> Result<RestorePlan, LinkError> {
        let refuse = |why: String| LinkError::Invalid(format!("Topic '{topic}': {why}"));
        if let Some(m) = engine.status(topic) {
            if m.state != MirrorState::Stopped {
                return Err(refuse(format!(
                    "it is already a mirror topic of cluster link '{}' ({})",
                    record.name,
                    m.state.as_str()
                )));
            }
        }
        let remote = engine.source();
        let remote_state = read_state(remote, engine.state_topic())
            .await
            .map_err(|e| LinkError::SourceUnreachable {
                link: record.name.clone(),
                message: format!("reading the remote cluster's clusterlink state: {e}"),
            })?;
        let here = self.cluster_id();
        let theirs: Vec<_> = stored_mirrors(&remote_state)
            .into_iter()
            .filter(|m| m.source_topic == topic)
            .filter(|m| {
                m.engine.split_once('@').is_some_and(|(l, id)| {
                    LinkRecord::read(&remote_state, l)
                        .is_some_and(|r| r.id == id && r.source_cluster_id.as_deref() == Some(here))
                })
            })
            .collect();
        let Some(mirror) = theirs.first() else {
            return Err(refuse(
                "the remote cluster has no mirror of it: there is nothing to restore from (truncate-and-restore follows a failover of the remote's mirror)".into(),
            ));
        };
        if theirs.len() > 1 {
            let names: Vec<String> = theirs.iter().map(|m| m.name.clone()).collect();
            return Err(refuse(format!(
                "the remote cluster has several mirrors of it ({}): restore from one, delete the others first",
                names.join(", ")
            )));
        }
        if mirror.state != MirrorState::Stopped {
            return Err(refuse(format!(
                "its mirror '{}' on the remote cluster is {}: fail it over (or promote it) there first",
                mirror.name,
                mirror.state.as_str()
            )));
        }
        if !stored_aligned(&remote_state, &mirror.engine, &mirror.name) {
            return Err(refuse(format!(
                "its mirror '{}' on the remote cluster has translated offsets: a restored topic could not keep its offsets",
                mirror.name
            )));
        }
        let stopped = stored_positions(&remote_state, &mirror.engine, &mirror.name);
        let local = &self.inner.local;
        let meta = match local.topic_metadata(topic).await {
            Ok(m) => m,
            Err(e) if e.is(ResponseError::UnknownTopicOrPartition) => {
                return Ok(RestorePlan {
                    source_topic: mirror.name.clone(),
                    diverged_topic: String::new(),
                    cuts: BTreeMap::new(),
                    recreate: false,
                    copied: true,
                    restore_to: stopped.iter().map(|(p, (_, end))| (*p, *end)).collect(),
                })
            }
            Err(e) => return Err(LinkError::Local(e)),
        };
        let partitions: Vec<i32> = meta.partitions.keys().copied().collect();
        let ranges = log_ranges(local, topic, &partitions)
            .await
            .map_err(LinkError::Local)?;
        let remote_parts: Vec<i32> = stopped.keys().copied().collect();
        let remote_ranges = log_ranges(remote, &mirror.name, &remote_parts)
            .await
            .map_err(|e| LinkError::SourceUnreachable {
                link: record.name.clone(),
                message: e.to_string(),
            })?;
        let mut cuts = BTreeMap::new();
        for p in &partitions {
            let Some((_, stopped_at)) = stopped.get(p) else {
                return Err(refuse(format!(
                    "partition {p} is not in the remote mirror '{}'",
                    mirror.name
                )));
            };
            let r = ranges[p];
            if r.stable != r.end {
                return Err(refuse(format!(
                    "partition {p} has a transaction open at offset {}: let it end (or time out) first",
                    r.stable
                )));
            }
            let truncate_to = (*stopped_at).min(r.end);
            // The last record both sides should share must be the same record.
            let last = truncate_to - 1;
            let remote_start = remote_ranges.get(p).map_or(0, |x| x.start);
            if last >= r.start.max(remote_start) {
                let ours = record_at(local, topic, *p, last)
                    .await
                    .map_err(LinkError::Local)?;
                let theirs = record_at(remote, &mirror.name, *p, last)
                    .await
                    .map_err(|e| LinkError::SourceUnreachable {
                        link: record.name.clone(),
                        message: e.to_string(),
                    })?;
                let same = match (&ours, &theirs) {
                    (Some(a), Some(b)) => same_record(a, b),
                    (None, None) => true,
                    _ => false,
                };
                if !same {
                    return Err(refuse(format!(
                        "partition {p}: the record at offset {last}, before the remote mirror's stop, differs between the clusters: the logs are not the same history"
                    )));
                }
            }
            cuts.insert(
                *p,
                Cut {
                    truncate_to,
                    end: r.end,
                },
            );
        }
        let suffix = record
            .config(link_config::CLUSTER_LINK_DIVERGED_TOPIC_SUFFIX)
            .unwrap_or(DIVERGED_TOPIC_SUFFIX);
        let diverged_topic = free_topic_name(local, &format!("{topic}{suffix}")).await?;
        Ok(RestorePlan {
            source_topic: mirror.name.clone(),
            diverged_topic,
            cuts,
            recreate: remote_parts.len() != partitions.len(),
            copied: false,
            restore_to: stopped.iter().map(|(p, (_, end))| (*p, *end)).collect(),
        })
    }
}

/// The restored topic's mirror.
fn spec_of(topic: &str, plan: &RestorePlan, start: StartSpec) -> MirrorSpec {
    MirrorSpec {
        name: topic.to_owned(),
        source_topic: plan.source_topic.clone(),
        configs: vec![],
        replication_factor: None,
        start,
    }
}

/// What a validate-only restore reports: the topic as it would be mirrored.
fn preview(topic: &str, plan: &RestorePlan) -> MirrorStatus {
    let mut s: MirrorStatus = serde_json::from_value(serde_json::json!({
        "name": topic,
        "source_topic": plan.source_topic,
        "state": "PendingSetupForRestore",
        "reason": null,
        "offset_mode": "Aligned",
        "state_time_ms": 0,
        "partitions": [],
    }))
    .expect("a status reads");
    s.state = MirrorState::PendingSetupForRestore;
    s
}

/// `name`, or `name.2`, `name.3`... : the first that is not a topic yet (a diverged-records
/// topic of an earlier failback is never reused).
async fn free_topic_name(local: &Client, name: &str) -> Result<String, LinkError> {
    for i in 1..1000 {
        let candidate = if i == 1 {
            name.to_owned()
        } else {
            format!("{name}.{i}")
        };
        match local.topic_metadata(&candidate).await {
            Err(e) if e.is(ResponseError::UnknownTopicOrPartition) => return Ok(candidate),
            Err(e) => return Err(LinkError::Local(e)),
            Ok(_) => {}
        }
    }
    Err(LinkError::Invalid(format!(
        "no free name for the diverged records of '{name}'"
    )))
}

/// Fences producers off `topic`, then copies each partition's records from its cut to its end
/// into the diverged-records topic (created afresh: a copy left by a crash is replaced, since
/// the topic still holds everything), and checks that nothing is missing.
async fn copy_aside(local: &Client, topic: &str, plan: &RestorePlan) -> Result<(), LinkError> {
    // Every batch is larger than 0 bytes: Kafka refuses them all with MESSAGE_TOO_LARGE.
    local
        .incremental_alter_configs(
            ConfigResource::Topic,
            topic,
            &[AlterConfigOp::Set("max.message.bytes".into(), "0".into())],
            false,
        )
        .await
        .map_err(LinkError::Local)?;
    let parts: Vec<i32> = plan.cuts.keys().copied().collect();
    let now = log_ranges(local, topic, &parts)
        .await
        .map_err(LinkError::Local)?;
    for (p, c) in &plan.cuts {
        if now[p].end != c.end {
            return Err(LinkError::Invalid(format!(
                "Topic '{topic}': partition {p} was written to during the restore (it ends at {} where it ended at {}); its producers are fenced off now: ask again",
                now[p].end, c.end
            )));
        }
    }
    delete_and_wait(local, &plan.diverged_topic).await?;
    let new = NewTopic {
        name: plan.diverged_topic.clone(),
        partitions: plan.cuts.len() as i32,
        replication_factor: -1,
        // Kept until a user has reconciled them and deletes the topic.
        configs: vec![
            ("retention.ms".into(), "-1".into()),
            ("retention.bytes".into(), "-1".into()),
            ("cleanup.policy".into(), "delete".into()),
        ],
    };
    for (_, r) in local
        .create_topics(&[new], false, Duration::from_secs(30))
        .await
        .map_err(LinkError::Local)?
    {
        r.map_err(LinkError::Local)?;
    }
    let mut producer = DestinationProducer::init(local)
        .await
        .map_err(LinkError::Local)?;
    for (p, c) in &plan.cuts {
        if c.end <= c.truncate_to {
            continue;
        }
        let route = PartitionRoute {
            source_topic: topic.to_owned(),
            destination_topic: plan.diverged_topic.clone(),
            partition: *p,
        };
        let stats = copy_partition(
            local,
            local,
            &route,
            c.truncate_to,
            &mut producer,
            &CopyOptions::default(),
        )
        .await
        .map_err(|e| LinkError::State(format!("copying the diverged records of {topic}: {e}")))?;
        if stats.next_offset < c.end {
            return Err(LinkError::State(format!(
                "copying the diverged records of {topic}-{p}: stopped at offset {} before its end {}",
                stats.next_offset, c.end
            )));
        }
        info!(%topic, partition = p, from = c.truncate_to, to = c.end, records = stats.records, diverged_topic = %plan.diverged_topic, "diverged records copied aside");
    }
    Ok(())
}

/// Deletes `topic` (if it exists) and waits until the cluster no longer knows it.
async fn delete_and_wait(local: &Client, topic: &str) -> Result<(), LinkError> {
    for (_, r) in local
        .delete_topics(&[topic.to_owned()], Duration::from_secs(30))
        .await
        .map_err(LinkError::Local)?
    {
        match r {
            Err(e) if !e.is(ResponseError::UnknownTopicOrPartition) => {
                return Err(LinkError::Local(e))
            }
            _ => {}
        }
    }
    let since = Instant::now();
    loop {
        local.invalidate_metadata();
        match local.topic_metadata(topic).await {
            Err(e) if e.is(ResponseError::UnknownTopicOrPartition) => return Ok(()),
            Err(e) => return Err(LinkError::Local(e)),
            Ok(_) if since.elapsed() > TOPIC_GONE_WITHIN => {
                return Err(LinkError::State(format!(
                    "topic {topic} still exists {}s after its deletion",
                    TOPIC_GONE_WITHIN.as_secs()
                )))
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Creates the restored mirror, again while the cluster still finishes the deletion of its old
/// topic.
async fn create_mirror_again(
    engine: &Engine,
    spec: MirrorSpec,
    plan: &RestorePlan,
) -> Result<(), LinkError> {
    let since = Instant::now();
    loop {
        match engine
            .create_restored_mirror(spec.clone(), plan.restore_to.clone(), plan.truncation())
            .await
        {
            Err(MirrorError::DestinationExists(_)) if since.elapsed() < TOPIC_GONE_WITHIN => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            r => return r.map_err(LinkError::from),
        }
    }
}
