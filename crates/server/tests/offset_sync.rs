//! Consumer offset sync on a link (`consumer.offset.sync.enable`): a group's committed offsets on
//! the source appear, translated, on the destination (read back with librdkafka), filtered by
//! `consumer.offset.group.filters`, and stop following once the mirror is promoted. On Apache
//! Kafka and tansu; on Kafka also read back with Kafka's own `kafka-consumer-groups`.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clusterlink_testkit::rdkafka::{self, varied_records};
use serde_json::json;
use support::*;

/// Waits until librdkafka reads `want` as `group`'s committed offsets of `topic` on `dst`; on
/// Kafka, `kafka-consumer-groups` must then report the same.
async fn wait_committed(dst: &Broker, group: &str, topic: &str, want: &BTreeMap<i32, i64>) {
    let start = Instant::now();
    loop {
        let got = rdkafka::committed(&dst.bootstrap(), group, topic).unwrap();
        if &got == want {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "group {group}: {got:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if dst.peer() == Peer::Kafka {
        assert_eq!(kafka_committed(dst, group, topic), *want);
    }
}

/// `group`'s committed offsets of `topic`, by Kafka's `kafka-consumer-groups`.
fn kafka_committed(dst: &Broker, group: &str, topic: &str) -> BTreeMap<i32, i64> {
    kafka::tools::group_offsets(&dst.bootstrap(), group)
        .unwrap()
        .into_iter()
        .filter(|((t, _), _)| t == topic)
        .filter_map(|((_, p), o)| Some((p, o?)))
        .collect()
}

/// Link `l` from `src` with consumer offset sync every 200 ms for the groups `filters` selects,
/// and `extra` configs.
async fn offset_sync_link(s: &Server, src: &Broker, filters: &str, extra: &[(&str, &str)]) {
    let mut configs = extra.to_vec();
    configs.extend([
        ("consumer.offset.sync.enable", "true"),
        ("consumer.offset.sync.ms", "200"),
        ("consumer.offset.group.filters", filters),
    ]);
    let (st, v) = s.create_link("l", src, &configs).await;
    assert_eq!(st, 204, "{v:#}");
}

/// A mirror of `topic` on link `l`, caught up with the source's `records`; its path.
async fn mirrored(s: &Server, topic: &str, records: i64) -> String {
    let (st, v) = s.create_mirror("l", topic).await;
    assert_eq!(st, 204, "{v:#}");
    let mirror = format!("{}/l/mirrors/{topic}", s.links());
    s.wait_for(&mirror, "caught up", caught_up(records)).await;
    mirror
}

async fn consumer_group_offsets_follow_the_source_until_promotion(peer: Peer) {
    let (src, dst) = peer.pair().unwrap();
    let orders = unique_name("orders");
    // The groups of this test share a prefix that the filters select (the source may be shared).
    let run = unique_name("os");
    let (billing, scratch) = (format!("{run}-billing"), format!("{run}-tmp-scratch"));
    rdkafka::create_topic(&src.bootstrap(), &orders, 2).unwrap();
    let records = varied_records(200, 2, "o");
    produce(&src.bootstrap(), &orders, &records);
    let end0 = records.iter().filter(|r| r.partition == 0).count() as i64;
    let end1 = records.iter().filter(|r| r.partition == 1).count() as i64;
    assert!(end0 > 30 && end1 > 50);
    // Groups on the source, as their consumers would have committed.
    let source = client(&src.bootstrap()).await;
    source
        .offset_commit(
            &billing,
            &[(orders.clone(), 0, 30), (orders.clone(), 1, 50)],
        )
        .await
        .unwrap();
    source
        .offset_commit(&scratch, &[(orders.clone(), 0, 7)])
        .await
        .unwrap();
    let s = Server::start(&dst.bootstrap()).await;
    let filters = json!({"groupFilters": [
        {"name": format!("{run}-"), "patternType": "PREFIXED", "filterType": "INCLUDE"},
        {"name": format!("{run}-tmp-"), "patternType": "PREFIXED", "filterType": "EXCLUDE"}]})
    .to_string();
    offset_sync_link(&s, &src, &filters, &[]).await;
    let mirror = mirrored(&s, &orders, 200).await;
    // Aligned offsets: the same positions on the destination.
    wait_committed(&dst, &billing, &orders, &BTreeMap::from([(0, 30), (1, 50)])).await;
    // An excluded group is never synced.
    let got = rdkafka::committed(&dst.bootstrap(), &scratch, &orders).unwrap();
    assert!(got.values().all(|o| *o < 0), "{got:?}");
    // The source group moves on, to the end of partition 0: the destination follows.
    source
        .offset_commit(&billing, &[(orders.clone(), 0, end0)])
        .await
        .unwrap();
    wait_committed(
        &dst,
        &billing,
        &orders,
        &BTreeMap::from([(0, end0), (1, 50)]),
    )
    .await;
    // The link's configs show the sync as applied, not as stored-only.
    let (_, v) = s.get(&format!("{}/l", s.links())).await;
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
            &format!("{}/l/mirrors:promote", s.links()),
            json!({"mirror_topic_names": [orders]}),
        )
        .await;
    assert_eq!(st, 200);
    s.wait_for(&mirror, "promoted", |v| v["mirror_status"] == "STOPPED")
        .await;
    source
        .offset_commit(&billing, &[(orders.clone(), 1, end1 - 1)])
        .await
        .unwrap();
    // Several sync intervals (200 ms) later, nothing moved.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let after = rdkafka::committed(&dst.bootstrap(), &billing, &orders).unwrap();
    assert_eq!(after, BTreeMap::from([(0, end0), (1, 50)]));
    if peer == Peer::Kafka {
        assert_eq!(kafka_committed(&dst, &billing, &orders), after);
    }
    s.stop().await;
}

