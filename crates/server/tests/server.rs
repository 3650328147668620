//! The link server over HTTP, on Apache Kafka and tansu, with data checked by librdkafka (and on
//! Kafka by Kafka's own tools).

mod support;

use clusterlink_testkit::link_server;
use clusterlink_testkit::rdkafka::{self, by_partition, varied_records};
use serde_json::{json, Value};
use support::*;

/// Clusters, topics, topic configs, health, metrics and the malformed-request cases, under both
/// path prefixes.
async fn clusters_topics_health_and_errors(peer: Peer) {
    let b = peer.cluster(Side::B).unwrap();
    let s = Server::start(&b.bootstrap()).await;
    let id = b.cluster_id();
    let id = id.as_str();
    let t1 = unique_name("t1");

    let (st, v) = s.get("/v3/clusters").await;
    assert_eq!(st, 200);
    assert_eq!(v["kind"], "KafkaClusterList");
    assert_eq!(v["data"][0]["cluster_id"], id);
    let (st, v) = s.get(&format!("/kafka/v3/clusters/{id}")).await;
    assert_eq!(st, 200);
    assert_eq!(v["kind"], "KafkaCluster");
    assert_eq!(
        v["metadata"]["self"],
        format!("http://{}/kafka/v3/clusters/{id}", s.addr)
    );
    assert_eq!(
        v["topics"]["related"],
        format!("http://{}/kafka/v3/clusters/{id}/topics", s.addr)
    );
    assert_error(&s.get("/v3/clusters/nope").await, 404, 404, "nope");
    assert_error(&s.get("/v3/clusters/nope/links").await, 404, 404, "nope");
    assert_error(&s.get("/v3/nothing/here").await, 404, 404, "Not Found");

    // create
    let topics = format!("/v3/clusters/{id}/topics");
    let (st, v) = s
        .post(
            &topics,
            json!({"topic_name": t1, "partitions_count": 3, "configs": [{"name": "retention.ms", "value": "3600000"}]}),
        )
        .await;
    assert_eq!(st, 201, "{v:#}");
    assert_eq!(v["kind"], "KafkaTopic");
    assert_eq!(v["partitions_count"], 3);
    assert_eq!(rdkafka::topics(&b.bootstrap()).unwrap()[&t1], 3);
    assert_error(
        &s.post(&topics, json!({"topic_name": t1, "partitions_count": 1}))
            .await,
        400,
        40002,
        &format!("Topic '{t1}' already exists."),
    );
    // The link server's own state topic cannot be deleted or altered through the API (found
    // by schemathesis, whose stateful run deleted it).
    assert_error(
        &s.delete(&format!("{topics}/{}", link_server::state_topic()))
            .await,
        400,
        40002,
        "cannot be deleted",
    );
    assert_error(
        &s.post(
            &format!("{topics}/{}/configs:alter", link_server::state_topic()),
            json!({"data": [{"name": "retention.ms", "value": "1"}]}),
        )
        .await,
        400,
        40002,
        "not changed through the API",
    );
    // An invalid topic name is the caller's error (400), not ours (also found by schemathesis).
    assert_error(
        &s.get(&format!("{topics}/%5B")).await,
        400,
        40002,
        "INVALID_TOPIC",
    );
    // malformed bodies are 400, never 500
    assert_error(
        &s.call("POST", &topics, Some("{\"topic_name\": ")).await,
        400,
        400,
        "Malformed JSON",
    );
    assert_error(
        &s.post(&topics, json!({"partitions_count": 1})).await,
        400,
        400,
        "topic_name",
    );
    assert_error(&s.call("POST", &topics, None).await, 400, 400, "body");
    // What Kafka would refuse, or what would stall a broker, is refused before it reaches one.
    let [huge, none, norep] = ["huge", "none", "norep"].map(unique_name);
    for (body, says) in [
        (json!({"topic_name": "bad name!"}), "topic_name is illegal"),
        (
            json!({"topic_name": "x".repeat(250)}),
            "topic_name is illegal",
        ),
        (json!({"topic_name": ".."}), "topic_name is illegal"),
        (
            json!({"topic_name": huge, "partitions_count": 3_778_090}),
            "partitions_count 3778090 is out of range",
        ),
        (
            json!({"topic_name": none, "partitions_count": 0}),
            "partitions_count 0",
        ),
        (
            json!({"topic_name": norep, "replication_factor": 0}),
            "replication_factor 0",
        ),
    ] {
        assert_error(&s.post(&topics, body).await, 400, 40002, says);
    }
    for name in [huge, none, norep] {
        let (st, _) = s.get(&format!("{topics}/{name}")).await;
        assert_eq!(st, 404, "{name} was created");
    }

    // get and list
    let (st, v) = s.get(&format!("{topics}/{t1}")).await;
    assert_eq!(st, 200);
    assert_eq!(v["topic_name"], t1);
    assert_eq!(v["cluster_id"], id);
    let (_, v) = s.get(&topics).await;
    assert_eq!(v["kind"], "KafkaTopicList");
    assert!(v["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["topic_name"] == t1));
    let missing = unique_name("missing");
    assert_error(&s.get(&format!("{topics}/{missing}")).await, 404, 40403, "");

    // configs
    let (st, _) = s
        .post(
            &format!("{topics}/{t1}/configs:alter"),
            json!({"data": [{"name": "cleanup.policy", "value": "compact"}]}),
        )
        .await;
    assert_eq!(st, 204);
    let value_of = |v: &Value, n: &str| {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == n)
            .map(|c| c["value"].clone())
    };
    // Kafka (KRaft) answers the alter once its controller recorded it; the broker that
    // describes the topic applies it a moment later (seen once in CI): read until it shows.
    let v = s
        .wait_for(&format!("{topics}/{t1}/configs"), "compact applied", |v| {
            value_of(v, "cleanup.policy") == Some(json!("compact"))
        })
        .await;
    assert_eq!(v["kind"], "KafkaTopicConfigList");
    assert_eq!(value_of(&v, "cleanup.policy"), Some(json!("compact")));
    assert_eq!(value_of(&v, "retention.ms"), Some(json!("3600000")));
    if peer == Peer::Kafka {
        // Kafka reports where each value comes from: the API passes it on, as Kafka's own tool
        // reports it (the topic's overrides, the brokers' settings, the defaults).
        let kafka = kafka::tools::topic_configs(&b.bootstrap(), &t1).unwrap();
        let ours: std::collections::BTreeMap<&str, &Value> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c))
            .collect();
        for (name, c) in kafka.iter().filter(|(_, c)| !c.source.is_empty()) {
            let o = ours[name.as_str()];
            assert_eq!(o["source"], c.source.as_str(), "{name}: {o:#}");
            assert_eq!(o["value"], c.value.as_str(), "{name}: {o:#}");
            assert_eq!(
                o["is_default"],
                c.source == "DEFAULT_CONFIG",
                "{name}: {o:#}"
            );
        }
        for (name, source) in [
            ("retention.ms", "DYNAMIC_TOPIC_CONFIG"),
            ("cleanup.policy", "DYNAMIC_TOPIC_CONFIG"),
            ("min.insync.replicas", "DYNAMIC_DEFAULT_BROKER_CONFIG"),
            ("segment.bytes", "DEFAULT_CONFIG"),
        ] {
            assert_eq!(ours[name]["source"], source, "{name}");
        }
    }
    assert_error(
        &s.post(
            &format!("{topics}/{t1}/configs:alter"),
            json!({"data": [{"name": "x", "operation": "FROB"}]}),
        )
        .await,
        400,
        40002,
        "FROB",
    );
    assert_error(
        &s.get(&format!("{topics}/{missing}/configs")).await,
        404,
        40403,
        "",
    );

    // delete
    let (st, _) = s.delete(&format!("{topics}/{t1}")).await;
    assert_eq!(st, 204);
    assert_error(&s.get(&format!("{topics}/{t1}")).await, 404, 40403, "");
    assert_error(&s.delete(&format!("{topics}/{t1}")).await, 404, 40403, "");
    assert!(!rdkafka::topics(&b.bootstrap()).unwrap().contains_key(&t1));

    // health
    assert_eq!(s.raw("GET", "/healthz", None).await.0, 200);
    assert_eq!(s.raw("GET", "/readyz", None).await.0, 200);
    let (st, text) = s.raw("GET", "/metrics", None).await;
    assert_eq!(st, 200);
    assert!(
        text.contains("# TYPE clusterlink_errors_total counter"),
        "{text}"
    );
    assert!(
        text.contains("clusterlink_errors_total{category=\"malformed\"} 3"),
        "{text}"
    );
    // REST requests are timed by route template, whatever the ids in the path.
    assert!(
        text.contains(
            "clusterlink_http_request_duration_seconds_count{method=\"DELETE\",route=\"/v3/clusters/{cluster_id}/topics/{topic}\"} 3"
        ),
        "{text}"
    );
    assert!(text.contains("clusterlink_build_info{version="), "{text}");
    assert!(
        text.contains("# TYPE process_resident_memory_bytes gauge"),
        "{text}"
    );
    // Without links, only families with samples are declared, all from the metric table.
    let table = metric_table();
    for family in clusterlink_metrics::declared_families(&text) {
        assert!(
            table.contains(&family),
            "{family:?} is not in the metric table"
        );
    }

    // The OpenAPI document of what this server serves.
    let (st, doc) = s.raw("GET", "/openapi.yaml", None).await;
    assert_eq!(st, 200);
    assert_eq!(
        doc,
        include_str!("../openapi.yaml"),
        "/openapi.yaml serves the crate's document"
    );
    s.stop().await;
}

