//! The CFK page's two bidirectional examples, exactly as the page prints them (R1, R4), applied
//! with `clusterlink apply` (the binary) next to only what a CFK user adds: KafkaRestClass
//! documents and Secrets, in files of their own. Two private Apache Kafka clusters per test (the
//! page names its topics and links, so shared clusters cannot be used), a link server each, and
//! the data checked with librdkafka in each declared direction: `forward-topic` source →
//! destination, `reverse-topic` destination → source.
//!
//! The destination-initiated example names clusters only (`name`, `namespace`): their endpoints
//! are resolved through the KafkaRestClasses' REST APIs (`GET /clusters/{id}/brokers`). The
//! source-initiated one dials `kafka-dest.destination.svc.cluster.local:9092` with TLS and SASL
//! PLAIN: the destination cluster has a SASL_SSL listener whose certificate names that host, and
//! the source side's link server is told where that name is (`--connect-to`).

mod support;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use clusterlink_kafka::connection::ConnectTo;
use clusterlink_kafka::Client;
use clusterlink_testkit::cfk_page;
use clusterlink_testkit::kafka::{KafkaBuilder, KafkaCluster, Listener};
use clusterlink_testkit::link_server::{client_config, options, LinkServer};
use clusterlink_testkit::pki::TestPki;
use clusterlink_testkit::rdkafka;
use serde_json::Value;
use support::{clusterlink, text};

const RECORDS: usize = 40;
/// The host the page's source-initiated example dials.
const DEST_SERVICE: &str = "kafka-dest.destination.svc.cluster.local";

/// Starts two private clusters at once (each JVM takes seconds).
fn two_clusters(a: KafkaBuilder, b: KafkaBuilder) -> (KafkaCluster, KafkaCluster) {
    let a = std::thread::spawn(move || a.start().expect("start the source cluster"));
    let b = b.start().expect("start the destination cluster");
    (a.join().expect("source cluster thread"), b)
}

/// Creates `topic` on `bootstrap` and fills it with `RECORDS` records.
fn topic_with_records(bootstrap: &str, topic: &str) {
    rdkafka::create_topic(bootstrap, topic, 2).unwrap();
    rdkafka::produce_all(
        bootstrap,
        topic,
        &rdkafka::varied_records(RECORDS, 2, topic),
    );
}

/// Waits until librdkafka reads all `RECORDS` records of `topic` on `bootstrap`.
async fn mirrored(bootstrap: &str, topic: &str) {
    let start = Instant::now();
    loop {
        let n = rdkafka::consume(bootstrap, topic).map_or(0, |r| r.len());
        if n == RECORDS {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{topic} on {bootstrap}: {n} of {RECORDS} records mirrored"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Waits until forward-topic is mirrored to `dst` and reverse-topic to `src`, then checks both
/// copies record by record with librdkafka.
async fn mirrored_both_ways(src: &str, dst: &str) {
    mirrored(dst, "forward-topic").await;
    mirrored(src, "reverse-topic").await;
    rdkafka::assert_same_records(src, dst, "forward-topic");
    rdkafka::assert_same_records(dst, src, "reverse-topic");
}

/// `clusterlink ARGS` off the runtime (the link servers run on it).
async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        clusterlink(&args)
    })
    .await
    .unwrap()
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
}

/// A KafkaRestClass document: `name` in `namespace`, serving `cluster` (`namespace/name`) if
/// given, at `url`.
fn rest_class(name: &str, namespace: &str, cluster: Option<(&str, &str)>, url: &str) -> String {
    let cluster_ref = cluster.map_or(String::new(), |(ns, n)| {
        format!("  kafkaClusterRef:\n    name: {n}\n    namespace: {ns}\n")
    });
    format!(
        "apiVersion: platform.confluent.io/v1beta1\nkind: KafkaRestClass\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n{cluster_ref}  kafkaRest:\n    endpoint: {url}\n"
    )
}

