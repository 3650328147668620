//! The mirroring engine between real clusters, checked with librdkafka.

use std::time::{Duration, Instant};

use clusterlink_kafka::client::{ConfigResource, NewTopic};
use clusterlink_kafka::{Client, ClientConfig};
use clusterlink_mirror::offset_map::OffsetMode;
use clusterlink_mirror::{
    Desired, Engine, LinkSettings, MirrorError, MirrorSpec, MirrorState, MirrorStatus, StartSpec,
};
use clusterlink_testkit::rdkafka::{self, by_partition, varied_records, Msg, ProduceSpec, Txn};
use clusterlink_testkit::{MockCluster, TansuCluster};
use serde_json::json;

async fn client(bootstrap: &str) -> Client {
    let mut c = ClientConfig::new(bootstrap);
    c.retry.timeout = Duration::from_secs(5);
    c.connection.request_timeout = Duration::from_secs(5);
    Client::connect(c).await.unwrap()
}

fn settings(name: &str) -> LinkSettings {
    let mut s = LinkSettings::new(name);
    s.retry_timeout = Duration::from_secs(30);
    s.checkpoint_interval = Duration::from_millis(100);
    s.metadata_interval = Duration::from_millis(300);
    s.max_wait = Duration::from_millis(50);
    s
}

