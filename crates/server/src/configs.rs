//! The cluster-link configs we know (cfk-reference §6): names, types, ranges, defaults, which are
//! secrets, and which the link server applies today.
//!
//! A link config is checked here before it is stored, so a typo or a bad value is a 400 at the
//! API rather than a link that silently does something else. Configs we accept but do not apply
//! yet are marked `applied: false` and reported in the link's status, never silently dropped.

use std::collections::BTreeMap;

use clusterlink_mirror::acl_sync::AclFilters;
use clusterlink_mirror::LogStartPolicy;
use clusterlink_rest_v3::link_config::{self, ConnectionMode, LinkMode};

use crate::iso8601::parse_iso8601_ms;

/// The type and range of a config's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// `true` or `false`.
    Bool,
    /// An integer in `min..=max`.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// Any string.
    Str,
    /// A comma-separated list of `host:port`.
    HostPorts,
    /// One of these values (case-insensitive).
    Enum(&'static [&'static str]),
    /// A JSON document (empty means unset).
    Json,
    /// `earliest`, `latest` or an ISO-8601 timestamp.
    StartSpec,
}

/// One known link config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigDef {
    /// The config's name.
    pub name: &'static str,
    /// Its type and range.
    pub kind: Kind,
    /// The default value (`None`: no default).
    pub default: Option<&'static str>,
    /// Whether the link server applies it today.
    pub applied: bool,
    /// Whether it can only be set when the link is created.
    pub immutable: bool,
}

const MAX_INT: i64 = i32::MAX as i64;

const fn def(
    name: &'static str,
    kind: Kind,
    default: Option<&'static str>,
    applied: bool,
) -> ConfigDef {
    ConfigDef {
        name,
        kind,
        default,
        applied,
        immutable: false,
    }
}

