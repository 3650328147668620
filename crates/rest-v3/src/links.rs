//! Cluster links and their configs (`/clusters/{id}/links/...`).

use serde::{Deserialize, Serialize};

use crate::configs::{ConfigData, ConfigSource};
use crate::resource::ResourceMetadata;
use crate::words::words;
use crate::{Extensible, MirrorState};

/// A cluster link (`KafkaLinkData`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KafkaLinkData {
    /// `KafkaLinkData`.
    pub kind: String,
    /// Its URL and CRN.
    pub metadata: ResourceMetadata,
    /// The cluster mirrors are read from (the remote cluster of a destination link, the local
    /// one of a SOURCE link).
    pub source_cluster_id: Option<String>,
    /// The cluster mirrors are written to.
    pub destination_cluster_id: Option<String>,
    /// The other cluster of a bidirectional link.
    pub remote_cluster_id: Option<String>,
    /// The link's name.
    pub link_name: String,
    /// The link's id (deprecated by Confluent for `cluster_link_id`; the same value).
    pub link_id: String,
    /// The link's id (`cluster.link.id`), shared by both halves of a pair.
    pub cluster_link_id: String,
    /// The mirror topics.
    pub topic_names: Vec<String>,
    /// Whether the link runs.
    pub link_state: Extensible<LinkState>,
    /// Why it does not, as a code.
    pub link_error: Extensible<LinkErrorCode>,
    /// Why it does not, in words.
    pub link_error_message: Option<String>,
    /// The link's tasks and their problems: `AclSync`, and (clusterlink) one per config it
    /// stores but does not apply.
    pub tasks: Vec<LinkTask>,
    /// Mirror topics counted by state category.
    pub category_counts: Vec<CategoryCount>,
    /// clusterlink's extension: configs set on the link that it does not apply yet.
    pub not_implemented_configs: Vec<String>,
}

impl KafkaLinkData {
    /// The resource's `kind`.
    pub const KIND: &'static str = "KafkaLinkData";
    /// The list's `kind`.
    pub const LIST_KIND: &'static str = "KafkaLinkDataList";
}

words! {
    /// Whether a link runs (`link_state`).
    pub enum LinkState {
        /// Running.
        Active = "ACTIVE",
        /// Running, with `cluster.link.paused` set: its mirrors do not move.
        Paused = "PAUSED",
        /// Not running: the remote cluster cannot be reached (or refused the link's
        /// credentials), or an INBOUND link's other side has not connected.
        Unavailable = "UNAVAILABLE",
    }
}

words! {
    /// Why a link is not running (`link_error`).
    pub enum LinkErrorCode {
        /// It runs.
        NoError = "NO_ERROR",
        /// A cluster refused the link's credentials.
        AuthenticationError = "AUTHENTICATION_ERROR",
        /// The remote cluster cannot be reached.
        BootstrapTcpConnectionFailedError = "BOOTSTRAP_TCP_CONNECTION_FAILED_ERROR",
    }
}

/// One of a link's tasks (`tasks[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkTask {
    /// The task, e.g. `Config:acl.sync.enable`.
    pub task_name: String,
    /// Its state.
    pub state: Extensible<LinkTaskState>,
    /// Its problems.
    pub errors: Vec<LinkTaskError>,
}

words! {
    /// The state of a link's task.
    pub enum LinkTaskState {
        /// The task runs and its last round succeeded (or has not run yet).
        Active = "ACTIVE",
        /// The task's last round failed; its errors say why.
        InError = "IN_ERROR",
        /// The task is not enabled (clusterlink also: a config it does not apply).
        NotConfigured = "NOT_CONFIGURED",
        /// The task does not run because the link does not (it cannot reach a cluster).
        LinkUnavailable = "LINK_UNAVAILABLE",
        /// The task does not run because the link is paused.
        LinkPaused = "LINK_PAUSED",
    }
}

/// A problem of a link's task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkTaskError {
    /// What kind of problem.
    pub error_code: Extensible<LinkTaskErrorCode>,
    /// What is wrong.
    pub error_message: String,
}

words! {
    /// The kind of a link task's problem.
    pub enum LinkTaskErrorCode {
        /// The link's configs ask for something that does not happen.
        MisconfigurationError = "MISCONFIGURATION_ERROR",
        /// The remote cluster refused the link's principal.
        AuthorizationError = "AUTHORIZATION_ERROR",
        /// The local cluster refused the link server's principal.
        BrokerAuthorizationError = "BROKER_AUTHORIZATION_ERROR",
        /// A cluster has no authorizer, so nothing to do.
        SecurityDisabledError = "SECURITY_DISABLED_ERROR",
        /// Anything else.
        InternalError = "INTERNAL_ERROR",
    }
}

