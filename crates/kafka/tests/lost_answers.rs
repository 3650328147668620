//! Answers lost on their way back from a real broker, by the test proxy in front of it (Apache
//! Kafka: a proxied listener; tansu: behind a proxy), after the broker has done the work. A
//! Produce whose answer is lost is retried only when that cannot duplicate data: an idempotent
//! batch (producer id and sequence) is sent again and the broker recognises it (Kafka answers
//! with the first append's offset); a plain batch is not retried. Other lost answers are typed errors after which the same client goes on.
//! What landed is read with librdkafka, around the proxy.

use std::time::Duration;

use bytes::Bytes;
use clusterlink_kafka::client::{FetchPartition, FetchRequest, Isolation};
use clusterlink_kafka::messages::ApiKey;
use clusterlink_kafka::records::{encode_batch, BatchSpec, Compression, Record};
use clusterlink_kafka::{Client, ClientConfig, Error, ResponseError};
use clusterlink_testkit::kafka::unique_name;
use clusterlink_testkit::peer::Peer;
use clusterlink_testkit::peer_tests;
use clusterlink_testkit::proxy::Loss;
use clusterlink_testkit::rdkafka::{self, hex};

const T: Duration = Duration::from_secs(10);

peer_tests! {
    a_lost_produce_answer_is_retried_and_deduplicated: [kafka, tansu];
    other_lost_answers_are_typed_errors_and_the_client_goes_on: [kafka, tansu];
}

fn batch(tag: &str, n: i64) -> Vec<Record> {
    (0..n)
        .map(|i| Record {
            offset: i,
            timestamp: 1_700_000_000_000 + i,
            key: Some(Bytes::from(format!("{tag}-k{i}"))),
            value: Some(Bytes::from(format!("{tag}-v{i}"))),
            headers: vec![],
        })
        .collect()
}

/// Values of the records of partition 0, in offset order, as librdkafka reads them.
fn values(bootstrap: &str, topic: &str) -> Vec<String> {
    let mut got: Vec<_> = rdkafka::consume(bootstrap, topic)
        .unwrap()
        .into_iter()
        .map(|m| (m.offset, m.value.unwrap_or_default()))
        .collect();
    got.sort();
    got.into_iter().map(|(_, v)| v).collect()
}

fn want(tags: &[(&str, i64)]) -> Vec<String> {
    tags.iter()
        .flat_map(|(tag, n)| (0..*n).map(move |i| hex(format!("{tag}-v{i}").as_bytes())))
        .collect()
}

