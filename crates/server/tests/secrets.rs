//! Sensitive link configs at rest: encrypted in the state topic with the password encoder
//! secret, readable again only with the same secret (a link whose values another secret encrypted does not
//! run, and says why), refused without one. On Apache Kafka and
//! tansu; the state topic is read back with librdkafka.

mod support;

use clusterlink_kafka::{Client, ClientConfig};
use clusterlink_rest_v3::links::LinkState;
use clusterlink_server::secrets::PasswordEncoder;
use clusterlink_server::LinkManager;
use clusterlink_testkit::{link_server, rdkafka};
use support::*;

const JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required username='u' password='AT-REST-7731';";

async fn create_link(s: &Server, source: &Broker) -> (u16, serde_json::Value) {
    s.create_link("vault", source, &[("sasl.jaas.config", JAAS)])
        .await
}

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

async fn sensitive_configs_are_encrypted_in_the_state_topic(peer: Peer) {
    let (a, b) = peer.pair().unwrap();
    let s = Server::start(&b.bootstrap()).await;
    let (status, body) = create_link(&s, &a).await;
    assert!(status < 300, "{status} {body}");
    s.stop().await;

    // The raw state topic, read with librdkafka: the secret is not there, an encrypted value is.
    let raw = rdkafka::consume(&b.bootstrap(), link_server::state_topic()).unwrap();
    let text = |h: &Option<String>| {
        String::from_utf8_lossy(&unhex(h.as_deref().unwrap_or(""))).into_owned()
    };
    let records: Vec<String> = raw
        .iter()
        .filter(|m| text(&m.key) == "link/vault")
        .map(|m| text(&m.value))
        .collect();
    let record = records
        .last()
        .expect("the link's record in the state topic");
    assert!(
        !record.contains("AT-REST-7731") && !record.contains("PlainLoginModule"),
        "{record}"
    );
    assert!(record.contains("enc:v2:"), "{record}");
    assert!(raw.iter().all(
        |m| !text(&m.value).contains("AT-REST-7731") && !text(&m.key).contains("AT-REST-7731")
    ));

    // the same secret reads it back: the link is restored with its configs
    let s = Server::start(&b.bootstrap()).await;
    let configs = s.manager.configs("vault").unwrap();
    assert!(
        configs.iter().any(|c| c.name == "sasl.jaas.config"),
        "restored"
    );
    s.stop().await;

    // another secret cannot: the server starts, and the link reports why it does not run,
    // naming the link and the config, never the value
    let mut wrong = options();
    wrong.password_encoder = Some(PasswordEncoder::new("not-the-secret-of-this-topic").unwrap());
    let local = Client::connect(ClientConfig::new(&b.bootstrap()))
        .await
        .unwrap();
    let manager = LinkManager::open(local, wrong)
        .await
        .expect("a wrong secret fails the link, not the server");
    let status = manager.link("vault").unwrap();
    let msg = status.error_message.clone().unwrap_or_default();
    assert_eq!(status.state, LinkState::Unavailable, "{msg}");
    assert!(
        msg.contains("vault")
            && msg.contains("sasl.jaas.config")
            && msg.contains("password encoder secret"),
        "{msg}"
    );
    assert!(
        !msg.contains("AT-REST-7731") && !msg.contains("enc:v"),
        "{msg}"
    );
    manager.shutdown().await;
}

async fn without_an_encoder_secret_sensitive_configs_are_refused(peer: Peer) {
    let (a, b) = peer.pair().unwrap();
    let mut opts = options();
    opts.password_encoder = None;
    let s = Server::start_with(&b.bootstrap(), opts).await;
    let (status, body) = create_link(&s, &a).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_code"], 40002, "{body}");
    let msg = body["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("password encoder secret") && msg.contains("sasl.jaas.config"),
        "{msg}"
    );
    assert!(!msg.contains("AT-REST-7731"));
    let (status, _) = s.get(&format!("{}/vault", s.links())).await;
    assert_eq!(status, 404, "nothing was created");
    s.stop().await;
}

peer_tests! {
    sensitive_configs_are_encrypted_in_the_state_topic: [kafka, tansu];
    without_an_encoder_secret_sensitive_configs_are_refused: [kafka, tansu];
}
