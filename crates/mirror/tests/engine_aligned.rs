//! Aligned offsets from a source whose log starts above 0 (retention or DeleteRecords ran there
//! before the mirror was created), on Apache Kafka, checked with librdkafka and Kafka's own
//! GetOffsetShell and kafka-configs: the destination is filled with placeholders up to the
//! source's log start and cut there, so every record sits at its source offset, the
//! destination's log starts where the source's does, and no placeholder can be read. Also for
//! a compacted topic (Kafka refuses DeleteRecords on `cleanup.policy=compact`), and across a
//! restart in the middle of the fill.

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use clusterlink_kafka::client::OffsetSpec;
use clusterlink_kafka::records::{encode_batch, BatchSpec, Compression, Record};
use clusterlink_kafka::{Client, Isolation};
use clusterlink_mirror::offset_map::OffsetMode;
use clusterlink_mirror::{Desired, LogStartPolicy, MirrorState};
use clusterlink_testkit::kafka::tools;
use clusterlink_testkit::peer::Peer;
use clusterlink_testkit::peer_tests;
use clusterlink_testkit::rdkafka::{self, assert_same_records, hex, varied_records, Msg};
use support::*;

peer_tests! {
    a_source_that_starts_above_zero_is_mirrored_aligned: [kafka];
    a_destination_that_cannot_delete_records_gets_a_translated_mirror: [tansu];
    a_compacted_source_that_starts_above_zero_is_mirrored_aligned: [kafka];
    a_fill_stopped_midway_is_finished_exactly_by_the_next_engine: [kafka];
    a_failover_during_the_fill_leaves_no_placeholder: [kafka];
    resumed_past_a_log_start_that_moved_while_the_link_was_down: [kafka];
}

/// Every record with a key (a compacted topic refuses records without one).
fn keyed(mut records: Vec<Msg>) -> Vec<Msg> {
    for (i, m) in records.iter_mut().enumerate() {
        m.key.get_or_insert_with(|| hex(format!("k{i}").as_bytes()));
    }
    records
}

/// The destination is exactly the source, offsets included, and starts where it does.
fn assert_aligned_copy(p: &Pair, topic: &str) {
    assert_same_records(&p.a.bootstrap(), &p.b.bootstrap(), topic);
    assert_eq!(
        tools::start_offsets(&p.b.bootstrap(), topic).unwrap(),
        tools::start_offsets(&p.a.bootstrap(), topic).unwrap(),
        "{topic}: the destination's log starts where the source's does (GetOffsetShell)"
    );
    assert_eq!(
        tools::end_offsets(&p.b.bootstrap(), topic).unwrap(),
        tools::end_offsets(&p.a.bootstrap(), topic).unwrap(),
        "{topic}: the destination ends where the source does (GetOffsetShell)"
    );
}

/// DeleteRecords ran on the source (partition 0 to 30, partition 1 to 7) before the mirror was
/// created: the mirror is ALIGNED, each record is at its source offset with the same content,
/// the destination's earliest offsets are 30 and 7, and nothing before them (no placeholder)
/// can be read, by a read_uncommitted consumer either.
async fn a_source_that_starts_above_zero_is_mirrored_aligned(peer: Peer) {
    let p = Pair::of(peer).await;
    let t = name("trimmed");
    create_topic(&p.src, &t, 2, &[]).await;
    produce(&p.a.bootstrap(), &t, &varied_records(100, 2, "a"), "lz4");
    p.src
        .delete_records(&t, &[(0, 30), (1, 7)], Duration::from_secs(10))
        .await
        .unwrap();
    let engine = p.engine(&name("aligned")).await;
    engine
        .create_mirror(spec(&t, &t), Desired::Active)
        .await
        .unwrap();
    // The source's ends: 50 per partition; the destination ends there too, not at 20 + 43.
    let s = wait_for(&engine, &t, "mirrored to the source's ends", caught_up(100)).await;
    assert_eq!(s.offset_mode, OffsetMode::Aligned, "{s:#?}");
    // More records go on at the same offsets.
    produce(&p.a.bootstrap(), &t, &varied_records(20, 2, "b"), "zstd");
    let s = wait_for(&engine, &t, "the 20 more", caught_up(120)).await;
    assert_eq!(s.offset_mode, OffsetMode::Aligned);
    assert_aligned_copy(&p, &t);
    let read = rdkafka::consume_with(&p.b.bootstrap(), &t, "read_uncommitted").unwrap();
    assert_eq!(
        read.len(),
        120 - 37,
        "only the source's records, no placeholder"
    );
    for (partition, first) in [(0, 30), (1, 7)] {
        assert_eq!(
            engine.translate(&t, partition, first + 3),
            Some(first + 3),
            "offsets translate to themselves"
        );
    }
    engine.shutdown().await;
}

