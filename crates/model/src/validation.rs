//! Validation of the three resources: one pure function per kind that returns every problem at
//! once, each naming the field path and the rule broken.
//!
//! The operator reports these in the resource's status, the CLI prints them before touching a
//! cluster; both need all problems at once, not the first only, so that a user fixes a manifest
//! in one pass. The checks repeat what the CRD schema says (the CLI has no API server to apply
//! it) and add the rules a schema cannot state: those that relate fields to each other (link
//! modes, the prefix rule, authentication types and their secrets) — see cfk-reference.md §2–§3.

use std::collections::BTreeMap;
use std::fmt;

use crate::cluster_link::{
    AuthenticationType, ClientAuthentication, ClientTls, ClusterLink, ClusterLinkSpec,
    KafkaClusterSpec, LinkMode, MirrorDirection,
};
use crate::common::{KafkaRestApi, SecretOrDirectory};
use crate::names::{
    is_dns1123_label, is_dns1123_subdomain, topic_name_problem, MAX_TOPIC_NAME_LEN,
};
use crate::topology::{topology, BrokerConnectionMode, BrokerLinkMode, ClusterSide};
use crate::{KafkaRestClass, KafkaTopic};

/// The rule a field breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rule {
    /// A field that must be set is missing.
    #[error("is required: {why}")]
    Required {
        /// Why it is needed.
        why: &'static str,
    },
    /// A value of the wrong form.
    #[error("{value:?} is not valid: {why}")]
    Format {
        /// The value.
        value: String,
        /// The form it must have.
        why: &'static str,
    },
    /// A value longer than allowed.
    #[error("is {len} characters long, at most {max} allowed")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A number out of range.
    #[error("{value} is out of range: {why}")]
    Range {
        /// The value.
        value: i64,
        /// The allowed range.
        why: &'static str,
    },
    /// The same name twice.
    #[error("{name:?} is already used by {first}")]
    Duplicate {
        /// The name.
        name: String,
        /// Path of the first use.
        first: String,
    },
    /// With `mirrorTopicOptions.prefix`, a mirror topic's name must be `<prefix><sourceTopicName>`.
    #[error("must be {expected:?}: with mirrorTopicOptions.prefix the name is <prefix><sourceTopicName>")]
    Prefix {
        /// The name it must have, or the prefix it must start with.
        expected: String,
    },
    /// A field set where it is not allowed.
    #[error("is not allowed: {why}")]
    NotAllowed {
        /// Why.
        why: &'static str,
    },
    /// Two fields that contradict each other.
    #[error("conflicts with {other}: {why}")]
    Conflict {
        /// Path of the other field.
        other: String,
        /// Why.
        why: &'static str,
    },
}

impl Rule {
    /// A short, stable label for metrics, events and status reasons.
    pub fn category(&self) -> &'static str {
        match self {
            Rule::Required { .. } => "required",
            Rule::Format { .. } => "format",
            Rule::TooLong { .. } => "length",
            Rule::Range { .. } => "range",
            Rule::Duplicate { .. } => "duplicate",
            Rule::Prefix { .. } => "prefix",
            Rule::NotAllowed { .. } => "not-allowed",
            Rule::Conflict { .. } => "conflict",
        }
    }
}

/// One problem: the field's path (`spec.mirrorTopics[2].name`) and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {rule}")]
pub struct ValidationError {
    /// Path of the field, in the manifest's own field names.
    pub path: String,
    /// The rule broken.
    pub rule: Rule,
}

impl ValidationError {
    /// The rule's category.
    pub fn category(&self) -> &'static str {
        self.rule.category()
    }
}

/// All the problems of a resource (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationErrors {
    /// The problems.
    pub fn errors(&self) -> &[ValidationError] {
        &self.0
    }

    /// The problems at `path`.
    pub fn at<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a ValidationError> + 'a {
        self.0.iter().filter(move |e| e.path == path)
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} problem{}", if n == 1 { "" } else { "s" })?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

