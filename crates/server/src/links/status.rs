//! What a link reports: whether it runs (and if not, why), which clusters it joins, its mirror
//! topics counted by state. The HTTP layer turns this into Confluent's `KafkaLinkData`.

use std::collections::BTreeMap;

use clusterlink_rest_v3::link_config::LinkMode;
use clusterlink_rest_v3::links::{LinkState, LinkTaskErrorCode};
use clusterlink_rest_v3::MirrorState;

use super::acl_sync::{acl_sync_task, AclSyncReport, TaskStatus};
use super::error::LinkError;
use super::registry::{Entry, LinkManager};
use crate::common::lock;
use crate::configs;
use crate::record::LinkRecord;

/// A link's status.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkStatus {
    /// Link name.
    pub name: String,
    /// `cluster_link_id`.
    pub id: String,
    /// The source cluster's id.
    pub source_cluster_id: Option<String>,
    /// The destination cluster's id.
    pub destination_cluster_id: String,
    /// The other cluster of a bidirectional link.
    pub remote_cluster_id: Option<String>,
    /// Mirror topic names.
    pub topic_names: Vec<String>,
    /// `ACTIVE` (or `PAUSED`) while the link runs, `UNAVAILABLE` while it cannot.
    pub state: LinkState,
    /// Why the link is not ACTIVE.
    pub error_message: Option<String>,
    /// Whether it is not ACTIVE because a cluster (the remote one, or the local one for the
    /// `local.*` credentials of a link that pushes) refused its credentials.
    pub authentication_failed: bool,
    /// Configs that are set but not applied by this server yet.
    pub not_applied: Vec<String>,
    /// The link's tasks (`AclSync`).
    pub tasks: Vec<TaskStatus>,
    /// Mirror counts by state.
    pub mirror_states: BTreeMap<MirrorState, usize>,
}

impl LinkManager {
    /// Every link.
    pub fn links(&self) -> Vec<LinkStatus> {
        self.entries().iter().map(|(_, e)| self.status(e)).collect()
    }

    /// One link.
    pub fn link(&self, name: &str) -> Result<LinkStatus, LinkError> {
        let entry = self.entry(name)?;
        Ok(self.status(&entry))
    }

    /// The link's tasks: `AclSync` on links that pull (run here) and on INBOUND links (run by
    /// the other side's pusher, which reports in its heartbeat); none on a SOURCE link, whose
    /// pusher runs its INBOUND side's.
    fn tasks(&self, entry: &Entry, record: &LinkRecord, up: bool) -> Vec<TaskStatus> {
        if record.is_inbound() {
            let failure = self
                .inbound_view(record)
                .heartbeat
                .and_then(|h| h.acl_sync_error)
                .map(|e| {
                    let code = LinkTaskErrorCode::parse(&e.code)
                        .unwrap_or(LinkTaskErrorCode::InternalError);
                    (code, e.message)
                });
            let report = AclSyncReport {
                last_error: failure,
                ..Default::default()
            };
            return vec![acl_sync_task(record, &report, up)];
        }
        if !record.pulls() {
            return Vec::new();
        }
        vec![acl_sync_task(record, &lock(&entry.acl_sync), up)]
    }

    fn status(&self, entry: &Entry) -> LinkStatus {
        let record = entry.record();
        let mirrors = self.entry_mirrors(entry);
        let mut mirror_states = BTreeMap::new();
        for m in &mirrors {
            *mirror_states.entry(m.state).or_insert(0) += 1;
        }
        let failure = lock(&entry.error).clone();
        let mut authentication_failed = failure.as_ref().is_some_and(|f| f.authentication);
        let mut error = failure.map(|f| f.message);
        let mut up = entry.engine().is_some();
        if record.is_inbound() {
            up = self.inbound_connected(&record);
            if !up {
                error = Some(format!(
                    "INBOUND link: waiting for its OUTBOUND side (the link '{}' on cluster {}) to connect",
                    record.name,
                    record.source_cluster_id.as_deref().unwrap_or("?")
                ));
            }
        } else if !record.pulls() {
            let push = lock(&entry.pusher).as_ref().map(|p| p.state());
            up = push
                .as_ref()
                .is_some_and(|p| p.engine.is_some() && p.error.is_none());
            // Without a pusher, the reason it could not start.
            if let Some(p) = push {
                error = p.error;
                authentication_failed = p.authentication;
            }
        } else if record.pushes() {
            // A bidirectional link pulls and pushes. Its pusher's "waiting for the INBOUND
            // link" is no error of the link (an outbound-outbound pair never has one), but
            // credentials refused on the pushing side are.
            if let Some(p) = lock(&entry.pusher).as_ref().map(|p| p.state()) {
                if p.authentication {
                    up = false;
                    error = p.error;
                    authentication_failed = true;
                }
            }
        }
        if record.pulls() {
            // A running engine whose source refuses the link's credentials (a password
            // rotated away on the source) cannot mirror until the link's settings change.
            if let Some(refused) = entry.engine().and_then(|e| e.source_refused()) {
                up = false;
                error = Some(format!(
                    "Cluster link '{}': the source refuses the link's credentials: {refused}",
                    record.name
                ));
                authentication_failed = true;
            }
        }
        if !lock(&entry.sealed).is_empty() {
            // Its credentials cannot be decrypted: nothing runs, whatever its mode.
            up = false;
            error = lock(&entry.error).clone().map(|f| f.message);
            authentication_failed = false;
        }
        let mode = record.link_mode();
        LinkStatus {
            name: record.name.clone(),
            id: record.id.clone(),
            // A SOURCE link's remote is the destination.
            source_cluster_id: if mode == LinkMode::Source {
                Some(self.cluster_id().to_owned())
            } else {
                record.source_cluster_id.clone()
            },
            destination_cluster_id: if mode == LinkMode::Source {
                record.source_cluster_id.clone().unwrap_or_default()
            } else {
                self.cluster_id().to_owned()
            },
            remote_cluster_id: (mode == LinkMode::Bidirectional)
                .then(|| record.source_cluster_id.clone())
                .flatten(),
            topic_names: mirrors.iter().map(|m| m.name.clone()).collect(),
            state: match (up, record.paused()) {
                (true, true) => LinkState::Paused,
                (true, false) => LinkState::Active,
                _ => LinkState::Unavailable,
            },
            error_message: error,
            authentication_failed: authentication_failed && !up,
            not_applied: configs::not_applied(&record.configs),
            tasks: self.tasks(entry, &record, up),
            mirror_states,
        }
    }
}
