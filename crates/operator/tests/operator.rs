//! The operator on kube's real controller runtime against the in-process fake API server, with
//! real link servers over real brokers; data checked with librdkafka. Every test with brokers
//! runs on Apache Kafka (the run's shared clusters: topic and link names are unique) and tansu.

use std::future::Future;
use std::time::Duration;

use clusterlink_model::{ClusterLink, KafkaTopic};
use clusterlink_reconcile::rest_client::{RestClient, RestEndpoint};
use clusterlink_testkit::examples::{Example, Local};
use clusterlink_testkit::kafka::unique_name;
use clusterlink_testkit::kube_api::FakeApiServer;
use clusterlink_testkit::link_server::LinkServer;
use clusterlink_testkit::peer::{Peer, Side};
use clusterlink_testkit::{peer_tests, rdkafka};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};

mod support;

use support::{condition, events, link_from, mirror_status, produce, rest_class, Operator, GROUP};

/// Polls `f` until it gives a value (45 s at most).
async fn eventually<T>(what: &str, f: impl AsyncFnMut() -> Option<T>) -> T {
    support::eventually(what, Duration::from_secs(45), f).await
}

async fn set_mirrors(api: &Api<ClusterLink>, name: &str, mirrors: Value) {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"mirrorTopics": mirrors}})),
    )
    .await
    .unwrap();
}

async fn get(api: &Api<ClusterLink>, name: &str) -> ClusterLink {
    api.get(name).await.unwrap()
}

async fn with_timeout<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(150), f)
        .await
        .expect("the test finishes")
}