async fn create_topic(c: &Client, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let t = NewTopic {
        name: name.into(),
        partitions,
        replication_factor: -1,
        configs: configs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    c.create_topics(&[t], false, Duration::from_secs(10))
        .await
        .unwrap()[0]
        .1
        .as_ref()
        .unwrap();
}

fn produce(bootstrap: &str, topic: &str, records: &[Msg], codec: &str) {
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

fn spec(name: &str, source: &str) -> MirrorSpec {
    MirrorSpec {
        name: name.into(),
        source_topic: source.into(),
        configs: vec![],
        replication_factor: None,
        start: StartSpec::Earliest,
    }
}

/// Polls the mirror's status until `done` holds, or panics with the last status.
async fn wait_for(
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
        if start.elapsed() > Duration::from_secs(30) {
            panic!("timed out waiting for {what}: {s:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn caught_up(total: i64) -> impl Fn(&MirrorStatus) -> bool {
    move |s| {
        s.state == MirrorState::Active
            && s.partitions.iter().map(|p| p.destination_end).sum::<i64>() == total
            && s.partitions.iter().all(|p| p.lag_records == 0)
    }
}

/// Offsets, keys, values, headers and timestamps are identical on both sides, read with
/// librdkafka; the mirror reports aligned offsets, lag zero, and keeps up with new data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_topic_is_an_exact_aligned_copy() {
    let (a, b) = (
        TansuCluster::start("eng-a").unwrap(),
        TansuCluster::start("eng-b").unwrap(),
    );
    let (src, dst) = (client(&a.bootstrap()).await, client(&b.bootstrap()).await);
    create_topic(&src, "orders", 3, &[("retention.ms", "86400000")]).await;
    produce(
        &a.bootstrap(),
        "orders",
        &varied_records(600, 3, "first"),
        "lz4",
    );

    let engine = Engine::start(settings("exact"), src.clone(), dst.clone())
        .await
        .unwrap();
    let mut s = spec("orders", "orders");
    s.configs = vec![("max.message.bytes".into(), "2000000".into())];
    engine.create_mirror(s, Desired::Active).await.unwrap();
    let status = wait_for(&engine, "orders", "600 records mirrored", caught_up(600)).await;
    assert_eq!(status.offset_mode, OffsetMode::Aligned);
    assert!(
        status.partitions.iter().all(|p| p.lag_seconds == 0.0),
        "{status:#?}"
    );

    // data keeps flowing
    produce(
        &a.bootstrap(),
        "orders",
        &varied_records(300, 3, "second"),
        "zstd",
    );
    wait_for(&engine, "orders", "900 records mirrored", caught_up(900)).await;

    let source_view = rdkafka::consume(&a.bootstrap(), "orders").unwrap();
    let mirrored = rdkafka::consume(&b.bootstrap(), "orders").unwrap();
    assert_eq!(mirrored.len(), 900);
    let key = |m: &Msg| {
        (
            m.partition,
            m.offset,
            m.key.clone(),
            m.value.clone(),
            m.headers.clone(),
            m.timestamp,
        )
    };
    let mut want: Vec<_> = source_view.iter().map(key).collect();
    let mut got: Vec<_> = mirrored.iter().map(key).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "aligned: same offsets and contents");
    assert_eq!(engine.translate("orders", 1, 17), Some(17));

    // the destination topic: the source's partitions and configs, with the override on top
    assert_eq!(
        rdkafka::topics(&b.bootstrap()).unwrap().get("orders"),
        Some(&3)
    );
    let configs = dst
        .describe_configs(ConfigResource::Topic, "orders", None)
        .await
        .unwrap();
    let get = |k: &str| {
        configs
            .iter()
            .find(|c| c.name == k)
            .and_then(|c| c.value.clone())
    };
    assert_eq!(get("retention.ms").as_deref(), Some("86400000"));
    assert_eq!(get("max.message.bytes").as_deref(), Some("2000000"));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_mirror_checks_both_sides() {
    let (a, b) = (
        TansuCluster::start("chk-a").unwrap(),
        TansuCluster::start("chk-b").unwrap(),
    );
    let (src, dst) = (client(&a.bootstrap()).await, client(&b.bootstrap()).await);
    create_topic(&src, "s", 1, &[]).await;
    create_topic(&dst, "taken", 1, &[]).await;
    let engine = Engine::start(settings("checks"), src, dst).await.unwrap();

    let e = engine
        .create_mirror(spec("m", "missing"), Desired::Active)
        .await
        .unwrap_err();
    assert!(matches!(e, MirrorError::SourceTopicMissing(_)), "{e}");
    assert!(e.to_string().contains("missing"), "{e}");

    let e = engine
        .create_mirror(spec("taken", "s"), Desired::Active)
        .await
        .unwrap_err();
    assert!(matches!(e, MirrorError::DestinationExists(_)), "{e}");
    assert!(
        e.to_string()
            .contains("cannot be turned into a mirror topic"),
        "{e}"
    );

    engine
        .create_mirror(spec("s", "s"), Desired::Active)
        .await
        .unwrap();
    let e = engine
        .create_mirror(spec("s", "s"), Desired::Active)
        .await
        .unwrap_err();
    assert!(matches!(e, MirrorError::Duplicate(_)), "{e}");
    assert_eq!(e.category(), "invalid");
    let e = engine
        .set_desired("nope", Desired::Paused)
        .await
        .unwrap_err();
    assert!(matches!(e, MirrorError::NotFound(_)), "{e}");
    engine.shutdown().await;
}

/// PAUSE stops copying (lag grows), ACTIVE resumes where it stopped, PROMOTE waits for zero lag
/// and stops; the promoted topic takes writes from librdkafka.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_promote() {
    let (a, b) = (
        TansuCluster::start("pr-a").unwrap(),
        TansuCluster::start("pr-b").unwrap(),
    );
    let (src, dst) = (client(&a.bootstrap()).await, client(&b.bootstrap()).await);
    create_topic(&src, "t", 2, &[]).await;
    produce(&a.bootstrap(), "t", &varied_records(100, 2, "one"), "none");
    let engine = Engine::start(settings("pr"), src, dst).await.unwrap();
    engine
        .create_mirror(spec("t", "t"), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, "t", "first 100", caught_up(100)).await;

    engine.set_desired("t", Desired::Paused).await.unwrap();
    assert_eq!(engine.status("t").unwrap().state, MirrorState::Paused);
    produce(&a.bootstrap(), "t", &varied_records(50, 2, "two"), "gzip");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        rdkafka::consume(&b.bootstrap(), "t").unwrap().len(),
        100,
        "nothing copied while paused"
    );
    // lag is only known from fetches, which a paused mirror does not make: it shows what it saw
    let paused = engine.status("t").unwrap();
    assert_eq!(
        paused
            .partitions
            .iter()
            .map(|p| p.destination_end)
            .sum::<i64>(),
        100
    );

    engine.set_desired("t", Desired::Active).await.unwrap();
    wait_for(&engine, "t", "150 after resume", caught_up(150)).await;

    produce(
        &a.bootstrap(),
        "t",
        &varied_records(40, 2, "three"),
        "snappy",
    );
    engine.set_desired("t", Desired::Promote).await.unwrap();
    let stopped = wait_for(&engine, "t", "promotion", |s| {
        s.state == MirrorState::Stopped
    })
    .await;
    assert_eq!(
        stopped
            .partitions
            .iter()
            .map(|p| p.destination_end)
            .sum::<i64>(),
        190,
        "promote waits for lag zero"
    );
    assert!(stopped.reason.is_none());

    // writable: librdkafka produces into the promoted topic
    produce(&b.bootstrap(), "t", &varied_records(10, 2, "local"), "none");
    assert_eq!(rdkafka::consume(&b.bootstrap(), "t").unwrap().len(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        engine.status("t").unwrap().state,
        MirrorState::Stopped,
        "local writes do not fail a stopped mirror"
    );
    let e = engine.set_desired("t", Desired::Active).await.unwrap_err();
    assert!(matches!(e, MirrorError::InvalidTransition { .. }), "{e}");
    engine.shutdown().await;
}

/// FAILOVER stops at once, whatever the lag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_with_lag_stops_at_once() {
    let (a, b) = (
        TansuCluster::start("fo-a").unwrap(),
        TansuCluster::start("fo-b").unwrap(),
    );
    let (src, dst) = (client(&a.bootstrap()).await, client(&b.bootstrap()).await);
    create_topic(&src, "f", 1, &[]).await;
    produce(&a.bootstrap(), "f", &varied_records(30, 1, "x"), "none");
    let engine = Engine::start(settings("fo"), src, dst).await.unwrap();
    engine
        .create_mirror(spec("f", "f"), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, "f", "30", caught_up(30)).await;
    engine.set_desired("f", Desired::Paused).await.unwrap();
    produce(&a.bootstrap(), "f", &varied_records(25, 1, "y"), "none");
    engine.set_desired("f", Desired::Failover).await.unwrap();
    let s = engine.status("f").unwrap();
    assert_eq!(s.state, MirrorState::Stopped);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        rdkafka::consume(&b.bootstrap(), "f").unwrap().len(),
        30,
        "nothing more after failover"
    );
    engine.shutdown().await;
}

