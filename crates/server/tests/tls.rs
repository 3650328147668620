//! A link to a source that speaks TLS only (`security.protocol=SSL`): the TLS front of the test
//! broker is OpenSSL (Python's ssl module), records are produced through it by librdkafka with
//! TLS, and the mirror is checked with librdkafka. An untrusted certificate is a clear error.

mod support;

use clusterlink_testkit::rdkafka::{self, by_partition, varied_records, ProduceSpec};
use clusterlink_testkit::tls::{cert, cert_path, TlsCluster};
use clusterlink_testkit::TansuCluster;
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_behind_tls_is_mirrored_and_an_untrusted_one_refused() {
    let src = TlsCluster::start("tls-src").unwrap();
    let dst = TansuCluster::start("tls-dst").unwrap();
    // librdkafka over TLS, trusting the test CA: the front and its certificate work.
    let tls_client = [
        ("security.protocol".to_string(), json!("SSL")),
        (
            "ssl.ca.location".to_string(),
            json!(cert_path("ca.pem").to_str().unwrap()),
        ),
    ];
    let records = varied_records(120, 1, "tls");
    let spec = ProduceSpec {
        topic: "orders".into(),
        config: tls_client.iter().cloned().collect(),
        records: Some(records.clone()),
        transactions: None,
    };
    assert_eq!(rdkafka::produce(&src.bootstrap(), &spec).unwrap(), 120);
    let s = Server::start(&dst.bootstrap()).await;
    let link = |ca: &str| {
        json!({"source_cluster_id": "tls-src", "configs": [
            {"name": "bootstrap.servers", "value": src.bootstrap()},
            {"name": "security.protocol", "value": "SSL"},
            {"name": "ssl.truststore.type", "value": "PEM"},
            {"name": "ssl.truststore.certificates", "value": ca}]})
        .to_string()
    };
    // An unrelated CA: the handshake fails, and the error says so.
    let (st, v) = s
        .call(
            "POST",
            "/v3/clusters/tls-dst/links?link_name=untrusted",
            Some(&link(&cert("other-ca.pem"))),
        )
        .await;
    assert_eq!(st, 400, "{v:#}");
    assert!(
        v["message"].as_str().unwrap().contains("TLS handshake"),
        "{v:#}"
    );
    // The right CA: linked, mirrored, every record the same.
    let (st, v) = s
        .call(
            "POST",
            "/v3/clusters/tls-dst/links?link_name=secure",
            Some(&link(&cert("ca.pem"))),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let (_, v) = s.get("/v3/clusters/tls-dst/links/secure").await;
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
    let (st, v) = s
        .post(
            "/v3/clusters/tls-dst/links/secure/mirrors",
            json!({"source_topic_name": "orders"}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    s.wait_for(
        "/v3/clusters/tls-dst/links/secure/mirrors/orders",
        "orders mirrored over TLS",
        caught_up(120),
    )
    .await;
    let got = rdkafka::consume(&dst.bootstrap(), "orders").unwrap();
    assert_eq!(by_partition(&got), by_partition(&records));
    s.stop().await;
}