async fn the_operator_drives_a_cluster_link_through_its_life(peer: Peer) {
    with_timeout(async {
        let (src, dst) = peer.pair().unwrap();
        let dst_id = dst.cluster_id();
        let [orders, payments, extra, link_name] =
            ["orders", "payments", "extra", "orders-link"].map(unique_name);
        for t in [&orders, &payments, &extra] {
            rdkafka::create_topic(&src.bootstrap(), t, 2).unwrap();
        }
        produce(&src.bootstrap(), &orders, 300);
        produce(&src.bootstrap(), &payments, 100);
        let server = LinkServer::start(&dst.bootstrap()).await;
        let rest = RestClient::new(&RestEndpoint::plain(server.url())).unwrap();
        let fake = FakeApiServer::new();
        rest_class(&fake, &server.url(), json!({}));
        let client = fake.client();
        let links: Api<ClusterLink> = Api::namespaced(client.clone(), "dest");
        let topics: Api<KafkaTopic> = Api::namespaced(client.clone(), "dest");
        links
            .create(
                &PostParams::default(),
                &link_from(
                    "dest",
                    "orders-link",
                    &link_name,
                    &src.bootstrap(),
                    &src.cluster_id(),
                    json!([{"name": orders}, {"name": payments}]),
                ),
            )
            .await
            .unwrap();
        let op = Operator::start(fake.client(), None, "op-1", true);

        // Applied: link and mirrors exist, data flows, Ready, Events, finalizer, ids.
        let l = eventually("Ready", async || {
            let l = get(&links, "orders-link").await;
            (condition(&l, "Ready")?.0 == "True").then_some(l)
        })
        .await;
        let s = l.status.clone().unwrap();
        assert_eq!(s.state.as_deref(), Some("CREATED"));
        assert_eq!(
            s.destination_kafka_cluster_id.as_deref(),
            Some(dst_id.as_str())
        );
        assert_eq!(
            s.source_kafka_cluster_id.as_deref(),
            Some(src.cluster_id().as_str())
        );
        assert_eq!(s.kafka_cluster.as_deref(), Some("dest/kafka-dest"));
        assert_eq!(s.num_mirror_topics, Some(2));
        assert_eq!(s.observed_generation, l.metadata.generation);
        assert!(l
            .metadata
            .finalizers
            .as_ref()
            .unwrap()
            .contains(&clusterlink_operator::LINK_FINALIZER.to_string()));
        assert_eq!(events(&fake, "LinkCreated"), 1);
        assert_eq!(events(&fake, "MirrorTopicCreated"), 2);
        eventually("orders mirrored", async || {
            (rdkafka::consume(&dst.bootstrap(), &orders).unwrap().len() == 300).then_some(())
        })
        .await;
        assert_eq!(
            rdkafka::by_partition(&rdkafka::consume(&dst.bootstrap(), &orders).unwrap()),
            rdkafka::by_partition(&rdkafka::consume(&src.bootstrap(), &orders).unwrap())
        );

        // PAUSE, then ACTIVE: REST and status follow; observedGeneration follows the spec.
        set_mirrors(
            &links,
            "orders-link",
            json!([{"name": orders, "state": "PAUSE"}, {"name": payments}]),
        )
        .await;
        let l = eventually("orders paused", async || {
            let l = get(&links, "orders-link").await;
            (mirror_status(&l, &orders)? == "PAUSED").then_some(l)
        })
        .await;
        assert_eq!(
            l.status.as_ref().unwrap().observed_generation,
            l.metadata.generation
        );
        let m = rest.mirrors(&dst_id, &link_name).await.unwrap();
        assert_eq!(
            m.iter().find(|m| m.name == orders).unwrap().status,
            "PAUSED"
        );
        set_mirrors(
            &links,
            "orders-link",
            json!([{"name": orders}, {"name": payments}]),
        )
        .await;
        eventually("orders resumed and Ready", async || {
            let l = get(&links, "orders-link").await;
            (mirror_status(&l, &orders)? == "ACTIVE" && condition(&l, "Ready")?.0 == "True")
                .then_some(())
        })
        .await;

        // A mirror created by hand through REST is deleted.
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
        links
            .patch(
                "orders-link",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"annotations": {"touch": "1"}}})),
            )
            .await
            .unwrap();
        eventually("the hand-made mirror deleted", async || {
            let m = rest.mirrors(&dst_id, &link_name).await.ok()?;
            (!m.iter().any(|m| m.name == extra)).then_some(())
        })
        .await;

        // Removed from the list: deleted.
        set_mirrors(&links, "orders-link", json!([{"name": orders}])).await;
        eventually("payments deleted", async || {
            let m = rest.mirrors(&dst_id, &link_name).await.ok()?;
            (m.len() == 1).then_some(())
        })
        .await;
        assert!(rest.topic(&dst_id, &payments).await.unwrap().is_none());

        // A resourceVersion conflict on a status write is retried.
        fake.fail_next("PATCH", "/status", 409, 1);

        // PROMOTE: STOPPED, and the clink-… KafkaTopic takes the topic over (and adopts it).
        set_mirrors(
            &links,
            "orders-link",
            json!([{"name": orders, "state": "PROMOTE"}]),
        )
        .await;
        let l = eventually("orders promoted", async || {
            let l = get(&links, "orders-link").await;
            (mirror_status(&l, &orders)? == "STOPPED" && condition(&l, "Ready")?.0 == "True")
                .then_some(l)
        })
        .await;
        let uid = l.metadata.uid.clone().unwrap();
        let kt_name = format!("clink-{orders}-{}", uid.split('-').next().unwrap());
        let kt = eventually("the KafkaTopic adopted", async || {
            let t = topics.get_opt(&kt_name).await.unwrap()?;
            (t.status.as_ref()?.state.as_deref() == Some("CREATED")).then_some(t)
        })
        .await;
        assert_eq!(kt.spec.name.as_deref(), Some(orders.as_str()));
        assert_eq!(
            kt.spec.kafka_cluster_ref.as_ref().unwrap().name,
            "kafka-dest"
        );
        assert_eq!(kt.status.as_ref().unwrap().partition_count, Some(2));
        assert_eq!(events(&fake, "KafkaTopicCreated"), 1);

        // An invalid ClusterLink: a condition naming the field, and no REST write.
        let bad_name = unique_name("bad-link");
        links
            .create(
                &PostParams::default(),
                &link_from(
                    "dest",
                    "bad-link",
                    &bad_name,
                    &src.bootstrap(),
                    &src.cluster_id(),
                    json!([{"name": "no good"}]),
                ),
            )
            .await
            .unwrap();
        let bad = eventually("InvalidSpec", async || {
            let l = get(&links, "bad-link").await;
            let c = condition(&l, "Ready")?;
            (c.1 == "InvalidSpec").then_some(c)
        })
        .await;
        assert!(bad.2.contains("spec.mirrorTopics[0].name"), "{bad:?}");
        assert!(rest.link(&dst_id, &bad_name).await.unwrap().is_none());

        // A malformed object (not even the schema's shape) does not stop the watch.
        fake.put_raw(
            GROUP,
            "clusterlinks",
            Some("dest"),
            json!({"apiVersion": GROUP, "kind": "ClusterLink",
                   "metadata": {"name": "garbage", "namespace": "dest"},
                   "spec": {"mirrorTopics": 5}}),
        );
        eventually("garbage reported", async || {
            let g = fake.get_raw(GROUP, "clusterlinks", Some("dest"), "garbage")?;
            let c = g.pointer("/status/conditions/0")?.clone();
            (c["reason"] == "InvalidSpec").then_some(())
        })
        .await;
        set_mirrors(
            &links,
            "orders-link",
            json!([{"name": orders, "state": "PROMOTE"}, {"name": payments}]),
        )
        .await;
        eventually(
            "payments mirrored again after the malformed object",
            async || {
                let l = get(&links, "orders-link").await;
                (mirror_status(&l, &payments)? == "ACTIVE").then_some(())
            },
        )
        .await;

        // The operator restarted mid-way converges without repeating what was done.
        op.stop().await;
        set_mirrors(
            &links,
            "orders-link",
            json!([{"name": orders, "state": "PROMOTE"}]),
        )
        .await;
        let op = Operator::start(fake.client(), None, "op-2", true);
        eventually("payments deleted by the new operator", async || {
            let m = rest.mirrors(&dst_id, &link_name).await.ok()?;
            (m.len() == 1).then_some(())
        })
        .await;
        eventually("status refreshed by the new operator", async || {
            let l = get(&links, "orders-link").await;
            (l.status.as_ref()?.num_mirror_topics == Some(1)).then_some(())
        })
        .await;
        assert_eq!(events(&fake, "LinkCreated"), 1, "the link was created once");
        assert_eq!(events(&fake, "KafkaTopicCreated"), 1);
        assert_eq!(events(&fake, "MirrorTopicPromoting"), 1);

        // Deleted: the link is gone, the object too (finalizer removed); the promoted topic stays.
        links
            .delete("orders-link", &DeleteParams::default())
            .await
            .unwrap();
        eventually("the ClusterLink gone", async || {
            links
                .get_opt("orders-link")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await;
        assert!(rest.link(&dst_id, &link_name).await.unwrap().is_none());
        assert!(rest.topic(&dst_id, &orders).await.unwrap().is_some());
        let text = op.metrics.render();
        assert!(
            text.contains("clusterlink_operator_reconciliations_total"),
            "{text}"
        );

        // Deleting the KafkaTopic deletes the topic (CFK's semantics).
        topics
            .delete(&kt_name, &DeleteParams::default())
            .await
            .unwrap();
        eventually(
            "the promoted topic deleted with its KafkaTopic",
            async || {
                rest.topic(&dst_id, &orders)
                    .await
                    .unwrap()
                    .is_none()
                    .then_some(())
            },
        )
        .await;
        op.stop().await;
        server.stop().await;
    })
    .await;
}

