//! The CFK page's destination-initiated bidirectional example (two ClusterLinks with the same
//! `spec.name`), adapted to two local clusters each with its link server: forward-topic is
//! mirrored one way, reverse-topic the other, the halves share one link id, `toSource` mirrors
//! are pushed through the other half, and a record can never loop back. On Apache Kafka (the
//! run's two shared clusters: the page's topic and link names get a unique suffix) and tansu.

use std::time::{Duration, Instant};

use clusterlink_model::{ClusterLink, KafkaRestClass};
use clusterlink_reconcile::rest_client::{RestClient, RestEndpoint};
use clusterlink_reconcile::status::{condition, READY, RECONCILED};
use clusterlink_reconcile::{LinkOutcome, LinkReconciler, Objects};
use clusterlink_testkit::kafka::unique_name;
use clusterlink_testkit::link_server::LinkServer;
use clusterlink_testkit::peer::Peer;
use clusterlink_testkit::{peer_tests, rdkafka};
use serde_json::{json, Value};

fn rest_class(ns: &str, name: &str, kafka: &str, url: &str) -> KafkaRestClass {
    serde_json::from_value(json!({
        "apiVersion": "platform.confluent.io/v1beta1", "kind": "KafkaRestClass",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"kafkaClusterRef": {"name": kafka}, "kafkaRest": {"endpoint": url}}
    }))
    .unwrap()
}

/// The names of the page's example, unique to this test (the clusters may be shared).
struct Names {
    link: String,
    forward: String,
    reverse: String,
    pushed: String,
}

impl Names {
    fn new() -> Names {
        Names {
            link: unique_name("bidirectional-link"),
            forward: unique_name("forward-topic"),
            reverse: unique_name("reverse-topic"),
            pushed: unique_name("pushed"),
        }
    }
}

/// The page's two resources; `bootstrapEndpoint` added (CFK discovers it from its Kafka resource).
fn page_links(
    n: &Names,
    src_bootstrap: &str,
    dst_bootstrap: &str,
    dest_extra: Value,
) -> (ClusterLink, ClusterLink) {
    let mut forward = vec![json!({"name": n.forward, "direction": "toDestination"})];
    if let Value::Array(extra) = dest_extra {
        forward.extend(extra);
    }
    let dest: ClusterLink = serde_json::from_value(json!({
        "apiVersion": "platform.confluent.io/v1beta1", "kind": "ClusterLink",
        "metadata": {"name": "dest-cluster-link", "namespace": "destination", "uid": "d0000000-0000"},
        "spec": {
            "name": n.link,
            "sourceInitiatedLink": {"linkMode": "Bidirectional"},
            "destinationKafkaCluster": {"name": "kafka-dest", "namespace": "destination"},
            "sourceKafkaCluster": {"name": "kafka-src", "namespace": "source", "bootstrapEndpoint": src_bootstrap},
            "mirrorTopics": forward,
        }
    }))
    .unwrap();
    let src: ClusterLink = serde_json::from_value(json!({
        "apiVersion": "platform.confluent.io/v1beta1", "kind": "ClusterLink",
        "metadata": {"name": "src-cluster-link", "namespace": "source", "uid": "50000000-0000"},
        "spec": {
            "name": n.link,
            "sourceInitiatedLink": {"linkMode": "Bidirectional"},
            "sourceKafkaCluster": {"name": "kafka-dest", "namespace": "destination", "bootstrapEndpoint": dst_bootstrap},
            "destinationKafkaCluster": {"name": "kafka-src", "namespace": "source"},
            "mirrorTopics": [{"name": n.reverse, "direction": "toDestination"}],
        }
    }))
    .unwrap();
    (dest, src)
}

fn objects(src_url: &str, dst_url: &str, links: &[&ClusterLink]) -> Objects {
    let mut o = Objects::new();
    o.add_rest_class(rest_class("source", "kafka-src-rest", "kafka-src", src_url));
    o.add_rest_class(rest_class(
        "destination",
        "kafka-dest-rest",
        "kafka-dest",
        dst_url,
    ));
    for l in links {
        o.add_cluster_link((*l).clone());
    }
    o
}

/// Ready, and applied without problems.
fn ready(out: &LinkOutcome) -> bool {
    let conds = out.status.conditions.as_deref().unwrap_or_default();
    [READY, RECONCILED]
        .iter()
        .all(|t| condition(conds, t).is_some_and(|c| c.status.as_deref() == Some("True")))
}

