//! Sensitive link configs at rest: encrypted in the state topic with the password encoder
//! secret, readable again only with the same secret, refused without one.

mod support;

use clusterlink_kafka::{Client, ClientConfig};
use clusterlink_mirror::store::KafkaStore;
use clusterlink_server::secrets::PasswordEncoder;
use clusterlink_server::LinkManager;
use clusterlink_testkit::TansuCluster;
use serde_json::json;
use support::*;

const JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required username='u' password='AT-REST-7731';";

async fn create_link(s: &Server, cluster: &str, source: &TansuCluster) -> (u16, serde_json::Value) {
    let body = json!({
        "source_cluster_id": source.cluster_id(),
        "configs": [
            {"name": "bootstrap.servers", "value": source.bootstrap()},
            {"name": "sasl.jaas.config", "value": JAAS},
        ]
    });
    s.call(
        "POST",
        &format!("/v3/clusters/{cluster}/links?link_name=vault"),
        Some(&body.to_string()),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_configs_are_encrypted_in_the_state_topic() {
    let a = TansuCluster::start("sec-a").unwrap();
    let b = TansuCluster::start("sec-b").unwrap();
    let s = Server::start(&b.bootstrap()).await;
    let (status, body) = create_link(&s, "sec-b", &a).await;
    assert!(status < 300, "{status} {body}");
    s.stop().await;

    // the raw state topic, read with a plain client: the secret is not there, an encrypted value is
    let store = KafkaStore::open(
        Client::connect(ClientConfig::new(&b.bootstrap()))
            .await
            .unwrap(),
        clusterlink_testkit::link_server::state_topic(),
    )
    .await
    .unwrap();
    let raw = store.load().await.unwrap();
    let record = String::from_utf8(raw["link/vault"].clone()).unwrap();
    assert!(
        !record.contains("AT-REST-7731") && !record.contains("PlainLoginModule"),
        "{record}"
    );
    assert!(record.contains("enc:v1:"), "{record}");
    assert!(raw
        .values()
        .all(|v| !String::from_utf8_lossy(v).contains("AT-REST-7731")));

    // the same secret reads it back: the link is restored with its configs
    let s = Server::start(&b.bootstrap()).await;
    let configs = s.manager.configs("vault").unwrap();
    assert!(
        configs.iter().any(|c| c.name == "sasl.jaas.config"),
        "restored"
    );
    s.stop().await;

    // another secret cannot: the server refuses to start, naming the link and the config
    let mut wrong = options();
    wrong.password_encoder = Some(PasswordEncoder::new("not-the-secret"));
    let local = Client::connect(ClientConfig::new(&b.bootstrap()))
        .await
        .unwrap();
    let Err(err) = LinkManager::open(local, wrong).await else {
        panic!("a wrong secret must be an error");
    };
    let msg = err.to_string();
    assert!(
        msg.contains("vault")
            && msg.contains("sasl.jaas.config")
            && msg.contains("password encoder secret"),
        "{msg}"
    );
    assert!(!msg.contains("AT-REST-7731"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_encoder_secret_sensitive_configs_are_refused() {
    let a = TansuCluster::start("nosec-a").unwrap();
    let b = TansuCluster::start("nosec-b").unwrap();
    let mut opts = options();
    opts.password_encoder = None;
    let s = Server::start_with(&b.bootstrap(), opts).await;
    let (status, body) = create_link(&s, "nosec-b", &a).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_code"], 40002, "{body}");
    let msg = body["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("password encoder secret") && msg.contains("sasl.jaas.config"),
        "{msg}"
    );
    assert!(!msg.contains("AT-REST-7731"));
    let (status, _) = s.get("/v3/clusters/nosec-b/links/vault").await;
    assert_eq!(status, 404, "nothing was created");
    s.stop().await;
}
