//! `validate_cluster_link` and friends: every rule, all problems at once, each with its path.

use clusterlink_model::{
    parse_documents, parse_resource, validate_cluster_link, validate_kafka_rest_class,
    validate_kafka_topic, ClusterLink, Resource, ValidationErrors,
};

fn link(yaml: &str) -> ClusterLink {
    let doc = parse_documents(yaml).unwrap().remove(0);
    let parsed = parse_resource(doc).unwrap();
    assert!(
        parsed.dropped_fields.is_empty(),
        "{:?}",
        parsed.dropped_fields
    );
    match parsed.resource {
        Resource::ClusterLink(l) => *l,
        other => panic!("{other:?}"),
    }
}

/// A ClusterLink with `spec` from `spec_yaml` (indented by two spaces).
fn with_spec(spec_yaml: &str) -> ClusterLink {
    link(&format!(
        "apiVersion: platform.confluent.io/v1beta1\nkind: ClusterLink\nmetadata:\n  name: l\n  namespace: ns\nspec:\n{spec_yaml}"
    ))
}

/// `(path, category)` of every error, sorted.
fn problems(l: &ClusterLink) -> Vec<(String, &'static str)> {
    match validate_cluster_link(l) {
        Ok(_) => vec![],
        Err(ValidationErrors(errors)) => {
            let mut v: Vec<_> = errors
                .iter()
                .map(|e| (e.path.clone(), e.category()))
                .collect();
            v.sort();
            v
        }
    }
}

fn p(path: &str, category: &'static str) -> (String, &'static str) {
    (path.to_string(), category)
}

const DEST_REST: &str =
    "  destinationKafkaCluster:\n    kafkaRestClassRef:\n      name: dest-rest\n";

#[test]
fn a_plain_destination_initiated_link_is_valid() {
    let l = with_spec(&format!(
        "{DEST_REST}  sourceKafkaCluster:\n    bootstrapEndpoint: src:9092\n    clusterID: abc\n  mirrorTopics:\n    - name: t\n"
    ));
    assert_eq!(problems(&l), []);
}

#[test]
fn all_problems_are_reported_at_once_with_paths() {
    let l = link(
        r#"
apiVersion: platform.confluent.io/v1beta1
kind: ClusterLink
metadata:
  name: Bad_Name
spec:
  name: "bad/name"
  destinationKafkaCluster:
    namespace: x
  sourceKafkaCluster:
    bootstrapEndpoint: "src:99999"
    authentication:
      type: plain
    tls:
      enabled: true
      secretRef: Not_A_Secret
      directoryPathInContainer: /certs
  mirrorTopics:
    - name: a
    - name: a
    - name: b
      sourceTopicName: c
    - name: "a/b"
      direction: toSource
      replicationFactor: 0
  consumerGroupFilters:
    - {name: "", patternType: LITERAL, filterType: INCLUDE}
  aclFilters:
    - resourceFilter: {resourceType: topic, patternType: literal}
      accessFilter: {operation: fly, permissionType: allow, principal: bob}
  configs:
    link.mode: SOURCE
"#,
    );
    assert_eq!(
        problems(&l),
        [
            p("metadata.name", "format"),
            p("spec.aclFilters[0].accessFilter.operation", "format"),
            p("spec.aclFilters[0].accessFilter.principal", "format"),
            p("spec.configs[link.mode]", "conflict"),
            p("spec.consumerGroupFilters[0].name", "required"),
            p("spec.destinationKafkaCluster.kafkaRestClassRef", "required"),
            p("spec.destinationKafkaCluster.name", "required"),
            p("spec.mirrorTopics[1].name", "duplicate"),
            p("spec.mirrorTopics[2].sourceTopicName", "not-allowed"),
            p("spec.mirrorTopics[3].direction", "not-allowed"),
            p("spec.mirrorTopics[3].name", "format"),
            p("spec.mirrorTopics[3].replicationFactor", "range"),
            p("spec.name", "format"),
            p(
                "spec.sourceKafkaCluster.authentication.jaasConfig",
                "required"
            ),
            p("spec.sourceKafkaCluster.bootstrapEndpoint", "format"),
            p("spec.sourceKafkaCluster.kafkaRestClassRef", "required"),
            p("spec.sourceKafkaCluster.tls.secretRef", "conflict"),
            p("spec.sourceKafkaCluster.tls.secretRef", "format"),
        ]
    );
    let text = validate_cluster_link(&l).unwrap_err().to_string();
    assert!(text.starts_with("18 problems"), "{text}");
    assert!(
        text.contains(
            "spec.mirrorTopics[1].name: \"a\" is already used by spec.mirrorTopics[0].name"
        ),
        "{text}"
    );
}

