//! How the two halves of a link find each other: which half must exist first (R5: the INBOUND
//! side of a source-initiated link, since the OUTBOUND side is created with its link id), and
//! which cluster ids and link id the local half is created with.
//!
//! These are decisions about desired and observed state like the others of the plan, so they
//! are made here, purely, rather than between the plan and its execution.

use std::fmt;

use crate::cluster_link::ConnectionMode;
use crate::validated::ValidatedClusterLink;

use super::observed::{Observed, RemoteLink};

/// The ids a link is created with, besides its name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkIds {
    /// `source_cluster_id`: the remote cluster, on a destination-initiated link.
    pub source_cluster_id: Option<String>,
    /// `remote_cluster_id`: the other cluster of a bidirectional link.
    pub remote_cluster_id: Option<String>,
    /// `destination_cluster_id`: the remote cluster, on a `linkMode: Source` link.
    pub destination_cluster_id: Option<String>,
    /// `cluster_link_id`: the id of the half that already exists, which this half pairs with.
    pub cluster_link_id: Option<String>,
}

/// The actions wait: the link is source-initiated and its INBOUND side does not exist yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitingForInbound {
    /// The link's name.
    pub link: String,
    /// The cluster where the INBOUND side must be created, if its id is known.
    pub cluster: Option<String>,
    /// `namespace/name` of the INBOUND side's resource, if known.
    pub peer: Option<String>,
}

impl WaitingForInbound {
    /// The problem's category.
    pub const CATEGORY: &'static str = "waiting-for-inbound-link";
}

impl fmt::Display for WaitingForInbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "link {} is source-initiated: its INBOUND side must exist first on cluster {} (the ClusterLink with connectionMode Inbound{}); this side is created as soon as it does",
            self.link,
            self.cluster.as_deref().unwrap_or("?"),
            self.peer
                .as_deref()
                .map(|p| format!(", {p}"))
                .unwrap_or_default()
        )
    }
}

/// R5: the OUTBOUND side of a source-initiated link takes the INBOUND side's link id, so the
/// INBOUND side must exist first. Where CFK fails, this waits (and says so).
pub(super) fn waiting_for_inbound(
    link: &ValidatedClusterLink,
    observed: &Observed,
) -> Option<WaitingForInbound> {
    let peer_inbound = observed.peer.as_ref().is_some_and(|p| p.inbound);
    // An explicit `connectionMode: Outbound` is how CFK's source-initiated bidirectional pair
    // marks its Outbound side (destination-initiated pairs leave it out).
    let explicit_outbound = link.declared_connection_mode == Some(ConnectionMode::Outbound);
    let needs_inbound = link.topology.is_outbound()
        && (link.is_source_mode()
            || (link.is_bidirectional() && (peer_inbound || explicit_outbound)));
    let waiting =
        needs_inbound && observed.link.is_none() && observed.remote_link == RemoteLink::Absent;
    waiting.then(|| WaitingForInbound {
        link: link.name.clone(),
        cluster: observed.remote_cluster_id.clone(),
        peer: observed.peer.as_ref().map(|p| p.resource.clone()),
    })
}

/// The ids the local half is created with: the remote cluster's id under the name the link
/// mode calls for, and the remote half's link id when this side connects out to a half that
/// exists.
pub(super) fn link_ids(link: &ValidatedClusterLink, observed: &Observed) -> LinkIds {
    let remote_id = |wanted: bool| observed.remote_cluster_id.clone().filter(|_| wanted);
    let pairs = link.topology.is_outbound() && (link.is_bidirectional() || link.is_source_mode());
    LinkIds {
        source_cluster_id: remote_id(link.local_is_destination() && !link.is_bidirectional()),
        remote_cluster_id: remote_id(link.is_bidirectional()),
        destination_cluster_id: remote_id(link.is_source_mode()),
        cluster_link_id: match &observed.remote_link {
            RemoteLink::Present { link_id } if pairs => link_id.clone(),
            _ => None,
        },
    }
}
