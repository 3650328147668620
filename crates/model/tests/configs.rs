//! `link_configs`: the REST link configs a ClusterLink means.

use clusterlink_model::configs::ConfigError;
use clusterlink_model::{
    link_configs, parse_documents, parse_resource, ClusterLinkSpec, LinkConfigs, ResolvedSecrets,
    Resource, SecretSource, SecretValue,
};

fn spec(spec_yaml: &str) -> ClusterLinkSpec {
    let yaml = format!(
        "apiVersion: platform.confluent.io/v1beta1\nkind: ClusterLink\nmetadata: {{name: l}}\nspec:\n{spec_yaml}"
    );
    let doc = parse_documents(&yaml).unwrap().remove(0);
    let parsed = parse_resource(doc).unwrap();
    assert!(parsed.dropped_fields.is_empty());
    let Resource::ClusterLink(l) = parsed.resource else {
        panic!()
    };
    l.spec
}

fn secrets(entries: &[(&str, &str, &str)]) -> ResolvedSecrets {
    let mut out = ResolvedSecrets::new();
    for (secret, key, value) in entries {
        out.entry(SecretSource::Secret(secret.to_string()))
            .or_default()
            .insert(key.to_string(), SecretValue::new(*value));
    }
    out
}

fn get<'a>(c: &'a LinkConfigs, k: &str) -> Option<&'a str> {
    c.get(k).map(|v| v.expose())
}

const PASSWORD: &str = "s3cr3t-Pa55";

#[test]
fn destination_initiated_with_sasl_plain_and_tls() {
    let s = spec(
        "  destinationKafkaCluster: {kafkaRestClassRef: {name: d}}\n  sourceKafkaCluster:\n    bootstrapEndpoint: src:9092\n    clusterID: abc\n    authentication: {type: plain, jaasConfig: {secretRef: cred}}\n    tls: {enabled: true, secretRef: tls}\n  mirrorTopicOptions: {prefix: dc1-}\n  configs: {consumer.offset.sync.ms: \"1000\", link.mode: DESTINATION}\n",
    );
    let sec = secrets(&[
        (
            "cred",
            "plain.txt",
            &format!("username=link\npassword={PASSWORD}\n"),
        ),
        ("tls", "cacerts.pem", "CA"),
        ("tls", "fullchain.pem", "CHAIN"),
        ("tls", "privkey.pem", "KEY"),
    ]);
    let c = link_configs(&s, &sec).unwrap();
    let keys: Vec<_> = c.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "bootstrap.servers",
            "cluster.link.prefix",
            "connection.mode",
            "consumer.offset.sync.ms",
            "link.mode",
            "sasl.jaas.config",
            "sasl.mechanism",
            "security.protocol",
            "ssl.keystore.certificate.chain",
            "ssl.keystore.key",
            "ssl.keystore.type",
            "ssl.truststore.certificates",
            "ssl.truststore.type",
        ]
    );
    assert_eq!(get(&c, "bootstrap.servers"), Some("src:9092"));
    assert_eq!(get(&c, "link.mode"), Some("DESTINATION"));
    assert_eq!(get(&c, "connection.mode"), Some("OUTBOUND"));
    assert_eq!(get(&c, "security.protocol"), Some("SASL_SSL"));
    assert_eq!(get(&c, "sasl.mechanism"), Some("PLAIN"));
    assert_eq!(
        get(&c, "sasl.jaas.config"),
        Some(&*format!(
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"link\" password=\"{PASSWORD}\";"
        ))
    );
    assert!(c["sasl.jaas.config"].is_sensitive() && c["ssl.keystore.key"].is_sensitive());
    assert_eq!(get(&c, "ssl.truststore.certificates"), Some("CA"));
    assert_eq!(get(&c, "cluster.link.prefix"), Some("dc1-"));
    assert_eq!(get(&c, "consumer.offset.sync.ms"), Some("1000"));
    // Secrets never show in Debug output.
    let debug = format!("{c:?} {sec:?}");
    assert!(
        !debug.contains(PASSWORD) && !debug.contains("KEY\""),
        "{debug}"
    );
    assert!(debug.contains("<redacted>"));
}