#[test]
fn prefix_rule() {
    let base = format!(
        "{DEST_REST}  sourceKafkaCluster:\n    bootstrapEndpoint: src:9092\n    clusterID: abc\n  mirrorTopicOptions:\n    prefix: dc1-\n  mirrorTopics:\n"
    );
    let ok = with_spec(&format!(
        "{base}    - name: dc1-orders\n      sourceTopicName: orders\n    - name: dc1-payments\n"
    ));
    assert_eq!(problems(&ok), []);
    let bad = with_spec(&format!(
        "{base}    - name: orders\n      sourceTopicName: orders\n    - name: payments\n    - name: dc1-\n"
    ));
    assert_eq!(
        problems(&bad),
        [
            p("spec.mirrorTopics[0].name", "prefix"),
            p("spec.mirrorTopics[1].name", "prefix"),
            p("spec.mirrorTopics[2].name", "prefix"),
        ]
    );
    let msg = validate_cluster_link(&bad).unwrap_err().0[0].to_string();
    assert!(msg.contains("must be \"dc1-orders\""), "{msg}");
}

#[test]
fn duplicate_names_are_per_direction() {
    let l = with_spec(
        "  sourceInitiatedLink:\n    linkMode: Bidirectional\n  destinationKafkaCluster:\n    kafkaRestClassRef: {name: local}\n  sourceKafkaCluster:\n    bootstrapEndpoint: remote:9092\n    kafkaRestClassRef: {name: remote}\n  mirrorTopics:\n    - {name: t}\n    - {name: t, direction: toSource}\n    - {name: t, direction: toDestination}\n",
    );
    assert_eq!(problems(&l), [p("spec.mirrorTopics[2].name", "duplicate")]);
}

#[test]
fn inbound_needs_the_source_cluster_id_and_outbound_the_bootstrap() {
    // The id of the cluster that connects in: given, or read from its REST API; a placeholder
    // (`<source-cluster-id>`, as the CFK page writes it) is not an id.
    let inbound = with_spec(
        "  sourceInitiatedLink: {linkMode: Bidirectional, connectionMode: Inbound}\n  destinationKafkaCluster:\n    kafkaRestClassRef: {name: local}\n  sourceKafkaCluster:\n    clusterID: <source-cluster-id>\n",
    );
    let required = p("spec.sourceKafkaCluster.clusterID", "required");
    assert!(
        problems(&inbound).contains(&required),
        "{:?}",
        problems(&inbound)
    );
    let inbound_with_rest = with_spec(
        "  sourceInitiatedLink: {linkMode: Bidirectional, connectionMode: Inbound}\n  destinationKafkaCluster:\n    kafkaRestClassRef: {name: local}\n  sourceKafkaCluster:\n    clusterID: <source-cluster-id>\n    kafkaRestClassRef: {name: remote}\n",
    );
    assert_eq!(problems(&inbound_with_rest), []);
    // An Outbound side whose remote has a REST API has its bootstrap resolved from it.
    let outbound = with_spec(
        "  sourceInitiatedLink: {linkMode: Bidirectional, connectionMode: Outbound}\n  destinationKafkaCluster:\n    kafkaRestClassRef: {name: local}\n  sourceKafkaCluster:\n    clusterID: abc\n    kafkaRestClassRef: {name: remote}\n",
    );
    assert_eq!(problems(&outbound), []);
    // A Source link connects to the destination.
    let source = with_spec(
        "  sourceInitiatedLink: {linkMode: Source}\n  sourceKafkaCluster:\n    kafkaRestClassRef: {name: local}\n  destinationKafkaCluster:\n    clusterID: abc\n",
    );
    assert_eq!(
        problems(&source),
        [p(
            "spec.destinationKafkaCluster.bootstrapEndpoint",
            "required"
        )]
    );
    // A cluster named by `name` (the CFK page's form) stands for its bootstrap and REST API.
    let named = with_spec(
        "  sourceInitiatedLink: {linkMode: Bidirectional}\n  destinationKafkaCluster: {name: kafka-dest, namespace: destination}\n  sourceKafkaCluster: {name: kafka-src, namespace: source}\n",
    );
    assert_eq!(problems(&named), []);
}

