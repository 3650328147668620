//! The operator reaching a secured link server as CFK's KafkaRestClass describes it: https with
//! the CA from `kafkaRest.tls` (a Secret's `cacerts.pem`) and basic credentials from
//! `kafkaRest.authentication` (a Secret's `basic.txt`). The link comes up and mirrors; a wrong
//! password is a Ready=False condition that says the link server refused it, without the
//! password; the right one brings it back (the operator reads the Secrets by name at each
//! pass, and never lists or watches Secrets). kube's real controller runtime against the
//! in-process fake API server, a real link server (TLS, basic, mTLS) over Apache Kafka, data
//! checked with librdkafka.

use std::time::Duration;

use clusterlink_model::ClusterLink;
use clusterlink_testkit::kafka::unique_name;
use clusterlink_testkit::kube_api::FakeApiServer;
use clusterlink_testkit::link_server::LinkServer;
use clusterlink_testkit::peer::Peer;
use clusterlink_testkit::{peer_tests, rdkafka};
use kube::api::{Api, PostParams};
use serde_json::json;

mod support;

use support::{condition, link_from, mirror_status, produce, rest_class, Operator};

/// A Secret in `dest` with one file.
fn secret(fake: &FakeApiServer, name: &str, file: &str, text: &str) {
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD.encode(text);
    fake.put_raw(
        "v1",
        "secrets",
        Some("dest"),
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": name, "namespace": "dest"},
               "data": {file: data}}),
    );
}

async fn a_secured_link_server_is_reached_with_the_rest_class_tls_and_basic_auth(peer: Peer) {
    let (src, dst) = peer.pair().unwrap();
    let orders = unique_name("orders");
    rdkafka::create_topic(&src.bootstrap(), &orders, 2).unwrap();
    produce(&src.bootstrap(), &orders, 60);
    let (server, access) = LinkServer::start_secured(&dst.bootstrap()).await;
    assert!(server.url().starts_with("https://"));
    let fake = FakeApiServer::new();
    let basic = |password: &str| format!("username={}\npassword={password}\n", access.username);
    secret(&fake, "rest-creds", "basic.txt", &basic(&access.password));
    secret(&fake, "rest-tls", "cacerts.pem", &access.pki.ca_pem);
    rest_class(
        &fake,
        &server.url(),
        json!({"authentication": {"type": "basic", "basic": {"secretRef": "rest-creds"}},
               "tls": {"secretRef": "rest-tls"}}),
    );
    let links: Api<ClusterLink> = Api::namespaced(fake.client(), "dest");
    let link = link_from(
        "dest",
        "l",
        &unique_name("secured"),
        &src.bootstrap(),
        &src.cluster_id(),
        json!([{"name": orders}]),
    );
    links.create(&PostParams::default(), &link).await.unwrap();
    let op = Operator::start(fake.client(), None, "op", false);
    let limit = Duration::from_secs(60);
    support::eventually("Ready over https with basic auth", limit, async || {
        let l = links.get("l").await.ok()?;
        let ready = condition(&l, "Ready")?.0 == "True";
        (ready && mirror_status(&l, &orders).as_deref() == Some("ACTIVE")).then_some(())
    })
    .await;
    support::eventually("the records mirrored", limit, async || {
        let n = rdkafka::consume(&dst.bootstrap(), &orders).ok()?.len();
        (n == 60).then_some(())
    })
    .await;

    // A wrong password: the link server refuses it, the condition says so, without it.
    let wrong = "not-the-password-42";
    secret(&fake, "rest-creds", "basic.txt", &basic(wrong));
    let c = support::eventually("refused with the wrong password", limit, async || {
        let c = condition(&links.get("l").await.ok()?, "Ready")?;
        (c.0 == "False").then_some(c)
    })
    .await;
    assert!(c.2.contains("401"), "{c:?}");
    let status = serde_json::to_string(&links.get("l").await.unwrap().status).unwrap();
    assert!(!status.contains(wrong), "{status}");
    assert!(!status.contains(&access.password), "{status}");
    // The right one again: Ready.
    secret(&fake, "rest-creds", "basic.txt", &basic(&access.password));
    support::eventually("Ready again", limit, async || {
        let c = condition(&links.get("l").await.ok()?, "Ready")?;
        (c.0 == "True").then_some(())
    })
    .await;
    // Secrets were read by name only: never listed, watched or cached.
    let secret_reads: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/secrets"))
        .collect();
    assert!(!secret_reads.is_empty());
    for r in &secret_reads {
        assert_eq!(r.method, "GET", "{r:?}");
        assert!(
            r.path.ends_with("/secrets/rest-creds") || r.path.ends_with("/secrets/rest-tls"),
            "a Secret read by name only: {r:?}"
        );
    }
    op.stop().await;
    server.stop().await;
}

peer_tests! {
    a_secured_link_server_is_reached_with_the_rest_class_tls_and_basic_auth: [kafka];
}
