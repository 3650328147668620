//! SASL and TLS against real brokers: Apache Kafka's own SASL_PLAINTEXT, SASL_SSL and SSL
//! listeners (PLAIN from the listener's JAAS users, SCRAM credentials made at format time), and
//! tansu behind the test kit's fronts (`clusterlink_testkit::sasl`, `clusterlink_testkit::tls`:
//! tansu cannot keep SCRAM users nor speak TLS, docs/test-brokers.md), whose SASL front
//! authenticates as a Kafka broker does, SCRAM by the `scramp` library. The front is first
//! checked with librdkafka (it authenticates with every mechanism and refuses a wrong
//! password), then our client: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, over plaintext and TLS,
//! with produce and fetch read back by librdkafka; a wrong password is a clear, non-retriable
//! authentication error; TLS alone, with the right CA and a wrong one.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clusterlink_kafka::client::Isolation;
use clusterlink_kafka::records::{encode_batch, split_batches, BatchSpec, Compression, Record};
use clusterlink_kafka::sasl::{Mechanism, Sasl};
use clusterlink_kafka::{Client, ClientConfig};
use clusterlink_testkit::kafka::{self, unique_name, KafkaCluster, Listener};
use clusterlink_testkit::peer::Peer;
use clusterlink_testkit::peer_tests;
use clusterlink_testkit::rdkafka::{self, hex, Msg, ProduceSpec};
use clusterlink_testkit::sasl::SaslCluster;
use clusterlink_testkit::tls::{cert, TlsCluster};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(10);
const USER: &str = "alice";
const PASSWORD: &str = "alice-pass-9f3k";
const MECHANISMS: [Mechanism; 3] = [
    Mechanism::Plain,
    Mechanism::ScramSha256,
    Mechanism::ScramSha512,
];

peer_tests! {
    our_client_authenticates_with_plain_scram_sha256_and_scram_sha512: [kafka, tansu];
    our_client_authenticates_over_tls_sasl_ssl: [kafka, tansu];
    a_wrong_password_is_a_clear_non_retriable_auth_error: [kafka, tansu];
    our_client_over_tls_trusts_the_right_ca_only: [kafka, tansu];
}

/// A broker with a SASL listener: Kafka's own, or tansu behind the SASL front.
enum Secured {
    Kafka(KafkaCluster, Listener),
    Front(SaslCluster),
}

impl Secured {
    /// A broker whose SASL listener is `SASL_SSL` when `tls`, else `SASL_PLAINTEXT`, knowing
    /// [`USER`].
    fn start(peer: Peer, tls: bool) -> Secured {
        match peer {
            Peer::Kafka => {
                let listener = if tls {
                    Listener::SaslSsl
                } else {
                    Listener::SaslPlaintext
                };
                let k = KafkaCluster::builder()
                    .listener(listener)
                    .user(USER, PASSWORD)
                    .start()
                    .unwrap();
                Secured::Kafka(k, listener)
            }
            _ if tls => {
                Secured::Front(SaslCluster::start_tls("sasl-ssl", &[(USER, PASSWORD)]).unwrap())
            }
            _ => Secured::Front(SaslCluster::start("sasl", &[(USER, PASSWORD)]).unwrap()),
        }
    }

    /// The SASL listener's bootstrap address.
    fn bootstrap(&self) -> String {
        match self {
            Secured::Kafka(k, l) => k.bootstrap_for(*l),
            Secured::Front(f) => f.bootstrap(),
        }
    }

    fn tls(&self) -> bool {
        match self {
            Secured::Kafka(_, l) => *l == Listener::SaslSsl,
            Secured::Front(f) => f.security_protocol() == "SASL_SSL",
        }
    }

    /// librdkafka settings that authenticate as `user` with `mechanism`.
    fn rdkafka_config(
        &self,
        mechanism: Mechanism,
        user: &str,
        password: &str,
    ) -> BTreeMap<String, Value> {
        match self {
            Secured::Kafka(k, l) => {
                let m = kafka::Mechanism::ALL
                    .into_iter()
                    .find(|m| m.name() == mechanism.name())
                    .unwrap();
                let sasl = kafka::Sasl {
                    mechanism: m,
                    user,
                    password,
                };
                k.rdkafka_config(*l, Some(sasl))
            }
            Secured::Front(f) => f.rdkafka_config(mechanism.name(), user, password),
        }
    }

