//! The CFK page's destination-initiated bidirectional example, as the page prints it, under the
//! operator (kube's controller runtime against the in-process fake API server) with real link
//! servers over two private Apache Kafka clusters; data checked with librdkafka.
//!
//! The example names its clusters only (`name`, `namespace`): the operator resolves each
//! endpoint, three ways — from a CFK `Kafka` resource's status, from a Strimzi `Kafka`
//! resource's status, and from the cluster's REST API when neither exists — and the status
//! says where it came from. In the first two the link servers list a dead address as their
//! brokers (`--advertised-bootstrap-server`), so mirrored data proves the `Kafka` resource gave
//! the endpoint.

use std::future::Future;
use std::time::Duration;

use clusterlink_model::{parse_documents, ClusterLink};
use clusterlink_reconcile::rest_client::{RestClient, RestEndpoint};
use clusterlink_server::ManagerOptions;
use clusterlink_testkit::cfk_page;
use clusterlink_testkit::kafka::KafkaCluster;
use clusterlink_testkit::kube_api::FakeApiServer;
use clusterlink_testkit::link_server::{options, LinkServer};
use clusterlink_testkit::rdkafka;
use kube::api::{Api, PostParams};
use serde_json::{json, Value};

mod support;

use support::{condition, Operator, GROUP};

const RECORDS: usize = 30;
/// What the link servers list as their brokers when a `Kafka` resource must give the endpoint:
/// nothing listens there.
const DEAD: &str = "127.0.0.1:9";

/// Where each cluster's endpoint is published.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Published {
    Cfk,
    Strimzi,
    RestOnly,
}

struct Setup {
    src: KafkaCluster,
    dst: KafkaCluster,
    servers: (LinkServer, LinkServer),
    fake: FakeApiServer,
    operator: Operator,
}

async fn eventually<T>(what: &str, f: impl AsyncFnMut() -> Option<T>) -> T {
    support::eventually(what, Duration::from_secs(60), f).await
}

async fn with_timeout<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(170), f)
        .await
        .expect("the test finishes")
}

/// A CFK `Kafka` whose status publishes `endpoint` on its `internal` listener (and a
/// `replication` listener, never a client's, on a dead address).
fn cfk_kafka(ns: &str, name: &str, endpoint: &str) -> Value {
    json!({
        "apiVersion": "platform.confluent.io/v1beta1", "kind": "Kafka",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": 1},
        "status": {"listeners": {
            "internal": {"internalEndpoint": endpoint, "tls": false},
            "replication": {"internalEndpoint": DEAD, "tls": false}
        }}
    })
}

/// A Strimzi `Kafka` whose in-cluster listener is `endpoint` (its NodePort one is dead).
fn strimzi_kafka(ns: &str, name: &str, endpoint: &str) -> Value {
    json!({
        "apiVersion": "kafka.strimzi.io/v1beta2", "kind": "Kafka",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"kafka": {"listeners": [
            {"name": "external", "port": 9094, "type": "nodeport", "tls": false},
            {"name": "plain", "port": 9092, "type": "internal", "tls": false}
        ]}},
        "status": {"listeners": [
            {"name": "external", "bootstrapServers": DEAD},
            {"name": "plain", "bootstrapServers": endpoint}
        ]}
    })
}

fn put_kafka(fake: &FakeApiServer, published: Published, ns: &str, name: &str, endpoint: &str) {
    match published {
        Published::Cfk => {
            fake.put_raw(GROUP, "kafkas", Some(ns), cfk_kafka(ns, name, endpoint));
        }
        Published::Strimzi => {
            let v = strimzi_kafka(ns, name, endpoint);
            fake.put_raw("kafka.strimzi.io/v1beta2", "kafkas", Some(ns), v);
        }
        Published::RestOnly => {}
    }
}