/// `clusterlink status -f DIR -o json`, by `namespace/name`.
async fn statuses(dir: &Path) -> Vec<(String, Value)> {
    let o = run(vec![
        "status".into(),
        "-f".into(),
        dir.display().to_string(),
        "-o".into(),
        "json".into(),
    ])
    .await;
    // 2: printed, and some link is not Ready (yet).
    assert!(matches!(o.status.code(), Some(0 | 2)), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let m = &i["metadata"];
            let key = format!(
                "{}/{}",
                m["namespace"].as_str().unwrap(),
                m["name"].as_str().unwrap()
            );
            (key, i["status"].clone())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_destination_initiated_example_as_written() {
    let (src, dst) = two_clusters(KafkaCluster::builder(), KafkaCluster::builder());
    topic_with_records(&src.bootstrap(), "forward-topic");
    topic_with_records(&dst.bootstrap(), "reverse-topic");
    let src_server = LinkServer::start(&src.bootstrap()).await;
    let dst_server = LinkServer::start(&dst.bootstrap()).await;

    let page = cfk_page::destination_initiated_bidirectional();
    assert_eq!(page.len(), 2, "{page:#?}");
    let dir = tempfile::tempdir().unwrap();
    // The page's manifests, byte for byte, one per file.
    write(dir.path(), "1-dest-cluster-link.yaml", &page[0]);
    write(dir.path(), "2-src-cluster-link.yaml", &page[1]);
    // What a CFK user adds: one KafkaRestClass per cluster, naming it.
    let classes = [
        rest_class(
            "kafka-src-rest",
            "source",
            Some(("source", "kafka-src")),
            &src_server.url(),
        ),
        rest_class(
            "kafka-dest-rest",
            "destination",
            Some(("destination", "kafka-dest")),
            &dst_server.url(),
        ),
    ];
    write(
        dir.path(),
        "kafka-rest-classes.yaml",
        &classes.join("---\n"),
    );

    let d = dir.path().display().to_string();
    let o = run(vec!["apply".into(), "-f".into(), d]).await;
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for line in [
        "ClusterLink destination/dest-cluster-link: Reconciled=True",
        "ClusterLink source/src-cluster-link: Reconciled=True",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    mirrored_both_ways(&src.bootstrap(), &dst.bootstrap()).await;

    // Each side dials the other through the address its REST API lists.
    let statuses = statuses(dir.path()).await;
    let resolved = |key: &str| {
        let s = &statuses.iter().find(|(k, _)| k == key).unwrap().1;
        s["resolvedBootstrap"].clone()
    };
    let r = resolved("destination/dest-cluster-link");
    assert_eq!(r["cluster"], "spec.sourceKafkaCluster");
    assert_eq!(r["bootstrapServers"], src.bootstrap());
    assert_eq!(
        r["source"],
        format!(
            "REST API of KafkaRestClass source/kafka-src-rest, GET /clusters/{}/brokers",
            src.cluster_id()
        )
    );
    let r = resolved("source/src-cluster-link");
    assert_eq!(r["bootstrapServers"], dst.bootstrap());
    assert!(
        r["source"]
            .as_str()
            .unwrap()
            .starts_with("REST API of KafkaRestClass destination/kafka-dest-rest"),
        "{r}"
    );
    src_server.stop().await;
    dst_server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_initiated_example_as_written() {
    let pki = TestPki::for_names(&[DEST_SERVICE, "127.0.0.1", "localhost"]).unwrap();
    let (src, dst) = two_clusters(
        KafkaCluster::builder(),
        KafkaCluster::builder()
            .listener(Listener::SaslSsl)
            .user("link-user", "link-password-7")
            .identity(pki.clone()),
    );
    topic_with_records(&src.bootstrap(), "forward-topic");
    topic_with_records(&dst.bootstrap(), "reverse-topic");
    // The source side's link server dials the page's service name: `--connect-to` says where it
    // is (its TLS still checks that name).
    let mut local = client_config(&src.bootstrap());
    let rule = format!(
        "{DEST_SERVICE}:9092={}",
        dst.bootstrap_for(Listener::SaslSsl)
    );
    local.connection.connect_to = ConnectTo::parse(&[rule]).unwrap();
    let src_client = Client::connect(local).await.unwrap();
    let src_server = LinkServer::start_on(src_client, options(), "127.0.0.1:0").await;
    let dst_server = LinkServer::start(&dst.bootstrap()).await;

    let page = cfk_page::source_initiated_bidirectional();
    assert_eq!(page.len(), 2, "{page:#?}");
    assert!(
        page[0].contains("clusterID: <source-cluster-id>"),
        "{}",
        page[0]
    );
    let dir = tempfile::tempdir().unwrap();
    // The page's order: the destination side (Inbound) first.
    write(dir.path(), "step-1-dest-cluster-link.yaml", &page[0]);
    write(dir.path(), "step-2-src-cluster-link.yaml", &page[1]);
    // Each namespace has both KafkaRestClasses, as each side's CFK installation would.
    let mut classes = Vec::new();
    for ns in ["source", "destination"] {
        classes.push(rest_class("kafka-src-rest", ns, None, &src_server.url()));
        classes.push(rest_class("kafka-dest-rest", ns, None, &dst_server.url()));
    }
    write(
        dir.path(),
        "kafka-rest-classes.yaml",
        &classes.join("---\n"),
    );
    // The Secrets the page names, in CFK's formats.
    let indent = |pem: &str| pem.trim_end().replace('\n', "\n    ");
    let secrets = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: dest-jaas-secret\n  namespace: source\nstringData:\n  plain.txt: |\n    username=link-user\n    password=link-password-7\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: dest-tls-secret\n  namespace: source\nstringData:\n  cacerts.pem: |\n    {}\n  fullchain.pem: |\n    {}\n  privkey.pem: |\n    {}\n",
        indent(&pki.ca_pem),
        indent(&pki.cert_pem),
        indent(&pki.key_pem)
    );
    write(dir.path(), "secrets.yaml", &secrets);

    let d = dir.path().display().to_string();
    let o = run(vec!["apply".into(), "-f".into(), d]).await;
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for line in [
        "ClusterLink destination/dest-cluster-link: Reconciled=True",
        "ClusterLink source/src-cluster-link: Reconciled=True",
        &format!(
            "[ok] PlaceholderIgnored: clusterID '<source-cluster-id>' is a placeholder: using {} read from KafkaRestClass destination/kafka-src-rest",
            src.cluster_id()
        ),
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    for secret in ["link-password-7", "PRIVATE KEY"] {
        assert!(!out.contains(secret), "{secret} printed:\n{out}");
    }
    mirrored_both_ways(&src.bootstrap(), &dst.bootstrap()).await;
    src_server.stop().await;
    dst_server.stop().await;
}

/// A ClusterLink naming a cluster nothing describes: no `Kafka` resource, no KafkaRestClass.
const ORPHAN: &str = "apiVersion: platform.confluent.io/v1beta1
kind: ClusterLink
metadata:
  name: orphan-link
  namespace: destination
spec:
  destinationKafkaCluster:
    name: kafka-dest
    namespace: destination
  sourceKafkaCluster:
    name: kafka-nowhere
    namespace: source
  mirrorTopics:
    - name: forward-topic
";

/// `clusterlink apply EXTRA` on `link` beside a KafkaRestClass for `kafka-dest` where nothing
/// listens; its output and how long it took.
async fn apply_beside_a_dead_link_server(link: &str, extra: &[&str]) -> (Output, Duration) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "link.yaml", link);
    let rc = rest_class(
        "kafka-dest-rest",
        "destination",
        Some(("destination", "kafka-dest")),
        "http://127.0.0.1:9",
    );
    write(dir.path(), "rest.yaml", &rc);
    let mut args = vec![
        "apply".to_string(),
        "-f".into(),
        dir.path().display().to_string(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    let started = Instant::now();
    let o = run(args).await;
    (o, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresolvable_reference_fails_at_once_and_says_what_was_tried() {
    // The link server is never called: the pass stops before it needs it.
    let (o, took) = apply_beside_a_dead_link_server(ORPHAN, &[]).await;
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(took < Duration::from_secs(15), "took {took:?}:\n{out}");
    assert_eq!(
        out.matches("[warning] BootstrapEndpointUnresolved").count(),
        1,
        "reported once:\n{out}"
    );
    for part in [
        "spec.sourceKafkaCluster {name: kafka-nowhere, namespace: source} has no bootstrapEndpoint and none could be resolved",
        "CFK Kafka source/kafka-nowhere: not found",
        "Strimzi Kafka source/kafka-nowhere: not found",
        "REST API: spec.sourceKafkaCluster.name: no KafkaRestClass has kafkaClusterRef source/kafka-nowhere",
        "error: refused, not retried: ClusterLink destination/orphan-link",
    ] {
        assert!(out.contains(part), "missing {part:?} in:\n{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_link_server_is_retried_within_the_bound_then_given_up() {
    let help = clusterlink(&["apply", "--help"]);
    let help = text(&help);
    assert!(
        help.contains("--retry-for-secs") && help.contains("[default: 1m]"),
        "{help}"
    );

    let link = ORPHAN.replace(
        "    name: kafka-nowhere\n    namespace: source\n",
        "    bootstrapEndpoint: 127.0.0.1:9\n    clusterID: src\n",
    );
    // Nothing listens at the link server: connection refused, a transient failure.
    let (o, took) = apply_beside_a_dead_link_server(&link, &["--retry-for-secs", "3"]).await;
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(15),
        "took {took:?}:\n{out}"
    );
    assert_eq!(
        out.matches("[warning] LinkServerUnavailable").count(),
        1,
        "retried quietly, reported once:\n{out}"
    );
    assert!(
        out.contains(
            "error: still failing after retrying for 3s: ClusterLink destination/orphan-link"
        ),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_retries_with_backoff_and_reports_a_failure_once() {
    let dir = tempfile::tempdir().unwrap();
    let link = ORPHAN.replace(
        "    name: kafka-nowhere\n    namespace: source\n",
        "    bootstrapEndpoint: 127.0.0.1:9\n    clusterID: src\n",
    );
    write(dir.path(), "link.yaml", &link);
    // The destination's KafkaRestClass names a link server where nothing listens: connection
    // refused at every attempt, a transient failure that --watch retries.
    let rc = rest_class(
        "kafka-dest-rest",
        "destination",
        Some(("destination", "kafka-dest")),
        "http://127.0.0.1:9",
    );
    write(dir.path(), "rest.yaml", &rc);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args(["apply", "--watch", "-f", &dir.path().display().to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Several attempts (backoff 1 s, 2 s, ...), then Ctrl-C.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let out = text(&o);
    assert_eq!(
        out.matches("[warning] LinkServerUnavailable").count(),
        1,
        "reported once over several attempts:\n{out}"
    );
    assert!(
        out.contains("ClusterLink destination/orphan-link: Reconciled=False"),
        "{out}"
    );
}
