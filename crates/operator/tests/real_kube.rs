//! The operator against a REAL kube-apiserver (an optional tier; see crates/operator/README.md).
//!
//! These tests run only with `CLUSTERLINK_REAL_KUBE=1` and a `KUBECONFIG` that points at a
//! disposable API server with cluster-admin rights, as `scripts/kube-apiserver.sh start` prints:
//!
//! ```sh
//! eval "$(scripts/kube-apiserver.sh start)" && cargo nextest run -p clusterlink-operator --test real_kube
//! ```
//!
//! Without it each test says why it was skipped and passes. What they add over `operator.rs`
//! (the fake API server): our CRDs installed and Established, OpenAPI validation of what we
//! create, structural-schema pruning of the status that the operator writes by server-side apply
//! (a pruned field would make every pass rewrite the status), real finalizer and Event
//! semantics, and Leases with real resourceVersion conflicts.
//!
//! Each test works in a namespace of its own with a unique name, so that reruns against the same
//! API server, and the two tests running at once, do not meet. There is no
//! kube-controller-manager behind a bare API server, so a deleted namespace stays `Terminating`
//! for ever: the tests delete their own objects first and leave the empty namespace to go with
//! the API server.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clusterlink_model::{ClusterLink, KafkaRestClass, KafkaTopic};
use clusterlink_reconcile::rest_client::{RestClient, RestEndpoint};
use clusterlink_testkit::link_server::LinkServer;
use clusterlink_testkit::rdkafka;
use clusterlink_testkit::TansuCluster;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use kube::Client;
use serde_json::{json, Value};

mod support;

use support::{condition, eventually, link, mirror_status, produce, Operator, GROUP};

/// Whether the tier is enabled; otherwise says so (one line) and the test returns.
fn enabled(test: &str) -> bool {
    if std::env::var("CLUSTERLINK_REAL_KUBE").as_deref() == Ok("1") {
        return true;
    }
    println!(
        "skipped {test}: CLUSTERLINK_REAL_KUBE is not 1 (needs a real kube-apiserver: \
         eval \"$(scripts/kube-apiserver.sh start)\")"
    );
    false
}

async fn client() -> Client {
    Client::try_default()
        .await
        .expect("a kube client from KUBECONFIG (CLUSTERLINK_REAL_KUBE=1 is set)")
}

/// The Kafka name of the main test link: a valid link (and topic) name that is not a valid
/// Kubernetes label value (it ends with `_`), as the schema and CFK allow.
const LINK: &str = "orders-link_";

const WAIT: Duration = Duration::from_secs(60);

/// Creates or replaces our three CRDs and waits until each is Established. The two tests may do
/// this at once: a conflict is retried.
async fn install_crds(client: &Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in clusterlink_model::crds() {
        let name = crd.metadata.name.clone().unwrap();
        eventually(&format!("CRD {name} installed"), WAIT, async || {
            let result = match api.get_opt(&name).await.unwrap() {
                None => api.create(&PostParams::default(), &crd).await,
                Some(existing) => {
                    let mut new = crd.clone();
                    new.metadata.resource_version = existing.metadata.resource_version;
                    api.replace(&name, &PostParams::default(), &new).await
                }
            };
            match result {
                Ok(_) => Some(()),
                Err(kube::Error::Api(e)) if e.code == 409 => None,
                Err(e) => panic!("installing CRD {name}: {e}"),
            }
        })
        .await;
        eventually(&format!("CRD {name} Established"), WAIT, async || {
            let c = api.get(&name).await.ok()?;
            c.status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
                .then_some(())
        })
        .await;
    }
}

/// A fresh namespace named `<prefix>-<unique suffix>`.
async fn namespace(client: &Client, prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("{prefix}-{:x}{:x}", std::process::id(), nanos & 0xff_ffff);
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    api.create(&PostParams::default(), &ns).await.unwrap();
    name
}

/// Deletes the namespace (it stays Terminating without a controller manager; see the top).
async fn drop_namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let _ = api.delete(name, &DeleteParams::default()).await;
}

/// How many times Events with `reason` were published in `ns` (repeats fold into a series).
async fn events(api: &Api<Event>, reason: &str) -> u64 {
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .map(|e| e.series.as_ref().map_or(1, |s| s.count as u64))
        .sum()
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

fn dynamic<K: kube::Resource<DynamicType = ()>>(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &ApiResource::erase::<K>(&()))
}