/// Deleting the source topic fails the mirror with that reason; deleting the mirror deletes
/// the destination topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_topic_deleted_and_mirror_deleted() {
    let (a, b) = (
        TansuCluster::start("del-a").unwrap(),
        TansuCluster::start("del-b").unwrap(),
    );
    let (src, dst) = (client(&a.bootstrap()).await, client(&b.bootstrap()).await);
    create_topic(&src, "gone", 2, &[]).await;
    create_topic(&src, "keep", 1, &[]).await;
    produce(&a.bootstrap(), "gone", &varied_records(10, 2, "g"), "none");
    let engine = Engine::start(settings("del"), src.clone(), dst)
        .await
        .unwrap();
    engine
        .create_mirror(spec("gone", "gone"), Desired::Active)
        .await
        .unwrap();
    engine
        .create_mirror(spec("keep", "keep"), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, "gone", "10", caught_up(10)).await;
    src.delete_topics(&["gone".into()], Duration::from_secs(10))
        .await
        .unwrap();
    let s = wait_for(&engine, "gone", "FAILED", |s| {
        s.state == MirrorState::Failed
    })
    .await;
    assert!(
        s.reason
            .as_deref()
            .unwrap_or("")
            .contains("source topic gone was deleted"),
        "{s:#?}"
    );
    assert_eq!(
        engine.status("keep").unwrap().state,
        MirrorState::Active,
        "other mirrors go on"
    );

    engine.delete_mirror("keep").await.unwrap();
    assert!(engine.status("keep").is_none());
    assert!(!rdkafka::topics(&b.bootstrap())
        .unwrap()
        .contains_key("keep"));
    engine.shutdown().await;
}

