//! Copying partitions between two real clusters, checked record by record with librdkafka:
//! librdkafka produces on the source, our client moves raw batches, librdkafka consumes the
//! destination read_committed, and every record (partition, key, value, headers, timestamp)
//! must match what librdkafka reads from the source. Apache Kafka always (the run's shared
//! clusters, unique names); tansu, and the mock as a source, where they ran before.

mod support;

use clusterlink_kafka::Client;
use clusterlink_mirror::{
    copy_partition, CopyOptions, CopyStats, DestinationProducer, PartitionRoute,
};
use clusterlink_testkit::peer::{Broker, Peer, Side};
use clusterlink_testkit::peer_tests;
use clusterlink_testkit::rdkafka::{
    self, by_partition, in_transactions, varied_records, Msg, ProduceSpec,
};
use serde_json::json;
use support::{create_topic, name, Pair};

peer_tests! {
    every_codec_is_copied_record_by_record: [kafka, tansu];
    aborted_transactions_and_markers_are_not_copied: [kafka, tansu];
    copy_from_the_middle_of_a_batch: [kafka, mock];
}

/// The peer's source cluster and a destination (tansu for the mock, which cannot create topics).
async fn pair(peer: Peer) -> Pair {
    let a = peer.cluster(Side::A).unwrap();
    let b: Broker = match peer {
        Peer::Mock => Peer::Tansu.cluster(Side::B).unwrap(),
        _ => peer.cluster(Side::B).unwrap(),
    };
    Pair::new(peer, a, b).await
}

/// Creates `topic` on the destination with the source's partition count and copies every
/// partition, partition 0 from offset `from`, the others from 0.
async fn mirror(src: &Client, dst: &Client, topic: &str, from: i64) -> CopyStats {
    let partitions: Vec<i32> = src
        .topic_metadata(topic)
        .await
        .unwrap()
        .partitions
        .keys()
        .copied()
        .collect();
    create_topic(dst, topic, partitions.len() as i32, &[]).await;
    let mut producer = DestinationProducer::init(dst).await.unwrap();
    let mut total = CopyStats::default();
    for p in partitions {
        let route = PartitionRoute {
            source_topic: topic.into(),
            destination_topic: topic.into(),
            partition: p,
        };
        let start = if p == 0 { from } else { 0 };
        let s = copy_partition(
            src,
            dst,
            &route,
            start,
            &mut producer,
            &CopyOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(s.held_batches, 0, "partition {p}: {s:?}");
        total.records += s.records;
        total.batches += s.batches;
        total.skipped_batches += s.skipped_batches;
        total.reencoded_batches += s.reencoded_batches;
    }
    total
}

async fn every_codec_is_copied_record_by_record(peer: Peer) {
    let p = pair(peer).await;
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = name(&format!("codec-{codec}"));
        create_topic(&p.src, &topic, 3, &[("retention.ms", "86400000")]).await;
        let produced = varied_records(300, 3, codec);
        let spec = ProduceSpec {
            topic: topic.clone(),
            config: [
                ("compression.type".to_string(), json!(codec)),
                ("enable.idempotence".to_string(), json!(true)),
                ("linger.ms".to_string(), json!(20)),
            ]
            .into(),
            records: Some(produced.clone()),
            transactions: None,
        };
        assert_eq!(rdkafka::produce(&p.a.bootstrap(), &spec).unwrap(), 300);

        let stats = mirror(&p.src, &p.dst, &topic, 0).await;
        assert_eq!(stats.records, 300, "{codec}: {stats:?}");

        let source_view = rdkafka::consume(&p.a.bootstrap(), &topic).unwrap();
        let mirrored = rdkafka::consume(&p.b.bootstrap(), &topic).unwrap();
        assert_eq!(source_view.len(), 300, "{codec}");
        assert_eq!(
            by_partition(&mirrored),
            by_partition(&source_view),
            "{codec}"
        );
        // and what librdkafka read is what it was asked to produce
        assert_eq!(
            by_partition(&source_view),
            by_partition(&produced),
            "{codec}"
        );
        // Offsets too: a copy from the start of a gapless source is aligned.
        let mut offsets: Vec<_> = mirrored.iter().map(|m| (m.partition, m.offset)).collect();
        let mut want: Vec<_> = source_view
            .iter()
            .map(|m| (m.partition, m.offset))
            .collect();
        offsets.sort();
        want.sort();
        assert_eq!(offsets, want, "{codec}");
    }
}