    /// Our client's settings for `mechanism` and `password`.
    fn config(&self, mechanism: Mechanism, password: &str) -> ClientConfig {
        let mut c = ClientConfig::new(&self.bootstrap());
        c.retry.timeout = Duration::from_secs(20);
        c.connection.request_timeout = T;
        c.connection.sasl = Some(Sasl::new(mechanism, USER, password));
        if self.tls() {
            c.connection.tls = tls_settings("SASL_SSL", "ca.pem");
        }
        c
    }
}

/// Our client's TLS settings from Kafka's, trusting the CA in `certs/<ca>`.
fn tls_settings(protocol: &str, ca: &str) -> Option<clusterlink_kafka::tls::Tls> {
    let configs: BTreeMap<String, String> = [
        ("security.protocol", protocol.to_string()),
        ("ssl.truststore.certificates", cert(ca)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    clusterlink_kafka::tls::from_configs(&configs).unwrap()
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

/// librdkafka produces to `bootstrap` with `config`: the number acknowledged, or the error text.
fn rd_produce_with(
    bootstrap: &str,
    mut config: BTreeMap<String, Value>,
    topic: &str,
    records: &[Msg],
) -> Result<usize, String> {
    // A refused producer fails its deliveries after this, not after 5 minutes.
    config.insert("message.timeout.ms".into(), json!(3000));
    let spec = ProduceSpec {
        topic: topic.into(),
        config,
        records: Some(records.to_vec()),
        transactions: None,
    };
    rdkafka::produce(bootstrap, &spec).map_err(|e| format!("{e:#}"))
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
    rd_produce_with(
        &src.bootstrap(),
        src.rdkafka_config(mechanism, USER, password),
        topic,
        records,
    )
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
async fn produce_and_fetch_with_every_mechanism(src: &Secured) {
    for m in MECHANISMS {
        let client = Client::connect(src.config(m, PASSWORD))
            .await
            .unwrap_or_else(|e| panic!("{m}: {e}"));
        let cluster = client.describe_cluster().await.unwrap();
        assert_eq!(cluster.brokers.values().next().unwrap(), &src.bootstrap());
        let rd = src.rdkafka_config(m, USER, PASSWORD);

        // Ours produces; librdkafka reads.
        let topic = unique_name("ours");
        let records: Vec<Record> = (0..10)
            .map(|n| Record {
                offset: n,
                timestamp: 1_700_000_000_000 + n,
                key: Some(Bytes::from(format!("k{n}"))),
                value: Some(Bytes::from(format!("{m} value {n}"))),
                headers: vec![],
            })
            .collect();
        clusterlink_testkit::topics::create_topic(&client, &topic, 1, &[]).await;
        let batch = encode_batch(&BatchSpec::plain(Compression::None), &records).unwrap();
        client
            .produce_partition(&topic, 0, &[batch], T)
            .await
            .unwrap_or_else(|e| panic!("{m}: {e}"));
        let got =
            rdkafka::consume_configured(&src.bootstrap(), &topic, "read_committed", &rd).unwrap();
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
        let topic = unique_name("theirs");
        if let Secured::Kafka(..) = src {
            // Kafka creates a topic on a produce's Metadata request too, but a first produce
            // may then time out waiting for its leader: create it first.
            clusterlink_testkit::topics::create_topic(&client, &topic, 1, &[]).await;
        }
        assert_eq!(
            rd_produce_with(&src.bootstrap(), rd.clone(), &topic, &msgs(7, "t")),
            Ok(7),
            "{m}"
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

async fn our_client_authenticates_with_plain_scram_sha256_and_scram_sha512(peer: Peer) {
    produce_and_fetch_with_every_mechanism(&Secured::start(peer, false)).await;
}

async fn our_client_authenticates_over_tls_sasl_ssl(peer: Peer) {
    produce_and_fetch_with_every_mechanism(&Secured::start(peer, true)).await;
}

/// A wrong password (and an unknown user) fails at once, not after the retry deadline, with an
/// error that names the broker and the mechanism and never the password.
async fn a_wrong_password_is_a_clear_non_retriable_auth_error(peer: Peer) {
    let src = Secured::start(peer, false);
    for m in MECHANISMS {
        let started = Instant::now();
        let wrong = "not-the-password-7731";
        let e = Client::connect(src.config(m, wrong)).await.unwrap_err();
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
        let mut c = src.config(m, PASSWORD);
        c.connection.sasl = Some(Sasl::new(m, "mallory", PASSWORD));
        let e = Client::connect(c).await.unwrap_err();
        assert_eq!(e.category(), "auth", "{m}: {e}");
        assert!(!e.is_retriable(), "{m}: {e}");
        assert!(!e.to_string().contains(PASSWORD), "{e}");
    }
}

/// TLS without SASL (Kafka's SSL listener; tansu behind the TLS front): our client that trusts
/// the test CA produces and fetches (librdkafka reads what it wrote); one that trusts another
/// CA is refused at the handshake.
async fn our_client_over_tls_trusts_the_right_ca_only(peer: Peer) {
    let (_keep, bootstrap, rd): (Box<dyn std::any::Any>, String, BTreeMap<String, Value>) =
        match peer {
            Peer::Kafka => {
                let k = KafkaCluster::builder()
                    .listener(Listener::Ssl)
                    .start()
                    .unwrap();
                let bootstrap = k.bootstrap_for(Listener::Ssl);
                let rd = k.rdkafka_config(Listener::Ssl, None);
                (Box::new(k), bootstrap, rd)
            }
            _ => {
                let t = TlsCluster::start("tls-only").unwrap();
                let bootstrap = t.bootstrap();
                let rd = [
                    ("security.protocol".to_owned(), json!("SSL")),
                    (
                        "ssl.ca.location".to_owned(),
                        json!(clusterlink_testkit::tls::cert_path("ca.pem")
                            .to_string_lossy()
                            .to_string()),
                    ),
                ]
                .into();
                (Box::new(t), bootstrap, rd)
            }
        };
    let mut c = ClientConfig::new(&bootstrap);
    c.retry.timeout = Duration::from_secs(20);
    c.connection.tls = tls_settings("SSL", "ca.pem");
    let client = Client::connect(c).await.unwrap();
    let cluster = client.describe_cluster().await.unwrap();
    assert_eq!(cluster.brokers.values().next().unwrap(), &bootstrap);
    let topic = unique_name("tls");
    clusterlink_testkit::topics::create_topic(&client, &topic, 1, &[]).await;
    let records: Vec<Record> = (0..4)
        .map(|n| Record {
            offset: n,
            timestamp: 1_700_000_000_000 + n,
            key: None,
            value: Some(Bytes::from(format!("tls {n}"))),
            headers: vec![],
        })
        .collect();
    let batch = encode_batch(&BatchSpec::plain(Compression::Zstd), &records).unwrap();
    client
        .produce_partition(&topic, 0, &[batch], T)
        .await
        .unwrap();
    let got = rdkafka::consume_configured(&bootstrap, &topic, "read_committed", &rd).unwrap();
    let values: Vec<_> = got.iter().map(|r| r.value.clone().unwrap()).collect();
    let want: Vec<_> = (0..4).map(|n| hex(format!("tls {n}").as_bytes())).collect();
    assert_eq!(values, want);
    assert_eq!(
        rd_produce_with(&bootstrap, rd, &topic, &msgs(3, "rd")),
        Ok(3)
    );
    let f = client
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
    assert_eq!(f.high_watermark, 7);

    // Another CA: the broker's certificate is not trusted. (The client retries this like any
    // connection failure, until its retry timeout: a short one here.)
    let mut c = ClientConfig::new(&bootstrap);
    c.retry.timeout = Duration::from_millis(500);
    c.connection.tls = tls_settings("SSL", "other-ca.pem");
    let e = Client::connect(c).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("TLS handshake: invalid peer certificate: UnknownIssuer"),
        "{text}"
    );
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
    let front = Secured::Front(src);
    Client::connect(front.config(Mechanism::ScramSha512, PASSWORD))
        .await
        .unwrap();
    let e = Client::connect(front.config(Mechanism::Plain, "wrong"))
        .await
        .unwrap_err();
    assert_eq!(e.category(), "auth", "{e}");
}
