//! Failback through the REST API (`mirrors:truncate-and-restore`,
//! `mirrors:reverse-and-start-mirror`, `mirrors:reverse-and-pause-mirror`) on Apache Kafka, with
//! two link servers and a link each way: A served producers, B mirrored A and failed over while
//! A held records B never fetched; A is restored from B (its divergent tail kept aside, offsets
//! equal to B's), then a planned failback reverses the direction again. Every check reads the
//! clusters with librdkafka.
//!
//! Kafka only: the restore fences producers with `max.message.bytes=0`, which tansu and the mock
//! do not enforce.

mod support;

use clusterlink_server::ManagerOptions;
use clusterlink_testkit::rdkafka::{self, by_partition, varied_records, Msg};
use serde_json::{json, Value};
use support::*;

/// `mirrors:<action>` of `topic` on `link`, with query `q`; the status and the per-topic entry.
async fn act(s: &Server, link: &str, action: &str, q: &str, topic: &str) -> (u16, Value) {
    let (st, v) = s
        .post(
            &format!("{}/{link}/mirrors:{action}{q}", s.links()),
            json!({ "mirror_topic_names": [topic] }),
        )
        .await;
    (st, v["data"][0].clone())
}

fn mirror_path(s: &Server, link: &str, topic: &str) -> String {
    format!("{}/{link}/mirrors/{topic}", s.links())
}

/// The records of `msgs` on `partition`, in offset order.
fn on(msgs: &[Msg], partition: i32) -> Vec<Msg> {
    let mut m: Vec<Msg> = msgs
        .iter()
        .filter(|m| m.partition == partition)
        .cloned()
        .collect();
    m.sort_by_key(|m| m.offset);
    m
}

/// The links between the clusters: on A (pulling from B) and on B (pulling from A).
struct Links {
    on_a: String,
    on_b: String,
}

/// `topic` on A with `partitions` and `n` records; a link server on each cluster, a link each
/// way (`a-to-b` on B, `b-to-a` on A), and B mirroring the topic, caught up.
async fn linked_both_ways(
    a: &Broker,
    b: &Broker,
    topic: &str,
    partitions: i32,
    n: usize,
) -> (Server, Server) {
    let links = Links {
        on_a: "b-to-a".into(),
        on_b: "a-to-b".into(),
    };
    linked(a, b, topic, (partitions, n), &links, false).await
}

/// As [`linked_both_ways`], with the links named in `links`; `bidirectional`: the two halves of
/// one BIDIRECTIONAL link (destination-initiated on both sides, sharing B's link id).
async fn linked(
    a: &Broker,
    b: &Broker,
    topic: &str,
    (partitions, n): (i32, usize),
    links: &Links,
    bidirectional: bool,
) -> (Server, Server) {
    rdkafka::create_topic(&a.bootstrap(), topic, partitions).unwrap();
    produce(
        &a.bootstrap(),
        topic,
        &varied_records(n, partitions, "first"),
    );
    let sa = Server::start(&a.bootstrap()).await;
    let sb = Server::start(&b.bootstrap()).await;
    if bidirectional {
        let mode = [("link.mode", "BIDIRECTIONAL")];
        assert_eq!(sb.create_link(&links.on_b, a, &mode).await.0, 204);
        let (_, l) = sb.get(&format!("{}/{}", sb.links(), links.on_b)).await;
        let mut body = link_body(b, &mode);
        body["cluster_link_id"] = l["cluster_link_id"].clone();
        let path = format!("{}?link_name={}", sa.links(), links.on_a);
        let (st, v) = sa.post(&path, body).await;
        assert_eq!(st, 204, "{v:#}");
    } else {
        assert_eq!(sb.create_link(&links.on_b, a, &[]).await.0, 204);
        assert_eq!(sa.create_link(&links.on_a, b, &[]).await.0, 204);
    }
    assert_eq!(sb.create_mirror(&links.on_b, topic).await.0, 204);
    sb.wait_for(
        &mirror_path(&sb, &links.on_b, topic),
        "B mirrors A",
        caught_up(n as i64),
    )
    .await;
    (sa, sb)
}

