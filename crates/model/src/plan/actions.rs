//! What a plan is made of: the actions to execute, in order, on either half of the link; the
//! problems it cannot fix; and how the local half pairs with the remote one.

use std::collections::BTreeMap;

use clusterlink_rest_v3::MirrorAction;

use crate::configs::LinkConfigs;

use super::pairing::{LinkIds, WaitingForInbound};

/// Which cluster's link an action applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Side {
    /// The local cluster (where this resource's link lives).
    Local,
    /// The remote half of a bidirectional link.
    Remote,
}

/// One step for the reconciler, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Create the link with these configs.
    CreateLink {
        /// All configs.
        configs: LinkConfigs,
    },
    /// Alter link configs.
    AlterConfigs {
        /// Configs to set.
        set: LinkConfigs,
        /// Configs to reset to their defaults.
        delete: Vec<String>,
    },
    /// Delete a mirror topic (the topic).
    DeleteMirror {
        /// Where.
        side: Side,
        /// The topic.
        name: String,
    },
    /// Create a mirror topic.
    CreateMirror {
        /// Where.
        side: Side,
        /// The mirror topic's name.
        name: String,
        /// The source topic's name.
        source_topic_name: String,
        /// Config overrides.
        configs: BTreeMap<String, String>,
        /// Replication factor, if declared.
        replication_factor: Option<i32>,
    },
    /// Pause mirrors.
    Pause {
        /// Where.
        side: Side,
        /// The topics.
        names: Vec<String>,
    },
    /// Resume mirrors.
    Resume {
        /// Where.
        side: Side,
        /// The topics.
        names: Vec<String>,
    },
    /// Promote mirrors (after zero lag).
    Promote {
        /// Where.
        side: Side,
        /// The topics.
        names: Vec<String>,
    },
    /// Fail mirrors over (without waiting for the lag).
    Failover {
        /// Where.
        side: Side,
        /// The topics.
        names: Vec<String>,
    },
    /// A failback action: truncate-and-restore, or a reverse.
    Failback {
        /// `TruncateAndRestore`, `ReverseAndStartMirror` or `ReverseAndPauseMirror`.
        action: MirrorAction,
        /// Where.
        side: Side,
        /// The topics.
        names: Vec<String>,
    },
}

impl Action {
    /// The half of the link the action applies to (link actions: the local one).
    pub fn side(&self) -> Side {
        match self {
            Action::CreateMirror { side, .. }
            | Action::DeleteMirror { side, .. }
            | Action::Pause { side, .. }
            | Action::Resume { side, .. }
            | Action::Promote { side, .. }
            | Action::Failover { side, .. }
            | Action::Failback { side, .. } => *side,
            Action::CreateLink { .. } | Action::AlterConfigs { .. } => Side::Local,
        }
    }
}

/// Something the plan cannot fix, for the status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A config that cannot change on an existing link differs.
    #[error("link config {name} is {observed:?} on the link but {desired:?} in the resource; it cannot change without recreating the link")]
    ImmutableConfig {
        /// The config.
        name: String,
        /// On the link.
        observed: Option<String>,
        /// Desired.
        desired: String,
    },
    /// A mirror whose source topic differs from the declared one.
    #[error("mirror topic {name} mirrors {observed:?}, not {desired:?}; delete it from the resource first")]
    SourceTopicMismatch {
        /// The mirror.
        name: String,
        /// Its source on the link.
        observed: String,
        /// Declared.
        desired: String,
    },
    /// A stopped (promoted / failed over) mirror declared ACTIVE or PAUSE.
    #[error("mirror topic {name} was promoted or failed over and cannot mirror again")]
    AlreadyStopped {
        /// The mirror.
        name: String,
    },
    /// `toSource` mirrors are declared but the remote mirrors were not observed.
    #[error("the remote half of the link was not observed, so toSource mirrors cannot be planned")]
    RemoteNotObserved,
}

impl Problem {
    /// A short, stable label for metrics, events and status reasons.
    pub fn category(&self) -> &'static str {
        match self {
            Problem::ImmutableConfig { .. } => "immutable-config",
            Problem::SourceTopicMismatch { .. } => "source-topic-mismatch",
            Problem::AlreadyStopped { .. } => "already-stopped",
            Problem::RemoteNotObserved => "remote-not-observed",
        }
    }
}

/// The plan: actions in order, problems that need the user, and how the local half pairs with
/// the remote one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Actions, in execution order.
    pub actions: Vec<Action>,
    /// Problems.
    pub problems: Vec<Problem>,
    /// The ids [`Action::CreateLink`] creates the link with.
    pub link_ids: LinkIds,
    /// Set when the actions must wait for the INBOUND side (R5): they are not to be executed
    /// in this pass.
    pub waiting_for_inbound: Option<WaitingForInbound>,
}