#[derive(Default)]
struct Errors(Vec<ValidationError>);

impl Errors {
    fn push(&mut self, path: impl Into<String>, rule: Rule) {
        self.0.push(ValidationError {
            path: path.into(),
            rule,
        });
    }

    fn required(&mut self, path: impl Into<String>, why: &'static str) {
        self.push(path, Rule::Required { why });
    }

    fn not_allowed(&mut self, path: impl Into<String>, why: &'static str) {
        self.push(path, Rule::NotAllowed { why });
    }

    fn conflict(&mut self, path: impl Into<String>, other: impl Into<String>, why: &'static str) {
        self.push(
            path,
            Rule::Conflict {
                other: other.into(),
                why,
            },
        );
    }

    fn format(&mut self, path: impl Into<String>, value: &str, why: &'static str) {
        self.push(
            path,
            Rule::Format {
                value: value.into(),
                why,
            },
        );
    }

    fn finish(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(self.0))
        }
    }

    fn secret_ref(&mut self, path: String, name: &str, max: usize) {
        if name.len() > max {
            self.push(
                path.clone(),
                Rule::TooLong {
                    len: name.len(),
                    max,
                },
            );
        }
        if !is_dns1123_label(name) {
            self.format(path, name, "a secret name: lowercase letters, digits and '-', starting and ending alphanumeric");
        }
    }

    fn non_empty(&mut self, path: String, value: &str) {
        if value.is_empty() {
            self.required(path, "must not be empty");
        }
    }

    fn topic_name(&mut self, path: String, name: &str) {
        if let Some(why) = topic_name_problem(name) {
            self.format(path.clone(), name, why);
        }
        if name.len() > MAX_TOPIC_NAME_LEN {
            self.push(
                path,
                Rule::TooLong {
                    len: name.len(),
                    max: MAX_TOPIC_NAME_LEN,
                },
            );
        }
    }

    fn metadata(&mut self, name: Option<&str>, namespace: Option<&str>) {
        match name {
            None => self.required("metadata.name", "every resource has a name"),
            Some(n) if !is_dns1123_subdomain(n) => self.format(
                "metadata.name",
                n,
                "a Kubernetes name: lowercase letters, digits, '-' and '.', at most 253 characters",
            ),
            Some(_) => {}
        }
        if let Some(ns) = namespace {
            if !is_dns1123_label(ns) {
                self.format("metadata.namespace", ns, "a namespace: a DNS-1123 label");
            }
        }
    }

    fn object_ref(&mut self, path: &str, name: &str, namespace: Option<&str>) {
        if !is_dns1123_subdomain(name) {
            self.format(format!("{path}.name"), name, "a Kubernetes name");
        }
        if let Some(ns) = namespace {
            if !is_dns1123_label(ns) {
                self.format(
                    format!("{path}.namespace"),
                    ns,
                    "a namespace: a DNS-1123 label",
                );
            }
        }
    }

    fn secret_or_directory(&mut self, path: &str, s: &SecretOrDirectory, what: &'static str) {
        match (&s.secret_ref, &s.directory_path_in_container) {
            (None, None) => self.required(format!("{path}.secretRef"), what),
            (Some(_), Some(_)) => self.conflict(
                format!("{path}.secretRef"),
                format!("{path}.directoryPathInContainer"),
                "give the credentials either as a secret or as a directory",
            ),
            _ => {}
        }
        if let Some(name) = &s.secret_ref {
            self.secret_ref(format!("{path}.secretRef"), name, 30);
        }
    }
}

