//! Source-initiated links through Confluent's REST API on two link servers: the destination's
//! INBOUND link opens no connection; the source's OUTBOUND (SOURCE) link moves its mirrors.
//! Both orders of creation; data checked with librdkafka. On Apache Kafka (both halves) and
//! tansu.

mod support;

use clusterlink_testkit::kafka::{KafkaCluster, Listener, Mechanism, Sasl};
use clusterlink_testkit::rdkafka::{self, by_partition, varied_records};
use clusterlink_testkit::sasl::SaslCluster;
use serde_json::json;
use support::*;

async fn outbound_side_first_then_inbound_then_mirrors_move(peer: Peer) {
    let (src, dst) = peer.pair().unwrap();
    let (src_id, dst_id) = (src.cluster_id(), dst.cluster_id());
    let orders = unique_name("orders");
    rdkafka::create_topic(&src.bootstrap(), &orders, 2).unwrap();
    let records = varied_records(300, 2, "si");
    produce(&src.bootstrap(), &orders, &records);
    let s = Server::start(&src.bootstrap()).await;
    let d = Server::start(&dst.bootstrap()).await;
    let (sl, dl) = (s.links(), d.links());

    // The OUTBOUND side first (CFK's wrong order): it waits for the INBOUND side, and says so.
    let (st, v) = s
        .post(
            &format!("{sl}?link_name=si"),
            json!({"destination_cluster_id": dst_id, "configs": configs(&[
                ("link.mode", "SOURCE"), ("connection.mode", "OUTBOUND"),
                ("bootstrap.servers", &dst.bootstrap())])}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let v = s
        .wait_for(&format!("{sl}/si"), "the waiting message", |v| {
            v["link_error_message"]
                .as_str()
                .is_some_and(|m| m.contains("waiting for the INBOUND link 'si'"))
        })
        .await;
    assert_eq!(v["link_state"], "UNAVAILABLE");
    assert_eq!(v["destination_cluster_id"], dst_id);
    // A SOURCE link has no mirrors of its own.
    assert_error(
        &s.post(
            &format!("{sl}/si/mirrors"),
            json!({"source_topic_name": orders}),
        )
        .await,
        400,
        40002,
        "INBOUND link",
    );

    // The INBOUND side: no bootstrap.servers, and the source's id is required.
    let inbound = |extra: &[(&str, &str)]| {
        let mut c = vec![("link.mode", "DESTINATION"), ("connection.mode", "INBOUND")];
        c.extend_from_slice(extra);
        configs(&c)
    };
    assert_error(
        &d.post(
            &format!("{dl}?link_name=si"),
            json!({"source_cluster_id": src_id, "configs": inbound(&[("bootstrap.servers", "x:1")])}),
        )
        .await,
        400,
        40002,
        "bootstrap.servers must not be set",
    );
    assert_error(
        &d.post(
            &format!("{dl}?link_name=si"),
            json!({"configs": inbound(&[])}),
        )
        .await,
        400,
        40002,
        "needs the id of the cluster that connects to it",
    );
    let (st, v) = d
        .post(
            &format!("{dl}?link_name=si"),
            json!({"source_cluster_id": src_id, "configs": inbound(&[])}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");

    // A mirror declared on the INBOUND side is created and filled by the OUTBOUND side.
    let (st, v) = d
        .post(
            &format!("{dl}/si/mirrors"),
            json!({"source_topic_name": orders}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let (st, v) = d.get(&format!("{dl}/si/mirrors/{orders}")).await;
    assert_eq!(st, 200, "{v:#}");
    assert!(
        ["PENDING_MIRROR", "ACTIVE"].contains(&v["mirror_status"].as_str().unwrap()),
        "{v:#}"
    );
    d.wait_for(
        &format!("{dl}/si/mirrors/{orders}"),
        "orders caught up on the destination",
        caught_up(300),
    )
    .await;
    let got = rdkafka::consume(&dst.bootstrap(), &orders).unwrap();
    assert_eq!(by_partition(&got), by_partition(&records));
    let v = d
        .wait_for(&format!("{dl}/si"), "INBOUND link active", |v| {
            v["link_state"] == "ACTIVE"
        })
        .await;
    let inbound_id = v["cluster_link_id"].as_str().unwrap().to_string();
    let v = s
        .wait_for(&format!("{sl}/si"), "OUTBOUND link active", |v| {
            v["link_state"] == "ACTIVE"
        })
        .await;
    assert_eq!(v["link_error_message"], serde_json::Value::Null, "{v:#}");
    // The destination's topic is a mirror: its own REST refuses a second one of that name.
    assert_error(
        &d.post(
            &format!("{dl}/si/mirrors"),
            json!({"source_topic_name": orders}),
        )
        .await,
        400,
        40002,
        &orders,
    );

    // State changes through the INBOUND side's REST API.
    let (st, _) = d
        .post(
            &format!("{dl}/si/mirrors:pause"),
            json!({"mirror_topic_names": [orders]}),
        )
        .await;
    assert_eq!(st, 200);
    d.wait_for(&format!("{dl}/si/mirrors/{orders}"), "orders paused", |v| {
        v["mirror_status"] == "PAUSED"
    })
    .await;
    let more = varied_records(50, 2, "more");
    produce(&src.bootstrap(), &orders, &more);
    let (st, _) = d
        .post(
            &format!("{dl}/si/mirrors:promote"),
            json!({"mirror_topic_names": [orders]}),
        )
        .await;
    assert_eq!(st, 200);
    d.wait_for(
        &format!("{dl}/si/mirrors/{orders}"),
        "orders promoted",
        |v| v["mirror_status"] == "STOPPED",
    )
    .await;
    assert_eq!(
        rdkafka::consume(&dst.bootstrap(), &orders).unwrap().len(),
        350
    );

    // Bidirectional INBOUND links create the id: supplying one is error 40002.
    assert_error(
        &d.post(
            &format!("{dl}?link_name=bidi"),
            json!({"remote_cluster_id": src_id, "cluster_link_id": inbound_id,
                   "configs": configs(&[("link.mode", "BIDIRECTIONAL"), ("connection.mode", "INBOUND")])}),
        )
        .await,
        400,
        40002,
        "must not be given for a bidirectional INBOUND link",
    );

    // The INBOUND link deleted: the OUTBOUND side goes back to waiting.
    let (st, v) = d.delete(&format!("{dl}/si?force=true")).await;
    assert!(st == 200 || st == 204, "{st} {v:#}");
    s.wait_for(&format!("{sl}/si"), "waiting again", |v| {
        v["link_state"] == "UNAVAILABLE"
    })
    .await;
    s.stop().await;
    d.stop().await;
}

async fn inbound_side_first_and_a_mirror_deleted_through_it(peer: Peer) {
    let (src, dst) = peer.pair().unwrap();
    let (src_id, dst_id) = (src.cluster_id(), dst.cluster_id());
    let events = unique_name("events");
    let billing = unique_name("billing");
    rdkafka::create_topic(&src.bootstrap(), &events, 1).unwrap();
    produce(&src.bootstrap(), &events, &varied_records(40, 1, "e"));
    let s = Server::start(&src.bootstrap()).await;
    let d = Server::start(&dst.bootstrap()).await;
    let (sl, dl) = (s.links(), d.links());
    let all_groups =
        json!({"groupFilters": [{"name": "*", "patternType": "LITERAL", "filterType": "INCLUDE"}]})
            .to_string();
    let (st, v) = d
        .post(
            &format!("{dl}?link_name=si"),
            json!({"source_cluster_id": src_id, "configs": configs(&[
                ("connection.mode", "INBOUND"),
                ("consumer.offset.sync.enable", "true"),
                ("consumer.offset.sync.ms", "200"),
                ("consumer.offset.group.filters", &all_groups)])}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let v = d
        .wait_for(&format!("{dl}/si"), "inbound waiting", |v| {
            v["link_state"] == "UNAVAILABLE"
        })
        .await;
    assert!(
        v["link_error_message"]
            .as_str()
            .unwrap()
            .contains("waiting for its OUTBOUND side"),
        "{v:#}"
    );
    let (st, _) = d
        .post(
            &format!("{dl}/si/mirrors"),
            json!({"source_topic_name": events}),
        )
        .await;
    assert_eq!(st, 204);
    let (st, v) = s
        .post(
            &format!("{sl}?link_name=si"),
            json!({"destination_cluster_id": dst_id, "configs": configs(&[
                ("link.mode", "SOURCE"), ("bootstrap.servers", &dst.bootstrap())])}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    d.wait_for(
        &format!("{dl}/si/mirrors/{events}"),
        "events mirrored",
        caught_up(40),
    )
    .await;
    // Consumer offsets sync through the pushing side too: a source group's commit appears,
    // read by librdkafka on the destination.
    client(&src.bootstrap())
        .await
        .offset_commit(&billing, &[(events.clone(), 0, 25)])
        .await
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        // The destination's group coordinator may still be loading (NOT_COORDINATOR): not yet.
        let got =
            rdkafka::committed(&dst.bootstrap(), &billing, &events).map_err(|e| e.to_string());
        if got.as_ref().is_ok_and(|g| g.get(&0) == Some(&25)) {
            break;
        }
        assert!(
            start.elapsed().as_secs() < 30,
            "offsets not synced: {got:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // An INBOUND link that expects another cluster is not pushed into by this one.
    let (st, _) = d
        .post(
            &format!("{dl}?link_name=other"),
            json!({"source_cluster_id": "not-us", "configs": configs(&[("connection.mode", "INBOUND")])}),
        )
        .await;
    assert_eq!(st, 204);
    let (st, _) = s
        .post(
            &format!("{sl}?link_name=other"),
            json!({"destination_cluster_id": dst_id, "configs": configs(&[
                ("link.mode", "SOURCE"), ("bootstrap.servers", &dst.bootstrap())])}),
        )
        .await;
    assert_eq!(st, 204);
    s.wait_for(&format!("{sl}/other"), "refused by the INBOUND side", |v| {
        v["link_error_message"]
            .as_str()
            .is_some_and(|m| m.contains("expects cluster not-us"))
    })
    .await;
    // Deleting the mirror topic through the destination's REST API.
    let (st, v) = d.delete(&format!("{}/topics/{events}", d.cluster())).await;
    assert!(st == 204 || st == 200, "{st} {v:#}");
    d.wait_for(&format!("{dl}/si/mirrors"), "no mirrors", |v| {
        v["data"].as_array().is_some_and(|a| a.is_empty())
    })
    .await;
    let start = std::time::Instant::now();
    while rdkafka::topics(&dst.bootstrap())
        .unwrap()
        .contains_key(&events)
    {
        assert!(start.elapsed().as_secs() < 30, "the topic was not deleted");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    s.stop().await;
    d.stop().await;
}

/// The source of [`a_pushing_link_reads_its_local_cluster_with_the_local_settings`], which lets
/// unauthenticated clients in (set-up and checks) and knows the SCRAM user `reader`.
enum LocalSource {
    /// Apache Kafka: unauthenticated clients on its PLAINTEXT listener; the link server (its own
    /// connections as the SCRAM user `admin`, as with `--command-config`) and the link's
    /// `local.*` identity on the SASL_PLAINTEXT listener.
    Kafka(KafkaCluster),
    /// tansu behind the test kit's SASL front, which takes unauthenticated clients and SCRAM
    /// ones on one port: the link server connects unauthenticated.
    Tansu(SaslCluster),
}

/// `local.*` on the pushing side: the OUTBOUND link reads its local (source) cluster with its
/// own SASL identity, not the server's. The source refuses a client that authenticates with a
/// wrong password: with one in `local.sasl.jaas.config` nothing moves and the link says why;
/// with the right one the mirror fills (read back with librdkafka).
async fn a_pushing_link_reads_its_local_cluster_with_the_local_settings(peer: Peer) {
    let src = match peer {
        Peer::Kafka => LocalSource::Kafka(
            KafkaCluster::builder()
                .listener(Listener::SaslPlaintext)
                .user("admin", "admin-pw")
                .user("reader", "right-pw")
                .start()
                .unwrap(),
        ),
        _ => LocalSource::Tansu(
            SaslCluster::start_mixed("sl-src", &[("reader", "right-pw")]).unwrap(),
        ),
    };
    let dst = peer.cluster(Side::B).unwrap();
    let (src_bootstrap, src_id) = match &src {
        LocalSource::Kafka(k) => (k.bootstrap(), k.cluster_id().to_owned()),
        LocalSource::Tansu(t) => (t.bootstrap(), t.cluster_id().to_owned()),
    };
    let dst_id = dst.cluster_id();
    let orders = unique_name("orders");
    rdkafka::create_topic(&src_bootstrap, &orders, 2).unwrap();
    let records = varied_records(120, 2, "sl");
    produce(&src_bootstrap, &orders, &records);
    let s = match &src {
        LocalSource::Kafka(k) => {
            let admin = Sasl {
                mechanism: Mechanism::ScramSha512,
                user: "admin",
                password: "admin-pw",
            };
            Server::start_secured(&k.java_client_config(Listener::SaslPlaintext, Some(admin))).await
        }
        LocalSource::Tansu(t) => Server::start(&t.bootstrap()).await,
    };
    let d = Server::start(&dst.bootstrap()).await;
    let (sl, dl) = (s.links(), d.links());
    let jaas = |pw: &str| {
        format!("org.apache.kafka.common.security.scram.ScramLoginModule required username=\"reader\" password=\"{pw}\";")
    };
    let (st, v) = d
        .post(
            &format!("{dl}?link_name=sl"),
            json!({"source_cluster_id": src_id, "configs": configs(&[
                ("link.mode", "DESTINATION"), ("connection.mode", "INBOUND")])}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let wrong = jaas("wrong-pw");
    let (st, v) = s
        .post(
            &format!("{sl}?link_name=sl"),
            json!({"destination_cluster_id": dst_id, "configs": configs(&[
                ("link.mode", "SOURCE"), ("connection.mode", "OUTBOUND"),
                ("bootstrap.servers", &dst.bootstrap()),
                ("local.security.protocol", "SASL_PLAINTEXT"),
                ("local.sasl.mechanism", "SCRAM-SHA-256"),
                ("local.sasl.jaas.config", &wrong)])}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let (st, v) = d
        .post(
            &format!("{dl}/sl/mirrors"),
            json!({"source_topic_name": orders}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let v = s
        .wait_for(&format!("{sl}/sl"), "the local auth error", |v| {
            v["link_error_message"]
                .as_str()
                .is_some_and(|m| m.contains("local.* settings"))
        })
        .await;
    let message = v["link_error_message"].as_str().unwrap();
    assert!(message.contains("SCRAM-SHA-256"), "{message}");
    assert_eq!(v["link_error"], "AUTHENTICATION_ERROR", "{v:#}");
    assert!(!v.to_string().contains("wrong-pw"), "{v:#}");
    assert!(
        !v["not_implemented_configs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().starts_with("local.")),
        "{v:#}"
    );
    assert!(rdkafka::consume(&dst.bootstrap(), &orders)
        .map(|m| m.is_empty())
        .unwrap_or(true));
    let (_, c) = s
        .get(&format!("{sl}/sl/configs/local.security.protocol"))
        .await;
    assert_eq!(c["implemented"], true, "{c:#}");
    // A link that does not push reads nothing on its local cluster: its local.* settings are
    // stored, not checked, and reported as having no effect.
    let (st, v) = d
        .post(
            &format!("{dl}?link_name=pulls"),
            json!({"source_cluster_id": src_id, "configs": configs(&[
                ("bootstrap.servers", &src_bootstrap),
                ("local.security.protocol", "SASL_SSL"),
                ("local.sasl.mechanism", "OAUTHBEARER")])}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let (_, v) = d.get(&format!("{dl}/pulls")).await;
    assert_eq!(
        v["not_implemented_configs"],
        json!(["local.sasl.mechanism", "local.security.protocol"]),
        "{v:#}"
    );

    let right = jaas("right-pw");
    let (st, v) = s
        .put(
            &format!("{sl}/sl/configs:alter"),
            json!({"data": [{"name": "local.sasl.jaas.config", "value": right}]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    d.wait_for(
        &format!("{dl}/sl/mirrors/{orders}"),
        "orders caught up on the destination",
        caught_up(120),
    )
    .await;
    let got = rdkafka::consume(&dst.bootstrap(), &orders).unwrap();
    assert_eq!(by_partition(&got), by_partition(&records));
    s.stop().await;
    d.stop().await;
}

peer_tests! {
    outbound_side_first_then_inbound_then_mirrors_move: [kafka, tansu];
    inbound_side_first_and_a_mirror_deleted_through_it: [kafka, tansu];
    a_pushing_link_reads_its_local_cluster_with_the_local_settings: [kafka, tansu];
}
