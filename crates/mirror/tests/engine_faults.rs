//! The mirroring engine when the network or a source topic changes under it, checked with
//! librdkafka: a network cut to the source (the test proxy in front of a private Kafka node,
//! or of tansu), a destination unreachable past the retry timeout, and a source topic that
//! grows (on Kafka for real, with Kafka's own tool; tansu cannot add partitions, so the proxy
//! shows it grown), and record batches damaged on their way from the source (the proxy flips a
//! bit in a Fetch answer: a real broker's own checksums never let that happen). Apache Kafka
//! always; tansu where it ran before.

mod support;

use std::time::Duration;

use clusterlink_mirror::offset_map::OffsetMode;
use clusterlink_mirror::{Desired, MirrorState};
use clusterlink_testkit::kafka::tools;
use clusterlink_testkit::peer::{Peer, Side};
use clusterlink_testkit::peer_tests;
use clusterlink_testkit::rdkafka::{self, by_partition, varied_records};
use support::*;

peer_tests! {
    network_cut_to_the_source_and_back: [kafka, tansu];
    retries_exhausted_fail_the_mirror: [kafka, tansu];
    source_partitions_added: [kafka, tansu];
    corrupt_source_batches_are_never_written: [kafka];
    an_offset_the_source_does_not_have_fails_the_mirror_with_the_right_cause: [kafka];
}

/// The source answers OFFSET_OUT_OF_RANGE for two different reasons, and the mirror names the
/// right one with the exact offsets: retention (here DeleteRecords) ran past a paused mirror,
/// so offsets 20 to 59 are gone before they were copied; or the source topic was deleted and
/// created again with fewer records, so its log ends before the mirror's next offset. Nothing
/// after the gap is written in either case.
async fn an_offset_the_source_does_not_have_fails_the_mirror_with_the_right_cause(peer: Peer) {
    let p = Pair::of(peer).await;
    let engine = p.engine(&name("oor")).await;
    let (retained, recreated) = (name("retained"), name("recreated"));
    for t in [&retained, &recreated] {
        create_topic(&p.src, t, 1, &[]).await;
        produce(&p.a.bootstrap(), t, &varied_records(20, 1, "first"), "none");
        engine
            .create_mirror(spec(t, t), Desired::Active)
            .await
            .unwrap();
        wait_for(&engine, t, "20", caught_up(20)).await;
        engine.set_desired(t, Desired::Paused).await.unwrap();
        wait_for(&engine, t, "PAUSED", |s| s.state == MirrorState::Paused).await;
    }

    // Retention runs past the paused mirror: 50 more records, the first 60 deleted.
    produce(
        &p.a.bootstrap(),
        &retained,
        &varied_records(50, 1, "more"),
        "none",
    );
    p.src
        .delete_records(&retained, &[(0, 60)], Duration::from_secs(10))
        .await
        .unwrap();
    // The other topic is replaced by one with 5 records.
    p.src
        .delete_topics(std::slice::from_ref(&recreated), Duration::from_secs(10))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    create_topic(&p.src, &recreated, 1, &[]).await;
    produce(
        &p.a.bootstrap(),
        &recreated,
        &varied_records(5, 1, "new"),
        "none",
    );

    for t in [&retained, &recreated] {
        engine.set_desired(t, Desired::Active).await.unwrap();
    }
    let failed = |s: &clusterlink_mirror::MirrorStatus| s.state == MirrorState::Failed;
    let st = wait_for(&engine, &retained, "FAILED", failed).await;
    let reason = st.reason.unwrap_or_default();
    assert!(
        reason.contains(&format!(
            "{retained}-0 no longer has offsets 20 to 59 (40 records never copied)"
        )),
        "{reason}"
    );
    assert!(reason.contains("its log start moved to 60"), "{reason}");
    let st = wait_for(&engine, &recreated, "FAILED", failed).await;
    let reason = st.reason.unwrap_or_default();
    assert!(
        reason.contains(&format!(
            "{recreated}-0 ends at offset 5, before the mirror's next offset 20"
        )),
        "{reason}"
    );
    assert!(!reason.contains("retention"), "{reason}");
    for t in [&retained, &recreated] {
        assert_eq!(
            rdkafka::consume(&p.b.bootstrap(), t).unwrap().len(),
            20,
            "{t}"
        );
    }
    engine.shutdown().await;
}

