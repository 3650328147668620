//! Kafka's producer rules, as the mirroring engine meets them on Apache Kafka's destination
//! brokers (checked with librdkafka and Kafka's own tools): a Produce answer lost on its way
//! back and the batch sent again is recognised by the broker (its producer id and sequence)
//! and not appended twice; a mirror deleted and created again under the same name mirrors from
//! scratch; a mirror paused longer than the broker keeps its producer's state
//! (`producer.id.expiration.ms`) resumes with nothing lost and nothing twice.

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clusterlink_kafka::messages::ApiKey;
use clusterlink_mirror::offset_map::OffsetMode;
use clusterlink_mirror::{Desired, MirrorState};
use clusterlink_testkit::kafka::{tools, KafkaCluster};
use clusterlink_testkit::peer::{Broker, Peer, Side};
use clusterlink_testkit::peer_tests;
use clusterlink_testkit::proxy::Loss;
use clusterlink_testkit::rdkafka::{self, by_partition, varied_records, Msg, ProduceSpec};
use serde_json::json;
use support::*;

peer_tests! {
    // Not on tansu: it answers the retried batch DUPLICATE_SEQUENCE_NUMBER (not retriable),
    // which fails the mirror; Kafka answers success with the first append's offset
    // (docs/test-brokers.md; `crates/kafka/tests/lost_answers.rs` shows both).
    a_lost_produce_answer_is_deduplicated_by_the_broker: [kafka];
    a_mirror_deleted_and_created_again_mirrors_from_scratch: [kafka, tansu];
    a_mirror_paused_past_producer_id_expiration_resumes_exactly: [kafka];
}

/// librdkafka's view of `topic` on both sides is the same, offsets included (aligned).
fn assert_exact_copy(p: &Pair, topic: &str, total: usize) {
    let source_view = rdkafka::consume(&p.a.bootstrap(), topic).unwrap();
    let mirrored = rdkafka::consume(&p.b.bootstrap(), topic).unwrap();
    assert_eq!(mirrored.len(), total, "every record once");
    assert_eq!(by_partition(&mirrored), by_partition(&source_view));
    let offsets = |ms: &[Msg]| {
        let mut o: Vec<_> = ms.iter().map(|m| (m.partition, m.offset)).collect();
        o.sort();
        o
    };
    assert_eq!(offsets(&mirrored), offsets(&source_view), "aligned");
}

/// Produces `records` in many small batches (five records each), so that the engine has many
/// batches per partition to pipeline.
fn produce_small_batches(bootstrap: &str, topic: &str, records: &[Msg]) {
    let spec = ProduceSpec {
        topic: topic.into(),
        config: [
            ("batch.num.messages".to_string(), json!(5)),
            ("enable.idempotence".to_string(), json!(true)),
        ]
        .into(),
        records: Some(records.to_vec()),
        transactions: None,
    };
    assert_eq!(rdkafka::produce(bootstrap, &spec).unwrap(), records.len());
}

/// The proxy in front of the destination loses the answer to a Produce of mirrored data, once
/// with the connection (the batch and those pipelined behind it fail with it) and once
/// silently (the engine's client gives up after its request timeout): the engine sends the
/// same stamped batches again, the broker recognises them and answers with where they already
/// are, and librdkafka reads every record once, at the source's offsets.
async fn a_lost_produce_answer_is_deduplicated_by_the_broker(peer: Peer) {
    let a = peer.cluster(Side::A).unwrap();
    let b = peer.private_behind_proxy("lost-b").unwrap();
    let p = Pair::new(peer, a, b).await;
    let topic = name("lost");
    create_topic(&p.src, &topic, 3, &[]).await;
    produce_small_batches(&p.a.bootstrap(), &topic, &varied_records(300, 3, "one"));
    let proxy = p.b.proxy();
    proxy.lose_response_for(ApiKey::Produce as i16, &topic, Loss::Cut);
    let engine = p.engine(&name("lost")).await;
    engine
        .create_mirror(spec(&topic, &topic), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, &topic, "300 records", caught_up(300)).await;
    assert_eq!(proxy.lost_responses(), 1, "an answer was lost");

    proxy.lose_response_for(ApiKey::Produce as i16, &topic, Loss::Silent);
    produce_small_batches(&p.a.bootstrap(), &topic, &varied_records(300, 3, "two"));
    let s = wait_for(&engine, &topic, "600 records", caught_up(600)).await;
    assert_eq!(proxy.lost_responses(), 2, "a second answer was lost");
    assert_eq!(s.offset_mode, OffsetMode::Aligned);
    assert!(s.reason.is_none(), "{s:#?}");
    assert_exact_copy(&p, &topic, 600);
    engine.shutdown().await;
}