/// Every link config with a fixed name.
pub const DEFS: &[ConfigDef] = &[
    def(link_config::BOOTSTRAP_SERVERS, Kind::HostPorts, None, true),
    ConfigDef {
        immutable: true,
        ..def(
            link_config::LINK_MODE,
            Kind::Enum(LinkMode::NAMES),
            Some(LinkMode::Destination.as_str()),
            true,
        )
    },
    ConfigDef {
        immutable: true,
        ..def(
            link_config::CONNECTION_MODE,
            Kind::Enum(ConnectionMode::NAMES),
            Some(ConnectionMode::Outbound.as_str()),
            true,
        )
    },
    ConfigDef {
        immutable: true,
        ..def(link_config::CLUSTER_LINK_ID, Kind::Str, None, false)
    },
    ConfigDef {
        immutable: true,
        ..def(link_config::CLUSTER_LINK_PREFIX, Kind::Str, Some(""), true)
    },
    def(
        link_config::CLUSTER_LINK_DIVERGED_TOPIC_SUFFIX,
        Kind::Str,
        Some(".diverged"),
        true,
    ),
    def(
        link_config::SECURITY_PROTOCOL,
        Kind::Enum(&["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]),
        Some("PLAINTEXT"),
        true,
    ),
    def(
        link_config::CONSUMER_OFFSET_SYNC_ENABLE,
        Kind::Bool,
        Some("false"),
        true,
    ),
    def(
        link_config::CONSUMER_OFFSET_SYNC_MS,
        Kind::Int {
            min: 1,
            max: MAX_INT,
        },
        Some("30000"),
        true,
    ),
    def(
        link_config::CONSUMER_OFFSET_GROUP_FILTERS,
        Kind::Json,
        Some(""),
        true,
    ),
    def(
        link_config::CONSUMER_GROUP_PREFIX_ENABLE,
        Kind::Bool,
        Some("false"),
        true,
    ),
    def(
        link_config::ACL_SYNC_ENABLE,
        Kind::Bool,
        Some("false"),
        true,
    ),
    def(
        link_config::ACL_SYNC_MS,
        Kind::Int {
            min: 1000,
            max: MAX_INT,
        },
        Some("5000"),
        true,
    ),
    def(link_config::ACL_FILTERS, Kind::Json, Some(""), true),
    def(
        link_config::AUTO_CREATE_MIRROR_TOPICS_ENABLE,
        Kind::Bool,
        Some("false"),
        true,
    ),
    def(
        link_config::AUTO_CREATE_MIRROR_TOPICS_FILTERS,
        Kind::Json,
        Some(""),
        true,
    ),
    def(
        link_config::TOPIC_CONFIG_SYNC_MS,
        Kind::Int {
            min: 1,
            max: MAX_INT,
        },
        Some("5000"),
        true,
    ),
    def(
        link_config::TOPIC_CONFIG_SYNC_INCLUDE,
        Kind::Str,
        Some(""),
        false,
    ),
    def(
        link_config::MIRROR_START_OFFSET_SPEC,
        Kind::StartSpec,
        Some("earliest"),
        true,
    ),
    def(
        link_config::MIRROR_LOG_START_POLICY,
        Kind::Enum(LogStartPolicy::NAMES),
        Some("stop"),
        true,
    ),
    def(
        link_config::CLUSTER_LINK_RETRY_TIMEOUT_MS,
        Kind::Int {
            min: 0,
            max: MAX_INT,
        },
        Some("300000"),
        true,
    ),
    def(
        link_config::CLUSTER_LINK_PAUSED,
        Kind::Bool,
        Some("false"),
        true,
    ),
    def(
        link_config::AVAILABILITY_CHECK_MS,
        Kind::Int {
            min: 0,
            max: MAX_INT,
        },
        Some("60000"),
        false,
    ),
    def(
        link_config::NUM_CLUSTER_LINK_FETCHERS,
        Kind::Int {
            min: 1,
            max: MAX_INT,
        },
        Some("1"),
        false,
    ),
    def(
        link_config::METADATA_MAX_AGE_MS,
        Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        Some("300000"),
        true,
    ),
    def(
        link_config::RETRY_BACKOFF_MS,
        Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        Some("100"),
        true,
    ),
    def(
        link_config::CLIENT_DNS_LOOKUP,
        Kind::Enum(&[
            "use_all_dns_ips",
            "resolve_canonical_bootstrap_servers_only",
        ]),
        Some("use_all_dns_ips"),
        false,
    ),
    def(
        link_config::CONNECTIONS_MAX_IDLE_MS,
        Kind::Int {
            min: -1,
            max: i64::MAX,
        },
        Some("600000"),
        false,
    ),
];

/// Security configs are families: any `sasl.*`, `ssl.*` or `local.*` name is a client setting of
/// one side, stored as given. Toward the remote cluster, `ssl.*` (TLS) and the SASL settings in
/// [`SASL_APPLIED`] are applied; other `sasl.*` names (OAuth, Kerberos, login tuning) are not
/// yet. `local.security.protocol`, `local.ssl.*` and the `local.` SASL settings are applied by
/// links that push (see [`not_applied`]); `local.listener` is not (the server's bootstrap is
/// used).
const FAMILIES: &[&str] = &[
    link_config::SASL_PREFIX,
    link_config::SSL_PREFIX,
    link_config::LOCAL_PREFIX,
];

/// The `sasl.*` configs the link server applies (SASL toward the remote cluster, with the
/// mechanisms of [`clusterlink_kafka::sasl::SUPPORTED_MECHANISMS`]).
pub const SASL_APPLIED: &[&str] = &[link_config::SASL_MECHANISM, link_config::SASL_JAAS_CONFIG];

pub use clusterlink_rest_v3::link_config::is_sensitive;

/// The definition of a known config, or a synthetic one for a security family member.
pub fn lookup(name: &str) -> Option<ConfigDef> {
    if let Some(d) = DEFS.iter().find(|d| d.name == name) {
        return Some(*d);
    }
    if FAMILIES
        .iter()
        .any(|f| name.starts_with(f) && name.len() > f.len())
    {
        return Some(ConfigDef {
            name: "",
            kind: Kind::Str,
            default: None,
            applied: name.starts_with(link_config::SSL_PREFIX) || SASL_APPLIED.contains(&name),
            immutable: false,
        });
    }
    None
}

/// Why a config was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No such link config.
    #[error("Unknown cluster link config '{0}'")]
    Unknown(String),
    /// The value does not fit the config's type or range (never the value itself for secrets).
    #[error("Invalid value for cluster link config '{name}': {why}")]
    Invalid {
        /// Config name.
        name: String,
        /// What is wrong.
        why: String,
    },
    /// The config cannot change after the link is created.
    #[error("Cluster link config '{0}' cannot be changed after the link is created")]
    Immutable(String),
}

impl ConfigError {
    /// A short, stable label for metrics.
    pub fn category(&self) -> &'static str {
        match self {
            ConfigError::Unknown(_) => "unknown_config",
            ConfigError::Invalid { .. } => "invalid_config",
            ConfigError::Immutable(_) => "immutable_config",
        }
    }
}

