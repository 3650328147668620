//! `mirror.log.start.policy`: what a mirror does when the source's log start moved past it
//! while it was behind (here: paused while DeleteRecords ran on the source), through the link
//! server's REST API and metrics, on Apache Kafka, checked with librdkafka and Kafka's
//! GetOffsetShell. By default (`stop`) the mirror fails, naming the lost offsets and the cause;
//! with `resume` it goes on from the new log start, still ALIGNED (the destination's log start
//! follows the source's), with the lost records in its status and in
//! `clusterlink_mirror_records_lost_total`.

mod support;

use std::time::Duration;

use clusterlink_testkit::rdkafka::{self, varied_records};
use serde_json::{json, Value};
use support::*;

peer_tests! {
    the_default_policy_stops_naming_the_lost_offsets: [kafka];
    the_resume_policy_goes_on_aligned_from_the_new_log_start: [kafka];
}

/// A mirror of a one-partition topic `t` that copied 20 records, was paused while 50 more were
/// written and the source deleted up to 60, then resumed; the link has `extra` configs.
async fn behind_the_log_start(
    peer: Peer,
    extra: &[(&str, &str)],
) -> (Server, Broker, Broker, String) {
    let (src, dst) = peer.pair().unwrap();
    let t = unique_name("behind");
    rdkafka::create_topic(&src.bootstrap(), &t, 1).unwrap();
    produce(&src.bootstrap(), &t, &varied_records(20, 1, "first"));
    let s = Server::start(&dst.bootstrap()).await;
    let (st, v) = s.create_link("l", &src, extra).await;
    assert_eq!(st, 204, "{v:#}");
    let (st, v) = s.create_mirror("l", &t).await;
    assert_eq!(st, 204, "{v:#}");
    let mirror = format!("{}/l/mirrors/{t}", s.links());
    s.wait_for(&mirror, "caught up", caught_up(20)).await;
    let change = |action: &str| format!("{}/l/mirrors:{action}", s.links());
    let (st, v) = s
        .post(&change("pause"), json!({"mirror_topic_names": [t]}))
        .await;
    assert_eq!(st, 200, "{v:#}");
    s.wait_for(&mirror, "paused", |v| v["mirror_status"] == "PAUSED")
        .await;
    produce(&src.bootstrap(), &t, &varied_records(50, 1, "more"));
    client(&src.bootstrap())
        .await
        .delete_records(&t, &[(0, 60)], Duration::from_secs(10))
        .await
        .unwrap();
    let (st, v) = s
        .post(&change("resume"), json!({"mirror_topic_names": [t]}))
        .await;
    assert_eq!(st, 200, "{v:#}");
    (s, src, dst, t)
}

/// The mirror's reason, from its state transition errors.
fn reason(m: &Value) -> String {
    m["mirror_state_transition_errors"][0]["error_message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn the_default_policy_stops_naming_the_lost_offsets(peer: Peer) {
    let (s, _src, dst, t) = behind_the_log_start(peer, &[]).await;
    let mirror = format!("{}/l/mirrors/{t}", s.links());
    let m = s
        .wait_for(&mirror, "failed", |v| v["mirror_status"] == "FAILED")
        .await;
    let why = reason(&m);
    assert!(
        why.contains(&format!(
            "{t}-0 no longer has offsets 20 to 59 (40 records never copied)"
        )),
        "{why}"
    );
    assert!(why.contains("retention or DeleteRecords"), "{why}");
    assert!(why.contains("mirror.log.start.policy=resume"), "{why}");
    assert_eq!(rdkafka::consume(&dst.bootstrap(), &t).unwrap().len(), 20);
    s.stop().await;
}

async fn the_resume_policy_goes_on_aligned_from_the_new_log_start(peer: Peer) {
    let (s, src, dst, t) =
        behind_the_log_start(peer, &[("mirror.log.start.policy", "resume")]).await;
    let mirror = format!("{}/l/mirrors/{t}", s.links());
    let m = s
        .wait_for(&mirror, "mirrored from the new log start", caught_up(70))
        .await;
    assert_eq!(m["offset_mode"], "ALIGNED", "{m:#}");
    let why = reason(&m);
    assert!(
        why.contains(&format!(
            "{t}-0 no longer has offsets 20 to 59 (40 records never copied)"
        )),
        "{why}"
    );
    assert!(
        why.contains("mirror.log.start.policy=resume: mirroring goes on from offset 60"),
        "{why}"
    );
    // The destination starts where the source does now, with the same records at the same
    // offsets, and nothing before them (no placeholder) to read.
    assert_aligned(&src, &t, &dst, &t);
    assert_eq!(
        kafka::tools::start_offsets(&dst.bootstrap(), &t).unwrap(),
        [(0, 60)].into()
    );
    let read = rdkafka::consume_with(&dst.bootstrap(), &t, "read_uncommitted").unwrap();
    assert_eq!(read.len(), 10);
    assert_eq!(read[0].offset, 60);
    let (st, text) = s.raw("GET", "/metrics", None).await;
    assert_eq!(st, 200);
    let needle = format!(
        "clusterlink_mirror_records_lost_total{{link=\"l\",topic=\"{t}\",partition=\"0\"}} 40"
    );
    assert!(text.contains(&needle), "{needle} missing from:\n{text}");
    s.stop().await;
}
