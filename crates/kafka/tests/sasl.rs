//! SASL against a real broker behind a SASL front (`clusterlink_testkit::sasl`): tansu cannot
//! keep SCRAM users (test-brokers.md), so the front authenticates as a Kafka broker does, SCRAM
//! by the `scramp` library. The front is first checked with librdkafka (it authenticates with
//! every mechanism and refuses a wrong password), then our client: PLAIN, SCRAM-SHA-256 and
//! SCRAM-SHA-512, over plaintext and TLS, with produce and fetch read back by librdkafka; a
//! wrong password is a clear, non-retriable authentication error.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clusterlink_kafka::client::{Isolation, NewTopic};
use clusterlink_kafka::records::{encode_batch, split_batches, BatchSpec, Compression, Record};
use clusterlink_kafka::sasl::{Mechanism, Sasl};
use clusterlink_kafka::{Client, ClientConfig};
use clusterlink_testkit::rdkafka::{self, hex, Msg, ProduceSpec};
use clusterlink_testkit::sasl::SaslCluster;
use clusterlink_testkit::tls::cert;
use serde_json::json;

const T: Duration = Duration::from_secs(10);
const USER: &str = "alice";
const PASSWORD: &str = "alice-pass-9f3k";
const MECHANISMS: [Mechanism; 3] = [
    Mechanism::Plain,
    Mechanism::ScramSha256,
    Mechanism::ScramSha512,
];

