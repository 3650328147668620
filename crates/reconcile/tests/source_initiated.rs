//! Source-initiated links through the reconcile core, on two clusters with their link servers:
//! the CFK page's source-initiated bidirectional example in the order CFK rejects (Outbound
//! first: reported, then established once the Inbound side exists), and a unidirectional pair
//! in the order CFK requires. Data checked with librdkafka. On Apache Kafka (the run's two
//! shared clusters, so topic and link names get a unique suffix) and tansu.

use std::time::{Duration, Instant};

use clusterlink_model::{ClusterLink, KafkaRestClass};
use clusterlink_reconcile::status::{condition, READY, RECONCILED};
use clusterlink_reconcile::{LinkOutcome, LinkReconciler, Objects};
use clusterlink_testkit::kafka::unique_name;
use clusterlink_testkit::link_server::LinkServer;
use clusterlink_testkit::peer::Peer;
use clusterlink_testkit::{peer_tests, rdkafka};
use serde_json::{json, Value};

fn link(ns: &str, name: &str, spec: Value) -> ClusterLink {
    serde_json::from_value(json!({
        "apiVersion": "platform.confluent.io/v1beta1", "kind": "ClusterLink",
        "metadata": {"name": name, "namespace": ns, "uid": format!("{name}-uid")},
        "spec": spec,
    }))
    .unwrap()
}

/// Both KafkaRestClasses in both namespaces, as each side's CFK installation would have them.
fn objects(src_url: &str, dst_url: &str, links: &[&ClusterLink]) -> Objects {
    let mut o = Objects::new();
    for ns in ["source", "destination"] {
        for (name, url) in [("kafka-src-rest", src_url), ("kafka-dest-rest", dst_url)] {
            let rc: KafkaRestClass = serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": ns},
                "spec": {"kafkaRest": {"endpoint": url}}
            }))
            .unwrap();
            o.add_rest_class(rc);
        }
    }
    for l in links {
        o.add_cluster_link((*l).clone());
    }
    o
}

fn ready(out: &LinkOutcome) -> Option<(String, String)> {
    condition(out.status.conditions.as_deref().unwrap_or_default(), READY).map(|c| {
        (
            c.status.clone().unwrap_or_default(),
            c.reason.clone().unwrap_or_default(),
        )
    })
}

/// Ready, and applied without problems.
fn is_ready(out: &LinkOutcome) -> bool {
    ready(out).is_some_and(|(s, _)| s == "True")
        && condition(
            out.status.conditions.as_deref().unwrap_or_default(),
            RECONCILED,
        )
        .is_some_and(|c| c.status.as_deref() == Some("True"))
}

