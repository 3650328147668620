//! `clusterlink status` as a user runs it: the binary against a real link server over real
//! brokers, from YAML files and from the link server's URL, as a table, `-o wide`, JSON, and
//! `--watch`; its exit code says whether every link is Ready.

mod support;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clusterlink_testkit::kafka::unique_name;
use clusterlink_testkit::link_server::LinkServer;
use clusterlink_testkit::peer::{Peer, Side};
use clusterlink_testkit::{peer_tests, rdkafka};
use serde_json::Value;
use support::{clusterlink, line_with, text};

const RECORDS: usize = 120;

/// A link `link` from `source` with mirror topic `orders` in `state`, applied through
/// `rest_url`.
fn manifests(dir: &Path, rest_url: &str, source: &str, src_id: &str, link: &str, orders: &str) {
    manifests_in_state(dir, rest_url, source, src_id, link, orders, "ACTIVE");
}

fn manifests_in_state(
    dir: &Path,
    rest_url: &str,
    source: &str,
    src_id: &str,
    link: &str,
    orders: &str,
    state: &str,
) {
    std::fs::write(
        dir.join("link.yaml"),
        format!(
            r#"apiVersion: platform.confluent.io/v1beta1
kind: KafkaRestClass
metadata: {{name: dest-rest, namespace: destination}}
spec:
  kafkaRest: {{endpoint: "{rest_url}"}}
---
apiVersion: platform.confluent.io/v1beta1
kind: ClusterLink
metadata: {{name: demo, namespace: destination}}
spec:
  name: {link}
  destinationKafkaCluster: {{kafkaRestClassRef: {{name: dest-rest}}}}
  sourceKafkaCluster: {{bootstrapEndpoint: "{source}", clusterID: {src_id}}}
  mirrorTopics:
    - name: {orders}
      state: {state}
"#
        ),
    )
    .unwrap();
}

