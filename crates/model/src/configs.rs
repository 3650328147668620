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

use std::collections::BTreeMap;
use std::fmt;

use serde_json::json;

use crate::cluster_link::{
    AclPatternType, AclPermissionType, AclResourceType, AuthenticationType, ClientAuthentication,
    ClientTls, ClusterLinkSpec, FilterPatternType, FilterSpec, FilterType, KafkaClusterSpec,
};
use crate::topology::topology;

/// A secret value. `Debug` never shows it; [`SecretValue::expose`] does, on purpose.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        SecretValue(value.into())
    }

    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for SecretValue {
    fn from(s: &str) -> Self {
        SecretValue::new(s)
    }
}

/// Where credential files come from: a Kubernetes secret (in the resource's namespace) or a
/// directory in the container.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SecretSource {
    /// A Kubernetes secret, by name.
    Secret(String),
    /// A directory path.
    Directory(String),
}

/// Secret files the caller has read: source → file name (secret key) → content.
pub type ResolvedSecrets = BTreeMap<SecretSource, BTreeMap<String, SecretValue>>;

/// A link config value: plain, or sensitive (a credential).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigValue {
    /// A plain value.
    Plain(String),
    /// A credential.
    Sensitive(SecretValue),
}

impl ConfigValue {
    /// The value itself.
    pub fn expose(&self) -> &str {
        match self {
            ConfigValue::Plain(s) => s,
            ConfigValue::Sensitive(s) => s.expose(),
        }
    }

    /// Whether the value is a credential.
    pub fn is_sensitive(&self) -> bool {
        matches!(self, ConfigValue::Sensitive(_))
    }
}

impl fmt::Debug for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Plain(s) => write!(f, "{s:?}"),
            ConfigValue::Sensitive(s) => write!(f, "{s:?}"),
        }
    }
}

/// Link configs by name.
pub type LinkConfigs = BTreeMap<String, ConfigValue>;

/// Why the configs could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A secret (or directory) or one of its files was not passed in.
    #[error("{path}: {from:?} has no {key:?}")]
    MissingSecret {
        /// The field that references it.
        path: String,
        /// The secret or directory.
        from: SecretSource,
        /// The file (secret key) wanted; alternatives are separated by ` or `.
        key: String,
    },
    /// A secret file that is not in the expected form.
    #[error("{path}: {key:?} of {from:?} is malformed: {why}")]
    MalformedSecret {
        /// The field that references it.
        path: String,
        /// The secret or directory.
        from: SecretSource,
        /// The file.
        key: String,
        /// What is wrong (never the content).
        why: &'static str,
    },
}

impl ConfigError {
    /// A short, stable label for metrics, events and status reasons.
    pub fn category(&self) -> &'static str {
        match self {
            ConfigError::MissingSecret { .. } => "missing-secret",
            ConfigError::MalformedSecret { .. } => "malformed-secret",
        }
    }
}