#[test]
fn mirror_topics_are_refused_on_a_source_link_and_modes_must_agree() {
    let l = with_spec(
        "  sourceInitiatedLink: {linkMode: Source, connectionMode: Inbound}\n  sourceKafkaCluster:\n    kafkaRestClassRef: {name: local}\n  destinationKafkaCluster:\n    bootstrapEndpoint: dest:9092\n    clusterID: abc\n  mirrorTopics:\n    - name: t\n",
    );
    assert_eq!(
        problems(&l),
        [
            p("spec.mirrorTopics", "not-allowed"),
            p("spec.sourceInitiatedLink.connectionMode", "conflict")
        ]
    );
}

#[test]
fn rest_class_requirements_per_mode() {
    // Destination-initiated: the destination's REST class is required; the source's only
    // without clusterID.
    let l = with_spec(
        "  destinationKafkaCluster: {}\n  sourceKafkaCluster:\n    bootstrapEndpoint: src:9092\n",
    );
    assert_eq!(
        problems(&l),
        [
            p("spec.destinationKafkaCluster.kafkaRestClassRef", "required"),
            p("spec.sourceKafkaCluster.kafkaRestClassRef", "required"),
        ]
    );
    // Source mode: the other way round.
    let l = with_spec(
        "  sourceInitiatedLink: {linkMode: Source}\n  sourceKafkaCluster: {}\n  destinationKafkaCluster:\n    bootstrapEndpoint: dest:9092\n    clusterID: abc\n",
    );
    assert_eq!(
        problems(&l),
        [p("spec.sourceKafkaCluster.kafkaRestClassRef", "required")]
    );
    // Bidirectional: the remote's REST class is required even with a clusterID.
    let l = with_spec(
        "  sourceInitiatedLink: {linkMode: Bidirectional}\n  destinationKafkaCluster:\n    kafkaRestClassRef: {name: local}\n  sourceKafkaCluster:\n    bootstrapEndpoint: remote:9092\n    clusterID: abc\n",
    );
    assert_eq!(
        problems(&l),
        [p("spec.sourceKafkaCluster.kafkaRestClassRef", "required")]
    );
}

#[test]
fn authentication_types_need_their_secrets() {
    let case = |auth: &str, tls: &str| {
        with_spec(&format!(
            "{DEST_REST}  sourceKafkaCluster:\n    bootstrapEndpoint: src:9092\n    clusterID: abc\n    authentication:\n{auth}{tls}"
        ))
    };
    let a = "spec.sourceKafkaCluster.authentication";
    assert_eq!(
        problems(&case("      type: plain\n", "")),
        [p(&format!("{a}.jaasConfig"), "required")]
    );
    assert_eq!(
        problems(&case(
            "      type: plain\n      jaasConfig: {secretRef: a}\n      jaasConfigPassThrough: {secretRef: b}\n",
            ""
        )),
        [p(&format!("{a}.jaasConfig"), "conflict")]
    );
    assert_eq!(
        problems(&case(
            "      type: digest\n      jaasConfigPassThrough: {}\n",
            ""
        )),
        [p(
            &format!("{a}.jaasConfigPassThrough.secretRef"),
            "required"
        )]
    );
    assert_eq!(
        problems(&case("      type: oauthbearer\n", "")),
        [p(&format!("{a}.oauthbearer"), "required")]
    );
    assert_eq!(
        problems(&case("      type: oauth\n", "")),
        [p(&format!("{a}.oauthSettings"), "required")]
    );
    assert_eq!(
        problems(&case(
            "      type: oauth\n      oauthSettings: {scope: s}\n",
            ""
        )),
        [
            p(&format!("{a}.jaasConfig"), "required"),
            p(&format!("{a}.oauthSettings.tokenEndpointUri"), "required")
        ]
    );
    assert_eq!(
        problems(&case("      type: mtls\n", "")),
        [p("spec.sourceKafkaCluster.tls", "required")]
    );
    assert_eq!(
        problems(&case(
            "      type: mtls\n",
            "    tls: {enabled: false, secretRef: t}\n"
        )),
        [p("spec.sourceKafkaCluster.tls.enabled", "conflict")]
    );
    assert_eq!(
        problems(&case("      type: mtls\n", "    tls: {enabled: true}\n")),
        [p("spec.sourceKafkaCluster.tls.secretRef", "required")]
    );
    assert_eq!(
        problems(&case(
            "      type: mtls\n",
            "    tls: {enabled: true, secretRef: t}\n"
        )),
        []
    );
    assert_eq!(problems(&case("      type: none\n", "")), []);
    assert_eq!(
        problems(&case("      type: plain\n      jaasConfig: {secretRef: this-secret-name-is-longer-than-30}\n", "")),
        [p(&format!("{a}.jaasConfig.secretRef"), "length")]
    );
}