/// Checks a ClusterLink; `Err` holds every problem found.
pub fn validate_cluster_link(link: &ClusterLink) -> Result<(), ValidationErrors> {
    let mut e = Errors::default();
    e.metadata(
        link.metadata.name.as_deref(),
        link.metadata.namespace.as_deref(),
    );
    let spec = &link.spec;
    match &spec.name {
        Some(name) => link_name(&mut e, "spec.name", name),
        None => {
            if let Some(name) = &link.metadata.name {
                link_name(&mut e, "metadata.name", name);
            }
        }
    }
    let topo = topology(spec);
    for side in [ClusterSide::Source, ClusterSide::Destination] {
        cluster(&mut e, side.path(), side.of(spec));
    }
    modes(&mut e, spec);
    mirror_topics(&mut e, spec);
    filters(&mut e, spec);
    if let Some(configs) = &spec.configs {
        for (key, value) in configs {
            if key.trim().is_empty() {
                e.required("spec.configs", "config names must not be empty");
            }
            let derived = match key.as_str() {
                "link.mode" => Some((
                    topo.link_mode.as_config(),
                    "spec.sourceInitiatedLink.linkMode",
                )),
                "connection.mode" => Some((
                    topo.connection_mode.as_config(),
                    "spec.sourceInitiatedLink.connectionMode",
                )),
                _ => None,
            };
            if let Some((expected, other)) = derived {
                if !value.eq_ignore_ascii_case(expected) {
                    e.conflict(
                        format!("spec.configs[{key}]"),
                        other,
                        "the link and connection modes come from sourceInitiatedLink",
                    );
                }
            }
        }
    }
    e.finish()
}

fn link_name(e: &mut Errors, path: &str, name: &str) {
    if let Some(why) = topic_name_problem(name) {
        e.format(path, name, why);
    }
    if name.len() > 255 {
        e.push(
            path,
            Rule::TooLong {
                len: name.len(),
                max: 255,
            },
        );
    }
}

fn cluster(e: &mut Errors, path: &str, c: &KafkaClusterSpec) {
    if let Some(bootstrap) = &c.bootstrap_endpoint {
        let ok = !bootstrap.is_empty()
            && bootstrap.split(',').all(|entry| {
                let entry = entry.trim();
                match entry.rsplit_once(':') {
                    Some((host, port)) => {
                        !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
                    }
                    None => false,
                }
            });
        if !ok {
            e.format(
                format!("{path}.bootstrapEndpoint"),
                bootstrap,
                "host:port, or a comma-separated list of them, with ports 1 to 65535",
            );
        }
    }
    if let Some(id) = &c.cluster_id {
        e.non_empty(format!("{path}.clusterID"), id);
    }
    if let Some(r) = &c.kafka_rest_class_ref {
        e.object_ref(
            &format!("{path}.kafkaRestClassRef"),
            &r.name,
            r.namespace.as_deref(),
        );
    }
    match (&c.name, &c.namespace) {
        (Some(name), ns) => e.object_ref(path, name, ns.as_deref()),
        (None, Some(_)) => e.required(
            format!("{path}.name"),
            "namespace names the Kafka cluster's namespace; name the cluster too",
        ),
        (None, None) => {}
    }
    if let Some(auth) = &c.authentication {
        authentication(e, path, auth, c.tls.as_ref());
    }
    if let Some(tls) = &c.tls {
        client_tls(e, &format!("{path}.tls"), tls);
    }
}