/// The link server's metric table: (name, type), sorted.
fn metric_table() -> Vec<(String, String)> {
    let mut table: Vec<(String, String)> = clusterlink_server::metrics::metric_defs()
        .iter()
        .map(|d| (d.name.to_string(), d.kind.as_str().to_string()))
        .collect();
    table.sort();
    table
}

fn configs_of(v: &Value) -> Vec<Value> {
    v["data"].as_array().unwrap().clone()
}

fn config<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list:#?}"))
}

/// Link creation with every validation error, get/list, link configs (secrets write-only,
/// types checked, reset to default, batch alter, immutable ones), and delete.
async fn links_and_link_configs(peer: Peer) {
    let (a, b) = peer.pair().unwrap();
    let (a_id, b_id) = (a.cluster_id(), b.cluster_id());
    let s = Server::start(&b.bootstrap()).await;
    let links = &format!("/kafka{}", s.links());
    let boot = json!({"name": "bootstrap.servers", "value": a.bootstrap()});
    let secret = "org.apache.kafka.common.security.plain.PlainLoginModule required username='u' password='TOPSECRET-1';";

    assert_error(
        &s.post(links, json!({"configs": [boot]})).await,
        400,
        40002,
        "link_name",
    );
    assert_error(
        &s.post(
            &format!("{links}?link_name=l1"),
            json!({"configs": [boot, {"name": "no.such.config", "value": "1"}]}),
        )
        .await,
        400,
        40002,
        "Unknown cluster link config 'no.such.config'",
    );
    assert_error(
        &s.post(
            &format!("{links}?link_name=l1"),
            json!({"configs": [boot, {"name": "acl.sync.ms", "value": "10"}]}),
        )
        .await,
        400,
        40002,
        "acl.sync.ms",
    );
    assert_error(
        &s.post(
            &format!("{links}?link_name=l1"),
            json!({"source_cluster_id": "someone-else", "configs": [boot]}),
        )
        .await,
        400,
        40002,
        &format!("bootstrap.servers reaches cluster '{a_id}'"),
    );
    assert_error(
        &s.post(
            &format!("{links}?link_name=l1"),
            json!({"configs": [{"name": "bootstrap.servers", "value": b.bootstrap()}]}),
        )
        .await,
        400,
        40002,
        "Cannot create cluster link to self",
    );
    assert_error(
        &s.post(
            &format!("{links}?link_name=l1"),
            json!({"source_cluster_id": b_id, "configs": [boot]}),
        )
        .await,
        400,
        40002,
        "Cannot create cluster link to self",
    );
    assert_error(
        &s.call("POST", &format!("{links}?link_name=l1"), Some("[1,"))
            .await,
        400,
        400,
        "Malformed JSON",
    );
    assert_error(
        &s.post(
            &format!("{links}?link_name=l1&validate_link=maybe"),
            json!({}),
        )
        .await,
        400,
        400,
        "validate_link",
    );
    // validate_only creates nothing
    let (st, v) = s
        .post(
            &format!("{links}?link_name=l1&validate_only=true"),
            json!({"source_cluster_id": a_id, "configs": [boot]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    assert_error(&s.get(&format!("{links}/l1")).await, 404, 404, "l1");

    // acl.sync.ms is stored but not applied: ACL sync is not implemented.
    let body = json!({"source_cluster_id": a_id, "configs": [
        boot,
        {"name": "sasl.jaas.config", "value": secret},
        {"name": "acl.sync.ms", "value": "6000"},
        {"name": "cluster.link.retry.timeout.ms", "value": "60000"},
    ]});
    let (st, v) = s.post(&format!("{links}?link_name=l1"), body.clone()).await;
    assert_eq!(st, 204, "{v:#}");
    assert_error(
        &s.post(&format!("{links}?link_name=l1"), body).await,
        400,
        40002,
        "already exists",
    );

    let (st, v) = s.get(&format!("{links}/l1")).await;
    assert_eq!(st, 200);
    assert_eq!(v["kind"], "KafkaLinkData");
    assert_eq!(v["link_name"], "l1");
    assert_eq!(v["source_cluster_id"], a_id);
    assert_eq!(v["link_state"], "ACTIVE");
    assert_eq!(v["cluster_link_id"].as_str().unwrap().len(), 22);
    assert_eq!(v["link_id"], v["cluster_link_id"]);
    assert_eq!(v["topic_names"], json!([]));
    assert_eq!(v["not_implemented_configs"], json!(["sasl.jaas.config"]));
    // AclSync (not enabled) and the stored-only JAAS config.
    assert_eq!(v["tasks"][0]["task_name"], "AclSync");
    assert_eq!(v["tasks"][0]["state"], "NOT_CONFIGURED");
    assert_eq!(v["tasks"][1]["task_name"], "Config:sasl.jaas.config");
    let (_, list) = s.get(links).await;
    assert_eq!(list["kind"], "KafkaLinkDataList");
    assert_eq!(list["data"][0]["link_name"], "l1");
    assert_error(&s.get(&format!("{links}/nope")).await, 404, 404, "nope");

    // configs: list, secrets hidden, defaults shown
    let (st, v) = s.get(&format!("{links}/l1/configs")).await;
    assert_eq!(st, 200);
    assert_eq!(v["kind"], "KafkaLinkConfigDataList");
    let list = configs_of(&v);
    let jaas = config(&list, "sasl.jaas.config");
    assert_eq!(jaas["value"], Value::Null);
    assert_eq!(jaas["sensitive"], true);
    assert_eq!(config(&list, "bootstrap.servers")["value"], a.bootstrap());
    assert_eq!(config(&list, "acl.sync.ms")["value"], "6000");
    assert_eq!(config(&list, "acl.sync.ms")["default"], false);
    assert_eq!(config(&list, "acl.sync.enable")["value"], "false");
    assert_eq!(config(&list, "acl.sync.enable")["default"], true);
    assert_eq!(
        config(&list, "cluster.link.retry.timeout.ms")["value"],
        "60000"
    );
    assert_eq!(config(&list, "acl.sync.ms")["implemented"], true);
    assert_eq!(
        config(&list, "num.cluster.link.fetchers")["implemented"],
        false
    );
    assert_eq!(
        config(&list, "consumer.group.prefix.enable")["implemented"],
        true
    );
    assert!(list
        .iter()
        .all(|c| c["source"] == "DYNAMIC_CLUSTER_LINK_CONFIG" && c["link_name"] == "l1"));
    // the secret appears in no response at all
    for path in [
        format!("{links}/l1/configs"),
        format!("{links}/l1/configs/sasl.jaas.config"),
        format!("{links}/l1"),
        links.to_string(),
    ] {
        let (_, text) = s.raw("GET", &path, None).await;
        assert!(!text.contains("TOPSECRET"), "{path}: {text}");
    }

    // single config: get, put, invalid put, unknown, reset
    let cfg = format!("{links}/l1/configs/consumer.offset.sync.ms");
    let (st, v) = s.get(&cfg).await;
    assert_eq!((st, v["value"].clone()), (200, json!("30000")));
    assert_eq!(v["kind"], "KafkaLinkConfigData");
    assert_eq!(s.put(&cfg, json!({"value": "45000"})).await.0, 204);
    assert_eq!(s.get(&cfg).await.1["value"], "45000");
    assert_eq!(s.get(&cfg).await.1["default"], false);
    assert_error(
        &s.put(&cfg, json!({"value": "soon"})).await,
        400,
        40002,
        "not an integer",
    );
    assert_error(&s.put(&cfg, json!({})).await, 400, 40002, "value");
    assert_error(
        &s.put(
            &format!("{links}/l1/configs/bogus.name"),
            json!({"value": "1"}),
        )
        .await,
        400,
        40002,
        "Unknown cluster link config 'bogus.name'",
    );
    assert_error(
        &s.get(&format!("{links}/l1/configs/bogus.name")).await,
        400,
        40002,
        "bogus.name",
    );
    assert_eq!(s.delete(&cfg).await.0, 204);
    assert_eq!(s.get(&cfg).await.1["value"], "30000");
    assert_error(
        &s.put(
            &format!("{links}/l1/configs/link.mode"),
            json!({"value": "SOURCE"}),
        )
        .await,
        400,
        40002,
        "cannot be changed",
    );
    assert_error(
        &s.put(
            &format!("{links}/nope/configs/acl.sync.ms"),
            json!({"value": "5000"}),
        )
        .await,
        404,
        404,
        "nope",
    );

    // batch alter: all or nothing
    let alter = format!("{links}/l1/configs:alter");
    assert_error(
        &s.put(
            &alter,
            json!({"data": [{"name": "acl.sync.ms", "value": "7000"}, {"name": "acl.sync.enable", "value": "true"}]}),
        )
        .await,
        400,
        40002,
        "acl.filters",
    );
    assert_eq!(
        s.get(&format!("{links}/l1/configs/acl.sync.ms")).await.1["value"],
        "6000"
    );
    let (st, v) = s
        .put(
            &alter,
            json!({"data": [
                {"name": "acl.sync.ms", "value": "7000"},
                {"name": "acl.filters", "operation": "DELETE"},
                {"name": "bootstrap.servers", "value": a.bootstrap(), "operation": "SET"},
            ]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let list = configs_of(&s.get(&format!("{links}/l1/configs")).await.1);
    assert_eq!(config(&list, "acl.sync.ms")["value"], "7000");
    assert_eq!(config(&list, "acl.filters")["value"], "");
    assert_eq!(
        s.get(&format!("{links}/l1")).await.1["not_implemented_configs"],
        json!(["sasl.jaas.config"])
    );
    // a new bootstrap needs the stored credentials again, and must reach the same cluster
    assert_error(
        &s.put(
            &format!("{links}/l1/configs/bootstrap.servers"),
            json!({"value": b.bootstrap()}),
        )
        .await,
        400,
        40002,
        "needs its stored credentials in the same request: set sasl.jaas.config again",
    );
    assert_error(
        &s.put(
            &alter,
            json!({"data": [
                {"name": "bootstrap.servers", "value": b.bootstrap()},
                {"name": "sasl.jaas.config", "value": secret},
            ]}),
        )
        .await,
        400,
        40002,
        &format!("reaches cluster '{b_id}'"),
    );

    // delete
    assert_error(&s.delete(&format!("{links}/nope")).await, 404, 404, "nope");
    let (st, _) = s.delete(&format!("{links}/l1")).await;
    assert_eq!(st, 200);
    assert_error(&s.get(&format!("{links}/l1")).await, 404, 404, "l1");
    assert_eq!(s.get(links).await.1["data"], json!([]));
    s.stop().await;

    // a new server on the same cluster does not bring the deleted link back
    let s = Server::start(&b.bootstrap()).await;
    assert_eq!(s.get(links).await.1["data"], json!([]));
    s.stop().await;
}

/// Mirrors end to end: create (and its errors), list with filters, get with lags, an exact copy
/// read back with librdkafka, pause/resume/promote/failover with per-topic results, a promoted
/// topic writable, deleting a mirror topic, and deleting a link with and without force.
async fn mirrors_end_to_end(peer: Peer) {
    let (a, b) = peer.pair().unwrap();
    let p = unique_name("mir");
    let [orders, events, taken, events_copy, taken_2, taken_3, ghost] = [
        "orders",
        "events",
        "taken",
        "events-copy",
        "taken-2",
        "taken-3",
        "ghost",
    ]
    .map(|t| format!("{p}-{t}"));
    let src = client(&a.bootstrap()).await;
    let dst = client(&b.bootstrap()).await;
    create_topic(&src, &orders, 3).await;
    create_topic(&src, &events, 2).await;
    create_topic(&src, &taken, 1).await;
    create_topic(&dst, &taken, 1).await;
    produce(&a.bootstrap(), &orders, &varied_records(300, 3, "o"));
    produce(&a.bootstrap(), &events, &varied_records(100, 2, "e"));
    let s = Server::start(&b.bootstrap()).await;
    let links = &s.links();
    let (st, v) = s.create_link("east", &a, &[]).await;
    assert_eq!(st, 204, "{v:#}");
    let mirrors = format!("{links}/east/mirrors");

    // create and its errors
    let (st, v) = s
        .post(&mirrors, json!({"source_topic_name": orders, "configs": [{"name": "retention.ms", "value": "7200000"}]}))
        .await;
    assert_eq!(st, 204, "{v:#}");
    let (st, v) = s
        .post(
            &mirrors,
            json!({"source_topic_name": events, "mirror_topic_name": events_copy}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    assert_error(
        &s.post(&mirrors, json!({"source_topic_name": orders})).await,
        400,
        40002,
        "already exists",
    );
    assert_error(
        &s.post(&mirrors, json!({"source_topic_name": ghost})).await,
        400,
        40002,
        &format!("source topic {ghost} does not exist"),
    );
    assert_error(
        &s.post(&mirrors, json!({"source_topic_name": taken})).await,
        400,
        40002,
        "cannot be turned into a mirror topic",
    );
    assert_error(
        &s.call("POST", &mirrors, Some("{\"source_topic_name\": 5}"))
            .await,
        400,
        400,
        "Malformed JSON",
    );
    assert_error(
        &s.post(
            &format!("{links}/nope/mirrors"),
            json!({"source_topic_name": orders}),
        )
        .await,
        404,
        404,
        "nope",
    );

    // get: lags, partitions, state, and the data itself
    let m = s
        .wait_for(
            &format!("{mirrors}/{orders}"),
            "orders caught up",
            caught_up(end_offsets(&a.bootstrap(), &orders)),
        )
        .await;
    assert_eq!(m["kind"], "KafkaMirrorData");
    assert_eq!(m["num_partitions"], 3);
    assert_eq!(m["source_topic_name"], orders);
    assert_eq!(m["link_name"], "east");
    assert!(m["state_time_ms"].as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(m["offset_mode"], "ALIGNED");
    // aligned: the same records at the same offsets
    assert_aligned(&a, &orders, &b, &orders);
    s.wait_for(
        &format!("{mirrors}/{events_copy}"),
        "events caught up",
        caught_up(end_offsets(&a.bootstrap(), &events)),
    )
    .await;
    assert_eq!(
        by_partition(&rdkafka::consume(&b.bootstrap(), &events_copy).unwrap()),
        by_partition(&rdkafka::consume(&a.bootstrap(), &events).unwrap())
    );
    assert_error(&s.get(&format!("{mirrors}/nope")).await, 404, 404, "nope");

    // lists and the status filter
    let (_, v) = s.get(&mirrors).await;
    assert_eq!(v["kind"], "KafkaMirrorDataList");
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    let (_, v) = s
        .get(&format!("{links}/-/mirrors?mirror_status=active"))
        .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_error(
        &s.get(&format!("{links}/-/mirrors?mirror_status=sleepy"))
            .await,
        400,
        40002,
        "sleepy",
    );
    assert_eq!(
        s.get(&format!("{links}/east")).await.1["topic_names"],
        json!([events_copy, orders])
    );

    // pause and resume, with per-topic results
    let (st, v) = s
        .post(
            &format!("{mirrors}:pause"),
            json!({"mirror_topic_names": [orders]}),
        )
        .await;
    assert_eq!(st, 200, "{v:#}");
    assert_eq!(v["kind"], "KafkaPauseMirror");
    assert_eq!(v["data"][0]["mirror_topic_name"], orders);
    assert_eq!(v["data"][0]["error_code"], Value::Null);
    assert_eq!(v["data"][0]["mirror_lags"].as_array().unwrap().len(), 3);
    let (_, v) = s
        .get(&format!("{links}/-/mirrors?mirror_status=PAUSED"))
        .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    assert_eq!(v["data"][0]["mirror_topic_name"], orders);
    produce(
        &a.bootstrap(),
        &orders,
        &varied_records(30, 3, "while-paused"),
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        rdkafka::consume(&b.bootstrap(), &orders).unwrap().len(),
        300,
        "a paused mirror copies nothing"
    );
    let (st, _) = s
        .post(
            &format!("{mirrors}:resume"),
            json!({"mirror_topic_names": [orders]}),
        )
        .await;
    assert_eq!(st, 200);
    s.wait_for(
        &format!("{mirrors}/{orders}"),
        "orders resumed",
        caught_up(end_offsets(&a.bootstrap(), &orders)),
    )
    .await;

    // action errors: not a mirror (whole request refused), missing names, bad JSON
    assert_error(
        &s.post(
            &format!("{mirrors}:promote"),
            json!({"mirror_topic_names": [orders, taken]}),
        )
        .await,
        400,
        40002,
        &taken,
    );
    assert_eq!(
        s.get(&format!("{mirrors}/{orders}")).await.1["mirror_status"],
        "ACTIVE"
    );
    assert_error(
        &s.post(&format!("{mirrors}:promote"), json!({})).await,
        400,
        40002,
        "mirror_topic_names",
    );
    assert_error(
        &s.call("POST", &format!("{mirrors}:failover"), Some("nope"))
            .await,
        400,
        400,
        "Malformed",
    );

    // promote: zero lag, then STOPPED and writable
    let (st, v) = s
        .post(
            &format!("{mirrors}:promote"),
            json!({"mirror_topic_names": [orders]}),
        )
        .await;
    assert_eq!(st, 200, "{v:#}");
    assert_eq!(v["kind"], "KafkaPromoteMirror");
    s.wait_for(&format!("{mirrors}/{orders}"), "orders stopped", |m| {
        m["mirror_status"] == "STOPPED"
    })
    .await;
    produce(
        &b.bootstrap(),
        &orders,
        &varied_records(3, 3, "local-write"),
    );
    assert_eq!(
        rdkafka::consume(&b.bootstrap(), &orders).unwrap().len(),
        333
    );
    // resuming a stopped mirror: a per-topic error inside a 200
    let (st, v) = s
        .post(
            &format!("{mirrors}:resume"),
            json!({"mirror_topic_names": [orders]}),
        )
        .await;
    assert_eq!(st, 200, "{v:#}");
    assert_eq!(v["data"][0]["error_code"], 400);
    assert!(v["data"][0]["error_message"]
        .as_str()
        .unwrap()
        .contains("STOPPED"));

    // failover of the other one stops it at once
    let (st, v) = s
        .post(
            &format!("{mirrors}:failover"),
            json!({"mirror_topic_names": [events_copy]}),
        )
        .await;
    assert_eq!((st, v["data"][0]["error_code"].clone()), (200, Value::Null));
    assert_eq!(
        s.get(&format!("{mirrors}/{events_copy}")).await.1["mirror_status"],
        "STOPPED"
    );

    // a third mirror, deleted as a topic: the mirror goes with it
    produce(&a.bootstrap(), &taken, &varied_records(5, 1, "t"));
    let (st, v) = s
        .post(
            &mirrors,
            json!({"source_topic_name": taken, "mirror_topic_name": taken_2}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    assert_eq!(
        s.delete(&format!("{}/topics/{taken_2}", s.cluster()))
            .await
            .0,
        204
    );
    assert_error(
        &s.get(&format!("{mirrors}/{taken_2}")).await,
        404,
        404,
        &taken_2,
    );
    assert!(!rdkafka::topics(&b.bootstrap())
        .unwrap()
        .contains_key(&taken_2));

    // delete the link: refused while a mirror is not stopped, then forced
    let (st, v) = s
        .post(
            &mirrors,
            json!({"source_topic_name": taken, "mirror_topic_name": taken_3}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    assert_error(
        &s.delete(&format!("{links}/east")).await,
        400,
        40002,
        &taken_3,
    );
    let (st, text) = s.raw("GET", "/metrics", None).await;
    assert_eq!(st, 200);
    for needle in [
        "clusterlink_link_state{link=\"east\",state=\"ACTIVE\"} 1".to_owned(),
        format!("clusterlink_mirror_state{{link=\"east\",topic=\"{orders}\",state=\"STOPPED\"}} 1"),
        format!("clusterlink_mirror_lag_records{{link=\"east\",topic=\"{taken_3}\",partition=\"0\"}}"),
        format!("clusterlink_mirror_lag_seconds{{link=\"east\",topic=\"{orders}\",partition=\"2\"}}"),
        format!("clusterlink_mirror_records_total{{link=\"east\",topic=\"{orders}\",partition=\"0\"}}"),
        format!("clusterlink_mirror_bytes_total{{link=\"east\",topic=\"{events_copy}\",partition=\"1\"}}"),
        // A stopped mirror holds no fetched data.
        format!("clusterlink_mirror_buffered_bytes{{link=\"east\",topic=\"{orders}\",partition=\"0\"}} 0"),
        "clusterlink_errors_total{category=\"invalid\"}".to_owned(),
        "clusterlink_errors_total{category=\"not_found\"}".to_owned(),
    ] {
        assert!(text.contains(&needle), "{needle} missing from:\n{text}");
    }
    // With links and mirrors, the scrape declares exactly the server's metric table
    // (docs/metrics.md).
    let mut declared = clusterlink_metrics::declared_families(&text);
    declared.sort();
    assert_eq!(declared, metric_table());
    let (st, _) = s.delete(&format!("{links}/east?force=true")).await;
    assert_eq!(st, 200);
    assert_error(&s.get(&format!("{links}/east")).await, 404, 404, "east");
    assert_eq!(
        s.get(&format!("{links}/-/mirrors")).await.1["data"],
        json!([])
    );
    // the mirror topics stay, with their data
    assert_eq!(
        rdkafka::consume(&b.bootstrap(), &orders).unwrap().len(),
        333
    );
    s.stop().await;
}

/// The server stops mid-mirror and a new one on the same cluster brings the link and its mirrors
/// back; mirroring continues with nothing lost and nothing duplicated.
async fn restart_restores_links_and_mirrors(peer: Peer) {
    let (a, b) = peer.pair().unwrap();
    let clicks = unique_name("clicks");
    let west_clicks = format!("west.{clicks}");
    let src = client(&a.bootstrap()).await;
    create_topic(&src, &clicks, 2).await;
    produce(&a.bootstrap(), &clicks, &varied_records(400, 2, "before"));
    let s = Server::start(&b.bootstrap()).await;
    let links = &format!("/kafka{}", s.links());
    let (st, v) = s
        .post(
            &format!("{links}?link_name=west"),
            json!({"configs": [
                {"name": "bootstrap.servers", "value": a.bootstrap()},
                {"name": "cluster.link.prefix", "value": "west."},
                {"name": "ssl.key.password", "value": "HUSH-HUSH"},
            ]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    assert_error(
        &s.post(
            &format!("{links}/west/mirrors"),
            json!({"source_topic_name": clicks, "mirror_topic_name": clicks}),
        )
        .await,
        400,
        40002,
        &west_clicks,
    );
    let (st, v) = s
        .post(
            &format!("{links}/west/mirrors"),
            json!({"source_topic_name": clicks}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let id = s.get(&format!("{links}/west")).await.1["cluster_link_id"].clone();
    s.wait_for(
        &format!("{links}/west/mirrors/{west_clicks}"),
        "some records mirrored",
        |m| {
            m["mirror_lags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["last_source_fetch_offset"].as_i64().unwrap() > 0)
        },
    )
    .await;
    // more data while it runs, then stop mid-stream
    let more = varied_records(400, 2, "during");
    produce(&a.bootstrap(), &clicks, &more);
    s.stop().await;
    produce(
        &a.bootstrap(),
        &clicks,
        &varied_records(200, 2, "while-down"),
    );

    let s = Server::start(&b.bootstrap()).await;
    let (st, v) = s.get(&format!("{links}/west")).await;
    assert_eq!(st, 200, "{v:#}");
    assert_eq!(v["cluster_link_id"], id);
    assert_eq!(v["source_cluster_id"], a.cluster_id());
    assert_eq!(v["topic_names"], json!([west_clicks]));
    let list = configs_of(&s.get(&format!("{links}/west/configs")).await.1);
    assert_eq!(config(&list, "cluster.link.prefix")["value"], "west.");
    assert_eq!(config(&list, "ssl.key.password")["value"], Value::Null);
    assert!(!s
        .raw("GET", &format!("{links}/west/configs"), None)
        .await
        .1
        .contains("HUSH"));
    s.wait_for(
        &format!("{links}/west/mirrors/{west_clicks}"),
        "all 1000 records mirrored after the restart",
        caught_up(end_offsets(&a.bootstrap(), &clicks)),
    )
    .await;
    let source = rdkafka::consume(&a.bootstrap(), &clicks).unwrap();
    let mirrored = rdkafka::consume(&b.bootstrap(), &west_clicks).unwrap();
    assert_eq!(source.len(), 1000);
    assert_eq!(by_partition(&mirrored), by_partition(&source));
    // and it keeps going
    produce(&a.bootstrap(), &clicks, &varied_records(50, 2, "after"));
    s.wait_for(
        &format!("{links}/west/mirrors/{west_clicks}"),
        "records produced after the restart",
        caught_up(end_offsets(&a.bootstrap(), &clicks)),
    )
    .await;
    assert_aligned(&a, &clicks, &b, &west_clicks);
    s.stop().await;
}

peer_tests! {
    clusters_topics_health_and_errors: [kafka, tansu];
    links_and_link_configs: [kafka, tansu];
    mirrors_end_to_end: [kafka, tansu];
    restart_restores_links_and_mirrors: [kafka, tansu];
}