/// Reconciles both resources in turn until `done` holds for both outcomes.
async fn converge(
    r: &LinkReconciler,
    links: [&mut ClusterLink; 2],
    o: &Objects,
    what: &str,
    done: impl Fn(&LinkOutcome, &LinkOutcome) -> bool,
) -> (LinkOutcome, LinkOutcome) {
    let start = Instant::now();
    let [a, b] = links;
    loop {
        let oa = r.reconcile(a, o).await;
        a.status = Some(oa.status.clone());
        let ob = r.reconcile(b, o).await;
        b.status = Some(ob.status.clone());
        if done(&oa, &ob) {
            return (oa, ob);
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "timed out waiting for {what}: {:#?}\n{:#?}",
            oa.status,
            ob.status
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn the_pages_destination_initiated_bidirectional_example(peer: Peer) {
    let (a, b) = peer.pair().unwrap();
    let n = Names::new();
    rdkafka::create_topic(&a.bootstrap(), &n.forward, 1).unwrap();
    rdkafka::create_topic(&b.bootstrap(), &n.reverse, 1).unwrap();
    rdkafka::create_topic(&b.bootstrap(), &n.pushed, 1).unwrap();
    rdkafka::produce_all(
        &a.bootstrap(),
        &n.forward,
        &rdkafka::varied_records(120, 1, "forward-topic"),
    );
    rdkafka::produce_all(
        &b.bootstrap(),
        &n.reverse,
        &rdkafka::varied_records(80, 1, "reverse-topic"),
    );
    rdkafka::produce_all(
        &b.bootstrap(),
        &n.pushed,
        &rdkafka::varied_records(30, 1, "pushed"),
    );
    let sa = LinkServer::start(&a.bootstrap()).await;
    let sb = LinkServer::start(&b.bootstrap()).await;
    let (mut dest, mut src) = page_links(&n, &a.bootstrap(), &b.bootstrap(), json!([]));
    let o = objects(&sa.url(), &sb.url(), &[&dest, &src]);
    let r = LinkReconciler::new(Duration::from_secs(10));

    let (od, os) = converge(
        &r,
        [&mut dest, &mut src],
        &o,
        "both halves Ready",
        |d, s| ready(d) && ready(s),
    )
    .await;
    // One link pair: the second half was created with the first half's id.
    assert_eq!(od.status.cluster_link_id, os.status.cluster_link_id);
    assert_eq!(
        od.status.destination_kafka_cluster_id.as_deref(),
        Some(b.cluster_id().as_str())
    );
    assert_eq!(
        os.status.destination_kafka_cluster_id.as_deref(),
        Some(a.cluster_id().as_str())
    );

    // forward-topic A → B, reverse-topic B → A, checked with librdkafka.
    let wait_for = |bootstrap: String, topic: String, n: usize| async move {
        let start = Instant::now();
        while rdkafka::consume(&bootstrap, &topic).unwrap().len() != n {
            assert!(
                start.elapsed() < Duration::from_secs(40),
                "{topic} not mirrored"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    wait_for(b.bootstrap(), n.forward.clone(), 120).await;
    wait_for(a.bootstrap(), n.reverse.clone(), 80).await;
    assert_eq!(
        rdkafka::by_partition(&rdkafka::consume(&a.bootstrap(), &n.reverse).unwrap()),
        rdkafka::by_partition(&rdkafka::consume(&b.bootstrap(), &n.reverse).unwrap())
    );

    // No loop: forward-topic on B is a mirror of A's; A's half refuses to mirror it back,
    // under any name.
    let ra = RestClient::new(&RestEndpoint::plain(sa.url())).unwrap();
    let err = ra
        .create_mirror(
            &a.cluster_id(),
            &n.link,
            &unique_name("forward-again"),
            &n.forward,
            &Default::default(),
            None,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("would loop"), "{err}");
    let half = ra.link(&a.cluster_id(), &n.link).await.unwrap().unwrap();
    assert_eq!(
        half.remote_cluster_id.as_deref(),
        Some(b.cluster_id().as_str())
    );

    // A toSource mirror on the destination-side resource is pushed to the source cluster
    // through the other half; the source-side resource leaves it alone.
    let (mut dest2, _) = page_links(
        &n,
        &a.bootstrap(),
        &b.bootstrap(),
        json!([{"name": n.pushed, "direction": "toSource"}]),
    );
    dest2.status = dest.status.clone();
    let o = objects(&sa.url(), &sb.url(), &[&dest2, &src]);
    let (od, _) = converge(
        &r,
        [&mut dest2, &mut src],
        &o,
        "pushed mirrored to the source",
        |d, s| {
            ready(d)
                && ready(s)
                && d.status.num_reverse_mirror_topics == Some(1)
                && d.status
                    .reverse_mirror_topics
                    .as_ref()
                    .and_then(|m| m.get(&n.pushed))
                    .and_then(|m| m.status.as_deref())
                    == Some("ACTIVE")
        },
    )
    .await;
    assert!(od.notes.iter().all(|n| !n.warning), "{:#?}", od.notes);
    wait_for(a.bootstrap(), n.pushed.clone(), 30).await;

    // Removed from the list: deleted from the other half (it was this resource's).
    let (mut dest3, _) = page_links(&n, &a.bootstrap(), &b.bootstrap(), json!([]));
    dest3.status = dest2.status.clone();
    let o = objects(&sa.url(), &sb.url(), &[&dest3, &src]);
    converge(&r, [&mut dest3, &mut src], &o, "pushed deleted", |d, _| {
        d.status.num_reverse_mirror_topics == Some(0)
    })
    .await;
    let mirrors = ra.mirrors(&a.cluster_id(), &n.link).await.unwrap();
    assert_eq!(
        mirrors.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        [n.reverse.as_str()]
    );
    sa.stop().await;
    sb.stop().await;
}

peer_tests! {
    the_pages_destination_initiated_bidirectional_example: [kafka, tansu];
}
