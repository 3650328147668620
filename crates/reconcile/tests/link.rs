//! The reconcile core against a real link server over real brokers, data checked with
//! librdkafka: the whole life of a ClusterLink without Kubernetes. Every test runs on Apache
//! Kafka (the source a private cluster with a SASL or TLS listener, the destination the run's
//! shared cluster, so every name is unique) and on tansu (behind a SASL or TLS front).

use std::time::{Duration, Instant};

use clusterlink_kafka::client::NewTopic;
use clusterlink_model::{ClusterLink, KafkaRestClass, SecretValue};
use clusterlink_reconcile::rest_client::{RestClient, RestEndpoint};
use clusterlink_reconcile::status::{condition, READY, RECONCILED};
use clusterlink_reconcile::{LinkOutcome, LinkReconciler, Objects};
use clusterlink_testkit::kafka::{self, unique_name, KafkaCluster, Listener};
use clusterlink_testkit::link_server::{client, LinkServer};
use clusterlink_testkit::peer::{Peer, SaslBroker, Side};
use clusterlink_testkit::peer_tests;
use clusterlink_testkit::rdkafka::{self, Msg};
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

/// The source of the SASL tests: its id, where the link authenticates, and how (CFK's
/// authentication type). On Kafka SCRAM (`digest`, SCRAM-SHA-512), whose credential the broker
/// lets a test change, so that a rotation is a real one; on tansu PLAIN, whose front knows both
/// passwords of a rotation.
struct Source {
    id: String,
    bootstrap: String,
    auth: &'static str,
}

impl Source {
    fn of(b: &SaslBroker) -> Source {
        Source {
            id: b.cluster_id(),
            bootstrap: b.sasl_bootstrap(),
            auth: match b.peer() {
                Peer::Kafka => "digest",
                _ => "plain",
            },
        }
    }
}

