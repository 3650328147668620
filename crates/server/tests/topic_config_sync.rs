//! Topic config sync (`topic.config.sync.ms`): a mirror follows its source topic's configs,
//! its own overrides win, checked with librdkafka's admin client.

mod support;

use std::time::{Duration, Instant};

use clusterlink_kafka::client::{AlterConfigOp, ConfigResource};
use clusterlink_testkit::rdkafka;
use clusterlink_testkit::TansuCluster;
use serde_json::json;
use support::*;

async fn wait_config(bootstrap: &str, topic: &str, key: &str, want: Option<&str>) {
    let start = Instant::now();
    loop {
        let got = rdkafka::topic_configs(bootstrap, topic).unwrap();
        if got.get(key).map(String::as_str) == want {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{topic} {key}: {:?}, want {want:?}",
            got.get(key)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirrors_follow_their_source_topics_configs() {
    let src = TansuCluster::start("tc-src").unwrap();
    let dst = TansuCluster::start("tc-dst").unwrap();
    rdkafka::create_topic(&src.bootstrap(), "orders", 1).unwrap();
    let source = client(&src.bootstrap()).await;
    let set = |k: &str, v: &str| AlterConfigOp::Set(k.into(), v.into());
    source
        .incremental_alter_configs(
            ConfigResource::Topic,
            "orders",
            &[set("retention.ms", "3600000")],
            false,
        )
        .await
        .unwrap();
    let s = Server::start(&dst.bootstrap()).await;
    let (st, v) = s
        .post(
            "/v3/clusters/tc-dst/links?link_name=l",
            json!({"source_cluster_id": "tc-src", "configs": [
                {"name": "bootstrap.servers", "value": src.bootstrap()},
                {"name": "topic.config.sync.ms", "value": "200"}]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let (st, v) = s
        .post(
            "/v3/clusters/tc-dst/links/l/mirrors",
            json!({"source_topic_name": "orders",
                   "configs": [{"name": "max.message.bytes", "value": "2000000"}]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    wait_config(&dst.bootstrap(), "orders", "retention.ms", Some("3600000")).await;
    // The source changes: the mirror follows; its override stays.
    source
        .incremental_alter_configs(
            ConfigResource::Topic,
            "orders",
            &[
                set("retention.ms", "7200000"),
                set("max.message.bytes", "500000"),
            ],
            false,
        )
        .await
        .unwrap();
    wait_config(&dst.bootstrap(), "orders", "retention.ms", Some("7200000")).await;
    let now = rdkafka::topic_configs(&dst.bootstrap(), "orders").unwrap();
    assert_eq!(
        now.get("max.message.bytes").map(String::as_str),
        Some("2000000")
    );
    s.stop().await;
}