/// A mirror deleted (its destination topic with it) and created again under the same name
/// starts from scratch: a new destination topic, the source copied from its beginning, exactly.
/// The engine's producer goes on with its sequences for that name: Kafka accepts any first
/// sequence from a producer on a partition new to it (tansu keeps a producer's state across a
/// topic's deletion, which is why the sequences go on).
async fn a_mirror_deleted_and_created_again_mirrors_from_scratch(peer: Peer) {
    let p = Pair::of(peer).await;
    let topic = name("again");
    create_topic(&p.src, &topic, 2, &[]).await;
    produce(
        &p.a.bootstrap(),
        &topic,
        &varied_records(100, 2, "one"),
        "lz4",
    );
    let engine = p.engine(&name("again")).await;
    engine
        .create_mirror(spec(&topic, &topic), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, &topic, "100", caught_up(100)).await;
    engine.delete_mirror(&topic).await.unwrap();
    assert!(engine.status(&topic).is_none());
    wait_until_gone(&p.b.bootstrap(), &topic);

    produce(
        &p.a.bootstrap(),
        &topic,
        &varied_records(50, 2, "two"),
        "lz4",
    );
    engine
        .create_mirror(spec(&topic, &topic), Desired::Active)
        .await
        .unwrap();
    let s = wait_for(&engine, &topic, "150 from scratch", caught_up(150)).await;
    assert_eq!(s.offset_mode, OffsetMode::Aligned);
    produce(
        &p.a.bootstrap(),
        &topic,
        &varied_records(30, 2, "three"),
        "lz4",
    );
    wait_for(&engine, &topic, "180", caught_up(180)).await;
    assert_exact_copy(&p, &topic, 180);
    engine.shutdown().await;
}

/// Records stamped now (the broker keeps a producer's state for `producer.id.expiration.ms`
/// after the timestamp of its last batch: records years old would expire it at once).
fn fresh_records(n: usize, partitions: i32, tag: &str) -> Vec<Msg> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    varied_records(n, partitions, tag)
        .into_iter()
        .enumerate()
        .map(|(i, m)| Msg {
            timestamp: now + i as i64,
            ..m
        })
        .collect()
}

/// A mirror paused until the destination broker has forgotten its producer
/// (`producer.id.expiration.ms`, seen with Kafka's `describe-producers`) resumes with the same
/// producer id and the next sequences, which Kafka accepts from a producer it no longer
/// knows: nothing lost, nothing twice, offsets aligned.
async fn a_mirror_paused_past_producer_id_expiration_resumes_exactly(peer: Peer) {
    let a = peer.cluster(Side::A).unwrap();
    let b = Broker::Kafka(
        KafkaCluster::builder()
            .prop("producer.id.expiration.ms", 5000)
            .prop("producer.id.expiration.check.interval.ms", 1000)
            .start()
            .unwrap(),
    );
    let p = Pair::new(peer, a, b).await;
    let topic = name("expire");
    create_topic(&p.src, &topic, 2, &[]).await;
    produce(
        &p.a.bootstrap(),
        &topic,
        &fresh_records(100, 2, "one"),
        "none",
    );
    let engine = p.engine(&name("expire")).await;
    engine
        .create_mirror(spec(&topic, &topic), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, &topic, "100", caught_up(100)).await;
    let before = tools::producers(&p.b.bootstrap(), &topic, 0).unwrap();
    assert_eq!(before.len(), 1, "the engine's producer: {before:?}");
    assert_eq!(before[0].last_sequence, 49);

    engine.set_desired(&topic, Desired::Paused).await.unwrap();
    let start = Instant::now();
    loop {
        let now = tools::producers(&p.b.bootstrap(), &topic, 0).unwrap();
        if now.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the producer's state did not expire: {now:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    produce(
        &p.a.bootstrap(),
        &topic,
        &fresh_records(100, 2, "two"),
        "none",
    );
    engine.set_desired(&topic, Desired::Active).await.unwrap();
    let s = wait_for(&engine, &topic, "200", caught_up(200)).await;
    assert_eq!(s.state, MirrorState::Active);
    assert!(s.reason.is_none(), "{s:#?}");
    assert_eq!(s.offset_mode, OffsetMode::Aligned);
    let after = tools::producers(&p.b.bootstrap(), &topic, 0).unwrap();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(
        after[0].producer_id, before[0].producer_id,
        "the same producer"
    );
    assert_eq!(after[0].last_sequence, 99, "its sequences went on");
    assert_exact_copy(&p, &topic, 200);
    engine.shutdown().await;
}