fn cluster_link(name: &str, src: &Source, mirrors: serde_json::Value) -> ClusterLink {
    serde_json::from_value(json!({
        "apiVersion": "platform.confluent.io/v1beta1", "kind": "ClusterLink",
        "metadata": {"name": "orders-link", "namespace": "dest", "uid": "0154a475-aaaa-bbbb", "generation": 1},
        "spec": {
            "name": name,
            "sourceKafkaCluster": {"bootstrapEndpoint": src.bootstrap, "clusterID": src.id,
                "authentication": {"type": src.auth, "jaasConfig": {"secretRef": "src-creds"}}},
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

async fn a_cluster_link_through_its_whole_life(peer: Peer) {
    // The link authenticates (SASL, from the ClusterLink's authentication block) with the first
    // password, then the rotated one; set-up and checks use plain clients. Kafka's SASL
    // sessions last 2 s here (`connections.max.reauth.ms`, which managed services set): a
    // connection whose session expired is closed at its next request, so the link's
    // connections authenticate again with whatever credential it holds by then.
    let src_broker = match peer {
        Peer::Kafka => SaslBroker::Kafka(
            KafkaCluster::builder()
                .listener(Listener::SaslPlaintext)
                .user("mirror", "first")
                .prop("connections.max.reauth.ms", 2000)
                .start()
                .unwrap(),
        ),
        _ => peer
            .sasl_private("src-cluster", &[("mirror", "first"), ("mirror", "second")])
            .unwrap(),
    };
    let src = Source::of(&src_broker);
    let plain = src_broker.bootstrap();
    let dst = peer.cluster(Side::B).unwrap();
    let dst_id = dst.cluster_id();
    let [orders, payments, extra] = ["orders", "payments", "extra"].map(unique_name);
    let link_name = unique_name("orders-link");
    create_topic(&plain, &orders, 2).await;
    create_topic(&plain, &payments, 1).await;
    create_topic(&plain, &extra, 1).await;
    let records = rdkafka::varied_records(300, 2, "o");
    rdkafka::produce_all(&plain, &orders, &records);
    rdkafka::produce_all(&plain, &payments, &rdkafka::varied_records(50, 1, "p"));
    let server = LinkServer::start(&dst.bootstrap()).await;
    let o = objects(&server.url(), "first");
    let r = LinkReconciler::new(Duration::from_secs(10));
    let mut link = cluster_link(
        &link_name,
        &src,
        json!([{"name": orders}, {"name": payments}]),
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
        Some(dst_id.as_str())
    );
    assert_eq!(
        out.status.source_kafka_cluster_id.as_deref(),
        Some(src.id.as_str())
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
    let got = rdkafka::consume(&dst.bootstrap(), &orders).unwrap();
    assert_eq!(
        rdkafka::by_partition(&got),
        rdkafka::by_partition(&records),
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

    // A rotated credential is sent again (its value is never shown, so a digest decides). On
    // Kafka the broker's credential changes first, so the old password stops working there:
    // what follows (pause, resume, a promote that waits for lag zero) needs the new one.
    if let SaslBroker::Kafka(k) = &src_broker {
        kafka::tool(
            k,
            "kafka.admin.ConfigCommand",
            &[
                "--alter",
                "--add-config",
                "SCRAM-SHA-512=[password=second]",
                "--entity-type",
                "users",
                "--entity-name",
                "mirror",
            ],
        )
        .unwrap();
    }
    let rotated = objects(&server.url(), "second");
    let out = r.reconcile(&link, &rotated).await;
    link.status = Some(out.status.clone());
    assert_eq!(out.writes, 1, "{:#?}", out.notes);
    assert!(out.notes.iter().any(|n| n.reason == "LinkConfigsAltered"
        && n.message.contains("sasl.jaas.config")
        && !n.message.contains("second")));
    assert_eq!(r.reconcile(&link, &rotated).await.writes, 0);
    let o = rotated;
    // Records written after the rotation are mirrored: on Kafka after the link's sessions
    // expired (2 s), so with connections authenticated with the new password.
    tokio::time::sleep(Duration::from_secs(3)).await;
    rdkafka::produce_all(&plain, &orders, &rdkafka::varied_records(20, 2, "rotated"));
    until(
        &r,
        &mut link,
        &o,
        "records written after the rotation mirrored",
        |_| rdkafka::consume(&dst.bootstrap(), &orders).unwrap().len() == 320,
    )
    .await;

    // A mirror created by hand is not declared: deleted.
    let rest = RestClient::new(&RestEndpoint::plain(server.url())).unwrap();
    rest.create_mirror(
        &dst_id,
        &link_name,
        &extra,
        &extra,
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
            .any(|n| n.reason == "MirrorTopicDeleted" && n.message.contains(&extra)),
        "{:#?}",
        out.notes
    );
    let names: Vec<String> = rest
        .mirrors(&dst_id, &link_name)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, [orders.clone(), payments.clone()]);

    // PAUSE, then ACTIVE again.
    link.spec.mirror_topics =
        serde_json::from_value(json!([{"name": orders, "state": "PAUSE"}, {"name": payments}]))
            .unwrap();
    until(&r, &mut link, &o, "orders paused", |out| {
        mirror_status(out, &orders).as_deref() == Some("PAUSED") && ready(out)
    })
    .await;
    link.spec.mirror_topics =
        serde_json::from_value(json!([{"name": orders}, {"name": payments}])).unwrap();
    until(&r, &mut link, &o, "orders resumed", |out| {
        mirror_status(out, &orders).as_deref() == Some("ACTIVE") && ready(out)
    })
    .await;

    // Removed from the list: deleted.
    link.spec.mirror_topics = serde_json::from_value(json!([{"name": orders}])).unwrap();
    let out = r.reconcile(&link, &o).await;
    link.status = Some(out.status.clone());
    assert!(out
        .notes
        .iter()
        .any(|n| n.reason == "MirrorTopicDeleted" && n.message.contains(&payments)));
    assert_eq!(out.status.num_mirror_topics, Some(1));

    // PROMOTE: STOPPED, handed over to a KafkaTopic, writable.
    link.spec.mirror_topics =
        serde_json::from_value(json!([{"name": orders, "state": "PROMOTE"}])).unwrap();
    let out = until(&r, &mut link, &o, "orders promoted", |out| {
        mirror_status(out, &orders).as_deref() == Some("STOPPED") && ready(out)
    })
    .await;
    assert_eq!(out.stopped.len(), 1);
    assert_eq!(out.stopped[0].topic, orders);
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
    rdkafka::produce_all(&dst.bootstrap(), &orders, &after_promote);
    assert_eq!(
        rdkafka::consume(&dst.bootstrap(), &orders).unwrap().len(),
        321
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
    assert!(rest.link(&dst_id, &link_name).await.unwrap().is_none());
    assert!(rest.topic(&dst_id, &orders).await.unwrap().is_some());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_link_server_is_a_retriable_condition_not_a_panic() {
    let port = clusterlink_testkit::free_port();
    let o = objects(&format!("http://127.0.0.1:{port}"), "x");
    let src = Source {
        id: "src-cluster".into(),
        bootstrap: "127.0.0.1:1".into(),
        auth: "plain",
    };
    let link = cluster_link("orders-link", &src, json!([{"name": "orders"}]));
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

async fn a_link_server_without_password_encoder_is_a_clear_condition_then_recovers(peer: Peer) {
    let src_broker = peer
        .sasl_private("src-cluster", &[("mirror", "secret")])
        .unwrap();
    let src = Source::of(&src_broker);
    let dst = peer.cluster(Side::B).unwrap();
    let orders = unique_name("orders");
    create_topic(&src_broker.bootstrap(), &orders, 1).await;
    let mut no_encoder = clusterlink_testkit::link_server::options();
    no_encoder.password_encoder = None;
    let server = LinkServer::start_with(&dst.bootstrap(), no_encoder, "127.0.0.1:0").await;
    let addr = server.addr.clone();
    let o = objects(&server.url(), "secret");
    let r = LinkReconciler::new(Duration::from_secs(10));
    let mut link = cluster_link(&unique_name("orders-link"), &src, json!([{"name": orders}]));
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

/// A source reached over TLS only: on Kafka an SSL listener (PEM), on tansu a TLS front.
async fn a_cluster_link_to_a_tls_source_through_its_cfk_tls_block(peer: Peer) {
    use clusterlink_testkit::tls::{cert, TlsCluster};
    let (_src, src_id, src_bootstrap): (Box<dyn std::any::Any>, String, String) = match peer {
        Peer::Kafka => {
            let k = KafkaCluster::builder()
                .listener(Listener::Ssl)
                .start()
                .unwrap();
            let (id, b) = (k.cluster_id().to_owned(), k.bootstrap_for(Listener::Ssl));
            (Box::new(k), id, b)
        }
        _ => {
            let t = TlsCluster::start("src-cluster").unwrap();
            let b = t.bootstrap();
            (Box::new(t), "src-cluster".to_owned(), b)
        }
    };
    let dst = peer.cluster(Side::B).unwrap();
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
            "name": unique_name("tls-link"),
            "sourceKafkaCluster": {"bootstrapEndpoint": src_bootstrap, "clusterID": src_id,
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

peer_tests! {
    a_cluster_link_through_its_whole_life: [kafka, tansu];
    a_link_server_without_password_encoder_is_a_clear_condition_then_recovers: [kafka, tansu];
    a_cluster_link_to_a_tls_source_through_its_cfk_tls_block: [kafka, tansu];
}
