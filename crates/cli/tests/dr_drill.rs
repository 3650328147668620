//! The disaster-recovery drill of `docs/dr-drill.md` (and `scripts/dr-drill.sh`) as a test:
//! failover, then failback without rebuilding.
//!
//! Cluster A serves producers; B mirrors A (ClusterLink `a-to-b`, on B). B's mirrors are paused
//! while A acknowledges a last batch (a3x) and crashes (SIGKILL; its data stays on its disk).
//! B fails over and takes the producers; a consumer group commits there. A restarts on its data,
//! a3x included, which B never had: ClusterLink `b-to-a` on A declares every mirror topic
//! `TRUNCATE_AND_RESTORE`: A's topics are cut back to where B's mirrors stopped (a3x copied to
//! `<topic>.diverged` first) and mirror B, offsets equal, the group's offsets synced back. A
//! planned failback (`REVERSE_AND_START`) promotes A at lag zero and makes B's topics mirrors of
//! A's again. Links are driven with the `clusterlink` binary's `apply` and `status` on YAML files
//! whose `state:` is edited, as a user does; every record is produced and read back with
//! librdkafka. At the end each acknowledged record is exactly once on both clusters (partition,
//! production order, content, the same offsets on both), or, for a3x, in A's diverged-records
//! topics: none missing, none twice.
//!
//! On Apache Kafka (a broker that restarts on its data); A is a cluster of the test's own, B the
//! run's shared one, so topic, group and link names are unique.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clusterlink_testkit::kafka::unique_name;
use clusterlink_testkit::link_server::LinkServer;
use clusterlink_testkit::peer::{Broker, Peer, Side};
use clusterlink_testkit::peer_tests;
use clusterlink_testkit::rdkafka::{self, Msg, ProduceSpec};
use serde_json::Value;
use support::{clusterlink, text};

/// The drill's topics and their partitions: orders (3) and payments (1), with a unique suffix
/// (B may be a shared cluster).
fn topics() -> &'static [(String, i32); 2] {
    static TOPICS: OnceLock<[(String, i32); 2]> = OnceLock::new();
    TOPICS.get_or_init(|| [(unique_name("orders"), 3), (unique_name("payments"), 1)])
}

fn orders() -> &'static str {
    &topics()[0].0
}

fn payments() -> &'static str {
    &topics()[1].0
}
/// Batches in the order they are produced (`a*` to A, `b*` to B).
const ORDER: [&str; 8] = ["a1", "a2", "a3", "a3x", "b4", "b5", "b6", "a7"];

/// `clusterlink apply -f dir`; its output.
fn apply(dir: &Path) -> String {
    let o = clusterlink(&["apply", "-f", dir.to_str().unwrap()]);
    let out = text(&o);
    assert!(o.status.success(), "clusterlink apply failed:\n{out}");
    eprintln!("$ clusterlink apply -f {}\n{out}", dir.display());
    out
}

/// The ClusterLink's status as `clusterlink status -o json` reads it from the link server.
fn status(dir: &Path) -> Value {
    let o = clusterlink(&["status", "-f", dir.to_str().unwrap(), "-o", "json"]);
    // 2: printed, and the link is not Ready (a site is down, a promotion under way).
    assert!(matches!(o.status.code(), Some(0 | 2)), "{}", text(&o));
    serde_json::from_slice::<Value>(&o.stdout).unwrap()["status"].clone()
}

/// Per mirror topic: (status, maxLag).
fn mirror_states(s: &Value) -> BTreeMap<String, (String, i64)> {
    s["mirrorTopics"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        (
                            v["status"].as_str().unwrap_or_default().to_string(),
                            v["maxLag"].as_i64().unwrap_or(-1),
                        ),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn all_in(s: &Value, state: &str) -> bool {
    let m = mirror_states(s);
    m.len() == topics().len() && m.values().all(|(st, _)| st == state)
}

/// Polls `done` every 200 ms for up to 30 s.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("{what}: after {:.1}s", start.elapsed().as_secs_f64());
}

/// The ClusterLink `link` on the cluster whose link server is at `rest`, pulling both topics
/// from `source` (cluster id `source_id`), every mirror topic in `state`, with `extra` lines in
/// its spec.
fn manifests(
    dir: &Path,
    link: &str,
    rest: &str,
    (source_id, source): (&str, &str),
    state: &str,
    extra: &str,
) {
    let (orders, payments) = (orders(), payments());
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("cluster-link.yaml"),
        format!(
            r#"apiVersion: platform.confluent.io/v1beta1
kind: KafkaRestClass
metadata: {{name: local-rest, namespace: dr}}
spec:
  kafkaRest: {{endpoint: "{rest}"}}
---
apiVersion: platform.confluent.io/v1beta1
kind: ClusterLink
metadata: {{name: {link}, namespace: dr}}
spec:
  name: {link}
  destinationKafkaCluster: {{kafkaRestClassRef: {{name: local-rest}}}}
  sourceKafkaCluster:
    bootstrapEndpoint: {source}
    clusterID: {source_id}
  mirrorTopics:
    - name: {orders}
      state: {state}
    - name: {payments}
      state: {state}
{extra}"#
        ),
    )
    .unwrap();
}