/// Builds the link configs of a ClusterLink: `bootstrap.servers`, `link.mode`,
/// `connection.mode`, remote security configs and, where the remote reads back over the same
/// connection, `local.*` ones; `cluster.link.prefix`, auto-create, consumer offset and ACL
/// sync; then `spec.configs` on top.
pub fn link_configs(
    spec: &ClusterLinkSpec,
    secrets: &ResolvedSecrets,
) -> Result<LinkConfigs, ConfigError> {
    let topo = topology(spec);
    let mut out = LinkConfigs::new();
    let plain = |s: &str| ConfigValue::Plain(s.to_string());
    out.insert("link.mode".into(), plain(topo.link_mode.as_config()));
    out.insert(
        "connection.mode".into(),
        plain(topo.connection_mode.as_config()),
    );
    if topo.is_outbound() {
        let remote = topo.remote.of(spec);
        if let Some(b) = &remote.bootstrap_endpoint {
            out.insert("bootstrap.servers".into(), plain(b));
        }
        security(&mut out, "", topo.remote.path(), remote, secrets)?;
        if topo.needs_local_credentials() {
            let local = topo.local.of(spec);
            if local.authentication.is_some() || local.tls.is_some() {
                security(&mut out, "local.", topo.local.path(), local, secrets)?;
            }
        }
    }
    if let Some(p) = spec.prefix() {
        out.insert("cluster.link.prefix".into(), plain(p));
    }
    if let Some(auto) = spec
        .mirror_topic_options
        .as_ref()
        .and_then(|o| o.auto_create_topics.as_ref())
    {
        let enabled = auto.enabled.unwrap_or(false);
        out.insert(
            "auto.create.mirror.topics.enable".into(),
            plain(&enabled.to_string()),
        );
        if let Some(filters) = &auto.topic_filters {
            let json =
                json!({ "topicFilters": filters.iter().map(filter_json).collect::<Vec<_>>() });
            out.insert(
                "auto.create.mirror.topics.filters".into(),
                plain(&json.to_string()),
            );
        }
    }
    if let Some(filters) = spec
        .consumer_group_filters
        .as_ref()
        .filter(|f| !f.is_empty())
    {
        out.insert("consumer.offset.sync.enable".into(), plain("true"));
        let json = json!({ "groupFilters": filters.iter().map(filter_json).collect::<Vec<_>>() });
        out.insert(
            "consumer.offset.group.filters".into(),
            plain(&json.to_string()),
        );
    }
    if let Some(filters) = spec.acl_filters.as_ref().filter(|f| !f.is_empty()) {
        out.insert("acl.sync.enable".into(), plain("true"));
        let acl: Vec<_> = filters
            .iter()
            .map(|f| {
                let r = &f.resource_filter;
                let a = &f.access_filter;
                json!({
                    "resourceFilter": {
                        "resourceType": resource_type(r.resource_type),
                        "name": r.name.as_deref().unwrap_or("*"),
                        "patternType": pattern_type(r.pattern_type),
                    },
                    "accessFilter": {
                        "principal": a.principal.as_deref().unwrap_or("*"),
                        "host": a.host.as_deref().unwrap_or("*"),
                        "operation": a.operation,
                        "permissionType": permission_type(a.permission_type),
                    }
                })
            })
            .collect();
        out.insert(
            "acl.filters".into(),
            plain(&json!({ "aclFilters": acl }).to_string()),
        );
    }
    for (k, v) in spec.configs.iter().flatten() {
        let value = if clusterlink_rest_v3::link_config::is_sensitive(k) {
            ConfigValue::Sensitive(SecretValue::new(v.clone()))
        } else {
            ConfigValue::Plain(v.clone())
        };
        out.insert(k.clone(), value);
    }
    Ok(out)
}

fn filter_json(f: &FilterSpec) -> serde_json::Value {
    json!({
        "name": f.name,
        "patternType": match f.pattern_type { FilterPatternType::Prefixed => "PREFIXED", FilterPatternType::Literal => "LITERAL" },
        "filterType": match f.filter_type { FilterType::Include => "INCLUDE", FilterType::Exclude => "EXCLUDE" },
    })
}

fn resource_type(t: AclResourceType) -> &'static str {
    match t {
        AclResourceType::Any => "any",
        AclResourceType::Cluster => "cluster",
        AclResourceType::Group => "group",
        AclResourceType::Topic => "topic",
        // CFK's schema spells it `transcationId`; the broker needs the real name.
        AclResourceType::TransactionalId => "transactionalId",
        AclResourceType::DelegationToken => "delegationToken",
    }
}

fn pattern_type(t: AclPatternType) -> &'static str {
    match t {
        AclPatternType::Prefixed => "prefixed",
        AclPatternType::Literal => "literal",
        AclPatternType::Any => "any",
        AclPatternType::Match => "match",
    }
}

fn permission_type(t: AclPermissionType) -> &'static str {
    match t {
        AclPermissionType::Any => "any",
        AclPermissionType::Allow => "allow",
        AclPermissionType::Deny => "deny",
    }
}

struct Lookup<'a> {
    secrets: &'a ResolvedSecrets,
    path: String,
}

impl Lookup<'_> {
    fn file(&self, source: &SecretSource, keys: &[&str]) -> Result<&SecretValue, ConfigError> {
        let files = self.secrets.get(source);
        keys.iter()
            .find_map(|k| files.and_then(|f| f.get(*k)))
            .ok_or_else(|| ConfigError::MissingSecret {
                path: self.path.clone(),
                from: source.clone(),
                key: keys.join(" or "),
            })
    }

    fn optional(&self, source: &SecretSource, keys: &[&str]) -> Option<&SecretValue> {
        self.file(source, keys).ok()
    }
}

fn source_of(secret_ref: &Option<String>, dir: &Option<String>) -> Option<SecretSource> {
    secret_ref
        .clone()
        .map(SecretSource::Secret)
        .or_else(|| dir.clone().map(SecretSource::Directory))
}

