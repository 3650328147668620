//! What CFK's `authentication` block becomes (`clusterlink_model::link_configs`) is what the wire
//! client's SASL settings read (`clusterlink_kafka::sasl::from_configs`): same mechanism, same
//! user, same password, whatever characters the secret holds.

use std::collections::BTreeMap;

use clusterlink_kafka::sasl::{self, Mechanism, Sasl};
use clusterlink_model::{
    link_configs, parse_documents, parse_resource, ResolvedSecrets, Resource, SecretSource,
    SecretValue,
};

fn configs_of(auth: &str, password: &str) -> BTreeMap<String, String> {
    let yaml = format!(
        "apiVersion: platform.confluent.io/v1beta1\nkind: ClusterLink\nmetadata: {{name: l}}\nspec:\n  destinationKafkaCluster: {{kafkaRestClassRef: {{name: d}}}}\n  sourceKafkaCluster:\n    bootstrapEndpoint: src:9092\n    clusterID: abc\n    authentication: {{type: {auth}, jaasConfig: {{secretRef: cred}}}}\n"
    );
    let doc = parse_documents(&yaml).unwrap().remove(0);
    let Resource::ClusterLink(link) = parse_resource(doc).unwrap().resource else {
        panic!("not a ClusterLink")
    };
    let mut secrets = ResolvedSecrets::new();
    secrets
        .entry(SecretSource::Secret("cred".into()))
        .or_default()
        .insert(
            "plain.txt".into(),
            SecretValue::new(format!("username=svc-link\npassword={password}\n")),
        );
    link_configs(&link.spec, &secrets)
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.expose().to_owned()))
        .collect()
}

#[test]
fn cfk_authentication_is_what_the_client_authenticates_with() {
    let password = r#"p"a\ss;w=rd 'x'"#;
    let plain = configs_of("plain", password);
    assert_eq!(plain["security.protocol"], "SASL_PLAINTEXT");
    assert_eq!(
        sasl::from_configs(&plain).unwrap(),
        Some(Sasl::new(Mechanism::Plain, "svc-link", password))
    );
    let digest = configs_of("digest", password);
    assert_eq!(
        sasl::from_configs(&digest).unwrap(),
        Some(Sasl::new(Mechanism::ScramSha512, "svc-link", password))
    );
    // OAuth is mapped to link configs, but the client refuses it clearly.
    let oauth = configs_of("oauthbearer", password);
    let e = sasl::from_configs(&oauth).unwrap_err();
    assert_eq!(e.setting, "sasl.mechanism");
    assert!(e.why.contains("OAUTHBEARER"), "{e}");
}