/// A write to the mirror topic by anyone else is detected and fails the mirror, clearly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_write_to_the_mirror_fails_it() {
    let (a, b) = (
        TansuCluster::start("fw-a").unwrap(),
        TansuCluster::start("fw-b").unwrap(),
    );
    let (src, dst) = (client(&a.bootstrap()).await, client(&b.bootstrap()).await);
    create_topic(&src, "ro", 1, &[]).await;
    produce(&a.bootstrap(), "ro", &varied_records(5, 1, "a"), "none");
    let engine = Engine::start(settings("fw"), src, dst).await.unwrap();
    engine
        .create_mirror(spec("ro", "ro"), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, "ro", "5", caught_up(5)).await;
    produce(
        &b.bootstrap(),
        "ro",
        &varied_records(1, 1, "intruder"),
        "none",
    );
    produce(&a.bootstrap(), "ro", &varied_records(5, 1, "b"), "none");
    let s = wait_for(&engine, "ro", "FAILED", |s| s.state == MirrorState::Failed).await;
    assert!(
        s.reason
            .as_deref()
            .unwrap_or("")
            .contains("written by another producer"),
        "{s:#?}"
    );
    engine.shutdown().await;
}

/// Transaction markers and aborted data leave gaps: the mirror is translated, and the offset
/// map sends every source offset to where librdkafka finds the same record on the destination.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_source_is_translated_exactly() {
    let mock = MockCluster::start(1).unwrap();
    let b = TansuCluster::start("tx-b").unwrap();
    let all = varied_records(60, 1, "tx");
    let transactions: Vec<Txn> = all
        .chunks(10)
        .enumerate()
        .map(|(i, c)| Txn {
            commit: i != 2,
            records: c.to_vec(),
        })
        .collect();
    let spec_tx = ProduceSpec {
        topic: "txt".into(),
        config: [("transactional.id".to_string(), json!("tx-engine"))].into(),
        records: None,
        transactions: Some(transactions),
    };
    rdkafka::produce(mock.bootstrap(), &spec_tx).unwrap();
    let (src, dst) = (client(mock.bootstrap()).await, client(&b.bootstrap()).await);
    let engine = Engine::start(settings("tx"), src, dst).await.unwrap();
    engine
        .create_mirror(spec("txt", "txt"), Desired::Active)
        .await
        .unwrap();
    let s = wait_for(&engine, "txt", "50 committed records", |s| {
        s.partitions.iter().map(|p| p.destination_end).sum::<i64>() == 50
            && s.partitions.iter().all(|p| p.lag_records == 0)
    })
    .await;
    assert_eq!(s.offset_mode, OffsetMode::Translated);

    // the mock's librdkafka consumer returns aborted records too (no aborted list): match records
    // by content (timestamps are unique per record)
    let source_view = rdkafka::consume(mock.bootstrap(), "txt").unwrap();
    let mirrored = rdkafka::consume(&b.bootstrap(), "txt").unwrap();
    assert_eq!(mirrored.len(), 50);
    for m in &mirrored {
        let src_rec = source_view
            .iter()
            .find(|s| {
                s.partition == m.partition
                    && s.timestamp == m.timestamp
                    && s.key == m.key
                    && s.value == m.value
            })
            .expect("on the source");
        assert_eq!(
            engine.translate("txt", m.partition, src_rec.offset),
            Some(m.offset),
            "{m:?}"
        );
    }
    let aborted_value = all[25].value.clone();
    assert!(
        !mirrored.iter().any(|m| m.value == aborted_value),
        "aborted data stays out"
    );
    engine.shutdown().await;
}