/// A destination that does not take DeleteRecords (tansu, which closes the connection on it)
/// could not hide placeholders: none is written, and past the retry timeout the partition is
/// mirrored TRANSLATED from the destination's offset 0, exactly, with the reason noted. The
/// source is Apache Kafka (the run's shared cluster: tansu cannot delete records there either).
async fn a_destination_that_cannot_delete_records_gets_a_translated_mirror(peer: Peer) {
    let a = Peer::Kafka
        .cluster(clusterlink_testkit::peer::Side::A)
        .unwrap();
    let b = peer.cluster(clusterlink_testkit::peer::Side::B).unwrap();
    let p = Pair::new(peer, a, b).await;
    let t = name("nodelete");
    create_topic(&p.src, &t, 1, &[]).await;
    let records = varied_records(30, 1, "d");
    produce(&p.a.bootstrap(), &t, &records, "none");
    p.src
        .delete_records(&t, &[(0, 10)], Duration::from_secs(10))
        .await
        .unwrap();
    let mut s = settings(&name("nodelete"));
    s.retry_timeout = Duration::from_secs(2);
    let engine = p.engine_with(s).await;
    engine
        .create_mirror(spec(&t, &t), Desired::Active)
        .await
        .unwrap();
    let s = wait_for(&engine, &t, "mirrored translated", |s| {
        s.partitions[0].destination_end == 20 && s.partitions[0].lag_records == 0
    })
    .await;
    assert_eq!(s.offset_mode, OffsetMode::Translated, "{s:#?}");
    let reason = s.reason.unwrap_or_default();
    assert!(
        reason.contains("translated offsets from source offset 10"),
        "{reason}"
    );
    let mirrored = rdkafka::consume(&p.b.bootstrap(), &t).unwrap();
    assert_eq!(
        rdkafka::by_partition(&mirrored)[&0],
        rdkafka::by_partition(&records)[&0][10..].to_vec()
    );
    assert_eq!(mirrored[0].offset, 0);
    assert_eq!(engine.translate(&t, 0, 10), Some(0));
    engine.shutdown().await;
}

/// A compacted source (`cleanup.policy=compact`) whose log starts at 25: Kafka refuses
/// DeleteRecords on the compacted mirror topic, so the fill allows deletion while it runs and
/// gives the topic its synced configs back. The mirror is ALIGNED and exact, and the mirror
/// topic's own configs are the source's again (kafka-configs).
async fn a_compacted_source_that_starts_above_zero_is_mirrored_aligned(peer: Peer) {
    let p = Pair::of(peer).await;
    let t = name("compacted");
    // DeleteRecords on the source needs the delete policy; the topic is compact-only after.
    create_topic(&p.src, &t, 1, &[("cleanup.policy", "compact,delete")]).await;
    produce(
        &p.a.bootstrap(),
        &t,
        &keyed(varied_records(60, 1, "c")),
        "none",
    );
    p.src
        .delete_records(&t, &[(0, 25)], Duration::from_secs(10))
        .await
        .unwrap();
    tools::tool(
        &p.a.bootstrap(),
        "kafka.admin.ConfigCommand",
        &[
            "--alter",
            "--entity-type",
            "topics",
            "--entity-name",
            &t,
            "--add-config",
            "cleanup.policy=compact",
        ],
    )
    .unwrap();
    let engine = p.engine(&name("compact")).await;
    engine
        .create_mirror(spec(&t, &t), Desired::Active)
        .await
        .unwrap();
    let s = wait_for(&engine, &t, "mirrored", caught_up(60)).await;
    assert_eq!(s.offset_mode, OffsetMode::Aligned, "{s:#?}");
    assert_aligned_copy(&p, &t);
    let overrides = tools::topic_overrides(&p.b.bootstrap(), &t).unwrap();
    assert_eq!(
        overrides.get("cleanup.policy").map(String::as_str),
        Some("compact"),
        "{overrides:?}"
    );
    assert!(
        !overrides.contains_key("retention.ms") && !overrides.contains_key("retention.bytes"),
        "the fill's settings are gone: {overrides:?}"
    );
    engine.shutdown().await;
}

