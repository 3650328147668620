//! Crash safety: the link server (`clusterlink server`) and the one-link tool (`clusterlink
//! mirror`) are SIGKILLed at random moments while they mirror 200k records that a librdkafka
//! producer is still writing to the source. Restarted each time, they must end with a
//! destination that holds exactly the source's committed records, per partition and in order,
//! nothing lost and nothing twice (read back with librdkafka, read_committed), and offsets
//! either aligned (a plain source) or translated exactly (a transactional source: on Apache
//! Kafka its transaction markers and aborted records occupy source offsets that the mirror does
//! not copy, so every committed record's source offset must map to the destination offset where
//! librdkafka reads that same record).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clusterlink_kafka::{Client, ClientConfig, Isolation};
use clusterlink_mirror::offset_map::OffsetMode;
use clusterlink_mirror::{Engine, LinkSettings};
use clusterlink_testkit::kafka::unique_name;
use clusterlink_testkit::link_server::client;
use clusterlink_testkit::peer::{Broker, Peer};
use clusterlink_testkit::rdkafka::{self, by_partition, hex, Msg, ProduceSpec};
use clusterlink_testkit::{free_port, peer_tests};
use serde_json::{json, Value};

/// Records the producer writes (committed and aborted together).
const RECORDS: usize = 200_000;
const PARTITIONS: i32 = 4;
/// Records per transaction of the transactional source; every fifth transaction is aborted.
const TXN_RECORDS: usize = 400;
/// How many times the runner is killed before the last run.
const KILLS: usize = 8;

/// What mirrors: the link server, or the one-link tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runner {
    Server,
    MirrorTool,
}

/// The source topic's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// An idempotent producer: offsets without gaps, so the mirror stays aligned.
    Plain,
    /// Transactions, one in five aborted.
    Transactional,
}

/// Kills landed between 0 and everything mirrored, and while the producer was still writing.
#[derive(Debug, Default)]
struct Kills {
    /// Destination records at each kill.
    totals: Vec<i64>,
    /// How many kills came while the producer was still writing.
    while_producing: usize,
}

/// One crash test: two clusters, a topic, a link and its state topic, all named for this test
/// (the Kafka clusters are the run's shared ones), and the runner's log.
struct Crash {
    runner: Runner,
    a: Broker,
    b: Broker,
    topic: String,
    link: String,
    state_topic: String,
    /// The server's REST address in its current run.
    addr: String,
    log: tempfile::NamedTempFile,
}

