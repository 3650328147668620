//! The wire client against real brokers: tansu (started per test) and librdkafka's mock cluster.
//! What our client writes is read back with librdkafka, never with our own client.

use std::time::Duration;

use bytes::Bytes;
use clusterlink_kafka::client::{
    AlterConfigOp, ConfigResource, FetchPartition, FetchRequest, Isolation, NewTopic, OffsetSpec,
    ProducePartition,
};
use clusterlink_kafka::records::{
    encode_batch, split_batches, BatchSpec, Compression, Header, Record,
};
use clusterlink_kafka::{Client, ClientConfig, Error, ResponseError};
use clusterlink_testkit::rdkafka::{self, hex};
use clusterlink_testkit::{MockCluster, TansuCluster};

const T: Duration = Duration::from_secs(10);

fn config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new(bootstrap);
    c.retry.timeout = Duration::from_secs(20);
    c.connection.request_timeout = Duration::from_secs(10);
    c
}

async fn create(client: &Client, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let topic = NewTopic {
        name: name.into(),
        partitions,
        replication_factor: -1,
        configs: configs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let res = client.create_topics(&[topic], false, T).await.unwrap();
    assert_eq!(res.len(), 1);
    res[0].1.as_ref().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_id_metadata_and_topic_admin() {
    let broker = TansuCluster::start("admin-cluster").unwrap();
    let client = Client::connect(config(&broker.bootstrap())).await.unwrap();

    let info = client.describe_cluster().await.unwrap();
    assert_eq!(info.cluster_id, "admin-cluster");
    assert_eq!(info.brokers.values().next().unwrap(), &broker.bootstrap());

    create(
        &client,
        "orders",
        3,
        &[("cleanup.policy", "delete"), ("retention.ms", "3600000")],
    )
    .await;
    let t = client.topic_metadata("orders").await.unwrap();
    assert_eq!(
        t.partitions.keys().copied().collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert!(t.partitions.values().all(|p| p.leader >= 0));
    // librdkafka sees the same topic
    assert_eq!(
        rdkafka::topics(&broker.bootstrap()).unwrap().get("orders"),
        Some(&3)
    );

    // creating it again is a typed, non-retriable TOPIC_ALREADY_EXISTS
    let again = NewTopic {
        name: "orders".into(),
        partitions: 1,
        replication_factor: -1,
        configs: vec![],
    };
    let res = client.create_topics(&[again], false, T).await.unwrap();
    let err = res[0].1.as_ref().unwrap_err();
    assert!(err.is(ResponseError::TopicAlreadyExists), "{err}");
    assert!(err.to_string().contains("TOPIC_ALREADY_EXISTS"), "{err}");
    assert!(!err.is_retriable());

    // configs: what was set is described; an alter is visible afterwards
    let configs = client
        .describe_configs(ConfigResource::Topic, "orders", None)
        .await
        .unwrap();
    let get = |cs: &[clusterlink_kafka::client::ConfigEntry], k: &str| {
        cs.iter()
            .find(|c| c.name == k)
            .and_then(|c| c.value.clone())
    };
    assert_eq!(get(&configs, "retention.ms").as_deref(), Some("3600000"));
    client
        .incremental_alter_configs(
            ConfigResource::Topic,
            "orders",
            &[AlterConfigOp::Set("retention.ms".into(), "7200000".into())],
            false,
        )
        .await
        .unwrap();
    let configs = client
        .describe_configs(ConfigResource::Topic, "orders", None)
        .await
        .unwrap();
    assert_eq!(get(&configs, "retention.ms").as_deref(), Some("7200000"));

    // an unknown topic is UNKNOWN_TOPIC_OR_PARTITION, after the retries run out
    let mut quick = config(&broker.bootstrap());
    quick.retry.timeout = Duration::from_millis(300);
    let quick = Client::connect(quick).await.unwrap();
    let err = quick.topic_metadata("no-such-topic").await.unwrap_err();
    assert!(err.is(ResponseError::UnknownTopicOrPartition), "{err}");

    let res = client.delete_topics(&["orders".into()], T).await.unwrap();
    res[0].1.as_ref().unwrap();
    assert!(!rdkafka::topics(&broker.bootstrap())
        .unwrap()
        .contains_key("orders"));
}

fn records(partition: i32, n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| Record {
            offset: i as i64,
            timestamp: 1_700_000_000_000 + (partition as i64) * 1000 + i as i64,
            key: Some(Bytes::from(format!("key-{partition}-{i}"))),
            value: (i % 7 != 3)
                .then(|| Bytes::from(format!("value {i} of partition {partition}").repeat(3))),
            headers: vec![
                Header {
                    key: Bytes::from_static(b"h"),
                    value: Some(Bytes::from(vec![i as u8])),
                },
                Header {
                    key: Bytes::from_static(b"h"),
                    value: None,
                },
            ],
        })
        .collect()
}

/// Our raw produce, of every codec, is read back by librdkafka record by record; our fetch
/// returns exactly the batches librdkafka's consumer then sees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_produce_of_every_codec_reads_back_with_librdkafka() {
    let broker = TansuCluster::start("codec-cluster").unwrap();
    let client = Client::connect(config(&broker.bootstrap())).await.unwrap();
    let (pid, epoch) = client.init_producer_id().await.unwrap();
    assert!(pid >= 0);
    for codec in Compression::ALL {
        let topic = format!("raw-{codec:?}").to_lowercase();
        create(&client, &topic, 2, &[]).await;
        let mut expected = Vec::new();
        let (mut firsts, mut seconds) = (Vec::new(), Vec::new());
        for p in 0..2 {
            let recs = records(p, 20);
            let spec = BatchSpec {
                producer_id: pid,
                producer_epoch: epoch,
                base_sequence: 0,
                ..BatchSpec::plain(codec)
            };
            let (a, b) = recs.split_at(12);
            let first = encode_batch(&spec, a).unwrap();
            let second = encode_batch(
                &BatchSpec {
                    base_sequence: 12,
                    ..spec.clone()
                },
                b,
            )
            .unwrap();
            // one batch per partition per request, as Kafka requires: the second batch goes
            // in a second request, after the first
            firsts.push(ProducePartition {
                topic: topic.clone(),
                partition: p,
                records: first.into_bytes(),
            });
            seconds.push(ProducePartition {
                topic: topic.clone(),
                partition: p,
                records: second.into_bytes(),
            });
            expected.extend(recs.iter().map(|r| (p, r.clone())));
        }
        for parts in [firsts, seconds] {
            for r in client.produce(parts, T).await {
                r.result
                    .unwrap_or_else(|e| panic!("{codec:?} {}-{}: {e}", r.topic, r.partition));
            }
        }

        let got = rdkafka::consume(&broker.bootstrap(), &topic).unwrap();
        assert_eq!(got.len(), expected.len(), "{codec:?}");
        let mut got_content: Vec<_> = got
            .iter()
            .map(|m| {
                (
                    m.partition,
                    m.key.clone(),
                    m.value.clone(),
                    m.headers.clone(),
                    m.timestamp,
                )
            })
            .collect();
        let mut want: Vec<_> = expected
            .iter()
            .map(|(p, r)| {
                (
                    *p,
                    r.key.as_deref().map(hex),
                    r.value.as_deref().map(hex),
                    r.headers
                        .iter()
                        .map(|h| {
                            (
                                String::from_utf8(h.key.to_vec()).unwrap(),
                                h.value.as_deref().map(hex),
                            )
                        })
                        .collect::<Vec<_>>(),
                    r.timestamp,
                )
            })
            .collect();
        got_content.sort();
        want.sort();
        assert_eq!(got_content, want, "{codec:?}");

        // and our fetch returns the same records, batch for batch, with the codec kept
        let fetched = client
            .fetch(&FetchRequest {
                partitions: (0..2)
                    .map(|p| FetchPartition {
                        topic: topic.clone(),
                        partition: p,
                        offset: 0,
                        max_bytes: 1 << 20,
                    })
                    .collect(),
                max_wait: Duration::from_millis(100),
                min_bytes: 1,
                max_bytes: 4 << 20,
                isolation: Isolation::ReadCommitted,
            })
            .await;
        assert_eq!(fetched.len(), 2);
        for f in fetched {
            let data = f.result.unwrap();
            let batches = split_batches(data.records).unwrap();
            assert!(!batches.is_empty());
            let mut n = 0;
            for b in &batches {
                b.verify_crc().unwrap();
                assert_eq!(b.header().compression(), codec);
                n += b.records().unwrap().len();
            }
            assert_eq!(n, 20, "{codec:?} partition {}", f.partition);
            assert!(data.high_watermark >= 20);
        }
    }
}

/// ListOffsets earliest works on tansu; latest is taken from fetch (tansu's ListOffsets latest
/// is wrong when the newest batch holds several records: see test-brokers.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_and_high_watermark() {
    let broker = TansuCluster::start("offsets-cluster").unwrap();
    let client = Client::connect(config(&broker.bootstrap())).await.unwrap();
    create(&client, "o", 1, &[]).await;
    let spec = rdkafka::ProduceSpec {
        topic: "o".into(),
        records: Some(
            (0..5)
                .map(|i| rdkafka::Msg {
                    partition: 0,
                    offset: -1,
                    key: None,
                    value: Some(hex(&[i])),
                    headers: vec![],
                    timestamp: 1000 + i as i64,
                    timestamp_type: 0,
                })
                .collect(),
        ),
        ..Default::default()
    };
    assert_eq!(rdkafka::produce(&broker.bootstrap(), &spec).unwrap(), 5);
    let earliest = client
        .list_offsets("o", &[0], OffsetSpec::Earliest, Isolation::ReadCommitted)
        .await
        .unwrap();
    assert_eq!(earliest[&0].offset, 0);
    let f = client
        .fetch_partition(
            "o",
            0,
            0,
            Isolation::ReadCommitted,
            Duration::from_millis(100),
            1 << 20,
        )
        .await
        .unwrap();
    assert_eq!(f.high_watermark, 5);
}

