//! Links to sources that require SASL (SCRAM-SHA-512 and a Kafka JAAS config), over
//! `SASL_PLAINTEXT` and `SASL_SSL`: on Apache Kafka's own SASL listeners, and on tansu behind the
//! test kit's SASL front (SCRAM by the `scramp` library, TLS by OpenSSL). Records are produced
//! into the source by librdkafka with SASL, and the mirror on the destination is read with
//! librdkafka. Unsupported mechanisms and unusable JAAS configs are 400s that name the setting;
//! refused credentials are a 400 at creation and an AUTHENTICATION_ERROR in the link's status
//! after a config change, or (Kafka) after the password was rotated away on the source with
//! `kafka-configs`; the password is never in a response.

mod support;

use std::collections::BTreeMap;

use clusterlink_testkit::kafka::{KafkaCluster, Listener, Mechanism, Sasl};
use clusterlink_testkit::rdkafka::{self, by_partition, varied_records, Msg, ProduceSpec};
use clusterlink_testkit::sasl::SaslCluster;
use serde_json::{json, Value};
use support::*;

const USER: &str = "linker";
const MECHANISM: &str = "SCRAM-SHA-512";
/// The password on tansu's front, which takes any characters: the quotes check the JAAS
/// quoting of the link's configs.
const TANSU_PASSWORD: &str = "pw-Zq81\"quoted\"";
/// The password on Kafka, whose harness takes plain words only (its JAAS and format-tool syntax).
const KAFKA_PASSWORD: &str = "pw-Zq81-kafka";

/// A source that requires SASL.
enum Source {
    /// Apache Kafka with a SASL listener (set-up and checks may use its PLAINTEXT one).
    Kafka(Broker, Listener),
    /// tansu behind the test kit's SASL front.
    Tansu(SaslCluster),
}

impl Source {
    /// A SASL source with the user [`USER`], over TLS when `tls`; Kafka's brokers with `props`.
    fn start(peer: Peer, tls: bool, props: &[(&str, &str)]) -> Source {
        match peer {
            Peer::Kafka => {
                let listener = if tls {
                    Listener::SaslSsl
                } else {
                    Listener::SaslPlaintext
                };
                let mut b = KafkaCluster::builder()
                    .listener(listener)
                    .user(USER, KAFKA_PASSWORD);
                for (k, v) in props {
                    b = b.prop(k, v);
                }
                Source::Kafka(Broker::Kafka(b.start().unwrap()), listener)
            }
            _ => {
                let users = [(USER, TANSU_PASSWORD)];
                Source::Tansu(if tls {
                    SaslCluster::start_tls("sasl-src", &users).unwrap()
                } else {
                    SaslCluster::start("sasl-src", &users).unwrap()
                })
            }
        }
    }

    /// The Kafka cluster. Panics on tansu.
    fn kafka(&self) -> &KafkaCluster {
        match self {
            Source::Kafka(Broker::Kafka(k), _) => k,
            _ => panic!("not a Kafka source"),
        }
    }

    /// The user's password.
    fn password(&self) -> &'static str {
        match self {
            Source::Kafka(..) => KAFKA_PASSWORD,
            Source::Tansu(_) => TANSU_PASSWORD,
        }
    }

    fn cluster_id(&self) -> String {
        match self {
            Source::Kafka(..) => self.kafka().cluster_id().to_owned(),
            Source::Tansu(t) => t.cluster_id().to_owned(),
        }
    }

    /// The link configs that reach the SASL listener as [`USER`] with `password`.
    fn link_configs(&self, password: &str) -> Vec<(String, String)> {
        match self {
            Source::Kafka(_, listener) => self.kafka().java_client_config(
                *listener,
                Some(Sasl {
                    mechanism: Mechanism::ScramSha512,
                    user: USER,
                    password,
                }),
            ),
            Source::Tansu(t) => t.link_configs(MECHANISM, USER, password),
        }
    }

    /// librdkafka's bootstrap and settings for the SASL listener, as [`USER`].
    fn rdkafka(&self) -> (String, BTreeMap<String, Value>) {
        match self {
            Source::Kafka(_, listener) => (
                self.kafka().bootstrap_for(*listener),
                self.kafka().rdkafka_config(
                    *listener,
                    Some(Sasl {
                        mechanism: Mechanism::ScramSha512,
                        user: USER,
                        password: KAFKA_PASSWORD,
                    }),
                ),
            ),
            Source::Tansu(t) => (
                t.bootstrap(),
                t.rdkafka_config(MECHANISM, USER, TANSU_PASSWORD),
            ),
        }
    }

    /// Sum of the end offsets (last offset + 1 per partition) of `topic`, read with librdkafka
    /// through SASL.
    fn end(&self, topic: &str) -> i64 {
        let (bootstrap, config) = self.rdkafka();
        let got =
            rdkafka::consume_configured(&bootstrap, topic, "read_committed", &config).unwrap();
        let mut ends = BTreeMap::new();
        for m in got {
            let e = ends.entry(m.partition).or_insert(0i64);
            *e = (*e).max(m.offset + 1);
        }
        ends.values().sum()
    }

    /// Produces `records` into `topic` with librdkafka through SASL.
    fn produce(&self, topic: &str, records: &[Msg]) {
        let (bootstrap, config) = self.rdkafka();
        let spec = ProduceSpec {
            topic: topic.into(),
            config,
            records: Some(records.to_vec()),
            transactions: None,
        };
        assert_eq!(rdkafka::produce(&bootstrap, &spec).unwrap(), records.len());
    }
}