/// Writes `n` records to `topic[0]` quickly (our client, big zstd batches): a source partition
/// with millions of offsets in seconds.
async fn bulk(client: &Client, topic: &str, n: i64) {
    let mut done = 0;
    while done < n {
        let count = (n - done).min(200_000);
        let records: Vec<Record> = (0..count)
            .map(|o| Record {
                offset: o,
                timestamp: 1_700_000_000_000,
                key: Some(Bytes::from(format!("bulk-{}", done + o))),
                value: Some(Bytes::from_static(b"gone before it was mirrored")),
                headers: vec![],
            })
            .collect();
        let batch = encode_batch(&BatchSpec::plain(Compression::Zstd), &records).unwrap();
        client
            .produce_partition(topic, 0, &[batch], Duration::from_secs(30))
            .await
            .unwrap();
        done += count;
    }
}

/// The destination's end of `topic[0]`.
async fn end_of(client: &Client, topic: &str) -> i64 {
    client
        .list_offsets(topic, &[0], OffsetSpec::Latest, Isolation::ReadUncommitted)
        .await
        .unwrap()[&0]
        .offset
}

/// A source partition whose log starts at `start`, with 40 records after it.
async fn trimmed_at(p: &Pair, topic: &str, start: i64) {
    create_topic(&p.src, topic, 1, &[]).await;
    bulk(&p.src, topic, start).await;
    produce(
        &p.a.bootstrap(),
        topic,
        &varied_records(40, 1, "kept"),
        "none",
    );
    p.src
        .delete_records(topic, &[(0, start)], Duration::from_secs(30))
        .await
        .unwrap();
}

/// Waits until the destination holds placeholders: the fill has begun.
async fn wait_for_the_fill(p: &Pair, topic: &str) {
    let started = Instant::now();
    while end_of(&p.dst, topic).await == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "no fill");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A failover in the middle of the fill: the topic becomes its users' with nothing readable
/// in it (the placeholders written so far are cut before the failover returns), and a record
/// its users write afterwards stays.
async fn a_failover_during_the_fill_leaves_no_placeholder(peer: Peer) {
    let p = Pair::of(peer).await;
    let t = name("cutfill");
    trimmed_at(&p, &t, 3_000_000).await;
    let engine = p.engine(&name("cutfill")).await;
    engine
        .create_mirror(spec(&t, &t), Desired::Active)
        .await
        .unwrap();
    wait_for_the_fill(&p, &t).await;
    engine.set_desired(&t, Desired::Failover).await.unwrap();
    let s = engine.status(&t).unwrap();
    assert_eq!(s.state, MirrorState::Stopped);
    let end = end_of(&p.dst, &t).await;
    assert!(end > 0 && end < 3_000_000, "{end}");
    assert_eq!(
        tools::start_offsets(&p.b.bootstrap(), &t).unwrap(),
        [(0, end)].into(),
        "cut at its end"
    );
    assert!(
        rdkafka::consume_with(&p.b.bootstrap(), &t, "read_uncommitted")
            .unwrap()
            .is_empty()
    );
    produce(&p.b.bootstrap(), &t, &varied_records(1, 1, "user"), "none");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        rdkafka::consume(&p.b.bootstrap(), &t).unwrap().len(),
        1,
        "the users' record stays"
    );
    engine.shutdown().await;
}