fn config(src: &SaslCluster, mechanism: Mechanism, password: &str) -> ClientConfig {
    let mut c = ClientConfig::new(&src.bootstrap());
    c.retry.timeout = Duration::from_secs(20);
    c.connection.request_timeout = T;
    c.connection.sasl = Some(Sasl::new(mechanism, USER, password));
    if src.security_protocol() == "SASL_SSL" {
        let configs: BTreeMap<String, String> = [
            ("security.protocol", "SASL_SSL".to_string()),
            ("ssl.truststore.certificates", cert("ca.pem")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        c.connection.tls = clusterlink_kafka::tls::from_configs(&configs).unwrap();
    }
    c
}

fn msgs(n: usize, tag: &str) -> Vec<Msg> {
    (0..n)
        .map(|i| Msg {
            partition: 0,
            offset: -1,
            key: Some(hex(format!("{tag}-k{i}").as_bytes())),
            value: Some(hex(format!("{tag}-v{i}").as_bytes())),
            headers: vec![],
            timestamp: 1_700_000_000_000 + i as i64,
            timestamp_type: 0,
        })
        .collect()
}

/// librdkafka produces through the front with `mechanism`: the number acknowledged, or the
/// error text.
fn rd_produce(
    src: &SaslCluster,
    topic: &str,
    mechanism: &str,
    password: &str,
    records: &[Msg],
) -> Result<usize, String> {
    let mut config = src.rdkafka_config(mechanism, USER, password);
    config.insert("message.timeout.ms".into(), json!(1500));
    let spec = ProduceSpec {
        topic: topic.into(),
        config,
        records: Some(records.to_vec()),
        transactions: None,
    };
    rdkafka::produce(&src.bootstrap(), &spec).map_err(|e| format!("{e:#}"))
}

/// The front is a SASL server a client none of us wrote accepts, and it refuses a wrong
/// password: what our client is tested against below is not a mirror of our own mistakes.
#[test]
fn the_sasl_front_authenticates_librdkafka_and_refuses_a_wrong_password() {
    let src = SaslCluster::start("sasl-front", &[(USER, PASSWORD)]).unwrap();
    // One librdkafka process per mechanism and case, at once (each takes a second or two).
    std::thread::scope(|s| {
        for (i, m) in MECHANISMS.iter().enumerate() {
            let src = &src;
            s.spawn(move || {
                let topic = format!("front-{i}");
                let records = msgs(5, m.name());
                assert_eq!(
                    rd_produce(src, &topic, m.name(), PASSWORD, &records),
                    Ok(5),
                    "{m}"
                );
                let got = rdkafka::consume_configured(
                    &src.bootstrap(),
                    &topic,
                    "read_committed",
                    &src.rdkafka_config(m.name(), USER, PASSWORD),
                )
                .unwrap();
                assert_eq!(got.len(), 5, "{m}");
            });
            s.spawn(move || {
                let e = rd_produce(src, "front-bad", m.name(), "wrong", &msgs(1, "x")).unwrap_err();
                assert!(
                    e.contains(&format!("invalid credentials with SASL mechanism {m}")),
                    "{m}: {e}"
                );
            });
        }
    });
}

/// Our client with each mechanism: metadata, produce (read back by librdkafka) and fetch (of
/// what librdkafka produced), all through authenticated connections.
async fn produce_and_fetch_with_every_mechanism(src: &SaslCluster) {
    for (i, m) in MECHANISMS.iter().enumerate() {
        let client = Client::connect(config(src, *m, PASSWORD))
            .await
            .unwrap_or_else(|e| panic!("{m}: {e}"));
        let cluster = client.describe_cluster().await.unwrap();
        assert_eq!(cluster.brokers.values().next().unwrap(), &src.bootstrap());

        // Ours produces; librdkafka reads.
        let topic = format!("ours-{i}");
        let records: Vec<Record> = (0..10)
            .map(|n| Record {
                offset: n,
                timestamp: 1_700_000_000_000 + n,
                key: Some(Bytes::from(format!("k{n}"))),
                value: Some(Bytes::from(format!("{m} value {n}"))),
                headers: vec![],
            })
            .collect();
        let new = NewTopic {
            name: topic.clone(),
            partitions: 1,
            replication_factor: -1,
            configs: vec![],
        };
        let created = client.create_topics(&[new], false, T).await.unwrap();
        created[0].1.as_ref().unwrap();
        let batch = encode_batch(&BatchSpec::plain(Compression::None), &records).unwrap();
        client
            .produce_partition(&topic, 0, &[batch], T)
            .await
            .unwrap_or_else(|e| panic!("{m}: {e}"));
        let got = rdkafka::consume_configured(
            &src.bootstrap(),
            &topic,
            "read_committed",
            &src.rdkafka_config(m.name(), USER, PASSWORD),
        )
        .unwrap();
        let mut values: Vec<_> = got
            .iter()
            .filter(|r| r.partition == 0)
            .map(|r| r.value.clone().unwrap())
            .collect();
        values.sort();
        let mut want: Vec<_> = records
            .iter()
            .map(|r| hex(r.value.as_ref().unwrap()))
            .collect();
        want.sort();
        assert_eq!(values, want, "{m}");

        // librdkafka produces; ours fetches.
        let topic = format!("theirs-{i}");
        assert_eq!(
            rd_produce(src, &topic, m.name(), PASSWORD, &msgs(7, "t")),
            Ok(7)
        );
        let fetched = client
            .fetch_partition(
                &topic,
                0,
                0,
                Isolation::ReadCommitted,
                Duration::from_millis(100),
                1 << 20,
            )
            .await
            .unwrap();
        let mut n = 0;
        for b in split_batches(fetched.records).unwrap() {
            n += b.records().unwrap().len();
        }
        assert_eq!(n, 7, "{m}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_authenticates_with_plain_scram_sha256_and_scram_sha512() {
    let src = SaslCluster::start("sasl-ours", &[(USER, PASSWORD)]).unwrap();
    produce_and_fetch_with_every_mechanism(&src).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_authenticates_over_tls_sasl_ssl() {
    let src = SaslCluster::start_tls("sasl-ssl", &[(USER, PASSWORD)]).unwrap();
    produce_and_fetch_with_every_mechanism(&src).await;
}

/// A wrong password (and an unknown user) fails at once, not after the retry deadline, with an
/// error that names the broker and the mechanism and never the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_clear_non_retriable_auth_error() {
    let src = SaslCluster::start("sasl-refuse", &[(USER, PASSWORD)]).unwrap();
    for m in MECHANISMS {
        let started = Instant::now();
        let wrong = "not-the-password-7731";
        let e = Client::connect(config(&src, m, wrong)).await.unwrap_err();
        let text = e.to_string();
        assert_eq!(e.category(), "auth", "{m}: {text}");
        assert!(!e.is_retriable(), "{m}: {text}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{m}: not retried"
        );
        assert!(
            text.contains(m.name()) && text.contains(&src.bootstrap()),
            "{text}"
        );
        assert!(text.contains("SASL_AUTHENTICATION_FAILED"), "{text}");
        assert!(
            !text.contains(wrong) && !format!("{e:?}").contains(wrong),
            "{text}"
        );
        // An unknown user is refused the same way.
        let mut c = config(&src, m, PASSWORD);
        c.connection.sasl = Some(Sasl::new(m, "mallory", PASSWORD));
        let e = Client::connect(c).await.unwrap_err();
        assert_eq!(e.category(), "auth", "{m}: {e}");
        assert!(!e.to_string().contains(PASSWORD), "{e}");
    }
}

/// The mixed front (a SASL listener and, as if on a second listener, plain clients) lets plain
/// clients through, authenticates SASL clients, and still refuses a wrong password: tests that
/// set up data with plain clients check their link's credentials all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mixed_front_lets_plain_clients_in_and_still_checks_sasl_ones() {
    let src = SaslCluster::start_mixed("sasl-mixed", &[(USER, PASSWORD)]).unwrap();
    rdkafka::produce_all(&src.bootstrap(), "plain", &msgs(3, "p"));
    assert_eq!(
        rd_produce(&src, "sasl", "PLAIN", PASSWORD, &msgs(2, "s")),
        Ok(2)
    );
    let e = rd_produce(&src, "sasl", "SCRAM-SHA-256", "wrong", &msgs(1, "s")).unwrap_err();
    assert!(e.contains("invalid credentials"), "{e}");
    Client::connect(config(&src, Mechanism::ScramSha512, PASSWORD))
        .await
        .unwrap();
    let e = Client::connect(config(&src, Mechanism::Plain, "wrong"))
        .await
        .unwrap_err();
    assert_eq!(e.category(), "auth", "{e}");
}
