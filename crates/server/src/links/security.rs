//! A link's security settings, as client settings: toward the remote cluster (`security.protocol`,
//! `ssl.*`, `sasl.*`) and, for a link that pushes, toward the local one (`local.*`).
//!
//! Settings are checked when they are stored, so that unusable TLS or SASL settings are the
//! request's fault (a 400), not a link that fails later. Errors name the setting, never a
//! secret's value.
//!
//! A link's stored credentials go only where they were sent with: a change of where or how the
//! link connects (`bootstrap.servers`, `security.protocol`, `ssl.*`) must carry the stored
//! secrets again, or delete them ([`credentials_to_resend`]; `sasl.mechanism` too: PLAIN would
//! send the password itself). Otherwise anyone allowed to alter
//! a config could point the link at a broker of their own and read the password it logs in
//! with.

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

/// The stored secrets that a change from `old` to `new` must send again (or delete) in the same
/// request, sorted; empty when it may go ahead. Per side: a change of the remote connection's
/// target asks for the remote secrets, one of the `local.*` target for the `local.*` secrets.
/// `touched` are the configs the request sets or deletes.
pub(super) fn credentials_to_resend(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    touched: &[&str],
) -> Vec<String> {
    let side = |k: &str| k.starts_with(link_config::LOCAL_PREFIX);
    let mut out = Vec::new();
    for local in [false, true] {
        let bare = |k: &str| {
            if local {
                k.strip_prefix(link_config::LOCAL_PREFIX).map(str::to_owned)
            } else if side(k) {
                None
            } else {
                Some(k.to_owned())
            }
        };
        let retargeted = old
            .keys()
            .chain(new.keys())
            .filter(|k| bare(k).is_some_and(|b| link_config::retargets_connection(&b)))
            .any(|k| old.get(k) != new.get(k));
        if !retargeted {
            continue;
        }
        out.extend(
            old.keys()
                .filter(|k| bare(k).is_some() && link_config::is_sensitive(k))
                .filter(|k| !touched.contains(&k.as_str()))
                .cloned(),
        );
    }
    out.sort();
    out
}

/// Whether a config is one of a connection's security settings (a change reconnects).
pub(super) fn is_security_config(name: &str) -> bool {
    let name = name.strip_prefix(link_config::LOCAL_PREFIX).unwrap_or(name);
    name == link_config::SECURITY_PROTOCOL
        || name.starts_with(link_config::SSL_PREFIX)
        || name.starts_with(link_config::SASL_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_new_target_needs_the_stored_secrets_again() {
        let old = configs(&[
            ("bootstrap.servers", "east:9092"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", "secret"),
            ("local.sasl.jaas.config", "local-secret"),
            ("consumer.offset.sync.enable", "true"),
        ]);
        let with = |k: &str, v: &str| {
            let mut n = old.clone();
            n.insert(k.into(), v.into());
            n
        };
        // The address, the protocol or a TLS setting: the remote secret, not the local one.
        for (k, v) in [
            ("bootstrap.servers", "evil:9092"),
            ("security.protocol", "SASL_PLAINTEXT"),
            ("ssl.endpoint.identification.algorithm", ""),
            ("sasl.mechanism", "SCRAM-SHA-512"),
        ] {
            assert_eq!(
                credentials_to_resend(&old, &with(k, v), &[k]),
                vec!["sasl.jaas.config"],
                "{k}"
            );
        }
        let mut removed = old.clone();
        removed.remove("security.protocol");
        assert_eq!(
            credentials_to_resend(&old, &removed, &["security.protocol"]),
            vec!["sasl.jaas.config"]
        );
        // Sent again (or deleted) in the same request: allowed.
        let moved = with("bootstrap.servers", "west:9092");
        assert!(
            credentials_to_resend(&old, &moved, &["bootstrap.servers", "sasl.jaas.config"])
                .is_empty()
        );
        // The same address, other configs, or a link without secrets: nothing to send.
        assert!(
            credentials_to_resend(&old, &with("bootstrap.servers", "east:9092"), &[]).is_empty()
        );
        assert!(
            credentials_to_resend(&old, &with("consumer.offset.sync.enable", "false"), &[])
                .is_empty()
        );
        let plain = configs(&[("bootstrap.servers", "east:9092")]);
        let mut plain_moved = plain.clone();
        plain_moved.insert("bootstrap.servers".into(), "west:9092".into());
        assert!(credentials_to_resend(&plain, &plain_moved, &["bootstrap.servers"]).is_empty());
        // The local side's target asks for the local secrets only.
        assert_eq!(
            credentials_to_resend(
                &old,
                &with("local.security.protocol", "SASL_PLAINTEXT"),
                &["local.security.protocol"]
            ),
            vec!["local.sasl.jaas.config"]
        );
    }
}
