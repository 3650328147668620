//! The names of cluster link configs (Confluent's, cfk-reference §6), and which hold secrets.
//!
//! The server's config table (types, ranges, defaults) and the resource model's translation of
//! a `ClusterLink` into configs both name configs through these constants; [`LinkMode`] and
//! [`ConnectionMode`] are the values of the two configs that decide what a link does.

use crate::words::words;

/// `bootstrap.servers`: the remote cluster's endpoint.
pub const BOOTSTRAP_SERVERS: &str = "bootstrap.servers";
/// `link.mode`: `DESTINATION`, `SOURCE` or `BIDIRECTIONAL`.
pub const LINK_MODE: &str = "link.mode";
/// `connection.mode`: `OUTBOUND` or `INBOUND`.
pub const CONNECTION_MODE: &str = "connection.mode";
/// `cluster.link.id`: the id of a link pair.
pub const CLUSTER_LINK_ID: &str = "cluster.link.id";
/// `cluster.link.prefix`: prefix of mirror topic (and, optionally, group) names.
pub const CLUSTER_LINK_PREFIX: &str = "cluster.link.prefix";
/// `cluster.link.diverged.topic.suffix` (clusterlink's): the suffix of the topic where
/// `mirrors:truncate-and-restore` keeps the records it cut (default `.diverged`).
pub const CLUSTER_LINK_DIVERGED_TOPIC_SUFFIX: &str = "cluster.link.diverged.topic.suffix";
/// `cluster.link.paused`: the whole link is paused.
pub const CLUSTER_LINK_PAUSED: &str = "cluster.link.paused";
/// `cluster.link.retry.timeout.ms`: how long a failing operation is retried.
pub const CLUSTER_LINK_RETRY_TIMEOUT_MS: &str = "cluster.link.retry.timeout.ms";
/// `security.protocol` toward the remote cluster.
pub const SECURITY_PROTOCOL: &str = "security.protocol";
/// `sasl.mechanism` toward the remote cluster.
pub const SASL_MECHANISM: &str = "sasl.mechanism";
/// `sasl.jaas.config` toward the remote cluster (a secret).
pub const SASL_JAAS_CONFIG: &str = "sasl.jaas.config";
/// `consumer.offset.sync.enable`.
pub const CONSUMER_OFFSET_SYNC_ENABLE: &str = "consumer.offset.sync.enable";
/// `consumer.offset.sync.ms`.
pub const CONSUMER_OFFSET_SYNC_MS: &str = "consumer.offset.sync.ms";
/// `consumer.offset.group.filters` (JSON).
pub const CONSUMER_OFFSET_GROUP_FILTERS: &str = "consumer.offset.group.filters";
/// `consumer.group.prefix.enable`.
pub const CONSUMER_GROUP_PREFIX_ENABLE: &str = "consumer.group.prefix.enable";
/// `acl.sync.enable`.
pub const ACL_SYNC_ENABLE: &str = "acl.sync.enable";
/// `acl.sync.ms`.
pub const ACL_SYNC_MS: &str = "acl.sync.ms";
/// `acl.filters` (JSON).
pub const ACL_FILTERS: &str = "acl.filters";
/// `auto.create.mirror.topics.enable`.
pub const AUTO_CREATE_MIRROR_TOPICS_ENABLE: &str = "auto.create.mirror.topics.enable";
/// `auto.create.mirror.topics.filters` (JSON).
pub const AUTO_CREATE_MIRROR_TOPICS_FILTERS: &str = "auto.create.mirror.topics.filters";
/// `topic.config.sync.ms`.
pub const TOPIC_CONFIG_SYNC_MS: &str = "topic.config.sync.ms";
/// `topic.config.sync.include`.
pub const TOPIC_CONFIG_SYNC_INCLUDE: &str = "topic.config.sync.include";
/// `mirror.start.offset.spec`: `earliest`, `latest` or an ISO-8601 time.
pub const MIRROR_START_OFFSET_SPEC: &str = "mirror.start.offset.spec";
/// `mirror.log.start.policy` (clusterlink's own): `stop` or `resume` when the source's log
/// start moved past a mirror that was behind.
pub const MIRROR_LOG_START_POLICY: &str = "mirror.log.start.policy";
/// `local.listener`: the local listener a pushing link reads from.
pub const LOCAL_LISTENER: &str = "local.listener";
/// `local.security.protocol`: the security a pushing link reads its local cluster with.
pub const LOCAL_SECURITY_PROTOCOL: &str = "local.security.protocol";
/// `local.sasl.jaas.config` (a secret).
pub const LOCAL_SASL_JAAS_CONFIG: &str = "local.sasl.jaas.config";
/// `local.sasl.mechanism`.
pub const LOCAL_SASL_MECHANISM: &str = "local.sasl.mechanism";
/// `availability.check.ms`.
pub const AVAILABILITY_CHECK_MS: &str = "availability.check.ms";
/// `num.cluster.link.fetchers`.
pub const NUM_CLUSTER_LINK_FETCHERS: &str = "num.cluster.link.fetchers";
/// `metadata.max.age.ms` of the link's client.
pub const METADATA_MAX_AGE_MS: &str = "metadata.max.age.ms";
/// `retry.backoff.ms` of the link's client.
pub const RETRY_BACKOFF_MS: &str = "retry.backoff.ms";
/// `client.dns.lookup` of the link's client.
pub const CLIENT_DNS_LOOKUP: &str = "client.dns.lookup";
/// `connections.max.idle.ms` of the link's client.
pub const CONNECTIONS_MAX_IDLE_MS: &str = "connections.max.idle.ms";