/// Broker killed mid-request: the caller gets a typed, retriable connection error; once the
/// broker is back, the same client works again without being rebuilt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_killed_mid_request_then_client_recovers() {
    let mut broker = TansuCluster::start("crash-cluster").unwrap();
    let client = Client::connect(config(&broker.bootstrap())).await.unwrap();
    create(&client, "lp", 1, &[]).await;

    // a long-polling fetch is in flight when the broker dies
    let c2 = client.clone();
    let pending = tokio::spawn(async move {
        c2.fetch(&FetchRequest {
            partitions: vec![FetchPartition {
                topic: "lp".into(),
                partition: 0,
                offset: 0,
                max_bytes: 1 << 20,
            }],
            max_wait: Duration::from_secs(8),
            min_bytes: 1,
            max_bytes: 1 << 20,
            isolation: Isolation::ReadCommitted,
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    broker.kill();
    let res = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("fetch hung")
        .unwrap();
    let err = res[0].result.as_ref().unwrap_err();
    assert!(matches!(err, Error::Connection { .. }), "{err:?}");
    assert!(err.is_retriable());
    assert_eq!(err.category(), "connection");

    // while it is down, a call with retries gives up with the last error
    let mut quick = config(&broker.bootstrap());
    quick.retry.timeout = Duration::from_millis(500);
    assert!(Client::connect(quick).await.is_err());

    broker.restart().unwrap();
    // memory storage: the topic is gone; the same client creates it again and produces
    create(&client, "lp", 1, &[]).await;
    let batch = encode_batch(&BatchSpec::plain(Compression::None), &records(0, 3)).unwrap();
    client
        .produce_partition("lp", 0, &[batch], T)
        .await
        .unwrap();
    let got = rdkafka::consume(&broker.bootstrap(), "lp").unwrap();
    assert_eq!(got.len(), 3);
}

/// An API the broker does not offer is a typed Unsupported error naming the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_missing_from_broker_is_typed_unsupported() {
    // librdkafka's mock cluster has no CreateTopics (test-brokers.md)
    let mock = MockCluster::start(1).unwrap();
    let client = Client::connect(config(mock.bootstrap())).await.unwrap();
    let topic = NewTopic {
        name: "x".into(),
        partitions: 1,
        replication_factor: -1,
        configs: vec![],
    };
    let err = client.create_topics(&[topic], false, T).await.unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("CreateTopics"), "{err}");
    assert_eq!(err.category(), "unsupported");
}

/// Many requests pipelined on one connection all get their own answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_a_connection() {
    let broker = TansuCluster::start("pipeline-cluster").unwrap();
    let client = Client::connect(config(&broker.bootstrap())).await.unwrap();
    let names: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
    let creates = names.iter().map(|n| {
        let c = client.clone();
        let n = n.clone();
        async move { create(&c, &n, 1 + (n.len() as i32 % 3), &[]).await }
    });
    futures::future::join_all(creates).await;
    let metas = futures::future::join_all(names.iter().map(|n| client.topic_metadata(n))).await;
    for (n, m) in names.iter().zip(metas) {
        assert_eq!(m.unwrap().partitions.len(), 1 + (n.len() % 3), "{n}");
    }
    // a single broker: everything went over one pipelined connection
    assert_eq!(client.open_connections(), 1);
}

