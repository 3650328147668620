//! Rotating the password encoder secret, as an operator does with CFK's `oldPassword`: two links
//! to a SASL source are created under one secret; the server restarts with a new secret and the
//! old one for reading, re-encrypts their credentials in the state topic (read back raw here:
//! only the new secret decrypts them), and both keep mirroring; then again without the old
//! secret. Under an unrelated secret, those links report the decryption failure (naming link and
//! config, not the value) while the server serves and a link without credentials mirrors on;
//! setting the credentials again starts the link.

mod support;

use std::collections::BTreeMap;

use clusterlink_server::secrets::PasswordEncoder;
use clusterlink_server::ManagerOptions;
use clusterlink_testkit::link_server;
use clusterlink_testkit::peer::SaslBroker;
use clusterlink_testkit::rdkafka::{self, varied_records};
use serde_json::{json, Value};
use support::*;

const USER: &str = "mirror";
const PASSWORD: &str = "pw-rotation-5521";
const FIRST: &str = "first-encoder-secret-0001";
const SECOND: &str = "second-encoder-secret-0002";
const UNRELATED: &str = "unrelated-encoder-secret-0003";

fn with_encoder(encoder: PasswordEncoder) -> ManagerOptions {
    let mut o = options();
    o.password_encoder = Some(encoder);
    o
}

fn encoder(secret: &str) -> PasswordEncoder {
    PasswordEncoder::new(secret).unwrap()
}

fn jaas(password: &str) -> String {
    format!(
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"{USER}\" password=\"{password}\";"
    )
}

/// The configs of a link to the SASL listener of `src`.
fn sasl_configs(src: &SaslBroker) -> Value {
    let bootstrap = src.sasl_bootstrap();
    let jaas = jaas(PASSWORD);
    configs(&[
        ("bootstrap.servers", &bootstrap),
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "PLAIN"),
        ("sasl.jaas.config", &jaas),
    ])
}

async fn create(s: &Server, name: &str, source_id: &str, configs: Value) {
    let (status, body) = s
        .post(
            &format!("{}?link_name={name}", s.links()),
            json!({ "source_cluster_id": source_id, "configs": configs }),
        )
        .await;
    assert!(status < 300, "{name}: {status} {body}");
}

/// Creates the mirror of `topic` on `link`.
async fn mirror(s: &Server, link: &str, topic: &str) {
    let (status, body) = s.create_mirror(link, topic).await;
    assert!(status < 300, "{link}/{topic}: {status} {body}");
}

/// Waits until the mirror of `topic` on `link` holds `total` records.
async fn caught_up_to(s: &Server, link: &str, topic: &str, total: i64) {
    let path = format!("{}/{link}/mirrors/{topic}", s.links());
    s.wait_for(&path, &format!("{topic} at {total}"), caught_up(total))
        .await;
}

async fn wait_active(s: &Server, link: &str) {
    let path = format!("{}/{link}", s.links());
    s.wait_for(&path, &format!("{link} ACTIVE"), |v| {
        v["link_state"] == "ACTIVE"
    })
    .await;
}