/// `dest.cluster.id`: set by the broker on a link (read-only).
pub const DEST_CLUSTER_ID: &str = "dest.cluster.id";

/// `ssl.truststore.type` (`PEM`).
pub const SSL_TRUSTSTORE_TYPE: &str = "ssl.truststore.type";
/// `ssl.truststore.certificates`: the trusted CA certificates, PEM.
pub const SSL_TRUSTSTORE_CERTIFICATES: &str = "ssl.truststore.certificates";
/// `ssl.keystore.type` (`PEM`).
pub const SSL_KEYSTORE_TYPE: &str = "ssl.keystore.type";
/// `ssl.keystore.certificate.chain`: the client certificate chain, PEM.
pub const SSL_KEYSTORE_CERTIFICATE_CHAIN: &str = "ssl.keystore.certificate.chain";
/// `ssl.keystore.key`: the client private key, PEM (a secret).
pub const SSL_KEYSTORE_KEY: &str = "ssl.keystore.key";
/// `ssl.key.password`: the password of an encrypted private key (a secret).
pub const SSL_KEY_PASSWORD: &str = "ssl.key.password";

/// `sasl.login.callback.handler.class` (OAuth clients).
pub const SASL_LOGIN_CALLBACK_HANDLER_CLASS: &str = "sasl.login.callback.handler.class";
/// `sasl.login.connect.timeout.ms`.
pub const SASL_LOGIN_CONNECT_TIMEOUT_MS: &str = "sasl.login.connect.timeout.ms";
/// `sasl.login.read.timeout.ms`.
pub const SASL_LOGIN_READ_TIMEOUT_MS: &str = "sasl.login.read.timeout.ms";
/// `sasl.login.retry.backoff.ms`.
pub const SASL_LOGIN_RETRY_BACKOFF_MS: &str = "sasl.login.retry.backoff.ms";
/// `sasl.login.retry.backoff.max.ms`.
pub const SASL_LOGIN_RETRY_BACKOFF_MAX_MS: &str = "sasl.login.retry.backoff.max.ms";
/// `sasl.oauthbearer.token.endpoint.url`.
pub const SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: &str = "sasl.oauthbearer.token.endpoint.url";
/// `sasl.oauthbearer.jwks.endpoint.url`.
pub const SASL_OAUTHBEARER_JWKS_ENDPOINT_URL: &str = "sasl.oauthbearer.jwks.endpoint.url";
/// `sasl.oauthbearer.expected.issuer`.
pub const SASL_OAUTHBEARER_EXPECTED_ISSUER: &str = "sasl.oauthbearer.expected.issuer";
/// `sasl.oauthbearer.expected.audience`.
pub const SASL_OAUTHBEARER_EXPECTED_AUDIENCE: &str = "sasl.oauthbearer.expected.audience";
/// `sasl.oauthbearer.sub.claim.name`.
pub const SASL_OAUTHBEARER_SUB_CLAIM_NAME: &str = "sasl.oauthbearer.sub.claim.name";