/// Consumer-group offsets: what we commit, librdkafka reads back; what librdkafka commits, we
/// fetch; the group is listed and described; the coordinator is found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_offsets_round_trip_with_librdkafka() {
    let broker = TansuCluster::start("groups-cluster").unwrap();
    let client = Client::connect(config(&broker.bootstrap())).await.unwrap();
    create(&client, "g-topic", 3, &[]).await;

    let node = client.find_coordinator("mirror-group").await.unwrap();
    assert!(node >= 0);
    client
        .offset_commit(
            "mirror-group",
            &[("g-topic".into(), 0, 42), ("g-topic".into(), 2, 7)],
        )
        .await
        .unwrap();
    let seen = rdkafka::committed(&broker.bootstrap(), "mirror-group", "g-topic").unwrap();
    assert_eq!(seen.get(&0), Some(&42));
    assert_eq!(seen.get(&2), Some(&7));
    assert!(seen[&1] < 0, "partition 1 has no commit: {seen:?}");

    // Named partitions: tansu answers an all-topics OffsetFetch (null topic list) with a
    // malformed response (a null non-nullable array), which our client reports as a protocol
    // error; real Kafka answers both forms.
    let asked = [("g-topic".to_string(), vec![0, 1, 2])];
    let ours = client
        .offset_fetch("mirror-group", Some(&asked))
        .await
        .unwrap();
    assert_eq!(ours.get(&("g-topic".to_string(), 0)), Some(&42));
    assert_eq!(ours.get(&("g-topic".to_string(), 2)), Some(&7));
    assert!(!ours.contains_key(&("g-topic".to_string(), 1)));

    // the group is listed and can be described
    let groups = client.list_groups().await.unwrap();
    assert!(
        groups.iter().any(|(g, _, _)| g == "mirror-group"),
        "{groups:?}"
    );
    let described = client.describe_group("mirror-group").await.unwrap();
    assert_eq!(described.groups[0].group_id.0.as_str(), "mirror-group");
    assert_eq!(described.groups.len(), 1);
}