async fn set_up(published: Published) -> Setup {
    let (src, dst) = {
        let a = std::thread::spawn(|| KafkaCluster::builder().start().unwrap());
        let b = KafkaCluster::builder().start().unwrap();
        (a.join().unwrap(), b)
    };
    for (bootstrap, topic) in [
        (src.bootstrap(), "forward-topic"),
        (dst.bootstrap(), "reverse-topic"),
    ] {
        rdkafka::create_topic(&bootstrap, topic, 2).unwrap();
        rdkafka::produce_all(
            &bootstrap,
            topic,
            &rdkafka::varied_records(RECORDS, 2, topic),
        );
    }
    let server_options = || ManagerOptions {
        advertised_bootstrap: match published {
            Published::RestOnly => Vec::new(),
            _ => vec![DEAD.into()],
        },
        ..options()
    };
    let src_server =
        LinkServer::start_with(&src.bootstrap(), server_options(), "127.0.0.1:0").await;
    let dst_server =
        LinkServer::start_with(&dst.bootstrap(), server_options(), "127.0.0.1:0").await;
    let fake = FakeApiServer::new();
    for (ns, cluster, url) in [
        ("source", "kafka-src", src_server.url()),
        ("destination", "kafka-dest", dst_server.url()),
    ] {
        fake.put_raw(
            GROUP,
            "kafkarestclasses",
            Some(ns),
            json!({"apiVersion": GROUP, "kind": "KafkaRestClass",
                   "metadata": {"name": format!("{cluster}-rest"), "namespace": ns},
                   "spec": {"kafkaClusterRef": {"name": cluster, "namespace": ns},
                            "kafkaRest": {"endpoint": url}}}),
        );
    }
    put_kafka(&fake, published, "source", "kafka-src", &src.bootstrap());
    put_kafka(
        &fake,
        published,
        "destination",
        "kafka-dest",
        &dst.bootstrap(),
    );
    // The page's two ClusterLinks, as written.
    for text in cfk_page::destination_initiated_bidirectional() {
        let doc = parse_documents(&text).unwrap().remove(0);
        let link: ClusterLink = serde_json::from_value(doc).unwrap();
        let ns = link.metadata.namespace.clone().unwrap();
        let api: Api<ClusterLink> = Api::namespaced(fake.client(), &ns);
        api.create(&PostParams::default(), &link).await.unwrap();
    }
    let operator = Operator::start(fake.client(), None, "op", false);
    Setup {
        src,
        dst,
        servers: (src_server, dst_server),
        fake,
        operator,
    }
}

async fn status(fake: &FakeApiServer, ns: &str, name: &str) -> ClusterLink {
    Api::<ClusterLink>::namespaced(fake.client(), ns)
        .get(name)
        .await
        .unwrap()
}

/// Waits until both ClusterLinks are Reconciled and both directions mirrored every record;
/// returns their `status.resolvedBootstrap.source`s (destination's, source's).
async fn mirrored_both_ways(s: &Setup) -> (String, String) {
    for (ns, name) in [
        ("destination", "dest-cluster-link"),
        ("source", "src-cluster-link"),
    ] {
        eventually(&format!("{ns}/{name} Reconciled"), async || {
            let c = condition(&status(&s.fake, ns, name).await, "Reconciled")?;
            (c.0 == "True").then_some(())
        })
        .await;
    }
    for (bootstrap, topic) in [
        (s.dst.bootstrap(), "forward-topic"),
        (s.src.bootstrap(), "reverse-topic"),
    ] {
        eventually(&format!("{topic} mirrored"), async || {
            let n = rdkafka::consume(&bootstrap, topic).map_or(0, |r| r.len());
            (n == RECORDS).then_some(())
        })
        .await;
    }
    rdkafka::assert_same_records(&s.src.bootstrap(), &s.dst.bootstrap(), "forward-topic");
    rdkafka::assert_same_records(&s.dst.bootstrap(), &s.src.bootstrap(), "reverse-topic");
    let source = async |ns, name| {
        let l = status(&s.fake, ns, name).await;
        let r = l
            .status
            .unwrap()
            .resolved_bootstrap
            .expect("resolvedBootstrap");
        r.source
    };
    (
        source("destination", "dest-cluster-link").await,
        source("source", "src-cluster-link").await,
    )
}