/// A mirror that started at the source's end (`mirror.start.offset.spec=latest`) has translated
/// offsets: a group's source position maps to where the same record sits on the destination.
/// The filter is `*`: every group of the source, which may be shared with other tests (only
/// groups with offsets on this test's mirrored topic are committed on the destination).
async fn translated_offsets_point_at_the_same_records(peer: Peer) {
    let (src, dst) = peer.pair().unwrap();
    let orders = unique_name("orders");
    let reader = unique_name("reader");
    rdkafka::create_topic(&src.bootstrap(), &orders, 1).unwrap();
    produce(&src.bootstrap(), &orders, &varied_records(100, 1, "before"));
    let s = Server::start(&dst.bootstrap()).await;
    let filters =
        json!({"groupFilters": [{"name": "*", "patternType": "LITERAL", "filterType": "INCLUDE"}]})
            .to_string();
    offset_sync_link(
        &s,
        &src,
        &filters,
        &[("mirror.start.offset.spec", "latest")],
    )
    .await;
    let (st, v) = s.create_mirror("l", &orders).await;
    assert_eq!(st, 204, "{v:#}");
    let after = varied_records(50, 1, "after");
    produce(&src.bootstrap(), &orders, &after);
    let start = Instant::now();
    while rdkafka::consume(&dst.bootstrap(), &orders).unwrap().len() < 50 {
        assert!(start.elapsed() < Duration::from_secs(30), "not mirrored");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The mirror holds the 50 later records, from destination offset 0.
    let mirrored = rdkafka::consume(&dst.bootstrap(), &orders).unwrap();
    assert_eq!(mirrored.len(), 50);
    assert_eq!(mirrored.iter().map(|m| m.offset).min(), Some(0));
    // A consumer that has read 20 of them (source position 120) resumes on the destination at
    // the 21st: offset 20, the record with the same key.
    client(&src.bootstrap())
        .await
        .offset_commit(&reader, &[(orders.clone(), 0, 120)])
        .await
        .unwrap();
    wait_committed(&dst, &reader, &orders, &BTreeMap::from([(0, 20)])).await;
    let source_all = rdkafka::consume(&src.bootstrap(), &orders).unwrap();
    let at_source = source_all.iter().find(|m| m.offset == 120).unwrap();
    let at_dest = mirrored.iter().find(|m| m.offset == 20).unwrap();
    assert_eq!(at_source.key, at_dest.key);
    assert_eq!(at_source.value, at_dest.value);
    s.stop().await;
}

/// `consumer.group.prefix.enable=true` with `cluster.link.prefix=west.`: the source's group
/// `billing` is committed on the destination as `west.billing`, on the prefixed mirror topic
/// `west.orders`, and nothing is committed under the unprefixed name.
async fn group_names_take_the_link_prefix_when_asked(peer: Peer) {
    let (src, dst) = peer.pair().unwrap();
    let orders = unique_name("orders");
    let billing = unique_name("billing");
    rdkafka::create_topic(&src.bootstrap(), &orders, 2).unwrap();
    let records = varied_records(100, 2, "g");
    produce(&src.bootstrap(), &orders, &records);
    let source = client(&src.bootstrap()).await;
    source
        .offset_commit(
            &billing,
            &[(orders.clone(), 0, 12), (orders.clone(), 1, 21)],
        )
        .await
        .unwrap();
    let s = Server::start(&dst.bootstrap()).await;
    let filters = json!({"groupFilters": [
        {"name": billing, "patternType": "LITERAL", "filterType": "INCLUDE"}]})
    .to_string();
    offset_sync_link(
        &s,
        &src,
        &filters,
        &[
            ("cluster.link.prefix", "west."),
            ("consumer.group.prefix.enable", "true"),
        ],
    )
    .await;
    let west_orders = format!("west.{orders}");
    let (st, v) = s
        .post(
            &format!("{}/l/mirrors", s.links()),
            json!({"source_topic_name": orders, "mirror_topic_name": west_orders}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    s.wait_for(
        &format!("{}/l/mirrors/{west_orders}", s.links()),
        "caught up",
        caught_up(100),
    )
    .await;
    wait_committed(
        &dst,
        &format!("west.{billing}"),
        &west_orders,
        &BTreeMap::from([(0, 12), (1, 21)]),
    )
    .await;
    let plain = rdkafka::committed(&dst.bootstrap(), &billing, &west_orders).unwrap();
    assert!(plain.values().all(|o| *o < 0), "{plain:?}");
    // Applied, so not reported as stored-only.
    let (_, v) = s.get(&format!("{}/l", s.links())).await;
    assert!(
        !v["not_implemented_configs"]
            .as_array()
            .is_some_and(|a| a.iter().any(|c| c == "consumer.group.prefix.enable")),
        "{v:#}"
    );
    s.stop().await;
}

/// A group with a live member on the destination (librdkafka, subscribed to the mirror topic,
/// committing for itself) is left alone: the source's offsets do not overwrite the member's
/// commit while it is there. Once it has left, the group is empty and follows the source again.
async fn a_group_active_on_the_destination_is_left_alone(peer: Peer) {
    let (src, dst) = peer.pair().unwrap();
    let orders = unique_name("orders");
    let group = unique_name("live");
    rdkafka::create_topic(&src.bootstrap(), &orders, 1).unwrap();
    produce(&src.bootstrap(), &orders, &varied_records(100, 1, "a"));
    client(&src.bootstrap())
        .await
        .offset_commit(&group, &[(orders.clone(), 0, 40)])
        .await
        .unwrap();
    let s = Server::start(&dst.bootstrap()).await;
    let (st, v) = s.create_link("l", &src, &[]).await;
    assert_eq!(st, 204, "{v:#}");
    mirrored(&s, &orders, 100).await;
    // A consumer on the destination, in the group, that committed 10 for itself.
    let member = rdkafka::GroupMember::join(&dst.bootstrap(), &group, &orders, 10).unwrap();
    let filters = json!({"groupFilters": [
        {"name": group, "patternType": "LITERAL", "filterType": "INCLUDE"}]})
    .to_string();
    let (st, v) = s
        .post(
            &format!("{}/l/configs:alter", s.links()),
            json!({"data": [
                {"name": "consumer.offset.sync.enable", "value": "true"},
                {"name": "consumer.offset.sync.ms", "value": "200"},
                {"name": "consumer.offset.group.filters", "value": filters}]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    // Many sync rounds (200 ms) later, the member's commit stands.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        rdkafka::committed(&dst.bootstrap(), &group, &orders).unwrap(),
        BTreeMap::from([(0, 10)])
    );
    if peer == Peer::Kafka {
        assert_eq!(
            kafka_committed(&dst, &group, &orders),
            BTreeMap::from([(0, 10)])
        );
    }
    // The member leaves: the empty group takes the source's offset.
    member.leave().unwrap();
    wait_committed(&dst, &group, &orders, &BTreeMap::from([(0, 40)])).await;
    s.stop().await;
}

peer_tests! {
    consumer_group_offsets_follow_the_source_until_promotion: [kafka, tansu];
    translated_offsets_point_at_the_same_records: [kafka, tansu];
    group_names_take_the_link_prefix_when_asked: [kafka, tansu];
    a_group_active_on_the_destination_is_left_alone: [kafka];
    a_synced_offset_below_the_destination_log_start_is_clamped: [kafka];
}

/// The destination's log start is 30 (DeleteRecords ran on the mirror topic): a source group
/// at offset 10 is committed on the destination at 30, the first offset a consumer can read
/// there (else its consumer would find 10 out of range and jump to the end, by default),
/// while a group at 40 keeps 40. Read back with `kafka-consumer-groups`.
async fn a_synced_offset_below_the_destination_log_start_is_clamped(peer: Peer) {
    let (src, dst) = peer.pair().unwrap();
    let orders = unique_name("orders");
    let run = unique_name("clamp");
    let (behind, ahead) = (format!("{run}-behind"), format!("{run}-ahead"));
    rdkafka::create_topic(&src.bootstrap(), &orders, 1).unwrap();
    produce(&src.bootstrap(), &orders, &varied_records(50, 1, "c"));
    let s = Server::start(&dst.bootstrap()).await;
    let filters = json!({"groupFilters": [
        {"name": format!("{run}-"), "patternType": "PREFIXED", "filterType": "INCLUDE"}]})
    .to_string();
    offset_sync_link(&s, &src, &filters, &[]).await;
    mirrored(&s, &orders, 50).await;
    let destination = client(&dst.bootstrap()).await;
    destination
        .delete_records(&orders, &[(0, 30)], Duration::from_secs(10))
        .await
        .unwrap();
    let source = client(&src.bootstrap()).await;
    source
        .offset_commit(&behind, &[(orders.clone(), 0, 10)])
        .await
        .unwrap();
    source
        .offset_commit(&ahead, &[(orders.clone(), 0, 40)])
        .await
        .unwrap();
    wait_committed(&dst, &behind, &orders, &BTreeMap::from([(0, 30)])).await;
    wait_committed(&dst, &ahead, &orders, &BTreeMap::from([(0, 40)])).await;
    assert_eq!(
        kafka_committed(&dst, &behind, &orders),
        BTreeMap::from([(0, 30)])
    );
    s.stop().await;
}
