//! INBOUND links' side of the exchange with the other cluster's pusher (see
//! [`crate::source_initiated`]): the local state topic, re-read in the background while such
//! links exist, is their view of their mirrors and of whether the other side is connected; the
//! requests their API gets are written there as control records.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clusterlink_mirror::state_keys;
use tracing::warn;

use super::error::LinkError;
use super::registry::LinkManager;
use crate::common::lock;
use crate::record::LinkRecord;
use crate::source_initiated::{Control, InboundView, HEARTBEAT_FRESH};

impl LinkManager {
    /// What the state topic says of an INBOUND link's mirrors.
    pub(super) fn inbound_view(&self, record: &LinkRecord) -> InboundView {
        InboundView::read(&lock(&self.inner.inbound), &record.engine_name())
    }

    /// Whether the other side of an INBOUND link has been heard from lately.
    pub(super) fn inbound_connected(&self, record: &LinkRecord) -> bool {
        lock(&self.inner.heartbeats)
            .get(&record.engine_name())
            .is_some_and(|(_, seen)| seen.elapsed() < HEARTBEAT_FRESH)
    }

    /// Writes control records for an INBOUND link and shows them at once.
    pub(super) async fn put_controls(
        &self,
        record: &LinkRecord,
        controls: &[(String, Control)],
    ) -> Result<(), LinkError> {
        let engine = record.engine_name();
        let entries: Vec<(String, Option<Vec<u8>>)> = controls
            .iter()
            .map(|(topic, c)| {
                (
                    state_keys::control(&engine, topic),
                    serde_json::to_vec(c).ok(),
                )
            })
            .collect();
        self.inner
            .store
            .put(&entries)
            .await
            .map_err(LinkError::Local)?;
        let mut cache = lock(&self.inner.inbound);
        for (k, v) in entries {
            if let Some(v) = v {
                cache.insert(k, v);
            }
        }
        Ok(())
    }

    /// Re-reads the local state topic for INBOUND links' views.
    pub(super) async fn refresh_inbound(&self) {
        let any = self.entries().iter().any(|(_, e)| e.record().is_inbound());
        if !any {
            return;
        }
        match self.inner.store.load().await {
            Ok(all) => {
                let mut beats = lock(&self.inner.heartbeats);
                for (k, v) in all.range(state_keys::HEARTBEAT_PREFIX.to_string()..) {
                    let Some(engine) = state_keys::heartbeat_of(k) else {
                        break;
                    };
                    let changed = beats.get(engine).is_none_or(|(old, _)| old != v);
                    if changed {
                        beats.insert(engine.to_string(), (v.clone(), Instant::now()));
                    }
                }
                drop(beats);
                *lock(&self.inner.inbound) = all;
            }
            Err(e) => warn!(error = %e, "reading the state topic for INBOUND links failed"),
        }
    }

    /// Keeps INBOUND links' views fresh, for as long as the manager lives.
    pub(super) fn spawn_inbound_refresher(&self) {
        let weak = Arc::downgrade(&self.inner);
        let every = self
            .inner
            .options
            .engine
            .metadata_interval
            .min(Duration::from_secs(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(inner) = weak.upgrade() else { return };
                LinkManager { inner }.refresh_inbound().await;
            }
        });
    }
}