async fn a_failed_over_topic_is_restored_then_reversed(peer: Peer) {
    let links = Links {
        on_a: "b-to-a".into(),
        on_b: "a-to-b".into(),
    };
    restore_then_reverse(peer, &links, false).await;
}

/// The same on the two halves of one bidirectional link (Confluent offers these actions on
/// bidirectional links only).
async fn a_failed_over_topic_is_restored_then_reversed_on_a_bidirectional_link(peer: Peer) {
    let name = unique_name("dr");
    let links = Links {
        on_a: name.clone(),
        on_b: name,
    };
    restore_then_reverse(peer, &links, true).await;
}

async fn restore_then_reverse(peer: Peer, links: &Links, bidirectional: bool) {
    let (a, b) = peer.pair().unwrap();
    let topic = unique_name("orders");
    let (sa, sb) = linked(&a, &b, &topic, (2, 100), links, bidirectional).await;
    let (on_a, on_b) = (links.on_a.as_str(), links.on_b.as_str());

    // Nothing to restore from while B's mirror is live.
    let (st, r) = act(&sa, on_a, "truncate-and-restore", "", &topic).await;
    assert_eq!(st, 200, "{r:#}");
    assert_eq!(r["error_code"], 400, "{r:#}");
    assert!(
        r["error_message"]
            .as_str()
            .unwrap()
            .contains("fail it over"),
        "{r:#}"
    );

    // A acknowledges 30 records B never fetches (its mirror paused: A is cut off), then B
    // fails over and takes the producers.
    assert_eq!(act(&sb, on_b, "pause", "", &topic).await.0, 200);
    let diverged = varied_records(30, 2, "lost-with-a");
    produce(&a.bootstrap(), &topic, &diverged);
    let (st, r) = act(&sb, on_b, "failover", "", &topic).await;
    assert_eq!((st, r["error_code"].clone()), (200, Value::Null), "{r:#}");
    sb.wait_for(&mirror_path(&sb, on_b, &topic), "B failed over", |m| {
        m["mirror_status"] == "STOPPED"
    })
    .await;
    produce(&b.bootstrap(), &topic, &varied_records(40, 2, "on-b"));
    let a_before = rdkafka::consume(&a.bootstrap(), &topic).unwrap();

    // A back: a validate-only restore says what it would cut and changes nothing.
    let (st, r) = act(
        &sa,
        on_a,
        "truncate-and-restore",
        "?validate_only=true&include_partition_level_truncation_data=true",
        &topic,
    )
    .await;
    assert_eq!((st, r["error_code"].clone()), (200, Value::Null), "{r:#}");
    assert_eq!(r["messages_truncated"], 30, "{r:#}");
    assert_eq!(rdkafka::consume(&a.bootstrap(), &topic).unwrap().len(), 130);

    // The restore: A's tail cut (kept aside), A a mirror of B with B's offsets.
    let (st, r) = act(
        &sa,
        on_a,
        "truncate-and-restore",
        "?include_partition_level_truncation_data=true",
        &topic,
    )
    .await;
    assert_eq!((st, r["error_code"].clone()), (200, Value::Null), "{r:#}");
    assert_eq!(r["messages_truncated"], 30, "{r:#}");
    let side = format!("{topic}.diverged");
    assert_eq!(r["diverged_records_topic"], side.as_str(), "{r:#}");
    let per_partition = r["partition_level_truncation_data"].as_array().unwrap();
    assert_eq!(per_partition.len(), 2, "{r:#}");
    for d in per_partition {
        let p = d["partition_id"].as_i64().unwrap() as i32;
        // Each partition was cut where B's mirror stopped: after A's first 50.
        assert_eq!(d["offset_truncated_to"], 50, "{r:#}");
        assert_eq!(d["messages_truncated"], 15, "{r:#}");
        assert_eq!(on(&a_before, p).len(), 65);
    }
    sa.wait_for(
        &mirror_path(&sa, on_a, &topic),
        "A mirrors B",
        caught_up(140),
    )
    .await;
    assert_aligned(&b, &topic, &a, &topic);
    // The mirror's status keeps what was cut, and where it went.
    let (_, m) = sa.get(&mirror_path(&sa, on_a, &topic)).await;
    assert_eq!(m["truncation"]["messages_truncated"], 30, "{m:#}");
    assert_eq!(
        m["truncation"]["diverged_records_topic"],
        side.as_str(),
        "{m:#}"
    );
    // The cut records wait in the side topic, as they were, partition by partition.
    let kept = rdkafka::consume(&a.bootstrap(), &side).unwrap();
    let cut: Vec<Msg> = a_before
        .iter()
        .filter(|m| m.offset >= 50)
        .cloned()
        .collect();
    assert_eq!(by_partition(&kept), by_partition(&cut));
    // Asking again changes nothing: A is already a mirror.
    let (_, r) = act(&sa, on_a, "truncate-and-restore", "", &topic).await;
    assert_eq!(r["error_code"], 400, "{r:#}");

    // Planned failback: producers stop on B, A's mirror is promoted and B's topic becomes a
    // mirror of A's, from where both end.
    let (st, r) = act(&sa, on_a, "reverse-and-start-mirror", "", &topic).await;
    assert_eq!((st, r["error_code"].clone()), (200, Value::Null), "{r:#}");
    sa.wait_for(&mirror_path(&sa, on_a, &topic), "A promoted", |m| {
        m["mirror_status"] == "STOPPED"
    })
    .await;
    sb.wait_for(&mirror_path(&sb, on_b, &topic), "B mirrors A again", |m| {
        m["mirror_status"] == "ACTIVE" && m["source_topic_name"] == topic.as_str()
    })
    .await;
    produce(&a.bootstrap(), &topic, &varied_records(20, 2, "back-on-a"));
    sb.wait_for(
        &mirror_path(&sb, on_b, &topic),
        "B mirrors A's new records",
        caught_up(160),
    )
    .await;
    assert_aligned(&a, &topic, &b, &topic);
}