/// The `AclSync` task of a link without ACL sync: its only task (no `Config:` ones, which
/// would name configs stored but not applied).
fn acl_sync_off() -> Value {
    json!({"task_name": "AclSync", "state": "NOT_CONFIGURED", "errors": []})
}

fn link_body(source_id: &str, configs: &[(String, String)]) -> String {
    let configs: Vec<Value> = configs
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    json!({"source_cluster_id": source_id, "configs": configs}).to_string()
}

fn with(configs: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut c: Vec<_> = configs.iter().filter(|(k, _)| k != name).cloned().collect();
    c.push((name.to_owned(), value.to_owned()));
    c
}

fn jaas_of(configs: &[(String, String)]) -> String {
    configs
        .iter()
        .find(|(k, _)| k == "sasl.jaas.config")
        .unwrap()
        .1
        .clone()
}

/// Creates link `name` with `configs`; the status and body.
async fn create(
    s: &Server,
    source: &Source,
    name: &str,
    configs: &[(String, String)],
) -> (u16, Value) {
    let path = format!("{}?link_name={name}", s.links());
    s.call(
        "POST",
        &path,
        Some(&link_body(&source.cluster_id(), configs)),
    )
    .await
}

/// Every view of link `name` answers, and none shows the password or the JAAS config.
async fn assert_password_hidden(s: &Server, name: &str, secret: &str) {
    let links = s.links();
    for path in [
        links.clone(),
        format!("{links}/{name}"),
        format!("{links}/{name}/configs"),
        format!("{links}/{name}/configs/sasl.jaas.config"),
    ] {
        let (st, text) = s.raw("GET", &path, None).await;
        assert_eq!(st, 200, "{path}: {text}");
        assert!(
            !text.contains(secret) && !text.contains("LoginModule"),
            "{path}: {text}"
        );
    }
}

async fn alter(s: &Server, link: &str, configs: Value) -> (u16, Value) {
    s.post(
        &format!("{}/{link}/configs:alter", s.links()),
        json!({ "data": configs }),
    )
    .await
}