/// A network cut to the source: SOURCE_UNAVAILABLE, then mirroring resumes by itself, with
/// nothing lost or duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_cut_to_the_source_and_back() {
    let a = TansuCluster::start_behind_proxy("cut-a").unwrap();
    let b = TansuCluster::start("cut-b").unwrap();
    let (src, dst) = (client(&a.bootstrap()).await, client(&b.bootstrap()).await);
    create_topic(&src, "c", 2, &[]).await;
    produce(
        &a.bootstrap(),
        "c",
        &varied_records(100, 2, "before"),
        "lz4",
    );
    let engine = Engine::start(settings("cut"), src, dst).await.unwrap();
    engine
        .create_mirror(spec("c", "c"), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, "c", "100", caught_up(100)).await;

    a.cut_network();
    let s = wait_for(&engine, "c", "SOURCE_UNAVAILABLE", |s| {
        s.state == MirrorState::SourceUnavailable
    })
    .await;
    assert!(s.reason.is_some(), "{s:#?}");
    a.restore_network();
    produce(&a.bootstrap(), "c", &varied_records(100, 2, "after"), "lz4");
    wait_for(&engine, "c", "200 after the cut", caught_up(200)).await;
    let source_view = rdkafka::consume(&a.bootstrap(), "c").unwrap();
    let mirrored = rdkafka::consume(&b.bootstrap(), "c").unwrap();
    assert_eq!(by_partition(&mirrored), by_partition(&source_view));
    engine.shutdown().await;
}

/// A new engine on the same state topic (a restart) picks up every mirror and goes on
/// without copying anything twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_restores_mirrors_from_the_state_topic() {
    let (a, b) = (
        TansuCluster::start("rs-a").unwrap(),
        TansuCluster::start("rs-b").unwrap(),
    );
    let (src, dst) = (client(&a.bootstrap()).await, client(&b.bootstrap()).await);
    create_topic(&src, "r", 3, &[]).await;
    produce(&a.bootstrap(), "r", &varied_records(90, 3, "one"), "none");
    let engine = Engine::start(settings("rs"), src.clone(), dst.clone())
        .await
        .unwrap();
    engine
        .create_mirror(spec("r", "r"), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, "r", "90", caught_up(90)).await;
    engine.set_desired("r", Desired::Paused).await.unwrap();
    engine.shutdown().await;
    drop(engine);

    produce(&a.bootstrap(), "r", &varied_records(60, 3, "two"), "none");
    let engine = Engine::start(
        settings("rs"),
        client(&a.bootstrap()).await,
        client(&b.bootstrap()).await,
    )
    .await
    .unwrap();
    let s = engine.status("r").expect("restored");
    assert_eq!(s.state, MirrorState::Paused, "the desired state survives");
    engine.set_desired("r", Desired::Active).await.unwrap();
    wait_for(&engine, "r", "150", caught_up(150)).await;
    let source_view = rdkafka::consume(&a.bootstrap(), "r").unwrap();
    let mirrored = rdkafka::consume(&b.bootstrap(), "r").unwrap();
    assert_eq!(mirrored.len(), 150);
    assert_eq!(by_partition(&mirrored), by_partition(&source_view));
    engine.shutdown().await;
}

/// A destination that stays unreachable longer than `cluster.link.retry.timeout.ms` fails the
/// mirror, saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_exhausted_fail_the_mirror() {
    let a = TansuCluster::start("rt-a").unwrap();
    let b = TansuCluster::start_behind_proxy("rt-b").unwrap();
    let (src, dst) = (client(&a.bootstrap()).await, client(&b.bootstrap()).await);
    create_topic(&src, "rt", 1, &[]).await;
    let mut s = settings("rt");
    s.retry_timeout = Duration::from_millis(800);
    let engine = Engine::start(s, src, dst).await.unwrap();
    engine
        .create_mirror(spec("rt", "rt"), Desired::Active)
        .await
        .unwrap();
    produce(&a.bootstrap(), "rt", &varied_records(5, 1, "a"), "none");
    wait_for(&engine, "rt", "5", caught_up(5)).await;
    b.cut_network();
    produce(&a.bootstrap(), "rt", &varied_records(5, 1, "b"), "none");
    let st = wait_for(&engine, "rt", "FAILED", |s| s.state == MirrorState::Failed).await;
    let reason = st.reason.unwrap_or_default();
    assert!(
        reason.contains("retries exhausted after cluster.link.retry.timeout.ms=800"),
        "{reason}"
    );
    assert!(reason.contains("destination"), "{reason}");
}