/// A reverse whose source topic was written after the mirror stopped is refused on the other
/// side, with the reason kept in its request; nothing is adopted with a gap or an overlap.
async fn a_reverse_of_a_topic_written_since_is_refused(peer: Peer) {
    let (a, b) = peer.pair().unwrap();
    let topic = unique_name("payments");
    let (sa, sb) = linked_both_ways(&a, &b, &topic, 1, 10).await;
    // A's link server is down while B reverses-and-pauses (B's mirror promoted, A's topic asked
    // to mirror B's, paused) and A's producers write 3 more: A's topic no longer ends where
    // B's mirror stopped.
    sa.stop().await;
    let (st, r) = act(&sb, "a-to-b", "reverse-and-pause-mirror", "", &topic).await;
    assert_eq!((st, r["error_code"].clone()), (200, Value::Null), "{r:#}");
    sb.wait_for(&mirror_path(&sb, "a-to-b", &topic), "B promoted", |m| {
        m["mirror_status"] == "STOPPED"
    })
    .await;
    // The request reaches A's state topic once B's mirror stopped.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    produce(&a.bootstrap(), &topic, &varied_records(3, 1, "after-stop"));
    // A back: it finds the request and refuses it; no mirror, A's topic keeps its 13 records.
    let sa = Server::start(&a.bootstrap()).await;
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let (st, _) = sa.get(&mirror_path(&sa, "b-to-a", &topic)).await;
    assert_eq!(st, 404);
    assert_eq!(rdkafka::consume(&a.bootstrap(), &topic).unwrap().len(), 13);
    // The reason stays with the request, in A's state topic.
    let local = client(&a.bootstrap()).await;
    let state = clusterlink_mirror::store::read_state(
        &local,
        clusterlink_testkit::link_server::state_topic(),
    )
    .await
    .unwrap();
    let key = format!("reverse/{}/{topic}", sb.manager.cluster_id());
    let request: Value = serde_json::from_slice(&state[&key]).unwrap();
    assert!(
        request["error"]
            .as_str()
            .unwrap()
            .contains("records were written to it since"),
        "{request:#}"
    );
}

