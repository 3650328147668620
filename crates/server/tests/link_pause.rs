//! `cluster.link.paused`: the whole link stops fetching (mirrors report LINK_PAUSED, the link
//! PAUSED) and resumes where it stopped. On Apache Kafka and tansu.

mod support;

use std::time::Duration;

use clusterlink_testkit::rdkafka::{self, varied_records};
use serde_json::json;
use support::*;

async fn a_paused_link_stops_and_resumes_where_it_stopped(peer: Peer) {
    let (src, dst) = peer.pair().unwrap();
    let topic = unique_name("orders");
    rdkafka::create_topic(&src.bootstrap(), &topic, 1).unwrap();
    produce(&src.bootstrap(), &topic, &varied_records(50, 1, "a"));
    let s = Server::start(&dst.bootstrap()).await;
    let (st, v) = s.create_link("l", &src, &[]).await;
    assert_eq!(st, 204, "{v:#}");
    let (st, v) = s.create_mirror("l", &topic).await;
    assert_eq!(st, 204, "{v:#}");
    let mirror = format!("{}/l/mirrors/{topic}", s.links());
    s.wait_for(&mirror, "caught up", caught_up(50)).await;
    let (st, v) = s
        .put(
            &format!("{}/l/configs/cluster.link.paused", s.links()),
            json!({"value": "true"}),
        )
        .await;
    assert!(st == 204 || st == 200, "{st} {v:#}");
    s.wait_for(&mirror, "LINK_PAUSED", |v| {
        v["mirror_status"] == "LINK_PAUSED"
    })
    .await;
    let (_, link) = s.get(&format!("{}/l", s.links())).await;
    assert_eq!(link["link_state"], "PAUSED");
    produce(&src.bootstrap(), &topic, &varied_records(30, 1, "b"));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        rdkafka::consume(&dst.bootstrap(), &topic).unwrap().len(),
        50
    );
    let (st, _) = s
        .delete(&format!("{}/l/configs/cluster.link.paused", s.links()))
        .await;
    assert!(st == 204 || st == 200);
    s.wait_for(&mirror, "resumed and caught up", caught_up(80))
        .await;
    let mirrored = rdkafka::consume(&dst.bootstrap(), &topic).unwrap();
    assert_eq!(mirrored.len(), 80);
    // Resumed where it stopped: the same offsets as the source, nothing skipped or repeated.
    let source = rdkafka::consume(&src.bootstrap(), &topic).unwrap();
    assert_eq!(
        rdkafka::by_partition(&mirrored),
        rdkafka::by_partition(&source)
    );
    assert_eq!(offsets(&mirrored), offsets(&source));
    s.stop().await;
}

peer_tests! {
    a_paused_link_stops_and_resumes_where_it_stopped: [kafka, tansu];
}
