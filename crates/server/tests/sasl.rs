//! A link to a source that requires SASL (`security.protocol=SASL_PLAINTEXT`, SCRAM-SHA-512 and
//! a Kafka JAAS config): the source is tansu behind the SASL front of the test kit (SCRAM by the
//! `scramp` library), records are produced into it by librdkafka with SASL, and the mirror on the
//! destination is read with librdkafka. Unsupported mechanisms and unusable JAAS configs are 400s
//! that name the setting; refused credentials are a 400 at creation and an error in the link's
//! status after a config change; the password is never in a response.

mod support;

use clusterlink_testkit::rdkafka::{self, by_partition, varied_records, ProduceSpec};
use clusterlink_testkit::sasl::SaslCluster;
use clusterlink_testkit::TansuCluster;
use serde_json::{json, Value};
use support::*;

const USER: &str = "linker";
const PASSWORD: &str = "pw-Zq81\"quoted\"";
const MECHANISM: &str = "SCRAM-SHA-512";

fn link_body(configs: &[(String, String)]) -> String {
    let configs: Vec<Value> = configs
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    json!({"source_cluster_id": "sasl-src", "configs": configs}).to_string()
}

fn with(configs: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut c: Vec<_> = configs.iter().filter(|(k, _)| k != name).cloned().collect();
    c.push((name.to_owned(), value.to_owned()));
    c
}

/// Sum of the source's end offsets (last offset + 1 per partition), read with librdkafka.
fn source_end(src: &SaslCluster, topic: &str) -> i64 {
    let got = rdkafka::consume_configured(
        &src.bootstrap(),
        topic,
        "read_committed",
        &src.rdkafka_config(MECHANISM, USER, PASSWORD),
    )
    .unwrap();
    let mut ends = std::collections::BTreeMap::new();
    for m in got {
        let e = ends.entry(m.partition).or_insert(0i64);
        *e = (*e).max(m.offset + 1);
    }
    ends.values().sum()
}