async fn kafka_topics_are_created_adopted_altered_and_deleted(peer: Peer) {
    with_timeout(async {
        let dst = peer.cluster(Side::B).unwrap();
        let dst_id = dst.cluster_id();
        let [audit, existing] = ["audit", "existing"].map(unique_name);
        rdkafka::create_topic(&dst.bootstrap(), &existing, 3).unwrap();
        let server = LinkServer::start(&dst.bootstrap()).await;
        let rest = RestClient::new(&RestEndpoint::plain(server.url())).unwrap();
        let fake = FakeApiServer::new();
        rest_class(&fake, &server.url(), json!({}));
        let topics: Api<KafkaTopic> = Api::namespaced(fake.client(), "dest");
        let kt = |name: &str, body: Value| -> KafkaTopic {
            serde_json::from_value(json!({
                "apiVersion": GROUP, "kind": "KafkaTopic",
                "metadata": {"name": name, "namespace": "dest"}, "spec": body
            }))
            .unwrap()
        };
        topics
            .create(
                &PostParams::default(),
                &kt(
                    &audit,
                    json!({"partitionCount": 2, "configs": {"retention.ms": "3600000"},
                                    "kafkaRestClassRef": {"name": "dest-rest"}}),
                ),
            )
            .await
            .unwrap();
        topics
            .create(
                &PostParams::default(),
                &kt(
                    &existing,
                    json!({"kafkaRestClassRef": {"name": "dest-rest"}}),
                ),
            )
            .await
            .unwrap();
        let op = Operator::start(fake.client(), None, "op", false);
        eventually("audit created", async || {
            let t = topics.get(&audit).await.ok()?;
            (t.status?.state.as_deref() == Some("CREATED")).then_some(())
        })
        .await;
        assert_eq!(
            rest.topic(&dst_id, &audit)
                .await
                .unwrap()
                .unwrap()
                .partitions_count,
            Some(2)
        );
        let configs = rest.topic_configs(&dst_id, &audit).await.unwrap();
        assert_eq!(configs["retention.ms"].value.as_deref(), Some("3600000"));
        let existing = eventually("existing adopted", async || {
            let t = topics.get(&existing).await.ok()?;
            (t.status.as_ref()?.state.as_deref() == Some("CREATED")).then_some(t)
        })
        .await;
        assert_eq!(existing.status.unwrap().partition_count, Some(3));
        assert_eq!(events(&fake, "TopicAdopted"), 1);
        // Alter a config.
        topics
            .patch(
                &audit,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"configs": {"retention.ms": "7200000"}}})),
            )
            .await
            .unwrap();
        eventually("retention altered", async || {
            let c = rest.topic_configs(&dst_id, &audit).await.ok()?;
            (c["retention.ms"].value.as_deref() == Some("7200000")).then_some(())
        })
        .await;
        // Delete.
        topics
            .delete(&audit, &DeleteParams::default())
            .await
            .unwrap();
        eventually("audit deleted", async || {
            rest.topic(&dst_id, &audit)
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await;
        eventually("the KafkaTopic gone", async || {
            topics
                .get_opt(&audit)
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await;
        op.stop().await;
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_never_lead_at_once() {
    with_timeout(async {
        let fake = FakeApiServer::new();
        let a = Operator::start(fake.client(), None, "replica-a", true);
        eventually("a leads", async || {
            a.metrics
                .render()
                .contains("clusterlink_operator_leader 1")
                .then_some(())
        })
        .await;
        let b = Operator::start(fake.client(), None, "replica-b", true);
        // While a renews, b waits (several lease durations).
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(b.metrics.render().contains("clusterlink_operator_leader 0"));
            assert!(a.metrics.render().contains("clusterlink_operator_leader 1"));
        }
        let lease = fake
            .get_raw(
                "coordination.k8s.io/v1",
                "leases",
                Some("clusterlink-system"),
                "clusterlink-operator",
            )
            .unwrap();
        assert_eq!(lease["spec"]["holderIdentity"], "replica-a");
        a.stop().await;
        eventually("b takes over once a's lease expires", async || {
            b.metrics
                .render()
                .contains("clusterlink_operator_leader 1")
                .then_some(())
        })
        .await;
        let lease = fake
            .get_raw(
                "coordination.k8s.io/v1",
                "leases",
                Some("clusterlink-system"),
                "clusterlink-operator",
            )
            .unwrap();
        assert_eq!(lease["spec"]["holderIdentity"], "replica-b");
        assert_eq!(lease["spec"]["leaseTransitions"], 1);
        b.stop().await;
    })
    .await;
}

async fn a_missing_rest_class_is_reported_then_the_link_recovers_when_it_appears(peer: Peer) {
    with_timeout(async {
        let (src, dst) = peer.pair().unwrap();
        let orders = unique_name("orders");
        rdkafka::create_topic(&src.bootstrap(), &orders, 1).unwrap();
        let server = LinkServer::start(&dst.bootstrap()).await;
        let fake = FakeApiServer::new();
        let links: Api<ClusterLink> = Api::namespaced(fake.client(), "dest");
        links
            .create(
                &PostParams::default(),
                &link_from(
                    "dest",
                    "l",
                    &unique_name("l"),
                    &src.bootstrap(),
                    &src.cluster_id(),
                    json!([{"name": orders}]),
                ),
            )
            .await
            .unwrap();
        let op = Operator::start(fake.client(), None, "op", false);
        let c = eventually("KafkaRestClassNotFound", async || {
            let c = condition(&get(&links, "l").await, "Ready")?;
            (c.1 == "KafkaRestClassNotFound").then_some(c)
        })
        .await;
        assert_eq!(c.0, "False");
        assert!(
            c.2.contains("spec.destinationKafkaCluster.name") && c.2.contains("dest/kafka-dest"),
            "{c:?}"
        );
        assert!(events(&fake, "KafkaRestClassNotFound") >= 1);
        // The KafkaRestClass appears: the watch on it brings the link up without a change to it.
        rest_class(&fake, &server.url(), json!({}));
        eventually("Ready once the KafkaRestClass exists", async || {
            let c = condition(&get(&links, "l").await, "Ready")?;
            (c.0 == "True").then_some(())
        })
        .await;
        op.stop().await;
        server.stop().await;
    })
    .await;
}

async fn the_pages_source_initiated_bidirectional_pair_outbound_first(peer: Peer) {
    with_timeout(async {
        let (s, d) = peer.pair().unwrap();
        let [forward, reverse, link_name] =
            ["forward-topic", "reverse-topic", "bidirectional-link"].map(unique_name);
        rdkafka::create_topic(&s.bootstrap(), &forward, 2).unwrap();
        rdkafka::create_topic(&d.bootstrap(), &reverse, 2).unwrap();
        produce(&s.bootstrap(), &forward, 80);
        produce(&d.bootstrap(), &reverse, 40);
        let ss = LinkServer::start(&s.bootstrap()).await;
        let ds = LinkServer::start(&d.bootstrap()).await;
        let fake = FakeApiServer::new();
        for ns in ["source", "destination"] {
            for (name, url) in [("kafka-src-rest", ss.url()), ("kafka-dest-rest", ds.url())] {
                fake.put_raw(
                    GROUP,
                    "kafkarestclasses",
                    Some(ns),
                    json!({"apiVersion": GROUP, "kind": "KafkaRestClass",
                           "metadata": {"name": name, "namespace": ns},
                           "spec": {"kafkaRest": {"endpoint": url}}}),
                );
            }
        }
        let op = Operator::start(fake.client(), None, "op", false);
        let src_links: Api<ClusterLink> = Api::namespaced(fake.client(), "source");
        let dst_links: Api<ClusterLink> = Api::namespaced(fake.client(), "destination");
        let outbound: ClusterLink = serde_json::from_value(json!({
            "apiVersion": GROUP, "kind": "ClusterLink",
            "metadata": {"name": "src-cluster-link", "namespace": "source"},
            "spec": {
                "name": link_name,
                "sourceInitiatedLink": {"linkMode": "Bidirectional", "connectionMode": "Outbound"},
                "sourceKafkaCluster": {"bootstrapEndpoint": d.bootstrap(), "kafkaRestClassRef": {"name": "kafka-dest-rest"}},
                "destinationKafkaCluster": {"kafkaRestClassRef": {"name": "kafka-src-rest"}},
                "mirrorTopics": [{"name": reverse, "direction": "toDestination"}],
            }
        }))
        .unwrap();
        let inbound: ClusterLink = serde_json::from_value(json!({
            "apiVersion": GROUP, "kind": "ClusterLink",
            "metadata": {"name": "dest-cluster-link", "namespace": "destination"},
            "spec": {
                "name": link_name,
                "sourceInitiatedLink": {"linkMode": "Bidirectional", "connectionMode": "Inbound"},
                "destinationKafkaCluster": {"kafkaRestClassRef": {"name": "kafka-dest-rest"}},
                "sourceKafkaCluster": {"clusterID": s.cluster_id(), "kafkaRestClassRef": {"name": "kafka-src-rest"}},
                "mirrorTopics": [{"name": forward, "direction": "toDestination"}],
            }
        }))
        .unwrap();
        // The Outbound side first (CFK fails): a condition says what to create, and nothing
        // is created until the Inbound side exists.
        src_links.create(&PostParams::default(), &outbound).await.unwrap();
        let waiting = eventually("WaitingForInboundLink", async || {
            let c = condition(&get(&src_links, "src-cluster-link").await, "Ready")?;
            (c.1 == "WaitingForInboundLink").then_some(c)
        })
        .await;
        assert!(waiting.2.contains("INBOUND side must exist first"), "{waiting:?}");
        assert!(ss.manager.links().is_empty());
        assert!(events(&fake, "WaitingForInboundLink") >= 1);
        dst_links.create(&PostParams::default(), &inbound).await.unwrap();
        let both = eventually("both halves Ready and applied", async || {
            let a = get(&src_links, "src-cluster-link").await;
            let b = get(&dst_links, "dest-cluster-link").await;
            let ok = |l: &ClusterLink| {
                condition(l, "Ready").is_some_and(|c| c.0 == "True")
                    && condition(l, "Reconciled").is_some_and(|c| c.0 == "True")
                    && l.status
                        .as_ref()
                        .and_then(|s| s.bidirectional_state.as_ref())
                        .is_some_and(|b| {
                            b.source_to_destination_active == Some(true)
                                && b.destination_to_source_active == Some(true)
                        })
            };
            (ok(&a) && ok(&b)).then_some((a, b))
        })
        .await;
        let (a, b) = both;
        assert_eq!(
            a.status.as_ref().unwrap().cluster_link_id,
            b.status.as_ref().unwrap().cluster_link_id
        );
        let state = a.status.as_ref().unwrap().bidirectional_state.clone().unwrap();
        assert_eq!(state.source_to_destination_active, Some(true));
        assert_eq!(state.destination_to_source_active, Some(true));
        eventually("forward-topic pushed to the destination", async || {
            (rdkafka::consume(&d.bootstrap(), &forward).unwrap().len() == 80).then_some(())
        })
        .await;
        eventually("reverse-topic pulled to the source", async || {
            (rdkafka::consume(&s.bootstrap(), &reverse).unwrap().len() == 40).then_some(())
        })
        .await;
        op.stop().await;
        ss.stop().await;
        ds.stop().await;
    })
    .await;
}

/// One of the page's two-cluster examples (`examples/<name>/`) applied to the fake API server
/// as `kubectl apply -f` would, with the local endpoints replaced by the test's; the operator
/// brings every ClusterLink to Ready and the data moves.
async fn two_cluster_example(peer: Peer, name: &str, reverse: bool) {
    let (s, d) = peer.pair().unwrap();
    let ss = LinkServer::start(&s.bootstrap()).await;
    let ds = LinkServer::start(&d.bootstrap()).await;
    let example = Example::load(
        name,
        &Local {
            src_bootstrap: &s.bootstrap(),
            dst_bootstrap: &d.bootstrap(),
            src_rest: &ss.url(),
            dst_rest: &ds.url(),
            src_id: &s.cluster_id(),
            dst_id: &d.cluster_id(),
        },
    );
    let (forward, reverse_topic) = (example.name("forward-topic"), example.name("reverse-topic"));
    rdkafka::create_topic(&s.bootstrap(), &forward, 2).unwrap();
    produce(&s.bootstrap(), &forward, 60);
    if reverse {
        rdkafka::create_topic(&d.bootstrap(), &reverse_topic, 2).unwrap();
        produce(&d.bootstrap(), &reverse_topic, 30);
    }
    let fake = FakeApiServer::new();
    let mut links = Vec::new();
    for (_, text) in &example.files {
        for doc in clusterlink_model::parse_documents(text).unwrap() {
            let ns = doc["metadata"]["namespace"].as_str().unwrap().to_string();
            let plural = match doc["kind"].as_str().unwrap() {
                "ClusterLink" => {
                    links.push((
                        ns.clone(),
                        doc["metadata"]["name"].as_str().unwrap().to_string(),
                    ));
                    "clusterlinks"
                }
                "KafkaRestClass" => "kafkarestclasses",
                other => panic!("unexpected {other}"),
            };
            fake.put_raw(GROUP, plural, Some(&ns), doc);
        }
    }
    let op = Operator::start(fake.client(), None, "op", false);
    for (ns, name) in &links {
        let api: Api<ClusterLink> = Api::namespaced(fake.client(), ns);
        eventually(&format!("{ns}/{name} Ready and applied"), async || {
            let l = get(&api, name).await;
            let ok = condition(&l, "Ready").is_some_and(|c| c.0 == "True")
                && condition(&l, "Reconciled").is_some_and(|c| c.0 == "True");
            ok.then_some(())
        })
        .await;
    }
    eventually("forward-topic on the destination", async || {
        (rdkafka::consume(&d.bootstrap(), &forward).unwrap().len() == 60).then_some(())
    })
    .await;
    if reverse {
        eventually("reverse-topic on the source", async || {
            (rdkafka::consume(&s.bootstrap(), &reverse_topic)
                .unwrap()
                .len()
                == 30)
                .then_some(())
        })
        .await;
    }
    op.stop().await;
    ss.stop().await;
    ds.stop().await;
}

async fn example_destination_initiated_bidirectional(peer: Peer) {
    with_timeout(two_cluster_example(peer, "bidirectional", true)).await;
}

async fn example_source_initiated_unidirectional(peer: Peer) {
    with_timeout(two_cluster_example(peer, "source-initiated", false)).await;
}

async fn example_source_initiated_bidirectional(peer: Peer) {
    with_timeout(two_cluster_example(
        peer,
        "source-initiated-bidirectional",
        true,
    ))
    .await;
}

peer_tests! {
    the_operator_drives_a_cluster_link_through_its_life: [kafka, tansu];
    kafka_topics_are_created_adopted_altered_and_deleted: [kafka, tansu];
    a_missing_rest_class_is_reported_then_the_link_recovers_when_it_appears: [kafka, tansu];
    the_pages_source_initiated_bidirectional_pair_outbound_first: [kafka, tansu];
    example_destination_initiated_bidirectional: [kafka, tansu];
    example_source_initiated_unidirectional: [kafka, tansu];
    example_source_initiated_bidirectional: [kafka, tansu];
}