/// The line of `text` whose first whitespace-separated cells are `cells`.
fn line_starting<'a>(text: &'a str, cells: &[&str]) -> Option<&'a str> {
    text.lines()
        .find(|l| l.split_whitespace().collect::<Vec<_>>().starts_with(cells))
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Before the link exists `status` says why it is not Ready and exits with 2; once applied and
/// caught up, the table shows the link Ready and its mirror topic with its partitions and zero
/// lag in records and seconds, `-o wide` a line per partition up to the source's end, and
/// `--url` the same straight from the link server, without files.
async fn status_tables_from_files_and_from_the_url_and_not_ready_exits_2(peer: Peer) {
    let (src, dst) = (
        peer.private("status-src").unwrap(),
        peer.cluster(Side::B).unwrap(),
    );
    let link = unique_name("status-link");
    let orders = unique_name("orders");
    rdkafka::create_topic(&src.bootstrap(), &orders, 2).unwrap();
    rdkafka::produce_all(
        &src.bootstrap(),
        &orders,
        &rdkafka::varied_records(RECORDS, 2, "status"),
    );
    let server = LinkServer::start(&dst.bootstrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    manifests(
        dir.path(),
        &server.url(),
        &src.bootstrap(),
        &src.cluster_id(),
        &link,
        &orders,
    );

    // Not applied yet: not Ready, and why.
    let o = clusterlink(&["status", "-f", d]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    let row = line_with(&out, &["destination/demo", "False"]).unwrap_or_else(|| panic!("{out}"));
    assert!(row.contains("LinkMissing"), "{out}");
    assert!(out.starts_with("LINK "), "a table by default: {out}");

    let o = clusterlink(&["apply", "-f", d]);
    assert!(o.status.success(), "{}", text(&o));
    wait_for("the mirror to catch up", || {
        rdkafka::consume(&dst.bootstrap(), &orders).is_ok_and(|r| r.len() == RECORDS)
    })
    .await;
    // The lag the engine reports follows the copy within a status interval.
    let mut out = String::new();
    wait_for("status to report zero lag", || {
        let o = clusterlink(&["status", "-f", d]);
        out = text(&o);
        o.status.success() && line_with(&out, &[&orders, "ACTIVE", "2", "0", "0.0"]).is_some()
    })
    .await;
    assert!(
        line_with(&out, &["destination/demo", "CREATED", "True"]).is_some(),
        "{out}"
    );
    let header = [
        "MIRROR",
        "TOPIC",
        "STATUS",
        "PARTITIONS",
        "MAX",
        "LAG",
        "SECONDS",
    ];
    assert!(line_with(&out, &header).is_some(), "{out}");
    let wide_header = ["PARTITION", "LAG", "LAST", "SOURCE", "FETCH", "OFFSET"];
    assert!(
        line_with(&out, &wide_header).is_none(),
        "per partition only with -o wide: {out}"
    );

    let o = clusterlink(&["status", "-f", d, "-o", "wide"]);
    let wide = text(&o);
    assert!(o.status.success(), "{wide}");
    assert!(line_with(&wide, &wide_header).is_some(), "{wide}");
    let fetched: i64 = (0..2)
        .map(|p| {
            let cells = ["destination/demo", &orders, &p.to_string(), "0", "0.0"];
            let row = line_starting(&wide, &cells)
                .unwrap_or_else(|| panic!("no line for partition {p}: {wide}"));
            row.split_whitespace()
                .last()
                .unwrap()
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(fetched, RECORDS as i64, "next source offsets: {wide}");

    // The resource's status carries the lag in seconds, per topic and for the link.
    let o = clusterlink(&["status", "-f", d, "-o", "json"]);
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        s["status"]["mirrorTopics"][&orders]["maxLagSeconds"], 0.0,
        "{s:#}"
    );
    assert_eq!(s["status"]["maxLag"], 0, "{s:#}");
    assert_eq!(s["status"]["maxLagSeconds"], 0.0, "{s:#}");

    // Without files: the link server's REST endpoint.
    let o = clusterlink(&["status", "--url", &server.url(), "-o", "wide"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        line_with(&out, &[&link, "ACTIVE", "True"]).is_some(),
        "{out}"
    );
    assert!(
        line_with(&out, &[&link, &orders, "ACTIVE", "2", "0", "0.0"]).is_some(),
        "{out}"
    );
    assert!(
        line_starting(&out, &[&link, &orders, "1", "0", "0.0"]).is_some(),
        "{out}"
    );
    let o = clusterlink(&["status", "--url", &server.url(), "-o", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mirror = &v["mirrors"][0];
    assert_eq!(mirror["name"], orders.as_str(), "{v:#}");
    assert_eq!(mirror["partitionLags"][1]["lagSeconds"], 0.0, "{v:#}");

    // A link server that does not answer: an error, not a table.
    let url = server.url();
    server.stop().await;
    let o = clusterlink(&["status", "--url", &url, "--request-timeout", "2s"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = clusterlink(&["status", "-f", d, "--request-timeout", "2s"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        line_with(&out, &["destination/demo", "False"]).is_some(),
        "{out}"
    );
}

/// `--watch` prints the view again every `--interval` until interrupted, then exits with
/// whether the links were Ready at the last look.
async fn status_watch_prints_again_until_interrupted(peer: Peer) {
    let dst = peer.cluster(Side::B).unwrap();
    let server = LinkServer::start(&dst.bootstrap()).await;
    let dir = tempfile::tempdir().unwrap();
    // The link was never applied: never Ready.
    manifests(
        dir.path(),
        &server.url(),
        "127.0.0.1:9",
        "nowhere",
        &unique_name("watched"),
        "orders",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args(["status", "--watch", "--interval", "300ms", "-f"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let exit = child.wait().unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let looks = out.matches("Every 300ms: ").count();
    assert!(looks >= 3, "{looks} looks in 3 s:\n{out}");
    assert_eq!(
        out.matches("destination/demo").count(),
        looks,
        "one row per look:\n{out}"
    );
    assert_eq!(exit.code(), Some(2), "not Ready at the last look:\n{out}");
    server.stop().await;
}

/// The `maxLagSeconds` and `maxLag` of mirror topic `topic` in `status -f dir -o json`.
fn lag_of(dir: &str, topic: &str) -> (Option<f64>, Option<i64>, Value) {
    let o = clusterlink(&["status", "-f", dir, "-o", "json"]);
    let s: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    let m = &s["status"]["mirrorTopics"][topic];
    (m["maxLagSeconds"].as_f64(), m["maxLag"].as_i64(), s.clone())
}

/// The value of `clusterlink_mirror_lag_seconds` for `topic`'s partition 0 in a `/metrics`
/// exposition.
fn lag_seconds_metric(exposition: &str, topic: &str) -> Option<f64> {
    exposition
        .lines()
        .filter(|l| l.starts_with("clusterlink_mirror_lag_seconds{"))
        .filter(|l| l.contains(&format!("topic=\"{topic}\"")) && l.contains("partition=\"0\""))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// A paused mirror does not fetch, yet its lag follows its source: records produced while it
/// is paused show as lag in records at once (within the engine's refresh), and as a lag in
/// seconds that grows while they wait, in the status, the table and the metrics the lag alert
/// reads. Resumed, it catches up and the lag goes back to zero.
async fn a_paused_mirror_shows_its_lag_growing_in_records_and_seconds(peer: Peer) {
    const BEFORE: usize = 40;
    const WHILE_PAUSED: usize = 25;
    let (src, dst) = (
        peer.cluster(Side::A).unwrap(),
        peer.cluster(Side::B).unwrap(),
    );
    let link = unique_name("paused-lag");
    let orders = unique_name("orders");
    rdkafka::create_topic(&src.bootstrap(), &orders, 1).unwrap();
    rdkafka::produce_all(
        &src.bootstrap(),
        &orders,
        &rdkafka::varied_records(BEFORE, 1, "before"),
    );
    let server = LinkServer::start(&dst.bootstrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let write = |state| {
        manifests_in_state(
            dir.path(),
            &server.url(),
            &src.bootstrap(),
            &src.cluster_id(),
            &link,
            &orders,
            state,
        )
    };
    write("ACTIVE");
    let o = clusterlink(&["apply", "-f", d]);
    assert!(o.status.success(), "{}", text(&o));
    wait_for("the mirror to catch up", || {
        rdkafka::consume(&dst.bootstrap(), &orders).is_ok_and(|r| r.len() == BEFORE)
    })
    .await;
    write("PAUSE");
    let o = clusterlink(&["apply", "-f", d]);
    assert!(o.status.success(), "{}", text(&o));
    wait_for("the mirror to be paused with no lag", || {
        let (_, lag, s) = lag_of(d, &orders);
        s["status"]["mirrorTopics"][&orders]["status"] == "PAUSED" && lag == Some(0)
    })
    .await;

    rdkafka::produce_all(
        &src.bootstrap(),
        &orders,
        &rdkafka::varied_records(WHILE_PAUSED, 1, "paused"),
    );
    let mut first = 0.0;
    wait_for("the paused mirror's lag in records and seconds", || {
        let (seconds, lag, _) = lag_of(d, &orders);
        first = seconds.unwrap_or_default();
        lag == Some(WHILE_PAUSED as i64) && first > 0.0
    })
    .await;
    // Nothing was copied meanwhile: the lag is real.
    assert_eq!(
        rdkafka::consume(&dst.bootstrap(), &orders).unwrap().len(),
        BEFORE
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (later, lag, s) = lag_of(d, &orders);
    assert_eq!(lag, Some(WHILE_PAUSED as i64), "{s:#}");
    let later = later.unwrap_or_default();
    assert!(
        later >= first + 1.5,
        "the lag ages: {first} s, then {later} s"
    );
    assert!(
        s["status"]["maxLagSeconds"].as_f64() >= Some(later),
        "{s:#}"
    );
    let o = clusterlink(&["status", "-f", d]);
    let out = text(&o);
    let lag_cell = WHILE_PAUSED.to_string();
    assert!(
        line_with(&out, &[&orders, "PAUSED", "1", &lag_cell]).is_some(),
        "{out}"
    );
    let (status, exposition) = server.http("GET", "/metrics", None).await;
    assert_eq!(status, 200);
    let metric = lag_seconds_metric(&exposition, &orders)
        .unwrap_or_else(|| panic!("no lag seconds for {orders}: {exposition}"));
    assert!(metric >= first, "metric {metric} s, status {first} s");

    // Resumed: it catches up, exactly, and the lag is gone.
    write("ACTIVE");
    let o = clusterlink(&["apply", "-f", d]);
    assert!(o.status.success(), "{}", text(&o));
    wait_for("the resumed mirror to catch up with no lag", || {
        let (seconds, lag, _) = lag_of(d, &orders);
        lag == Some(0) && seconds == Some(0.0)
    })
    .await;
    assert_eq!(
        rdkafka::by_partition(&rdkafka::consume(&dst.bootstrap(), &orders).unwrap()),
        rdkafka::by_partition(&rdkafka::consume(&src.bootstrap(), &orders).unwrap())
    );
    server.stop().await;
}

peer_tests! {
    status_tables_from_files_and_from_the_url_and_not_ready_exits_2: [kafka];
    status_watch_prints_again_until_interrupted: [kafka];
    a_paused_mirror_shows_its_lag_growing_in_records_and_seconds: [kafka];
}
