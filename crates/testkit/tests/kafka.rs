//! The Apache Kafka harness itself (`clusterlink_testkit::kafka`), checked only with clients none
//! of us wrote: librdkafka (`rdkafka`, through confluent-kafka) and Kafka's own Java tools. One
//! node and three nodes (shared: replicated to every node; private: a killed leader, then the
//! node back in the ISR on its data), SASL with every mechanism over plaintext and TLS, TLS
//! alone, the StandardAuthorizer with ACLs made by kafka-acls, and a single node killed and
//! started again.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clusterlink_testkit::kafka::tools::{self, PartitionState};
use clusterlink_testkit::kafka::{unique_name, KafkaCluster, Listener, Mechanism, Sasl};
use clusterlink_testkit::rdkafka::{self, by_partition, varied_records, ProduceSpec};
use serde_json::{json, Value};

/// Polls `check` until it returns `Some`, for up to `timeout`.
fn eventually<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < timeout, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn produce_with(
    bootstrap: &str,
    topic: &str,
    n: usize,
    tag: &str,
    config: BTreeMap<String, Value>,
) -> anyhow::Result<usize> {
    let mut config = config;
    // Refusals (authentication, authorization) should fail the produce, not wait for 5 minutes.
    config.insert("message.timeout.ms".into(), json!(15000));
    rdkafka::produce(
        bootstrap,
        &ProduceSpec {
            topic: topic.into(),
            config,
            records: Some(varied_records(n, 1, tag)),
            transactions: None,
        },
    )
}

fn counts(msgs: &[rdkafka::Msg]) -> BTreeMap<i32, i64> {
    let mut m = BTreeMap::new();
    for x in msgs {
        *m.entry(x.partition).or_insert(0) += 1;
    }
    m
}

#[test]
fn one_node_produce_consume_and_kafka_tools() {
    let t0 = Instant::now();
    let c = KafkaCluster::shared().unwrap();
    eprintln!(
        "cluster ready after {:?} (shared: {})",
        t0.elapsed(),
        c.is_shared()
    );
    assert_eq!(c.node_count(), 1);
    assert_eq!(c.cluster_id().len(), 22);
    let topic = unique_name("one.node");
    tools::create_topic(&c, &topic, 3, None, &[("cleanup.policy", "delete")]).unwrap();
    let records = varied_records(60, 3, "one");
    rdkafka::produce_all(&c.bootstrap(), &topic, &records);

    let got = rdkafka::consume(&c.bootstrap(), &topic).unwrap();
    assert_eq!(
        by_partition(&got),
        // (a stable sort: the produced records, offset -1, stay in the order they were sent)
        by_partition(&records)
    );
    assert_eq!(tools::end_offsets(&c, &topic).unwrap(), counts(&got));
    assert_eq!(
        tools::start_offsets(&c, &topic).unwrap(),
        [(0, 0), (1, 0), (2, 0)].into()
    );
    let d = tools::describe_topic(&c, &topic).unwrap();
    assert_eq!(d.topic_id.len(), 22);
    assert_eq!(
        d.configs.get("cleanup.policy").map(String::as_str),
        Some("delete")
    );
    assert_eq!(
        d.partitions,
        (0..3)
            .map(|p| PartitionState {
                partition: p,
                leader: Some(1),
                replicas: vec![1],
                isr: vec![1]
            })
            .collect::<Vec<_>>()
    );

    // A group's committed offsets, committed by Kafka's console consumer, read by
    // kafka-consumer-groups.
    let group = unique_name("group");
    tools::tool(
        &c,
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        &[
            "--topic",
            &topic,
            "--group",
            &group,
            "--from-beginning",
            "--max-messages",
            "60",
            "--timeout-ms",
            "30000",
        ],
    )
    .unwrap();
    let committed = tools::group_offsets(&c, &group).unwrap();
    let expected: BTreeMap<_, _> = counts(&got)
        .into_iter()
        .map(|(p, n)| ((topic.clone(), p), Some(n)))
        .collect();
    assert_eq!(committed, expected);

    // kafka-configs, through the generic runner.
    tools::tool(
        &c,
        "kafka.admin.ConfigCommand",
        &[
            "--alter",
            "--entity-type",
            "topics",
            "--entity-name",
            &topic,
            "--add-config",
            "retention.ms=3600000",
        ],
    )
    .unwrap();
    let d = tools::describe_topic(&c, &topic).unwrap();
    assert_eq!(
        d.configs.get("retention.ms").map(String::as_str),
        Some("3600000")
    );
}