/// How many of a link's mirror topics are in a state category (`category_counts[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CategoryCount {
    /// The category.
    pub state_category: Extensible<StateCategory>,
    /// How many mirror topics.
    pub count: u64,
}

words! {
    /// The category of a mirror topic's state, as a link's counts group them.
    pub enum StateCategory {
        /// Mirroring.
        Active = "ACTIVE",
        /// Paused, by the user or with the link.
        Paused = "PAUSED",
        /// Failed, or the source cannot be reached.
        InError = "IN_ERROR",
        /// On its way to stopped.
        Pending = "PENDING",
        /// Any other state (stopped, ...).
        NotApplicable = "NOT_APPLICABLE",
    }
}

impl StateCategory {
    /// The category a mirror topic's state counts in.
    pub fn of(state: MirrorState) -> Self {
        match state {
            MirrorState::Active => StateCategory::Active,
            MirrorState::Paused | MirrorState::LinkPaused => StateCategory::Paused,
            MirrorState::Failed | MirrorState::SourceUnavailable => StateCategory::InError,
            MirrorState::PendingStopped => StateCategory::Pending,
            MirrorState::Stopped
            | MirrorState::PendingMirror
            | MirrorState::LinkFailed
            | MirrorState::PendingSynchronize
            | MirrorState::PendingSetupForRestore
            | MirrorState::PendingRestore => StateCategory::NotApplicable,
        }
    }
}

/// The body of `POST /links?link_name=`: the remote cluster's id under the field the link's
/// mode names it by, the pair's id for a second half, and the configs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateLinkRequest {
    /// The link's configs.
    #[serde(default)]
    pub configs: Vec<ConfigData>,
    /// The source cluster (destination links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_cluster_id: Option<String>,
    /// The remote cluster (bidirectional links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_cluster_id: Option<String>,
    /// The destination cluster (SOURCE links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_cluster_id: Option<String>,
    /// The id of the pair, taken from its first half.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_link_id: Option<String>,
}

/// One config of a link (`KafkaLinkConfigData`). Confluent names the flags both ways
/// (`default` and `is_default`, ...): both are written, and a reader takes either.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KafkaLinkConfigData {
    /// `KafkaLinkConfigData`.
    pub kind: String,
    /// Its URL.
    pub metadata: ResourceMetadata,
    /// The cluster's id.
    pub cluster_id: String,
    /// The link.
    pub link_name: String,
    /// The config.
    pub name: String,
    /// Its value (`null` for secrets).
    pub value: Option<String>,
    /// Whether the value is the default (not set on the link).
    pub default: bool,
    /// Whether it cannot change.
    pub read_only: bool,
    /// Whether it is a secret.
    pub sensitive: bool,
    /// `default`, by its other name.
    pub is_default: bool,
    /// `read_only`, by its other name.
    pub is_read_only: bool,
    /// `sensitive`, by its other name.
    pub is_sensitive: bool,
    /// Always `DYNAMIC_CLUSTER_LINK_CONFIG`.
    pub source: Extensible<ConfigSource>,
    /// Always empty.
    pub synonyms: Vec<String>,
    /// clusterlink's extension: whether it applies the config today.
    pub implemented: bool,
}

impl KafkaLinkConfigData {
    /// The resource's `kind`.
    pub const KIND: &'static str = "KafkaLinkConfigData";
    /// The list's `kind`.
    pub const LIST_KIND: &'static str = "KafkaLinkConfigDataList";

    /// Whether the value is the default, by either name.
    pub fn value_is_default(&self) -> bool {
        self.is_default || self.default
    }

    /// Whether it cannot change, by either name.
    pub fn cannot_change(&self) -> bool {
        self.is_read_only || self.read_only
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mirror_state_has_a_category() {
        assert_eq!(
            StateCategory::of(MirrorState::LinkPaused),
            StateCategory::Paused
        );
        assert_eq!(
            StateCategory::of(MirrorState::SourceUnavailable),
            StateCategory::InError
        );
        assert_eq!(
            StateCategory::of(MirrorState::Stopped),
            StateCategory::NotApplicable
        );
    }

    #[test]
    fn create_requests_leave_out_ids_they_do_not_have() {
        let r = CreateLinkRequest {
            source_cluster_id: Some("src".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"configs": [], "source_cluster_id": "src"})
        );
    }
}
