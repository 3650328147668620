//! A link's security settings, as client settings: toward the remote cluster (`security.protocol`,
//! `ssl.*`, `sasl.*`) and, for a link that pushes, toward the local one (`local.*`).
//!
//! Settings are checked when they are stored, so that unusable TLS or SASL settings are the
//! request's fault (a 400), not a link that fails later. Errors name the setting, never a
//! secret's value.

use std::collections::BTreeMap;

use clusterlink_kafka::ClientConfig;
use clusterlink_rest_v3::link_config;

use super::error::LinkError;
use crate::record::LinkRecord;

/// The TLS and SASL settings of a link's connections to one cluster.
pub(super) struct Security {
    tls: Option<clusterlink_kafka::connection::Tls>,
    sasl: Option<clusterlink_kafka::sasl::Sasl>,
}

impl Security {
    /// Makes `config` connect with these settings.
    pub fn apply(self, config: &mut ClientConfig) {
        config.connection.tls = self.tls;
        config.connection.sasl = self.sasl;
    }
}

/// How to reach the remote cluster securely, from `security.protocol`: TLS (`ssl.*`, for SSL and
/// SASL_SSL) and SASL (`sasl.mechanism`, `sasl.jaas.config`, for SASL_PLAINTEXT and SASL_SSL).
pub(super) fn remote_security(record: &LinkRecord) -> Result<Security, LinkError> {
    security(&record.configs, &record.name, "")
}

/// The link's own security settings toward the local cluster (`local.security.protocol`,
/// `local.ssl.*`, `local.sasl.*`): the identity a link that pushes reads the local cluster
/// with, as Confluent's source-initiated links use them. `None` for a link that does not push,
/// and without `local.security.protocol` (the server's own connections are used, with their
/// `--command-config` security).
pub(super) fn local_security(record: &LinkRecord) -> Result<Option<Security>, LinkError> {
    if !record.pushes()
        || !record
            .configs
            .contains_key(link_config::LOCAL_SECURITY_PROTOCOL)
    {
        return Ok(None);
    }
    let local: BTreeMap<String, String> = record
        .configs
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix(link_config::LOCAL_PREFIX)?.to_owned(),
                v.clone(),
            ))
        })
        .filter(|(k, _)| is_security_config(k))
        .collect();
    if local.is_empty() {
        return Ok(None);
    }
    security(&local, &record.name, link_config::LOCAL_PREFIX).map(Some)
}

/// Checks both sides' settings of a link that opens connections.
pub(super) fn check(record: &LinkRecord) -> Result<(), LinkError> {
    if !record.is_inbound() {
        remote_security(record)?;
        local_security(record)?;
    }
    Ok(())
}

fn security(
    configs: &BTreeMap<String, String>,
    link: &str,
    prefix: &str,
) -> Result<Security, LinkError> {
    let tls = clusterlink_kafka::tls::from_configs(configs).map_err(|e| {
        LinkError::Invalid(format!(
            "Cluster link '{link}': {prefix}ssl.* settings: {e}"
        ))
    })?;
    let sasl = clusterlink_kafka::sasl::from_configs(configs).map_err(|e| {
        LinkError::Invalid(format!(
            "Cluster link '{link}': {prefix}sasl.* settings: {e}"
        ))
    })?;
    Ok(Security { tls, sasl })
}

/// Whether a config is one of a connection's security settings (a change reconnects).
pub(super) fn is_security_config(name: &str) -> bool {
    let name = name.strip_prefix(link_config::LOCAL_PREFIX).unwrap_or(name);
    name == link_config::SECURITY_PROTOCOL
        || name.starts_with(link_config::SSL_PREFIX)
        || name.starts_with(link_config::SASL_PREFIX)
}