async fn with_timeout<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(300), f)
        .await
        .expect("the test finishes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_link_lives_its_life_on_a_real_api_server() {
    if !enabled("a_cluster_link_lives_its_life_on_a_real_api_server") {
        return;
    }
    with_timeout(async {
        let client = client().await;
        install_crds(&client).await;
        let ns = namespace(&client, "clt-link").await;

        let src = TansuCluster::start("src").unwrap();
        let dst = TansuCluster::start("dst").unwrap();
        for t in ["orders", "payments"] {
            rdkafka::create_topic(&src.bootstrap(), t, 2).unwrap();
        }
        produce(&src.bootstrap(), "orders", 300);
        produce(&src.bootstrap(), "payments", 100);
        let server = LinkServer::start(&dst.bootstrap()).await;
        let rest = RestClient::new(&RestEndpoint::plain(server.url())).unwrap();

        let classes: Api<KafkaRestClass> = Api::namespaced(client.clone(), &ns);
        let rc: KafkaRestClass = serde_json::from_value(json!({
            "apiVersion": GROUP, "kind": "KafkaRestClass",
            "metadata": {"name": "dest-rest", "namespace": ns},
            "spec": {"kafkaClusterRef": {"name": "kafka-dest"},
                     "kafkaRest": {"endpoint": server.url()}}
        }))
        .unwrap();
        classes.create(&PostParams::default(), &rc).await.unwrap();
        let links: Api<ClusterLink> = Api::namespaced(client.clone(), &ns);
        let raw_links = dynamic::<ClusterLink>(&client, &ns);
        let topics: Api<KafkaTopic> = Api::namespaced(client.clone(), &ns);
        let event_api: Api<Event> = Api::namespaced(client.clone(), &ns);
        links
            .create(
                &PostParams::default(),
                &link(
                    &ns,
                    "orders-link",
                    LINK,
                    &src.bootstrap(),
                    json!([{"name": "orders"}, {"name": "payments"}]),
                ),
            )
            .await
            .unwrap();
        let op = Operator::start(client.clone(), Some(&ns), "op-1", true);

        // Ready, with the status the operator computed intact.
        let l = eventually("Ready", WAIT, async || {
            let l = links.get("orders-link").await.ok()?;
            (condition(&l, "Ready")?.0 == "True").then_some(l)
        })
        .await;
        let s = l.status.clone().unwrap();
        assert_eq!(s.state.as_deref(), Some("CREATED"));
        assert_eq!(s.destination_kafka_cluster_id.as_deref(), Some("dst"));
        assert_eq!(s.source_kafka_cluster_id.as_deref(), Some("src"));
        assert_eq!(
            s.kafka_cluster.as_deref(),
            Some(format!("{ns}/kafka-dest").as_str())
        );
        assert_eq!(s.num_mirror_topics, Some(2));
        assert_eq!(s.observed_generation, l.metadata.generation);
        assert!(l
            .metadata
            .finalizers
            .as_ref()
            .unwrap()
            .contains(&clusterlink_operator::LINK_FINALIZER.to_string()));

        // The data arrives, partition by partition.
        eventually("orders mirrored", WAIT, async || {
            (rdkafka::consume(&dst.bootstrap(), "orders").ok()?.len() == 300).then_some(())
        })
        .await;
        assert_eq!(
            rdkafka::by_partition(&rdkafka::consume(&dst.bootstrap(), "orders").unwrap()),
            rdkafka::by_partition(&rdkafka::consume(&src.bootstrap(), "orders").unwrap())
        );

        // The status fields survive the structural schema's pruning, as stored JSON.
        let raw = eventually("mirror statuses with their lag", WAIT, async || {
            let o = raw_links.get("orders-link").await.ok()?;
            let m = o.data.pointer("/status/mirrorTopics/orders")?;
            (m.get("maxLag")?.is_i64() && m.get("status")? == "ACTIVE").then_some(o)
        })
        .await;
        let status = &raw.data["status"];
        for field in [
            "conditions",
            "observedGeneration",
            "state",
            "clusterLinkID",
            "clusterLinkName",
            "destinationKafkaClusterID",
            "sourceKafkaClusterID",
            "kafkaCluster",
            "numMirrorTopics",
            "appState",
        ] {
            assert!(
                status.get(field).is_some(),
                "status.{field} pruned: {status:#}"
            );
        }
        assert_eq!(status["observedGeneration"], json!(raw.metadata.generation));
        assert_eq!(status["clusterLinkName"], LINK);
        assert_eq!(status["mirrorTopics"]["payments"]["status"], "ACTIVE");
        assert_eq!(
            status["mirrorTopics"]["orders"]["sourceTopicName"],
            "orders"
        );
        let ready = status["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap();
        for field in ["status", "reason", "message", "lastTransitionTime"] {
            assert!(
                ready.get(field).is_some(),
                "condition {field} pruned: {ready:#}"
            );
        }
        // The stored status is exactly what the typed status says (nothing unknown was kept,
        // nothing known was lost in the round trip).
        let typed: clusterlink_model::ClusterLinkStatus =
            serde_json::from_value(status.clone()).unwrap();
        assert_eq!(&serde_json::to_value(&typed).unwrap(), status);
        // The status was written by server-side apply, under the operator's field manager.
        assert!(
            raw.metadata.managed_fields.iter().flatten().any(|m| {
                m.manager.as_deref() == Some(clusterlink_operator::MANAGER)
                    && m.operation.as_deref() == Some("Apply")
            }),
            "{:#?}",
            raw.metadata.managed_fields
        );
        // Once mirrored, the operator stops writing: a status that the server pruned would
        // differ from the next pass's and be rewritten on every pass (each write re-triggering
        // the controller).
        eventually("the ClusterLink at rest", WAIT, async || {
            let before = raw_links
                .get("orders-link")
                .await
                .ok()?
                .metadata
                .resource_version;
            tokio::time::sleep(Duration::from_secs(5)).await;
            let after = raw_links
                .get("orders-link")
                .await
                .ok()?
                .metadata
                .resource_version;
            (before == after).then_some(())
        })
        .await;

        // Events, as events.k8s.io/v1 objects regarding the ClusterLink.
        assert_eq!(events(&event_api, "LinkCreated").await, 1);
        assert_eq!(events(&event_api, "MirrorTopicCreated").await, 2);
        let all = event_api.list(&ListParams::default()).await.unwrap().items;
        let created = all
            .iter()
            .find(|e| e.reason.as_deref() == Some("LinkCreated"))
            .unwrap();
        let regarding = created.regarding.as_ref().unwrap();
        assert_eq!(regarding.kind.as_deref(), Some("ClusterLink"));
        assert_eq!(regarding.name.as_deref(), Some("orders-link"));
        assert_eq!(
            created.reporting_controller.as_deref(),
            Some(clusterlink_operator::MANAGER)
        );

        // PROMOTE: the mirror stops and the clink-… KafkaTopic takes the topic over.
        set_mirrors(
            &links,
            "orders-link",
            json!([{"name": "orders", "state": "PROMOTE"}, {"name": "payments"}]),
        )
        .await;
        let l = eventually("orders promoted", WAIT, async || {
            let l = links.get("orders-link").await.ok()?;
            (mirror_status(&l, "orders")? == "STOPPED" && condition(&l, "Ready")?.0 == "True")
                .then_some(l)
        })
        .await;
        let uid = l.metadata.uid.clone().unwrap();
        let kt_name = format!("clink-orders-{}", uid.split('-').next().unwrap());
        let kt = eventually("the KafkaTopic adopted", WAIT, async || {
            let t = topics.get_opt(&kt_name).await.unwrap()?;
            (t.status.as_ref()?.state.as_deref() == Some("CREATED")).then_some(t)
        })
        .await;
        assert_eq!(kt.spec.name.as_deref(), Some("orders"));
        assert_eq!(kt.status.as_ref().unwrap().partition_count, Some(2));
        assert!(kt
            .metadata
            .finalizers
            .as_ref()
            .unwrap()
            .contains(&clusterlink_operator::TOPIC_FINALIZER.to_string()));
        assert_eq!(events(&event_api, "KafkaTopicCreated").await, 1);
        // Its reference to the cluster survived pruning, and the link's name, not a valid label
        // value, went to an annotation only (a label would have been refused).
        let cluster = kt.spec.kafka_cluster_ref.as_ref().unwrap();
        assert_eq!(
            (cluster.name.as_str(), cluster.namespace.as_deref()),
            ("kafka-dest", Some(ns.as_str()))
        );
        let key = "platform.confluent.io/cluster-link";
        assert_eq!(
            kt.metadata
                .annotations
                .as_ref()
                .unwrap()
                .get(key)
                .map(String::as_str),
            Some(LINK)
        );
        assert!(!kt.metadata.labels.as_ref().unwrap().contains_key(key));
        // Its status, too, is stored as written, and not rewritten once at rest.
        let raw_topics = dynamic::<KafkaTopic>(&client, &ns);
        let raw_kt = raw_topics.get(&kt_name).await.unwrap();
        let kt_status = &raw_kt.data["status"];
        let typed: clusterlink_model::KafkaTopicStatus =
            serde_json::from_value(kt_status.clone()).unwrap();
        assert_eq!(&serde_json::to_value(&typed).unwrap(), kt_status);
        eventually("the KafkaTopic at rest", WAIT, async || {
            let before = raw_topics
                .get(&kt_name)
                .await
                .ok()?
                .metadata
                .resource_version;
            tokio::time::sleep(Duration::from_secs(5)).await;
            let after = raw_topics
                .get(&kt_name)
                .await
                .ok()?
                .metadata
                .resource_version;
            (before == after).then_some(())
        })
        .await;

        // What the schema forbids never reaches the operator: the API server refuses it.
        let refused = links
            .create(
                &PostParams::default(),
                &link(
                    &ns,
                    "refused-link",
                    "refused-link",
                    &src.bootstrap(),
                    json!([{"name": "no good"}]),
                ),
            )
            .await
            .unwrap_err();
        match refused {
            kube::Error::Api(e) => {
                assert_eq!(e.code, 422, "{e:?}");
                assert!(e.message.contains("mirrorTopics"), "{e:?}");
            }
            other => panic!("expected a 422, got {other}"),
        }
        // What the schema accepts but our validation does not ("..", not a topic name Kafka
        // accepts): Ready=False/InvalidSpec naming the field, and no link.
        links
            .create(
                &PostParams::default(),
                &link(
                    &ns,
                    "bad-link",
                    "bad-link",
                    &src.bootstrap(),
                    json!([{"name": ".."}]),
                ),
            )
            .await
            .unwrap();
        let bad = eventually("InvalidSpec", WAIT, async || {
            let l = links.get("bad-link").await.ok()?;
            let c = condition(&l, "Ready")?;
            (c.1 == "InvalidSpec").then_some(c)
        })
        .await;
        assert_eq!(bad.0, "False");
        assert!(bad.2.contains("spec.mirrorTopics[0].name"), "{bad:?}");
        assert!(rest.link("dst", "bad-link").await.unwrap().is_none());

        // Deleted: the finalizer deletes the link, then lets the resource go; the promoted
        // topic stays (its KafkaTopic owns it).
        for name in ["orders-link", "bad-link"] {
            links.delete(name, &DeleteParams::default()).await.unwrap();
        }
        for name in ["orders-link", "bad-link"] {
            eventually(&format!("ClusterLink {name} gone"), WAIT, async || {
                links.get_opt(name).await.unwrap().is_none().then_some(())
            })
            .await;
        }
        assert!(rest.link("dst", LINK).await.unwrap().is_none());
        assert!(rest.topic("dst", "orders").await.unwrap().is_some());

        // Deleting the KafkaTopic deletes the topic.
        topics
            .delete(&kt_name, &DeleteParams::default())
            .await
            .unwrap();
        eventually("the promoted topic deleted", WAIT, async || {
            rest.topic("dst", "orders")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await;
        eventually("the KafkaTopic gone", WAIT, async || {
            topics
                .get_opt(&kt_name)
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await;

        // Every write the operator made was accepted by the API server (a refused one counts as
        // a reconcile error of category kube-api, and is retried for ever).
        let metrics = op.metrics.render();
        assert!(!metrics.contains(r#"category="kube-api""#), "{metrics}");
        op.stop().await;
        server.stop().await;
        let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
        leases
            .delete("clusterlink-operator", &DeleteParams::default())
            .await
            .unwrap();
        classes
            .delete("dest-rest", &DeleteParams::default())
            .await
            .unwrap();
        drop_namespace(&client, &ns).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_a_real_lease() {
    if !enabled("two_replicas_share_a_real_lease") {
        return;
    }
    with_timeout(async {
        let client = client().await;
        install_crds(&client).await;
        let ns = namespace(&client, "clt-lease").await;
        let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
        let a = Operator::start(client.clone(), Some(&ns), "replica-a", true);
        eventually("a leads", WAIT, async || a.leads().then_some(())).await;
        let b = Operator::start(client.clone(), Some(&ns), "replica-b", true);
        // While a renews, b waits (several lease durations).
        for _ in 0..25 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(!b.leads(), "b leads while a holds the lease");
            assert!(a.leads(), "a lost the lease it renews");
        }
        let lease = leases.get("clusterlink-operator").await.unwrap();
        let spec = lease.spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("replica-a"));
        assert!(spec.renew_time.is_some() && spec.acquire_time.is_some());
        a.stop().await;
        eventually("b takes over once a's lease expires", WAIT, async || {
            b.leads().then_some(())
        })
        .await;
        let spec = leases
            .get("clusterlink-operator")
            .await
            .unwrap()
            .spec
            .unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("replica-b"));
        assert_eq!(spec.lease_transitions, Some(1));
        b.stop().await;
        leases
            .delete("clusterlink-operator", &DeleteParams::default())
            .await
            .unwrap();
        drop_namespace(&client, &ns).await;
    })
    .await;
}