/// The source's log starts at 3,000,000 (30 fill batches, several rounds): the engine is
/// stopped once the fill has begun, with placeholders on the destination and the fill stored
/// as unfinished; a new engine (new clients, same state topic) finishes it from what the
/// destination holds. The result is exact and ALIGNED: no placeholder written twice or
/// missed (either would shift every offset), none readable.
async fn a_fill_stopped_midway_is_finished_exactly_by_the_next_engine(peer: Peer) {
    const START: i64 = 3_000_000;
    let p = Pair::of(peer).await;
    let (t, link) = (name("refill"), name("refill"));
    trimmed_at(&p, &t, START).await;
    let engine = p.engine(&link).await;
    engine
        .create_mirror(spec(&t, &t), Desired::Active)
        .await
        .unwrap();
    wait_for_the_fill(&p, &t).await;
    assert_eq!(
        engine.status(&t).unwrap().partitions[0].filling_to,
        Some(START),
        "the status says the partition is being filled"
    );
    engine.stop().await.unwrap();
    drop(engine);
    let midway = end_of(&p.dst, &t).await;
    assert!(
        midway > 0 && midway < START,
        "stopped in the middle of the fill: {midway}"
    );

    let engine = p.engine_on_new_clients(settings(&link)).await;
    let s = wait_for(&engine, &t, "mirrored after the fill", |s| {
        s.partitions[0].destination_end == START + 40 && s.partitions[0].lag_records == 0
    })
    .await;
    assert_eq!(s.offset_mode, OffsetMode::Aligned, "{s:#?}");
    assert_eq!(s.partitions[0].filling_to, None, "filled");
    assert_aligned_copy(&p, &t);
    let read = rdkafka::consume_with(&p.b.bootstrap(), &t, "read_uncommitted").unwrap();
    assert_eq!(read.len(), 40, "no placeholder readable");
    assert_eq!(read[0].offset, START);
    engine.shutdown().await;
}

/// `mirror.log.start.policy=resume` across a restart: the link's engine is down while 50 more
/// records are written and the source deleted up to 60, of which the mirror had copied 20.
/// The next engine goes on from 60: ALIGNED, the destination's log start moved to 60 too, the
/// 40 lost records in the partition's status and the reason, nothing before 60 readable.
async fn resumed_past_a_log_start_that_moved_while_the_link_was_down(peer: Peer) {
    let p = Pair::of(peer).await;
    let (t, link) = (name("down"), name("down"));
    create_topic(&p.src, &t, 1, &[]).await;
    produce(
        &p.a.bootstrap(),
        &t,
        &varied_records(20, 1, "first"),
        "none",
    );
    let mut resume = settings(&link);
    resume.log_start_policy = LogStartPolicy::Resume;
    let engine = p.engine_with(resume.clone()).await;
    engine
        .create_mirror(spec(&t, &t), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, &t, "20", caught_up(20)).await;
    engine.stop().await.unwrap();
    drop(engine);

    produce(&p.a.bootstrap(), &t, &varied_records(50, 1, "more"), "none");
    p.src
        .delete_records(&t, &[(0, 60)], Duration::from_secs(10))
        .await
        .unwrap();
    let engine = p.engine_on_new_clients(resume).await;
    let s = wait_for(&engine, &t, "resumed at 60", caught_up(70)).await;
    assert_eq!(s.offset_mode, OffsetMode::Aligned, "{s:#?}");
    assert_eq!(s.partitions[0].records_lost, 40);
    let reason = s.reason.unwrap_or_default();
    assert!(
        reason.contains(&format!(
            "{t}-0 no longer has offsets 20 to 59 (40 records never copied)"
        )),
        "{reason}"
    );
    assert_aligned_copy(&p, &t);
    let read = rdkafka::consume_with(&p.b.bootstrap(), &t, "read_uncommitted").unwrap();
    assert_eq!(read.len(), 10);
    assert_eq!(read[0].offset, 60);
    engine.shutdown().await;
}
