//! The reconcile core against a real link server over real brokers (two tansu clusters), data
//! checked with librdkafka: the whole life of a ClusterLink without Kubernetes.

use std::time::{Duration, Instant};

use clusterlink_kafka::client::NewTopic;
use clusterlink_model::{ClusterLink, KafkaRestClass, SecretValue};
use clusterlink_reconcile::rest_client::{RestClient, RestEndpoint};
use clusterlink_reconcile::status::{condition, READY, RECONCILED};
use clusterlink_reconcile::{LinkOutcome, LinkReconciler, Objects};
use clusterlink_testkit::link_server::{client, LinkServer};
use clusterlink_testkit::rdkafka::{self, Msg};
use clusterlink_testkit::sasl::SaslCluster;
use clusterlink_testkit::TansuCluster;
use serde_json::json;

async fn create_topic(bootstrap: &str, name: &str, partitions: i32) {
    let c = client(bootstrap).await;
    let t = NewTopic {
        name: name.into(),
        partitions,
        replication_factor: -1,
        configs: vec![],
    };
    c.create_topics(&[t], false, Duration::from_secs(10))
        .await
        .unwrap()[0]
        .1
        .as_ref()
        .unwrap();
}

fn objects(url: &str, jaas_password: &str) -> Objects {
    let mut o = Objects::new();
    let rc: KafkaRestClass = serde_json::from_value(json!({
        "apiVersion": "platform.confluent.io/v1beta1", "kind": "KafkaRestClass",
        "metadata": {"name": "dest-rest", "namespace": "dest"},
        "spec": {"kafkaRest": {"endpoint": url}}
    }))
    .unwrap();
    o.add_rest_class(rc);
    o.add_secret(
        "dest",
        "src-creds",
        [(
            "plain.txt".to_string(),
            SecretValue::new(format!("username=mirror\npassword={jaas_password}")),
        )],
    );
    o
}

fn cluster_link(source: &str, mirrors: serde_json::Value) -> ClusterLink {
    serde_json::from_value(json!({
        "apiVersion": "platform.confluent.io/v1beta1", "kind": "ClusterLink",
        "metadata": {"name": "orders-link", "namespace": "dest", "uid": "0154a475-aaaa-bbbb", "generation": 1},
        "spec": {
            "sourceKafkaCluster": {"bootstrapEndpoint": source, "clusterID": "src-cluster",
                "authentication": {"type": "plain", "jaasConfig": {"secretRef": "src-creds"}}},
            "destinationKafkaCluster": {"kafkaRestClassRef": {"name": "dest-rest"}},
            "configs": {"metadata.max.age.ms": "60000"},
            "mirrorTopics": mirrors,
        }
    }))
    .unwrap()
}

