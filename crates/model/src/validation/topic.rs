//! The rules of a KafkaTopic.

use crate::kafka_topic::KafkaTopic;
use crate::validated::ValidatedKafkaTopic;

use super::errors::{Rule, ValidationErrors};
use super::rest_class::rest_api;
use super::rules::Errors;

/// Checks a KafkaTopic: the validated model, or every problem found.
pub fn validate_kafka_topic(t: &KafkaTopic) -> Result<ValidatedKafkaTopic, ValidationErrors> {
    let mut e = Errors::default();
    e.metadata(t.metadata.name.as_deref(), t.metadata.namespace.as_deref());
    let s = &t.spec;
    match &s.name {
        Some(n) => e.topic_name("spec.name".into(), n),
        None => {
            if let Some(n) = &t.metadata.name {
                e.topic_name("metadata.name".into(), n);
            }
        }
    }
    if s.kafka_rest_class_ref.is_none() && s.kafka_cluster_ref.is_none() && s.kafka_rest.is_none() {
        e.required(
            "spec.kafkaRestClassRef",
            "the topic is managed through a KafkaRestClass, a kafkaClusterRef or kafkaRest",
        );
    }
    for (path, v) in [
        ("spec.partitionCount", s.partition_count),
        ("spec.replicas", s.replicas),
    ] {
        if let Some(v) = v {
            if v < 1 && v != -1 {
                e.push(
                    path,
                    Rule::Range {
                        value: v.into(),
                        why: "at least 1 (or -1 for the default)",
                    },
                );
            }
        }
    }
    if let Some(r) = &s.kafka_rest_class_ref {
        e.object_ref("spec.kafkaRestClassRef", &r.name, r.namespace.as_deref());
    }
    if let Some(api) = &s.kafka_rest {
        rest_api(&mut e, "spec.kafkaRest", api);
    }
    e.finish(|| ValidatedKafkaTopic::from_unchecked(t))
}