/// Writes spread over several connections per broker keep each partition's order, and use
/// exactly that many connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_spread_over_connections_keeps_partition_order() {
    let broker = TansuCluster::start("lanes-cluster").unwrap();
    let mut c = config(&broker.bootstrap());
    c.produce_connections = 2;
    let client = Client::connect(c).await.unwrap();
    create(&client, "lanes", 4, &[]).await;
    for round in 0..5i64 {
        let parts = (0..4)
            .map(|p| {
                let recs: Vec<Record> = (0..3)
                    .map(|i| Record {
                        offset: i,
                        timestamp: 1_000 + round * 10 + i,
                        key: None,
                        value: Some(Bytes::from(format!("p{p}-r{round}-{i}"))),
                        headers: vec![],
                    })
                    .collect();
                let b = encode_batch(&BatchSpec::plain(Compression::None), &recs).unwrap();
                ProducePartition {
                    topic: "lanes".into(),
                    partition: p,
                    records: b.into_bytes(),
                }
            })
            .collect();
        for r in client.produce(parts, T).await {
            r.result.unwrap();
        }
    }
    assert_eq!(
        client.open_connections(),
        2,
        "lane 0 and lane 1 to the one broker"
    );
    let got = rdkafka::consume(&broker.bootstrap(), "lanes").unwrap();
    for p in 0..4 {
        let mut values: Vec<(i64, String)> = got
            .iter()
            .filter(|m| m.partition == p)
            .map(|m| (m.offset, m.value.clone().unwrap()))
            .collect();
        values.sort();
        let want: Vec<String> = (0..5)
            .flat_map(|r| (0..3).map(move |i| hex(format!("p{p}-r{r}-{i}").as_bytes())))
            .collect();
        assert_eq!(
            values.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
            want,
            "partition {p}"
        );
    }
}

