//! The periodic duties of links that pull, each at its own interval: consumer offset sync
//! (`consumer.offset.sync.*`, see `clusterlink_mirror::offset_sync`), topic config sync
//! (`topic.config.sync.ms`), auto-created mirror topics (`auto.create.mirror.topics.*`), ACL
//! sync (`acl.sync.*`, see `super::acl_sync`), and reverses (see `super::reverse`): handed to the
//! source cluster once promoted, carried out when another cluster left one here.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clusterlink_mirror::acl_sync::ScheduledAclSync;
use clusterlink_mirror::filters::NameFilters;
use clusterlink_mirror::offset_sync;
use clusterlink_mirror::Engine;
use clusterlink_rest_v3::link_config;
use tracing::{info, warn};

use super::mirrors::NewMirror;
use super::registry::LinkManager;
use crate::record::LinkRecord;

/// Per-link state of the periodic duties.
#[derive(Default)]
struct Housekeeping {
    offsets: offset_sync::Scheduled,
    acls: ScheduledAclSync,
    auto_at: Option<Instant>,
    configs_at: Option<Instant>,
    auto_failed: BTreeSet<String>,
}

/// How often the local state topic is read for reverse requests left by other clusters.
const REVERSE_REQUESTS_EVERY: Duration = Duration::from_secs(1);

/// Confluent's default `topic.config.sync.ms`.
const TOPIC_CONFIG_SYNC_DEFAULT: Duration = Duration::from_secs(5);

impl LinkManager {
    /// Runs the duties of every pulling link, for as long as the manager lives.
    pub(super) fn spawn_housekeeping(&self) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut state: BTreeMap<String, Housekeeping> = BTreeMap::new();
            let mut reverse_requests_from = None;
            let mut reverse_requests_at: Option<Instant> = None;
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let Some(inner) = weak.upgrade() else { return };
                let manager = LinkManager { inner };
                if reverse_requests_at.is_none_or(|at| at.elapsed() >= REVERSE_REQUESTS_EVERY) {
                    reverse_requests_at = Some(Instant::now());
                    manager
                        .take_reverse_requests(&mut reverse_requests_from)
                        .await;
                }
                let mut live = BTreeSet::new();
                for (_, entry) in manager.entries() {
                    let record = entry.record();
                    let Some(engine) = entry.engine().filter(|_| record.pulls()) else {
                        continue;
                    };
                    live.insert(record.engine_name());
                    let h = state.entry(record.engine_name()).or_default();
                    manager.sync_offsets(&record, &engine, h).await;
                    manager.auto_create(&record, &engine, h).await;
                    manager.sync_topic_configs(&record, &engine, h).await;
                    manager.hand_over_reversals(&record, &engine).await;
                    manager
                        .sync_acls(&entry, &record, &engine, &mut h.acls)
                        .await;
                }
                state.retain(|k, _| live.contains(k));
            }
        });
    }

    async fn sync_offsets(&self, record: &LinkRecord, engine: &Engine, h: &mut Housekeeping) {
        match h
            .offsets
            .run_if_due(engine, &self.inner.local, |k| record.config(k))
            .await
        {
            Ok(Some(r)) if r.committed > 0 => {
                info!(link = %record.name, groups = r.groups, committed = r.committed, "consumer offsets synced")
            }
            Ok(_) => {}
            Err(e) => {
                self.count_error(e.category());
                warn!(link = %record.name, error = %e, "consumer offset sync failed; retrying next round");
            }
        }
    }

    /// Topic config sync, every `topic.config.sync.ms`.
    async fn sync_topic_configs(&self, record: &LinkRecord, engine: &Engine, h: &mut Housekeeping) {
        let every = record
            .millis(link_config::TOPIC_CONFIG_SYNC_MS)
            .unwrap_or(TOPIC_CONFIG_SYNC_DEFAULT);
        if h.configs_at.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        h.configs_at = Some(Instant::now());
        if let Err(e) = engine.sync_topic_configs().await {
            self.count_error(e.category());
            warn!(link = %record.name, error = %e, "topic config sync failed; retrying next round");
        }
    }

    /// Creates mirrors for the source topics the link's auto-create filters select (internal
    /// topics, whose names start with `_`, never). A topic that cannot be mirrored (a
    /// destination topic of that name exists, ...) is reported once and not tried again until
    /// the server restarts.
    async fn auto_create(&self, record: &LinkRecord, engine: &Engine, h: &mut Housekeeping) {
        if !record.flag(link_config::AUTO_CREATE_MIRROR_TOPICS_ENABLE) {
            return;
        }
        let every = self.inner.options.engine.metadata_interval;
        if h.auto_at.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        h.auto_at = Some(Instant::now());
        let filters = match NameFilters::parse(
            record
                .config(link_config::AUTO_CREATE_MIRROR_TOPICS_FILTERS)
                .unwrap_or(""),
            "topicFilters",
        ) {
            Ok(f) => f,
            Err(e) => {
                warn!(link = %record.name, error = %e, "auto.create.mirror.topics.filters unusable");
                return;
            }
        };
        let topics = match engine.source().refresh_metadata(None).await {
            Ok(md) => md.topics.into_keys().collect::<Vec<_>>(),
            Err(e) => {
                warn!(link = %record.name, error = %e, "listing the source's topics for auto-create failed");
                return;
            }
        };
        let prefix = record
            .config(link_config::CLUSTER_LINK_PREFIX)
            .unwrap_or("");
        for topic in topics {
            if topic.starts_with('_')
                || !filters.includes(&topic)
                || h.auto_failed.contains(&topic)
                || engine.status(&format!("{prefix}{topic}")).is_some()
            {
                continue;
            }
            let new = NewMirror {
                source_topic: topic.clone(),
                ..Default::default()
            };
            match self.create_mirror(&record.name, new).await {
                Ok(()) => info!(link = %record.name, %topic, "mirror topic auto-created"),
                Err(e) => {
                    warn!(link = %record.name, %topic, error = %e, "auto-create of a mirror topic failed; not retried");
                    h.auto_failed.insert(topic);
                }
            }
        }
    }
}
