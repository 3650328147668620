//! Our OpenAPI document against Confluent's spec, and our live responses against Confluent's
//! response schemas, for every path we share (live: on Apache Kafka and tansu).

mod support;

use std::collections::BTreeSet;

use clusterlink_testkit::rdkafka::varied_records;
use serde_json::{json, Value};
use support::*;

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_norway::from_str(&text).unwrap()
}

fn ours() -> Value {
    load(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
}

fn confluent() -> Value {
    load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/spec/confluent-rest-v3-clusterlinking.yaml"
    ))
}

const METHODS: &[&str] = &["get", "post", "put", "delete"];

fn success_codes(op: &Value) -> BTreeSet<String> {
    op["responses"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|c| c.starts_with('2'))
        .cloned()
        .collect()
}

fn param_names(op: &Value) -> BTreeSet<String> {
    op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    format!(
                        "{}:{}",
                        p["in"].as_str().unwrap(),
                        p["name"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every path and method we document that Confluent's spec also has: same success status codes,
/// and at least Confluent's parameters; and we serve every cluster-linking path of Confluent's.
#[test]
fn our_document_matches_confluent_for_shared_paths() {
    let (ours, theirs) = (ours(), confluent());
    let mut shared = 0;
    for (path, item) in ours["paths"].as_object().unwrap() {
        let Some(their_item) = theirs["paths"].get(path) else {
            // The brokers list is in Confluent's full v3 API, not in its cluster-linking
            // document; the failback actions by Confluent Cloud's names are in Cloud's spec
            // (cfk-reference §5.2), not in this Platform one.
            assert!(
                [
                    "/healthz",
                    "/readyz",
                    "/metrics",
                    "/openapi.yaml",
                    "/clusters/{cluster_id}/brokers",
                    "/clusters/{cluster_id}/links/{link_name}/mirrors:truncate-and-restore",
                    "/clusters/{cluster_id}/links/{link_name}/mirrors:reverse-and-start-mirror",
                    "/clusters/{cluster_id}/links/{link_name}/mirrors:reverse-and-pause-mirror",
                ]
                .contains(&path.as_str()),
                "{path} is in our document but not Confluent's"
            );
            continue;
        };
        for m in METHODS {
            let (Some(op), Some(their_op)) = (item.get(*m), their_item.get(*m)) else {
                assert!(
                    item.get(*m).is_none(),
                    "{m} {path}: Confluent has no such operation"
                );
                continue;
            };
            shared += 1;
            assert_eq!(success_codes(op), success_codes(their_op), "{m} {path}");
            let missing: Vec<_> = param_names(their_op)
                .difference(&param_names(op))
                .cloned()
                .collect();
            assert!(
                missing.is_empty(),
                "{m} {path} lacks parameters {missing:?}"
            );
            if let Some(id) = their_op.get("operationId") {
                assert_eq!(&op["operationId"], id, "{m} {path}");
            }
        }
    }
    assert_eq!(shared, 27);
    let not_served: Vec<String> = theirs["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|p| ours["paths"].get(p.as_str()).is_none())
        .cloned()
        .collect();
    assert_eq!(not_served, Vec::<String>::new());
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let mut v = root;
            for part in r.trim_start_matches("#/").split('/') {
                v = &v[part];
            }
            resolve(root, v)
        }
        None => schema,
    }
}

/// A small JSON-schema check (OpenAPI 3.0 subset: $ref, allOf, type, nullable, required,
/// properties, items, enum).
fn check(root: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let s = resolve(root, schema);
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for sub in all {
            check(root, sub, v, at, errors);
        }
    }
    if v.is_null() {
        if s.get("type").is_some() && s["nullable"] != true {
            errors.push(format!("{at}: null but not nullable"));
        }
        return;
    }
    let ty = s.get("type").and_then(Value::as_str).or_else(|| {
        (s.get("properties").is_some() || s.get("required").is_some()).then_some("object")
    });
    let ok = match ty {
        Some("object") => v.is_object(),
        Some("string") => v.is_string(),
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("boolean") => v.is_boolean(),
        Some("array") => v.is_array(),
        _ => true,
    };
    if !ok {
        errors.push(format!("{at}: {v} is not {}", ty.unwrap_or("?")));
        return;
    }
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        if !values.contains(v) {
            errors.push(format!("{at}: {v} not in {values:?}"));
        }
    }
    for r in s["required"].as_array().into_iter().flatten() {
        let r = r.as_str().unwrap();
        if v.get(r).is_none() {
            errors.push(format!("{at}: missing required {r}"));
        }
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (k, ps) in props {
            if let Some(pv) = v.get(k) {
                check(root, ps, pv, &format!("{at}.{k}"), errors);
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            check(root, items, x, &format!("{at}[{i}]"), errors);
        }
    }
}

/// Live responses of every GET and mirror action we share with Confluent validate against
/// Confluent's response schema of that path (and against ours).
async fn live_responses_match_confluent_schemas(peer: Peer) {
    let (a, b) = peer.pair().unwrap();
    let (t, u, plain) = (unique_name("t"), unique_name("u"), unique_name("plain"));
    let src = client(&a.bootstrap()).await;
    create_topic(&src, &t, 2).await;
    create_topic(&src, &u, 1).await;
    produce(&a.bootstrap(), &t, &varied_records(20, 2, "x"));
    let s = Server::start(&b.bootstrap()).await;
    let c = format!("/kafka{}", s.cluster());
    let (st, v) = s.create_link("l", &a, &[]).await;
    assert_eq!(st, 204, "{v:#}");
    assert_eq!(s.create_mirror("l", &t).await.0, 204);
    assert_eq!(s.create_mirror("l", &u).await.0, 204);
    let (st, v) = s
        .post(
            &format!("{c}/topics"),
            json!({"topic_name": plain, "partitions_count": 1}),
        )
        .await;
    assert_eq!(st, 201, "{v:#}");
    let created = v;

    let (theirs, ours) = (confluent(), ours());
    let mut calls: Vec<(&str, &str, String, Value)> = vec![
        (
            "get",
            "/clusters",
            "/kafka/v3/clusters".to_string(),
            Value::Null,
        ),
        ("get", "/clusters/{cluster_id}", c.clone(), Value::Null),
        (
            "get",
            "/clusters/{cluster_id}/topics",
            format!("{c}/topics"),
            Value::Null,
        ),
        (
            "get",
            "/clusters/{cluster_id}/topics/{topic_name}",
            format!("{c}/topics/{t}"),
            Value::Null,
        ),
        (
            "get",
            "/clusters/{cluster_id}/topics/{topic_name}/configs",
            format!("{c}/topics/{t}/configs"),
            Value::Null,
        ),
        (
            "get",
            "/clusters/{cluster_id}/links",
            format!("{c}/links"),
            Value::Null,
        ),
        (
            "get",
            "/clusters/{cluster_id}/links/{link_name}",
            format!("{c}/links/l"),
            Value::Null,
        ),
        (
            "get",
            "/clusters/{cluster_id}/links/{link_name}/configs",
            format!("{c}/links/l/configs"),
            Value::Null,
        ),
        (
            "get",
            "/clusters/{cluster_id}/links/{link_name}/configs/{config_name}",
            format!("{c}/links/l/configs/acl.sync.ms"),
            Value::Null,
        ),
        (
            "get",
            "/clusters/{cluster_id}/links/{link_name}/mirrors",
            format!("{c}/links/l/mirrors"),
            Value::Null,
        ),
        (
            "get",
            "/clusters/{cluster_id}/links/-/mirrors",
            format!("{c}/links/-/mirrors"),
            Value::Null,
        ),
        (
            "get",
            "/clusters/{cluster_id}/links/{link_name}/mirrors/{mirror_topic_name}",
            format!("{c}/links/l/mirrors/{t}"),
            Value::Null,
        ),
        (
            "post",
            "/clusters/{cluster_id}/links/{link_name}/mirrors:pause",
            format!("{c}/links/l/mirrors:pause"),
            json!({"mirror_topic_names": [t]}),
        ),
        (
            "post",
            "/clusters/{cluster_id}/links/{link_name}/mirrors:resume",
            format!("{c}/links/l/mirrors:resume"),
            json!({"mirror_topic_names": [t]}),
        ),
        (
            "post",
            "/clusters/{cluster_id}/links/{link_name}/mirrors:promote",
            format!("{c}/links/l/mirrors:promote"),
            json!({"mirror_topic_names": [t]}),
        ),
        (
            "post",
            "/clusters/{cluster_id}/links/{link_name}/mirrors:failover",
            format!("{c}/links/l/mirrors:failover"),
            json!({"mirror_topic_names": [u]}),
        ),
    ];
    let mut errors = Vec::new();
    for (method, path, url, body) in calls.drain(..) {
        let (st, v) = if method == "get" {
            s.get(&url).await
        } else {
            s.post(&url, body).await
        };
        assert_eq!(st, 200, "{method} {url}: {v:#}");
        for (name, doc) in [("confluent", &theirs), ("ours", &ours)] {
            let schema = &doc["paths"][path][method]["responses"]["200"]["content"]
                ["application/json"]["schema"];
            assert!(
                schema.is_object(),
                "{name}: no 200 schema for {method} {path}"
            );
            check(
                doc,
                schema,
                &v,
                &format!("{name} {method} {url}"),
                &mut errors,
            );
        }
    }
    // 201 of topic creation
    for doc in [&theirs, &ours] {
        let schema = &doc["paths"]["/clusters/{cluster_id}/topics"]["post"]["responses"]["201"]
            ["content"]["application/json"]["schema"];
        check(doc, schema, &created, "post topics", &mut errors);
    }
    // error bodies
    let (st, v) = s.get(&format!("{c}/links/nope")).await;
    assert_eq!(st, 404);
    check(
        &theirs,
        &theirs["components"]["schemas"]["Error"],
        &v,
        "error",
        &mut errors,
    );
    assert!(errors.is_empty(), "{errors:#?}");
    // the checker itself sees a missing required field and a wrong type
    let mut caught = Vec::new();
    let error_schema = &theirs["components"]["schemas"]["Error"];
    check(
        &theirs,
        error_schema,
        &json!({"message": "m"}),
        "e1",
        &mut caught,
    );
    check(
        &theirs,
        error_schema,
        &json!({"error_code": "x", "message": null}),
        "e2",
        &mut caught,
    );
    assert_eq!(caught.len(), 2, "{caught:#?}");
    s.stop().await;
}

peer_tests! {
    live_responses_match_confluent_schemas: [kafka, tansu];
}
