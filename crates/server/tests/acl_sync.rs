//! ACL sync (`acl.sync.enable`, `acl.sync.ms`, `acl.filters`) between two Apache Kafka clusters
//! with SASL users and the StandardAuthorizer: the source's ACLs that the filters select appear
//! on the destination within a round, are enforced there (librdkafka reads the mirror topic as
//! the allowed user; a user without ACLs is refused), and go away when the source removes them,
//! also after the link server restarted (it keeps the ACLs it created in the state topic); ACLs
//! made by hand on the destination are never deleted, even one equal to a source ACL. A link
//! whose principal may not describe the source's ACLs shows its `AclSync` task IN_ERROR with
//! the reason. ACLs are set up and checked with Kafka's own kafka-acls.
//!
//! Apache Kafka only: tansu and librdkafka's mock cluster have no ACLs (no authorizer to
//! describe, create or enforce them).

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use clusterlink_kafka::client::{AclBinding, AclBindingFilter};
use clusterlink_kafka::Client;
use clusterlink_testkit::kafka::{tools, KafkaCluster, Listener, Mechanism, Sasl};
use clusterlink_testkit::rdkafka::{self, varied_records};
use serde_json::{json, Value};
use support::*;

const PASSWORD: &str = "pw-acl-sync";
/// How often the links sync ACLs (Confluent's minimum).
const SYNC_MS: u64 = 1000;

/// A single-node cluster with the StandardAuthorizer (no super user but ANONYMOUS, which is
/// how set-up and checks connect over PLAINTEXT) and, with users, a SASL listener for them.
fn secured(users: &[&str]) -> KafkaCluster {
    let mut b = KafkaCluster::builder();
    if !users.is_empty() {
        b = b.listener(Listener::SaslPlaintext);
    }
    for u in users {
        b = b.user(u, PASSWORD);
    }
    b.authorizer(&[]).start().unwrap()
}

fn sasl(user: &str) -> Sasl<'_> {
    Sasl {
        mechanism: Mechanism::ScramSha512,
        user,
        password: PASSWORD,
    }
}

/// kafka-acls on `cluster` (over PLAINTEXT: ANONYMOUS, a super user).
fn kafka_acls(cluster: &KafkaCluster, args: &[&str]) -> String {
    tools::tool(cluster, "org.apache.kafka.tools.AclCommand", args).unwrap()
}

