//! The cluster link configs a ClusterLink means (cfk-reference.md §3.3, §3.5 step 2, §6), built
//! from the resource and secret values the caller has read.
//!
//! Secrets are read by the caller (the operator from Kubernetes secrets, the CLI from files) and
//! passed in as a plain map, which keeps this crate free of I/O. Their values are wrapped in
//! [`SecretValue`], whose `Debug` prints `<redacted>`, and link configs that carry them are
//! marked sensitive, so neither logs nor error messages can show a credential.
//!
//! Secret file conventions are CFK's: `plain.txt` (`username=…`, `password=…` lines) for
//! `jaasConfig`, `plain-jaas.conf` (`sasl.jaas.config=…`) for `jaasConfigPassThrough`,
//! `fullchain.pem`, `privkey.pem`, `cacerts.pem` (or `tls.crt`, `tls.key`, `ca.crt`) for TLS,
//! and `oauth.txt` (`clientId=…`, `clientSecret=…`) for OAuth clients.
//!
//! - [`values`]: secret files, config values, errors;
//! - `security`: `security.protocol`, SASL and TLS toward one cluster;
//! - `filters`: the JSON of the filter configs.

mod filters;
mod security;
pub mod values;

use clusterlink_rest_v3::link_config::{self as name, is_sensitive};

use crate::cluster_link::{ClusterLink, ClusterLinkSpec};
use crate::validated::ValidatedClusterLink;

pub use values::{
    ConfigError, ConfigValue, LinkConfigs, ResolvedSecrets, SecretSource, SecretValue,
};

/// The link configs of a bare spec, read without validation (see
/// [`ValidatedClusterLink::link_configs`]).
pub fn link_configs(
    spec: &ClusterLinkSpec,
    secrets: &ResolvedSecrets,
) -> Result<LinkConfigs, ConfigError> {
    ValidatedClusterLink::from_unchecked(&ClusterLink::new("", spec.clone())).link_configs(secrets)
}

/// A plain (not sensitive) config value.
pub fn plain(value: &str) -> ConfigValue {
    ConfigValue::Plain(value.to_string())
}

impl ValidatedClusterLink {
    /// Builds the link configs: `bootstrap.servers`, `link.mode`, `connection.mode`, remote
    /// security configs and, where the remote reads back over the same connection, `local.*`
    /// ones; `cluster.link.prefix`, auto-create, consumer offset and ACL sync; then
    /// `spec.configs` on top.
    pub fn link_configs(&self, secrets: &ResolvedSecrets) -> Result<LinkConfigs, ConfigError> {
        let topo = self.topology;
        let mut out = LinkConfigs::new();
        out.insert(name::LINK_MODE.into(), plain(topo.link_mode.as_config()));
        out.insert(
            name::CONNECTION_MODE.into(),
            plain(topo.connection_mode.as_config()),
        );
        if topo.is_outbound() {
            if let Some(b) = &self.remote.cluster.bootstrap_endpoint {
                out.insert(name::BOOTSTRAP_SERVERS.into(), plain(b));
            }
            security::put(&mut out, "", &self.remote, secrets)?;
            let local = &self.local.cluster;
            if topo.needs_local_credentials()
                && (local.authentication.is_some() || local.tls.is_some())
            {
                security::put(&mut out, name::LOCAL_PREFIX, &self.local, secrets)?;
            }
        }
        if let Some(p) = &self.options.prefix {
            out.insert(name::CLUSTER_LINK_PREFIX.into(), plain(p));
        }
        if let Some(auto) = &self.options.auto_create {
            let enabled = auto.enabled.unwrap_or(false);
            out.insert(
                name::AUTO_CREATE_MIRROR_TOPICS_ENABLE.into(),
                plain(&enabled.to_string()),
            );
            if let Some(f) = &auto.topic_filters {
                out.insert(
                    name::AUTO_CREATE_MIRROR_TOPICS_FILTERS.into(),
                    plain(&filters::topic_filters(f)),
                );
            }
        }
        if !self.consumer_group_filters.is_empty() {
            out.insert(name::CONSUMER_OFFSET_SYNC_ENABLE.into(), plain("true"));
            out.insert(
                name::CONSUMER_OFFSET_GROUP_FILTERS.into(),
                plain(&filters::group_filters(&self.consumer_group_filters)),
            );
        }
        if !self.acl_filters.is_empty() {
            out.insert(name::ACL_SYNC_ENABLE.into(), plain("true"));
            out.insert(
                name::ACL_FILTERS.into(),
                plain(&filters::acl_filters(&self.acl_filters)),
            );
        }
        for (k, v) in &self.extra_configs {
            let value = if is_sensitive(k) {
                ConfigValue::Sensitive(SecretValue::new(v.clone()))
            } else {
                ConfigValue::Plain(v.clone())
            };
            out.insert(k.clone(), value);
        }
        Ok(out)
    }
}
