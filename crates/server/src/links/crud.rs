//! Creating and deleting links. A new link is checked whole before anything is stored: its
//! name, configs, modes and ids, its security settings, and (unless told not to) that its
//! remote cluster answers and is the one it names.

use std::collections::BTreeMap;

use clusterlink_mirror::MirrorState;
use clusterlink_rest_v3::link_config::{self, ConnectionMode, LinkMode};
use tracing::{info, warn};

use super::engines::{stop_running, Reached};
use super::error::LinkError;
use super::names::{check_link_name, is_link_id, new_id};
use super::registry::LinkManager;
use super::security;
use crate::common::{lock, now_ms};
use crate::configs;
use crate::record::LinkRecord;

/// A link to create.
#[derive(Debug, Clone, Default)]
pub struct NewLink {
    /// Link name.
    pub name: String,
    /// The source cluster id the caller expects (checked when the link is validated).
    pub source_cluster_id: Option<String>,
    /// The id of the link pair, when this is the second half of a bidirectional link.
    pub cluster_link_id: Option<String>,
    /// Configs by name.
    pub configs: Vec<(String, String)>,
}

impl LinkManager {
    /// Creates a link. With `validate_link`, the source must be reachable and be the cluster
    /// `source_cluster_id` names; with `validate_only`, nothing is created.
    pub async fn create_link(
        &self,
        link: NewLink,
        validate_only: bool,
        validate_link: bool,
    ) -> Result<(), LinkError> {
        check_link_name(&link.name)?;
        let mut configs = BTreeMap::new();
        for (name, value) in &link.configs {
            configs.insert(name.clone(), configs::validate(name, value)?);
        }
        configs::validate_set(&configs)?;
        check_modes(&link, &configs)?;
        if link.source_cluster_id.as_deref() == Some(self.cluster_id()) {
            return Err(LinkError::LinkToSelf(self.cluster_id().to_owned()));
        }
        if lock(&self.inner.links).contains_key(&link.name) {
            return Err(LinkError::AlreadyExists(link.name));
        }
        let mut record = LinkRecord {
            name: link.name.clone(),
            id: link.cluster_link_id.clone().unwrap_or_else(new_id),
            source_cluster_id: link.source_cluster_id.clone(),
            configs,
            created_ms: now_ms(),
        };
        // Unusable TLS or SASL settings are the request's fault, whether or not the link is
        // validated by connecting.
        security::check(&record)?;
        let mut source = None;
        if validate_link && !record.is_inbound() {
            let (client, actual) = self.reach_source(&record, true).await?;
            record.source_cluster_id = Some(actual);
            source = Some(client);
        }
        if validate_only {
            return Ok(());
        }
        // The engine's source connection too, before the lock (see below).
        let source = match source {
            Some(c) => Reached::Client(c),
            None if record.pulls() => Reached::from(self.connect_source(&record).await),
            None => Reached::NotTried,
        };
        // Only now the lock that serialises link changes: reaching the source (above) may take
        // as long as the remote makes it, and must not stall every other link's change.
        let _guard = self.inner.changes.lock().await;
        if lock(&self.inner.links).contains_key(&link.name) {
            return Err(LinkError::AlreadyExists(link.name));
        }
        self.put_record(&record).await?;
        self.add(record.clone(), source).await;
        self.refresh_inbound().await;
        info!(link = %record.name, id = %record.id, source = record.source_cluster_id.as_deref().unwrap_or("?"), "link created");
        Ok(())
    }

    /// Deletes a link: its engine stops and its state is removed. Its mirror topics stay on the
    /// local cluster as ordinary topics. Without `force`, a link with mirrors that are not
    /// stopped is refused.
    pub async fn delete_link(
        &self,
        name: &str,
        force: bool,
        validate_only: bool,
    ) -> Result<(), LinkError> {
        let _guard = self.inner.changes.lock().await;
        let entry = self.entry(name)?;
        if !force {
            let live: Vec<String> = self
                .entry_mirrors(&entry)
                .into_iter()
                .filter(|m| m.state != MirrorState::Stopped)
                .map(|m| m.name)
                .collect();
            if !live.is_empty() {
                return Err(LinkError::HasMirrors {
                    link: name.to_owned(),
                    count: live.len(),
                    names: live.join(", "),
                });
            }
        }
        if validate_only {
            return Ok(());
        }
        if let Err(e) = stop_running(&entry).await {
            warn!(link = %name, error = %e, "final checkpoint of a deleted link failed");
        }
        self.remove_stored(&entry.record()).await?;
        lock(&self.inner.links).remove(name);
        info!(link = %name, force, "link deleted");
        Ok(())
    }
}

/// The rules between a new link's modes, its ids and its address: which side connects, and
/// which side's id names the pair.
fn check_modes(link: &NewLink, configs: &BTreeMap<String, String>) -> Result<(), LinkError> {
    let get = |n: &str| configs.get(n).map(String::as_str);
    let link_mode = LinkMode::of(get(link_config::LINK_MODE));
    let inbound = ConnectionMode::of(get(link_config::CONNECTION_MODE)) == ConnectionMode::Inbound;
    if let Some(id) = &link.cluster_link_id {
        if link_mode == LinkMode::Bidirectional && inbound {
            return Err(LinkError::Invalid(
                "cluster_link_id must not be given for a bidirectional INBOUND link: the INBOUND side creates the link id and the OUTBOUND side uses it".into(),
            ));
        }
        if link_mode == LinkMode::Destination {
            return Err(LinkError::Invalid(
                "cluster_link_id names the other half of a link pair (bidirectional, or the SOURCE side of a source-initiated link); this link's link.mode is DESTINATION".into(),
            ));
        }
        if !is_link_id(id) {
            return Err(LinkError::Invalid(format!(
                "cluster_link_id '{id}' is not a link id (1 to 64 characters of A-Z, a-z, 0-9, - and _)"
            )));
        }
    }
    if inbound && link_mode == LinkMode::Source {
        return Err(LinkError::Invalid(
            "a link with link.mode SOURCE opens the connection: its connection.mode must be OUTBOUND".into(),
        ));
    }
    let has_bootstrap = configs.contains_key(link_config::BOOTSTRAP_SERVERS);
    if inbound {
        if has_bootstrap {
            return Err(LinkError::Invalid(
                "an INBOUND link opens no connection: bootstrap.servers must not be set (the source side's OUTBOUND link connects here)".into(),
            ));
        }
        if link.source_cluster_id.is_none() {
            return Err(LinkError::Invalid(
                "an INBOUND link needs the id of the cluster that connects to it (source_cluster_id, or remote_cluster_id for a bidirectional link)".into(),
            ));
        }
    } else if !has_bootstrap {
        return Err(LinkError::Invalid(
            "bootstrap.servers is required: an OUTBOUND link connects to the remote cluster".into(),
        ));
    }
    Ok(())
}
