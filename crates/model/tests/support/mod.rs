//! Test support: a small validator and generator for the OpenAPI v3 schema subset that CFK's
//! and our CRD schemas use, and access to CFK's published schemas in `shared/spec/crds`.
//!
//! The validator refuses to run on a keyword it does not know, so a constraint can never be
//! silently skipped.

#![allow(dead_code)]

use regex::Regex;
use serde_json::{Map, Value};

pub use clusterlink_testkit::cfk_page::spec_dir;

/// CFK 3.3.0's schema of a resource (`clusterlink`, `kafkarestclass`, `kafkatopic`).
pub fn cfk_schema(resource: &str) -> Value {
    let path = spec_dir().join(format!("crds/{resource}-cfk-3.3.0.schema.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set CLUSTERLINK_SPEC_DIR)", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Our generated schema of a resource, by kind.
pub fn our_schema(kind: &str) -> Value {
    let crd = clusterlink_model::crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD of kind {kind}"));
    let schema = crd.spec.versions[0]
        .schema
        .clone()
        .unwrap()
        .open_api_v3_schema
        .unwrap();
    serde_json::to_value(schema).unwrap()
}

const IGNORED: &[&str] = &[
    "description",
    "title",
    "default",
    "x-kubernetes-map-type",
    "x-kubernetes-preserve-unknown-fields",
];

/// All violations of `schema` by `doc`, as `path: problem`.
pub fn validate(schema: &Value, doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, doc, "", &mut errors);
    errors
}

fn check(schema: &Value, doc: &Value, path: &str, errors: &mut Vec<String>) {
    let s = schema.as_object().expect("schema is an object");
    for key in s.keys() {
        let known = [
            "type",
            "nullable",
            "properties",
            "required",
            "additionalProperties",
            "items",
            "enum",
            "pattern",
            "minLength",
            "maxLength",
            "minItems",
            "maxItems",
            "format",
        ];
        assert!(
            known.contains(&key.as_str()) || IGNORED.contains(&key.as_str()),
            "validator does not know schema keyword {key:?} at {path}"
        );
    }
    if doc.is_null() {
        if s.get("nullable") != Some(&Value::Bool(true)) {
            errors.push(format!("{path}: null not allowed"));
        }
        return;
    }
    if let Some(t) = s.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => doc.is_object(),
            "array" => doc.is_array(),
            "string" => doc.is_string(),
            "boolean" => doc.is_boolean(),
            "integer" => doc.is_i64() || doc.is_u64(),
            "number" => doc.is_number(),
            other => panic!("unknown type {other}"),
        };
        if !ok {
            errors.push(format!("{path}: not of type {t}"));
            return;
        }
    }
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        if !values.contains(doc) {
            errors.push(format!("{path}: {doc} not in enum"));
        }
    }
    if let Some(text) = doc.as_str() {
        let len = text.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64) {
            if len < min {
                errors.push(format!("{path}: shorter than {min}"));
            }
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
            if len > max {
                errors.push(format!("{path}: longer than {max}"));
            }
        }
        if let Some(pattern) = s.get("pattern").and_then(Value::as_str) {
            // JSON schema patterns are unanchored searches, as `is_match` is.
            if !Regex::new(pattern).unwrap().is_match(text) {
                errors.push(format!("{path}: {text:?} does not match {pattern}"));
            }
        }
    }
    if let Some(n) = doc.as_i64() {
        match s.get("format").and_then(Value::as_str) {
            Some("int32") if i32::try_from(n).is_err() => {
                errors.push(format!("{path}: {n} out of int32"))
            }
            _ => {}
        }
    }
    if let Some(items) = doc.as_array() {
        if let Some(min) = s.get("minItems").and_then(Value::as_u64) {
            if (items.len() as u64) < min {
                errors.push(format!("{path}: fewer than {min} items"));
            }
        }
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64) {
            if (items.len() as u64) > max {
                errors.push(format!("{path}: more than {max} items"));
            }
        }
        if let Some(item_schema) = s.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(item_schema, item, &format!("{path}[{i}]"), errors);
            }
        }
    }
    if let Some(obj) = doc.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for req in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !obj.contains_key(req.as_str().unwrap()) {
                errors.push(format!("{path}.{}: required", req.as_str().unwrap()));
            }
        }
        for (k, v) in obj {
            let child = format!("{path}.{k}");
            if let Some(p) = props.and_then(|p| p.get(k)) {
                check(p, v, &child, errors);
            } else {
                match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{child}: unknown field")),
                    Some(Value::Object(_)) => check(&s["additionalProperties"], v, &child, errors),
                    // Kubernetes prunes unknown fields of structural schemas; we don't see them.
                    _ => {}
                }
            }
        }
    }
}

/// A small deterministic random generator (xorshift64*), so failures name a reproducible seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn string_from(rng: &mut Rng, alphabet: &[u8], min: usize, max: usize) -> String {
    let len = min + rng.below((max - min + 1) as u64) as usize;
    (0..len).map(|_| *rng.pick(alphabet) as char).collect()
}