/// A batch of `n` records for `partition` whose values say where they belong.
fn tagged_batch(partition: i32, batch: usize, n: i64) -> clusterlink_kafka::records::RawBatch {
    let recs: Vec<Record> = (0..n)
        .map(|i| Record {
            offset: i,
            timestamp: 5_000 + i,
            key: None,
            value: Some(Bytes::from(format!("p{partition}-b{batch}-{i}"))),
            headers: vec![],
        })
        .collect();
    encode_batch(&BatchSpec::plain(Compression::None), &recs).unwrap()
}

/// Several batches of a partition in one produce call are pipelined (the n-th batch in the
/// n-th request) and land in order, under an idempotent producer id with consecutive
/// sequences, on tansu and on librdkafka's mock cluster; librdkafka reads them back in order.
/// (Neither peer refuses a batch that skips sequences, as Kafka does with
/// OUT_OF_ORDER_SEQUENCE_NUMBER: the mock accepted sequence 40 after 15 when tried, so the
/// refusal of a later batch after an earlier one failed cannot be shown here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_batches_of_a_partition_land_in_order() {
    let tansu = TansuCluster::start("pipelined-cluster").unwrap();
    let mock = MockCluster::start(1).unwrap();
    for (peer, bootstrap) in [
        ("tansu", tansu.bootstrap()),
        ("mock", mock.bootstrap().to_owned()),
    ] {
        let client = Client::connect(config(&bootstrap)).await.unwrap();
        if peer == "tansu" {
            create(&client, "piped", 3, &[]).await;
        } else {
            // The mock has no CreateTopics: a librdkafka produce creates the topic (one record
            // per partition, which the expected offsets below account for).
            let seed: Vec<rdkafka::Msg> = rdkafka::varied_records(3, 3, "seed");
            rdkafka::produce_all(&bootstrap, "piped", &seed);
        }
        let parts: Vec<i32> = client
            .topic_metadata("piped")
            .await
            .unwrap()
            .partitions
            .keys()
            .copied()
            .collect();
        let parts: Vec<i32> = parts.into_iter().filter(|p| *p < 3).collect();
        assert_eq!(parts, vec![0, 1, 2], "{peer}");
        let start = client
            .list_offsets(
                "piped",
                &parts,
                OffsetSpec::Latest,
                Isolation::ReadUncommitted,
            )
            .await
            .unwrap();
        let (pid, epoch) = client.init_producer_id().await.unwrap();
        // Five batches of three records per partition, interleaved partition by partition.
        let mut batches = Vec::new();
        for b in 0..5 {
            for p in &parts {
                let raw = tagged_batch(*p, b, 3).for_producer(pid, epoch, b as i32 * 3);
                batches.push(ProducePartition {
                    topic: "piped".into(),
                    partition: *p,
                    records: raw.into_bytes(),
                });
            }
        }
        let results = client.produce(batches, T).await;
        assert_eq!(results.len(), 15, "{peer}");
        for p in &parts {
            let offsets: Vec<i64> = results
                .iter()
                .filter(|r| r.partition == *p)
                .map(|r| r.result.as_ref().unwrap().base_offset)
                .collect();
            let base = start[p].offset;
            assert_eq!(
                offsets,
                (0..5).map(|b| base + b * 3).collect::<Vec<_>>(),
                "{peer} partition {p}: each answer belongs to its own batch, in order"
            );
        }
        let got = rdkafka::consume(&bootstrap, "piped").unwrap();
        for p in &parts {
            let mut values: Vec<(i64, String)> = got
                .iter()
                .filter(|m| m.partition == *p && m.offset >= start[p].offset)
                .map(|m| (m.offset, m.value.clone().unwrap()))
                .collect();
            values.sort();
            let want: Vec<String> = (0..5)
                .flat_map(|b| (0..3).map(move |i| hex(format!("p{p}-b{b}-{i}").as_bytes())))
                .collect();
            assert_eq!(
                values.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
                want,
                "{peer} partition {p}"
            );
        }
    }
}
