//! The mirroring engine's data path between real clusters, checked with librdkafka: what lands
//! on the destination (every codec, keys, headers, timestamps, several partitions), its
//! offsets (aligned, or translated with an exact map when the source has gaps: transaction
//! markers, aborted data, a start past the beginning), and the checks around it. Apache Kafka
//! always (the run's shared clusters, unique names); tansu where it ran before.

mod support;

use clusterlink_mirror::offset_map::OffsetMode;
use clusterlink_mirror::{Desired, MirrorError, MirrorState, StartSpec};
use clusterlink_testkit::peer::Peer;
use clusterlink_testkit::peer_tests;
use clusterlink_testkit::rdkafka::{
    self, by_partition, hex, in_transactions, varied_records, Msg, ProduceSpec,
};
use serde_json::json;
use support::*;

peer_tests! {
    mirror_topic_is_an_exact_aligned_copy: [kafka, tansu];
    creating_a_mirror_checks_both_sides: [kafka, tansu];
    foreign_write_to_the_mirror_fails_it: [kafka, tansu];
    transactional_source_is_translated_exactly: [kafka, tansu];
    start_at_latest_skips_existing_records: [kafka, tansu];
    a_tiny_buffer_still_mirrors_everything_in_order: [kafka, tansu];
}

const CODECS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];

/// Offsets, keys, values, headers and timestamps are identical on both sides, read with
/// librdkafka, whatever the codec; the mirror reports aligned offsets, lag zero, and keeps up
/// with new data; the destination topic has the source's partitions and configs.
async fn mirror_topic_is_an_exact_aligned_copy(peer: Peer) {
    let p = Pair::of(peer).await;
    let topic = name("orders");
    create_topic(&p.src, &topic, 3, &[("retention.ms", "86400000")]).await;
    for codec in CODECS {
        produce(
            &p.a.bootstrap(),
            &topic,
            &varied_records(120, 3, &format!("first-{codec}")),
            codec,
        );
    }

    let engine = p.engine(&name("exact")).await;
    let mut s = spec(&topic, &topic);
    s.configs = vec![("max.message.bytes".into(), "2000000".into())];
    engine.create_mirror(s, Desired::Active).await.unwrap();
    let status = wait_for(&engine, &topic, "600 records mirrored", caught_up(600)).await;
    assert_eq!(status.offset_mode, OffsetMode::Aligned);
    assert!(
        status.partitions.iter().all(|p| p.lag_seconds == 0.0),
        "{status:#?}"
    );

    // data keeps flowing, in every codec
    for codec in CODECS {
        produce(
            &p.a.bootstrap(),
            &topic,
            &varied_records(60, 3, &format!("second-{codec}")),
            codec,
        );
    }
    let status = wait_for(&engine, &topic, "900 records mirrored", caught_up(900)).await;
    assert_eq!(status.offset_mode, OffsetMode::Aligned);

    let source_view = rdkafka::consume(&p.a.bootstrap(), &topic).unwrap();
    let mirrored = rdkafka::consume(&p.b.bootstrap(), &topic).unwrap();
    assert_eq!(mirrored.len(), 900);
    let key = |m: &Msg| {
        (
            m.partition,
            m.offset,
            m.key.clone(),
            m.value.clone(),
            m.headers.clone(),
            m.timestamp,
            m.timestamp_type,
        )
    };
    let mut want: Vec<_> = source_view.iter().map(key).collect();
    let mut got: Vec<_> = mirrored.iter().map(key).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "aligned: same offsets and contents");
    for m in &source_view {
        assert_eq!(
            engine.translate(&topic, m.partition, m.offset),
            Some(m.offset)
        );
    }

    // the destination topic: the source's partitions and configs, with the override on top,
    // as librdkafka's admin client describes them
    assert_eq!(
        rdkafka::topics(&p.b.bootstrap()).unwrap().get(&topic),
        Some(&3)
    );
    let configs = rdkafka::topic_configs(&p.b.bootstrap(), &topic).unwrap();
    assert_eq!(
        configs.get("retention.ms").map(String::as_str),
        Some("86400000")
    );
    assert_eq!(
        configs.get("max.message.bytes").map(String::as_str),
        Some("2000000")
    );
    engine.shutdown().await;
}