/// The prefix of the local-side twins of the client settings (`local.security.protocol`).
pub const LOCAL_PREFIX: &str = "local.";
/// The prefix of the TLS settings (`ssl.truststore.certificates`, ...).
pub const SSL_PREFIX: &str = "ssl.";
/// The prefix of the SASL settings (`sasl.mechanism`, ...).
pub const SASL_PREFIX: &str = "sasl.";

words! {
    /// What a link does (`link.mode`).
    pub enum LinkMode {
        /// Mirrors from the remote cluster into the local one (the default).
        Destination = "DESTINATION",
        /// The source half of a source-initiated link: pushes the local cluster's topics into
        /// the remote cluster's INBOUND link.
        Source = "SOURCE",
        /// Both directions between two clusters, one half on each.
        Bidirectional = "BIDIRECTIONAL",
    }
}

impl LinkMode {
    /// The mode a link's configs set: [`LinkMode::Destination`] when unset (or unknown).
    pub fn of(value: Option<&str>) -> Self {
        value.and_then(Self::parse).unwrap_or(LinkMode::Destination)
    }
}

words! {
    /// Which side opens a link's connection (`connection.mode`).
    pub enum ConnectionMode {
        /// This side connects to the remote cluster (the default).
        Outbound = "OUTBOUND",
        /// The remote side connects here: this side opens no connection.
        Inbound = "INBOUND",
    }
}

impl ConnectionMode {
    /// The mode a link's configs set: [`ConnectionMode::Outbound`] when unset (or unknown).
    pub fn of(value: Option<&str>) -> Self {
        value
            .and_then(Self::parse)
            .unwrap_or(ConnectionMode::Outbound)
    }
}

/// Whether a config holds a secret (passwords, JAAS configs, keys, credentials): write-only,
/// never shown by the API, encrypted at rest.
pub fn is_sensitive(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("password")
        || n.contains("jaas")
        || n.contains("secret")
        || n.ends_with(".key")
        || n.ends_with("credentials")
}

/// Whether a change of this config changes where or how a link's connection goes (the address,
/// the protocol, TLS, the SASL mechanism): the link server asks such a change to carry the
/// link's stored secrets again, so that they never follow an address nobody vouched for.
pub fn retargets_connection(name: &str) -> bool {
    let n = name.strip_prefix(LOCAL_PREFIX).unwrap_or(name);
    n == BOOTSTRAP_SERVERS
        || n == SECURITY_PROTOCOL
        || n == SASL_MECHANISM
        || n.starts_with(SSL_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_recognised_on_both_sides() {
        for n in [
            SASL_JAAS_CONFIG,
            LOCAL_SASL_JAAS_CONFIG,
            "ssl.keystore.key",
            "local.ssl.keystore.key",
            "ssl.truststore.password",
            "ssl.key.password",
            "sasl.oauthbearer.client.secret",
        ] {
            assert!(is_sensitive(n), "{n}");
        }
        for n in [
            BOOTSTRAP_SERVERS,
            SASL_MECHANISM,
            SECURITY_PROTOCOL,
            "ssl.truststore.certificates",
            "ssl.keystore.certificate.chain",
        ] {
            assert!(!is_sensitive(n), "{n}");
        }
    }
}
