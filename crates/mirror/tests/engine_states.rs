//! A mirror's states between real clusters, checked with librdkafka: pause and resume, promote
//! (then a librdkafka producer writes to the promoted topic), failover with lag and in the
//! middle of a copy, a source topic deleted, a mirror deleted, an engine restarted on its state
//! topic. Apache Kafka always (the run's shared clusters, unique names); tansu where it ran
//! before.

mod support;

use std::time::{Duration, Instant};

use clusterlink_mirror::offset_map::OffsetMode;
use clusterlink_mirror::{Desired, MirrorError, MirrorState};
use clusterlink_testkit::peer::Peer;
use clusterlink_testkit::peer_tests;
use clusterlink_testkit::rdkafka::{self, by_partition, varied_records, ProduceSpec};
use serde_json::json;
use support::*;

peer_tests! {
    pause_resume_and_promote: [kafka, tansu];
    failover_with_lag_stops_at_once: [kafka, tansu];
    source_topic_deleted_and_mirror_deleted: [kafka, tansu];
    restart_restores_mirrors_from_the_state_topic: [kafka, tansu];
    a_paused_mirror_does_not_hold_back_the_others: [kafka, tansu];
    failover_mid_copy_lands_nothing_after_it_returns: [kafka, tansu];
}

/// PAUSE stops copying (lag grows), ACTIVE resumes where it stopped, PROMOTE waits for zero lag
/// and stops; the promoted topic takes writes from librdkafka.
async fn pause_resume_and_promote(peer: Peer) {
    let p = Pair::of(peer).await;
    let t = name("t");
    create_topic(&p.src, &t, 2, &[]).await;
    let mut all = varied_records(100, 2, "one");
    produce(&p.a.bootstrap(), &t, &all, "none");
    let engine = p.engine(&name("pr")).await;
    engine
        .create_mirror(spec(&t, &t), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, &t, "first 100", caught_up(100)).await;

    engine.set_desired(&t, Desired::Paused).await.unwrap();
    assert_eq!(engine.status(&t).unwrap().state, MirrorState::Paused);
    let two = varied_records(50, 2, "two");
    produce(&p.a.bootstrap(), &t, &two, "gzip");
    all.extend(two);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        rdkafka::consume(&p.b.bootstrap(), &t).unwrap().len(),
        100,
        "nothing copied while paused"
    );
    // lag is only known from fetches, which a paused mirror does not make: it shows what it saw
    let paused = engine.status(&t).unwrap();
    assert_eq!(destination_total(&paused), 100);

    engine.set_desired(&t, Desired::Active).await.unwrap();
    wait_for(&engine, &t, "150 after resume", caught_up(150)).await;

    let three = varied_records(40, 2, "three");
    produce(&p.a.bootstrap(), &t, &three, "snappy");
    all.extend(three);
    engine.set_desired(&t, Desired::Promote).await.unwrap();
    let stopped = wait_for(&engine, &t, "promotion", |s| {
        s.state == MirrorState::Stopped
    })
    .await;
    assert_eq!(
        destination_total(&stopped),
        190,
        "promote waits for lag zero"
    );
    assert!(stopped.reason.is_none());
    assert_eq!(stopped.offset_mode, OffsetMode::Aligned);
    let mirrored = rdkafka::consume(&p.b.bootstrap(), &t).unwrap();
    assert_eq!(by_partition(&mirrored), by_partition(&all));

    // writable: librdkafka produces into the promoted topic, after the mirrored records
    let local = varied_records(10, 2, "local");
    produce(&p.b.bootstrap(), &t, &local, "none");
    all.extend(local);
    let after = rdkafka::consume(&p.b.bootstrap(), &t).unwrap();
    assert_eq!(after.len(), 200);
    assert_eq!(by_partition(&after), by_partition(&all));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        engine.status(&t).unwrap().state,
        MirrorState::Stopped,
        "local writes do not fail a stopped mirror"
    );
    let e = engine.set_desired(&t, Desired::Active).await.unwrap_err();
    assert!(matches!(e, MirrorError::InvalidTransition { .. }), "{e}");
    engine.shutdown().await;
}

