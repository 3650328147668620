//! The remote cluster of a link that opens connections: connecting to it with the link's
//! settings, and making sure it is the cluster the link names.

use clusterlink_kafka::{Client, ClientConfig, Error as KafkaError};
use clusterlink_rest_v3::link_config;

use super::error::LinkError;
use super::registry::LinkManager;
use super::security::remote_security;
use crate::common::cluster_id_of;
use crate::record::LinkRecord;

impl LinkManager {
    /// Connects to a link's source, as its configs say.
    pub(super) async fn connect_source(&self, record: &LinkRecord) -> Result<Client, LinkError> {
        let bootstrap = record
            .config(link_config::BOOTSTRAP_SERVERS)
            .ok_or_else(|| {
                LinkError::Invalid(format!(
                    "Cluster link '{}' has no bootstrap.servers",
                    record.name
                ))
            })?;
        let mut config = ClientConfig::new(bootstrap);
        config.retry.timeout = self.inner.options.connect_timeout;
        config.connection.connect_timeout = self.inner.options.connect_timeout;
        // `--connect-to` applies to every connection the server makes.
        config.connection.connect_to = self.inner.local.config().connection.connect_to.clone();
        remote_security(record)?.apply(&mut config);
        if let Some(age) = record.millis(link_config::METADATA_MAX_AGE_MS) {
            config.metadata_max_age = age;
        }
        if let Some(backoff) = record.millis(link_config::RETRY_BACKOFF_MS) {
            config.retry.initial_backoff = backoff;
        }
        // Once connected, the link keeps retrying for as long as the engine's own timeout.
        Client::connect(config)
            .await
            .map_err(|e| remote_error(&record.name, e))
    }

    /// Connects to a link's source and asks its id, which must be the one the link names (if
    /// it names one). With `refuse_self` (a new link), it must not be this cluster either.
    pub(super) async fn reach_source(
        &self,
        record: &LinkRecord,
        refuse_self: bool,
    ) -> Result<(Client, String), LinkError> {
        let client = self.connect_source(record).await?;
        let actual = cluster_id_of(&client)
            .await
            .map_err(|e| LinkError::SourceUnreachable {
                link: record.name.clone(),
                message: e.to_string(),
            })?;
        if refuse_self && actual == self.cluster_id() {
            return Err(LinkError::LinkToSelf(actual));
        }
        match &record.source_cluster_id {
            Some(expected) if *expected != actual => Err(LinkError::ClusterIdMismatch {
                expected: expected.clone(),
                actual,
            }),
            _ => Ok((client, actual)),
        }
    }
}

/// A failed connection to a link's remote cluster: refused credentials are the link's settings
/// at fault (never worth waiting for), anything else a remote that cannot be reached.
pub(super) fn remote_error(link: &str, e: KafkaError) -> LinkError {
    if e.category() == "auth" {
        LinkError::Authentication {
            link: link.to_owned(),
            message: e.to_string(),
        }
    } else {
        LinkError::SourceUnreachable {
            link: link.to_owned(),
            message: e.to_string(),
        }
    }
}
