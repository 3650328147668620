//! Shared by the engine and copy tests: the two clusters of a link with our clients to them,
//! engine settings for tests, set-up with librdkafka, and status polling.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use clusterlink_kafka::Client;
use clusterlink_mirror::{Engine, LinkSettings, MirrorSpec, MirrorState, MirrorStatus, StartSpec};
use clusterlink_testkit::kafka::unique_name;
use clusterlink_testkit::link_server;
use clusterlink_testkit::peer::{Broker, Peer};
use clusterlink_testkit::rdkafka::{self, Msg, ProduceSpec};
use serde_json::json;

pub use clusterlink_testkit::link_server::client;
pub use clusterlink_testkit::topics::create_topic;

/// The two clusters of a link (a source and a destination) and our clients to them.
pub struct Pair {
    pub peer: Peer,
    pub a: Broker,
    pub b: Broker,
    pub src: Client,
    pub dst: Client,
}

impl Pair {
    /// The peer's two clusters (on Kafka the run's shared ones: use [`name`]s).
    pub async fn of(peer: Peer) -> Pair {
        let (a, b) = peer.pair().unwrap();
        Pair::new(peer, a, b).await
    }

    /// A pair of these clusters, our clients bootstrapping from each one's
    /// [`Broker::client_bootstrap`] (through its proxy, for one started behind a proxy; checks
    /// with librdkafka use [`Broker::bootstrap`]).
    pub async fn new(peer: Peer, a: Broker, b: Broker) -> Pair {
        let (src, dst) = (
            client(&a.client_bootstrap()).await,
            client(&b.client_bootstrap()).await,
        );
        Pair {
            peer,
            a,
            b,
            src,
            dst,
        }
    }

    /// The engine of link `name` between them, with the test settings.
    pub async fn engine(&self, name: &str) -> Engine {
        self.engine_with(settings(name)).await
    }

    /// The engine of a link between them, with these settings, on clients of its own (as a
    /// restarted process has).
    pub async fn engine_on_new_clients(&self, settings: LinkSettings) -> Engine {
        let src = client(&self.a.client_bootstrap()).await;
        let dst = client(&self.b.client_bootstrap()).await;
        Engine::start(settings, src, dst).await.unwrap()
    }

    /// The engine of a link between them, with these settings.
    pub async fn engine_with(&self, settings: LinkSettings) -> Engine {
        Engine::start(settings, self.src.clone(), self.dst.clone())
            .await
            .unwrap()
    }
}

/// A topic, group or link name no other test uses (the Kafka clusters are shared).
pub fn name(prefix: &str) -> String {
    unique_name(prefix)
}

/// Engine settings for tests: fast checkpoints and metadata refresh, and this process's own
/// state topic (see `clusterlink_testkit::link_server::state_topic`).
pub fn settings(name: &str) -> LinkSettings {
    let mut s = link_server::options().engine;
    s.name = name.to_owned();
    s
}

/// Produces `records` with librdkafka's idempotent producer, with `codec`; panics unless every
/// one is acknowledged.
pub fn produce(bootstrap: &str, topic: &str, records: &[Msg], codec: &str) {
    let spec = ProduceSpec {
        topic: topic.into(),
        config: [
            ("compression.type".to_string(), json!(codec)),
            ("enable.idempotence".to_string(), json!(true)),
        ]
        .into(),
        records: Some(records.to_vec()),
        transactions: None,
    };
    assert_eq!(rdkafka::produce(bootstrap, &spec).unwrap(), records.len());
}

/// A mirror of `source` named `name`, from the earliest offset.
pub fn spec(name: &str, source: &str) -> MirrorSpec {
    MirrorSpec {
        name: name.into(),
        source_topic: source.into(),
        configs: vec![],
        replication_factor: None,
        start: StartSpec::Earliest,
    }
}

/// Polls the mirror's status until `done` holds, or panics with the last status.
pub async fn wait_for(
    engine: &Engine,
    name: &str,
    what: &str,
    done: impl Fn(&MirrorStatus) -> bool,
) -> MirrorStatus {
    let start = Instant::now();
    loop {
        let s = engine.status(name).expect("mirror exists");
        if done(&s) {
            return s;
        }
        if start.elapsed() > Duration::from_secs(60) {
            panic!("timed out waiting for {what}: {s:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The destination's end, summed over partitions.
pub fn destination_total(s: &MirrorStatus) -> i64 {
    s.partitions.iter().map(|p| p.destination_end).sum()
}

/// ACTIVE, `total` records on the destination, no lag.
pub fn caught_up(total: i64) -> impl Fn(&MirrorStatus) -> bool {
    move |s| {
        s.state == MirrorState::Active
            && destination_total(s) == total
            && s.partitions.iter().all(|p| p.lag_records == 0)
    }
}

/// Waits until librdkafka no longer lists `topic` (Kafka's brokers learn of a deletion from the
/// metadata log, a moment after DeleteTopics answered).
pub fn wait_until_gone(bootstrap: &str, topic: &str) {
    let start = Instant::now();
    loop {
        let topics = rdkafka::topics(bootstrap).unwrap();
        if !topics.contains_key(topic) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{topic} still listed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
