//! `cluster.link.paused`: the whole link stops fetching (mirrors report LINK_PAUSED, the link
//! PAUSED) and resumes where it stopped.

mod support;

use std::time::Duration;

use clusterlink_testkit::rdkafka::{self, varied_records};
use clusterlink_testkit::TansuCluster;
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_link_stops_and_resumes_where_it_stopped() {
    let src = TansuCluster::start("lp-src").unwrap();
    let dst = TansuCluster::start("lp-dst").unwrap();
    rdkafka::create_topic(&src.bootstrap(), "orders", 1).unwrap();
    produce(&src.bootstrap(), "orders", &varied_records(50, 1, "a"));
    let s = Server::start(&dst.bootstrap()).await;
    let (st, v) = s
        .post(
            "/v3/clusters/lp-dst/links?link_name=l",
            json!({"source_cluster_id": "lp-src", "configs": [
                {"name": "bootstrap.servers", "value": src.bootstrap()}]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let (st, _) = s
        .post(
            "/v3/clusters/lp-dst/links/l/mirrors",
            json!({"source_topic_name": "orders"}),
        )
        .await;
    assert_eq!(st, 204);
    let mirror = "/v3/clusters/lp-dst/links/l/mirrors/orders";
    s.wait_for(mirror, "caught up", caught_up(50)).await;
    let (st, v) = s
        .put(
            "/v3/clusters/lp-dst/links/l/configs/cluster.link.paused",
            json!({"value": "true"}),
        )
        .await;
    assert!(st == 204 || st == 200, "{st} {v:#}");
    s.wait_for(mirror, "LINK_PAUSED", |v| {
        v["mirror_status"] == "LINK_PAUSED"
    })
    .await;
    let (_, link) = s.get("/v3/clusters/lp-dst/links/l").await;
    assert_eq!(link["link_state"], "PAUSED");
    produce(&src.bootstrap(), "orders", &varied_records(30, 1, "b"));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        rdkafka::consume(&dst.bootstrap(), "orders").unwrap().len(),
        50
    );
    let (st, _) = s
        .delete("/v3/clusters/lp-dst/links/l/configs/cluster.link.paused")
        .await;
    assert!(st == 204 || st == 200);
    s.wait_for(mirror, "resumed and caught up", caught_up(80))
        .await;
    assert_eq!(
        rdkafka::consume(&dst.bootstrap(), "orders").unwrap().len(),
        80
    );
    s.stop().await;
}
