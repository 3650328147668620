//! Reading manifests as CFK users write them: multi-document YAML, any of the three kinds, and a
//! check that nothing in a document was lost on the way into our types.
//!
//! The API server prunes fields a CRD does not know, but the CLI reads files directly; there a
//! misspelt field would silently do nothing. [`parse_resource`] therefore reports every field of
//! the input that does not survive a round trip through the typed resource
//! ([`Parsed::dropped_fields`]), so callers can warn or refuse.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::cluster_link::ClusterLink;
use crate::kafka_rest_class::KafkaRestClass;
use crate::kafka_topic::KafkaTopic;

/// The API group and version of all three resources.
pub const API_VERSION: &str = "platform.confluent.io/v1beta1";

/// A manifest that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Not YAML (or JSON) at all.
    #[error("document {document}: invalid YAML: {message}")]
    Yaml {
        /// 0-based index of the document in the stream.
        document: usize,
        /// The parser's message.
        message: String,
    },
    /// `apiVersion`/`kind` is not one of ours.
    #[error("unsupported resource {api_version}/{kind} (expected {API_VERSION} ClusterLink, KafkaRestClass or KafkaTopic)")]
    UnsupportedKind {
        /// The document's `apiVersion`.
        api_version: String,
        /// The document's `kind`.
        kind: String,
    },
    /// The document does not fit the resource's shape (wrong type, unknown enum value, missing
    /// required field).
    #[error("{kind}: {message}")]
    Shape {
        /// The resource kind.
        kind: String,
        /// serde's message, which names the field.
        message: String,
    },
}

impl ParseError {
    /// A short, stable label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self {
            ParseError::Yaml { .. } => "yaml",
            ParseError::UnsupportedKind { .. } => "unsupported-kind",
            ParseError::Shape { .. } => "shape",
        }
    }
}

/// One of the three resources.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Resource {
    /// A ClusterLink.
    ClusterLink(Box<ClusterLink>),
    /// A KafkaRestClass.
    KafkaRestClass(Box<KafkaRestClass>),
    /// A KafkaTopic.
    KafkaTopic(Box<KafkaTopic>),
}

impl Resource {
    /// The resource's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Resource::ClusterLink(_) => "ClusterLink",
            Resource::KafkaRestClass(_) => "KafkaRestClass",
            Resource::KafkaTopic(_) => "KafkaTopic",
        }
    }

    /// The resource as a JSON value (what `kubectl apply` would send).
    pub fn to_value(&self) -> Value {
        let v = match self {
            Resource::ClusterLink(r) => serde_json::to_value(r),
            Resource::KafkaRestClass(r) => serde_json::to_value(r),
            Resource::KafkaTopic(r) => serde_json::to_value(r),
        };
        // Our types serialise to JSON without fail: string-keyed maps only.
        v.unwrap_or_else(|e| panic!("serialising a resource: {e}"))
    }
}

/// A parsed resource and the input fields it did not keep.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The resource.
    pub resource: Resource,
    /// Paths (`spec.mirrorTopics[0].nmae`) of input fields that the typed resource does not
    /// hold: unknown or misspelt fields. Empty for every CFK-valid manifest.
    pub dropped_fields: Vec<String>,
}

/// Splits a YAML stream into documents, skipping empty ones (comments only, or `---` alone).
pub fn parse_documents(yaml: &str) -> Result<Vec<Value>, ParseError> {
    let mut out = Vec::new();
    for (document, de) in serde_norway::Deserializer::from_str(yaml).enumerate() {
        let value: Value = serde::Deserialize::deserialize(de).map_err(|e| ParseError::Yaml {
            document,
            message: e.to_string(),
        })?;
        if !value.is_null() {
            out.push(value);
        }
    }
    Ok(out)
}