#[test]
fn the_shared_three_node_cluster_replicates_to_every_node() {
    let c = KafkaCluster::shared_three().unwrap();
    assert_eq!(c.node_count(), 3);
    let topic = unique_name("shared3");
    tools::create_topic(&c, &topic, 3, None, &[]).unwrap();
    rdkafka::produce_all(&c.bootstrap(), &topic, &varied_records(30, 3, "s3"));
    // acks=all: every record is on every in-sync replica; bootstrapping from any node, Kafka's
    // Java client sees the same end offsets.
    let d = tools::describe_topic(&c, &topic).unwrap();
    for p in &d.partitions {
        assert_eq!((p.replicas.len(), p.isr.len()), (3, 3), "{p:?}");
    }
    for node in 1..=3 {
        let alone = c.address(node, Listener::Plaintext);
        assert_eq!(
            tools::end_offsets(&alone, &topic).unwrap(),
            [(0, 10), (1, 10), (2, 10)].into()
        );
    }
}

#[test]
fn three_nodes_survive_a_killed_leader_and_the_node_rejoins_on_its_data() {
    let t0 = Instant::now();
    let mut c = KafkaCluster::start_three().unwrap();
    eprintln!("three nodes ready after {:?}", t0.elapsed());
    assert_eq!(c.node_count(), 3);
    let topic = unique_name("three");
    tools::create_topic(&c, &topic, 1, None, &[]).unwrap();
    let d = tools::describe_topic(&c, &topic).unwrap();
    let p = &d.partitions[0];
    assert_eq!(
        p.replicas.len(),
        3,
        "the default replication factor is 3: {p:?}"
    );
    assert_eq!(
        d.configs.get("min.insync.replicas").map(String::as_str),
        Some("2")
    );
    let leader = p.leader.expect("a leader") as u32;
    let records = varied_records(50, 1, "three");
    rdkafka::produce_all(&c.bootstrap(), &topic, &records);

    c.kill_node(leader).unwrap();
    let after = eventually(
        "a new leader without the killed node in the ISR",
        Duration::from_secs(60),
        || {
            let d = tools::describe_topic(&c, &topic).ok()?;
            let p = d.partitions[0].clone();
            (p.leader.is_some_and(|l| l as u32 != leader) && !p.isr.contains(&(leader as i32)))
                .then_some(p)
        },
    );
    eprintln!(
        "after killing node {leader}: {after:?} ({:?})",
        t0.elapsed()
    );
    // Every acknowledged record is there. A new leader's high watermark advances only once its
    // followers fetch from it (Kafka's replication protocol), so for a moment a consumer may
    // reach the end below the acknowledged records (seen once in CI: 0 of 50): read until it
    // sees all 50, which a lost record would never allow.
    eventually(
        "the 50 acknowledged records readable from the new leader",
        Duration::from_secs(30),
        || (rdkafka::consume(&c.bootstrap(), &topic).ok()?.len() == 50).then_some(()),
    );
    // Two in-sync replicas are enough for acks=all with min ISR 2.
    rdkafka::produce_all(&c.bootstrap(), &topic, &varied_records(10, 1, "more"));

    c.start_node(leader).unwrap();
    let back = eventually(
        "the restarted node back in the ISR",
        Duration::from_secs(60),
        || {
            let d = tools::describe_topic(&c, &topic).ok()?;
            let p = d.partitions[0].clone();
            (p.isr.len() == 3).then_some(p)
        },
    );
    eprintln!("node {leader} back: {back:?} ({:?})", t0.elapsed());
    // Served by the restarted node alone: its log directory kept the records.
    let alone = c.address(leader, Listener::Plaintext);
    assert_eq!(
        tools::end_offsets(&alone, &topic).unwrap(),
        [(0, 60)].into()
    );
    assert_eq!(rdkafka::consume(&c.bootstrap(), &topic).unwrap().len(), 60);
}

