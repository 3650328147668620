//! Copying partitions between two real clusters, checked record by record with librdkafka:
//! librdkafka produces on the source, our client moves raw batches, librdkafka consumes the
//! destination read_committed, and every record (partition, key, value, headers, timestamp)
//! must match what librdkafka reads from the source.

use std::time::Duration;

use clusterlink_kafka::client::NewTopic;
use clusterlink_kafka::{Client, ClientConfig};
use clusterlink_mirror::{
    copy_partition, CopyOptions, CopyStats, DestinationProducer, PartitionRoute,
};
use clusterlink_testkit::rdkafka::{self, by_partition, varied_records, Msg, ProduceSpec, Txn};
use clusterlink_testkit::{MockCluster, TansuCluster};
use serde_json::json;

async fn client(bootstrap: &str) -> Client {
    let mut c = ClientConfig::new(bootstrap);
    c.retry.timeout = Duration::from_secs(20);
    Client::connect(c).await.unwrap()
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
    let new = NewTopic {
        name: topic.into(),
        partitions: partitions.len() as i32,
        replication_factor: -1,
        configs: vec![],
    };
    for (_, r) in dst
        .create_topics(&[new], false, Duration::from_secs(10))
        .await
        .unwrap()
    {
        r.unwrap();
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_is_copied_record_by_record() {
    let a = TansuCluster::start("source-a").unwrap();
    let b = TansuCluster::start("destination-b").unwrap();
    let (src, dst) = (client(&a.bootstrap()).await, client(&b.bootstrap()).await);
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("codec-{codec}");
        let create = NewTopic {
            name: topic.clone(),
            partitions: 3,
            replication_factor: -1,
            configs: vec![("retention.ms".into(), "86400000".into())],
        };
        src.create_topics(&[create], false, Duration::from_secs(10))
            .await
            .unwrap()[0]
            .1
            .as_ref()
            .unwrap();
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
        assert_eq!(rdkafka::produce(&a.bootstrap(), &spec).unwrap(), 300);

        let stats = mirror(&src, &dst, &topic, 0).await;
        assert_eq!(stats.records, 300, "{codec}: {stats:?}");

        let source_view = rdkafka::consume(&a.bootstrap(), &topic).unwrap();
        let mirrored = rdkafka::consume(&b.bootstrap(), &topic).unwrap();
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
    }
}

/// Transactions with aborts: only committed records reach the destination, markers never do.
///
/// Two real sources, because neither is complete: librdkafka's mock cluster stores aborted
/// data and markers but sends no aborted-transaction list in Fetch responses (so our resolver
/// must decide from the markers, and librdkafka's own read_committed consumer returns the
/// aborted records there: the expected set is what the producer committed, not what
/// librdkafka reads back from the mock); tansu does not store aborted records at all but keeps
/// the markers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_transactions_and_markers_are_not_copied() {
    let mock = MockCluster::start(1).unwrap();
    let tansu = TansuCluster::start("source-tx").unwrap();
    let b = TansuCluster::start("destination-tx").unwrap();
    let all = varied_records(120, 2, "tx");
    let transactions: Vec<Txn> = all
        .chunks(20)
        .enumerate()
        .map(|(i, chunk)| Txn {
            commit: i % 3 != 1,
            records: chunk.to_vec(),
        })
        .collect();
    let committed: Vec<Msg> = transactions
        .iter()
        .filter(|t| t.commit)
        .flat_map(|t| t.records.clone())
        .collect();
    assert_eq!(committed.len(), 80);
    let dst = client(&b.bootstrap()).await;
    for (source_name, bootstrap) in [
        ("mock", mock.bootstrap().to_owned()),
        ("tansu", tansu.bootstrap()),
    ] {
        for codec in ["lz4", "none"] {
            let topic = format!("txn-{source_name}-{codec}");
            let src = client(&bootstrap).await;
            if source_name == "tansu" {
                let t = NewTopic {
                    name: topic.clone(),
                    partitions: 2,
                    replication_factor: -1,
                    configs: vec![],
                };
                src.create_topics(&[t], false, Duration::from_secs(10))
                    .await
                    .unwrap()[0]
                    .1
                    .as_ref()
                    .unwrap();
            }
            let spec = ProduceSpec {
                topic: topic.clone(),
                config: [
                    ("compression.type".to_string(), json!(codec)),
                    (
                        "transactional.id".to_string(),
                        json!(format!("tid-{topic}")),
                    ),
                ]
                .into(),
                records: None,
                transactions: Some(transactions.clone()),
            };
            rdkafka::produce(&bootstrap, &spec).unwrap();
            let stats = mirror(&src, &dst, &topic, 0).await;
            assert_eq!(stats.records, 80, "{topic}: {stats:?}");
            // one marker per transaction and partition at least
            assert!(stats.skipped_batches >= 6, "{topic}: {stats:?}");

            let mirrored = rdkafka::consume(&b.bootstrap(), &topic).unwrap();
            assert_eq!(by_partition(&mirrored), by_partition(&committed), "{topic}");
            // read_uncommitted on the destination: nothing aborted is there at all
            let raw = rdkafka::consume_with(&b.bootstrap(), &topic, "read_uncommitted").unwrap();
            assert_eq!(raw.len(), 80, "{topic}");
        }
    }
}

/// A copy that starts inside a batch writes only the records from that offset on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_from_the_middle_of_a_batch() {
    let mock = MockCluster::start(1).unwrap();
    let b = TansuCluster::start("destination-mid").unwrap();
    let produced = varied_records(40, 1, "mid");
    let spec = ProduceSpec {
        topic: "mid".into(),
        config: [
            ("compression.type".to_string(), json!("zstd")),
            ("linger.ms".to_string(), json!(200)),
        ]
        .into(),
        records: Some(produced.clone()),
        transactions: None,
    };
    rdkafka::produce(mock.bootstrap(), &spec).unwrap();
    let (src, dst) = (client(mock.bootstrap()).await, client(&b.bootstrap()).await);
    let stats = mirror(&src, &dst, "mid", 15).await;
    assert_eq!(stats.records, 25, "{stats:?}");
    assert!(stats.reencoded_batches >= 1, "{stats:?}");
    let source_view: Vec<Msg> = rdkafka::consume(mock.bootstrap(), "mid")
        .unwrap()
        .into_iter()
        .filter(|m| m.offset >= 15)
        .collect();
    let mirrored = rdkafka::consume(&b.bootstrap(), "mid").unwrap();
    assert_eq!(by_partition(&mirrored), by_partition(&source_view));
}