async fn a_source_behind_sasl_is_mirrored_and_its_password_never_shown(peer: Peer) {
    let src = Source::start(peer, false, &[]);
    let dst = peer.cluster(Side::B).unwrap();
    let orders = unique_name("orders");
    let records = varied_records(80, 1, "sasl");
    src.produce(&orders, &records);
    let s = Server::start(&dst.bootstrap()).await;
    let good = src.link_configs(src.password());
    let jaas = jaas_of(&good);
    let links = s.links();

    // Mechanisms clusterlink does not speak, and Kafka's default (GSSAPI) when none is set.
    for m in ["GSSAPI", "OAUTHBEARER"] {
        let got = create(&s, &src, "bad", &with(&good, "sasl.mechanism", m)).await;
        assert_error(&got, 400, 40002, "is not supported by clusterlink");
        assert_error(&got, 400, 40002, m);
    }
    let no_mechanism: Vec<_> = good
        .iter()
        .filter(|(k, _)| k != "sasl.mechanism")
        .cloned()
        .collect();
    assert_error(
        &create(&s, &src, "bad", &no_mechanism).await,
        400,
        40002,
        "GSSAPI",
    );
    // A JAAS config that is not a username/password login module; no secret in the answer.
    let oauth = format!(
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientSecret=\"{}\";",
        src.password().replace('"', "\\\"")
    );
    let got = create(&s, &src, "bad", &with(&good, "sasl.jaas.config", &oauth)).await;
    assert_error(&got, 400, 40002, "sasl.jaas.config");
    assert!(!got.1.to_string().contains("Zq81"), "{:#}", got.1);
    let unterminated = jaas.trim_end_matches(';').to_owned();
    let got = create(
        &s,
        &src,
        "bad",
        &with(&good, "sasl.jaas.config", &unterminated),
    )
    .await;
    assert_error(&got, 400, 40002, "';'");
    assert!(!got.1.to_string().contains("Zq81"), "{:#}", got.1);
    // The broker refuses a wrong password: a 400 that names the mechanism, not the password.
    let wrong = src.link_configs("wrong-pw-5521");
    let got = create(&s, &src, "bad", &wrong).await;
    assert_error(&got, 400, 40002, "SASL SCRAM-SHA-512 authentication");
    assert!(!got.1.to_string().contains("wrong-pw-5521"), "{:#}", got.1);
    let (_, list) = s.get(&links).await;
    assert!(list["data"].as_array().unwrap().is_empty(), "{list:#}");

    // The right credentials: linked, and SASL is applied, not only stored.
    let got = create(&s, &src, "secure", &good).await;
    assert_eq!(got.0, 204, "{:#}", got.1);
    let (_, v) = s.get(&format!("{links}/secure")).await;
    assert_eq!(v["not_implemented_configs"], json!([]), "{v:#}");
    assert_eq!(v["tasks"], json!([acl_sync_off()]), "{v:#}");
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
    assert_password_hidden(&s, "secure", "Zq81").await;

    let (st, v) = s.create_mirror("secure", &orders).await;
    assert_eq!(st, 204, "{v:#}");
    let mirror = format!("{links}/secure/mirrors/{orders}");
    s.wait_for(
        &mirror,
        "mirrored through SASL",
        caught_up(src.end(&orders)),
    )
    .await;
    let got = rdkafka::consume(&dst.bootstrap(), &orders).unwrap();
    assert_eq!(by_partition(&got), by_partition(&records));

    // A config change to an unsupported mechanism is refused; the link keeps running.
    assert_error(
        &alter(
            &s,
            "secure",
            json!([{"name": "sasl.mechanism", "value": "GSSAPI"}]),
        )
        .await,
        400,
        40002,
        "not supported by clusterlink",
    );
    // New credentials reconnect: refused ones show in the link's status (never the password),
    // the right ones bring it back, and mirroring goes on.
    let (st, v) = alter(
        &s,
        "secure",
        json!([{"name": "sasl.jaas.config", "value": jaas_of(&wrong)}]),
    )
    .await;
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
    let (st, v) = alter(
        &s,
        "secure",
        json!([{"name": "sasl.jaas.config", "value": jaas}]),
    )
    .await;
    assert_eq!(st, 204, "{v:#}");
    let v = s
        .wait_for(&format!("{links}/secure"), "the link back", |v| {
            v["link_state"] == "ACTIVE"
        })
        .await;
    assert_eq!(v["link_error"], "NO_ERROR", "{v:#}");
    let more = varied_records(20, 1, "after");
    src.produce(&orders, &more);
    s.wait_for(
        &mirror,
        "records after the change mirrored",
        caught_up(src.end(&orders)),
    )
    .await;
    let got = rdkafka::consume(&dst.bootstrap(), &orders).unwrap();
    let mut all = records.clone();
    all.extend(more);
    assert_eq!(by_partition(&got), by_partition(&all));
    s.stop().await;
}

/// SASL over TLS (`SASL_SSL`, the test CA in `ssl.truststore.certificates`): linked, applied,
/// mirrored; a wrong password refused; the password never shown.
async fn a_source_behind_sasl_ssl_is_mirrored(peer: Peer) {
    let src = Source::start(peer, true, &[]);
    let dst = peer.cluster(Side::B).unwrap();
    let orders = unique_name("orders");
    let records = varied_records(60, 1, "sasl-ssl");
    src.produce(&orders, &records);
    let s = Server::start(&dst.bootstrap()).await;
    let good = src.link_configs(src.password());
    assert!(good.contains(&("security.protocol".into(), "SASL_SSL".into())));
    let got = create(&s, &src, "bad", &src.link_configs("wrong-pw-5521")).await;
    assert_error(&got, 400, 40002, "SASL SCRAM-SHA-512 authentication");
    assert!(!got.1.to_string().contains("wrong-pw-5521"), "{:#}", got.1);
    let got = create(&s, &src, "secure", &good).await;
    assert_eq!(got.0, 204, "{:#}", got.1);
    let (_, v) = s.get(&format!("{}/secure", s.links())).await;
    assert_eq!(v["not_implemented_configs"], json!([]), "{v:#}");
    assert_eq!(v["tasks"], json!([acl_sync_off()]), "{v:#}");
    assert_password_hidden(&s, "secure", "Zq81").await;
    let (st, v) = s.create_mirror("secure", &orders).await;
    assert_eq!(st, 204, "{v:#}");
    s.wait_for(
        &format!("{}/secure/mirrors/{orders}", s.links()),
        "mirrored through SASL_SSL",
        caught_up(src.end(&orders)),
    )
    .await;
    let got = rdkafka::consume(&dst.bootstrap(), &orders).unwrap();
    assert_eq!(by_partition(&got), by_partition(&records));
    s.stop().await;
}