fn produce(src: &SaslCluster, records: &[clusterlink_testkit::rdkafka::Msg]) {
    let spec = ProduceSpec {
        topic: "orders".into(),
        config: src.rdkafka_config(MECHANISM, USER, PASSWORD),
        records: Some(records.to_vec()),
        transactions: None,
    };
    assert_eq!(
        rdkafka::produce(&src.bootstrap(), &spec).unwrap(),
        records.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_behind_sasl_is_mirrored_and_its_password_never_shown() {
    let src = SaslCluster::start("sasl-src", &[(USER, PASSWORD)]).unwrap();
    let dst = TansuCluster::start("sasl-dst").unwrap();
    let records = varied_records(80, 1, "sasl");
    produce(&src, &records);
    let s = Server::start(&dst.bootstrap()).await;
    let good = src.link_configs(MECHANISM, USER, PASSWORD);
    let jaas = good
        .iter()
        .find(|(k, _)| k == "sasl.jaas.config")
        .unwrap()
        .1
        .clone();
    let links = "/v3/clusters/sasl-dst/links";
    let create = |name: &str, configs: &[(String, String)]| {
        let body = link_body(configs);
        let s = &s;
        let path = format!("{links}?link_name={name}");
        async move { s.call("POST", &path, Some(&body)).await }
    };

    // Mechanisms clusterlink does not speak, and Kafka's default (GSSAPI) when none is set.
    for m in ["GSSAPI", "OAUTHBEARER"] {
        let got = create("bad", &with(&good, "sasl.mechanism", m)).await;
        assert_error(&got, 400, 40002, "is not supported by clusterlink");
        assert_error(&got, 400, 40002, m);
    }
    let no_mechanism: Vec<_> = good
        .iter()
        .filter(|(k, _)| k != "sasl.mechanism")
        .cloned()
        .collect();
    assert_error(&create("bad", &no_mechanism).await, 400, 40002, "GSSAPI");
    // A JAAS config that is not a username/password login module; no secret in the answer.
    let oauth = format!(
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientSecret=\"{PASSWORD}\";"
    );
    let got = create("bad", &with(&good, "sasl.jaas.config", &oauth)).await;
    assert_error(&got, 400, 40002, "sasl.jaas.config");
    assert!(!got.1.to_string().contains("Zq81"), "{:#}", got.1);
    let unterminated = jaas.trim_end_matches(';').to_owned();
    let got = create("bad", &with(&good, "sasl.jaas.config", &unterminated)).await;
    assert_error(&got, 400, 40002, "';'");
    assert!(!got.1.to_string().contains("Zq81"), "{:#}", got.1);
    // The broker refuses a wrong password: a 400 that names the mechanism, not the password.
    let wrong = src.link_configs(MECHANISM, USER, "wrong-pw-5521");
    let got = create("bad", &wrong).await;
    assert_error(&got, 400, 40002, "SASL SCRAM-SHA-512 authentication");
    assert!(!got.1.to_string().contains("wrong-pw-5521"), "{:#}", got.1);
    let (_, list) = s.get(links).await;
    assert!(list["data"].as_array().unwrap().is_empty(), "{list:#}");

    // The right credentials: linked, and SASL is applied, not only stored.
    let got = create("secure", &good).await;
    assert_eq!(got.0, 204, "{:#}", got.1);
    let (_, v) = s.get(&format!("{links}/secure")).await;
    assert_eq!(v["not_implemented_configs"], json!([]), "{v:#}");
    assert_eq!(v["tasks"], json!([]), "{v:#}");
    let (_, configs) = s.get(&format!("{links}/secure/configs")).await;
    let row = |name: &str| {
        configs["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {configs:#}"))
    };
    assert_eq!(row("sasl.jaas.config")["value"], Value::Null);
    assert_eq!(row("sasl.jaas.config")["is_sensitive"], true);
    assert_eq!(row("sasl.jaas.config")["implemented"], true);
    assert_eq!(row("sasl.mechanism")["value"], MECHANISM);
    assert_eq!(row("sasl.mechanism")["implemented"], true);
    assert_eq!(row("security.protocol")["implemented"], true);
    for path in [
        links.to_string(),
        format!("{links}/secure"),
        format!("{links}/secure/configs"),
        format!("{links}/secure/configs/sasl.jaas.config"),
    ] {
        let (st, text) = s.raw("GET", &path, None).await;
        assert_eq!(st, 200, "{path}: {text}");
        assert!(
            !text.contains("Zq81") && !text.contains("LoginModule"),
            "{path}: {text}"
        );
    }

    let (st, v) = s
        .post(
            &format!("{links}/secure/mirrors"),
            json!({"source_topic_name": "orders"}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let mirror = format!("{links}/secure/mirrors/orders");
    s.wait_for(
        &mirror,
        "orders mirrored through SASL",
        caught_up(source_end(&src, "orders")),
    )
    .await;
    let got = rdkafka::consume(&dst.bootstrap(), "orders").unwrap();
    assert_eq!(by_partition(&got), by_partition(&records));

    // A config change to an unsupported mechanism is refused; the link keeps running.
    let alter = |configs: Value| {
        let s = &s;
        let path = format!("{links}/secure/configs:alter");
        async move { s.post(&path, json!({ "data": configs })).await }
    };
    assert_error(
        &alter(json!([{"name": "sasl.mechanism", "value": "GSSAPI"}])).await,
        400,
        40002,
        "not supported by clusterlink",
    );
    // New credentials reconnect: refused ones show in the link's status (never the password),
    // the right ones bring it back, and mirroring goes on.
    let wrong_jaas = wrong
        .iter()
        .find(|(k, _)| k == "sasl.jaas.config")
        .unwrap()
        .1
        .clone();
    let (st, v) = alter(json!([{"name": "sasl.jaas.config", "value": wrong_jaas}])).await;
    assert_eq!(st, 204, "{v:#}");
    let v = s
        .wait_for(
            &format!("{links}/secure"),
            "the refused credentials in the status",
            |v| {
                v["link_error_message"]
                    .as_str()
                    .is_some_and(|m| m.contains("SASL SCRAM-SHA-512 authentication"))
            },
        )
        .await;
    assert_eq!(v["link_state"], "UNAVAILABLE", "{v:#}");
    assert_eq!(v["link_error"], "AUTHENTICATION_ERROR", "{v:#}");
    assert!(!v.to_string().contains("wrong-pw-5521"), "{v:#}");
    let (st, v) = alter(json!([{"name": "sasl.jaas.config", "value": jaas}])).await;
    assert_eq!(st, 204, "{v:#}");
    let v = s
        .wait_for(&format!("{links}/secure"), "the link back", |v| {
            v["link_state"] == "ACTIVE"
        })
        .await;
    assert_eq!(v["link_error"], "NO_ERROR", "{v:#}");
    let more = varied_records(20, 1, "after");
    produce(&src, &more);
    s.wait_for(
        &mirror,
        "records after the change mirrored",
        caught_up(source_end(&src, "orders")),
    )
    .await;
    let got = rdkafka::consume(&dst.bootstrap(), "orders").unwrap();
    let mut all = records.clone();
    all.extend(more);
    assert_eq!(by_partition(&got), by_partition(&all));
    s.stop().await;
}