#[test]
fn tls_secret_references() {
    let case = |tls: &str| {
        with_spec(&format!(
            "{DEST_REST}  sourceKafkaCluster:\n    bootstrapEndpoint: src:9092\n    clusterID: abc\n    tls:\n{tls}"
        ))
    };
    let t = "spec.sourceKafkaCluster.tls";
    assert_eq!(
        problems(&case("      enabled: true\n      secretRef: ok-name\n")),
        []
    );
    assert_eq!(
        problems(&case("      enabled: true\n      secretRef: -bad\n")),
        [p(&format!("{t}.secretRef"), "format")]
    );
    assert_eq!(
        problems(&case(
            "      enabled: true\n      keyPassword: {secretRef: pw}\n"
        )),
        [p(&format!("{t}.secretRef"), "required")]
    );
    assert_eq!(
        problems(&case(
            "      enabled: true\n      secretRef: s\n      keyPassword: {secretRef: PW}\n"
        )),
        [p(&format!("{t}.keyPassword.secretRef"), "format")]
    );
}

#[test]
fn bootstrap_endpoint_forms() {
    for (bootstrap, ok) in [
        ("a:1", true),
        ("a.example.com:9092,b.example.com:9093", true),
        ("[::1]:9092", true),
        ("a", false),
        ("a:0", false),
        ("a:65536", false),
        ("a:9092,", false),
        (":9092", false),
    ] {
        let l = with_spec(&format!(
            "{DEST_REST}  sourceKafkaCluster:\n    bootstrapEndpoint: \"{bootstrap}\"\n    clusterID: abc\n"
        ));
        assert_eq!(
            problems(&l).is_empty(),
            ok,
            "{bootstrap}: {:?}",
            problems(&l)
        );
    }
}

#[test]
fn rest_classes_and_topics_are_validated_too() {
    let docs = parse_documents(
        r#"
apiVersion: platform.confluent.io/v1beta1
kind: KafkaRestClass
metadata: {name: rc}
spec:
  kafkaRest:
    authentication: {type: basic}
    tls: {secretRef: Bad}
---
apiVersion: platform.confluent.io/v1beta1
kind: KafkaTopic
metadata: {name: t}
spec:
  name: "a b"
  replicas: 0
"#,
    )
    .unwrap();
    let mut resources = docs
        .into_iter()
        .map(|d| parse_resource(d).unwrap().resource);
    let Some(Resource::KafkaRestClass(rc)) = resources.next() else {
        panic!()
    };
    let errs = validate_kafka_rest_class(&rc).unwrap_err();
    let paths: Vec<_> = errs.0.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.kafkaRest.endpoint",
            "spec.kafkaRest.authentication.basic",
            "spec.kafkaRest.tls.secretRef"
        ]
    );
    let Some(Resource::KafkaTopic(t)) = resources.next() else {
        panic!()
    };
    let errs = validate_kafka_topic(&t).unwrap_err();
    let paths: Vec<_> = errs.0.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["spec.name", "spec.kafkaRestClassRef", "spec.replicas"]
    );
}