#[test]
fn source_link_gets_local_credentials_and_inbound_gets_no_connection_configs() {
    let s = spec(
        "  sourceInitiatedLink: {linkMode: Source}\n  destinationKafkaCluster:\n    bootstrapEndpoint: dest:9092\n    clusterID: d\n    authentication: {type: plain, jaasConfigPassThrough: {secretRef: remote}}\n  sourceKafkaCluster:\n    kafkaRestClassRef: {name: s}\n    authentication: {type: digest, jaasConfig: {secretRef: local}}\n",
    );
    let sec = secrets(&[
        ("remote", "plain-jaas.conf", "sasl.jaas.config=X required;"),
        ("local", "plain.txt", "username=u\npassword=p"),
    ]);
    let c = link_configs(&s, &sec).unwrap();
    assert_eq!(get(&c, "link.mode"), Some("SOURCE"));
    assert_eq!(get(&c, "bootstrap.servers"), Some("dest:9092"));
    assert_eq!(get(&c, "sasl.jaas.config"), Some("X required;"));
    assert_eq!(get(&c, "security.protocol"), Some("SASL_PLAINTEXT"));
    assert_eq!(get(&c, "local.sasl.mechanism"), Some("SCRAM-SHA-512"));
    assert_eq!(
        get(&c, "local.sasl.jaas.config"),
        Some("org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"p\";")
    );

    let inbound = spec(
        "  sourceInitiatedLink: {linkMode: Bidirectional, connectionMode: Inbound}\n  destinationKafkaCluster: {kafkaRestClassRef: {name: d}}\n  sourceKafkaCluster:\n    clusterID: abc\n    kafkaRestClassRef: {name: s}\n    bootstrapEndpoint: placeholder:9092\n    authentication: {type: plain, jaasConfig: {secretRef: ignored}}\n",
    );
    let c = link_configs(&inbound, &ResolvedSecrets::new()).unwrap();
    let keys: Vec<_> = c.keys().map(String::as_str).collect();
    assert_eq!(keys, ["connection.mode", "link.mode"]);
    assert_eq!(get(&c, "connection.mode"), Some("INBOUND"));
    assert_eq!(get(&c, "link.mode"), Some("BIDIRECTIONAL"));
}

#[test]
fn filters_use_the_broker_json_formats() {
    let s = spec(
        "  destinationKafkaCluster: {kafkaRestClassRef: {name: d}}\n  sourceKafkaCluster: {bootstrapEndpoint: \"s:1\", clusterID: c}\n  mirrorTopicOptions:\n    autoCreateTopics:\n      enabled: true\n      topicFilters: [{name: \"*\", patternType: LITERAL, filterType: INCLUDE}]\n  consumerGroupFilters: [{name: app-, patternType: PREFIXED, filterType: EXCLUDE}]\n  aclFilters:\n    - resourceFilter: {resourceType: transcationId, patternType: prefixed}\n      accessFilter: {operation: describeConfigs, permissionType: allow, principal: \"User:Bob\"}\n",
    );
    let c = link_configs(&s, &ResolvedSecrets::new()).unwrap();
    assert_eq!(get(&c, "security.protocol"), Some("PLAINTEXT"));
    assert_eq!(get(&c, "auto.create.mirror.topics.enable"), Some("true"));
    assert_eq!(
        get(&c, "auto.create.mirror.topics.filters"),
        Some(r#"{"topicFilters":[{"filterType":"INCLUDE","name":"*","patternType":"LITERAL"}]}"#)
    );
    assert_eq!(get(&c, "consumer.offset.sync.enable"), Some("true"));
    assert_eq!(
        get(&c, "consumer.offset.group.filters"),
        Some(
            r#"{"groupFilters":[{"filterType":"EXCLUDE","name":"app-","patternType":"PREFIXED"}]}"#
        )
    );
    assert_eq!(get(&c, "acl.sync.enable"), Some("true"));
    let acl: serde_json::Value = serde_json::from_str(get(&c, "acl.filters").unwrap()).unwrap();
    assert_eq!(
        acl,
        serde_json::json!({"aclFilters": [{
            "resourceFilter": {"resourceType": "transactionalId", "name": "*", "patternType": "prefixed"},
            "accessFilter": {"principal": "User:Bob", "host": "*", "operation": "describeConfigs", "permissionType": "allow"}
        }]})
    );
}

#[test]
fn missing_and_malformed_secrets_are_errors_without_the_secret() {
    let s = spec(
        "  destinationKafkaCluster: {kafkaRestClassRef: {name: d}}\n  sourceKafkaCluster:\n    bootstrapEndpoint: src:9092\n    clusterID: abc\n    authentication: {type: plain, jaasConfig: {secretRef: cred}}\n",
    );
    let e = link_configs(&s, &ResolvedSecrets::new()).unwrap_err();
    assert_eq!(e.category(), "missing-secret");
    assert!(matches!(&e, ConfigError::MissingSecret { path, key, .. }
        if path == "spec.sourceKafkaCluster.authentication" && key == "plain.txt"));
    let e = link_configs(&s, &secrets(&[("cred", "plain.txt", "password=hunter2")])).unwrap_err();
    assert_eq!(e.category(), "malformed-secret");
    assert!(!e.to_string().contains("hunter2"), "{e}");
}