/// FAILOVER stops at once, whatever the lag; the failed-over topic takes writes.
async fn failover_with_lag_stops_at_once(peer: Peer) {
    let p = Pair::of(peer).await;
    let f = name("f");
    create_topic(&p.src, &f, 1, &[]).await;
    let first = varied_records(30, 1, "x");
    produce(&p.a.bootstrap(), &f, &first, "none");
    let engine = p.engine(&name("fo")).await;
    engine
        .create_mirror(spec(&f, &f), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, &f, "30", caught_up(30)).await;
    engine.set_desired(&f, Desired::Paused).await.unwrap();
    produce(&p.a.bootstrap(), &f, &varied_records(25, 1, "y"), "none");
    engine.set_desired(&f, Desired::Failover).await.unwrap();
    let s = engine.status(&f).unwrap();
    assert_eq!(s.state, MirrorState::Stopped);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mirrored = rdkafka::consume(&p.b.bootstrap(), &f).unwrap();
    assert_eq!(
        by_partition(&mirrored),
        by_partition(&first),
        "nothing more after failover"
    );
    let local = varied_records(5, 1, "local");
    produce(&p.b.bootstrap(), &f, &local, "none");
    assert_eq!(rdkafka::consume(&p.b.bootstrap(), &f).unwrap().len(), 35);
    engine.shutdown().await;
}

/// Deleting the source topic fails the mirror with that reason; deleting the mirror deletes
/// the destination topic.
async fn source_topic_deleted_and_mirror_deleted(peer: Peer) {
    let p = Pair::of(peer).await;
    let (gone, keep) = (name("gone"), name("keep"));
    create_topic(&p.src, &gone, 2, &[]).await;
    create_topic(&p.src, &keep, 1, &[]).await;
    produce(&p.a.bootstrap(), &gone, &varied_records(10, 2, "g"), "none");
    let engine = p.engine(&name("del")).await;
    engine
        .create_mirror(spec(&gone, &gone), Desired::Active)
        .await
        .unwrap();
    engine
        .create_mirror(spec(&keep, &keep), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, &gone, "10", caught_up(10)).await;
    p.src
        .delete_topics(std::slice::from_ref(&gone), Duration::from_secs(10))
        .await
        .unwrap();
    let s = wait_for(&engine, &gone, "FAILED", |s| s.state == MirrorState::Failed).await;
    assert!(
        s.reason
            .as_deref()
            .unwrap_or("")
            .contains(&format!("source topic {gone} was deleted")),
        "{s:#?}"
    );
    assert_eq!(
        engine.status(&keep).unwrap().state,
        MirrorState::Active,
        "other mirrors go on"
    );
    // What was mirrored stays readable.
    assert_eq!(rdkafka::consume(&p.b.bootstrap(), &gone).unwrap().len(), 10);

    engine.delete_mirror(&keep).await.unwrap();
    assert!(engine.status(&keep).is_none());
    wait_until_gone(&p.b.bootstrap(), &keep);
    engine.shutdown().await;
}

/// A new engine on the same state topic (a restart) picks up every mirror and goes on
/// without copying anything twice.
async fn restart_restores_mirrors_from_the_state_topic(peer: Peer) {
    let p = Pair::of(peer).await;
    let (r, link) = (name("r"), name("rs"));
    create_topic(&p.src, &r, 3, &[]).await;
    produce(&p.a.bootstrap(), &r, &varied_records(90, 3, "one"), "none");
    let engine = p.engine(&link).await;
    engine
        .create_mirror(spec(&r, &r), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, &r, "90", caught_up(90)).await;
    engine.set_desired(&r, Desired::Paused).await.unwrap();
    engine.shutdown().await;
    drop(engine);

    produce(&p.a.bootstrap(), &r, &varied_records(60, 3, "two"), "none");
    // new clients, as a restarted process has
    let engine = p.engine_on_new_clients(settings(&link)).await;
    let s = engine.status(&r).expect("restored");
    assert_eq!(s.state, MirrorState::Paused, "the desired state survives");
    engine.set_desired(&r, Desired::Active).await.unwrap();
    let s = wait_for(&engine, &r, "150", caught_up(150)).await;
    assert_eq!(s.offset_mode, OffsetMode::Aligned);
    let source_view = rdkafka::consume(&p.a.bootstrap(), &r).unwrap();
    let mirrored = rdkafka::consume(&p.b.bootstrap(), &r).unwrap();
    assert_eq!(mirrored.len(), 150);
    assert_eq!(by_partition(&mirrored), by_partition(&source_view));
    engine.shutdown().await;
}

