//! The `AclSync` task of a link (`acl.sync.*`): run from the housekeeping loop for links that
//! pull (the rounds themselves are `clusterlink_mirror::acl_sync`), and what it last did, kept
//! on the link's entry so that its status (`tasks`, as Confluent's `include_tasks=true` shows
//! them) and `/metrics` can say it.

use clusterlink_mirror::acl_sync::ScheduledAclSync;
use clusterlink_mirror::Engine;
use clusterlink_rest_v3::link_config;
use clusterlink_rest_v3::links::{LinkTaskErrorCode, LinkTaskState};
use tracing::{info, info_span, warn, Instrument};

use super::registry::{Entry, LinkManager};
use crate::common::lock;
use crate::record::LinkRecord;

/// Confluent's name of the task.
pub const ACL_SYNC_TASK: &str = "AclSync";

/// What a link's ACL sync did since the server started, for its status and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclSyncReport {
    /// Whether a round has run.
    pub ran: bool,
    /// Why the last round failed, if it did (never a credential).
    pub last_error: Option<(LinkTaskErrorCode, String)>,
    /// ACLs created on the destination.
    pub created: u64,
    /// ACLs deleted from the destination.
    pub deleted: u64,
    /// Creations and deletions that failed.
    pub failed: u64,
    /// Rounds that failed.
    pub failed_rounds: u64,
    /// ACLs on the destination that the link created and answers for, after the last round.
    pub owned: u64,
}

/// One task of a link, as its status reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatus {
    /// The task's name (`AclSync`).
    pub name: String,
    /// Its state.
    pub state: LinkTaskState,
    /// Its problems: code and message.
    pub errors: Vec<(LinkTaskErrorCode, String)>,
}

impl LinkManager {
    /// What each link's ACL sync did, by link (links that ran no round are left out).
    pub fn acl_sync_reports(&self) -> Vec<(String, AclSyncReport)> {
        self.entries()
            .into_iter()
            .filter_map(|(name, e)| {
                let r = lock(&e.acl_sync).clone();
                r.ran.then_some((name, r))
            })
            .collect()
    }

    /// One round of the link's ACL sync when enabled and due; not while the link is paused.
    pub(super) async fn sync_acls(
        &self,
        entry: &Entry,
        record: &LinkRecord,
        engine: &Engine,
        schedule: &mut ScheduledAclSync,
    ) {
        if record.paused() {
            return;
        }
        let span = info_span!("acl_sync", link = %record.name);
        let result = schedule
            .run_if_due(
                engine.source(),
                &self.inner.local,
                &self.inner.store,
                &record.engine_name(),
                |k| record.config(k),
            )
            .instrument(span)
            .await;
        let mut report = lock(&entry.acl_sync);
        match result {
            Ok(None) => {}
            Ok(Some(round)) => {
                report.ran = true;
                report.created += round.created as u64;
                report.deleted += round.deleted as u64;
                report.failed += round.failed.len() as u64;
                report.owned = round.owned as u64;
                if round.created + round.deleted > 0 {
                    info!(link = %record.name, created = round.created, deleted = round.deleted, owned = round.owned, "ACLs synced");
                }
                report.last_error = round.error().map(|e| {
                    self.count_error(e.category());
                    report.failed_rounds += 1;
                    warn!(link = %record.name, error = %e, "ACL sync: some changes failed; retrying next round");
                    (e.task_error_code(), e.to_string())
                });
            }
            Err(e) => {
                self.count_error(e.category());
                report.ran = true;
                report.failed_rounds += 1;
                let now = (e.task_error_code(), e.to_string());
                if report.last_error.as_ref() != Some(&now) {
                    warn!(link = %record.name, error = %e, "ACL sync failed; retrying next round");
                }
                report.last_error = Some(now);
            }
        }
    }
}

/// The `AclSync` task of a link: NOT_CONFIGURED unless `acl.sync.enable`; LINK_UNAVAILABLE or
/// LINK_PAUSED while the link does not run or is paused; IN_ERROR with the reason when its
/// last round failed; ACTIVE otherwise.
pub(super) fn acl_sync_task(record: &LinkRecord, report: &AclSyncReport, up: bool) -> TaskStatus {
    let (state, errors) = if !record.flag(link_config::ACL_SYNC_ENABLE) {
        (LinkTaskState::NotConfigured, Vec::new())
    } else if !up {
        (LinkTaskState::LinkUnavailable, Vec::new())
    } else if record.paused() {
        (LinkTaskState::LinkPaused, Vec::new())
    } else if let Some(e) = &report.last_error {
        (LinkTaskState::InError, vec![e.clone()])
    } else {
        (LinkTaskState::Active, Vec::new())
    };
    TaskStatus {
        name: ACL_SYNC_TASK.into(),
        state,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(configs: &[(&str, &str)]) -> LinkRecord {
        LinkRecord {
            name: "l".into(),
            id: "id".into(),
            source_cluster_id: None,
            configs: configs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            created_ms: 0,
        }
    }

    #[test]
    fn the_task_says_whether_it_is_configured_runs_or_failed() {
        let ok = AclSyncReport::default();
        let on = [("acl.sync.enable", "true"), ("acl.filters", "{}")];
        assert_eq!(
            acl_sync_task(&record(&[]), &ok, true).state,
            LinkTaskState::NotConfigured
        );
        assert_eq!(
            acl_sync_task(&record(&on), &ok, true).state,
            LinkTaskState::Active
        );
        assert_eq!(
            acl_sync_task(&record(&on), &ok, false).state,
            LinkTaskState::LinkUnavailable
        );
        let paused = [on[0], on[1], ("cluster.link.paused", "true")];
        assert_eq!(
            acl_sync_task(&record(&paused), &ok, true).state,
            LinkTaskState::LinkPaused
        );
        let failed = AclSyncReport {
            last_error: Some((LinkTaskErrorCode::AuthorizationError, "refused".into())),
            ..Default::default()
        };
        let t = acl_sync_task(&record(&on), &failed, true);
        assert_eq!(t.state, LinkTaskState::InError);
        assert_eq!(
            t.errors,
            [(LinkTaskErrorCode::AuthorizationError, "refused".into())]
        );
    }
}