async fn a_lost_produce_answer_is_retried_and_deduplicated(peer: Peer) {
    let broker = peer.private_behind_proxy("lost-produce").unwrap();
    let mut config = ClientConfig::new(&broker.proxied_bootstrap());
    config.retry.timeout = Duration::from_secs(20);
    // A silently lost answer costs the request timeout.
    config.connection.request_timeout = Duration::from_secs(2);
    let client = Client::connect(config).await.unwrap();
    let topic = unique_name("lost");
    clusterlink_testkit::topics::create_topic(&client, &topic, 1, &[]).await;
    let (pid, epoch) = client.init_producer_id().await.unwrap();
    let idempotent = |tag: &str, seq: i32| {
        let spec = BatchSpec {
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            ..BatchSpec::plain(Compression::Lz4)
        };
        encode_batch(&spec, &batch(tag, 3)).unwrap()
    };
    let first = client
        .produce_partition(&topic, 0, &[idempotent("a", 0)], T)
        .await
        .unwrap();
    assert_eq!(first.base_offset, 0);

    // The answer is lost and the connection cut: the client sends the batch again, and the
    // broker, which had appended it, recognises its sequence and answers with where it is.
    let proxy = broker.proxy();
    proxy.lose_response(ApiKey::Produce as i16, Loss::Cut);
    let again = client
        .produce_partition(&topic, 0, &[idempotent("b", 3)], T)
        .await;
    assert_eq!(proxy.lost_responses(), 1, "the answer was lost");
    match peer {
        Peer::Kafka => assert_eq!(again.unwrap().base_offset, 3, "the first append's offset"),
        // tansu bug: it recognises the retried batch but answers DUPLICATE_SEQUENCE_NUMBER (not
        // retriable), where Kafka answers success with the first append's offset (for any of
        // a producer's last five batches of a partition). Nothing is appended twice either way.
        _ => {
            let e = again.unwrap_err();
            assert!(e.is(ResponseError::DuplicateSequenceNumber), "{e}");
        }
    }

    // The answer is lost and the connection stays: the client gives up on it after its
    // request timeout and sends it again, with the same outcome.
    proxy.lose_response(ApiKey::Produce as i16, Loss::Silent);
    let again = client
        .produce_partition(&topic, 0, &[idempotent("c", 6)], T)
        .await;
    assert_eq!(proxy.lost_responses(), 2, "the answer was lost");
    match peer {
        Peer::Kafka => assert_eq!(again.unwrap().base_offset, 6, "the first append's offset"),
        // tansu bug: DUPLICATE_SEQUENCE_NUMBER, as above.
        _ => {
            let e = again.unwrap_err();
            assert!(e.is(ResponseError::DuplicateSequenceNumber), "{e}");
        }
    }
    assert_eq!(
        values(&broker.bootstrap(), &topic),
        want(&[("a", 3), ("b", 3), ("c", 3)]),
        "every record once"
    );

    // A plain batch cannot be recognised: its lost answer is an error, not a retry (which
    // would append it twice). It did land, once.
    proxy.lose_response(ApiKey::Produce as i16, Loss::Cut);
    let plain = encode_batch(&BatchSpec::plain(Compression::None), &batch("d", 2)).unwrap();
    let e = client
        .produce_partition(&topic, 0, &[plain], T)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Connection { .. }), "{e:?}");
    assert_eq!(proxy.lost_responses(), 3);
    assert_eq!(
        values(&broker.bootstrap(), &topic),
        want(&[("a", 3), ("b", 3), ("c", 3), ("d", 2)])
    );
}

async fn other_lost_answers_are_typed_errors_and_the_client_goes_on(peer: Peer) {
    let broker = peer.private_behind_proxy("lost-other").unwrap();
    let mut config = ClientConfig::new(&broker.proxied_bootstrap());
    config.connection.request_timeout = Duration::from_millis(1500);
    config.retry.timeout = Duration::from_millis(500);
    let client = Client::connect(config).await.unwrap();
    let topic = unique_name("other");
    clusterlink_testkit::topics::create_topic(&client, &topic, 1, &[]).await;
    rdkafka::produce_all(
        &broker.bootstrap(),
        &topic,
        &rdkafka::varied_records(5, 1, "o"),
    );
    let request = FetchRequest {
        partitions: vec![FetchPartition {
            topic: topic.clone(),
            partition: 0,
            offset: 0,
            max_bytes: 1 << 20,
        }],
        max_wait: Duration::from_millis(100),
        min_bytes: 1,
        max_bytes: 1 << 20,
        isolation: Isolation::ReadCommitted,
    };
    let fetch = || client.fetch(&request);
    let proxy = broker.proxy();

    // A Fetch answer lost with its connection: a retriable connection error.
    proxy.lose_response(ApiKey::Fetch as i16, Loss::Cut);
    let e = fetch().await.remove(0).result.unwrap_err();
    assert!(matches!(e, Error::Connection { .. }), "{e:?}");
    assert!(e.is_retriable());
    // A Fetch answer that never comes: a timeout naming the API.
    proxy.lose_response(ApiKey::Fetch as i16, Loss::Silent);
    let e = fetch().await.remove(0).result.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Timeout {
                api: ApiKey::Fetch,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(proxy.lost_responses(), 2);
    // The same client reads the five records next.
    let f = fetch().await.remove(0).result.unwrap();
    assert_eq!(f.high_watermark, 5);
    let n: usize = clusterlink_kafka::records::split_batches(f.records)
        .unwrap()
        .iter()
        .map(|b| b.records().unwrap().len())
        .sum();
    assert_eq!(n, 5);
}