/// A restore is a task of its own: an answer that does not wait for it (here at once) reports
/// it under way, the link lists the topic PENDING_SETUP_FOR_RESTORE meanwhile, and the restore
/// completes all the same.
async fn a_restore_goes_on_after_its_answer(peer: Peer) {
    let (a, b) = peer.pair().unwrap();
    let topic = unique_name("refunds");
    let (sa, sb) = linked_both_ways(&a, &b, &topic, 1, 10).await;
    assert_eq!(act(&sb, "a-to-b", "pause", "", &topic).await.0, 200);
    produce(&a.bootstrap(), &topic, &varied_records(4, 1, "only-on-a"));
    assert_eq!(act(&sb, "a-to-b", "failover", "", &topic).await.0, 200);
    sb.wait_for(&mirror_path(&sb, "a-to-b", &topic), "B failed over", |m| {
        m["mirror_status"] == "STOPPED"
    })
    .await;
    // A's link server, this time answering without waiting for restores.
    sa.stop().await;
    let options = ManagerOptions {
        restore_answer_within: std::time::Duration::ZERO,
        ..options()
    };
    let sa = Server::start_with(&a.bootstrap(), options).await;
    // Two requests at once start one restore: the other is told it is starting, or under way.
    let (first, second) = tokio::join!(
        act(&sa, "b-to-a", "truncate-and-restore", "", &topic),
        act(&sa, "b-to-a", "truncate-and-restore", "", &topic)
    );
    let ((st, r), (_, other)) = if first.1["error_code"].is_null() {
        (first, second)
    } else {
        (second, first)
    };
    assert!(
        other["error_code"].is_null()
            || other["error_message"]
                .as_str()
                .unwrap()
                .contains("is starting"),
        "{other:#}"
    );
    assert_eq!((st, r["error_code"].clone()), (200, Value::Null), "{r:#}");
    assert_eq!(r["messages_truncated"], 4, "{r:#}");
    // Listed at once: under way, or (on a fast machine) already restored.
    let (st, m) = sa.get(&mirror_path(&sa, "b-to-a", &topic)).await;
    assert_eq!(st, 200, "{m:#}");
    let seen = m["mirror_status"].as_str().unwrap().to_owned();
    assert!(
        ["PENDING_SETUP_FOR_RESTORE", "PENDING_RESTORE", "ACTIVE"].contains(&seen.as_str()),
        "{m:#}"
    );
    // Asking again while it is under way starts nothing new and says the same.
    let (_, again) = act(&sa, "b-to-a", "truncate-and-restore", "", &topic).await;
    assert_eq!(again["error_code"], Value::Null, "{again:#}");
    sa.wait_for(
        &mirror_path(&sa, "b-to-a", &topic),
        "A restored",
        caught_up(10),
    )
    .await;
    assert_aligned(&b, &topic, &a, &topic);
    assert_eq!(
        rdkafka::consume(&a.bootstrap(), &format!("{topic}.diverged"))
            .unwrap()
            .len(),
        4
    );
    let topics = rdkafka::topics(&a.bootstrap()).unwrap();
    assert!(
        !topics.contains_key(&format!("{topic}.diverged.2")),
        "a second restore ran"
    );
}

