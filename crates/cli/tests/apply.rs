//! `clusterlink apply` and `clusterlink status` as a user runs them: the binary, YAML files in a
//! folder, a real link server over real brokers, data checked with librdkafka. On Apache Kafka
//! (the destination the run's shared cluster, so every name is unique; a private source with a
//! SASL listener where the link authenticates) and on tansu.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clusterlink_reconcile::rest_client::{RestClient, RestEndpoint};
use clusterlink_testkit::examples::{Example, Local};
use clusterlink_testkit::kafka::unique_name;
use clusterlink_testkit::link_server::LinkServer;
use clusterlink_testkit::peer::{Peer, Side};
use clusterlink_testkit::{peer_tests, rdkafka};
use serde_json::Value;
use support::{clusterlink, line_with, text};

/// The names the manifests use: unique, since the destination may be shared.
struct Names {
    src_id: String,
    link: String,
    orders: String,
    payments: String,
    audit: String,
}

impl Names {
    fn new(src_id: &str) -> Names {
        Names {
            src_id: src_id.to_owned(),
            link: unique_name("demo-link"),
            orders: unique_name("orders"),
            payments: unique_name("payments"),
            audit: unique_name("audit"),
        }
    }
}

fn manifests(dir: &Path, n: &Names, rest_url: &str, source: &str, orders_state: &str) {
    let Names {
        src_id,
        link,
        orders,
        payments,
        audit,
    } = n;
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
  name: {link}
  destinationKafkaCluster: {{kafkaRestClassRef: {{name: dest-rest}}}}
  sourceKafkaCluster:
    bootstrapEndpoint: {source}
    clusterID: {src_id}
    authentication: {{type: plain, jaasConfig: {{secretRef: src-creds}}}}
  mirrorTopics:
    - name: {orders}
      state: {orders_state}
    - name: {payments}
---
apiVersion: platform.confluent.io/v1beta1
kind: KafkaTopic
metadata: {{name: {audit}, namespace: destination}}
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

async fn apply_then_status_then_promote_from_files(peer: Peer) {
    // The link authenticates with the manifests' credentials (SASL PLAIN); set-up and checks
    // use plain clients.
    let src = peer.sasl_private("src", &[("mirror", "hunter2")]).unwrap();
    let dst = peer.cluster(Side::B).unwrap();
    let dst_id = dst.cluster_id();
    let n = Names::new(&src.cluster_id());
    for t in [&n.orders, &n.payments] {
        rdkafka::create_topic(&src.bootstrap(), t, 2).unwrap();
        produce(&src.bootstrap(), t, 200);
    }
    let server = LinkServer::start(&dst.bootstrap()).await;
    let dir = tempfile::tempdir().unwrap();
    manifests(
        dir.path(),
        &n,
        &server.url(),
        &src.sasl_bootstrap(),
        "ACTIVE",
    );
    let d = dir.path().to_str().unwrap();

    let o = clusterlink(&["apply", "-f", d]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let (orders, payments, audit) = (&n.orders, &n.payments, &n.audit);
    for line in [
        format!(
            "ClusterLink destination/demo: [ok] LinkCreated: created link {} on cluster {dst_id}",
            n.link
        ),
        format!("[ok] MirrorTopicCreated: mirror topic {orders} created from {orders}"),
        format!("[ok] MirrorTopicCreated: mirror topic {payments} created from {payments}"),
        format!(
            "KafkaTopic destination/{audit}: [ok] TopicCreated: topic {audit} created on cluster {dst_id}"
        ),
        "platform.confluent.io/v1beta1 Kafka kafka: read for its listeners".into(),
        "ClusterLink destination/demo: Reconciled=True".into(),
    ] {
        assert!(out.contains(&line), "missing {line:?} in:\n{out}");
    }
    assert!(!out.contains("hunter2"), "a credential was printed:\n{out}");
    let rest = RestClient::new(&RestEndpoint::plain(server.url())).unwrap();
    let audit_topic = rest.topic(&dst_id, audit).await.unwrap().unwrap();
    assert_eq!(audit_topic.partitions_count, Some(2));

    wait_for("the mirrors to catch up", async || {
        rdkafka::consume(&dst.bootstrap(), orders).unwrap().len() == 200
            && rdkafka::consume(&dst.bootstrap(), payments).unwrap().len() == 200
    })
    .await;
    assert_eq!(
        rdkafka::by_partition(&rdkafka::consume(&dst.bootstrap(), orders).unwrap()),
        rdkafka::by_partition(&rdkafka::consume(&src.bootstrap(), orders).unwrap())
    );

    // `status` reads the status live; nothing is pending.
    let s = status_json(dir.path());
    assert!(ready(&s), "{s:#}");
    assert_eq!(s["status"]["numMirrorTopics"], 2);
    assert_eq!(s["status"]["destinationKafkaClusterID"], dst_id.as_str());
    assert_eq!(s["status"]["mirrorTopics"][orders]["status"], "ACTIVE");

    // A second apply with nothing changed: no creation, no write (a one-shot apply keeps no
    // state, so only the credential is re-sent: its value cannot be compared).
    let o = clusterlink(&["apply", "-f", d]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(!out.contains("Created"), "{out}");
    assert!(!out.contains("MirrorTopic"), "{out}");

    // Edit the file: PROMOTE orders.
    manifests(
        dir.path(),
        &n,
        &server.url(),
        &src.sasl_bootstrap(),
        "PROMOTE",
    );
    let o = clusterlink(&["apply", "-f", d]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("MirrorTopicPromoting"), "{out}");
    assert!(
        out.contains(&format!("TopicHandedOver: topic {orders} is no longer a mirror; under the operator, KafkaTopic clink-{orders}-")),
        "{out}"
    );
    let s = status_json(dir.path());
    assert_eq!(
        s["status"]["mirrorTopics"][orders]["status"], "STOPPED",
        "{s:#}"
    );
    assert!(ready(&s));
    server.stop().await;
}

async fn an_invalid_file_is_refused_with_the_field_and_no_rest_write(peer: Peer) {
    let dst = peer.cluster(Side::B).unwrap();
    let server = LinkServer::start(&dst.bootstrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let n = Names::new("src");
    manifests(dir.path(), &n, &server.url(), "127.0.0.1:1", "ACTIVE");
    let link = std::fs::read_to_string(dir.path().join("link.yaml"))
        .unwrap()
        .replace(&format!("- name: {}", n.payments), "- name: \"pay ments\"");
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

async fn apply_watch_follows_changes_of_the_files(peer: Peer) {
    let src = peer.sasl_private("src", &[("mirror", "hunter2")]).unwrap();
    let dst = peer.cluster(Side::B).unwrap();
    let dst_id = dst.cluster_id();
    let n = Names::new(&src.cluster_id());
    for t in [&n.orders, &n.payments] {
        rdkafka::create_topic(&src.bootstrap(), t, 1).unwrap();
    }
    let server = LinkServer::start(&dst.bootstrap()).await;
    let dir = tempfile::tempdir().unwrap();
    manifests(
        dir.path(),
        &n,
        &server.url(),
        &src.sasl_bootstrap(),
        "ACTIVE",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args(["apply", "--watch", "-f", dir.path().to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rest = RestClient::new(&RestEndpoint::plain(server.url())).unwrap();
    wait_for("both mirrors", async || {
        rest.mirrors(&dst_id, &n.link)
            .await
            .map(|m| m.len() == 2)
            .unwrap_or(false)
    })
    .await;
    // Pause orders by editing the file.
    manifests(
        dir.path(),
        &n,
        &server.url(),
        &src.sasl_bootstrap(),
        "PAUSE",
    );
    wait_for("orders paused", async || {
        rest.mirrors(&dst_id, &n.link)
            .await
            .is_ok_and(|m| m.iter().any(|m| m.name == n.orders && m.status == "PAUSED"))
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    server.stop().await;
}

/// One of the page's two-cluster examples applied with `clusterlink apply`: forward-topic moves
/// to the destination, reverse-topic (when the example has it) back to the source.
async fn two_cluster_example(peer: Peer, name: &str, reverse: bool) {
    let (src, dst) = peer.pair().unwrap();
    let ss = LinkServer::start(&src.bootstrap()).await;
    let ds = LinkServer::start(&dst.bootstrap()).await;
    let example = Example::load(
        name,
        &Local {
            src_bootstrap: &src.bootstrap(),
            dst_bootstrap: &dst.bootstrap(),
            src_rest: &ss.url(),
            dst_rest: &ds.url(),
            src_id: &src.cluster_id(),
            dst_id: &dst.cluster_id(),
        },
    );
    let (forward, reverse_topic) = (example.name("forward-topic"), example.name("reverse-topic"));
    rdkafka::create_topic(&src.bootstrap(), &forward, 2).unwrap();
    produce(&src.bootstrap(), &forward, 150);
    if reverse {
        rdkafka::create_topic(&dst.bootstrap(), &reverse_topic, 2).unwrap();
        produce(&dst.bootstrap(), &reverse_topic, 50);
    }
    let dir = tempfile::tempdir().unwrap();
    example.write_to(dir.path());
    let o = clusterlink(&["apply", "-f", dir.path().to_str().unwrap()]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(!out.contains("Reconciled=False"), "{out}");
    let same = |a: &str, b: &str, topic: &str| {
        rdkafka::by_partition(&rdkafka::consume(a, topic).unwrap())
            == rdkafka::by_partition(&rdkafka::consume(b, topic).unwrap())
    };
    wait_for("forward-topic on the destination", async || {
        rdkafka::consume(&dst.bootstrap(), &forward).unwrap().len() == 150
    })
    .await;
    assert!(same(&src.bootstrap(), &dst.bootstrap(), &forward));
    if reverse {
        wait_for("reverse-topic on the source", async || {
            rdkafka::consume(&src.bootstrap(), &reverse_topic)
                .unwrap()
                .len()
                == 50
        })
        .await;
        assert!(same(&dst.bootstrap(), &src.bootstrap(), &reverse_topic));
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
    if name == "bidirectional" {
        let (src, dst) = (src.bootstrap(), dst.bootstrap());
        the_table_shows_both_directions(dir.path(), &src, &dst, &forward).await;
    }
    ss.stop().await;
    ds.stop().await;
}

/// On a bidirectional link the status table names each mirror's direction: a `toSource`
/// mirror added to the destination-side resource (it lives on the source cluster's link
/// server, through the link's other half) has its line with its partitions and lag, as the
/// `toDestination` one has.
async fn the_table_shows_both_directions(dir: &Path, src: &str, dst: &str, forward: &str) {
    let pushed = unique_name("pushed-topic");
    rdkafka::create_topic(dst, &pushed, 2).unwrap();
    produce(dst, &pushed, 30);
    let file = dir.join("cluster-links.yaml");
    let links = std::fs::read_to_string(&file).unwrap();
    let entry = format!("    - name: {forward}\n      direction: toDestination\n");
    assert!(links.contains(&entry), "{links}");
    let added = format!("{entry}    - name: {pushed}\n      direction: toSource\n");
    std::fs::write(&file, links.replacen(&entry, &added, 1)).unwrap();
    let o = clusterlink(&["apply", "-f", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    wait_for("pushed-topic on the source", async || {
        rdkafka::consume(src, &pushed).is_ok_and(|r| r.len() == 30)
    })
    .await;
    let mut out = String::new();
    wait_for("both directions in the table", async || {
        let o = clusterlink(&["status", "-f", dir.to_str().unwrap(), "-o", "wide"]);
        out = text(&o);
        line_with(&out, &[&pushed, "toSource", "ACTIVE", "2", "0", "0.0"]).is_some()
            && line_with(&out, &[forward, "toDestination", "ACTIVE", "2", "0", "0.0"]).is_some()
    })
    .await;
    // -o wide: the toSource mirror's partitions, from the source cluster's link server.
    for p in ["0", "1"] {
        assert!(
            line_with(&out, &[&pushed, "toSource", p, "0", "0.0", "15"]).is_some(),
            "partition {p}: {out}"
        );
    }
}

async fn example_destination_initiated_bidirectional(peer: Peer) {
    two_cluster_example(peer, "bidirectional", true).await;
}

async fn example_source_initiated_bidirectional_outbound_side_first(peer: Peer) {
    two_cluster_example(peer, "source-initiated-bidirectional", true).await;
}

async fn example_source_initiated_unidirectional(peer: Peer) {
    two_cluster_example(peer, "source-initiated", false).await;
}

peer_tests! {
    apply_then_status_then_promote_from_files: [kafka, tansu];
    an_invalid_file_is_refused_with_the_field_and_no_rest_write: [kafka, tansu];
    apply_watch_follows_changes_of_the_files: [kafka, tansu];
    example_destination_initiated_bidirectional: [kafka, tansu];
    example_source_initiated_bidirectional_outbound_side_first: [kafka, tansu];
    example_source_initiated_unidirectional: [kafka, tansu];
}