async fn until(
    r: &LinkReconciler,
    links: &mut [&mut ClusterLink],
    o: &Objects,
    what: &str,
    done: impl Fn(&[LinkOutcome]) -> bool,
) -> Vec<LinkOutcome> {
    let start = Instant::now();
    loop {
        let mut outs = Vec::new();
        for l in links.iter_mut() {
            let out = r.reconcile(l, o).await;
            l.status = Some(out.status.clone());
            outs.push(out);
        }
        if done(&outs) {
            return outs;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "timed out waiting for {what}: {:#?}",
            outs.iter().map(|o| &o.status).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_records(bootstrap: &str, topic: &str, n: usize) {
    let start = Instant::now();
    while rdkafka::consume(bootstrap, topic).unwrap().len() != n {
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "{topic} not mirrored"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn the_pages_source_initiated_bidirectional_example_outbound_first(peer: Peer) {
    let (s, d) = peer.pair().unwrap();
    let [forward, reverse, link_name] =
        ["forward-topic", "reverse-topic", "bidirectional-link"].map(unique_name);
    rdkafka::create_topic(&s.bootstrap(), &forward, 1).unwrap();
    rdkafka::create_topic(&d.bootstrap(), &reverse, 1).unwrap();
    rdkafka::produce_all(
        &s.bootstrap(),
        &forward,
        &rdkafka::varied_records(90, 1, "forward-topic"),
    );
    rdkafka::produce_all(
        &d.bootstrap(),
        &reverse,
        &rdkafka::varied_records(60, 1, "reverse-topic"),
    );
    let ss = LinkServer::start(&s.bootstrap()).await;
    let ds = LinkServer::start(&d.bootstrap()).await;
    // The page's resources; tls and authentication dropped (the local clusters are plaintext).
    let mut dest = link(
        "destination",
        "dest-cluster-link",
        json!({
            "name": link_name,
            "sourceInitiatedLink": {"linkMode": "Bidirectional", "connectionMode": "Inbound"},
            "destinationKafkaCluster": {"kafkaRestClassRef": {"name": "kafka-dest-rest"}},
            "sourceKafkaCluster": {"clusterID": s.cluster_id(), "kafkaRestClassRef": {"name": "kafka-src-rest"}},
            "mirrorTopics": [{"name": forward, "direction": "toDestination"}],
        }),
    );
    let mut src = link(
        "source",
        "src-cluster-link",
        json!({
            "name": link_name,
            "sourceInitiatedLink": {"linkMode": "Bidirectional", "connectionMode": "Outbound"},
            "sourceKafkaCluster": {"bootstrapEndpoint": d.bootstrap(), "kafkaRestClassRef": {"name": "kafka-dest-rest"}},
            "destinationKafkaCluster": {"kafkaRestClassRef": {"name": "kafka-src-rest"}},
            "mirrorTopics": [{"name": reverse, "direction": "toDestination"}],
        }),
    );
    let r = LinkReconciler::new(Duration::from_secs(10));

    // Outbound first: nothing is created; the condition names what is missing.
    let o = objects(&ss.url(), &ds.url(), &[&src, &dest]);
    let out = r.reconcile(&src, &o).await;
    src.status = Some(out.status.clone());
    assert_eq!(out.writes, 0);
    assert_eq!(
        ready(&out),
        Some(("False".into(), "WaitingForInboundLink".into()))
    );
    let c = condition(out.status.conditions.as_deref().unwrap(), READY).unwrap();
    assert!(
        c.message
            .as_deref()
            .unwrap()
            .contains("destination/dest-cluster-link"),
        "{c:?}"
    );
    assert!(ss.manager.links().is_empty());

    // The Inbound side appears: both halves come up, as one pair.
    let outs = until(&r, &mut [&mut dest, &mut src], &o, "both Ready", |o| {
        o.iter().all(is_ready)
    })
    .await;
    assert_eq!(
        outs[0].status.cluster_link_id,
        outs[1].status.cluster_link_id
    );
    wait_records(&d.bootstrap(), &forward, 90).await;
    wait_records(&s.bootstrap(), &reverse, 60).await;
    assert_eq!(
        rdkafka::by_partition(&rdkafka::consume(&d.bootstrap(), &forward).unwrap()),
        rdkafka::by_partition(&rdkafka::consume(&s.bootstrap(), &forward).unwrap())
    );
    // The Inbound side's status shows its mirror, moved by the other side.
    let fwd = outs[0].status.mirror_topics.as_ref().unwrap()[&forward].clone();
    assert_eq!(fwd.status.as_deref(), Some("ACTIVE"));
    ss.stop().await;
    ds.stop().await;
}

async fn a_unidirectional_source_initiated_pair_inbound_first(peer: Peer) {
    let (s, d) = peer.pair().unwrap();
    let [orders, link_name] = ["orders", "hybrid"].map(unique_name);
    rdkafka::create_topic(&s.bootstrap(), &orders, 1).unwrap();
    rdkafka::produce_all(
        &s.bootstrap(),
        &orders,
        &rdkafka::varied_records(70, 1, "orders"),
    );
    let ss = LinkServer::start(&s.bootstrap()).await;
    let ds = LinkServer::start(&d.bootstrap()).await;
    let mut dest = link(
        "destination",
        "to-cloud",
        json!({
            "name": link_name,
            "sourceInitiatedLink": {"linkMode": "Destination"},
            "destinationKafkaCluster": {"kafkaRestClassRef": {"name": "kafka-dest-rest"}},
            "sourceKafkaCluster": {"clusterID": s.cluster_id()},
            "mirrorTopics": [{"name": orders}],
        }),
    );
    let mut src = link(
        "source",
        "from-onprem",
        json!({
            "name": link_name,
            "sourceInitiatedLink": {"linkMode": "Source"},
            "sourceKafkaCluster": {"kafkaRestClassRef": {"name": "kafka-src-rest"}},
            "destinationKafkaCluster": {"bootstrapEndpoint": d.bootstrap(), "clusterID": d.cluster_id(),
                                        "kafkaRestClassRef": {"name": "kafka-dest-rest"}},
        }),
    );
    let o = objects(&ss.url(), &ds.url(), &[&src, &dest]);
    let r = LinkReconciler::new(Duration::from_secs(10));
    // The destination first (the order CFK requires): created, waiting for the source side.
    let out = r.reconcile(&dest, &o).await;
    dest.status = Some(out.status.clone());
    assert!(
        out.notes.iter().any(|n| n.reason == "LinkCreated"),
        "{:#?}",
        out.notes
    );
    let (_, reason) = ready(&out).unwrap();
    assert_eq!(reason, "LinkUnavailable");
    let outs = until(&r, &mut [&mut dest, &mut src], &o, "both Ready", |o| {
        o.iter().all(is_ready)
    })
    .await;
    assert_eq!(
        outs[1].status.source_kafka_cluster_id.as_deref(),
        Some(s.cluster_id().as_str())
    );
    assert_eq!(
        outs[1].status.destination_kafka_cluster_id.as_deref(),
        Some(d.cluster_id().as_str())
    );
    assert_eq!(
        outs[0].status.cluster_link_id,
        outs[1].status.cluster_link_id
    );
    wait_records(&d.bootstrap(), &orders, 70).await;

    // PROMOTE through the destination's resource: the pushing side finishes it.
    dest.spec.mirror_topics =
        serde_json::from_value(json!([{"name": orders, "state": "PROMOTE"}])).unwrap();
    let o = objects(&ss.url(), &ds.url(), &[&src, &dest]);
    let outs = until(&r, &mut [&mut dest], &o, "orders promoted", |o| {
        is_ready(&o[0])
            && o[0].status.mirror_topics.as_ref().unwrap()[&orders]
                .status
                .as_deref()
                == Some("STOPPED")
    })
    .await;
    assert_eq!(outs[0].stopped[0].topic, orders);
    ss.stop().await;
    ds.stop().await;
}

peer_tests! {
    the_pages_source_initiated_bidirectional_example_outbound_first: [kafka, tansu];
    a_unidirectional_source_initiated_pair_inbound_first: [kafka, tansu];
}