/// A paused mirror keeps the batches it had fetched (for when it resumes), and those do not
/// count against the link's buffer: with a one-byte buffer, another mirror of the link still
/// moves while the first is paused mid-copy, and the paused one resumes to a complete copy.
async fn a_paused_mirror_does_not_hold_back_the_others(peer: Peer) {
    let p = Pair::of(peer).await;
    let (big, other) = (name("big"), name("other"));
    create_topic(&p.src, &big, 1, &[]).await;
    create_topic(&p.src, &other, 1, &[]).await;
    let mut all = Vec::new();
    for round in 0..20 {
        let records = varied_records(50, 1, &format!("r{round}"));
        produce(&p.a.bootstrap(), &big, &records, "none");
        all.extend(records);
    }
    let mut s = settings(&name("hold"));
    s.buffer_max_bytes = 1;
    s.max_in_flight = 1;
    let engine = p.engine_with(s).await;
    engine
        .create_mirror(spec(&big, &big), Desired::Active)
        .await
        .unwrap();
    // Paused as soon as it moved: it still lags, holding fetched batches.
    let start = Instant::now();
    loop {
        let s = engine.status(&big).unwrap();
        if destination_total(&s) > 0 {
            engine.set_desired(&big, Desired::Paused).await.unwrap();
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{s:#?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    produce(
        &p.a.bootstrap(),
        &other,
        &varied_records(10, 1, "o"),
        "none",
    );
    engine
        .create_mirror(spec(&other, &other), Desired::Active)
        .await
        .unwrap();
    wait_for(&engine, &other, "10 records mirrored", caught_up(10)).await;
    engine.set_desired(&big, Desired::Active).await.unwrap();
    wait_for(&engine, &big, "1000 records mirrored", caught_up(1000)).await;
    let mirrored = rdkafka::consume(&p.b.bootstrap(), &big).unwrap();
    assert_eq!(by_partition(&mirrored), by_partition(&all));
    engine.shutdown().await;
}

/// FAILOVER in the middle of a copy, with batches queued and in flight: once it returns,
/// nothing more lands on the destination, and the mirror's position is what the destination
/// holds (aligned: the next source offset is the destination's end), not what was fetched.
async fn failover_mid_copy_lands_nothing_after_it_returns(peer: Peer) {
    let p = Pair::of(peer).await;
    let busy = name("busy");
    create_topic(&p.src, &busy, 2, &[]).await;
    // Many small batches: a long queue per partition.
    let spec_many = ProduceSpec {
        topic: busy.clone(),
        config: [("batch.num.messages".to_string(), json!(5))].into(),
        records: Some(varied_records(1800, 2, "busy")),
        transactions: None,
    };
    assert_eq!(
        rdkafka::produce(&p.a.bootstrap(), &spec_many).unwrap(),
        1800
    );
    let engine = p.engine(&name("fom")).await;
    engine
        .create_mirror(spec(&busy, &busy), Desired::Active)
        .await
        .unwrap();
    let start = Instant::now();
    loop {
        let s = engine.status(&busy).unwrap();
        if destination_total(&s) > 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{s:#?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    engine.set_desired(&busy, Desired::Failover).await.unwrap();
    let s = engine.status(&busy).unwrap();
    assert_eq!(s.state, MirrorState::Stopped);
    let at_failover = rdkafka::consume(&p.b.bootstrap(), &busy).unwrap().len() as i64;
    assert_eq!(at_failover, destination_total(&s), "{s:#?}");
    for p in &s.partitions {
        assert_eq!(p.next_source_offset, p.destination_end, "{p:#?}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        rdkafka::consume(&p.b.bootstrap(), &busy).unwrap().len() as i64,
        at_failover,
        "nothing lands after failover"
    );
    engine.shutdown().await;
}