/// `mirror.start.offset.spec=latest`: only records produced after the mirror was created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_at_latest_skips_existing_records() {
    let (a, b) = (
        TansuCluster::start("lt-a").unwrap(),
        TansuCluster::start("lt-b").unwrap(),
    );
    let (src, dst) = (client(&a.bootstrap()).await, client(&b.bootstrap()).await);
    create_topic(&src, "lt", 2, &[]).await;
    produce(&a.bootstrap(), "lt", &varied_records(40, 2, "old"), "none");
    let engine = Engine::start(settings("lt"), src, dst).await.unwrap();
    let mut s = spec("lt", "lt");
    s.start = StartSpec::Latest;
    engine.create_mirror(s, Desired::Active).await.unwrap();
    produce(&a.bootstrap(), "lt", &varied_records(10, 2, "new"), "none");
    wait_for(&engine, "lt", "the 10 new records", |s| {
        s.partitions
            .iter()
            .map(|p| p.next_source_offset)
            .sum::<i64>()
            == 50
    })
    .await;
    let mirrored = rdkafka::consume(&b.bootstrap(), "lt").unwrap();
    assert_eq!(mirrored.len(), 10);
    assert!(mirrored.iter().all(|m| m
        .key
        .as_deref()
        .is_some_and(|k| k.starts_with(&clusterlink_testkit::rdkafka::hex(b"new")))
        || m.key.is_none()));
    let s = engine.status("lt").unwrap();
    assert_eq!(
        s.offset_mode,
        OffsetMode::Translated,
        "destination offsets start at 0, the source's at 20"
    );
    engine.shutdown().await;
}

/// The engine's memory bound (`buffer_max_bytes`) throttles fetching, never progress: with a
/// one-byte buffer and one produce in flight per partition, a topic written in many batches is
/// still mirrored completely and in order (read back with librdkafka).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_buffer_still_mirrors_everything_in_order() {
    let (a, b) = (
        TansuCluster::start("buf-a").unwrap(),
        TansuCluster::start("buf-b").unwrap(),
    );
    let (src, dst) = (client(&a.bootstrap()).await, client(&b.bootstrap()).await);
    create_topic(&src, "small", 3, &[]).await;
    let mut all = Vec::new();
    for round in 0..6 {
        let records = varied_records(60, 3, &format!("r{round}"));
        produce(&a.bootstrap(), "small", &records, "none");
        all.extend(records);
    }
    let mut s = settings("buf");
    s.buffer_max_bytes = 1;
    s.max_in_flight = 1;
    let engine = Engine::start(s, src, dst).await.unwrap();
    engine
        .create_mirror(spec("small", "small"), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, "small", "360 records mirrored", caught_up(360)).await;
    let mirrored = rdkafka::consume(&b.bootstrap(), "small").unwrap();
    assert_eq!(by_partition(&mirrored), by_partition(&all));
}

/// A source topic that grows (shown by the test proxy's Metadata answers: no broker here can
/// add partitions) makes the engine add them on the destination with CreatePartitions; tansu
/// does not implement CreatePartitions, so the mirror reports exactly why it cannot follow and
/// keeps mirroring the partitions it has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_growth_that_the_destination_cannot_follow_is_reported() {
    let a = TansuCluster::start_behind_proxy("grow-a").unwrap();
    let b = TansuCluster::start("grow-b").unwrap();
    let (src, dst) = (client(&a.bootstrap()).await, client(&b.bootstrap()).await);
    create_topic(&src, "grows", 2, &[]).await;
    produce(
        &a.bootstrap(),
        "grows",
        &varied_records(40, 2, "g1"),
        "none",
    );
    let engine = Engine::start(settings("grow"), src, dst).await.unwrap();
    engine
        .create_mirror(spec("grows", "grows"), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, "grows", "40 records mirrored", caught_up(40)).await;
    a.grow_topic_in_metadata("grows", 3);
    let status = wait_for(&engine, "grows", "the growth reported", |s| {
        s.reason
            .as_deref()
            .is_some_and(|r| r.contains("grew to 3 partitions"))
    })
    .await;
    let reason = status.reason.clone().unwrap();
    assert!(
        reason.contains("the destination cannot follow") && reason.contains("CreatePartitions"),
        "{reason}"
    );
    assert_eq!(status.state, MirrorState::Active);
    assert_eq!(status.partitions.len(), 2);
    // The partitions it has keep moving.
    produce(
        &a.bootstrap(),
        "grows",
        &varied_records(20, 2, "g2"),
        "none",
    );
    wait_for(&engine, "grows", "60 records mirrored", |s| {
        s.partitions.iter().map(|p| p.destination_end).sum::<i64>() == 60
    })
    .await;
    let mirrored = rdkafka::consume(&b.bootstrap(), "grows").unwrap();
    assert_eq!(mirrored.len(), 60);
}

