//! `clusterlink apply` and `clusterlink status` as a user runs them: the binary, YAML files in a
//! folder, a real link server over real brokers, data checked with librdkafka.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clusterlink_reconcile::rest_client::{RestClient, RestEndpoint};
use clusterlink_testkit::link_server::LinkServer;
use clusterlink_testkit::rdkafka;
use clusterlink_testkit::sasl::SaslCluster;
use clusterlink_testkit::TansuCluster;
use serde_json::Value;
use support::{clusterlink, text};

fn manifests(dir: &Path, rest_url: &str, source: &str, orders_state: &str) {
    std::fs::write(
        dir.join("rest.yaml"),
        format!(
            r#"apiVersion: platform.confluent.io/v1beta1
kind: KafkaRestClass
metadata: {{name: dest-rest, namespace: destination}}
spec:
  kafkaRest: {{endpoint: "{rest_url}"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: src-creds, namespace: destination}}
type: Opaque
data:
  plain.txt: dXNlcm5hbWU9bWlycm9yCnBhc3N3b3JkPWh1bnRlcjI= # username=mirror, password=hunter2
"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("link.yaml"),
        format!(
            r#"apiVersion: platform.confluent.io/v1beta1
kind: ClusterLink
metadata: {{name: demo, namespace: destination}}
spec:
  name: demo-link
  destinationKafkaCluster: {{kafkaRestClassRef: {{name: dest-rest}}}}
  sourceKafkaCluster:
    bootstrapEndpoint: {source}
    clusterID: src
    authentication: {{type: plain, jaasConfig: {{secretRef: src-creds}}}}
  mirrorTopics:
    - name: orders
      state: {orders_state}
    - name: payments
---
apiVersion: platform.confluent.io/v1beta1
kind: KafkaTopic
metadata: {{name: audit, namespace: destination}}
spec:
  partitionCount: 2
  configs: {{cleanup.policy: compact}}
  kafkaRestClassRef: {{name: dest-rest}}
---
apiVersion: platform.confluent.io/v1beta1
kind: Kafka
metadata: {{name: kafka, namespace: destination}}
spec: {{replicas: 3}}
"#
        ),
    )
    .unwrap();
}

fn produce(bootstrap: &str, topic: &str, n: usize) {
    rdkafka::produce_all(bootstrap, topic, &rdkafka::varied_records(n, 2, topic));
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !done().await {
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn status_json(dir: &Path) -> Value {
    let o = clusterlink(&["status", "-f", dir.to_str().unwrap(), "-o", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn ready(s: &Value) -> bool {
    s["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_then_status_then_promote_from_files() {
    // The link authenticates with the manifests' credentials (SASL PLAIN); set-up and checks
    // use plain clients.
    let src = SaslCluster::start_mixed("src", &[("mirror", "hunter2")]).unwrap();
    let dst = TansuCluster::start("dst").unwrap();
    for t in ["orders", "payments"] {
        clusterlink_testkit::rdkafka::create_topic(&src.bootstrap(), t, 2).unwrap();
        produce(&src.bootstrap(), t, 200);
    }
    let server = LinkServer::start(&dst.bootstrap()).await;
    let dir = tempfile::tempdir().unwrap();
    manifests(dir.path(), &server.url(), &src.bootstrap(), "ACTIVE");
    let d = dir.path().to_str().unwrap();

    let o = clusterlink(&["apply", "-f", d]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for line in [
        "ClusterLink destination/demo: [ok] LinkCreated: created link demo-link on cluster dst",
        "[ok] MirrorTopicCreated: mirror topic orders created from orders",
        "[ok] MirrorTopicCreated: mirror topic payments created from payments",
        "KafkaTopic destination/audit: [ok] TopicCreated: topic audit created on cluster dst",
        "platform.confluent.io/v1beta1 Kafka kafka: read for its listeners",
        "ClusterLink destination/demo: Reconciled=True",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert!(!out.contains("hunter2"), "a credential was printed:\n{out}");
    let rest = RestClient::new(&RestEndpoint::plain(server.url())).unwrap();
    let audit = rest.topic("dst", "audit").await.unwrap().unwrap();
    assert_eq!(audit.partitions_count, Some(2));

    wait_for("the mirrors to catch up", async || {
        rdkafka::consume(&dst.bootstrap(), "orders").unwrap().len() == 200
            && rdkafka::consume(&dst.bootstrap(), "payments")
                .unwrap()
                .len()
                == 200
    })
    .await;
    assert_eq!(
        rdkafka::by_partition(&rdkafka::consume(&dst.bootstrap(), "orders").unwrap()),
        rdkafka::by_partition(&rdkafka::consume(&src.bootstrap(), "orders").unwrap())
    );

    // `status` reads the status live; nothing is pending.
    let s = status_json(dir.path());
    assert!(ready(&s), "{s:#}");
    assert_eq!(s["status"]["numMirrorTopics"], 2);
    assert_eq!(s["status"]["destinationKafkaClusterID"], "dst");
    assert_eq!(s["status"]["mirrorTopics"]["orders"]["status"], "ACTIVE");

    // A second apply with nothing changed: no creation, no write (a one-shot apply keeps no
    // state, so only the credential is re-sent: its value cannot be compared).
    let o = clusterlink(&["apply", "-f", d]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(!out.contains("Created"), "{out}");
    assert!(!out.contains("MirrorTopic"), "{out}");

    // Edit the file: PROMOTE orders.
    manifests(dir.path(), &server.url(), &src.bootstrap(), "PROMOTE");
    let o = clusterlink(&["apply", "-f", d]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("MirrorTopicPromoting"), "{out}");
    assert!(
        out.contains("TopicHandedOver: topic orders is no longer a mirror; under the operator, KafkaTopic clink-orders-"),
        "{out}"
    );
    let s = status_json(dir.path());
    assert_eq!(
        s["status"]["mirrorTopics"]["orders"]["status"], "STOPPED",
        "{s:#}"
    );
    assert!(ready(&s));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_file_is_refused_with_the_field_and_no_rest_write() {
    let dst = TansuCluster::start("dst").unwrap();
    let server = LinkServer::start(&dst.bootstrap()).await;
    let dir = tempfile::tempdir().unwrap();
    manifests(dir.path(), &server.url(), "127.0.0.1:1", "ACTIVE");
    let link = std::fs::read_to_string(dir.path().join("link.yaml"))
        .unwrap()
        .replace("- name: payments", "- name: \"pay ments\"");
    std::fs::write(dir.path().join("link.yaml"), link).unwrap();
    let o = clusterlink(&["apply", "-f", dir.path().to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("InvalidSpec"), "{out}");
    assert!(out.contains("spec.mirrorTopics[1].name"), "{out}");
    assert!(server.manager.links().is_empty(), "a link was created");

    // A file that is not even a ClusterLink's shape: the file and document are named.
    std::fs::write(
        dir.path().join("link.yaml"),
        "apiVersion: platform.confluent.io/v1beta1\nkind: ClusterLink\nmetadata: {name: x}\nspec: {mirrorTopics: 7}\n",
    )
    .unwrap();
    let o = clusterlink(&["apply", "-f", dir.path().to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("link.yaml (document 1)"), "{out}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_watch_follows_changes_of_the_files() {
    let src = SaslCluster::start_mixed("src", &[("mirror", "hunter2")]).unwrap();
    let dst = TansuCluster::start("dst").unwrap();
    for t in ["orders", "payments"] {
        clusterlink_testkit::rdkafka::create_topic(&src.bootstrap(), t, 1).unwrap();
    }
    let server = LinkServer::start(&dst.bootstrap()).await;
    let dir = tempfile::tempdir().unwrap();
    manifests(dir.path(), &server.url(), &src.bootstrap(), "ACTIVE");
    let mut child = Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args(["apply", "--watch", "-f", dir.path().to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rest = RestClient::new(&RestEndpoint::plain(server.url())).unwrap();
    wait_for("both mirrors", async || {
        rest.mirrors("dst", "demo-link")
            .await
            .map(|m| m.len() == 2)
            .unwrap_or(false)
    })
    .await;
    // Pause orders by editing the file.
    manifests(dir.path(), &server.url(), &src.bootstrap(), "PAUSE");
    wait_for("orders paused", async || {
        rest.mirrors("dst", "demo-link")
            .await
            .is_ok_and(|m| m.iter().any(|m| m.name == "orders" && m.status == "PAUSED"))
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    server.stop().await;
}

/// Copies an `examples/` folder to `dir` with the local endpoints it names replaced by the
/// test's.
fn example(name: &str, dir: &Path, src: &str, dst: &str, src_rest: &str, dst_rest: &str) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    for f in std::fs::read_dir(&from).unwrap() {
        let f = f.unwrap().path();
        let text = std::fs::read_to_string(&f)
            .unwrap()
            .replace("127.0.0.1:19092", src)
            .replace("127.0.0.1:29092", dst)
            .replace("http://127.0.0.1:18091", src_rest)
            .replace("http://127.0.0.1:18090", dst_rest);
        std::fs::write(dir.join(f.file_name().unwrap()), text).unwrap();
    }
}

/// One of the page's two-cluster examples applied with `clusterlink apply`: forward-topic moves
/// to the destination, reverse-topic (when the example has it) back to the source.
async fn two_cluster_example(name: &str, reverse: bool) {
    let src = TansuCluster::start("kafka-src").unwrap();
    let dst = TansuCluster::start("kafka-dest").unwrap();
    rdkafka::create_topic(&src.bootstrap(), "forward-topic", 2).unwrap();
    produce(&src.bootstrap(), "forward-topic", 150);
    if reverse {
        rdkafka::create_topic(&dst.bootstrap(), "reverse-topic", 2).unwrap();
        produce(&dst.bootstrap(), "reverse-topic", 50);
    }
    let ss = LinkServer::start(&src.bootstrap()).await;
    let ds = LinkServer::start(&dst.bootstrap()).await;
    let dir = tempfile::tempdir().unwrap();
    example(
        name,
        dir.path(),
        &src.bootstrap(),
        &dst.bootstrap(),
        &ss.url(),
        &ds.url(),
    );
    let o = clusterlink(&["apply", "-f", dir.path().to_str().unwrap()]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(!out.contains("Reconciled=False"), "{out}");
    let same = |a: &str, b: &str, topic: &str| {
        rdkafka::by_partition(&rdkafka::consume(a, topic).unwrap())
            == rdkafka::by_partition(&rdkafka::consume(b, topic).unwrap())
    };
    wait_for("forward-topic on the destination", async || {
        rdkafka::consume(&dst.bootstrap(), "forward-topic")
            .unwrap()
            .len()
            == 150
    })
    .await;
    assert!(same(&src.bootstrap(), &dst.bootstrap(), "forward-topic"));
    if reverse {
        wait_for("reverse-topic on the source", async || {
            rdkafka::consume(&src.bootstrap(), "reverse-topic")
                .unwrap()
                .len()
                == 50
        })
        .await;
        assert!(same(&dst.bootstrap(), &src.bootstrap(), "reverse-topic"));
    }
    // Every ClusterLink of the example ends Ready.
    let s = status_json(dir.path());
    let items: Vec<Value> = match s.get("items") {
        Some(Value::Array(a)) => a.clone(),
        _ => vec![s.clone()],
    };
    for item in &items {
        assert!(ready(item), "{item:#}");
    }
    ss.stop().await;
    ds.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_destination_initiated_bidirectional() {
    two_cluster_example("bidirectional", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_source_initiated_bidirectional_outbound_side_first() {
    two_cluster_example("source-initiated-bidirectional", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_source_initiated_unidirectional() {
    two_cluster_example("source-initiated", false).await;
}