fn authentication(e: &mut Errors, path: &str, a: &ClientAuthentication, tls: Option<&ClientTls>) {
    let ap = format!("{path}.authentication");
    if let Some(j) = &a.jaas_config {
        e.secret_ref(format!("{ap}.jaasConfig.secretRef"), &j.secret_ref, 30);
    }
    if let Some(p) = &a.jaas_config_pass_through {
        e.secret_or_directory(
            &format!("{ap}.jaasConfigPassThrough"),
            p,
            "jaasConfigPassThrough needs a secret or a directory holding the JAAS configuration",
        );
    }
    if let Some(o) = &a.oauthbearer {
        e.secret_or_directory(
            &format!("{ap}.oauthbearer"),
            o,
            "oauthbearer needs a secret or a directory holding the credentials",
        );
    }
    let jaas_sources = [
        a.jaas_config.is_some(),
        a.jaas_config_pass_through.is_some(),
    ];
    match a.type_ {
        AuthenticationType::Plain | AuthenticationType::Digest => {
            if jaas_sources == [false, false] {
                e.required(
                    format!("{ap}.jaasConfig"),
                    "SASL authentication needs credentials: jaasConfig or jaasConfigPassThrough",
                );
            }
        }
        AuthenticationType::Oauthbearer => {
            if a.oauthbearer.is_none() {
                e.required(
                    format!("{ap}.oauthbearer"),
                    "type oauthbearer needs the oauthbearer credentials",
                );
            }
        }
        AuthenticationType::Oauth => match &a.oauth_settings {
            None => e.required(
                format!("{ap}.oauthSettings"),
                "type oauth needs oauthSettings",
            ),
            Some(o) => {
                if o.token_endpoint_uri.is_none() {
                    e.required(
                        format!("{ap}.oauthSettings.tokenEndpointUri"),
                        "type oauth gets its tokens from the token endpoint",
                    );
                }
                if jaas_sources == [false, false] && o.client_assertion.is_none() {
                    e.required(
                        format!("{ap}.jaasConfig"),
                        "type oauth needs client credentials: jaasConfig, jaasConfigPassThrough or oauthSettings.clientAssertion",
                    );
                }
                if let Some(pk) = o
                    .client_assertion
                    .as_ref()
                    .and_then(|c| c.local_client_assertion.as_ref())
                    .and_then(|l| l.private_key_file.as_ref())
                {
                    if let Some(name) = &pk.secret_ref {
                        e.secret_ref(
                            format!("{ap}.oauthSettings.clientAssertion.localClientAssertion.privateKeyFile.secretRef"),
                            name,
                            30,
                        );
                    }
                }
            }
        },
        AuthenticationType::Mtls => {
            let tls_path = format!("{path}.tls");
            match tls {
                None => e.required(
                    tls_path,
                    "type mtls authenticates with the TLS client certificate",
                ),
                Some(t) if !t.enabled => e.conflict(
                    format!("{tls_path}.enabled"),
                    format!("{ap}.type"),
                    "type mtls needs TLS enabled",
                ),
                Some(t) if t.secret_ref.is_none() && t.directory_path_in_container.is_none() => e
                    .required(
                        format!("{tls_path}.secretRef"),
                        "type mtls needs a client certificate and key",
                    ),
                Some(_) => {}
            }
        }
        AuthenticationType::None => {}
    }
    if jaas_sources == [true, true] {
        e.conflict(
            format!("{ap}.jaasConfig"),
            format!("{ap}.jaasConfigPassThrough"),
            "give the JAAS credentials one way",
        );
    }
}

fn client_tls(e: &mut Errors, path: &str, t: &ClientTls) {
    if let Some(name) = &t.secret_ref {
        e.secret_ref(format!("{path}.secretRef"), name, 63);
    }
    if t.secret_ref.is_some() && t.directory_path_in_container.is_some() {
        e.conflict(
            format!("{path}.secretRef"),
            format!("{path}.directoryPathInContainer"),
            "give the certificates either as a secret or as a directory",
        );
    }
    if let Some(k) = &t.key_password {
        e.secret_ref(format!("{path}.keyPassword.secretRef"), &k.secret_ref, 30);
        if t.secret_ref.is_none() && t.directory_path_in_container.is_none() {
            e.required(
                format!("{path}.secretRef"),
                "keyPassword is the password of a private key given here",
            );
        }
    }
}

fn has_rest(c: &KafkaClusterSpec) -> bool {
    c.kafka_rest_class_ref.is_some() || c.name.is_some()
}