/// A paused mirror keeps the batches it had fetched (for when it resumes), and those do not
/// count against the link's buffer: with a one-byte buffer, another mirror of the link still
/// moves while the first is paused mid-copy, and the paused one resumes to a complete copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_mirror_does_not_hold_back_the_others() {
    let (a, b) = (
        TansuCluster::start("hold-a").unwrap(),
        TansuCluster::start("hold-b").unwrap(),
    );
    let (src, dst) = (client(&a.bootstrap()).await, client(&b.bootstrap()).await);
    create_topic(&src, "big", 1, &[]).await;
    create_topic(&src, "other", 1, &[]).await;
    for round in 0..20 {
        let records = varied_records(50, 1, &format!("r{round}"));
        produce(&a.bootstrap(), "big", &records, "none");
    }
    let mut s = settings("hold");
    s.buffer_max_bytes = 1;
    s.max_in_flight = 1;
    let engine = Engine::start(s, src, dst).await.unwrap();
    engine
        .create_mirror(spec("big", "big"), Desired::Active)
        .await
        .unwrap();
    // Paused as soon as it moved: it still lags, holding fetched batches.
    let start = Instant::now();
    loop {
        let s = engine.status("big").unwrap();
        if s.partitions.iter().map(|p| p.destination_end).sum::<i64>() > 0 {
            engine.set_desired("big", Desired::Paused).await.unwrap();
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{s:#?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    produce(&a.bootstrap(), "other", &varied_records(10, 1, "o"), "none");
    engine
        .create_mirror(spec("other", "other"), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, "other", "10 records mirrored", caught_up(10)).await;
    engine.set_desired("big", Desired::Active).await.unwrap();
    wait_for(&engine, "big", "1000 records mirrored", caught_up(1000)).await;
}

/// FAILOVER in the middle of a copy, with batches queued and in flight: once it returns,
/// nothing more lands on the destination, and the mirror's position is what the destination
/// holds (aligned: the next source offset is the destination's end), not what was fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_mid_copy_lands_nothing_after_it_returns() {
    let (a, b) = (
        TansuCluster::start("fom-a").unwrap(),
        TansuCluster::start("fom-b").unwrap(),
    );
    let (src, dst) = (client(&a.bootstrap()).await, client(&b.bootstrap()).await);
    create_topic(&src, "busy", 2, &[]).await;
    // Many small batches: a long queue per partition.
    let spec_many = ProduceSpec {
        topic: "busy".into(),
        config: [("batch.num.messages".to_string(), json!(5))].into(),
        records: Some(varied_records(1800, 2, "busy")),
        transactions: None,
    };
    assert_eq!(rdkafka::produce(&a.bootstrap(), &spec_many).unwrap(), 1800);
    let engine = Engine::start(settings("fom"), src, dst).await.unwrap();
    engine
        .create_mirror(spec("busy", "busy"), Desired::Active)
        .await
        .unwrap();
    let start = Instant::now();
    loop {
        let s = engine.status("busy").unwrap();
        if s.partitions.iter().map(|p| p.destination_end).sum::<i64>() > 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{s:#?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    engine.set_desired("busy", Desired::Failover).await.unwrap();
    let s = engine.status("busy").unwrap();
    assert_eq!(s.state, MirrorState::Stopped);
    let at_failover = rdkafka::consume(&b.bootstrap(), "busy").unwrap().len() as i64;
    let ends: i64 = s.partitions.iter().map(|p| p.destination_end).sum();
    assert_eq!(at_failover, ends, "{s:#?}");
    for p in &s.partitions {
        assert_eq!(p.next_source_offset, p.destination_end, "{p:#?}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        rdkafka::consume(&b.bootstrap(), "busy").unwrap().len() as i64,
        at_failover,
        "nothing lands after failover"
    );
    engine.shutdown().await;
}