/// `username=…` / `password=…` (or `clientId=…` / `clientSecret=…`) lines.
fn key_values(text: &str) -> BTreeMap<&str, &str> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn security(
    out: &mut LinkConfigs,
    prefix: &str,
    path: &str,
    cluster: &KafkaClusterSpec,
    secrets: &ResolvedSecrets,
) -> Result<(), ConfigError> {
    let tls_on = cluster.tls.as_ref().is_some_and(|t| t.enabled);
    let auth = cluster.authentication.as_ref();
    let sasl = auth.and_then(|a| sasl_mechanism(a.type_));
    let protocol = match (sasl.is_some(), tls_on) {
        (true, true) => "SASL_SSL",
        (true, false) => "SASL_PLAINTEXT",
        (false, true) => "SSL",
        (false, false) => "PLAINTEXT",
    };
    let mut put = |k: &str, v: ConfigValue| {
        out.insert(format!("{prefix}{k}"), v);
    };
    put("security.protocol", ConfigValue::Plain(protocol.into()));
    if let (Some(a), Some(mechanism)) = (auth, sasl) {
        put("sasl.mechanism", ConfigValue::Plain(mechanism.into()));
        let lookup = Lookup {
            secrets,
            path: format!("{path}.authentication"),
        };
        let (jaas, extra) = jaas_config(a, &lookup)?;
        put("sasl.jaas.config", ConfigValue::Sensitive(jaas));
        for (k, v) in extra {
            put(&k, ConfigValue::Plain(v));
        }
    }
    if let Some(tls) = cluster.tls.as_ref().filter(|t| t.enabled) {
        let lookup = Lookup {
            secrets,
            path: format!("{path}.tls"),
        };
        for (k, v) in tls_configs(tls, &lookup)? {
            put(&k, v);
        }
    }
    Ok(())
}

fn sasl_mechanism(t: AuthenticationType) -> Option<&'static str> {
    match t {
        AuthenticationType::Plain => Some("PLAIN"),
        AuthenticationType::Digest => Some("SCRAM-SHA-512"),
        AuthenticationType::Oauthbearer | AuthenticationType::Oauth => Some("OAUTHBEARER"),
        AuthenticationType::Mtls | AuthenticationType::None => None,
    }
}

/// The JAAS config and any extra SASL configs of an authentication.
fn jaas_config(
    a: &ClientAuthentication,
    lookup: &Lookup<'_>,
) -> Result<(SecretValue, Vec<(String, String)>), ConfigError> {
    if let Some(p) = &a.jaas_config_pass_through {
        if let Some(source) = source_of(&p.secret_ref, &p.directory_path_in_container) {
            let text = lookup.file(&source, &["plain-jaas.conf"])?.expose();
            let jaas = text
                .trim()
                .strip_prefix("sasl.jaas.config=")
                .unwrap_or(text.trim());
            return Ok((SecretValue::new(jaas), oauth_extra(a)));
        }
    }
    let module = match a.type_ {
        AuthenticationType::Digest => "org.apache.kafka.common.security.scram.ScramLoginModule",
        AuthenticationType::Oauth | AuthenticationType::Oauthbearer => {
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
        }
        _ => "org.apache.kafka.common.security.plain.PlainLoginModule",
    };
    let (source, key, names) = match (a.type_, &a.jaas_config, &a.oauthbearer) {
        (AuthenticationType::Oauthbearer, _, Some(o)) => (
            source_of(&o.secret_ref, &o.directory_path_in_container),
            "oauthbearer.txt",
            ["username", "password"],
        ),
        (AuthenticationType::Oauth, Some(j), _) => (
            Some(SecretSource::Secret(j.secret_ref.clone())),
            "oauth.txt",
            ["clientId", "clientSecret"],
        ),
        (_, Some(j), _) => (
            Some(SecretSource::Secret(j.secret_ref.clone())),
            "plain.txt",
            ["username", "password"],
        ),
        _ => (None, "", ["", ""]),
    };
    let mut fields = Vec::new();
    match source {
        Some(source) => {
            let text = lookup.file(&source, &[key])?.expose();
            let kv = key_values(text);
            for name in names {
                let value = kv.get(name).ok_or_else(|| ConfigError::MalformedSecret {
                    path: lookup.path.clone(),
                    from: source.clone(),
                    key: key.into(),
                    why: if name == "username" || name == "clientId" {
                        "a line `username=…` (or `clientId=…`) is missing"
                    } else {
                        "a line `password=…` (or `clientSecret=…`) is missing"
                    },
                })?;
                fields.push(format!("{name}=\"{}\"", quote(value)));
            }
        }
        None => {
            // OAuth with a client assertion: only the client id goes into JAAS.
            if let Some(id) = a
                .oauth_settings
                .as_ref()
                .and_then(|o| o.client_assertion.as_ref())
                .and_then(|c| c.client_id.as_ref())
            {
                fields.push(format!("clientId=\"{}\"", quote(id)));
            }
        }
    }
    if let Some(scope) = a.oauth_settings.as_ref().and_then(|o| o.scope.as_ref()) {
        if a.type_ == AuthenticationType::Oauth {
            fields.push(format!("scope=\"{}\"", quote(scope)));
        }
    }
    let mut jaas = format!("{module} required");
    for f in fields {
        jaas.push(' ');
        jaas.push_str(&f);
    }
    jaas.push(';');
    Ok((SecretValue::new(jaas), oauth_extra(a)))
}