/// Checks one config; returns the normalized value (enums upper-cased as Kafka spells them).
pub fn validate(name: &str, value: &str) -> Result<String, ConfigError> {
    let d = lookup(name).ok_or_else(|| ConfigError::Unknown(name.to_owned()))?;
    let invalid = |why: String| ConfigError::Invalid {
        name: name.to_owned(),
        why,
    };
    let shown = |v: &str| {
        if is_sensitive(name) {
            "(hidden)".to_owned()
        } else {
            format!("'{v}'")
        }
    };
    let v = value.trim();
    if name.ends_with(".location") {
        // A path is read by the server: a caller could make a link send any file the server
        // can read (a key, the encoder secret) to a broker of its choosing.
        return Err(invalid(
            "names a file on the link server, which link configs may not do: give the PEM text \
             itself (ssl.truststore.certificates; ssl.keystore.certificate.chain and \
             ssl.keystore.key)"
                .into(),
        ));
    }
    if name == link_config::SASL_MECHANISM {
        // Kafka's default (GSSAPI) and the other mechanisms are refused here, so that a link
        // never stores a mechanism it cannot use.
        return clusterlink_kafka::sasl::Mechanism::from_name(v)
            .map(|m| m.name().to_owned())
            .ok_or_else(|| {
                invalid(format!(
                    "{} is not supported by clusterlink: it speaks {}",
                    shown(v),
                    clusterlink_kafka::sasl::SUPPORTED_MECHANISMS
                ))
            });
    }
    match d.kind {
        Kind::Bool => match v.to_ascii_lowercase().as_str() {
            "true" | "false" => Ok(v.to_ascii_lowercase()),
            _ => Err(invalid(format!("{} is not a boolean", shown(v)))),
        },
        Kind::Int { min, max } => {
            let n: i64 = v
                .parse()
                .map_err(|_| invalid(format!("{} is not an integer", shown(v))))?;
            if n < min || n > max {
                return Err(invalid(format!("{n} is outside [{min}, {max}]")));
            }
            Ok(n.to_string())
        }
        Kind::Str => Ok(value.to_owned()),
        Kind::HostPorts => {
            let parts: Vec<&str> = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if parts.is_empty() {
                return Err(invalid("no host:port given".into()));
            }
            for p in &parts {
                let ok = p
                    .rsplit_once(':')
                    .is_some_and(|(h, port)| !h.is_empty() && port.parse::<u16>().is_ok());
                if !ok {
                    return Err(invalid(format!("'{p}' is not host:port")));
                }
            }
            Ok(parts.join(","))
        }
        Kind::Enum(values) => values
            .iter()
            .find(|e| e.eq_ignore_ascii_case(v))
            .map(|e| (*e).to_owned())
            .ok_or_else(|| invalid(format!("{} is not one of {}", shown(v), values.join(", ")))),
        Kind::Json => {
            if v.is_empty() {
                return Ok(String::new());
            }
            serde_json::from_str::<serde_json::Value>(v)
                .map_err(|e| invalid(format!("not valid JSON: {e}")))?;
            if name == link_config::ACL_FILTERS {
                // As Confluent's brokers check it: filters that name Kafka's values.
                AclFilters::parse(v).map_err(invalid)?;
            }
            Ok(value.to_owned())
        }
        Kind::StartSpec => {
            let l = v.to_ascii_lowercase();
            if l == "earliest" || l == "latest" {
                return Ok(l);
            }
            parse_iso8601_ms(v).map(|_| v.to_owned()).ok_or_else(|| {
                invalid(format!(
                    "'{v}' is not earliest, latest or an ISO-8601 timestamp"
                ))
            })
        }
    }
}

/// Checks a whole set of configs together (cross-config rules).
pub fn validate_set(configs: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    let get = |n: &str| configs.get(n).map(String::as_str);
    if get(link_config::ACL_SYNC_ENABLE) == Some("true")
        && get(link_config::ACL_FILTERS).unwrap_or("").is_empty()
    {
        return Err(ConfigError::Invalid {
            name: link_config::ACL_SYNC_ENABLE.into(),
            why: "ACL migration is enabled but acl.filters is not set. Please set acl.filters to proceed with ACL migration.".into(),
        });
    }
    if let Some(s) = get(link_config::CLUSTER_LINK_DIVERGED_TOPIC_SUFFIX) {
        if s.is_empty()
            || s.len() > 40
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(ConfigError::Invalid {
                name: link_config::CLUSTER_LINK_DIVERGED_TOPIC_SUFFIX.into(),
                why: format!(
                    "'{s}' is not 1 to 40 characters of letters, digits, '.', '_' and '-'"
                ),
            });
        }
    }
    if let Some(p) = get(link_config::CLUSTER_LINK_PREFIX) {
        if p.len() > 12 {
            return Err(ConfigError::Invalid {
                name: link_config::CLUSTER_LINK_PREFIX.into(),
                why: format!("'{p}' is longer than 12 characters"),
            });
        }
    }
    Ok(())
}

