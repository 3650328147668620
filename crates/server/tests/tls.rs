//! A link to a source that speaks TLS only (`security.protocol=SSL`, the CA as PEM in
//! `ssl.truststore.certificates`): Apache Kafka's own SSL listener (a PEM key store), and tansu
//! behind the test kit's TLS front (OpenSSL, Python's ssl module). Records are produced through
//! TLS by librdkafka, and the mirror is checked with librdkafka. An untrusted certificate is a
//! clear error.

mod support;

use std::collections::BTreeMap;

use clusterlink_testkit::kafka::{KafkaCluster, Listener};
use clusterlink_testkit::rdkafka::{self, by_partition, varied_records, ProduceSpec};
use clusterlink_testkit::tls::{cert, cert_path, TlsCluster};
use serde_json::{json, Value};
use support::*;

/// A source reached over TLS only.
enum Source {
    /// Apache Kafka with an SSL listener.
    Kafka(KafkaCluster),
    /// tansu behind the TLS front.
    Tansu(TlsCluster),
}

impl Source {
    /// The TLS bootstrap servers.
    fn bootstrap(&self) -> String {
        match self {
            Source::Kafka(k) => k.bootstrap_for(Listener::Ssl),
            Source::Tansu(t) => t.bootstrap(),
        }
    }

    fn cluster_id(&self) -> String {
        match self {
            Source::Kafka(k) => k.cluster_id().to_owned(),
            Source::Tansu(_) => "tls-src".to_owned(),
        }
    }
}

async fn a_source_behind_tls_is_mirrored_and_an_untrusted_one_refused(peer: Peer) {
    let src = match peer {
        Peer::Kafka => Source::Kafka(
            KafkaCluster::builder()
                .listener(Listener::Ssl)
                .start()
                .unwrap(),
        ),
        _ => Source::Tansu(TlsCluster::start("tls-src").unwrap()),
    };
    let dst = peer.cluster(Side::B).unwrap();
    let orders = unique_name("orders");
    // librdkafka over TLS, trusting the test CA: the listener and its certificate work.
    let tls_client: BTreeMap<String, Value> = [
        ("security.protocol".to_string(), json!("SSL")),
        (
            "ssl.ca.location".to_string(),
            json!(cert_path("ca.pem").to_str().unwrap()),
        ),
    ]
    .into();
    let records = varied_records(120, 1, "tls");
    let spec = ProduceSpec {
        topic: orders.clone(),
        config: tls_client,
        records: Some(records.clone()),
        transactions: None,
    };
    assert_eq!(rdkafka::produce(&src.bootstrap(), &spec).unwrap(), 120);
    let s = Server::start(&dst.bootstrap()).await;
    let link = |ca: &str| {
        json!({"source_cluster_id": src.cluster_id(), "configs": [
            {"name": "bootstrap.servers", "value": src.bootstrap()},
            {"name": "security.protocol", "value": "SSL"},
            {"name": "ssl.truststore.type", "value": "PEM"},
            {"name": "ssl.truststore.certificates", "value": ca}]})
    };
    // An unrelated CA: the handshake fails, and the error says so.
    let (st, v) = s
        .post(
            &format!("{}?link_name=untrusted", s.links()),
            link(&cert("other-ca.pem")),
        )
        .await;
    assert_eq!(st, 400, "{v:#}");
    assert!(
        v["message"].as_str().unwrap().contains("TLS handshake"),
        "{v:#}"
    );
    // The right CA: linked, mirrored, every record the same.
    let (st, v) = s
        .post(
            &format!("{}?link_name=secure", s.links()),
            link(&cert("ca.pem")),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let (_, v) = s.get(&format!("{}/secure", s.links())).await;
    assert!(
        v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| !t["task_name"].as_str().unwrap().contains("ssl.")
                && !t["task_name"]
                    .as_str()
                    .unwrap()
                    .contains("security.protocol")),
        "TLS settings are applied, not only stored: {v:#}"
    );
    assert_eq!(v["not_implemented_configs"], json!([]), "{v:#}");
    let (st, v) = s.create_mirror("secure", &orders).await;
    assert_eq!(st, 204, "{v:#}");
    s.wait_for(
        &format!("{}/secure/mirrors/{orders}", s.links()),
        "mirrored over TLS",
        caught_up(120),
    )
    .await;
    let got = rdkafka::consume(&dst.bootstrap(), &orders).unwrap();
    assert_eq!(by_partition(&got), by_partition(&records));
    if let Source::Kafka(k) = &src {
        // Aligned, by Kafka's own tool on the source's PLAINTEXT listener.
        assert_eq!(
            kafka::tools::end_offsets(&dst.bootstrap(), &orders).unwrap(),
            kafka::tools::end_offsets(&k.bootstrap(), &orders).unwrap()
        );
    }
    s.stop().await;
}

peer_tests! {
    a_source_behind_tls_is_mirrored_and_an_untrusted_one_refused: [kafka, tansu];
}