fn modes(e: &mut Errors, spec: &ClusterLinkSpec) {
    let topo = topology(spec);
    let src = &spec.source_kafka_cluster;
    let (local, remote) = (topo.local.of(spec), topo.remote.of(spec));
    if let Some(s) = &spec.source_initiated_link {
        let implied = match s.link_mode {
            LinkMode::Source => Some(BrokerConnectionMode::Outbound),
            LinkMode::Destination => Some(BrokerConnectionMode::Inbound),
            _ => None,
        };
        if let (Some(implied), Some(given)) = (implied, s.connection_mode) {
            let given = match given {
                crate::cluster_link::ConnectionMode::Outbound => BrokerConnectionMode::Outbound,
                crate::cluster_link::ConnectionMode::Inbound => BrokerConnectionMode::Inbound,
            };
            if given != implied {
                e.conflict(
                    "spec.sourceInitiatedLink.connectionMode",
                    "spec.sourceInitiatedLink.linkMode",
                    "a Source link connects out (Outbound), a Destination link waits (Inbound)",
                );
            }
        }
    }
    // The local cluster's REST API creates the link.
    if !has_rest(local) {
        e.required(
            format!("{}.kafkaRestClassRef", topo.local.path()),
            "the link is created through this cluster's REST API (or name its Kafka cluster with name)",
        );
    }
    let inbound_bidirectional = topo.link_mode == BrokerLinkMode::Bidirectional
        && topo.connection_mode == BrokerConnectionMode::Inbound;
    if inbound_bidirectional && src.cluster_id.is_none() {
        e.required(
            "spec.sourceKafkaCluster.clusterID",
            "an Inbound link must be told the id of the cluster that will connect to it",
        );
    }
    if topo.is_outbound() && remote.bootstrap_endpoint.is_none() && remote.name.is_none() {
        e.required(
            format!("{}.bootstrapEndpoint", topo.remote.path()),
            "this side opens the connection to that cluster",
        );
    }
    if topo.link_mode == BrokerLinkMode::Bidirectional {
        if !has_rest(src) {
            e.required(
                "spec.sourceKafkaCluster.kafkaRestClassRef",
                "a bidirectional link manages its remote half through the remote's REST API",
            );
        }
    } else if !has_rest(remote) && remote.cluster_id.is_none() {
        e.required(
            format!("{}.kafkaRestClassRef", topo.remote.path()),
            "the remote cluster's id comes from its REST API unless clusterID is set",
        );
    }
    if topo.link_mode == BrokerLinkMode::Source && spec.mirror_topics.is_some() {
        e.not_allowed(
            "spec.mirrorTopics",
            "mirror topics of a source-initiated link are declared on the destination's resource (linkMode: Destination)",
        );
    }
}

