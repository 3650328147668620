//! Crash safety of the fill (a source whose log starts above 0 is mirrored aligned: the
//! destination is filled with placeholders up to the source's log start and cut there): the
//! one-link tool (`clusterlink mirror`) is SIGKILLed at random points of a fill of 5,000,000
//! placeholders, possibly with a placeholder batch on its way, and restarted each time. The
//! destination must end exact and aligned, read with librdkafka and Kafka's GetOffsetShell:
//! its log starts at the source's log start, every source record is at its source offset with
//! its content, and not one placeholder is readable (a placeholder written twice or missed
//! would shift every offset after it).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clusterlink_kafka::client::OffsetSpec;
use clusterlink_kafka::records::{encode_batch, BatchSpec, Compression, Record};
use clusterlink_kafka::{Client, Isolation};
use clusterlink_testkit::kafka::{tools, unique_name};
use clusterlink_testkit::link_server::client;
use clusterlink_testkit::peer::{Broker, Peer};
use clusterlink_testkit::peer_tests;
use clusterlink_testkit::rdkafka::{self, assert_same_records, varied_records};

/// The source's log start: the number of placeholders the fill writes.
const START: i64 = 5_000_000;
/// Kills before the last run.
const KILLS: usize = 4;

peer_tests! {
    mirror_tool_killed_mid_fill_stays_exact_and_aligned: [kafka];
}

/// Starts the one-link tool for `topic` on state topic `state`, logging to `log`.
fn start(
    a: &Broker,
    b: &Broker,
    link: &str,
    topic: &str,
    state: &str,
    log: &tempfile::NamedTempFile,
) -> Child {
    Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args(["mirror", "--link", link, "--topic", topic])
        .args(["--source-bootstrap-server", &a.bootstrap()])
        .args(["--destination-bootstrap-server", &b.bootstrap()])
        .args(["--status-interval-ms", "0", "--state-topic", state])
        .stdout(Stdio::null())
        .stderr(log.reopen().expect("log"))
        .spawn()
        .expect("start clusterlink mirror")
}

/// `topic[0]`'s end on `c` (0 while it does not exist).
async fn end_of(c: &Client, topic: &str) -> i64 {
    c.list_offsets(topic, &[0], OffsetSpec::Latest, Isolation::ReadUncommitted)
        .await
        .ok()
        .and_then(|m| m.get(&0).map(|o| o.offset))
        .unwrap_or(0)
}

/// Writes `n` records to `topic[0]` in big zstd batches (our client): millions in seconds.
async fn bulk(c: &Client, topic: &str, n: i64) {
    let mut done = 0;
    while done < n {
        let count = (n - done).min(200_000);
        let records: Vec<Record> = (0..count)
            .map(|o| Record {
                offset: o,
                timestamp: 1_700_000_000_000,
                key: Some(Bytes::from(format!("bulk-{}", done + o))),
                value: Some(Bytes::from_static(b"deleted before it was mirrored")),
                headers: vec![],
            })
            .collect();
        let batch = encode_batch(&BatchSpec::plain(Compression::Zstd), &records).unwrap();
        c.produce_partition(topic, 0, &[batch], Duration::from_secs(30))
            .await
            .unwrap();
        done += count;
    }
}

async fn mirror_tool_killed_mid_fill_stays_exact_and_aligned(peer: Peer) {
    let (a, b) = peer.pair().unwrap();
    let (topic, link, state) = (
        unique_name("crashfill"),
        unique_name("crashfill-link"),
        unique_name("_clusterlink_state_crashfill"),
    );
    rdkafka::create_topic(&a.bootstrap(), &topic, 1).unwrap();
    let src = client(&a.bootstrap()).await;
    bulk(&src, &topic, START).await;
    rdkafka::produce_all(&a.bootstrap(), &topic, &varied_records(40, 1, "kept"));
    src.delete_records(&topic, &[(0, START)], Duration::from_secs(30))
        .await
        .unwrap();
    let dst = client(&b.bootstrap()).await;
    let log = tempfile::NamedTempFile::new().unwrap();

    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut kills = Vec::new();
    while kills.len() < KILLS {
        let before = end_of(&dst, &topic).await;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let target = before + 1 + (rng % ((START - before) as u64 / (KILLS as u64 + 1))) as i64;
        let mut child = start(&a, &b, &link, &topic, &state, &log);
        let deadline = Instant::now() + Duration::from_secs(60);
        while end_of(&dst, &topic).await < target && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills.push(end_of(&dst, &topic).await);
        eprintln!("kill {} at destination end {:?}", kills.len(), kills.last());
    }
    let mid_fill = kills.iter().filter(|e| **e > 0 && **e < START).count();
    assert!(mid_fill >= 3, "kills did not land mid-fill: {kills:?}");

    // The last run, until the 40 records are mirrored after the fill.
    let mut child = start(&a, &b, &link, &topic, &state, &log);
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let end = end_of(&dst, &topic).await;
        assert!(
            end <= START + 40,
            "the destination is past the source: {end}"
        );
        if end == START + 40 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "stalled at {end}:\n{}",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();

    assert_same_records(&a.bootstrap(), &b.bootstrap(), &topic);
    assert_eq!(
        tools::start_offsets(&b.bootstrap(), &topic).unwrap(),
        [(0, START)].into(),
        "the destination's log starts at the source's (GetOffsetShell)"
    );
    let read = rdkafka::consume_with(&b.bootstrap(), &topic, "read_uncommitted").unwrap();
    assert_eq!(read.len(), 40, "no placeholder readable");
    assert_eq!(read[0].offset, START);
}
