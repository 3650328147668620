//! What the plan compares the declaration with: the link as its cluster's REST API reports it
//! (configs, mirror topics and their states), the remote half of a bidirectional or
//! source-initiated link, and the other resource of a bidirectional pair.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use clusterlink_rest_v3::MirrorState;

/// A mirror topic's state as a server reported it (`mirror_status`): one of Confluent's states,
/// or a name this version does not know, kept as reported so that it can still be shown.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReportedState {
    /// A known state.
    Known(MirrorState),
    /// A name that is not one of [`MirrorState::ALL`].
    Unknown(String),
}

impl ReportedState {
    /// Reads a reported `mirror_status` (case-insensitive, as [`MirrorState::parse`]).
    pub fn parse(s: &str) -> Self {
        MirrorState::parse(s).map_or_else(|| ReportedState::Unknown(s.to_string()), Self::Known)
    }

    /// The state, if known.
    pub fn known(&self) -> Option<MirrorState> {
        match self {
            ReportedState::Known(s) => Some(*s),
            ReportedState::Unknown(_) => None,
        }
    }

    /// Whether it is `state`.
    pub fn is(&self, state: MirrorState) -> bool {
        self.known() == Some(state)
    }

    /// Whether it is a transition (`PENDING_…`).
    pub fn is_pending(&self) -> bool {
        self.known().is_some_and(MirrorState::is_pending)
    }

    /// The state's name, as Confluent spells it (or as reported, when unknown).
    pub fn as_str(&self) -> &str {
        match self {
            ReportedState::Known(s) => s.as_str(),
            ReportedState::Unknown(s) => s,
        }
    }
}

impl From<MirrorState> for ReportedState {
    fn from(s: MirrorState) -> Self {
        ReportedState::Known(s)
    }
}

impl fmt::Display for ReportedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One observed mirror topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedMirror {
    /// Its state.
    pub status: ReportedState,
    /// Its source topic.
    pub source_topic_name: String,
}

/// The observed link on one cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedLink {
    /// Configs set on the link (REST `source: DYNAMIC_CLUSTER_LINK_CONFIG`); `None` for a value
    /// the API hides (sensitive).
    pub configs: BTreeMap<String, Option<String>>,
    /// Mirror topics on the link, by name.
    pub mirrors: BTreeMap<String, ObservedMirror>,
}

/// The remote half of the link, as far as it was read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoteLink {
    /// Not read: this kind of link has no remote half to manage, or its cluster has no REST
    /// API or id here, or it could not be reached.
    #[default]
    NotRead,
    /// Read, and the link does not exist there (yet).
    Absent,
    /// Read, and the link exists there.
    Present {
        /// Its id (`cluster.link.id`), which the other half is created with.
        link_id: Option<String>,
    },
}

/// The other ClusterLink of a bidirectional pair (same `spec.name` on the other cluster).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedPeer {
    /// `namespace/name` of the resource.
    pub resource: String,
    /// Whether it waits for this side to connect (`connectionMode: Inbound`).
    pub inbound: bool,
    /// Its `toSource` mirrors: it pushes them onto this side's link, so they are its own.
    pub to_source_mirrors: BTreeSet<String>,
}

/// What the caller observed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The link on the local cluster, if it exists.
    pub link: Option<ObservedLink>,
    /// Mirrors of the remote half of a bidirectional link, if read (needed for `toSource`).
    pub remote_mirrors: Option<BTreeMap<String, ObservedMirror>>,
    /// Mirrors of the remote half that this resource created (its `toSource` mirrors as its
    /// status last listed them). Only these are deleted when no longer declared: the remote
    /// half's other mirrors belong to the resource on the remote cluster.
    pub remote_owned: BTreeSet<String>,
    /// Re-set hidden (sensitive) configs even though their values cannot be compared, e.g.
    /// because the secrets they come from changed.
    pub reapply_sensitive: bool,
    /// The remote half's link (its existence and id pair the halves).
    pub remote_link: RemoteLink,
    /// The remote cluster's id, as the resource gives it or its REST API reports it.
    pub remote_cluster_id: Option<String>,
    /// The other resource of a bidirectional pair, if there is one.
    pub peer: Option<ObservedPeer>,
}