fn oauth_extra(a: &ClientAuthentication) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if a.type_ != AuthenticationType::Oauth {
        return out;
    }
    if let Some(o) = &a.oauth_settings {
        out.push((
            "sasl.login.callback.handler.class".into(),
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler".into(),
        ));
        if let Some(u) = &o.token_endpoint_uri {
            out.push(("sasl.oauthbearer.token.endpoint.url".into(), u.clone()));
        }
        if let Some(u) = &o.jwks_endpoint_uri {
            out.push(("sasl.oauthbearer.jwks.endpoint.url".into(), u.clone()));
        }
        if let Some(v) = &o.expected_issuer {
            out.push(("sasl.oauthbearer.expected.issuer".into(), v.clone()));
        }
        if let Some(v) = &o.audience {
            out.push(("sasl.oauthbearer.expected.audience".into(), v.clone()));
        }
        if let Some(v) = &o.sub_claim_name {
            out.push(("sasl.oauthbearer.sub.claim.name".into(), v.clone()));
        }
        for (k, v) in [
            ("sasl.login.connect.timeout.ms", o.login_connect_timeout_ms),
            ("sasl.login.read.timeout.ms", o.login_read_timeout_ms),
            ("sasl.login.retry.backoff.ms", o.login_retry_backoff_ms),
            (
                "sasl.login.retry.backoff.max.ms",
                o.login_retry_backoff_max_ms,
            ),
        ] {
            if let Some(v) = v {
                out.push((k.into(), v.to_string()));
            }
        }
    }
    out
}

fn tls_configs(
    tls: &ClientTls,
    lookup: &Lookup<'_>,
) -> Result<Vec<(String, ConfigValue)>, ConfigError> {
    let mut out = Vec::new();
    let Some(source) = source_of(&tls.secret_ref, &tls.directory_path_in_container) else {
        // TLS with the default trust store and no client certificate.
        return Ok(out);
    };
    let ca = lookup.file(&source, &["cacerts.pem", "ca.crt"])?;
    out.push((
        "ssl.truststore.type".into(),
        ConfigValue::Plain("PEM".into()),
    ));
    out.push((
        "ssl.truststore.certificates".into(),
        ConfigValue::Plain(ca.expose().into()),
    ));
    let chain = lookup.optional(&source, &["fullchain.pem", "tls.crt"]);
    let key = lookup.optional(&source, &["privkey.pem", "tls.key"]);
    if let (Some(chain), Some(key)) = (chain, key) {
        out.push(("ssl.keystore.type".into(), ConfigValue::Plain("PEM".into())));
        out.push((
            "ssl.keystore.certificate.chain".into(),
            ConfigValue::Plain(chain.expose().into()),
        ));
        out.push((
            "ssl.keystore.key".into(),
            ConfigValue::Sensitive(key.clone()),
        ));
        if let Some(kp) = &tls.key_password {
            let kp_source = SecretSource::Secret(kp.secret_ref.clone());
            let text = lookup.file(&kp_source, &["password", "keyPassword.txt", "password.txt"])?;
            let pw = key_values(text.expose())
                .get("password")
                .map(|s| s.to_string())
                .unwrap_or_else(|| text.expose().trim().to_string());
            out.push((
                "ssl.key.password".into(),
                ConfigValue::Sensitive(SecretValue::new(pw)),
            ));
        }
    }
    Ok(out)
}