fn mirror_topics(e: &mut Errors, spec: &ClusterLinkSpec) {
    let bidirectional = spec.link_mode() == Some(LinkMode::Bidirectional);
    let prefix = spec.prefix();
    if let Some(p) = prefix {
        let path = "spec.mirrorTopicOptions.prefix";
        if let Some(why) = topic_name_problem(p) {
            e.format(path, p, why);
        }
    }
    if let Some(filters) = spec
        .mirror_topic_options
        .as_ref()
        .and_then(|o| o.auto_create_topics.as_ref())
        .and_then(|a| a.topic_filters.as_ref())
    {
        for (i, f) in filters.iter().enumerate() {
            e.non_empty(
                format!("spec.mirrorTopicOptions.autoCreateTopics.topicFilters[{i}].name"),
                &f.name,
            );
        }
    }
    let mut seen: BTreeMap<(bool, &str), String> = BTreeMap::new();
    for (i, t) in spec.mirror_topics().iter().enumerate() {
        let path = format!("spec.mirrorTopics[{i}]");
        e.topic_name(format!("{path}.name"), &t.name);
        if let Some(s) = &t.source_topic_name {
            e.topic_name(format!("{path}.sourceTopicName"), s);
        }
        let reverse = t.effective_direction() == MirrorDirection::ToSource;
        if let Some(first) = seen.get(&(reverse, t.name.as_str())) {
            e.push(
                format!("{path}.name"),
                Rule::Duplicate {
                    name: t.name.clone(),
                    first: first.clone(),
                },
            );
        } else {
            seen.insert((reverse, t.name.as_str()), format!("{path}.name"));
        }
        if reverse && !bidirectional {
            e.not_allowed(
                format!("{path}.direction"),
                "toSource mirrors exist only on bidirectional links (sourceInitiatedLink.linkMode: Bidirectional)",
            );
        }
        match (prefix, &t.source_topic_name) {
            (Some(p), Some(s)) => {
                let expected = format!("{p}{s}");
                if t.name != expected {
                    e.push(format!("{path}.name"), Rule::Prefix { expected });
                }
            }
            (Some(p), None) => {
                if !t.name.starts_with(p) || t.name.len() == p.len() {
                    e.push(
                        format!("{path}.name"),
                        Rule::Prefix {
                            expected: format!("{p}<sourceTopicName>"),
                        },
                    );
                }
            }
            (None, Some(_)) => e.not_allowed(
                format!("{path}.sourceTopicName"),
                "without mirrorTopicOptions.prefix the source topic has the mirror topic's name",
            ),
            (None, None) => {}
        }
        if let Some(rf) = t.replication_factor {
            if rf < 1 && rf != -1 {
                e.push(
                    format!("{path}.replicationFactor"),
                    Rule::Range {
                        value: rf.into(),
                        why: "at least 1 (or -1 for the broker's default)",
                    },
                );
            }
        }
        for key in t.configs.iter().flat_map(|c| c.keys()) {
            if key.trim().is_empty() {
                e.required(format!("{path}.configs"), "config names must not be empty");
            }
        }
    }
}

const ACL_OPERATIONS: [&str; 14] = [
    "any",
    "all",
    "read",
    "write",
    "create",
    "delete",
    "alter",
    "describe",
    "clusteraction",
    "describeconfigs",
    "alterconfigs",
    "idempotentwrite",
    "createtokens",
    "describetokens",
];

fn filters(e: &mut Errors, spec: &ClusterLinkSpec) {
    for (i, f) in spec.consumer_group_filters.iter().flatten().enumerate() {
        e.non_empty(format!("spec.consumerGroupFilters[{i}].name"), &f.name);
    }
    for (i, f) in spec.acl_filters.iter().flatten().enumerate() {
        let path = format!("spec.aclFilters[{i}].accessFilter");
        let op = f
            .access_filter
            .operation
            .replace('_', "")
            .to_ascii_lowercase();
        if !ACL_OPERATIONS.contains(&op.as_str()) {
            e.format(
                format!("{path}.operation"),
                &f.access_filter.operation,
                "an ACL operation: any, all, read, write, create, delete, alter, describe, clusterAction, describeConfigs, alterConfigs, idempotentWrite, createTokens or describeTokens",
            );
        }
        if let Some(p) = &f.access_filter.principal {
            if p != "*" && !p.contains(':') {
                e.format(
                    format!("{path}.principal"),
                    p,
                    "a principal such as User:alice, or *",
                );
            }
        }
    }
}

/// Checks a KafkaRestClass; `Err` holds every problem found.
pub fn validate_kafka_rest_class(rc: &KafkaRestClass) -> Result<(), ValidationErrors> {
    let mut e = Errors::default();
    e.metadata(
        rc.metadata.name.as_deref(),
        rc.metadata.namespace.as_deref(),
    );
    let s = &rc.spec;
    if s.kafka_cluster_ref.is_none()
        && s.kafka_rest
            .as_ref()
            .and_then(|r| r.endpoint.as_ref())
            .is_none()
    {
        e.required(
            "spec.kafkaRest.endpoint",
            "the REST API is found through kafkaClusterRef or given as kafkaRest.endpoint",
        );
    }
    if let Some(r) = &s.kafka_cluster_ref {
        e.object_ref("spec.kafkaClusterRef", &r.name, r.namespace.as_deref());
    }
    if let Some(r) = &s.secondary_kafka_cluster_ref {
        e.object_ref(
            "spec.secondaryKafkaClusterRef",
            &r.name,
            r.namespace.as_deref(),
        );
    }
    if let Some(api) = &s.kafka_rest {
        rest_api(&mut e, "spec.kafkaRest", api);
    }
    if let Some(api) = &s.secondary_kafka_rest {
        rest_api(&mut e, "spec.secondaryKafkaRest", api);
    }
    e.finish()
}