/// The link's password rotated away on the source (Kafka's `kafka-configs --alter
/// --add-config SCRAM-SHA-512=[password=...]`): once the broker makes the link authenticate
/// again (`connections.max.reauth.ms`, short here), the link reports AUTHENTICATION_ERROR,
/// never the password; its mirror is not failed for it. The new password set on the link
/// brings it back, and mirroring goes on with nothing lost or repeated.
async fn a_password_rotated_away_on_the_source_is_an_authentication_error(peer: Peer) {
    let src = Source::start(peer, false, &[("connections.max.reauth.ms", "2000")]);
    let Source::Kafka(plain, _) = &src else {
        panic!("Kafka only: {peer:?}");
    };
    let kafka = src.kafka();
    let dst = peer.cluster(Side::B).unwrap();
    let orders = unique_name("orders");
    let records = varied_records(50, 1, "before");
    src.produce(&orders, &records);
    let s = Server::start(&dst.bootstrap()).await;
    let got = create(&s, &src, "rotating", &src.link_configs(KAFKA_PASSWORD)).await;
    assert_eq!(got.0, 204, "{:#}", got.1);
    let (st, v) = s.create_mirror("rotating", &orders).await;
    assert_eq!(st, 204, "{v:#}");
    let link = format!("{}/rotating", s.links());
    let mirror = format!("{link}/mirrors/{orders}");
    s.wait_for(&mirror, "mirrored", caught_up(50)).await;

    const ROTATED: &str = "rotated-pw-7710";
    kafka::tools::tool(
        &kafka.bootstrap(),
        "kafka.admin.ConfigCommand",
        &[
            "--alter",
            "--entity-type",
            "users",
            "--entity-name",
            USER,
            "--add-config",
            &format!("SCRAM-SHA-512=[password={ROTATED}]"),
        ],
    )
    .unwrap();
    let v = s
        .wait_for(&link, "the rotated password in the status", |v| {
            v["link_error"] == "AUTHENTICATION_ERROR"
        })
        .await;
    assert_eq!(v["link_state"], "UNAVAILABLE", "{v:#}");
    let message = v["link_error_message"].as_str().unwrap();
    assert!(
        message.contains("SASL SCRAM-SHA-512 authentication"),
        "{message}"
    );
    assert_password_hidden(&s, "rotating", KAFKA_PASSWORD).await;
    let (_, m) = s.get(&mirror).await;
    assert_ne!(m["mirror_status"], "FAILED", "{m:#}");

    // The new password on the link: back, and the records written meanwhile are mirrored.
    let rotated = jaas_of(&src.link_configs(ROTATED));
    let (st, v) = alter(
        &s,
        "rotating",
        json!([{"name": "sasl.jaas.config", "value": rotated}]),
    )
    .await;
    assert_eq!(st, 204, "{v:#}");
    let more = varied_records(30, 1, "after");
    produce(&kafka.bootstrap(), &orders, &more);
    s.wait_for(&link, "the link back", |v| v["link_state"] == "ACTIVE")
        .await;
    s.wait_for(&mirror, "caught up again", caught_up(80)).await;
    assert_password_hidden(&s, "rotating", ROTATED).await;
    let mut all = records;
    all.extend(more);
    let got = rdkafka::consume(&dst.bootstrap(), &orders).unwrap();
    assert_eq!(by_partition(&got), by_partition(&all));
    assert_aligned(plain, &orders, &dst, &orders);
    s.stop().await;
}

peer_tests! {
    a_source_behind_sasl_is_mirrored_and_its_password_never_shown: [kafka, tansu];
    a_source_behind_sasl_ssl_is_mirrored: [kafka, tansu];
    a_password_rotated_away_on_the_source_is_an_authentication_error: [kafka];
}