#[test]
fn sasl_with_every_mechanism_and_tls_with_pem_files() {
    let (user, password) = ("alice", "alice-secret-7g");
    let c = KafkaCluster::builder()
        .listener(Listener::SaslPlaintext)
        .listener(Listener::SaslSsl)
        .listener(Listener::Ssl)
        .user(user, password)
        .user("bob", "bob-secret")
        .start()
        .unwrap();
    let topic = unique_name("sasl");
    rdkafka::create_topic(&c.bootstrap(), &topic, 1).unwrap();
    let mut total = 0;
    for listener in [Listener::SaslPlaintext, Listener::SaslSsl] {
        for mechanism in Mechanism::ALL {
            let config = c.rdkafka_config(
                listener,
                Some(Sasl {
                    mechanism,
                    user,
                    password,
                }),
            );
            let what = format!("{} {}", listener.name(), mechanism.name());
            let n = produce_with(&c.bootstrap_for(listener), &topic, 5, &what, config.clone())
                .unwrap_or_else(|e| panic!("{what}: {e:#}\n{}", c.log(1)));
            total += n;
            let got = rdkafka::consume_configured(
                &c.bootstrap_for(listener),
                &topic,
                "read_committed",
                &config,
            )
            .unwrap();
            assert_eq!(got.len(), total, "{what}");
        }
    }
    // A wrong password is refused with every mechanism (each waits for librdkafka's message
    // timeout: in parallel).
    std::thread::scope(|s| {
        for mechanism in Mechanism::ALL {
            let c = &c;
            let topic = &topic;
            s.spawn(move || {
                let wrong = Sasl {
                    mechanism,
                    user,
                    password: "not-it",
                };
                let mut config = c.rdkafka_config(Listener::SaslPlaintext, Some(wrong));
                config.insert("message.timeout.ms".into(), json!(3000));
                let spec = ProduceSpec {
                    topic: topic.clone(),
                    config,
                    records: Some(varied_records(1, 1, "no")),
                    transactions: None,
                };
                let err = rdkafka::produce(&c.bootstrap_for(Listener::SaslPlaintext), &spec)
                    .expect_err(mechanism.name());
                assert!(
                    format!("{err:#}").contains("uthentication"),
                    "{}: {err:#}",
                    mechanism.name()
                );
            });
        }
    });
    // TLS without SASL: the broker's PEM key and certificate, trusted through the test CA.
    let config = c.rdkafka_config(Listener::Ssl, None);
    total += produce_with(
        &c.bootstrap_for(Listener::Ssl),
        &topic,
        5,
        "ssl",
        config.clone(),
    )
    .unwrap();
    let got = rdkafka::consume_configured(
        &c.bootstrap_for(Listener::Ssl),
        &topic,
        "read_committed",
        &config,
    )
    .unwrap();
    assert_eq!(got.len(), total);
    // Kafka's Java client over SASL_SSL with SCRAM-SHA-512 agrees.
    let java = c.java_client_config(
        Listener::SaslSsl,
        Some(Sasl {
            mechanism: Mechanism::ScramSha512,
            user: "bob",
            password: "bob-secret",
        }),
    );
    let out = tools::tool_with_config(
        &java,
        "org.apache.kafka.tools.GetOffsetShell",
        &["--topic", &topic],
    )
    .unwrap();
    assert_eq!(out.trim(), format!("{topic}:0:{total}"));
}

#[test]
fn the_authorizer_denies_without_acls_and_allows_after_kafka_acls() {
    let c = KafkaCluster::builder()
        .listener(Listener::SaslPlaintext)
        .user("admin", "admin-secret")
        .user("bob", "bob-secret")
        .authorizer(&["admin"])
        .start()
        .unwrap();
    let sasl = c.bootstrap_for(Listener::SaslPlaintext);
    let topic = unique_name("acl");
    // PLAINTEXT clients are ANONYMOUS, a super user: set-up goes through it.
    rdkafka::create_topic(&c.bootstrap(), &topic, 1).unwrap();
    let bob = c.rdkafka_config(
        Listener::SaslPlaintext,
        Some(Sasl {
            mechanism: Mechanism::ScramSha256,
            user: "bob",
            password: "bob-secret",
        }),
    );
    let admin = c.rdkafka_config(
        Listener::SaslPlaintext,
        Some(Sasl {
            mechanism: Mechanism::Plain,
            user: "admin",
            password: "admin-secret",
        }),
    );

    let err = produce_with(&sasl, &topic, 3, "bob", bob.clone()).expect_err("bob has no ACL");
    assert!(
        format!("{err:#}").to_lowercase().contains("authoriz"),
        "{err:#}"
    );
    assert_eq!(
        produce_with(&sasl, &topic, 3, "admin", admin).unwrap(),
        3,
        "admin is a super user"
    );

    tools::tool(
        &c,
        "org.apache.kafka.tools.AclCommand",
        &[
            "--add",
            "--allow-principal",
            "User:bob",
            "--operation",
            "Write",
            "--operation",
            "Read",
            "--topic",
            &topic,
        ],
    )
    .unwrap();
    // librdkafka's consumer looks its group up (FindCoordinator) even when it only assigns.
    tools::tool(
        &c,
        "org.apache.kafka.tools.AclCommand",
        &[
            "--add",
            "--allow-principal",
            "User:bob",
            "--operation",
            "Read",
            "--group",
            "kcheck-",
            "--resource-pattern-type",
            "prefixed",
        ],
    )
    .unwrap();
    let listed = tools::tool(
        &c,
        "org.apache.kafka.tools.AclCommand",
        &["--list", "--topic", &topic],
    )
    .unwrap();
    assert!(listed.contains("User:bob"), "{listed}");
    assert_eq!(
        produce_with(&sasl, &topic, 3, "bob", bob.clone()).unwrap(),
        3
    );
    let got = rdkafka::consume_configured(&sasl, &topic, "read_committed", &bob).unwrap();
    assert_eq!(got.len(), 6);
}