async fn tear_down(s: Setup) {
    s.operator.stop().await;
    s.servers.0.stop().await;
    s.servers.1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_from_cfk_kafka_resources_and_their_changes_follow() {
    with_timeout(async {
        let s = set_up(Published::Cfk).await;
        let (dest, src) = mirrored_both_ways(&s).await;
        assert_eq!(
            dest,
            "CFK Kafka source/kafka-src, listener internal (internalEndpoint)"
        );
        assert_eq!(
            src,
            "CFK Kafka destination/kafka-dest, listener internal (internalEndpoint)"
        );

        // The source cluster's listener changes: the link on the destination follows.
        let moved = s.src.bootstrap().replace("127.0.0.1", "localhost");
        put_kafka(&s.fake, Published::Cfk, "source", "kafka-src", &moved);
        let rest = RestClient::new(&RestEndpoint::plain(s.servers.1.url())).unwrap();
        let dst_id = s.dst.cluster_id().to_string();
        eventually("bootstrap.servers follows the Kafka resource", async || {
            let configs = rest
                .link_configs(&dst_id, "bidirectional-link")
                .await
                .ok()?;
            (configs.get("bootstrap.servers")?.as_deref() == Some(moved.as_str())).then_some(())
        })
        .await;
        eventually("the status shows the new endpoint", async || {
            let l = status(&s.fake, "destination", "dest-cluster-link").await;
            let r = l.status?.resolved_bootstrap?;
            (r.bootstrap_servers == moved).then_some(())
        })
        .await;
        // Still mirroring over the new endpoint.
        rdkafka::produce_all(
            &s.src.bootstrap(),
            "forward-topic",
            &rdkafka::varied_records(5, 2, "more"),
        );
        eventually("records after the change mirrored", async || {
            let n = rdkafka::consume(&s.dst.bootstrap(), "forward-topic").map_or(0, |r| r.len());
            (n == RECORDS + 5).then_some(())
        })
        .await;
        tear_down(s).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_from_strimzi_kafka_resources() {
    with_timeout(async {
        let s = set_up(Published::Strimzi).await;
        let (dest, src) = mirrored_both_ways(&s).await;
        assert_eq!(dest, "Strimzi Kafka source/kafka-src, listener plain");
        assert_eq!(src, "Strimzi Kafka destination/kafka-dest, listener plain");
        tear_down(s).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_from_the_rest_api_when_no_kafka_resource_exists() {
    with_timeout(async {
        let s = set_up(Published::RestOnly).await;
        let (dest, src) = mirrored_both_ways(&s).await;
        assert_eq!(
            dest,
            format!(
                "REST API of KafkaRestClass source/kafka-src-rest, GET /clusters/{}/brokers",
                s.src.cluster_id()
            )
        );
        assert_eq!(
            src,
            format!(
                "REST API of KafkaRestClass destination/kafka-dest-rest, GET /clusters/{}/brokers",
                s.dst.cluster_id()
            )
        );
        tear_down(s).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresolvable_reference_is_a_condition_naming_what_was_tried() {
    with_timeout(async {
        let fake = FakeApiServer::new();
        fake.put_raw(
            GROUP,
            "kafkarestclasses",
            Some("destination"),
            json!({"apiVersion": GROUP, "kind": "KafkaRestClass",
                   "metadata": {"name": "kafka-dest-rest", "namespace": "destination"},
                   "spec": {"kafkaClusterRef": {"name": "kafka-dest"},
                            "kafkaRest": {"endpoint": "http://127.0.0.1:9"}}}),
        );
        let link: ClusterLink = serde_json::from_value(json!({
            "apiVersion": GROUP, "kind": "ClusterLink",
            "metadata": {"name": "orphan-link", "namespace": "destination"},
            "spec": {
                "destinationKafkaCluster": {"name": "kafka-dest", "namespace": "destination"},
                "sourceKafkaCluster": {"name": "kafka-nowhere", "namespace": "source"},
                "mirrorTopics": [{"name": "forward-topic"}]
            }
        }))
        .unwrap();
        let api: Api<ClusterLink> = Api::namespaced(fake.client(), "destination");
        api.create(&PostParams::default(), &link).await.unwrap();
        let operator = Operator::start(fake.client(), None, "op", false);
        let c = eventually("BootstrapEndpointUnresolved", async || {
            let c = condition(&api.get("orphan-link").await.ok()?, "Reconciled")?;
            (c.1 == "BootstrapEndpointUnresolved").then_some(c)
        })
        .await;
        assert_eq!(c.0, "False");
        for part in [
            "spec.sourceKafkaCluster {name: kafka-nowhere, namespace: source}",
            "CFK Kafka source/kafka-nowhere: not found",
            "Strimzi Kafka source/kafka-nowhere: not found",
            "no KafkaRestClass has kafkaClusterRef source/kafka-nowhere",
        ] {
            assert!(c.2.contains(part), "{part:?} not in {c:?}");
        }
        // A Kafka resource appears: the link is looked at again and the condition moves on (to
        // the link server it names, which is not there).
        put_kafka(
            &fake,
            Published::Cfk,
            "source",
            "kafka-nowhere",
            "127.0.0.1:9",
        );
        eventually(
            "the endpoint resolved once the Kafka resource exists",
            async || {
                let l = api.get("orphan-link").await.ok()?;
                let c = condition(&l, "Reconciled")?;
                (c.1 != "BootstrapEndpointUnresolved").then_some(())
            },
        )
        .await;
        operator.stop().await;
    })
    .await;
}