/// A batch whose CRC-32C does not match its bytes is never re-stamped and written: a damaged
/// Fetch answer is dropped and fetched again, and the mirror stays exact; a source that keeps
/// answering damaged data fails the mirror past the retry timeout, naming the offset, with
/// nothing of it written.
async fn corrupt_source_batches_are_never_written(peer: Peer) {
    let a = peer.private_behind_proxy("crc-a").unwrap();
    let b = peer.cluster(Side::B).unwrap();
    let p = Pair::new(peer, a, b).await;
    let c = name("crc");
    create_topic(&p.src, &c, 1, &[]).await;
    produce(
        &p.a.bootstrap(),
        &c,
        &varied_records(20, 1, "clean"),
        "none",
    );
    let mut s = settings(&name("crc"));
    s.retry_timeout = Duration::from_secs(2);
    let engine = p.engine_with(s).await;
    engine
        .create_mirror(spec(&c, &c), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, &c, "20", caught_up(20)).await;

    // Once: dropped, fetched again, exact.
    let proxy = p.a.proxy();
    proxy.corrupt_fetch_for(&c);
    produce(&p.a.bootstrap(), &c, &varied_records(10, 1, "once"), "none");
    wait_for(&engine, &c, "30", caught_up(30)).await;
    assert_eq!(proxy.corrupted_responses(), 1, "the fault happened");
    let source_view = rdkafka::consume(&p.a.bootstrap(), &c).unwrap();
    let mirrored = rdkafka::consume(&p.b.bootstrap(), &c).unwrap();
    assert_eq!(by_partition(&mirrored), by_partition(&source_view));

    // Every time: the mirror fails, naming the batch, and writes none of it.
    for _ in 0..10_000 {
        proxy.corrupt_fetch_for(&c);
    }
    produce(
        &p.a.bootstrap(),
        &c,
        &varied_records(5, 1, "always"),
        "none",
    );
    let st = wait_for(&engine, &c, "FAILED", |s| s.state == MirrorState::Failed).await;
    let reason = st.reason.unwrap_or_default();
    assert!(reason.contains(&format!("{c}-0 at offset 30")), "{reason}");
    assert!(reason.contains("corrupt"), "{reason}");
    assert!(
        proxy.corrupted_responses() > 2,
        "fetched again before failing"
    );
    assert_eq!(rdkafka::consume(&p.b.bootstrap(), &c).unwrap().len(), 30);
    engine.shutdown().await;
}

/// A network cut to the source: SOURCE_UNAVAILABLE, then mirroring resumes by itself, with
/// nothing lost or duplicated.
async fn network_cut_to_the_source_and_back(peer: Peer) {
    let a = peer.private_behind_proxy("cut-a").unwrap();
    let b = peer.cluster(Side::B).unwrap();
    let p = Pair::new(peer, a, b).await;
    let c = name("c");
    create_topic(&p.src, &c, 2, &[]).await;
    produce(
        &p.a.bootstrap(),
        &c,
        &varied_records(100, 2, "before"),
        "lz4",
    );
    let engine = p.engine(&name("cut")).await;
    engine
        .create_mirror(spec(&c, &c), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, &c, "100", caught_up(100)).await;

    p.a.cut_network();
    let s = wait_for(&engine, &c, "SOURCE_UNAVAILABLE", |s| {
        s.state == MirrorState::SourceUnavailable
    })
    .await;
    assert!(s.reason.is_some(), "{s:#?}");
    // Written while the mirror cannot see the source (on Kafka, around the proxy).
    if peer == Peer::Kafka {
        produce(
            &p.a.bootstrap(),
            &c,
            &varied_records(50, 2, "during"),
            "lz4",
        );
    }
    p.a.restore_network();
    produce(
        &p.a.bootstrap(),
        &c,
        &varied_records(100, 2, "after"),
        "lz4",
    );
    let total = if peer == Peer::Kafka { 250 } else { 200 };
    let s = wait_for(&engine, &c, "everything after the cut", caught_up(total)).await;
    assert_eq!(s.offset_mode, OffsetMode::Aligned);
    let source_view = rdkafka::consume(&p.a.bootstrap(), &c).unwrap();
    let mirrored = rdkafka::consume(&p.b.bootstrap(), &c).unwrap();
    assert_eq!(mirrored.len(), total as usize);
    assert_eq!(by_partition(&mirrored), by_partition(&source_view));
    engine.shutdown().await;
}