/// The latest stored `sasl.jaas.config` of every link in the state topic, read raw with
/// librdkafka.
fn stored_jaas(bootstrap: &str) -> BTreeMap<String, String> {
    let raw = rdkafka::consume(bootstrap, link_server::state_topic()).unwrap();
    let text = |h: &Option<String>| {
        let h = h.as_deref().unwrap_or("");
        let bytes: Vec<u8> = (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect();
        String::from_utf8(bytes).unwrap()
    };
    let mut out = BTreeMap::new();
    for m in &raw {
        let Some(link) = text(&m.key).strip_prefix("link/").map(str::to_owned) else {
            continue;
        };
        let value = text(&m.value);
        assert!(!value.contains(PASSWORD), "{value}");
        let record: Value = serde_json::from_str(&value).unwrap();
        if let Some(j) = record["configs"]["sasl.jaas.config"].as_str() {
            out.insert(link, j.to_owned());
        }
    }
    out
}

async fn rotating_the_secret_reencrypts_and_a_wrong_one_fails_only_its_links(peer: Peer) {
    let src = peer.sasl_private("enc-src", &[(USER, PASSWORD)]).unwrap();
    let plain_src = peer.cluster(Side::A).unwrap();
    let dst = peer.cluster(Side::B).unwrap();
    let (east, west, plain) = (
        unique_name("east"),
        unique_name("west"),
        unique_name("plain"),
    );
    for topic in [&east, &west] {
        rdkafka::create_topic(&src.bootstrap(), topic, 1).unwrap();
        rdkafka::produce_all(&src.bootstrap(), topic, &varied_records(20, 1, topic));
    }
    rdkafka::create_topic(&plain_src.bootstrap(), &plain, 1).unwrap();
    rdkafka::produce_all(&plain_src.bootstrap(), &plain, &varied_records(20, 1, "p"));

    // Two links with credentials and one without, under the first secret.
    let s = Server::start_with(&dst.bootstrap(), with_encoder(encoder(FIRST))).await;
    create(&s, "sasl-east", &src.cluster_id(), sasl_configs(&src)).await;
    create(&s, "sasl-west", &src.cluster_id(), sasl_configs(&src)).await;
    let (status, body) = s
        .post(
            &format!("{}?link_name=plain-link", s.links()),
            link_body(&plain_src, &[]),
        )
        .await;
    assert!(status < 300, "{status} {body}");
    mirror(&s, "sasl-east", &east).await;
    mirror(&s, "sasl-west", &west).await;
    mirror(&s, "plain-link", &plain).await;
    caught_up_to(&s, "sasl-east", &east, 20).await;
    caught_up_to(&s, "sasl-west", &west, 20).await;
    caught_up_to(&s, "plain-link", &plain, 20).await;
    assert_eq!(s.manager.reencrypted(), 0);
    s.stop().await;
    let first = stored_jaas(&dst.bootstrap());
    assert_eq!(first.len(), 2, "{first:?}");

    // The new secret, with the old one for reading: both values are re-encrypted.
    let rotating = encoder(SECOND).with_old_secret(FIRST);
    let s = Server::start_with(&dst.bootstrap(), with_encoder(rotating)).await;
    assert_eq!(s.manager.reencrypted(), 2);
    for topic in [&east, &west] {
        rdkafka::produce_all(&src.bootstrap(), topic, &varied_records(10, 1, "more"));
    }
    wait_active(&s, "sasl-east").await;
    wait_active(&s, "sasl-west").await;
    caught_up_to(&s, "sasl-east", &east, 30).await;
    caught_up_to(&s, "sasl-west", &west, 30).await;
    s.stop().await;
    let second = stored_jaas(&dst.bootstrap());
    for (link, value) in &second {
        assert!(value.starts_with("enc:v2:"), "{link}: {value}");
        assert_ne!(Some(value), first.get(link), "{link} rewritten");
        let read = encoder(SECOND)
            .decrypt(link, "sasl.jaas.config", value)
            .unwrap();
        assert_eq!(read.value, jaas(PASSWORD));
        assert!(!read.stale);
        assert!(
            encoder(FIRST)
                .decrypt(link, "sasl.jaas.config", value)
                .is_err(),
            "{link}: only the new secret decrypts it"
        );
    }

    // The old secret dropped: everything still runs, nothing left to re-encrypt.
    let s = Server::start_with(&dst.bootstrap(), with_encoder(encoder(SECOND))).await;
    assert_eq!(s.manager.reencrypted(), 0);
    wait_active(&s, "sasl-east").await;
    wait_active(&s, "sasl-west").await;
    caught_up_to(&s, "sasl-east", &east, 30).await;
    s.stop().await;

    // An unrelated secret: the links with credentials say why they cannot run; the server
    // serves, and the link without credentials mirrors new records.
    let s = Server::start_with(&dst.bootstrap(), with_encoder(encoder(UNRELATED))).await;
    assert_eq!(s.manager.reencrypted(), 0);
    for link in ["sasl-east", "sasl-west"] {
        let (status, v) = s.get(&format!("{}/{link}", s.links())).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["link_state"], "UNAVAILABLE", "{v}");
        let msg = v["link_error_message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(link) && msg.contains("sasl.jaas.config") && msg.contains("decrypted"),
            "{msg}"
        );
        let (_, listing) = s.raw("GET", &s.links(), None).await;
        assert!(
            !listing.contains(PASSWORD) && !listing.contains("enc:v"),
            "{listing}"
        );
    }
    rdkafka::produce_all(&plain_src.bootstrap(), &plain, &varied_records(5, 1, "p2"));
    wait_active(&s, "plain-link").await;
    caught_up_to(&s, "plain-link", &plain, 25).await;
    // A change that leaves the undecryptable credentials as they are is refused...
    let (status, body) = s
        .post(
            &format!("{}/sasl-east/configs:alter", s.links()),
            json!({ "data": [{"name": "consumer.offset.sync.enable", "value": "true"}] }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("sasl.jaas.config"), "{body}");
    // ...setting them again starts the link, which mirrors what it missed.
    let j = jaas(PASSWORD);
    let (status, body) = s
        .post(
            &format!("{}/sasl-east/configs:alter", s.links()),
            json!({ "data": [{"name": "sasl.jaas.config", "value": j}] }),
        )
        .await;
    assert!(status < 300, "{status} {body}");
    rdkafka::produce_all(&src.bootstrap(), &east, &varied_records(5, 1, "late"));
    wait_active(&s, "sasl-east").await;
    caught_up_to(&s, "sasl-east", &east, 35).await;
    let (_, west_now) = s.get(&format!("{}/sasl-west", s.links())).await;
    assert_eq!(west_now["link_state"], "UNAVAILABLE", "{west_now}");
    s.stop().await;
}

peer_tests! {
    rotating_the_secret_reencrypts_and_a_wrong_one_fails_only_its_links: [kafka, tansu];
}
