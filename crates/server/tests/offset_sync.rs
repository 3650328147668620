//! Consumer offset sync on a link (`consumer.offset.sync.enable`): a group's committed offsets on
//! the source appear, translated, on the destination (read back with librdkafka), filtered by
//! `consumer.offset.group.filters`, and stop following once the mirror is promoted.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clusterlink_testkit::rdkafka::{self, varied_records};
use clusterlink_testkit::TansuCluster;
use serde_json::json;
use support::*;

async fn wait_committed(bootstrap: &str, group: &str, want: &BTreeMap<i32, i64>) {
    wait_committed_on(bootstrap, group, "orders", want).await
}

async fn wait_committed_on(bootstrap: &str, group: &str, topic: &str, want: &BTreeMap<i32, i64>) {
    let start = Instant::now();
    loop {
        let got = rdkafka::committed(bootstrap, group, topic).unwrap();
        if &got == want {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "group {group}: {got:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_group_offsets_follow_the_source_until_promotion() {
    let src = TansuCluster::start("os-src").unwrap();
    let dst = TansuCluster::start("os-dst").unwrap();
    rdkafka::create_topic(&src.bootstrap(), "orders", 2).unwrap();
    let records = varied_records(200, 2, "o");
    produce(&src.bootstrap(), "orders", &records);
    let end0 = records.iter().filter(|r| r.partition == 0).count() as i64;
    let end1 = records.iter().filter(|r| r.partition == 1).count() as i64;
    assert!(end0 > 30 && end1 > 50);
    // Groups on the source, as their consumers would have committed.
    let source = client(&src.bootstrap()).await;
    source
        .offset_commit(
            "billing",
            &[("orders".into(), 0, 30), ("orders".into(), 1, 50)],
        )
        .await
        .unwrap();
    source
        .offset_commit("tmp-scratch", &[("orders".into(), 0, 7)])
        .await
        .unwrap();
    let s = Server::start(&dst.bootstrap()).await;
    let filters = json!({"groupFilters": [
        {"name": "*", "patternType": "LITERAL", "filterType": "INCLUDE"},
        {"name": "tmp-", "patternType": "PREFIXED", "filterType": "EXCLUDE"}]})
    .to_string();
    let (st, v) = s
        .post(
            "/v3/clusters/os-dst/links?link_name=l",
            json!({"source_cluster_id": "os-src", "configs": [
                {"name": "bootstrap.servers", "value": src.bootstrap()},
                {"name": "consumer.offset.sync.enable", "value": "true"},
                {"name": "consumer.offset.sync.ms", "value": "200"},
                {"name": "consumer.offset.group.filters", "value": filters}]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let (st, _) = s
        .post(
            "/v3/clusters/os-dst/links/l/mirrors",
            json!({"source_topic_name": "orders"}),
        )
        .await;
    assert_eq!(st, 204);
    s.wait_for(
        "/v3/clusters/os-dst/links/l/mirrors/orders",
        "caught up",
        caught_up(200),
    )
    .await;
    // Aligned offsets: the same positions on the destination.
    wait_committed(
        &dst.bootstrap(),
        "billing",
        &BTreeMap::from([(0, 30), (1, 50)]),
    )
    .await;
    // An excluded group is never synced.
    let scratch = rdkafka::committed(&dst.bootstrap(), "tmp-scratch", "orders").unwrap();
    assert!(scratch.values().all(|o| *o < 0), "{scratch:?}");
    // The source group moves on, to the end of partition 0: the destination follows.
    source
        .offset_commit("billing", &[("orders".into(), 0, end0)])
        .await
        .unwrap();
    wait_committed(
        &dst.bootstrap(),
        "billing",
        &BTreeMap::from([(0, end0), (1, 50)]),
    )
    .await;
    // The link's configs show the sync as applied, not as stored-only.
    let (_, v) = s.get("/v3/clusters/os-dst/links/l").await;
    assert!(
        v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| !t["task_name"].as_str().unwrap().contains("consumer.offset")),
        "{v:#}"
    );
    // Promoted: the topic belongs to its consumers on the destination now.
    let (st, _) = s
        .post(
            "/v3/clusters/os-dst/links/l/mirrors:promote",
            json!({"mirror_topic_names": ["orders"]}),
        )
        .await;
    assert_eq!(st, 200);
    s.wait_for(
        "/v3/clusters/os-dst/links/l/mirrors/orders",
        "promoted",
        |v| v["mirror_status"] == "STOPPED",
    )
    .await;
    source
        .offset_commit("billing", &[("orders".into(), 1, end1 - 1)])
        .await
        .unwrap();
    // Several sync intervals (200 ms) later, nothing moved.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let after = rdkafka::committed(&dst.bootstrap(), "billing", "orders").unwrap();
    assert_eq!(after, BTreeMap::from([(0, end0), (1, 50)]));
    s.stop().await;
}

/// A mirror that started at the source's end (`mirror.start.offset.spec=latest`) has translated
/// offsets: a group's source position maps to where the same record sits on the destination.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn translated_offsets_point_at_the_same_records() {
    let src = TansuCluster::start("ot-src").unwrap();
    let dst = TansuCluster::start("ot-dst").unwrap();
    rdkafka::create_topic(&src.bootstrap(), "orders", 1).unwrap();
    produce(
        &src.bootstrap(),
        "orders",
        &varied_records(100, 1, "before"),
    );
    let s = Server::start(&dst.bootstrap()).await;
    let filters =
        json!({"groupFilters": [{"name": "*", "patternType": "LITERAL", "filterType": "INCLUDE"}]})
            .to_string();
    let (st, v) = s
        .post(
            "/v3/clusters/ot-dst/links?link_name=l",
            json!({"source_cluster_id": "ot-src", "configs": [
                {"name": "bootstrap.servers", "value": src.bootstrap()},
                {"name": "mirror.start.offset.spec", "value": "latest"},
                {"name": "consumer.offset.sync.enable", "value": "true"},
                {"name": "consumer.offset.sync.ms", "value": "200"},
                {"name": "consumer.offset.group.filters", "value": filters}]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let (st, _) = s
        .post(
            "/v3/clusters/ot-dst/links/l/mirrors",
            json!({"source_topic_name": "orders"}),
        )
        .await;
    assert_eq!(st, 204);
    let after = varied_records(50, 1, "after");
    produce(&src.bootstrap(), "orders", &after);
    let start = Instant::now();
    while rdkafka::consume(&dst.bootstrap(), "orders").unwrap().len() < 50 {
        assert!(start.elapsed() < Duration::from_secs(30), "not mirrored");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The mirror holds the 50 later records, from destination offset 0.
    let mirrored = rdkafka::consume(&dst.bootstrap(), "orders").unwrap();
    assert_eq!(mirrored.len(), 50);
    // A consumer that has read 20 of them (source position 120) resumes on the destination at
    // the 21st: offset 20, the record with the same key.
    client(&src.bootstrap())
        .await
        .offset_commit("reader", &[("orders".into(), 0, 120)])
        .await
        .unwrap();
    wait_committed(&dst.bootstrap(), "reader", &BTreeMap::from([(0, 20)])).await;
    let source_all = rdkafka::consume(&src.bootstrap(), "orders").unwrap();
    let at_source = source_all.iter().find(|m| m.offset == 120).unwrap();
    let at_dest = mirrored.iter().find(|m| m.offset == 20).unwrap();
    assert_eq!(at_source.key, at_dest.key);
    assert_eq!(at_source.value, at_dest.value);
    s.stop().await;
}

/// `consumer.group.prefix.enable=true` with `cluster.link.prefix=west.`: the source's group
/// `billing` is committed on the destination as `west.billing`, on the prefixed mirror topic
/// `west.orders`, and nothing is committed under the unprefixed name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_names_take_the_link_prefix_when_asked() {
    let src = TansuCluster::start("gp-src").unwrap();
    let dst = TansuCluster::start("gp-dst").unwrap();
    rdkafka::create_topic(&src.bootstrap(), "orders", 2).unwrap();
    let records = varied_records(100, 2, "g");
    produce(&src.bootstrap(), "orders", &records);
    let source = client(&src.bootstrap()).await;
    source
        .offset_commit(
            "billing",
            &[("orders".into(), 0, 12), ("orders".into(), 1, 21)],
        )
        .await
        .unwrap();
    let s = Server::start(&dst.bootstrap()).await;
    let filters = json!({"groupFilters": [
        {"name": "*", "patternType": "LITERAL", "filterType": "INCLUDE"}]})
    .to_string();
    let (st, v) = s
        .post(
            "/v3/clusters/gp-dst/links?link_name=l",
            json!({"source_cluster_id": "gp-src", "configs": [
                {"name": "bootstrap.servers", "value": src.bootstrap()},
                {"name": "cluster.link.prefix", "value": "west."},
                {"name": "consumer.group.prefix.enable", "value": "true"},
                {"name": "consumer.offset.sync.enable", "value": "true"},
                {"name": "consumer.offset.sync.ms", "value": "200"},
                {"name": "consumer.offset.group.filters", "value": filters}]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let (st, v) = s
        .post(
            "/v3/clusters/gp-dst/links/l/mirrors",
            json!({"source_topic_name": "orders", "mirror_topic_name": "west.orders"}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    s.wait_for(
        "/v3/clusters/gp-dst/links/l/mirrors/west.orders",
        "caught up",
        caught_up(100),
    )
    .await;
    wait_committed_on(
        &dst.bootstrap(),
        "west.billing",
        "west.orders",
        &BTreeMap::from([(0, 12), (1, 21)]),
    )
    .await;
    let plain = rdkafka::committed(&dst.bootstrap(), "billing", "west.orders").unwrap();
    assert!(plain.values().all(|o| *o < 0), "{plain:?}");
    // Applied, so not reported as stored-only.
    let (_, v) = s.get("/v3/clusters/gp-dst/links/l").await;
    assert!(
        !v["not_implemented_configs"]
            .as_array()
            .is_some_and(|a| a.iter().any(|c| c == "consumer.group.prefix.enable")),
        "{v:#}"
    );
    s.stop().await;
}