/// The ACLs of `cluster`, as our client describes them.
async fn acls(c: &Client) -> BTreeSet<AclBinding> {
    c.describe_acls(&AclBindingFilter::any())
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// Waits until `done` holds for the destination's ACLs; how long that took.
async fn wait_acls(
    c: &Client,
    what: &str,
    done: impl Fn(&BTreeSet<AclBinding>) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        let now = acls(c).await;
        if done(&now) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}: {now:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn holds(acls: &BTreeSet<AclBinding>, principal: &str, resource: &str) -> bool {
    acls.iter()
        .any(|a| a.principal == principal && a.resource_name == resource)
}

/// Link `name` to `source`, authenticated as `user`, syncing the ACLs `filters` select.
async fn create_link(s: &Server, source: &KafkaCluster, name: &str, user: &str, filters: &Value) {
    let mut configs: Vec<Value> = source
        .java_client_config(Listener::SaslPlaintext, Some(sasl(user)))
        .into_iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    for (k, v) in [
        ("acl.sync.enable", "true".to_owned()),
        ("acl.sync.ms", SYNC_MS.to_string()),
        ("acl.filters", filters.to_string()),
    ] {
        configs.push(json!({"name": k, "value": v}));
    }
    let body = json!({"source_cluster_id": source.cluster_id(), "configs": configs});
    let (st, v) = s
        .call(
            "POST",
            &format!("{}?link_name={name}", s.links()),
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
}

/// The link's `AclSync` task.
fn acl_task(link: &Value) -> Value {
    link["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task_name"] == "AclSync")
        .cloned()
        .unwrap_or_else(|| panic!("no AclSync task: {link:#}"))
}

/// Reads `topic` on `cluster` as `user` with librdkafka over SASL: the records, or why not.
/// Waits until link `link`'s AclSync task is IN_ERROR, checks its error code, and returns its
/// message.
async fn acl_sync_error(s: &Server, link: &str, code: &str) -> String {
    let v = s
        .wait_for(&format!("{}/{link}", s.links()), "AclSync IN_ERROR", |v| {
            acl_task(v)["state"] == "IN_ERROR"
        })
        .await;
    let task = acl_task(&v);
    assert_eq!(task["errors"][0]["error_code"], code, "{task:#}");
    task["errors"][0]["error_message"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn read_as(cluster: &KafkaCluster, user: &str, topic: &str) -> Result<usize, String> {
    let config = cluster.rdkafka_config(Listener::SaslPlaintext, Some(sasl(user)));
    let bootstrap = cluster.bootstrap_for(Listener::SaslPlaintext);
    rdkafka::consume_configured(&bootstrap, topic, "read_committed", &config)
        .map(|got| got.len())
        .map_err(|e| format!("{e:#}"))
}

/// Whether librdkafka's error says the broker refused the user.
fn is_refusal(e: &str) -> bool {
    e.to_lowercase().contains("authoriz")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sources_acls_are_synced_enforced_and_removed_and_hand_made_ones_kept() {
    // Both clusters at once: each JVM takes seconds to start.
    let source = std::thread::spawn(|| secured(&["linker", "blind"]));
    let dst = secured(&["reader", "stranger"]);
    let src = source.join().unwrap();
    let topic = unique_name("orders");
    rdkafka::create_topic(&src.bootstrap(), &topic, 2).unwrap();
    produce(&src.bootstrap(), &topic, &varied_records(60, 2, "acl"));

    // The link's principal may describe the source's ACLs (DESCRIBE on the cluster) and read
    // its topics; these ACLs of its own are not selected by the filters below.
    kafka_acls(
        &src,
        &[
            "--add",
            "--allow-principal",
            "User:linker",
            "--operation",
            "Describe",
            "--cluster",
        ],
    );
    kafka_acls(
        &src,
        &[
            "--add",
            "--allow-principal",
            "User:linker",
            "--operation",
            "Read",
            "--operation",
            "Describe",
            "--operation",
            "DescribeConfigs",
            "--topic",
            "*",
        ],
    );
    // Made by hand on the destination before any sync: another principal's ACL, and one equal
    // to an ACL the source will have.
    let group_args = [
        "--allow-principal",
        "User:reader",
        "--operation",
        "Read",
        "--group",
        "kcheck-",
        "--resource-pattern-type",
        "prefixed",
    ];
    kafka_acls(&dst, &[&["--add"][..], &group_args].concat());
    kafka_acls(
        &dst,
        &[
            "--add",
            "--allow-principal",
            "User:ops",
            "--operation",
            "Describe",
            "--topic",
            &topic,
        ],
    );

    let s = Server::start(&dst.bootstrap()).await;
    let dst_client = client(&dst.bootstrap()).await;
    let hand_made = acls(&dst_client).await;
    assert_eq!(hand_made.len(), 2, "{hand_made:#?}");
    // Every ACL of User:reader, whatever the resource.
    let filters = json!({"aclFilters": [{
        "resourceFilter": {"resourceType": "any", "patternType": "any"},
        "accessFilter": {"principal": "User:reader", "host": "*", "operation": "any", "permissionType": "any"}
    }]});
    create_link(&s, &src, "west", "linker", &filters).await;
    let (st, v) = s.create_mirror("west", &topic).await;
    assert_eq!(st, 204, "{v:#}");
    s.wait_for(
        &format!("{}/west/mirrors/{topic}", s.links()),
        "the mirror caught up",
        caught_up(60),
    )
    .await;
    // No ACL for the reader yet: the destination refuses it.
    let refused = read_as(&dst, "reader", &topic).unwrap_err();
    assert!(is_refusal(&refused), "{refused}");

    // The reader gets its ACLs at the source: READ on the topic and on its groups.
    kafka_acls(
        &src,
        &[
            "--add",
            "--allow-principal",
            "User:reader",
            "--operation",
            "Read",
            "--topic",
            &topic,
        ],
    );
    kafka_acls(&src, &[&["--add"][..], &group_args].concat());
    let took = wait_acls(&dst_client, "the reader's topic ACL", |a| {
        holds(a, "User:reader", &topic)
    })
    .await;
    // A round is due every SYNC_MS (the housekeeping loop looks every 200 ms).
    assert!(took < Duration::from_millis(3 * SYNC_MS), "took {took:?}");
    let synced = acls(&dst_client).await;
    assert_eq!(
        synced.len(),
        3,
        "the topic ACL joins the two hand-made: {synced:#?}"
    );
    assert!(
        !synced.iter().any(|a| a.principal == "User:linker"),
        "not selected: {synced:#?}"
    );
    let listed = kafka_acls(&dst, &["--list", "--topic", &topic]);
    assert!(
        listed.contains("User:reader") && listed.contains("READ"),
        "{listed}"
    );
    // Enforced: the reader reads the mirror topic on the destination, the stranger may not.
    assert_eq!(read_as(&dst, "reader", &topic).unwrap(), 60);
    let refused = read_as(&dst, "stranger", &topic).unwrap_err();
    assert!(is_refusal(&refused), "{refused}");

    let (_, link) = s.get(&format!("{}/west", s.links())).await;
    assert_eq!(
        acl_task(&link),
        json!({"task_name": "AclSync", "state": "ACTIVE", "errors": []})
    );
    assert!(!link["not_implemented_configs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c.as_str().unwrap().starts_with("acl.")));
    let metrics = s.raw("GET", "/metrics", None).await.1;
    assert!(
        metrics.contains("clusterlink_acl_sync_acls_total{link=\"west\",result=\"created\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("clusterlink_acl_sync_owned_acls{link=\"west\"} 1"),
        "{metrics}"
    );

    // A restarted server still knows which ACLs its link created: when the source removes both
    // of the reader's ACLs, it deletes the topic ACL (its own) and keeps the group ACL that was
    // made by hand before the link had it.
    s.stop().await;
    let s = Server::start(&dst.bootstrap()).await;
    kafka_acls(
        &src,
        &[
            "--remove",
            "--force",
            "--allow-principal",
            "User:reader",
            "--operation",
            "Read",
            "--topic",
            &topic,
        ],
    );
    kafka_acls(&src, &[&["--remove", "--force"][..], &group_args].concat());
    wait_acls(&dst_client, "the topic ACL gone", |a| {
        !holds(a, "User:reader", &topic)
    })
    .await;
    // Another round or two: nothing else goes.
    tokio::time::sleep(Duration::from_millis(3 * SYNC_MS)).await;
    assert_eq!(acls(&dst_client).await, hand_made);
    let listed = kafka_acls(&dst, &["--list", "--topic", &topic]);
    assert!(
        !listed.contains("User:reader") && listed.contains("User:ops"),
        "{listed}"
    );
    let refused = read_as(&dst, "reader", &topic).unwrap_err();
    assert!(is_refusal(&refused), "{refused}");

    // A link whose principal may not describe the source's ACLs: its AclSync task says why.
    create_link(&s, &src, "blind", "blind", &filters).await;
    let message = acl_sync_error(&s, "blind", "AUTHORIZATION_ERROR").await;
    assert!(
        message.contains("Please enable DESCRIBE ACLs on the source cluster"),
        "{message}"
    );
    assert!(
        message.contains("CLUSTER_AUTHORIZATION_FAILED"),
        "{message}"
    );
    assert!(!message.contains(PASSWORD), "{message}");
    // The other link is not affected.
    let (_, west) = s.get(&format!("{}/west", s.links())).await;
    assert_eq!(acl_task(&west)["state"], "ACTIVE", "{west:#}");
    s.stop().await;
}

/// A source-initiated link: the INBOUND link on the destination holds the ACL sync configs, the
/// OUTBOUND side's pusher (on the source's link server) runs the rounds, and reports failures
/// in its heartbeat, which the INBOUND link's `AclSync` task shows.
#[tokio::test(flavor = "multi_thread")]
async fn a_source_initiated_link_syncs_acls_from_its_outbound_side() {
    let source = std::thread::spawn(|| secured(&[]));
    let dst = secured(&["reader"]);
    let src = source.join().unwrap();
    // A source without an authorizer: no ACLs to describe.
    let open = KafkaCluster::shared().unwrap();
    let s = Server::start(&src.bootstrap()).await;
    let o = Server::start(&open.bootstrap()).await;
    let d = Server::start(&dst.bootstrap()).await;
    let dst_client = client(&dst.bootstrap()).await;
    let topic = unique_name("orders");
    let filters = json!({"aclFilters": [{
        "resourceFilter": {"resourceType": "topic", "name": "*", "patternType": "any"},
        "accessFilter": {"principal": "User:reader", "operation": "any", "permissionType": "allow"}
    }]})
    .to_string();
    let sync_ms = SYNC_MS.to_string();
    for (name, source_id) in [("si", src.cluster_id()), ("si-open", open.cluster_id())] {
        let (st, v) = d
            .post(
                &format!("{}?link_name={name}", d.links()),
                json!({"source_cluster_id": source_id, "configs": configs(&[
                    ("link.mode", "DESTINATION"), ("connection.mode", "INBOUND"),
                    ("acl.sync.enable", "true"), ("acl.sync.ms", &sync_ms),
                    ("acl.filters", &filters)])}),
            )
            .await;
        assert_eq!(st, 204, "{v:#}");
    }
    for (server, name) in [(&s, "si"), (&o, "si-open")] {
        let (st, v) = server
            .post(
                &format!("{}?link_name={name}", server.links()),
                json!({"destination_cluster_id": dst.cluster_id(), "configs": configs(&[
                    ("link.mode", "SOURCE"), ("connection.mode", "OUTBOUND"),
                    ("bootstrap.servers", &dst.bootstrap())])}),
            )
            .await;
        assert_eq!(st, 204, "{v:#}");
    }

    kafka_acls(
        &src,
        &[
            "--add",
            "--allow-principal",
            "User:reader",
            "--operation",
            "Read",
            "--topic",
            &topic,
        ],
    );
    wait_acls(&dst_client, "the reader's ACL pushed", |a| {
        holds(a, "User:reader", &topic)
    })
    .await;
    let inbound = d
        .wait_for(&format!("{}/si", d.links()), "AclSync ACTIVE", |v| {
            acl_task(v)["state"] == "ACTIVE"
        })
        .await;
    assert_eq!(inbound["not_implemented_configs"], json!([]), "{inbound:#}");
    // The SOURCE link runs its INBOUND side's ACL sync; it has no task of its own.
    let (_, outbound) = s.get(&format!("{}/si", s.links())).await;
    assert_eq!(outbound["tasks"], json!([]), "{outbound:#}");

    kafka_acls(
        &src,
        &[
            "--remove",
            "--force",
            "--allow-principal",
            "User:reader",
            "--operation",
            "Read",
            "--topic",
            &topic,
        ],
    );
    wait_acls(&dst_client, "the reader's ACL removed", |a| a.is_empty()).await;

    let message = acl_sync_error(&d, "si-open", "SECURITY_DISABLED_ERROR").await;
    assert!(
        message.contains("The source cluster has no authorizer"),
        "{message}"
    );
    for server in [s, o, d] {
        server.stop().await;
    }
}