impl Crash {
    /// Starts the runner; the first run of a server also creates the link and its mirror.
    fn start(&mut self, first: bool) -> Child {
        let log = self.log.reopen().expect("runner log");
        let mut c = Command::new(env!("CARGO_BIN_EXE_clusterlink"));
        match self.runner {
            Runner::Server => {
                self.addr = format!("127.0.0.1:{}", free_port());
                c.args(["server", "--bootstrap-server", &self.b.bootstrap()])
                    .args(["--listen", &self.addr]);
            }
            Runner::MirrorTool => {
                c.args(["mirror", "--link", &self.link, "--topic", &self.topic])
                    .args(["--source-bootstrap-server", &self.a.bootstrap()])
                    .args(["--destination-bootstrap-server", &self.b.bootstrap()])
                    .args(["--status-interval-ms", "0"]);
            }
        }
        let mut child = c
            .args(["--state-topic", &self.state_topic])
            // small fetches: many rounds, so that kills land between and inside them
            .args(["--partition-max-bytes", "4096"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start clusterlink");
        if first && self.runner == Runner::Server {
            self.create_link(&mut child);
        }
        child
    }

    fn create_link(&self, child: &mut Child) {
        let start = Instant::now();
        while !matches!(self.http("GET", "/kafka/v3/clusters", None), Some((200, _))) {
            if let Some(exit) = child.try_wait().unwrap() {
                panic!("server exited: {exit:?}\n{}", self.log_text());
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "server did not come up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let links = format!("/v3/clusters/{}/links", self.b.cluster_id());
        let body = json!({"source_cluster_id": self.a.cluster_id(), "configs": [
            {"name": "bootstrap.servers", "value": self.a.bootstrap()}]});
        let r = self.http(
            "POST",
            &format!("{links}?link_name={}", self.link),
            Some(&body),
        );
        assert!(matches!(r, Some((204, _))), "create link: {r:?}");
        let body = json!({"source_topic_name": self.topic});
        let r = self.http(
            "POST",
            &format!("{links}/{}/mirrors", self.link),
            Some(&body),
        );
        assert!(matches!(r, Some((204, _))), "create mirror: {r:?}");
    }

    /// One request to the server's REST API, on its own connection.
    fn http(&self, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, Value)> {
        let mut s = std::net::TcpStream::connect(&self.addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        let body = body.map(Value::to_string).unwrap_or_default();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        let status = head.split(' ').nth(1)?.parse().ok()?;
        Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
    }

    fn mirror_path(&self) -> String {
        format!(
            "/v3/clusters/{}/links/{}/mirrors/{}",
            self.b.cluster_id(),
            self.link,
            self.topic
        )
    }

    fn log_text(&self) -> String {
        let text = std::fs::read_to_string(self.log.path()).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

/// A small deterministic pseudo-random sequence (no RNG crate needed for kill times).
fn next_rand(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Records on the destination, from each partition's high watermark (every destination record
/// is a mirrored one: the mirror copies neither markers nor aborted data). Fetches at the last
/// known end, so that polling stays cheap for the broker.
async fn destination_total(dst: &Client, topic: &str, known: &mut [i64]) -> i64 {
    for (p, end) in known.iter_mut().enumerate() {
        if let Ok(f) = dst
            .fetch_partition(
                topic,
                p as i32,
                *end,
                Isolation::ReadUncommitted,
                Duration::from_millis(1),
                1,
            )
            .await
        {
            *end = f.high_watermark;
        }
    }
    known.iter().sum()
}

fn record(i: usize) -> Msg {
    Msg {
        partition: (i % PARTITIONS as usize) as i32,
        offset: -1,
        key: Some(hex(format!("k{i}").as_bytes())),
        value: Some(hex(
            format!("value-{i:08}-{}", "x".repeat(i % 40)).as_bytes()
        )),
        headers: vec![],
        timestamp: 1_650_000_000_000 + i as i64,
        timestamp_type: 0,
    }
}

/// What the producer writes, and the records of it a read_committed consumer must see.
fn produce_spec(source: Source, topic: &str) -> (ProduceSpec, Vec<Msg>) {
    let records: Vec<Msg> = (0..RECORDS).map(record).collect();
    let mut config: BTreeMap<String, Value> = [
        ("compression.type".to_string(), json!("lz4")),
        // small batches: thousands of them, so the mirror needs many rounds
        ("batch.num.messages".to_string(), json!(50)),
    ]
    .into();
    match source {
        Source::Plain => {
            config.insert("enable.idempotence".into(), json!(true));
            let spec = ProduceSpec {
                topic: topic.into(),
                config,
                records: Some(records.clone()),
                transactions: None,
            };
            (spec, records)
        }
        Source::Transactional => {
            config.insert("transactional.id".into(), json!(unique_name("crash-tx")));
            let (transactions, committed) =
                rdkafka::in_transactions(&records, TXN_RECORDS, |i| i % 5 == 3);
            let spec = ProduceSpec {
                topic: topic.into(),
                config,
                records: None,
                transactions: Some(transactions),
            };
            (spec, committed)
        }
    }
}

/// Per partition, in offset order: (offset, content), to pair each source record with its copy.
fn offsets_by_partition(msgs: &[Msg]) -> BTreeMap<i32, Vec<i64>> {
    let mut sorted: Vec<&Msg> = msgs.iter().collect();
    sorted.sort_by_key(|m| (m.partition, m.offset));
    let mut out: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for m in sorted {
        out.entry(m.partition).or_default().push(m.offset);
    }
    out
}

async fn killed_at_random_moments(peer: Peer, runner: Runner, source: Source) {
    let (a, b) = peer.pair().unwrap();
    let mut t = Crash {
        runner,
        a,
        b,
        topic: unique_name("crash"),
        link: unique_name("crash-link"),
        state_topic: unique_name("_clusterlink_state_crash"),
        addr: String::new(),
        log: tempfile::NamedTempFile::new().unwrap(),
    };
    rdkafka::create_topic(&t.a.bootstrap(), &t.topic, PARTITIONS).unwrap();
    let (spec, committed) = produce_spec(source, &t.topic);
    let expected = committed.len() as i64;

    // librdkafka writes the source all along; the runner is killed at random points of its
    // progress, the first kills while the producer still writes
    let started = Instant::now();
    let bootstrap = t.a.bootstrap();
    let producer = std::thread::spawn(move || rdkafka::produce(&bootstrap, &spec));
    // polls must not wait out retries while the mirror topic does not exist yet
    let mut dst_cfg = ClientConfig::new(&t.b.bootstrap());
    dst_cfg.retry.timeout = Duration::from_millis(100);
    let dst = Client::connect(dst_cfg).await.unwrap();
    let mut known = [0i64; PARTITIONS as usize];
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut kills = Kills::default();
    while kills.totals.len() < KILLS {
        // kill once the destination passes a random point between where it is and the end
        let before = destination_total(&dst, &t.topic, &mut known).await;
        if before == expected {
            break;
        }
        let step = (next_rand(&mut rng) % ((expected - before) as u64 / 6 + 1)) as i64;
        let target = before + 1 + step;
        let mut child = t.start(kills.totals.is_empty());
        let deadline = Instant::now() + Duration::from_secs(60);
        while destination_total(&dst, &t.topic, &mut known).await < target
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let producing = !producer.is_finished();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // A produce request the killed process sent just before may still be appended by the
        // broker after a new process has read the destination's end: the new process then
        // finds an offset it did not expect and fails the mirror, saying so (seen once in CI).
        // Closing that window needs a producer identity that survives restarts (issue #15's
        // duplicate window, open); until then the next run starts once such a request has
        // landed, as a restarted process would a moment later.
        tokio::time::sleep(Duration::from_secs(1)).await;
        kills
            .totals
            .push(destination_total(&dst, &t.topic, &mut known).await);
        kills.while_producing += usize::from(producing);
        eprintln!(
            "kill {} at {:?} (producer {}): {:?}",
            kills.totals.len(),
            started.elapsed(),
            if producing { "writing" } else { "done" },
            kills.totals.last()
        );
    }
    eprintln!("{kills:?}");
    // the kills really hit a mirror at work: several with some but not all records copied, and
    // some while the source was still being written
    let mid_way = kills
        .totals
        .iter()
        .filter(|n| **n > 0 && **n < expected)
        .count();
    assert!(mid_way >= 3, "kills did not land mid-mirror: {kills:?}");
    assert!(
        kills.while_producing >= 1,
        "no kill while the producer was writing: {kills:?}"
    );
    let produced = producer.join().unwrap().unwrap();
    assert_eq!(produced, RECORDS, "records acknowledged to the producer");
    eprintln!("produced at {:?}", started.elapsed());

    // a last run, until the destination holds everything
    let mut child = t.start(false);
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let total = destination_total(&dst, &t.topic, &mut known).await;
        assert!(
            total <= expected,
            "duplicates: the destination holds {total} records of {expected}"
        );
        if total == expected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "mirror stalled at {total} of {expected}\n{}",
            t.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("all mirrored at {:?}", started.elapsed());
    // the engine's name in the state topic: the server keys a link's engine by name and id
    let engine_name = match runner {
        Runner::MirrorTool => t.link.clone(),
        Runner::Server => {
            let mirror = t.mirror_path();
            let start = Instant::now();
            let m = loop {
                match t.http("GET", &mirror, None) {
                    Some((200, m))
                        if m["mirror_status"] == "ACTIVE"
                            && m["mirror_lags"]
                                .as_array()
                                .is_some_and(|l| l.iter().all(|l| l["lag"] == 0)) =>
                    {
                        break m
                    }
                    other => assert!(
                        start.elapsed() < Duration::from_secs(30),
                        "mirror not ACTIVE at lag 0: {other:?}"
                    ),
                }
                std::thread::sleep(Duration::from_millis(100));
            };
            let expected_mode = match source {
                Source::Plain => "ALIGNED",
                Source::Transactional => "TRANSLATED",
            };
            assert_eq!(m["offset_mode"], expected_mode, "{m:#}");
            let link = format!("/v3/clusters/{}/links/{}", t.b.cluster_id(), t.link);
            let (_, l) = t.http("GET", &link, None).expect("the link");
            format!("{}@{}", t.link, l["link_id"].as_str().expect("link_id"))
        }
    };
    child.kill().unwrap();
    child.wait().unwrap();
    eprintln!(
        "{} kills, {:?} in all",
        kills.totals.len(),
        started.elapsed()
    );

    // librdkafka's word: the source holds what the producer committed, the destination the same
    let mut source_view = rdkafka::consume(&t.a.bootstrap(), &t.topic).unwrap();
    if peer == Peer::Tansu && source == Source::Transactional {
        // tansu bug: a read_committed librdkafka consumer gets the aborted records too (tansu
        // stores them and their markers, but librdkafka drops aborted records by the Fetch
        // response's aborted-transactions list, which tansu leaves empty); Kafka lists them.
        // The committed view is what tansu returns minus what the producer aborted.
        assert_eq!(source_view.len(), RECORDS, "tansu returns every record");
        let kept: std::collections::BTreeSet<_> = committed.iter().map(|m| &m.value).collect();
        source_view.retain(|m| kept.contains(&m.value));
    }
    assert!(
        by_partition(&source_view) == by_partition(&committed),
        "the source does not hold the committed records"
    );
    let mirrored = rdkafka::consume(&t.b.bootstrap(), &t.topic).unwrap();
    assert_eq!(mirrored.len(), committed.len());
    assert!(
        by_partition(&mirrored) == by_partition(&source_view),
        "destination log differs from the source"
    );
    if source == Source::Transactional {
        // nothing aborted or uncommitted reached the destination, even for a reader that would
        // see it
        let raw = rdkafka::consume_with(&t.b.bootstrap(), &t.topic, "read_uncommitted").unwrap();
        assert!(
            by_partition(&raw) == by_partition(&source_view),
            "the destination holds records no committed transaction wrote"
        );
    }

    // offsets, through the offset map the runs left in the state topic (a new engine restores it)
    let mut settings = LinkSettings::new(&engine_name);
    settings.state_topic = t.state_topic.clone();
    let engine = Engine::start(
        settings,
        client(&t.a.bootstrap()).await,
        client(&t.b.bootstrap()).await,
    )
    .await
    .unwrap();
    let (src_offsets, dst_offsets) = (
        offsets_by_partition(&source_view),
        offsets_by_partition(&mirrored),
    );
    for (p, src) in &src_offsets {
        let dst = &dst_offsets[p];
        for (s, d) in src.iter().zip(dst) {
            assert_eq!(
                engine.translate(&t.topic, *p, *s),
                Some(*d),
                "partition {p}: source offset {s} is read at destination offset {d}"
            );
        }
    }
    let mode = engine.status(&t.topic).expect("restored").offset_mode;
    match source {
        Source::Plain => {
            assert_eq!(src_offsets, dst_offsets, "aligned: offsets equal");
            assert_eq!(mode, OffsetMode::Aligned);
        }
        Source::Transactional => {
            // markers and aborted records take source offsets: the source has gaps
            let gaps = src_offsets
                .values()
                .any(|o| *o.last().unwrap() + 1 > o.len() as i64);
            assert!(gaps, "the transactional source has no gaps");
            assert_eq!(mode, OffsetMode::Translated);
        }
    }
    engine.stop().await.unwrap();
}

async fn server_killed_mid_transactional_mirror(peer: Peer) {
    killed_at_random_moments(peer, Runner::Server, Source::Transactional).await
}

async fn server_killed_mid_plain_mirror_stays_aligned(peer: Peer) {
    killed_at_random_moments(peer, Runner::Server, Source::Plain).await
}

async fn mirror_tool_killed_mid_plain_mirror(peer: Peer) {
    killed_at_random_moments(peer, Runner::MirrorTool, Source::Plain).await
}

peer_tests! {
    server_killed_mid_transactional_mirror: [kafka, tansu];
    server_killed_mid_plain_mirror_stays_aligned: [kafka];
    mirror_tool_killed_mid_plain_mirror: [kafka, tansu];
}