/// A record acknowledged to a producer.
#[derive(Debug, Clone)]
struct Acked {
    batch: &'static str,
    seq: usize,
    partition: i32,
    value: Option<String>,
}

/// Every record acknowledged to a producer, by (topic, key).
#[derive(Debug, Default)]
struct Ledger(BTreeMap<(String, String), Acked>);

type Key = (String, String);
/// Where a record comes in production order: (batch index in [`ORDER`], sequence).
type Rank = (usize, usize);

impl Ledger {
    /// Produces `n` uniquely keyed records of `batch` into `topic` with librdkafka; once they
    /// are all acknowledged they are in the ledger.
    fn produce(&mut self, bootstrap: &str, batch: &'static str, topic: &str, n: usize) {
        let partitions = topics().iter().find(|t| t.0 == topic).unwrap().1;
        let records: Vec<Msg> = (0..n)
            .map(|i| Msg {
                partition: i as i32 % partitions,
                offset: -1,
                key: Some(rdkafka::hex(format!("{batch}/{topic}/{i:06}").as_bytes())),
                value: Some(rdkafka::hex(
                    format!(
                        r#"{{"batch":"{batch}","seq":{i},"amount":{}}}"#,
                        i * 7 % 1000
                    )
                    .as_bytes(),
                )),
                headers: vec![("batch".into(), Some(rdkafka::hex(batch.as_bytes())))],
                timestamp: 1_700_000_000_000 + i as i64,
                timestamp_type: 0,
            })
            .collect();
        let mut config = BTreeMap::new();
        config.insert("enable.idempotence".into(), true.into());
        config.insert("compression.type".into(), "zstd".into());
        let spec = ProduceSpec {
            topic: topic.into(),
            config,
            records: Some(records.clone()),
            transactions: None,
        };
        let acked = rdkafka::produce(bootstrap, &spec).unwrap();
        assert_eq!(acked, n, "{batch}: not every record was acknowledged");
        for (seq, r) in records.into_iter().enumerate() {
            self.0.insert(
                (topic.to_string(), r.key.clone().unwrap()),
                Acked {
                    batch,
                    seq,
                    partition: r.partition,
                    value: r.value,
                },
            );
        }
    }

