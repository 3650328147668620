//! Deleting a ClusterLink whose link server stays unreachable: the operator keeps trying to
//! delete the link for `cleanup_deadline`, then removes its finalizer anyway with a Warning
//! Event (CleanupAbandoned), so that the resource, and the namespace it is in, can go. kube's
//! real controller runtime against the in-process fake API server, a real link server over
//! Apache Kafka.

use std::time::Duration;

use clusterlink_model::ClusterLink;
use clusterlink_testkit::kafka::unique_name;
use clusterlink_testkit::kube_api::FakeApiServer;
use clusterlink_testkit::link_server::LinkServer;
use clusterlink_testkit::peer::Peer;
use clusterlink_testkit::{peer_tests, rdkafka};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

mod support;

use support::{condition, events, link_from, rest_class, Operator};

async fn an_unreachable_link_server_does_not_hold_a_deletion_past_the_deadline(peer: Peer) {
    let (src, dst) = peer.pair().unwrap();
    let orders = unique_name("orders");
    rdkafka::create_topic(&src.bootstrap(), &orders, 1).unwrap();
    let server = LinkServer::start(&dst.bootstrap()).await;
    let fake = FakeApiServer::new();
    rest_class(&fake, &server.url(), json!({}));
    let links: Api<ClusterLink> = Api::namespaced(fake.client(), "dest");
    let link = link_from(
        "dest",
        "l",
        &unique_name("doomed"),
        &src.bootstrap(),
        &src.cluster_id(),
        json!([{"name": orders}]),
    );
    links.create(&PostParams::default(), &link).await.unwrap();
    let deadline = Duration::from_secs(4);
    let op = Operator::start_with_cleanup_deadline(fake.client(), None, "op", false, deadline);
    let limit = Duration::from_secs(45);
    support::eventually("Ready", limit, async || {
        let c = condition(&links.get("l").await.ok()?, "Ready")?;
        (c.0 == "True").then_some(())
    })
    .await;

    // The link server goes away for good; the resource is deleted.
    server.stop().await;
    links.delete("l", &DeleteParams::default()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        links.get_opt("l").await.unwrap().is_some(),
        "held by its finalizer while the clean-up is retried"
    );
    assert_eq!(events(&fake, "CleanupAbandoned"), 0);
    support::eventually("the resource gone after the deadline", limit, async || {
        links.get_opt("l").await.ok()?.is_none().then_some(())
    })
    .await;
    assert!(events(&fake, "CleanupAbandoned") >= 1);
    let warning = fake
        .list_raw("events.k8s.io/v1", "events")
        .into_iter()
        .find(|e| e["reason"] == "CleanupAbandoned")
        .unwrap();
    assert_eq!(warning["type"], "Warning", "{warning:#}");
    let note = warning["note"].as_str().unwrap_or_default();
    assert!(note.contains("may still exist"), "{note}");
    op.stop().await;
}

peer_tests! {
    an_unreachable_link_server_does_not_hold_a_deletion_past_the_deadline: [kafka];
}
