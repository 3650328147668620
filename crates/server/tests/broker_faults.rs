//! Real broker faults under a link server, on Apache Kafka: a broker SIGKILLed mid-mirror and
//! started again on its data, on the source and on the destination (the local cluster, which
//! also holds the link server's state), on one node and on three. On three nodes the node killed
//! is the leader of a mirrored partition: leadership moves, and mirroring goes on before the
//! node comes back. Every time, the mirror ends ACTIVE with the destination equal to the source,
//! record for record and offset for offset (read with librdkafka), nothing lost and nothing
//! twice. And the state topic of a three-node cluster is replicated to survive a broker, whatever
//! the cluster's default replication factor, while mirror topics take that default (R8).
//!
//! Only Kafka: these tests restart brokers on their data, which tansu's memory storage loses
//! and librdkafka's mock cluster cannot do.

mod support;

use std::time::{Duration, Instant};

use clusterlink_testkit::kafka::{tools, unique_name, KafkaCluster};
use clusterlink_testkit::link_server::state_topic;
use clusterlink_testkit::peer::{Broker, Peer, Side};
use clusterlink_testkit::peer_tests;
use clusterlink_testkit::rdkafka::{self, by_partition, varied_records, Msg, ProduceSpec};
use serde_json::{json, Value};
use support::*;

const PARTITIONS: i32 = 3;
/// Records on the source before the mirror starts, and written while it runs.
const BEFORE: usize = 12_000;
const DURING: usize = 12_000;
/// Records written after the killed node is back.
const AFTER: usize = 1_000;

/// Runs blocking work (Kafka's tools, librdkafka, a node's start) without stalling the link
/// server that runs on this test's runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// librdkafka's idempotent producer writing `records` in a thread of its own: it keeps
/// retrying through a broker's death (`message.timeout.ms` is 5 minutes).
fn produce_in_background(
    bootstrap: String,
    topic: &str,
    records: Vec<Msg>,
) -> std::thread::JoinHandle<Result<usize, String>> {
    let spec = ProduceSpec {
        topic: topic.into(),
        config: [
            ("enable.idempotence".to_string(), json!(true)),
            ("compression.type".to_string(), json!("lz4")),
        ]
        .into(),
        records: Some(records),
        transactions: None,
    };
    std::thread::spawn(move || rdkafka::produce(&bootstrap, &spec).map_err(|e| format!("{e:#}")))
}

/// Waits for the background producer; every record must have been acknowledged.
fn finish(producer: Option<std::thread::JoinHandle<Result<usize, String>>>) {
    if let Some(p) = producer {
        let written = blocking(|| p.join()).unwrap().unwrap();
        assert_eq!(written, DURING, "records acknowledged to the producer");
    }
}

/// A link server on `dst` mirroring `topic` from `src` through link `link`; small fetches, so
/// that the mirror takes many rounds and a broker dies in the middle of it.
struct Mirror {
    server: Server,
    path: String,
}

impl Mirror {
    async fn start(src: &Broker, dst: &Broker, topic: &str) -> Mirror {
        let mut options = options();
        options.engine.partition_max_bytes = 4096;
        let server = Server::start_with(&dst.bootstrap(), options).await;
        let link = unique_name("faults");
        let links = format!("/v3/clusters/{}/links", dst.cluster_id());
        let (st, v) = server
            .post(
                &format!("{links}?link_name={link}"),
                json!({"source_cluster_id": src.cluster_id(), "configs": [
                    {"name": "bootstrap.servers", "value": src.bootstrap()}]}),
            )
            .await;
        assert_eq!(st, 204, "{v:#}");
        let (st, v) = server
            .post(
                &format!("{links}/{link}/mirrors"),
                json!({"source_topic_name": topic}),
            )
            .await;
        assert_eq!(st, 204, "{v:#}");
        Mirror {
            server,
            path: format!("{links}/{link}/mirrors/{topic}"),
        }
    }

    /// Source records fetched so far (the sum of the partitions' fetch positions).
    async fn fetched(&self) -> i64 {
        let (_, v) = self.server.get(&self.path).await;
        v["mirror_lags"].as_array().map_or(0, |l| {
            l.iter()
                .filter_map(|l| l["last_source_fetch_offset"].as_i64())
                .sum()
        })
    }