/// A destination that stays unreachable longer than `cluster.link.retry.timeout.ms` fails the
/// mirror, saying so.
async fn retries_exhausted_fail_the_mirror(peer: Peer) {
    let a = peer.cluster(Side::A).unwrap();
    let b = peer.private_behind_proxy("rt-b").unwrap();
    let p = Pair::new(peer, a, b).await;
    let rt = name("rt");
    create_topic(&p.src, &rt, 1, &[]).await;
    let mut s = settings(&name("rt"));
    s.retry_timeout = Duration::from_millis(800);
    let engine = p.engine_with(s).await;
    engine
        .create_mirror(spec(&rt, &rt), Desired::Active)
        .await
        .unwrap();
    produce(&p.a.bootstrap(), &rt, &varied_records(5, 1, "a"), "none");
    wait_for(&engine, &rt, "5", caught_up(5)).await;
    p.b.cut_network();
    produce(&p.a.bootstrap(), &rt, &varied_records(5, 1, "b"), "none");
    let st = wait_for(&engine, &rt, "FAILED", |s| s.state == MirrorState::Failed).await;
    let reason = st.reason.unwrap_or_default();
    assert!(
        reason.contains("retries exhausted after cluster.link.retry.timeout.ms=800"),
        "{reason}"
    );
    assert!(reason.contains("destination"), "{reason}");
    // Nothing of the second round landed, nor lands once the network is back: the mirror
    // failed. (tansu is reached only through its proxy.)
    p.b.restore_network();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rdkafka::consume(&p.b.bootstrap(), &rt).unwrap().len(), 5);
}

/// A source topic that grows: on Kafka (partitions added with Kafka's own tool) the engine adds
/// them to the mirror topic with CreatePartitions and mirrors them, exactly; tansu implements
/// no CreatePartitions (so the proxy in front of its source shows the topic grown), and the
/// mirror reports exactly why it cannot follow and keeps mirroring the partitions it has.
async fn source_partitions_added(peer: Peer) {
    let a = match peer {
        Peer::Kafka => peer.cluster(Side::A).unwrap(),
        _ => peer.private_behind_proxy("grow-a").unwrap(),
    };
    let b = peer.cluster(Side::B).unwrap();
    let mut p = Pair::new(peer, a, b).await;
    let grows = name("grows");
    create_topic(&p.src, &grows, 2, &[]).await;
    produce(
        &p.a.bootstrap(),
        &grows,
        &varied_records(40, 2, "g1"),
        "none",
    );
    let engine = p.engine(&name("grow")).await;
    engine
        .create_mirror(spec(&grows, &grows), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, &grows, "40 records mirrored", caught_up(40)).await;
    match peer {
        Peer::Kafka => {
            tools::tool(
                &p.a.bootstrap(),
                "org.apache.kafka.tools.TopicCommand",
                &["--alter", "--topic", &grows, "--partitions", "3"],
            )
            .unwrap();
            wait_for(&engine, &grows, "the third partition", |s| {
                s.partitions.len() == 3
            })
            .await;
            let more = varied_records(30, 3, "g2");
            produce(&p.a.bootstrap(), &grows, &more, "none");
            let s = wait_for(&engine, &grows, "70 records mirrored", caught_up(70)).await;
            assert_eq!(s.offset_mode, OffsetMode::Aligned);
            assert!(s.reason.is_none(), "{s:#?}");
            let described = tools::describe_topic(&p.b.bootstrap(), &grows).unwrap();
            assert_eq!(described.partitions.len(), 3);
            let source_view = rdkafka::consume(&p.a.bootstrap(), &grows).unwrap();
            let mirrored = rdkafka::consume(&p.b.bootstrap(), &grows).unwrap();
            assert_eq!(mirrored.len(), 70);
            assert_eq!(by_partition(&mirrored), by_partition(&source_view));
        }
        _ => {
            p.a.tansu().grow_topic_in_metadata(&grows, 3);
            let status = wait_for(&engine, &grows, "the growth reported", |s| {
                s.reason
                    .as_deref()
                    .is_some_and(|r| r.contains("grew to 3 partitions"))
            })
            .await;
            let reason = status.reason.clone().unwrap();
            assert!(
                reason.contains("the destination cannot follow")
                    && reason.contains("CreatePartitions"),
                "{reason}"
            );
            assert_eq!(status.state, MirrorState::Active);
            assert_eq!(status.partitions.len(), 2);
            // The partitions it has keep moving.
            produce(
                &p.a.bootstrap(),
                &grows,
                &varied_records(20, 2, "g2"),
                "none",
            );
            wait_for(&engine, &grows, "60 records mirrored", |s| {
                destination_total(s) == 60
            })
            .await;
            let mirrored = rdkafka::consume(&p.b.bootstrap(), &grows).unwrap();
            assert_eq!(mirrored.len(), 60);
        }
    }
    engine.shutdown().await;
}