/// Reconciles until `done`, feeding each status back as the operator would.
async fn until(
    r: &LinkReconciler,
    link: &mut ClusterLink,
    o: &Objects,
    what: &str,
    done: impl Fn(&LinkOutcome) -> bool,
) -> LinkOutcome {
    let start = Instant::now();
    loop {
        let out = r.reconcile(link, o).await;
        link.status = Some(out.status.clone());
        if done(&out) {
            return out;
        }
        if start.elapsed() > Duration::from_secs(40) {
            panic!("timed out waiting for {what}: {:#?}", out.status);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn ready(out: &LinkOutcome) -> bool {
    condition(out.status.conditions.as_deref().unwrap_or_default(), READY)
        .is_some_and(|c| c.status.as_deref() == Some("True"))
}

fn mirror_status(out: &LinkOutcome, topic: &str) -> Option<String> {
    out.status
        .mirror_topics
        .as_ref()
        .and_then(|m| m.get(topic))
        .and_then(|m| m.status.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_link_through_its_whole_life() {
    // The link authenticates (SASL PLAIN, from the ClusterLink's authentication block) with the
    // first password, then the rotated one; set-up and checks use plain clients.
    let src = SaslCluster::start_mixed("src-cluster", &[("mirror", "first"), ("mirror", "second")])
        .unwrap();
    let dst = TansuCluster::start("dst-cluster").unwrap();
    create_topic(&src.bootstrap(), "orders", 2).await;
    create_topic(&src.bootstrap(), "payments", 1).await;
    create_topic(&src.bootstrap(), "extra", 1).await;
    let orders = rdkafka::varied_records(300, 2, "o");
    rdkafka::produce_all(&src.bootstrap(), "orders", &orders);
    rdkafka::produce_all(
        &src.bootstrap(),
        "payments",
        &rdkafka::varied_records(50, 1, "p"),
    );
    let server = LinkServer::start(&dst.bootstrap()).await;
    let o = objects(&server.url(), "first");
    let r = LinkReconciler::new(Duration::from_secs(10));
    let mut link = cluster_link(
        &src.bootstrap(),
        json!([{"name": "orders"}, {"name": "payments"}]),
    );

    // First pass: the link and both mirrors are created.
    let out = r.reconcile(&link, &o).await;
    link.status = Some(out.status.clone());
    let reasons: Vec<&str> = out.notes.iter().map(|n| n.reason.as_str()).collect();
    assert_eq!(
        reasons
            .iter()
            .filter(|r| ["LinkCreated", "MirrorTopicCreated"].contains(r))
            .count(),
        3,
        "{:#?}",
        out.notes
    );
    assert_eq!(out.writes, 3);
    assert_eq!(out.status.state.as_deref(), Some("CREATED"));
    assert_eq!(
        out.status.destination_kafka_cluster_id.as_deref(),
        Some("dst-cluster")
    );
    assert_eq!(
        out.status.source_kafka_cluster_id.as_deref(),
        Some("src-cluster")
    );
    assert!(out.status.cluster_link_id.is_some());
    assert!(!format!("{out:?}").contains("password=first"));

    // Mirroring catches up; Ready reflects it.
    let out = until(&r, &mut link, &o, "ready and caught up", |out| {
        ready(out)
            && out
                .status
                .mirror_topics
                .as_ref()
                .is_some_and(|m| m.values().all(|t| t.max_lag == Some(0)))
    })
    .await;
    assert_eq!(out.status.num_mirror_topics, Some(2));
    let got = rdkafka::consume(&dst.bootstrap(), "orders").unwrap();
    assert_eq!(
        rdkafka::by_partition(&got),
        rdkafka::by_partition(&orders),
        "the mirror holds exactly the source's records"
    );

    // Nothing changed: no write call, and Ready keeps its transition time.
    let before = condition(out.status.conditions.as_deref().unwrap(), READY)
        .unwrap()
        .clone();
    let out = r.reconcile(&link, &o).await;
    link.status = Some(out.status.clone());
    assert_eq!(out.writes, 0, "{:#?}", out.notes);
    let after = condition(out.status.conditions.as_deref().unwrap(), READY).unwrap();
    assert_eq!(after.last_transition_time, before.last_transition_time);

    // A rotated credential is sent again (its value is never shown, so a digest decides).
    let rotated = objects(&server.url(), "second");
    let out = r.reconcile(&link, &rotated).await;
    link.status = Some(out.status.clone());
    assert_eq!(out.writes, 1, "{:#?}", out.notes);
    assert!(out.notes.iter().any(|n| n.reason == "LinkConfigsAltered"
        && n.message.contains("sasl.jaas.config")
        && !n.message.contains("second")));
    assert_eq!(r.reconcile(&link, &rotated).await.writes, 0);
    let o = rotated;

    // A mirror created by hand is not declared: deleted.
    let rest = RestClient::new(&RestEndpoint::plain(server.url())).unwrap();
    rest.create_mirror(
        "dst-cluster",
        "orders-link",
        "extra",
        "extra",
        &Default::default(),
        None,
    )
    .await
    .unwrap();
    let out = r.reconcile(&link, &o).await;
    link.status = Some(out.status.clone());
    assert!(
        out.notes
            .iter()
            .any(|n| n.reason == "MirrorTopicDeleted" && n.message.contains("extra")),
        "{:#?}",
        out.notes
    );
    let names: Vec<String> = rest
        .mirrors("dst-cluster", "orders-link")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["orders", "payments"]);

    // PAUSE, then ACTIVE again.
    link.spec.mirror_topics =
        serde_json::from_value(json!([{"name": "orders", "state": "PAUSE"}, {"name": "payments"}]))
            .unwrap();
    until(&r, &mut link, &o, "orders paused", |out| {
        mirror_status(out, "orders").as_deref() == Some("PAUSED") && ready(out)
    })
    .await;
    link.spec.mirror_topics =
        serde_json::from_value(json!([{"name": "orders"}, {"name": "payments"}])).unwrap();
    until(&r, &mut link, &o, "orders resumed", |out| {
        mirror_status(out, "orders").as_deref() == Some("ACTIVE") && ready(out)
    })
    .await;

    // Removed from the list: deleted.
    link.spec.mirror_topics = serde_json::from_value(json!([{"name": "orders"}])).unwrap();
    let out = r.reconcile(&link, &o).await;
    link.status = Some(out.status.clone());
    assert!(out
        .notes
        .iter()
        .any(|n| n.reason == "MirrorTopicDeleted" && n.message.contains("payments")));
    assert_eq!(out.status.num_mirror_topics, Some(1));

    // PROMOTE: STOPPED, handed over to a KafkaTopic, writable.
    link.spec.mirror_topics =
        serde_json::from_value(json!([{"name": "orders", "state": "PROMOTE"}])).unwrap();
    let out = until(&r, &mut link, &o, "orders promoted", |out| {
        mirror_status(out, "orders").as_deref() == Some("STOPPED") && ready(out)
    })
    .await;
    assert_eq!(out.stopped.len(), 1);
    assert_eq!(out.stopped[0].topic, "orders");
    assert_eq!(out.stopped[0].partitions, Some(2));
    let after_promote = vec![Msg {
        partition: 0,
        offset: -1,
        key: Some(rdkafka::hex(b"k")),
        value: Some(rdkafka::hex(b"written after promote")),
        headers: vec![],
        timestamp: 1_700_000_000_000,
        timestamp_type: 1,
    }];
    rdkafka::produce_all(&dst.bootstrap(), "orders", &after_promote);
    assert_eq!(
        rdkafka::consume(&dst.bootstrap(), "orders").unwrap().len(),
        301
    );

    // An invalid resource: a condition naming the field, and no REST call at all.
    let mut bad = link.clone();
    bad.spec.mirror_topics = serde_json::from_value(json!([{"name": "bad name!"}])).unwrap();
    let out = r.reconcile(&bad, &o).await;
    assert_eq!(out.writes, 0);
    let c = condition(out.status.conditions.as_deref().unwrap(), RECONCILED).unwrap();
    assert_eq!(c.reason.as_deref(), Some("InvalidSpec"));
    assert!(
        c.message
            .as_deref()
            .unwrap()
            .contains("spec.mirrorTopics[0].name"),
        "{c:?}"
    );

    // Deleted: the link is gone, the promoted topic stays.
    let notes = r.cleanup(&link, &o).await.unwrap();
    assert_eq!(notes[0].reason, "LinkDeleted");
    assert!(rest
        .link("dst-cluster", "orders-link")
        .await
        .unwrap()
        .is_none());
    assert!(rest.topic("dst-cluster", "orders").await.unwrap().is_some());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_link_server_is_a_retriable_condition_not_a_panic() {
    let port = clusterlink_testkit::free_port();
    let o = objects(&format!("http://127.0.0.1:{port}"), "x");
    let link = cluster_link("127.0.0.1:1", json!([{"name": "orders"}]));
    let out = LinkReconciler::new(Duration::from_secs(2))
        .reconcile(&link, &o)
        .await;
    assert_eq!(out.writes, 0);
    assert!(
        matches!(
            out.next,
            clusterlink_reconcile::Next::Retry("rest-unreachable")
        ),
        "{:?}",
        out.next
    );
    let c = condition(out.status.conditions.as_deref().unwrap(), READY).unwrap();
    assert_eq!(c.reason.as_deref(), Some("LinkServerUnavailable"));
    assert!(c.message.as_deref().unwrap().contains(&port.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_server_without_password_encoder_is_a_clear_condition_then_recovers() {
    let src = SaslCluster::start_mixed("src-cluster", &[("mirror", "secret")]).unwrap();
    let dst = TansuCluster::start("dst-cluster").unwrap();
    create_topic(&src.bootstrap(), "orders", 1).await;
    let mut no_encoder = clusterlink_testkit::link_server::options();
    no_encoder.password_encoder = None;
    let server = LinkServer::start_with(&dst.bootstrap(), no_encoder, "127.0.0.1:0").await;
    let addr = server.addr.clone();
    let o = objects(&server.url(), "secret");
    let r = LinkReconciler::new(Duration::from_secs(10));
    let mut link = cluster_link(&src.bootstrap(), json!([{"name": "orders"}]));
    let out = r.reconcile(&link, &o).await;
    link.status = Some(out.status.clone());
    let c = condition(out.status.conditions.as_deref().unwrap(), READY).unwrap();
    assert_eq!(c.status.as_deref(), Some("False"));
    assert_eq!(c.reason.as_deref(), Some("LinkServerRejected"));
    assert!(
        c.message
            .as_deref()
            .unwrap()
            .contains("no password encoder secret"),
        "{c:?}"
    );
    assert!(!c.message.as_deref().unwrap().contains("password=secret"));
    assert!(server.manager.links().is_empty());
    // Fixed: the link server restarted with its password encoder secret, same address.
    server.stop().await;
    let server = LinkServer::start_with(
        &dst.bootstrap(),
        clusterlink_testkit::link_server::options(),
        &addr,
    )
    .await;
    until(&r, &mut link, &o, "Ready once the encoder exists", ready).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_link_to_a_tls_source_through_its_cfk_tls_block() {
    use clusterlink_testkit::tls::{cert, TlsCluster};
    let src = TlsCluster::start("src-cluster").unwrap();
    let dst = TansuCluster::start("dst-cluster").unwrap();
    let server = LinkServer::start(&dst.bootstrap()).await;
    let mut o = objects(&server.url(), "unused");
    o.add_secret(
        "dest",
        "src-tls",
        [("cacerts.pem".to_string(), SecretValue::new(cert("ca.pem")))],
    );
    let mut link: ClusterLink = serde_json::from_value(json!({
        "apiVersion": "platform.confluent.io/v1beta1", "kind": "ClusterLink",
        "metadata": {"name": "tls-link", "namespace": "dest", "uid": "7f000001-0000", "generation": 1},
        "spec": {
            "sourceKafkaCluster": {"bootstrapEndpoint": src.bootstrap(), "clusterID": "src-cluster",
                "tls": {"enabled": true, "secretRef": "src-tls"}},
            "destinationKafkaCluster": {"kafkaRestClassRef": {"name": "dest-rest"}},
            "mirrorTopics": [],
        }
    }))
    .unwrap();
    let r = LinkReconciler::new(Duration::from_secs(10));
    let out = until(&r, &mut link, &o, "Ready over TLS", ready).await;
    assert_eq!(out.status.state.as_deref(), Some("CREATED"));
    let c = condition(out.status.conditions.as_deref().unwrap(), RECONCILED).unwrap();
    assert_eq!(c.status.as_deref(), Some("True"), "{c:?}");
    server.stop().await;
}