    /// Waits until the mirror has fetched at least `n` records: it is at work.
    async fn wait_fetched(&self, n: i64) {
        let start = Instant::now();
        while self.fetched().await < n {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the mirror did not reach {n} records"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the mirror is ACTIVE with every one of `total` records mirrored.
    async fn wait_caught_up(&self, total: usize, what: &str) -> Value {
        self.server
            .wait_for(&self.path, what, caught_up(total as i64))
            .await
    }
}

/// A cluster of this test's own to kill nodes of: one node, or three.
fn private(nodes: usize) -> Broker {
    Broker::Kafka(
        match nodes {
            1 => KafkaCluster::start(),
            _ => KafkaCluster::start_three(),
        }
        .expect("start a private Kafka cluster"),
    )
}

/// The leader of `topic`'s partition 0, by `kafka-topics --describe`.
fn leader(cluster: &mut Broker, topic: &str) -> i32 {
    let d = blocking(|| tools::describe_topic(cluster.kafka(), topic)).unwrap();
    d.partitions[0].leader.expect("partition 0 has a leader")
}

/// Waits until `topic`'s partition 0 is led by a node other than `old`, with `old` out of its
/// ISR: leadership moved.
fn wait_leadership_moved(cluster: &mut Broker, topic: &str, old: i32) -> i32 {
    let start = Instant::now();
    loop {
        let d = blocking(|| tools::describe_topic(cluster.kafka(), topic)).unwrap();
        let p = &d.partitions[0];
        match p.leader {
            Some(l) if l != old && !p.isr.contains(&old) => return l,
            _ => assert!(
                start.elapsed() < Duration::from_secs(60),
                "leadership of {topic}-0 stayed with node {old}: {p:?}"
            ),
        }
    }
}

/// librdkafka's word on both clusters: the source holds every record produced, once, and the
/// destination the same records at the same offsets.
fn assert_mirrored_exactly(src: &Broker, dst: &Broker, topic: &str, produced: &[Msg]) {
    let source_view = blocking(|| rdkafka::consume(&src.bootstrap(), topic)).unwrap();
    assert!(
        by_partition(&source_view) == by_partition(produced),
        "the source does not hold the {} records produced (it has {})",
        produced.len(),
        source_view.len()
    );
    let mirrored = blocking(|| rdkafka::consume(&dst.bootstrap(), topic)).unwrap();
    assert_eq!(
        mirrored.len(),
        source_view.len(),
        "records on the destination"
    );
    assert!(
        by_partition(&mirrored) == by_partition(&source_view),
        "destination log differs from the source"
    );
    let offsets = |v: &[Msg]| {
        let mut o: Vec<(i32, i64)> = v.iter().map(|m| (m.partition, m.offset)).collect();
        o.sort();
        o
    };
    assert!(
        offsets(&mirrored) == offsets(&source_view),
        "offsets differ"
    );
}

/// Which side's broker dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Killed {
    Source,
    Destination,
}

/// A broker of one side is SIGKILLed mid-mirror, while librdkafka writes the source; on one
/// node, the side is down until the node starts again on its data; on three, the node killed
/// leads partition 0 of the mirrored topic on that side, leadership moves and mirroring goes on
/// (every record written meanwhile is mirrored) before the node comes back.
async fn broker_killed_mid_mirror(peer: Peer, killed: Killed, nodes: usize) {
    let (mut src, mut dst) = match killed {
        Killed::Source => (private(nodes), peer.cluster(Side::B).unwrap()),
        Killed::Destination => (peer.cluster(Side::A).unwrap(), private(nodes)),
    };
    let topic = unique_name("orders");
    // the broker's default replication factor: 3 on the harness's three-node clusters
    blocking(|| rdkafka::create_topic(&src.bootstrap(), &topic, PARTITIONS)).unwrap();
    let mut produced = varied_records(BEFORE, PARTITIONS, "before");
    blocking(|| produce(&src.bootstrap(), &topic, &produced));
    let m = Mirror::start(&src, &dst, &topic).await;
    let src_bootstrap = src.bootstrap();
    let side = match killed {
        Killed::Source => &mut src,
        Killed::Destination => &mut dst,
    };
    // found before the producer starts (a tool takes a second), so that the kill comes while
    // the producer writes
    let victim = if nodes == 1 {
        1
    } else {
        leader(side, &topic) as u32
    };
    let during = varied_records(DURING, PARTITIONS, "during");
    let mut producer = Some(produce_in_background(
        src_bootstrap.clone(),
        &topic,
        during.clone(),
    ));
    produced.extend(during);

    m.wait_fetched(BEFORE as i64 / 3).await;
    side.kafka().kill_node(victim).unwrap();
    let at_kill = m.fetched().await;
    let writing = producer.as_ref().is_some_and(|p| !p.is_finished());
    eprintln!(
        "node {victim} of the {killed:?} killed with {at_kill} records fetched, the producer {}",
        if writing { "writing" } else { "done" }
    );
    assert!(
        at_kill < (BEFORE + DURING) as i64,
        "the kill came after the mirror was done"
    );

    if nodes == 1 {
        if killed == Killed::Source {
            // nothing to fetch from: the mirror says so
            m.server
                .wait_for(&m.path, "SOURCE_UNAVAILABLE", |v| {
                    v["mirror_status"] == "SOURCE_UNAVAILABLE"
                })
                .await;
        } else {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    } else {
        let new = wait_leadership_moved(side, &topic, victim as i32);
        eprintln!("leadership of partition 0 moved from node {victim} to node {new}");
        // mirroring goes on without the node: everything written meanwhile is mirrored
        finish(producer.take());
        m.wait_caught_up(BEFORE + DURING, "caught up without the killed node")
            .await;
    }
    blocking(|| side.kafka().start_node(victim)).unwrap();
    eprintln!("node {victim} of the {killed:?} back");
    if nodes == 1 {
        finish(producer.take());
    }
    let after = varied_records(AFTER, PARTITIONS, "after");
    blocking(|| produce(&src_bootstrap, &topic, &after));
    produced.extend(after);
    let status = m
        .wait_caught_up(produced.len(), "everything mirrored")
        .await;
    assert_eq!(status["mirror_status"], "ACTIVE", "{status:#}");
    assert_eq!(status["offset_mode"], "ALIGNED", "{status:#}");
    assert_mirrored_exactly(&src, &dst, &topic, &produced);
    m.server.stop().await;
}

async fn source_broker_killed_and_restarted(peer: Peer) {
    broker_killed_mid_mirror(peer, Killed::Source, 1).await
}

async fn destination_broker_killed_and_restarted(peer: Peer) {
    broker_killed_mid_mirror(peer, Killed::Destination, 1).await
}

async fn source_leader_killed_on_three_nodes(peer: Peer) {
    broker_killed_mid_mirror(peer, Killed::Source, 3).await
}

async fn destination_leader_killed_on_three_nodes(peer: Peer) {
    broker_killed_mid_mirror(peer, Killed::Destination, 3).await
}

/// On a three-node cluster whose brokers default to one replica and min ISR 1 (Kafka's own
/// defaults), the state topic gets three replicas and min ISR 2, so the links survive a broker:
/// with its leader killed, a link is still created, and a new link server finds it. Mirror
/// topics created without a replication factor take the broker's default (R8).
async fn state_topic_is_replicated_on_three_nodes(peer: Peer) {
    let src = peer.cluster(Side::A).unwrap();
    let mut dst = Broker::Kafka(
        KafkaCluster::builder()
            .nodes(3)
            .prop("default.replication.factor", 1)
            .prop("min.insync.replicas", 1)
            .start()
            .unwrap(),
    );
    let topic = unique_name("orders");
    blocking(|| rdkafka::create_topic(&src.bootstrap(), &topic, PARTITIONS)).unwrap();
    let records = varied_records(300, PARTITIONS, "rf");
    blocking(|| produce(&src.bootstrap(), &topic, &records));

    let server = Server::start(&dst.bootstrap()).await;
    let d = blocking(|| tools::describe_topic(dst.kafka(), state_topic())).unwrap();
    assert_eq!(d.partitions.len(), 1, "{d:?}");
    assert_eq!(d.partitions[0].replicas.len(), 3, "{d:?}");
    assert_eq!(d.configs["min.insync.replicas"], "2", "{d:?}");
    assert_eq!(d.configs["cleanup.policy"], "compact", "{d:?}");

    // its leader dies: once leadership moved, state writes go on (two in-sync replicas are
    // left, as min ISR asks)
    let victim = d.partitions[0].leader.expect("a leader");
    dst.kafka().kill_node(victim as u32).unwrap();
    wait_leadership_moved(&mut dst, state_topic(), victim);
    let links = format!("/v3/clusters/{}/links", dst.cluster_id());
    let link = unique_name("durable");
    let (st, v) = server
        .post(
            &format!("{links}?link_name={link}"),
            json!({"source_cluster_id": src.cluster_id(), "configs": [
                {"name": "bootstrap.servers", "value": src.bootstrap()}]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    server.stop().await;
    let server = Server::start(&dst.bootstrap()).await;
    let (st, v) = server.get(&format!("{links}/{link}")).await;
    assert_eq!(st, 200, "the link survives the state topic's leader: {v:#}");
    blocking(|| dst.kafka().start_node(victim as u32)).unwrap();

    // a mirror topic without a replication factor: the broker's default, here 1 (R8)
    let (st, v) = server
        .post(
            &format!("{links}/{link}/mirrors"),
            json!({"source_topic_name": topic}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let d = blocking(|| tools::describe_topic(dst.kafka(), &topic)).unwrap();
    assert!(d.partitions.iter().all(|p| p.replicas.len() == 1), "{d:?}");
    server
        .wait_for(
            &format!("{links}/{link}/mirrors/{topic}"),
            "caught up",
            caught_up(records.len() as i64),
        )
        .await;
    assert_mirrored_exactly(&src, &dst, &topic, &records);
    server.stop().await;
}

peer_tests! {
    source_broker_killed_and_restarted: [kafka];
    destination_broker_killed_and_restarted: [kafka];
    source_leader_killed_on_three_nodes: [kafka];
    destination_leader_killed_on_three_nodes: [kafka];
    state_topic_is_replicated_on_three_nodes: [kafka];
}
