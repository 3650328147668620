//! Compatibility with CFK 3.3: our CRD schemas accept everything CFK's schemas accept, and our
//! types read and write back every CFK-valid document without losing a field.
//!
//! CFK's schemas are read from `shared/spec/crds` (set `CLUSTERLINK_SPEC_DIR` to move it).

mod support;

use serde_json::{json, Value};
use support::{cfk_schema, doc_paths, generate, leaf_paths, our_schema, validate, Rng};

const RESOURCES: [(&str, &str); 3] = [
    ("clusterlink", "ClusterLink"),
    ("kafkarestclass", "KafkaRestClass"),
    ("kafkatopic", "KafkaTopic"),
];

/// Walks CFK's schema and checks that ours has every property, with a type that is the same and
/// constraints that are the same or looser.
fn assert_looser(cfk: &Value, ours: &Value, path: &str, problems: &mut Vec<String>) {
    let get = |s: &Value, k: &str| s.get(k).cloned();
    if get(cfk, "type") != get(ours, "type") {
        problems.push(format!(
            "{path}: type {:?} vs ours {:?}",
            get(cfk, "type"),
            get(ours, "type")
        ));
    }
    if let Some(Value::Array(cfk_enum)) = get(cfk, "enum") {
        let ours_enum = get(ours, "enum").and_then(|e| e.as_array().cloned());
        if let Some(ours_enum) = ours_enum {
            for v in cfk_enum {
                if !ours_enum.contains(&v) {
                    problems.push(format!("{path}: enum value {v} missing"));
                }
            }
        }
    } else if get(ours, "enum").is_some() {
        problems.push(format!("{path}: we add an enum"));
    }
    if get(ours, "pattern").is_some() && get(ours, "pattern") != get(cfk, "pattern") {
        problems.push(format!("{path}: pattern differs"));
    }
    let num = |s: &Value, k: &str| s.get(k).and_then(Value::as_u64);
    for k in ["minLength", "minItems"] {
        if num(ours, k).unwrap_or(0) > num(cfk, k).unwrap_or(0) {
            problems.push(format!("{path}: {k} stricter"));
        }
    }
    for k in ["maxLength", "maxItems"] {
        if num(ours, k).unwrap_or(u64::MAX) < num(cfk, k).unwrap_or(u64::MAX) {
            problems.push(format!("{path}: {k} stricter"));
        }
    }
    // Kubernetes holds every integer as int64, so int64 is no constraint on an integer.
    let int64 = Some(json!("int64"));
    if get(ours, "format").is_some()
        && get(ours, "format") != get(cfk, "format")
        && !(get(ours, "format") == int64 && get(cfk, "format").is_none())
    {
        problems.push(format!(
            "{path}: format {:?} vs ours {:?}",
            get(cfk, "format"),
            get(ours, "format")
        ));
    }
    let list = |s: &Value, k: &str| -> Vec<Value> {
        s.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let cfk_required = list(cfk, "required");
    for r in list(ours, "required") {
        if !cfk_required.contains(&r) {
            problems.push(format!("{path}: we require {r}"));
        }
    }
    if matches!(ours.get("additionalProperties"), Some(Value::Bool(false))) {
        problems.push(format!("{path}: we forbid additional properties"));
    }
    if let Some(props) = cfk.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            // apiVersion, kind and metadata are the API server's, not the CRD's.
            if path.is_empty() && ["apiVersion", "kind", "metadata"].contains(&k.as_str()) {
                continue;
            }
            match ours.get("properties").and_then(|p| p.get(k)) {
                Some(o) => assert_looser(v, o, &format!("{path}.{k}"), problems),
                None => problems.push(format!("{path}.{k}: missing")),
            }
        }
    }
    if let Some(items) = cfk.get("items") {
        match ours.get("items") {
            Some(o) => assert_looser(items, o, &format!("{path}[]"), problems),
            None => problems.push(format!("{path}[]: items missing")),
        }
    }
    if let Some(extra @ Value::Object(_)) = cfk.get("additionalProperties") {
        match ours.get("additionalProperties") {
            Some(o @ Value::Object(_)) => assert_looser(extra, o, &format!("{path}{{}}"), problems),
            _ => problems.push(format!("{path}{{}}: map values missing")),
        }
    }
}

#[test]
fn our_schemas_have_every_cfk_field_with_the_same_or_looser_constraints() {
    for (file, kind) in RESOURCES {
        let mut problems = Vec::new();
        assert_looser(&cfk_schema(file), &our_schema(kind), "", &mut problems);
        assert!(problems.is_empty(), "{kind}:\n{}", problems.join("\n"));
    }
}

/// A document generated from CFK's schema, with real identity fields.
fn generated(file: &str, kind: &str, rng: &mut Rng) -> Value {
    let mut doc = generate(&cfk_schema(file), rng);
    let obj = doc.as_object_mut().unwrap();
    obj.insert("apiVersion".into(), json!("platform.confluent.io/v1beta1"));
    obj.insert("kind".into(), json!(kind));
    obj.insert(
        "metadata".into(),
        json!({"name": "generated", "namespace": "ns"}),
    );
    doc
}