    fn keys_of(&self, batch: &str) -> BTreeSet<Key> {
        self.0
            .iter()
            .filter(|(_, a)| a.batch == batch)
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// Both topics of a cluster as librdkafka reads them, by (topic, key).
#[derive(Debug)]
struct Dump(BTreeMap<Key, Vec<Msg>>);

impl Dump {
    fn read(bootstrap: &str) -> Dump {
        Self::read_suffixed(bootstrap, "")
    }

    /// The topics named with `suffix` (the diverged-records topics), by their base names.
    fn read_suffixed(bootstrap: &str, suffix: &str) -> Dump {
        let mut out: BTreeMap<Key, Vec<Msg>> = BTreeMap::new();
        for (t, _) in topics() {
            for m in rdkafka::consume(bootstrap, &format!("{t}{suffix}")).unwrap() {
                out.entry((t.to_string(), m.key.clone().unwrap_or_default()))
                    .or_default()
                    .push(m);
            }
        }
        Dump(out)
    }

    fn len(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    fn keys(&self) -> BTreeSet<Key> {
        self.0.keys().cloned().collect()
    }

    /// Per (topic, partition), the offset after its last record.
    fn ends(&self) -> BTreeMap<(String, i32), i64> {
        let mut out: BTreeMap<(String, i32), i64> = BTreeMap::new();
        for ((t, _), ms) in &self.0 {
            for m in ms {
                let e = out.entry((t.clone(), m.partition)).or_default();
                *e = (*e).max(m.offset + 1);
            }
        }
        out
    }

    fn count(&self, ledger: &Ledger, batch: &str) -> usize {
        self.0
            .iter()
            .filter(|(k, _)| ledger.0.get(*k).is_some_and(|a| a.batch == batch))
            .map(|(_, v)| v.len())
            .sum()
    }

    fn by_batch(&self, ledger: &Ledger) -> String {
        ORDER
            .iter()
            .map(|b| (b, self.count(ledger, b)))
            .filter(|(_, n)| *n > 0)
            .map(|(b, n)| format!("{b} {n}"))
            .collect::<Vec<_>>()
            .join(" + ")
            + &format!(" = {}", self.len())
    }

    /// Exactly the `expected` records, each once, in its partition, in production order, with
    /// its content, at offsets 0..n-1 of each partition.
    fn check(&self, name: &str, ledger: &Ledger, expected: &BTreeSet<Key>) {
        let mut errors = Vec::new();
        for (k, ms) in &self.0 {
            match ledger.0.get(k) {
                None => errors.push(format!("{k:?}: never acknowledged to a producer")),
                Some(a) if !expected.contains(k) => {
                    errors.push(format!("{k:?}: of batch {}, not expected here", a.batch))
                }
                Some(a) => {
                    for m in ms {
                        if (m.partition, &m.value) != (a.partition, &a.value) {
                            errors.push(format!("{k:?}: partition or value differs"));
                        }
                    }
                }
            }
            if ms.len() != 1 {
                errors.push(format!("{k:?}: present {} times", ms.len()));
            }
        }
        let present = self.keys();
        let missing: Vec<_> = expected.difference(&present).collect();
        if !missing.is_empty() {
            errors.push(format!(
                "{} acknowledged records missing, e.g. {:?}",
                missing.len(),
                &missing[..missing.len().min(3)]
            ));
        }
        let mut parts: BTreeMap<(String, i32), Vec<(i64, Rank)>> = BTreeMap::new();
        for ((t, k), ms) in &self.0 {
            if let Some(a) = ledger.0.get(&(t.clone(), k.clone())) {
                let rank = ORDER.iter().position(|b| *b == a.batch).unwrap();
                for m in ms {
                    parts
                        .entry((t.clone(), m.partition))
                        .or_default()
                        .push((m.offset, (rank, a.seq)));
                }
            }
        }
        for ((t, p), mut rs) in parts {
            rs.sort();
            let offsets: Vec<i64> = rs.iter().map(|r| r.0).collect();
            if offsets != (0..rs.len() as i64).collect::<Vec<_>>() {
                errors.push(format!("{t}[{p}]: offsets are not 0..{}", rs.len()));
            }
            if !rs.windows(2).all(|w| w[0].1 < w[1].1) {
                errors.push(format!("{t}[{p}]: not in the order produced"));
            }
        }
        assert!(
            errors.is_empty(),
            "{name}: {} errors:\n{}",
            errors.len(),
            errors[..errors.len().min(20)].join("\n")
        );
        eprintln!(
            "{name}: {}, each exactly once, in order, offsets 0..n-1",
            self.by_batch(ledger)
        );
    }

    /// Records present in both sit at the same partition and offset with the same timestamp
    /// (mirroring kept them); returns how many were compared.
    fn same_positions(&self, other: &Dump, keys: &BTreeSet<Key>) -> usize {
        let mut n = 0;
        for k in keys {
            let (Some(a), Some(b)) = (self.0.get(k), other.0.get(k)) else {
                continue;
            };
            n += 1;
            assert_eq!(
                (a[0].partition, a[0].offset, a[0].timestamp),
                (b[0].partition, b[0].offset, b[0].timestamp),
                "{k:?} moved"
            );
        }
        n
    }
}

/// Waits until the link's mirrors are ACTIVE with lag zero and the destination holds exactly
/// `expected` records.
fn wait_mirrored(dir: &Path, destination: &str, expected: usize, what: &str) {
    wait_until(what, || {
        let s = status(dir);
        all_in(&s, "ACTIVE")
            && mirror_states(&s).values().all(|(_, lag)| *lag == 0)
            && Dump::read(destination).len() == expected
    });
}

fn set_state(dir: &Path, state: &str) {
    let f = dir.join("cluster-link.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    let edited: String = text
        .lines()
        .map(|l| match l.split_once("state: ") {
            Some((indent, _)) => format!("{indent}state: {state}\n"),
            None => format!("{l}\n"),
        })
        .collect();
    std::fs::write(f, edited).unwrap();
}

fn union(sets: &[&BTreeSet<Key>]) -> BTreeSet<Key> {
    sets.iter().flat_map(|s| s.iter().cloned()).collect()
}

/// Applies `state` to every mirror topic of the resource in `dir`; the output.
fn apply_state(dir: &Path, state: &str) -> String {
    set_state(dir, state);
    apply(dir)
}

async fn crash_failover_restore_and_failback(peer: Peer) {
    let started = Instant::now();
    let Broker::Kafka(mut a) = peer.private("cluster-a").unwrap() else {
        panic!("the drill restarts A on its data: Kafka only");
    };
    let b = peer.cluster(Side::B).unwrap();
    let (a_boot, b_boot, a_id, b_id) = (
        a.bootstrap(),
        b.bootstrap(),
        a.cluster_id().to_owned(),
        b.cluster_id(),
    );
    let (a_to_b, b_to_a) = (unique_name("a-to-b"), unique_name("b-to-a"));
    let group = unique_name("billing");
    let b_server = LinkServer::start(&b_boot).await;
    let dir = tempfile::tempdir().unwrap();
    let site_b = dir.path().join("site-b");
    let site_a = dir.path().join("site-a");
    let mut ledger = Ledger::default();
    let produce = |ledger: &mut Ledger, at: &str, batch: &'static str, n: usize| {
        ledger.produce(at, batch, orders(), n * 3 / 4);
        ledger.produce(at, batch, payments(), n / 4);
    };

    // A serves producers; B mirrors A.
    for (t, p) in topics() {
        rdkafka::create_topic(&a_boot, t, *p).unwrap();
    }
    produce(&mut ledger, &a_boot, "a1", 800);
    manifests(
        &site_b,
        &a_to_b,
        &b_server.url(),
        (&a_id, &a_boot),
        "ACTIVE",
        "",
    );
    let out = apply(&site_b);
    assert!(out.contains(&format!(
        "LinkCreated: created link {a_to_b} on cluster {b_id}"
    )));
    wait_mirrored(&site_b, &b_boot, 800, "a1 mirrored to B");
    produce(&mut ledger, &a_boot, "a2", 400);
    produce(&mut ledger, &a_boot, "a3", 400);
    wait_mirrored(&site_b, &b_boot, 1600, "a2, a3 mirrored to B, lag zero");
    let a_before_loss = Dump::read(&a_boot);

    // B's mirrors paused, A acknowledges a3x and crashes: a3x is only on A's disk.
    apply_state(&site_b, "PAUSE");
    wait_until("B's mirrors paused", || all_in(&status(&site_b), "PAUSED"));
    produce(&mut ledger, &a_boot, "a3x", 200);
    a.kill_node(1).unwrap();

    // Failover on B, by editing the resource.
    let out = apply_state(&site_b, "FAILOVER");
    assert!(
        out.contains(&format!("TopicHandedOver: topic {}", orders())),
        "{out}"
    );
    let s = status(&site_b);
    assert!(all_in(&s, "STOPPED"), "{s:#}");
    let b_after_failover = Dump::read(&b_boot);
    let (a1, a2, a3, a3x) = (
        ledger.keys_of("a1"),
        ledger.keys_of("a2"),
        ledger.keys_of("a3"),
        ledger.keys_of("a3x"),
    );
    let history = union(&[&a1, &a2, &a3]);
    b_after_failover.check("B after failover", &ledger, &history);
    assert_eq!(
        b_after_failover.same_positions(&a_before_loss, &history),
        1600
    );

    // Producers move to B; a consumer group reads everything there and commits.
    produce(&mut ledger, &b_boot, "b4", 400);
    let committed: Vec<(String, i32, i64)> = Dump::read(&b_boot)
        .ends()
        .into_iter()
        .map(|((t, p), end)| (t, p, end))
        .collect();
    let on_b_client = clusterlink_testkit::link_server::client(&b_boot).await;
    on_b_client.offset_commit(&group, &committed).await.unwrap();

    // A comes back on its data, a3x included; its link server restores it from B.
    a.start_node(1).unwrap();
    assert_eq!(Dump::read(&a_boot).count(&ledger, "a3x"), 200);
    let a_server = LinkServer::start(&a_boot).await;
    let sync = format!(
        "  consumerGroupFilters:\n    - {{name: {group}, patternType: LITERAL, filterType: INCLUDE}}\n  configs:\n    consumer.offset.sync.ms: \"1000\"\n"
    );
    manifests(
        &site_a,
        &b_to_a,
        &a_server.url(),
        (&b_id, &b_boot),
        "TRUNCATE_AND_RESTORE",
        &sync,
    );
    let out = apply(&site_a);
    for (t, cut) in [(orders(), 150), (payments(), 50)] {
        assert!(
            out.contains(&format!(
                "MirrorTopicRestored: mirror topic {t}: truncate-and-restore requested: {cut} offsets cut"
            )) && out.contains(&format!("kept in topic {t}.diverged")),
            "{out}"
        );
    }
    wait_mirrored(&site_a, &a_boot, 2000, "A restored from B");
    // The resource's status keeps what was cut from each topic, and where it went.
    let s = status(&site_a);
    for (t, cut) in [(orders(), 150), (payments(), 50)] {
        let truncation = &s["mirrorTopics"][t]["truncation"];
        assert_eq!(truncation["messagesTruncated"], cut, "{s:#}");
        assert_eq!(
            truncation["divergedRecordsTopic"],
            format!("{t}.diverged").as_str(),
            "{s:#}"
        );
    }
    Dump::read_suffixed(&a_boot, ".diverged").check("A's diverged records", &ledger, &a3x);
    // The group's offsets, committed on B, are A's too.
    for (t, _) in topics() {
        let want: BTreeMap<i32, i64> = committed
            .iter()
            .filter(|(ct, _, _)| ct == t)
            .map(|(_, p, o)| (*p, *o))
            .collect();
        wait_until("the group's offsets synced to A", || {
            rdkafka::committed(&a_boot, &group, t).unwrap() == want
        });
    }
    produce(&mut ledger, &b_boot, "b5", 400);
    wait_mirrored(&site_a, &a_boot, 2400, "b5 mirrored to A, lag zero");

    // Planned failback: last writes to B, producers stop, A's mirrors reversed.
    produce(&mut ledger, &b_boot, "b6", 200);
    let out = apply_state(&site_a, "REVERSE_AND_START");
    assert!(out.contains("MirrorTopicReversing"), "{out}");
    wait_until("A promoted", || all_in(&status(&site_a), "STOPPED"));
    assert_eq!(
        Dump::read(&a_boot).count(&ledger, "b6"),
        200,
        "records left behind"
    );
    wait_until("B's topics mirroring A's", || {
        all_in(&status(&site_b), "ACTIVE")
    });
    apply_state(&site_b, "ACTIVE");

    // Producers are back on A, and B follows.
    produce(&mut ledger, &a_boot, "a7", 200);
    wait_mirrored(&site_b, &b_boot, 2800, "a7 mirrored to B");

    // Final check.
    let a_final = Dump::read(&a_boot);
    let b_final = Dump::read(&b_boot);
    let all: Vec<BTreeSet<Key>> = ["b4", "b5", "b6", "a7"]
        .iter()
        .map(|b| ledger.keys_of(b))
        .collect();
    let everywhere = union(&[&history, &all[0], &all[1], &all[2], &all[3]]);
    a_final.check("A at the end", &ledger, &everywhere);
    b_final.check("B at the end", &ledger, &everywhere);
    Dump::read_suffixed(&a_boot, ".diverged").check("kept aside on A", &ledger, &a3x);
    assert_eq!(
        ledger.0.len(),
        everywhere.len() + a3x.len(),
        "every acknowledged record is accounted for"
    );
    assert_eq!(
        a_final.same_positions(&b_final, &everywhere),
        everywhere.len()
    );
    assert_eq!(a_final.same_positions(&a_before_loss, &history), 1600);
    eprintln!("drill done in {:.1}s", started.elapsed().as_secs_f64());
    a_server.stop().await;
    b_server.stop().await;
}

peer_tests! {
    crash_failover_restore_and_failback: [kafka];
}
