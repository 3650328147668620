//! `GET /clusters/{id}/brokers`: where other clusters reach the link server's local cluster,
//! which a reconciler dials for a ClusterLink that names the cluster without a
//! `bootstrapEndpoint`. Checked against what Apache Kafka itself advertises.

mod support;

use clusterlink_server::ManagerOptions;
use clusterlink_testkit::kafka::KafkaCluster;
use clusterlink_testkit::link_server::options;
use serde_json::Value;
use support::Server;

fn addresses(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|b| format!("{}:{}", b["host"].as_str().unwrap(), b["port"]))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brokers_are_the_advertised_ones_or_the_configured_ones() {
    let kafka = KafkaCluster::shared().unwrap();
    let server = Server::start(&kafka.bootstrap()).await;
    let id = kafka.cluster_id();
    let (status, list) = server
        .get(&format!("/kafka/v3/clusters/{id}/brokers"))
        .await;
    assert_eq!(status, 200, "{list:#}");
    assert_eq!(list["kind"], "KafkaBrokerList");
    assert_eq!(addresses(&list).join(","), kafka.bootstrap());
    assert_eq!(list["data"][0]["kind"], "KafkaBroker");
    assert_eq!(list["data"][0]["cluster_id"], id);
    assert_eq!(list["data"][0]["broker_id"], 1);
    let (status, _) = server.get("/kafka/v3/clusters/nope/brokers").await;
    assert_eq!(status, 404);

    let advertised = ManagerOptions {
        advertised_bootstrap: vec![
            "kafka-src.source.svc.cluster.local:9071".into(),
            "10.0.0.7:9092".into(),
        ],
        ..options()
    };
    let server = Server::start_with(&kafka.bootstrap(), advertised).await;
    let (status, list) = server.get(&format!("/v3/clusters/{id}/brokers")).await;
    assert_eq!(status, 200, "{list:#}");
    assert_eq!(
        addresses(&list),
        ["kafka-src.source.svc.cluster.local:9071", "10.0.0.7:9092"]
    );
}
