//! Which KafkaRestClass serves a cluster: the one a `kafkaRestClassRef` names, or the one whose
//! `kafkaClusterRef` names the Kafka cluster a resource refers to (CFK's examples name the
//! cluster, `name`/`namespace`, and leave the KafkaRestClass implicit).

use std::time::Duration;

use clusterlink_model::common::KafkaRestClassRef;
use clusterlink_model::{KafkaRestClass, KafkaTopic, LinkEnd};

use crate::objects::Objects;

use super::error::DerefError;
use super::rest_api::{rest_target, RestTarget};

/// A KafkaRestClass found for a resource.
struct Found<'a> {
    /// `KafkaRestClass namespace/name`, for messages.
    source: String,
    /// The namespace it lives in: its Secrets are there.
    namespace: String,
    rest_class: &'a KafkaRestClass,
}

impl Found<'_> {
    fn target(&self, objects: &Objects, timeout: Duration) -> Result<RestTarget, DerefError> {
        rest_target(
            self.rest_class.spec.kafka_rest.as_ref(),
            &self.source,
            &self.namespace,
            objects,
            timeout,
        )
    }
}

fn found<'a>(rest_class: &'a KafkaRestClass, namespace: &str) -> Found<'a> {
    let namespace = rest_class
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| namespace.to_string());
    Found {
        source: format!(
            "KafkaRestClass {namespace}/{}",
            rest_class.metadata.name.as_deref().unwrap_or_default()
        ),
        namespace,
        rest_class,
    }
}

/// The KafkaRestClass `r` names (in `namespace` unless it names one); `path` is the field.
fn by_ref<'a>(
    r: &KafkaRestClassRef,
    namespace: &str,
    objects: &'a Objects,
    path: &str,
) -> Result<Found<'a>, DerefError> {
    let ns = r.namespace.as_deref().unwrap_or(namespace);
    objects
        .rest_class(ns, &r.name)
        .map(|rc| found(rc, ns))
        .ok_or_else(|| DerefError::RestClassNotFound {
            path: path.to_string(),
            namespace: ns.to_string(),
            name: r.name.clone(),
        })
}

/// The one KafkaRestClass whose `kafkaClusterRef` names the Kafka cluster `namespace/name`;
/// `path` is the field that names the cluster.
fn for_cluster<'a>(
    namespace: &str,
    name: &str,
    objects: &'a Objects,
    path: &str,
) -> Result<Found<'a>, DerefError> {
    match objects.rest_classes_for_kafka(namespace, name).as_slice() {
        [] => Err(DerefError::NoRestClassForCluster {
            path: path.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }),
        [rc] => Ok(found(rc, namespace)),
        many => Err(DerefError::AmbiguousRestClass {
            path: path.to_string(),
            names: many
                .iter()
                .map(|rc| {
                    format!(
                        "{namespace}/{}",
                        rc.metadata.name.as_deref().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The REST API of one end of a link, if the resource names one for it (`namespace` is the
/// resource's).
pub(super) fn link_end_target(
    end: &LinkEnd,
    namespace: &str,
    objects: &Objects,
    timeout: Duration,
) -> Result<Option<RestTarget>, DerefError> {
    let cluster = &end.cluster;
    let path = end.path();
    let found = if let Some(r) = &cluster.kafka_rest_class_ref {
        by_ref(r, namespace, objects, &format!("{path}.kafkaRestClassRef"))?
    } else if let Some(name) = &cluster.name {
        let ns = cluster.namespace.as_deref().unwrap_or(namespace);
        for_cluster(ns, name, objects, &format!("{path}.name"))?
    } else {
        return Ok(None);
    };
    let mut t = found.target(objects, timeout)?;
    if cluster.cluster_id.is_some() {
        t.cluster_id = cluster.cluster_id.clone();
    }
    Ok(Some(t))
}

/// The REST API of a KafkaTopic: its `kafkaRestClassRef`, its inline `kafkaRest`, or the
/// KafkaRestClass of its `kafkaClusterRef`.
pub fn topic_target(
    t: &KafkaTopic,
    objects: &Objects,
    timeout: Duration,
) -> Result<RestTarget, DerefError> {
    let ns = t.metadata.namespace.as_deref().unwrap_or("default");
    if let Some(r) = &t.spec.kafka_rest_class_ref {
        return by_ref(r, ns, objects, "spec.kafkaRestClassRef")?.target(objects, timeout);
    }
    if t.spec.kafka_rest.is_some() {
        return rest_target(
            t.spec.kafka_rest.as_ref(),
            "spec.kafkaRest",
            ns,
            objects,
            timeout,
        );
    }
    if let Some(k) = &t.spec.kafka_cluster_ref {
        let kns = k.namespace.as_deref().unwrap_or(ns);
        return for_cluster(kns, &k.name, objects, "spec.kafkaClusterRef")?
            .target(objects, timeout);
    }
    Err(DerefError::NoRestApi {
        path: "spec".into(),
    })
}