/// A link server that restarts while its link's source is down cannot start the link's engine
/// (recovery replays from the source), but the mirrors are listed from the state topic and fail
/// over all the same, at the destination's end; when the source is back, the engine starts with
/// them STOPPED and writes nothing more to them.
async fn a_link_server_restarted_while_its_source_is_down_fails_over_all_the_same(peer: Peer) {
    let mut a = peer.private("cluster-a").unwrap();
    let b = peer.cluster(Side::B).unwrap();
    let topic = unique_name("ledger");
    rdkafka::create_topic(&a.bootstrap(), &topic, 1).unwrap();
    produce(&a.bootstrap(), &topic, &varied_records(20, 1, "before"));
    let sb = Server::start(&b.bootstrap()).await;
    assert_eq!(sb.create_link("a-to-b", &a, &[]).await.0, 204);
    assert_eq!(sb.create_mirror("a-to-b", &topic).await.0, 204);
    sb.wait_for(
        &mirror_path(&sb, "a-to-b", &topic),
        "B mirrors A",
        caught_up(20),
    )
    .await;
    sb.stop().await;
    let Broker::Kafka(k) = &mut a else {
        panic!("a Kafka cluster")
    };
    k.kill_node(1).unwrap();

    // B's link server starts again while A is down: the mirror is listed, and fails over.
    let sb = Server::start(&b.bootstrap()).await;
    let m = sb
        .wait_for(
            &mirror_path(&sb, "a-to-b", &topic),
            "the mirror listed",
            |m| m["mirror_status"] == "SOURCE_UNAVAILABLE",
        )
        .await;
    assert!(
        m["mirror_state_transition_errors"][0]["error_message"]
            .as_str()
            .unwrap()
            .contains("not running"),
        "{m:#}"
    );
    let (st, r) = act(&sb, "a-to-b", "failover", "", &topic).await;
    assert_eq!((st, r["error_code"].clone()), (200, Value::Null), "{r:#}");
    let (_, m) = sb.get(&mirror_path(&sb, "a-to-b", &topic)).await;
    assert_eq!(m["mirror_status"], "STOPPED", "{m:#}");
    assert_eq!(m["mirror_lags"][0]["last_source_fetch_offset"], 20, "{m:#}");
    produce(&b.bootstrap(), &topic, &varied_records(5, 1, "on-b"));

    // A is back, and written to: B's engine starts, the mirror stays STOPPED, nothing of A's
    // lands on B.
    let Broker::Kafka(k) = &mut a else {
        panic!("a Kafka cluster")
    };
    k.start_node(1).unwrap();
    produce(&a.bootstrap(), &topic, &varied_records(7, 1, "after"));
    sb.wait_for(&format!("{}/a-to-b", sb.links()), "the link running", |l| {
        l["link_state"] == "ACTIVE"
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (_, m) = sb.get(&mirror_path(&sb, "a-to-b", &topic)).await;
    assert_eq!(m["mirror_status"], "STOPPED", "{m:#}");
    assert_eq!(rdkafka::consume(&b.bootstrap(), &topic).unwrap().len(), 25);
}

/// The paths of Confluent Platform's spec name the same actions.
async fn the_platform_spec_paths_name_the_reverse_actions(peer: Peer) {
    let (a, b) = peer.pair().unwrap();
    let sb = Server::start(&b.bootstrap()).await;
    assert_eq!(sb.create_link("a-to-b", &a, &[]).await.0, 204);
    let (st, v) = sb
        .post(
            &format!(
                "{}/a-to-b/mirrors:promote-local-and-start-remote-mirror",
                sb.links()
            ),
            json!({ "mirror_topic_names": ["not-a-mirror"] }),
        )
        .await;
    assert_error(&(st, v), 400, 40002, "not-a-mirror");
}

peer_tests! {
    a_failed_over_topic_is_restored_then_reversed: [kafka];
    a_failed_over_topic_is_restored_then_reversed_on_a_bidirectional_link: [kafka];
    a_reverse_of_a_topic_written_since_is_refused: [kafka];
    a_restore_goes_on_after_its_answer: [kafka];
    a_link_server_restarted_while_its_source_is_down_fails_over_all_the_same: [kafka];
    the_platform_spec_paths_name_the_reverse_actions: [kafka];
}
