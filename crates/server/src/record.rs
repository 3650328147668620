//! The link record: what a link server stores per link (`link/<name>` in its state topic), and
//! what can be read from it: the link's modes, its engine's name, its settings.
//!
//! Both the link manager ([`crate::links`]) and the pushing side of a source-initiated link
//! ([`crate::source_initiated`], which reads the *other* cluster's records) read records, so
//! they live here, below both.

use std::collections::BTreeMap;
use std::time::Duration;

use clusterlink_mirror::state_keys;
use clusterlink_rest_v3::link_config::{self, is_sensitive, ConnectionMode, LinkMode};
use serde::{Deserialize, Serialize};

/// What is stored per link. Sensitive config values are encrypted in the state topic (see
/// `links::storage`) and clear in memory.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LinkRecord {
    /// The link's name.
    pub name: String,
    /// The link's id (`cluster_link_id`).
    pub id: String,
    /// The remote cluster's id: the source of a destination link, the destination of a SOURCE
    /// link, the other cluster of a bidirectional one.
    pub source_cluster_id: Option<String>,
    /// The configs set on the link.
    pub configs: BTreeMap<String, String>,
    /// When it was created (ms since the epoch).
    pub created_ms: i64,
}

/// Sensitive configs (`sasl.jaas.config`, keys, passwords) are shown as `<redacted>`, so that
/// no `Debug` of a link, its entry or the manager can print a credential.
impl std::fmt::Debug for LinkRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let configs: BTreeMap<&str, &str> = self
            .configs
            .iter()
            .map(|(k, v)| {
                let v = if is_sensitive(k) {
                    "<redacted>"
                } else {
                    v.as_str()
                };
                (k.as_str(), v)
            })
            .collect();
        f.debug_struct("LinkRecord")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("source_cluster_id", &self.source_cluster_id)
            .field("configs", &configs)
            .field("created_ms", &self.created_ms)
            .finish()
    }
}

impl LinkRecord {
    /// The record of link `name` in a state topic's contents, if there is one.
    pub fn read(state: &BTreeMap<String, Vec<u8>>, name: &str) -> Option<LinkRecord> {
        serde_json::from_slice(state.get(&state_keys::link(name))?).ok()
    }

    /// The name its engine keys its state by: `<name>@<id>`, so that a link deleted and
    /// created again under the same name never inherits the old one's mirrors.
    pub fn engine_name(&self) -> String {
        format!("{}@{}", self.name, self.id)
    }

    /// A config's value, if set.
    pub fn config(&self, name: &str) -> Option<&str> {
        self.configs.get(name).map(String::as_str)
    }

    /// A config in milliseconds, if set.
    pub fn millis(&self, name: &str) -> Option<Duration> {
        self.config(name)
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis)
    }

    /// Whether a boolean config is set to `true`.
    pub fn flag(&self, name: &str) -> bool {
        self.config(name) == Some("true")
    }

    /// `link.mode`.
    pub fn link_mode(&self) -> LinkMode {
        LinkMode::of(self.config(link_config::LINK_MODE))
    }

    /// `connection.mode`.
    pub fn connection_mode(&self) -> ConnectionMode {
        ConnectionMode::of(self.config(link_config::CONNECTION_MODE))
    }

    /// The destination half of a source-initiated link: it opens no connection; the source's
    /// link server moves its mirrors (see [`crate::source_initiated`]).
    pub fn is_inbound(&self) -> bool {
        self.connection_mode() == ConnectionMode::Inbound
    }

    /// Whether this link pulls mirrors into the local cluster (an engine of its own).
    pub fn pulls(&self) -> bool {
        !self.is_inbound() && self.link_mode() != LinkMode::Source
    }

    /// Whether this link pushes the mirrors of an INBOUND link on the remote cluster.
    pub fn pushes(&self) -> bool {
        !self.is_inbound() && matches!(self.link_mode(), LinkMode::Source | LinkMode::Bidirectional)
    }

    /// `cluster.link.paused`.
    pub fn paused(&self) -> bool {
        self.flag(link_config::CLUSTER_LINK_PAUSED)
    }
}

/// Whether `topic`, in a cluster whose clusterlink state is `state`, is a live mirror (not
/// promoted or failed over) of a link pulling from the cluster `from`: then copying it to
/// `from` would bring records back where they came from. Returns that link's name and the
/// original topic.
pub(crate) fn live_mirror_from(
    state: &BTreeMap<String, Vec<u8>>,
    topic: &str,
    from: &str,
) -> Option<(String, String)> {
    clusterlink_mirror::stored_mirrors(state)
        .into_iter()
        .filter(|m| m.name == topic && m.state != clusterlink_mirror::MirrorState::Stopped)
        .find_map(|m| {
            let (link_name, id) = m.engine.split_once('@')?;
            let record = LinkRecord::read(state, link_name)?;
            (record.id == id && record.source_cluster_id.as_deref() == Some(from))
                .then(|| (link_name.to_string(), m.source_topic))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_a_link_never_shows_its_secrets() {
        let record = LinkRecord {
            name: "l".into(),
            id: "i".into(),
            source_cluster_id: None,
            configs: [
                (link_config::SASL_MECHANISM, "PLAIN"),
                (
                    link_config::SASL_JAAS_CONFIG,
                    "x.PlainLoginModule required username=\"u\" password=\"hunter2\";",
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            created_ms: 0,
        };
        let shown = format!("{record:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("PLAIN"),
            "{shown}"
        );
    }

    #[test]
    fn modes_default_to_an_outbound_destination_link() {
        let mut record = LinkRecord {
            name: "l".into(),
            id: "i".into(),
            source_cluster_id: None,
            configs: BTreeMap::new(),
            created_ms: 0,
        };
        assert!(record.pulls() && !record.pushes() && !record.is_inbound());
        record
            .configs
            .insert(link_config::LINK_MODE.into(), "BIDIRECTIONAL".into());
        assert!(record.pulls() && record.pushes());
        record
            .configs
            .insert(link_config::CONNECTION_MODE.into(), "INBOUND".into());
        assert!(!record.pulls() && !record.pushes() && record.is_inbound());
    }
}