/// The configs of ACL sync.
const ACL_SYNC_CONFIGS: [&str; 3] = [
    link_config::ACL_SYNC_ENABLE,
    link_config::ACL_SYNC_MS,
    link_config::ACL_FILTERS,
];

/// Configs that are set (to something other than their default) but not applied by the link
/// server yet: the link's status lists them.
pub fn not_applied(configs: &BTreeMap<String, String>) -> Vec<String> {
    let sasl = clusterlink_kafka::sasl::protocol_uses_sasl(configs);
    // `local.*` security settings are the identity a pushing link (SOURCE, or BIDIRECTIONAL
    // OUTBOUND) reads the local cluster with; other links read nothing there.
    let get = |n: &str| configs.get(n).map(String::as_str);
    let pushes = matches!(
        LinkMode::of(get(link_config::LINK_MODE)),
        LinkMode::Source | LinkMode::Bidirectional
    ) && ConnectionMode::of(get(link_config::CONNECTION_MODE))
        != ConnectionMode::Inbound;
    let acl_sync_runs = ConnectionMode::of(get(link_config::CONNECTION_MODE))
        == ConnectionMode::Inbound
        || LinkMode::of(get(link_config::LINK_MODE)) != LinkMode::Source;
    let local: BTreeMap<String, String> = configs
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix(link_config::LOCAL_PREFIX)?.to_owned(),
                v.clone(),
            ))
        })
        .collect();
    let local_sasl = clusterlink_kafka::sasl::protocol_uses_sasl(&local);
    // Without local.security.protocol the server's own connection settings are used.
    let local_protocol = local.contains_key(link_config::SECURITY_PROTOCOL);
    configs
        .iter()
        .filter(|(name, value)| {
            let Some(d) = lookup(name) else { return false };
            if let Some(n) = name.strip_prefix(link_config::LOCAL_PREFIX) {
                let applied = pushes
                    && local_protocol
                    && (n == link_config::SECURITY_PROTOCOL
                        || n.starts_with(link_config::SSL_PREFIX)
                        || (SASL_APPLIED.contains(&n) && local_sasl));
                return !applied;
            }
            // SASL settings take effect with a SASL security.protocol only, as in Kafka clients.
            if SASL_APPLIED.contains(&name.as_str()) {
                return !sasl;
            }
            // Every link and connection mode is served (source-initiated links included).
            if [link_config::LINK_MODE, link_config::CONNECTION_MODE].contains(&name.as_str()) {
                return false;
            }
            // ACL sync runs where the link pulls, and for an INBOUND link (by its pusher); a
            // SOURCE link's own acl.* are not read (its pusher reads its INBOUND side's).
            if ACL_SYNC_CONFIGS.contains(&name.as_str()) && !acl_sync_runs {
                return d.default != Some(value.as_str());
            }
            !d.applied && d.default != Some(value.as_str())
        })
        .map(|(n, _)| n.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every ACL of the source.
    const ACL_FILTERS: &str = r#"{"aclFilters": [{"resourceFilter": {"resourceType": "any", "patternType": "any"}, "accessFilter": {"operation": "any", "permissionType": "any"}}]}"#;

    #[test]
    fn configs_that_name_files_on_the_server_are_refused() {
        for name in [
            "ssl.truststore.location",
            "ssl.keystore.location",
            "local.ssl.truststore.location",
        ] {
            let e = validate(name, "/etc/clusterlink/encoder-secret").unwrap_err();
            assert!(
                matches!(&e, ConfigError::Invalid { name: n, why } if n == name && why.contains("PEM")),
                "{e:?}"
            );
            assert!(!e.to_string().contains("encoder-secret"), "{e}");
        }
        assert!(validate("ssl.truststore.certificates", "-----BEGIN CERTIFICATE-----").is_ok());
    }

    #[test]
    fn types_and_ranges_are_checked() {
        assert_eq!(validate("acl.sync.enable", "TRUE").unwrap(), "true");
        assert!(validate("acl.sync.enable", "yes").is_err());
        assert!(validate("acl.sync.ms", "999").is_err());
        assert_eq!(validate("acl.sync.ms", "1000").unwrap(), "1000");
        assert!(validate("cluster.link.retry.timeout.ms", "-1").is_err());
        assert_eq!(validate("link.mode", "destination").unwrap(), "DESTINATION");
        assert!(validate("link.mode", "SIDEWAYS").is_err());
        assert!(validate("bootstrap.servers", "host").is_err());
        assert_eq!(
            validate("bootstrap.servers", " a:1, b:2 ").unwrap(),
            "a:1,b:2"
        );
        assert!(validate("acl.filters", "{not json").is_err());
        assert_eq!(validate("acl.filters", ACL_FILTERS).unwrap(), ACL_FILTERS);
        let e = validate("acl.filters", r#"{"aclFilters": []}"#).unwrap_err();
        assert!(e.to_string().contains("cannot be empty"), "{e}");
        let e = validate(
            "acl.filters",
            r#"{"aclFilters": [{"resourceFilter": {"resourceType": "topic", "patternType": "literal"}, "accessFilter": {"operation": "reed", "permissionType": "allow"}}]}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("Unknown operation: reed"), "{e}");
        assert!(validate("mirror.start.offset.spec", "2024-01-31T00:00:00Z").is_ok());
        assert!(validate("mirror.start.offset.spec", "yesterday").is_err());
        assert_eq!(
            validate("no.such.config", "1"),
            Err(ConfigError::Unknown("no.such.config".into()))
        );
        assert_eq!(validate("sasl.mechanism", "PLAIN").unwrap(), "PLAIN");
        assert_eq!(
            validate("sasl.mechanism", "scram-sha-512").unwrap(),
            "SCRAM-SHA-512"
        );
        for m in ["GSSAPI", "OAUTHBEARER", ""] {
            let e = validate("sasl.mechanism", m).unwrap_err().to_string();
            assert!(e.contains("not supported by clusterlink"), "{e}");
        }
        assert!(validate("local.sasl.jaas.config", "x").is_ok());
    }

    #[test]
    fn secrets_are_recognised_and_never_echoed() {
        for n in [
            "sasl.jaas.config",
            "local.sasl.jaas.config",
            "ssl.truststore.password",
            "ssl.key.password",
            "ssl.keystore.key",
        ] {
            assert!(is_sensitive(n), "{n}");
        }
        assert!(!is_sensitive("sasl.mechanism"));
        assert!(!is_sensitive("bootstrap.servers"));
        // Stored as given (for the link's use); the API layers never return it.
        assert_eq!(
            validate("ssl.keystore.password", "s3cret").unwrap(),
            "s3cret"
        );
    }

    #[test]
    fn cross_config_rules_and_not_applied() {
        let mut c: BTreeMap<String, String> = BTreeMap::new();
        c.insert("acl.sync.enable".into(), "true".into());
        assert!(validate_set(&c)
            .unwrap_err()
            .to_string()
            .contains("acl.filters"));
        c.insert("acl.filters".into(), ACL_FILTERS.into());
        assert!(validate_set(&c).is_ok());
        c.insert("consumer.offset.sync.enable".into(), "false".into());
        c.insert("bootstrap.servers".into(), "a:1".into());
        assert!(not_applied(&c).is_empty(), "ACL sync is applied");
        // Without a SASL security.protocol, SASL settings have no effect.
        c.insert("sasl.jaas.config".into(), "x".into());
        assert_eq!(not_applied(&c), vec!["sasl.jaas.config"]);
        // SASL toward the remote cluster is applied; the local side's settings are not, on a
        // link that does not push.
        for (k, v) in [
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.jaas.config", "x"),
            ("ssl.truststore.type", "PEM"),
            ("local.sasl.jaas.config", "x"),
            ("sasl.login.callback.handler.class", "x"),
        ] {
            c.insert(k.into(), v.into());
        }
        assert_eq!(
            not_applied(&c),
            vec![
                "local.sasl.jaas.config",
                "sasl.login.callback.handler.class"
            ]
        );
        // A link that pushes reads the local cluster with the local.* settings (and does not
        // run ACL sync: the pulling side does).
        c.insert("link.mode".into(), "SOURCE".into());
        c.insert("local.security.protocol".into(), "SASL_PLAINTEXT".into());
        c.insert("local.sasl.mechanism".into(), "PLAIN".into());
        c.insert("local.listener".into(), "INTERNAL".into());
        assert_eq!(
            not_applied(&c),
            vec![
                "acl.filters",
                "acl.sync.enable",
                "local.listener",
                "sasl.login.callback.handler.class"
            ]
        );
        // ... but not the INBOUND half of a bidirectional pair (whose ACL sync runs).
        c.insert("link.mode".into(), "BIDIRECTIONAL".into());
        c.insert("connection.mode".into(), "INBOUND".into());
        assert!(not_applied(&c).contains(&"local.sasl.mechanism".to_string()));
        assert!(!not_applied(&c).contains(&"acl.sync.enable".to_string()));
        c.insert("cluster.link.prefix".into(), "0123456789abc".into());
        assert!(validate_set(&c).is_err());
    }
}