/// A string valid for a string schema (pattern, lengths), leaning on the few patterns CFK uses.
fn gen_string(rng: &mut Rng, s: &Map<String, Value>) -> String {
    let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = s
        .get("maxLength")
        .and_then(Value::as_u64)
        .map(|m| m as usize)
        .unwrap_or(40);
    let max = max.min(min.max(1) + 40);
    const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    const TOPIC: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    let out = match s.get("pattern").and_then(Value::as_str) {
        None => {
            let any: &[u8] = b"abcXYZ019 :/._-*=\"'{}";
            string_from(rng, any, min, max)
        }
        Some(r"^[a-zA-Z0-9\._\-]*$") => string_from(rng, TOPIC, min, max),
        Some("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$") => {
            let len = 1 + rng.below(max as u64) as usize;
            let mut name = string_from(rng, LOWER, len, len).into_bytes();
            for b in name.iter_mut().skip(1).take(len.saturating_sub(2)) {
                if rng.chance(15) {
                    *b = b'-';
                }
            }
            String::from_utf8(name).unwrap()
        }
        Some(".+:[0-9]+") => {
            let host = string_from(rng, LOWER, 1, 20);
            let port = rng.below(65536);
            if rng.chance(20) {
                format!("{host}:{port},{host}-2.example:{}", port / 2)
            } else {
                format!("{host}.example:{port}")
            }
        }
        Some("^https?://.*") => {
            let scheme = if rng.chance(50) { "http" } else { "https" };
            format!("{scheme}://{}:8090", string_from(rng, LOWER, 1, 20))
        }
        Some(other) => panic!("generator does not know pattern {other}"),
    };
    assert!(
        out.chars().count() >= min,
        "generator made a too short string"
    );
    out
}

/// A random document valid for `schema`. `depth` bounds recursion.
pub fn generate(schema: &Value, rng: &mut Rng) -> Value {
    let s = schema.as_object().unwrap();
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        return rng.pick(values).clone();
    }
    match s.get("type").and_then(Value::as_str) {
        Some("string") => Value::String(gen_string(rng, s)),
        Some("boolean") => Value::Bool(rng.chance(50)),
        Some("integer") => {
            let n = match s.get("format").and_then(Value::as_str) {
                Some("int32") => i64::from(rng.next() as i32),
                _ => rng.next() as i64,
            };
            let n = if rng.chance(50) { n % 1000 } else { n };
            Value::from(n)
        }
        Some("array") => {
            let min = s.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            let n = min + rng.below(4);
            Value::Array((0..n).map(|_| generate(&s["items"], rng)).collect())
        }
        Some("object") => {
            let mut out = Map::new();
            let required: Vec<&str> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().map(|v| v.as_str().unwrap()).collect())
                .unwrap_or_default();
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, v) in props {
                    if required.contains(&k.as_str()) || rng.chance(60) {
                        out.insert(k.clone(), generate(v, rng));
                    }
                }
            }
            if let Some(extra @ Value::Object(_)) = s.get("additionalProperties") {
                for _ in 0..rng.below(4) {
                    let key = string_from(rng, b"abcdefgh.-_xyz", 1, 20);
                    out.insert(key, generate(extra, rng));
                }
            }
            Value::Object(out)
        }
        other => panic!("generator does not know type {other:?}"),
    }
}

/// Every path of `schema` that leads to a scalar (`a.b[].c`, maps as `a{}`), with its schema.
pub fn leaf_paths(schema: &Value) -> Vec<(String, Value)> {
    fn walk(s: &Value, path: String, out: &mut Vec<(String, Value)>) {
        let mut leaf = true;
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            leaf = false;
            for (k, v) in props {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(v, p, out);
            }
        }
        if let Some(items) = s.get("items") {
            leaf = false;
            walk(items, format!("{path}[]"), out);
        }
        if let Some(extra @ Value::Object(_)) = s.get("additionalProperties") {
            leaf = false;
            walk(extra, format!("{path}{{}}"), out);
        }
        if leaf {
            out.push((path, s.clone()));
        }
    }
    let mut out = Vec::new();
    walk(schema, String::new(), &mut out);
    out
}

/// The leaf paths present in a document, in the notation of [`leaf_paths`]. Maps are recognised
/// by `map_paths` (paths whose keys are data, not field names).
pub fn doc_paths(doc: &Value, map_paths: &[String]) -> Vec<String> {
    fn walk(v: &Value, path: String, maps: &[String], out: &mut Vec<String>) {
        match v {
            Value::Object(obj) if maps.contains(&path) => {
                for child in obj.values() {
                    walk(child, format!("{path}{{}}"), maps, out);
                }
                if obj.is_empty() {
                    out.push(path);
                }
            }
            Value::Object(obj) => {
                for (k, child) in obj {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(child, p, maps, out);
                }
                if obj.is_empty() {
                    out.push(path);
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, format!("{path}[]"), maps, out);
                }
            }
            _ => out.push(path),
        }
    }
    let mut out = Vec::new();
    walk(doc, String::new(), map_paths, &mut out);
    out
}
