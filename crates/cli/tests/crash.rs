//! Crash safety: `clusterlink mirror` is SIGKILLed at random moments while it mirrors 200k
//! records that librdkafka is still producing; restarted each time, it must end with a
//! destination log equal to the source, record for record, nothing lost and nothing twice.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clusterlink_kafka::client::NewTopic;
use clusterlink_kafka::{Client, ClientConfig, Isolation};
use clusterlink_testkit::rdkafka::{self, by_partition, hex, Msg, ProduceSpec};
use clusterlink_testkit::TansuCluster;
use serde_json::json;

const RECORDS: usize = 200_000;
const PARTITIONS: i32 = 4;

fn start_mirror(a: &TansuCluster, b: &TansuCluster) -> Child {
    Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args(["mirror", "--link", "crash-link", "--topic", "crash"])
        .args(["--source-bootstrap-server", &a.bootstrap()])
        .args(["--destination-bootstrap-server", &b.bootstrap()])
        .args(["--status-interval-ms", "0"])
        // small fetches: many rounds, so that kills land between and inside them
        .args(["--partition-max-bytes", "4096"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start clusterlink mirror")
}

/// A small deterministic pseudo-random sequence (no RNG crate needed for kill times).
fn next_rand(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Records on the destination, from each partition's high watermark. Fetches at the last
/// known end, so that polling stays cheap for the broker.
async fn destination_total(dst: &Client, known: &mut [i64]) -> i64 {
    for (p, end) in known.iter_mut().enumerate() {
        if let Ok(f) = dst
            .fetch_partition(
                "crash",
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let a = TansuCluster::start("crash-a").unwrap();
    let b = TansuCluster::start("crash-b").unwrap();
    let mut cfg = ClientConfig::new(&a.bootstrap());
    cfg.retry.timeout = Duration::from_secs(10);
    let src = Client::connect(cfg).await.unwrap();
    let t = NewTopic {
        name: "crash".into(),
        partitions: PARTITIONS,
        replication_factor: -1,
        configs: vec![],
    };
    src.create_topics(&[t], false, Duration::from_secs(10))
        .await
        .unwrap()[0]
        .1
        .as_ref()
        .unwrap();

    // librdkafka produces first; the mirror is then killed at random points of its progress
    let records: Vec<Msg> = (0..RECORDS)
        .map(|i| Msg {
            partition: (i % PARTITIONS as usize) as i32,
            offset: -1,
            key: Some(hex(format!("k{i}").as_bytes())),
            value: Some(hex(
                format!("value-{i:08}-{}", "x".repeat(i % 40)).as_bytes()
            )),
            headers: vec![],
            timestamp: 1_650_000_000_000 + i as i64,
            timestamp_type: 0,
        })
        .collect();
    let spec = ProduceSpec {
        topic: "crash".into(),
        config: [
            ("compression.type".to_string(), json!("lz4")),
            ("enable.idempotence".to_string(), json!(true)),
            // small batches: thousands of them, so the mirror needs many rounds
            ("batch.num.messages".to_string(), json!(50)),
        ]
        .into(),
        records: Some(records),
        transactions: None,
    };
    assert_eq!(rdkafka::produce(&a.bootstrap(), &spec).unwrap(), RECORDS);

    eprintln!("produced");
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut kills = 0;
    // polls must not wait out retries while the mirror topic does not exist yet
    let mut dst_cfg = ClientConfig::new(&b.bootstrap());
    dst_cfg.retry.timeout = Duration::from_millis(100);
    let dst = Client::connect(dst_cfg).await.unwrap();
    let mut totals_at_kills = Vec::new();
    let mut known = [0i64; PARTITIONS as usize];
    let started = Instant::now();
    while kills < 8 {
        // kill once the destination passes a random point between where it is and the end
        let before = destination_total(&dst, &mut known).await;
        if before == RECORDS as i64 {
            break;
        }
        let target =
            before + 1 + (next_rand(&mut rng) % ((RECORDS as i64 - before) as u64 / 6 + 1)) as i64;
        let mut child = start_mirror(&a, &b);
        let deadline = Instant::now() + Duration::from_secs(60);
        while destination_total(&dst, &mut known).await < target && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        totals_at_kills.push(destination_total(&dst, &mut known).await);
        eprintln!(
            "kill {kills} at {:?}: {:?}",
            started.elapsed(),
            totals_at_kills.last()
        );
    }
    eprintln!("destination records at each kill: {totals_at_kills:?}");
    // the kills really hit a mirror at work: several with some but not all records copied
    let mid_way = totals_at_kills
        .iter()
        .filter(|t| **t > 0 && **t < RECORDS as i64)
        .count();
    assert!(
        mid_way >= 3,
        "kills did not land mid-mirror: {totals_at_kills:?}"
    );

    // a last run, until the destination holds everything
    let mut child = start_mirror(&a, &b);

    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let total = destination_total(&dst, &mut known).await;
        assert!(
            total <= RECORDS as i64,
            "duplicates: the destination holds {total} records"
        );
        if total == RECORDS as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "mirror stalled at {total} of {RECORDS}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    eprintln!("{kills} kills, {:?} in all", started.elapsed());

    eprintln!("all mirrored at {:?}", started.elapsed());
    let source_view = rdkafka::consume(&a.bootstrap(), "crash").unwrap();
    eprintln!("source consumed at {:?}", started.elapsed());
    let mirrored = rdkafka::consume(&b.bootstrap(), "crash").unwrap();
    assert_eq!(source_view.len(), RECORDS);
    assert_eq!(mirrored.len(), RECORDS);
    assert!(
        by_partition(&mirrored) == by_partition(&source_view),
        "destination log differs from the source"
    );
    // aligned: offsets equal too
    let offsets = |v: &[Msg]| {
        let mut o: Vec<(i32, i64, Option<String>)> = v
            .iter()
            .map(|m| (m.partition, m.offset, m.value.clone()))
            .collect();
        o.sort();
        o
    };
    assert!(
        offsets(&mirrored) == offsets(&source_view),
        "offsets differ"
    );
}