/// Reads one document as whichever of the three resources its `apiVersion`/`kind` names.
pub fn parse_resource(value: Value) -> Result<Parsed, ParseError> {
    let field = |k: &str| {
        value
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (api_version, kind) = (field("apiVersion"), field("kind"));
    if api_version != API_VERSION {
        return Err(ParseError::UnsupportedKind { api_version, kind });
    }
    let (resource, round_tripped) = match kind.as_str() {
        "ClusterLink" => {
            let (r, v) = typed::<ClusterLink>(&kind, &value)?;
            (Resource::ClusterLink(Box::new(r)), v)
        }
        "KafkaRestClass" => {
            let (r, v) = typed::<KafkaRestClass>(&kind, &value)?;
            (Resource::KafkaRestClass(Box::new(r)), v)
        }
        "KafkaTopic" => {
            // CFK's KafkaTopic schema does not require `spec`; our type holds an empty one.
            let mut with_spec = value.clone();
            if let Some(obj) = with_spec.as_object_mut() {
                obj.entry("spec")
                    .or_insert_with(|| Value::Object(Default::default()));
            }
            let (r, v) = typed::<KafkaTopic>(&kind, &with_spec)?;
            (Resource::KafkaTopic(Box::new(r)), v)
        }
        _ => return Err(ParseError::UnsupportedKind { api_version, kind }),
    };
    Ok(Parsed {
        resource,
        dropped_fields: dropped_fields(&value, &round_tripped),
    })
}

fn typed<T: DeserializeOwned + Serialize>(
    kind: &str,
    value: &Value,
) -> Result<(T, Value), ParseError> {
    let shape = |e: serde_json::Error| ParseError::Shape {
        kind: kind.into(),
        message: e.to_string(),
    };
    let typed: T = serde_json::from_value(value.clone()).map_err(shape)?;
    let back = serde_json::to_value(&typed).map_err(shape)?;
    Ok((typed, back))
}

/// Paths of `original` whose values `round_tripped` does not hold. A `null` in the original
/// counts as absent (YAML's `key:` with nothing after it), and numbers compare by value.
pub fn dropped_fields(original: &Value, round_tripped: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff(original, round_tripped, String::new(), &mut out);
    out
}

fn diff(original: &Value, back: &Value, path: String, out: &mut Vec<String>) {
    match (original, back) {
        (Value::Null, _) => {}
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    Some(w) => diff(v, w, child, out),
                    None if v.is_null() => {}
                    None => out.push(child),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, v) in a.iter().enumerate() {
                let child = format!("{path}[{i}]");
                match b.get(i) {
                    Some(w) => diff(v, w, child, out),
                    None => out.push(child),
                }
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b => {}
        _ => out.push(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dropped_fields_names_unknown_and_changed_fields_only() {
        let original = json!({"a": 1, "b": {"c": [1, {"d": 2, "e": null}], "f": "x"}, "g": null});
        let back = json!({"a": 1.0, "b": {"c": [1, {}], "f": "y"}, "extra": true});
        assert_eq!(dropped_fields(&original, &back), ["b.c[1].d", "b.f"]);
    }

    #[test]
    fn misspelt_field_is_reported() {
        let doc = json!({
            "apiVersion": API_VERSION, "kind": "ClusterLink",
            "metadata": {"name": "l"},
            "spec": {
                "sourceKafkaCluster": {"bootstrapEndpoint": "a:9092", "clusterId": "x"},
                "destinationKafkaCluster": {"kafkaRestClassRef": {"name": "r"}},
                "mirrorTopics": [{"name": "t", "stat": "PAUSE"}]
            }
        });
        let parsed = parse_resource(doc).unwrap();
        assert_eq!(
            parsed.dropped_fields,
            [
                "spec.mirrorTopics[0].stat",
                "spec.sourceKafkaCluster.clusterId"
            ]
        );
    }

    #[test]
    fn kafka_topic_without_spec_is_read() {
        let doc =
            json!({"apiVersion": API_VERSION, "kind": "KafkaTopic", "metadata": {"name": "t"}});
        let parsed = parse_resource(doc).unwrap();
        assert!(parsed.dropped_fields.is_empty());
        match parsed.resource {
            Resource::KafkaTopic(t) => assert_eq!(t.topic_name(), Some("t")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_kind_and_bad_shape_are_errors_with_categories() {
        let e = parse_resource(json!({"apiVersion": "v1", "kind": "Secret"})).unwrap_err();
        assert_eq!(e.category(), "unsupported-kind");
        let e = parse_resource(json!({
            "apiVersion": API_VERSION, "kind": "ClusterLink", "metadata": {},
            "spec": {"sourceKafkaCluster": {}, "destinationKafkaCluster": {},
                     "mirrorTopics": [{"name": "t", "state": "STOPPED"}]}
        }))
        .unwrap_err();
        assert_eq!(e.category(), "shape");
        assert!(e.to_string().contains("STOPPED"), "{e}");
        let e = parse_documents("a: [").unwrap_err();
        assert_eq!(e.category(), "yaml");
    }

    #[test]
    fn documents_are_split_and_empty_ones_skipped() {
        let docs = parse_documents("---\n# only a comment\n---\na: 1\n---\nb: 2\n").unwrap();
        assert_eq!(docs, [json!({"a": 1}), json!({"b": 2})]);
    }
}