#[test]
fn a_killed_single_node_starts_again_with_its_data() {
    let mut c = KafkaCluster::start().unwrap();
    let topic = unique_name("restart");
    rdkafka::create_topic(&c.bootstrap(), &topic, 2).unwrap();
    rdkafka::produce_all(&c.bootstrap(), &topic, &varied_records(40, 2, "before"));
    let before = rdkafka::consume(&c.bootstrap(), &topic).unwrap();
    let id = tools::describe_topic(&c, &topic).unwrap().topic_id;

    let pid = c.pid(1).unwrap();
    c.kill_node(1).unwrap();
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the JVM is gone"
    );
    let t = Instant::now();
    c.start_node(1).unwrap();
    eprintln!("restarted after a SIGKILL in {:?}", t.elapsed());
    // Kafka, not a harness bug: after an unclean restart a partition's high watermark starts
    // from its last checkpoint (written every 5 s) and reaches the log end only once the
    // partition's leadership is set up again, so a reader right after the start may find a
    // partition "at its end" early (seen under load: partition 0 read as empty). Every record
    // must be back within a short while; none may be missing or different then.
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let after = rdkafka::consume(&c.bootstrap(), &topic).unwrap();
        if after == before || Instant::now() > deadline {
            assert_eq!(after, before, "the data after the restart");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert_eq!(tools::describe_topic(&c, &topic).unwrap().topic_id, id);

    // A controlled shutdown (SIGTERM) and a start keep it too.
    let t = Instant::now();
    c.stop_node(1).unwrap();
    let stopped = t.elapsed();
    c.start_node(1).unwrap();
    eprintln!(
        "stopped (SIGTERM) in {stopped:?}, started again in {:?}",
        t.elapsed() - stopped
    );
    assert_eq!(rdkafka::consume(&c.bootstrap(), &topic).unwrap(), before);
    assert!(c.log(1).contains("Kafka Server started"));

    // A handle to a cluster another process started cannot kill it.
    let mut shared = KafkaCluster::attach(&c.shared_spec()).unwrap();
    assert!(shared.is_shared());
    assert_eq!(shared.bootstrap(), c.bootstrap());
    assert_eq!(shared.cluster_id(), c.cluster_id());
    assert!(shared.kill_node(1).is_err());
    assert!(shared.start_node(1).is_err());
}

#[test]
fn unique_names_differ() {
    let (a, b) = (unique_name("t"), unique_name("t"));
    assert_ne!(a, b);
    assert!(
        a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
        "{a}"
    );
}

#[test]
fn the_kafka_cluster_binary_serves_until_its_stdin_closes() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    // As scripts/test.sh runs it for the shared clusters.
    let mut child = Command::new(env!("CARGO_BIN_EXE_kafka-cluster"))
        .args(["--env", "SOME_NAME", "--prop", "num.partitions=2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let spec = line
        .trim()
        .strip_prefix("SOME_NAME=")
        .expect(&line)
        .to_owned();
    let c = KafkaCluster::attach(&spec).unwrap();
    assert!(c.is_shared());
    let topic = unique_name("binary");
    // Auto-created with the --prop default of 2 partitions.
    rdkafka::produce_all(&c.bootstrap(), &topic, &varied_records(4, 2, "bin"));
    assert_eq!(
        tools::end_offsets(&c, &topic).unwrap(),
        [(0, 2), (1, 2)].into()
    );

    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(
        std::net::TcpStream::connect(c.bootstrap()).is_err(),
        "the broker is gone with the binary"
    );
}
