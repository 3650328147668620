//! Auto-created mirror topics (`auto.create.mirror.topics.enable` with topic filters): source
//! topics the filters select are mirrored without being declared, new ones as they appear;
//! others and internal topics are not.

mod support;

use clusterlink_testkit::rdkafka::{self, varied_records};
use clusterlink_testkit::TansuCluster;
use serde_json::{json, Value};
use support::*;

fn names(v: &Value) -> Vec<String> {
    let mut n: Vec<String> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mirror_topic_name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selected_source_topics_are_mirrored_as_they_appear() {
    let src = TansuCluster::start("ac-src").unwrap();
    let dst = TansuCluster::start("ac-dst").unwrap();
    for t in ["app-orders", "app-payments", "other", "app-tmp-x"] {
        rdkafka::create_topic(&src.bootstrap(), t, 1).unwrap();
    }
    produce(&src.bootstrap(), "app-orders", &varied_records(20, 1, "a"));
    let s = Server::start(&dst.bootstrap()).await;
    let filters = json!({"topicFilters": [
        {"name": "app-", "patternType": "PREFIXED", "filterType": "INCLUDE"},
        {"name": "app-tmp-", "patternType": "PREFIXED", "filterType": "EXCLUDE"}]})
    .to_string();
    let (st, v) = s
        .post(
            "/v3/clusters/ac-dst/links?link_name=auto",
            json!({"source_cluster_id": "ac-src", "configs": [
                {"name": "bootstrap.servers", "value": src.bootstrap()},
                {"name": "auto.create.mirror.topics.enable", "value": "true"},
                {"name": "auto.create.mirror.topics.filters", "value": filters}]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let v = s
        .wait_for(
            "/v3/clusters/ac-dst/links/auto/mirrors",
            "two auto-created mirrors",
            |v| v["data"].as_array().is_some_and(|a| a.len() == 2),
        )
        .await;
    assert_eq!(names(&v), ["app-orders", "app-payments"]);
    s.wait_for(
        "/v3/clusters/ac-dst/links/auto/mirrors/app-orders",
        "app-orders mirrored",
        caught_up(20),
    )
    .await;
    // A topic created later is picked up too.
    rdkafka::create_topic(&src.bootstrap(), "app-refunds", 1).unwrap();
    let v = s
        .wait_for(
            "/v3/clusters/ac-dst/links/auto/mirrors",
            "app-refunds auto-created",
            |v| v["data"].as_array().is_some_and(|a| a.len() == 3),
        )
        .await;
    assert_eq!(names(&v), ["app-orders", "app-payments", "app-refunds"]);
    let topics = rdkafka::topics(&dst.bootstrap()).unwrap();
    assert!(!topics.contains_key("other") && !topics.contains_key("app-tmp-x"));
    s.stop().await;
}
