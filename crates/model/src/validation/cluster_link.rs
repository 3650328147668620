//! The rules of a ClusterLink: its clusters and their authentication, the link and connection
//! modes (which cluster needs a REST API, an id, a bootstrap endpoint), its mirror topics (the
//! prefix rule, directions, duplicates) and its filters.

use std::collections::BTreeMap;

use clusterlink_rest_v3::link_config;

use crate::cluster_link::{
    AuthenticationType, ClientAuthentication, ClientTls, ClusterLink, ClusterLinkSpec,
    KafkaClusterSpec, LinkMode, MirrorDirection,
};
use crate::names::topic_name_problem;
use crate::placeholders::is_placeholder;
use crate::topology::{topology, BrokerConnectionMode, BrokerLinkMode, ClusterSide};
use crate::validated::ValidatedClusterLink;

use super::errors::{Rule, ValidationErrors};
use super::rules::Errors;

/// Checks a ClusterLink: the validated model, or every problem found.
pub fn validate_cluster_link(link: &ClusterLink) -> Result<ValidatedClusterLink, ValidationErrors> {
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
                link_config::LINK_MODE => Some((
                    topo.link_mode.as_config(),
                    "spec.sourceInitiatedLink.linkMode",
                )),
                link_config::CONNECTION_MODE => Some((
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
    e.finish(|| ValidatedClusterLink::from_unchecked(link))
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
    // A placeholder (`<source-cluster-id>`) is not an id: the id then comes from the cluster's
    // REST API, as when none is given.
    let id_given =
        |c: &KafkaClusterSpec| c.cluster_id.as_deref().is_some_and(|v| !is_placeholder(v));
    if inbound_bidirectional && !id_given(src) && !has_rest(src) {
        e.required(
            "spec.sourceKafkaCluster.clusterID",
            "an Inbound link must be told the id of the cluster that will connect to it (or how to reach its REST API, with kafkaRestClassRef or name)",
        );
    }
    // Without a bootstrapEndpoint, the endpoint is resolved from the cluster's Kafka resource
    // (name) or its REST API (kafkaRestClassRef, or the KafkaRestClass of name).
    if topo.is_outbound() && remote.bootstrap_endpoint.is_none() && !has_rest(remote) {
        e.required(
            format!("{}.bootstrapEndpoint", topo.remote.path()),
            "this side opens the connection to that cluster (or name the cluster, with name or kafkaRestClassRef, to have its endpoint resolved)",
        );
    }
    if topo.link_mode == BrokerLinkMode::Bidirectional {
        if !has_rest(src) {
            e.required(
                "spec.sourceKafkaCluster.kafkaRestClassRef",
                "a bidirectional link manages its remote half through the remote's REST API",
            );
        }
    } else if !has_rest(remote) && !id_given(remote) {
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
