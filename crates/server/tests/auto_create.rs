//! Auto-created mirror topics (`auto.create.mirror.topics.enable` with topic filters): source
//! topics the filters select are mirrored without being declared, new ones as they appear;
//! others and internal topics are not. On Apache Kafka and tansu.

mod support;

use clusterlink_testkit::rdkafka::{self, varied_records};
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

async fn selected_source_topics_are_mirrored_as_they_appear(peer: Peer) {
    let (src, dst) = peer.pair().unwrap();
    // The source may be shared with other tests: the filters select this test's topics only.
    let app = unique_name("app");
    let [orders, payments, tmp, refunds] =
        ["orders", "payments", "tmp-x", "refunds"].map(|t| format!("{app}-{t}"));
    let other = unique_name("other");
    for t in [&orders, &payments, &other, &tmp] {
        rdkafka::create_topic(&src.bootstrap(), t, 1).unwrap();
    }
    produce(&src.bootstrap(), &orders, &varied_records(20, 1, "a"));
    let s = Server::start(&dst.bootstrap()).await;
    let filters = json!({"topicFilters": [
        {"name": format!("{app}-"), "patternType": "PREFIXED", "filterType": "INCLUDE"},
        {"name": format!("{app}-tmp-"), "patternType": "PREFIXED", "filterType": "EXCLUDE"},
        // An internal topic (Kafka's group offsets), named outright: never mirrored.
        {"name": "__consumer_offsets", "patternType": "LITERAL", "filterType": "INCLUDE"}]})
    .to_string();
    let (st, v) = s
        .create_link(
            "auto",
            &src,
            &[
                ("auto.create.mirror.topics.enable", "true"),
                ("auto.create.mirror.topics.filters", &filters),
            ],
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let mirrors = format!("{}/auto/mirrors", s.links());
    let v = s
        .wait_for(&mirrors, "two auto-created mirrors", |v| {
            v["data"].as_array().is_some_and(|a| a.len() == 2)
        })
        .await;
    assert_eq!(names(&v), [orders.clone(), payments.clone()]);
    s.wait_for(
        &format!("{mirrors}/{orders}"),
        &format!("{orders} mirrored"),
        caught_up(20),
    )
    .await;
    // A topic created later is picked up too.
    rdkafka::create_topic(&src.bootstrap(), &refunds, 1).unwrap();
    let v = s
        .wait_for(&mirrors, "the later topic auto-created", |v| {
            v["data"].as_array().is_some_and(|a| a.len() == 3)
        })
        .await;
    assert_eq!(names(&v), [orders, payments, refunds]);
    let topics = rdkafka::topics(&dst.bootstrap()).unwrap();
    assert!(!topics.contains_key(&other) && !topics.contains_key(&tmp));
    s.stop().await;
}

peer_tests! {
    selected_source_topics_are_mirrored_as_they_appear: [kafka, tansu];
}