/// Checks a KafkaTopic; `Err` holds every problem found.
pub fn validate_kafka_topic(t: &KafkaTopic) -> Result<(), ValidationErrors> {
    let mut e = Errors::default();
    e.metadata(t.metadata.name.as_deref(), t.metadata.namespace.as_deref());
    let s = &t.spec;
    match &s.name {
        Some(n) => e.topic_name("spec.name".into(), n),
        None => {
            if let Some(n) = &t.metadata.name {
                e.topic_name("metadata.name".into(), n);
            }
        }
    }
    if s.kafka_rest_class_ref.is_none() && s.kafka_cluster_ref.is_none() && s.kafka_rest.is_none() {
        e.required(
            "spec.kafkaRestClassRef",
            "the topic is managed through a KafkaRestClass, a kafkaClusterRef or kafkaRest",
        );
    }
    for (path, v) in [
        ("spec.partitionCount", s.partition_count),
        ("spec.replicas", s.replicas),
    ] {
        if let Some(v) = v {
            if v < 1 && v != -1 {
                e.push(
                    path,
                    Rule::Range {
                        value: v.into(),
                        why: "at least 1 (or -1 for the default)",
                    },
                );
            }
        }
    }
    if let Some(r) = &s.kafka_rest_class_ref {
        e.object_ref("spec.kafkaRestClassRef", &r.name, r.namespace.as_deref());
    }
    if let Some(api) = &s.kafka_rest {
        rest_api(&mut e, "spec.kafkaRest", api);
    }
    e.finish()
}

fn rest_api(e: &mut Errors, path: &str, api: &KafkaRestApi) {
    use crate::common::RestAuthType;
    if let Some(url) = &api.endpoint {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        if rest.is_none_or(str::is_empty) {
            e.format(
                format!("{path}.endpoint"),
                url,
                "an http:// or https:// URL",
            );
        }
    }
    if let Some(a) = &api.authentication {
        let ap = format!("{path}.authentication");
        match a.type_ {
            RestAuthType::Basic => match &a.basic {
                None => e.required(
                    format!("{ap}.basic"),
                    "type basic needs the basic credentials",
                ),
                Some(b) => e.secret_or_directory(
                    &format!("{ap}.basic"),
                    &SecretOrDirectory {
                        secret_ref: b.secret_ref.clone(),
                        directory_path_in_container: b.directory_path_in_container.clone(),
                    },
                    "basic needs a secret or a directory holding basic.txt",
                ),
            },
            RestAuthType::Bearer => match &a.bearer {
                None => e.required(
                    format!("{ap}.bearer"),
                    "type bearer needs the bearer credentials",
                ),
                Some(b) => e.secret_or_directory(
                    &format!("{ap}.bearer"),
                    b,
                    "bearer needs a secret or a directory",
                ),
            },
            RestAuthType::Oauth => {
                if a.oauth.is_none() {
                    e.required(format!("{ap}.oauth"), "type oauth needs the oauth settings");
                }
            }
            RestAuthType::Mtls => {
                let tls = api.tls.as_ref();
                if tls.is_none_or(|t| {
                    t.secret_ref.is_none() && t.directory_path_in_container.is_none()
                }) {
                    e.required(
                        format!("{path}.tls.secretRef"),
                        "type mtls needs a client certificate",
                    );
                }
            }
        }
    }
    if let Some(t) = &api.tls {
        if let Some(name) = &t.secret_ref {
            e.secret_ref(format!("{path}.tls.secretRef"), name, 63);
        }
    }
}