async fn creating_a_mirror_checks_both_sides(peer: Peer) {
    let p = Pair::of(peer).await;
    let (s, taken, missing) = (name("s"), name("taken"), name("missing"));
    create_topic(&p.src, &s, 1, &[]).await;
    create_topic(&p.src, &taken, 1, &[]).await;
    create_topic(&p.dst, &taken, 1, &[]).await;
    let engine = p.engine(&name("checks")).await;

    let e = engine
        .create_mirror(spec(&missing, &missing), Desired::Active)
        .await
        .unwrap_err();
    assert!(matches!(e, MirrorError::SourceTopicMissing(_)), "{e}");
    assert!(e.to_string().contains(&missing), "{e}");

    let e = engine
        .create_mirror(spec(&taken, &s), Desired::Active)
        .await
        .unwrap_err();
    assert!(matches!(e, MirrorError::DestinationExists(_)), "{e}");
    assert!(
        e.to_string()
            .contains("cannot be turned into a mirror topic"),
        "{e}"
    );

    engine
        .create_mirror(spec(&s, &s), Desired::Active)
        .await
        .unwrap();
    let e = engine
        .create_mirror(spec(&s, &s), Desired::Active)
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

/// A write to the mirror topic by anyone else is detected and fails the mirror, clearly.
async fn foreign_write_to_the_mirror_fails_it(peer: Peer) {
    let p = Pair::of(peer).await;
    let ro = name("ro");
    create_topic(&p.src, &ro, 1, &[]).await;
    produce(&p.a.bootstrap(), &ro, &varied_records(5, 1, "a"), "none");
    let engine = p.engine(&name("fw")).await;
    engine
        .create_mirror(spec(&ro, &ro), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, &ro, "5", caught_up(5)).await;
    produce(
        &p.b.bootstrap(),
        &ro,
        &varied_records(1, 1, "intruder"),
        "none",
    );
    produce(&p.a.bootstrap(), &ro, &varied_records(5, 1, "b"), "none");
    let s = wait_for(&engine, &ro, "FAILED", |s| s.state == MirrorState::Failed).await;
    assert!(
        s.reason
            .as_deref()
            .unwrap_or("")
            .contains("written by another producer"),
        "{s:#?}"
    );
    engine.shutdown().await;
}

/// Transaction markers and aborted data leave gaps in the source's offsets: the mirror is
/// translated, copies exactly the committed records in order, and its offset map sends every
/// committed source offset to where librdkafka finds the same record on the destination.
///
/// Kafka stores aborted records and markers, and its read_committed consumers skip them (the
/// aborted-transaction list in Fetch answers). tansu stores both too but sends no
/// aborted-transaction list: librdkafka's read_committed consumer returns the aborted records
/// there (its bug), so the committed records are picked from its view by content (the engine
/// resolves transactions from the markers). Not on librdkafka's mock cluster: its transaction
/// markers carry a CRC-32C of 0, which the engine refuses as damaged data (a corrupt marker
/// could turn an abort into a commit).
async fn transactional_source_is_translated_exactly(peer: Peer) {
    let p = Pair::of(peer).await;
    let topic = name("txt");
    let partitions = 3;
    create_topic(&p.src, &topic, partitions, &[]).await;
    let all = varied_records(90, partitions, "tx");
    let (transactions, committed) = in_transactions(&all, 15, |i| i % 3 == 1);
    assert_eq!(committed.len(), 60);
    let spec_tx = ProduceSpec {
        topic: topic.clone(),
        config: [
            ("transactional.id".to_string(), json!(name("tx-engine"))),
            ("compression.type".to_string(), json!("lz4")),
        ]
        .into(),
        records: None,
        transactions: Some(transactions),
    };
    rdkafka::produce(&p.a.bootstrap(), &spec_tx).unwrap();
    let engine = p.engine(&name("tx")).await;
    engine
        .create_mirror(spec(&topic, &topic), Desired::Active)
        .await
        .unwrap();
    let s = wait_for(&engine, &topic, "60 committed records", |s| {
        destination_total(s) == 60 && s.partitions.iter().all(|p| p.lag_records == 0)
    })
    .await;
    assert_eq!(s.offset_mode, OffsetMode::Translated);

    let source_view = rdkafka::consume(&p.a.bootstrap(), &topic).unwrap();
    let mirrored = rdkafka::consume(&p.b.bootstrap(), &topic).unwrap();
    assert_eq!(mirrored.len(), 60);
    assert_eq!(
        by_partition(&mirrored),
        by_partition(&committed),
        "the committed records, in order per partition"
    );
    // Nothing aborted is on the destination, even for a read_uncommitted consumer.
    let raw = rdkafka::consume_with(&p.b.bootstrap(), &topic, "read_uncommitted").unwrap();
    assert_eq!(raw.len(), 60);
    let mut pairs = Vec::new();
    match peer {
        Peer::Tansu => {
            // tansu bug: its read_committed view holds the aborted records too (no
            // aborted-transaction list; Kafka sends one): match by content (timestamps are
            // unique per record).
            assert_eq!(source_view.len(), 90, "the aborted records are returned");
            for m in &mirrored {
                let src = source_view
                    .iter()
                    .find(|s| {
                        s.partition == m.partition
                            && s.timestamp == m.timestamp
                            && s.key == m.key
                            && s.value == m.value
                    })
                    .expect("on the source");
                pairs.push((src.clone(), m.clone()));
            }
        }
        Peer::Kafka => {
            // The source's read_committed view is exactly the committed records: the n-th
            // of a partition there is the n-th on the destination.
            assert_eq!(by_partition(&source_view), by_partition(&mirrored));
            for part in 0..partitions {
                let mut s: Vec<&Msg> = source_view.iter().filter(|m| m.partition == part).collect();
                let mut d: Vec<&Msg> = mirrored.iter().filter(|m| m.partition == part).collect();
                s.sort_by_key(|m| m.offset);
                d.sort_by_key(|m| m.offset);
                pairs.extend(s.into_iter().cloned().zip(d.into_iter().cloned()));
            }
            // Kafka keeps the aborted records (and the markers) in the source log.
            let stored =
                rdkafka::consume_with(&p.a.bootstrap(), &topic, "read_uncommitted").unwrap();
            assert_eq!(stored.len(), 90, "aborted records are stored");
        }
        Peer::Mock => unreachable!("not run on the mock (see above)"),
    }
    assert_eq!(pairs.len(), 60);
    for (src, dst) in &pairs {
        assert_eq!(
            engine.translate(&topic, src.partition, src.offset),
            Some(dst.offset),
            "{src:?} -> {dst:?}"
        );
    }
    let aborted_value = all[20].value.clone();
    assert!(
        !mirrored.iter().any(|m| m.value == aborted_value),
        "aborted data stays out"
    );
    engine.shutdown().await;
}

/// `mirror.start.offset.spec=latest`: only records produced after the mirror was created.
async fn start_at_latest_skips_existing_records(peer: Peer) {
    let p = Pair::of(peer).await;
    let lt = name("lt");
    create_topic(&p.src, &lt, 2, &[]).await;
    produce(&p.a.bootstrap(), &lt, &varied_records(40, 2, "old"), "none");
    let engine = p.engine(&name("lt")).await;
    let mut s = spec(&lt, &lt);
    s.start = StartSpec::Latest;
    engine.create_mirror(s, Desired::Active).await.unwrap();
    let new = varied_records(10, 2, "new");
    produce(&p.a.bootstrap(), &lt, &new, "none");
    wait_for(&engine, &lt, "the 10 new records", |s| {
        s.partitions
            .iter()
            .map(|p| p.next_source_offset)
            .sum::<i64>()
            == 50
    })
    .await;
    let mirrored = rdkafka::consume(&p.b.bootstrap(), &lt).unwrap();
    assert_eq!(mirrored.len(), 10);
    assert_eq!(by_partition(&mirrored), by_partition(&new));
    assert!(mirrored
        .iter()
        .all(|m| m.key.as_deref().is_none_or(|k| k.starts_with(&hex(b"new")))));
    let s = engine.status(&lt).unwrap();
    assert_eq!(
        s.offset_mode,
        OffsetMode::Translated,
        "destination offsets start at 0, the source's at 20"
    );
    for m in &mirrored {
        assert_eq!(
            engine.translate(&lt, m.partition, m.offset + 20),
            Some(m.offset)
        );
    }
    engine.shutdown().await;
}

/// The engine's memory bound (`buffer_max_bytes`) throttles fetching, never progress: with a
/// one-byte buffer and one produce in flight per partition, a topic written in many batches is
/// still mirrored completely and in order (read back with librdkafka).
async fn a_tiny_buffer_still_mirrors_everything_in_order(peer: Peer) {
    let p = Pair::of(peer).await;
    let small = name("small");
    create_topic(&p.src, &small, 3, &[]).await;
    let mut all = Vec::new();
    for round in 0..6 {
        let records = varied_records(60, 3, &format!("r{round}"));
        produce(&p.a.bootstrap(), &small, &records, "none");
        all.extend(records);
    }
    let mut s = settings(&name("buf"));
    s.buffer_max_bytes = 1;
    s.max_in_flight = 1;
    let engine = p.engine_with(s).await;
    engine
        .create_mirror(spec(&small, &small), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, &small, "360 records mirrored", caught_up(360)).await;
    let mirrored = rdkafka::consume(&p.b.bootstrap(), &small).unwrap();
    assert_eq!(by_partition(&mirrored), by_partition(&all));
    engine.shutdown().await;
}