#[test]
fn documents_generated_from_cfk_schemas_are_accepted_by_ours_and_round_trip() {
    const CASES: u64 = 400;
    for (file, kind) in RESOURCES {
        let cfk = cfk_schema(file);
        let ours = our_schema(kind);
        for seed in 0..CASES {
            let mut rng = Rng::new(seed);
            let doc = generated(file, kind, &mut rng);
            let pretty = serde_json::to_string_pretty(&doc).unwrap();
            // The generator itself is checked against CFK's schema.
            let cfk_errors = validate(&cfk, &doc);
            assert!(
                cfk_errors.is_empty(),
                "seed {seed}: generator broke CFK's schema: {cfk_errors:?}\n{pretty}"
            );
            let errors = validate(&ours, &doc);
            assert!(
                errors.is_empty(),
                "{kind} seed {seed}: our schema refuses {errors:?}\n{pretty}"
            );
            let parsed = clusterlink_model::parse_resource(doc.clone())
                .unwrap_or_else(|e| panic!("{kind} seed {seed}: {e}\n{pretty}"));
            assert!(
                parsed.dropped_fields.is_empty(),
                "{kind} seed {seed}: lost {:?}\n{pretty}",
                parsed.dropped_fields
            );
            // Writing back and reading again gives the same resource.
            let again = clusterlink_model::parse_resource(parsed.resource.to_value()).unwrap();
            assert_eq!(again.resource, parsed.resource, "{kind} seed {seed}");
        }
    }
}

#[test]
fn the_validator_used_here_does_reject_what_cfk_rejects() {
    let cfk = cfk_schema("clusterlink");
    let ours = our_schema("ClusterLink");
    let bad = [
        json!({"spec": {"sourceKafkaCluster": {}, "destinationKafkaCluster": {},
                        "mirrorTopics": [{"name": "t", "state": "STOPPED"}]}}),
        json!({"spec": {"sourceKafkaCluster": {"bootstrapEndpoint": "no-port"},
                        "destinationKafkaCluster": {}}}),
        json!({"spec": {"sourceKafkaCluster": {}, "destinationKafkaCluster": {},
                        "mirrorTopics": [{"name": "a/b"}]}}),
        json!({"spec": {"sourceKafkaCluster": {"tls": {"enabled": true, "secretRef": "Upper"}},
                        "destinationKafkaCluster": {}}}),
        json!({"spec": {"sourceKafkaCluster": {}, "destinationKafkaCluster": {},
                        "mirrorTopics": [{"state": "ACTIVE"}]}}),
        json!({"spec": {"destinationKafkaCluster": {}}}),
        json!({"spec": {"sourceKafkaCluster": {}, "destinationKafkaCluster": {},
                        "mirrorTopics": [{"name": "t", "replicationFactor": 3_000_000_000_i64}]}}),
    ];
    for doc in bad {
        assert!(!validate(&cfk, &doc).is_empty(), "CFK accepts {doc}");
        assert!(!validate(&ours, &doc).is_empty(), "we accept {doc}");
    }
}

fn fixtures() -> Vec<(String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cfk");
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        for (i, doc) in clusterlink_model::parse_documents(&text)
            .unwrap()
            .into_iter()
            .enumerate()
        {
            out.push((format!("{name}#{i}"), doc));
        }
    }
    out
}

#[test]
fn fixture_corpus_is_cfk_valid_accepted_and_round_trips() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 10, "only {} fixtures", fixtures.len());
    for (name, doc) in fixtures {
        let kind = doc["kind"].as_str().unwrap().to_string();
        let file = RESOURCES.iter().find(|(_, k)| *k == kind).unwrap().0;
        let cfk_errors = validate(&cfk_schema(file), &doc);
        assert!(
            cfk_errors.is_empty(),
            "{name}: not CFK-valid: {cfk_errors:?}"
        );
        let errors = validate(&our_schema(&kind), &doc);
        assert!(errors.is_empty(), "{name}: our schema refuses: {errors:?}");
        let parsed = clusterlink_model::parse_resource(doc.clone()).unwrap();
        assert!(
            parsed.dropped_fields.is_empty(),
            "{name}: lost {:?}",
            parsed.dropped_fields
        );
    }
}

#[test]
fn fixture_corpus_covers_every_field_of_cfk_schemas() {
    let fixtures = fixtures();
    for (file, kind) in RESOURCES {
        let schema = cfk_schema(file);
        let leaves = leaf_paths(&schema);
        // Paths whose keys are data (maps): whatever stands before a `{}`.
        let maps: Vec<String> = leaves
            .iter()
            .flat_map(|(p, _)| p.match_indices("{}").map(|(i, _)| p[..i].to_string()))
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for (_, doc) in fixtures.iter().filter(|(_, d)| d["kind"] == kind) {
            seen.extend(doc_paths(doc, &maps));
        }
        let missing: Vec<_> = leaves
            .iter()
            .map(|(p, _)| p)
            .filter(|p| p.as_str() != "metadata" && !seen.contains(*p))
            .collect();
        assert!(missing.is_empty(), "{kind}: no fixture sets {missing:#?}");
    }
}
