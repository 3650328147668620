//! Observe: read the link through the REST API — on the local cluster and, for the links that
//! manage a remote half (bidirectional, source-initiated), on the remote cluster — before the
//! plan, and again after the pass changed something, so that the status describes the link as
//! it is now.

use std::collections::BTreeMap;

use clusterlink_model::{
    ClusterLinkStatus, Observed, ObservedLink, ObservedMirror, RemoteLink, ValidatedClusterLink,
};
use tracing::warn;

use crate::deref::{ClusterIds, Dereferenced};
use crate::rest_client::{LinkInfo, MirrorInfo, RestClient, RestError};
use crate::status::link::reported_state;

/// A link on one cluster, as read: `None` when it does not exist (then it has no mirrors).
#[derive(Clone, Debug, Default)]
pub struct LinkRead {
    /// The link.
    pub info: Option<LinkInfo>,
    /// Its mirror topics.
    pub mirrors: Vec<MirrorInfo>,
}

impl LinkRead {
    async fn read(rest: &RestClient, cluster: &str, link: &str) -> Result<Self, RestError> {
        let info = rest.link(cluster, link).await?;
        let mirrors = match &info {
            Some(_) => rest.mirrors(cluster, link).await?,
            None => Vec::new(),
        };
        Ok(LinkRead { info, mirrors })
    }
}

/// The other cluster's half of the link, read through its REST API.
#[derive(Clone, Debug)]
pub struct RemoteHalf {
    /// The remote cluster's REST API.
    pub client: RestClient,
    /// The remote cluster's id.
    pub cluster: String,
    /// The link there.
    pub read: LinkRead,
}

/// What a pass read.
#[derive(Clone, Debug)]
pub struct Observation {
    /// The link on the local cluster.
    pub local: LinkRead,
    /// The configs set on the local link, when it exists (read before the plan only).
    pub local_configs: BTreeMap<String, Option<String>>,
    /// The remote half, when this kind of link has one and it could be read.
    pub remote: Option<RemoteHalf>,
    /// Why the remote half could not be read.
    pub remote_error: Option<String>,
}

impl Observation {
    /// Reads the link before the plan. An unreachable remote (the region a bidirectional link
    /// exists for may be the lost one) does not stop the local half: it is reported, and the
    /// local plan goes on.
    pub async fn read(
        link: &ValidatedClusterLink,
        d: &Dereferenced,
        ids: &ClusterIds,
    ) -> Result<Self, RestError> {
        let rest = &d.local.client;
        let local = LinkRead::read(rest, &ids.local, &link.name).await?;
        let mut remote_error = None;
        let remote = match (&d.remote, &ids.remote) {
            (Some(r), Some(cluster)) if link.is_bidirectional() || link.is_source_mode() => {
                match LinkRead::read(&r.client, cluster, &link.name).await {
                    Ok(read) => Some(RemoteHalf {
                        client: r.client.clone(),
                        cluster: cluster.clone(),
                        read,
                    }),
                    Err(e) => {
                        warn!(error = %e, "the remote half of the link cannot be read");
                        remote_error = Some(format!(
                            "the remote half of link {} cannot be read through {}: {e}",
                            link.name, r.source
                        ));
                        None
                    }
                }
            }
            _ => None,
        };
        let local_configs = match &local.info {
            Some(_) => rest.link_configs(&ids.local, &link.name).await?,
            None => BTreeMap::new(),
        };
        Ok(Observation {
            local,
            local_configs,
            remote,
            remote_error,
        })
    }

    /// Reads both halves again after the pass wrote. A failure is an error now: the status
    /// must not describe the link as it was before the writes.
    pub async fn refresh(
        &mut self,
        link: &ValidatedClusterLink,
        d: &Dereferenced,
        ids: &ClusterIds,
    ) -> Result<(), RestError> {
        self.local = LinkRead::read(&d.local.client, &ids.local, &link.name).await?;
        if let Some(r) = self.remote.as_mut() {
            r.read = LinkRead::read(&r.client, &r.cluster, &link.name).await?;
        }
        Ok(())
    }

    /// The plan's view of what was read. `previous` is the resource's last status (its
    /// `toSource` mirrors are the remote mirrors it owns); `reapply_sensitive` says whether
    /// credentials changed since they were last sent.
    pub fn observed(
        &self,
        d: &Dereferenced,
        ids: &ClusterIds,
        previous: Option<&ClusterLinkStatus>,
        reapply_sensitive: bool,
    ) -> Observed {
        let remote_link = match &self.remote {
            None => RemoteLink::NotRead,
            Some(r) => match &r.read.info {
                None => RemoteLink::Absent,
                Some(i) => RemoteLink::Present {
                    link_id: i.link_id.clone(),
                },
            },
        };
        Observed {
            link: self.local.info.as_ref().map(|_| ObservedLink {
                configs: self.local_configs.clone(),
                mirrors: observed_mirrors(&self.local.mirrors),
            }),
            remote_mirrors: self
                .remote
                .as_ref()
                .filter(|r| r.read.info.is_some())
                .map(|r| observed_mirrors(&r.read.mirrors)),
            remote_owned: previous
                .and_then(|s| s.reverse_mirror_topics.as_ref())
                .into_iter()
                .flat_map(|m| m.keys().cloned())
                .collect(),
            reapply_sensitive,
            remote_link,
            remote_cluster_id: ids.remote.clone(),
            peer: d.peer.clone(),
        }
    }
}

fn observed_mirrors(mirrors: &[MirrorInfo]) -> BTreeMap<String, ObservedMirror> {
    mirrors
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                ObservedMirror {
                    status: reported_state(m),
                    source_topic_name: m.source_topic_name.clone(),
                },
            )
        })
        .collect()
}