/// Transactions with aborts: only committed records reach the destination, markers never do.
///
/// Kafka stores aborted data and markers and lists the aborted transactions in Fetch answers.
/// tansu and librdkafka's mock cluster store them too but send no aborted-transaction list (so
/// our resolver must decide from the markers, and librdkafka's own read_committed consumer
/// returns the aborted records there: the expected set is what the producer committed, not
/// what librdkafka reads back from them).
///
/// Not on librdkafka's mock cluster: it writes its transaction markers with a CRC-32C of 0,
/// which the reader refuses as a damaged batch (as it must: a corrupt marker could turn an
/// abort into a commit), so the copy stops at the first marker.
async fn aborted_transactions_and_markers_are_not_copied(peer: Peer) {
    let p = pair(peer).await;
    let all = varied_records(120, 2, "tx");
    let (transactions, committed) = in_transactions(&all, 20, |i| i % 3 == 1);
    assert_eq!(committed.len(), 80);
    for codec in ["lz4", "none"] {
        let topic = name(&format!("txn-{codec}"));
        if peer != Peer::Mock {
            create_topic(&p.src, &topic, 2, &[]).await;
        }
        let spec = ProduceSpec {
            topic: topic.clone(),
            config: [
                ("compression.type".to_string(), json!(codec)),
                ("transactional.id".to_string(), json!(name("tid"))),
            ]
            .into(),
            records: None,
            transactions: Some(transactions.clone()),
        };
        rdkafka::produce(&p.a.bootstrap(), &spec).unwrap();
        let stats = mirror(&p.src, &p.dst, &topic, 0).await;
        assert_eq!(stats.records, 80, "{topic}: {stats:?}");
        // one marker per transaction and partition at least
        assert!(stats.skipped_batches >= 6, "{topic}: {stats:?}");

        let mirrored = rdkafka::consume(&p.b.bootstrap(), &topic).unwrap();
        assert_eq!(by_partition(&mirrored), by_partition(&committed), "{topic}");
        // read_uncommitted on the destination: nothing aborted is there at all
        let raw = rdkafka::consume_with(&p.b.bootstrap(), &topic, "read_uncommitted").unwrap();
        assert_eq!(raw.len(), 80, "{topic}");
        if peer == Peer::Kafka {
            // Kafka keeps the aborted records on the source, and its read_committed view
            // leaves them out.
            let stored =
                rdkafka::consume_with(&p.a.bootstrap(), &topic, "read_uncommitted").unwrap();
            assert_eq!(stored.len(), 120, "{topic}");
            let source_view = rdkafka::consume(&p.a.bootstrap(), &topic).unwrap();
            assert_eq!(by_partition(&source_view), by_partition(&committed));
        }
    }
}

/// A copy that starts inside a batch writes only the records from that offset on.
async fn copy_from_the_middle_of_a_batch(peer: Peer) {
    let p = pair(peer).await;
    let topic = name("mid");
    if peer != Peer::Mock {
        create_topic(&p.src, &topic, 1, &[]).await;
    }
    let produced = varied_records(40, 1, "mid");
    let spec = ProduceSpec {
        topic: topic.clone(),
        config: [
            ("compression.type".to_string(), json!("zstd")),
            ("linger.ms".to_string(), json!(200)),
        ]
        .into(),
        records: Some(produced.clone()),
        transactions: None,
    };
    rdkafka::produce(&p.a.bootstrap(), &spec).unwrap();
    let stats = mirror(&p.src, &p.dst, &topic, 15).await;
    assert_eq!(stats.records, 25, "{stats:?}");
    assert!(stats.reencoded_batches >= 1, "{stats:?}");
    let source_view: Vec<Msg> = rdkafka::consume(&p.a.bootstrap(), &topic)
        .unwrap()
        .into_iter()
        .filter(|m| m.offset >= 15)
        .collect();
    assert_eq!(source_view.len(), 25);
    let mirrored = rdkafka::consume(&p.b.bootstrap(), &topic).unwrap();
    assert_eq!(by_partition(&mirrored), by_partition(&source_view));
    // The destination numbers them from 0.
    let offsets: Vec<i64> = mirrored.iter().map(|m| m.offset).collect();
    assert_eq!(offsets, (0..25).collect::<Vec<_>>());
}
