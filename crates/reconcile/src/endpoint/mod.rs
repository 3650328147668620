//! Resolve endpoints: the step between dereference and observe that finds the bootstrap
//! endpoint of the cluster a link dials when the resource gives none.
//!
//! CFK's manifests name clusters (`name`, `namespace`) and leave the endpoint to CFK, which
//! knows the clusters it manages; R1 and R4 ask for them to work as written. When the remote
//! end of an OUTBOUND link has no `bootstrapEndpoint`, the first of these that answers gives
//! it, and it goes into the link configs' `bootstrap.servers`:
//! 1. a CFK `Kafka` resource of that name and namespace: the endpoint its status publishes;
//! 2. a Strimzi `Kafka` resource of that name and namespace: its `status.listeners[]`;
//! 3. the cluster's Admin REST API (the KafkaRestClass dereference found for it):
//!    `GET /clusters/{id}/brokers`.
//!
//! Which listener ([`listeners`], pure) can be named with the annotations
//! [`SOURCE_LISTENER_ANNOTATION`] and [`DESTINATION_LISTENER_ANNOTATION`] on the ClusterLink.
//! The result, and where it came from, is shown in the status (`resolvedBootstrap`); when
//! nothing answers, [`EndpointError`] names the reference and why each source did not answer.

pub mod listeners;

use clusterlink_model::cluster_link::KafkaClusterSpec;
use clusterlink_model::cluster_link::ResolvedBootstrap;
use clusterlink_model::topology::ClusterSide;
use clusterlink_model::{ClusterLink, ValidatedClusterLink};
use clusterlink_rest_v3::link_config;

use crate::deref::Dereferenced;
use crate::objects::{KafkaKind, Objects};
use crate::status::conditions::reason;

use listeners::{cfk_listener, strimzi_listener, Wanted};

/// The ClusterLink annotation that names the listener of `spec.sourceKafkaCluster`'s `Kafka`
/// resource to dial.
pub const SOURCE_LISTENER_ANNOTATION: &str = "clusterlink.io/source-listener";
/// The ClusterLink annotation that names the listener of `spec.destinationKafkaCluster`'s
/// `Kafka` resource to dial.
pub const DESTINATION_LISTENER_ANNOTATION: &str = "clusterlink.io/destination-listener";

/// One source that was asked for the endpoint, and why it did not answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// What was asked: `CFK Kafka source/kafka-src`.
    pub source: String,
    /// Why it gave nothing.
    pub why: String,
}

/// No source gave an endpoint for the cluster a link dials.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reference} has no bootstrapEndpoint and none could be resolved: {}; set bootstrapEndpoint, or create what is missing", tried(.attempts))]
pub struct EndpointError {
    /// The reference, as written: `spec.sourceKafkaCluster {name: kafka-src, namespace: source}`.
    pub reference: String,
    /// Every source tried, in order.
    pub attempts: Vec<Attempt>,
    /// The category of a failure that retrying can cure (the REST API did not answer), if any.
    pub transient: Option<&'static str>,
}

fn tried(attempts: &[Attempt]) -> String {
    attempts
        .iter()
        .map(|a| format!("{}: {}", a.source, a.why))
        .collect::<Vec<_>>()
        .join("; ")
}

impl EndpointError {
    /// A short, stable label for metrics and logs.
    pub fn category(&self) -> &'static str {
        self.transient.unwrap_or("endpoint-unresolved")
    }

    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        reason::BOOTSTRAP_ENDPOINT_UNRESOLVED
    }
}

/// The reference as the resource writes it, for messages.
fn reference(side: ClusterSide, c: &KafkaClusterSpec, namespace: &str) -> String {
    let mut parts = Vec::new();
    if let Some(n) = &c.name {
        parts.push(format!("name: {n}"));
        parts.push(format!(
            "namespace: {}",
            c.namespace.as_deref().unwrap_or(namespace)
        ));
    }
    if let Some(r) = &c.kafka_rest_class_ref {
        parts.push(format!("kafkaRestClassRef: {}", r.name));
    }
    format!("{} {{{}}}", side.path(), parts.join(", "))
}

/// Whether `link` dials a cluster whose endpoint it does not give.
pub fn needs_resolution(link: &ValidatedClusterLink) -> bool {
    link.topology.is_outbound() && link.remote.cluster.bootstrap_endpoint.is_none()
}

/// Resolves the endpoint of the cluster `link` dials, if it gives none, and puts it into the
/// link configs of `d`. `None` when nothing had to be resolved.
pub async fn resolve_endpoint(
    resource: &ClusterLink,
    link: &ValidatedClusterLink,
    d: &mut Dereferenced,
    objects: &Objects,
) -> Result<Option<ResolvedBootstrap>, EndpointError> {
    if !needs_resolution(link) {
        return Ok(None);
    }
    let end = &link.remote;
    let c = &end.cluster;
    let annotation = if end.side == ClusterSide::Source {
        SOURCE_LISTENER_ANNOTATION
    } else {
        DESTINATION_LISTENER_ANNOTATION
    };
    let wanted = Wanted {
        name: resource
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(annotation))
            .map(String::as_str),
        tls: c.tls.as_ref().is_some_and(|t| t.enabled),
    };
    let mut attempts = Vec::new();
    let mut found = None;
    if let Some(name) = &c.name {
        let ns = c.namespace.as_deref().unwrap_or(&link.resource.namespace);
        for kind in KafkaKind::ALL {
            let source = format!("{} {ns}/{name}", kind.label());
            let Some(kafka) = objects.kafka(kind, ns, name) else {
                attempts.push(Attempt {
                    source,
                    why: "not found".into(),
                });
                continue;
            };
            let picked = match kind {
                KafkaKind::Cfk => cfk_listener(kafka, wanted),
                KafkaKind::Strimzi => strimzi_listener(kafka, wanted),
            };
            match picked {
                Ok(p) => {
                    found = Some((p.bootstrap, format!("{source}, {}", p.listener)));
                    break;
                }
                Err(why) => attempts.push(Attempt { source, why }),
            }
        }
    }
    let mut transient = None;
    if found.is_none() {
        match rest_brokers(d).await {
            Ok(r) => found = Some(r),
            Err((attempt, category)) => {
                attempts.push(attempt);
                transient = category;
            }
        }
    }
    let Some((bootstrap, source)) = found else {
        return Err(EndpointError {
            reference: reference(end.side, c, &link.resource.namespace),
            attempts,
            transient,
        });
    };
    d.configs.insert(
        link_config::BOOTSTRAP_SERVERS.into(),
        clusterlink_model::configs::plain(&bootstrap),
    );
    Ok(Some(ResolvedBootstrap {
        cluster: end.path().to_string(),
        bootstrap_servers: bootstrap,
        source,
    }))
}

/// The brokers the remote cluster's REST API lists: `(bootstrap, source)`, or the attempt that
/// failed and, if retrying can help, its category.
async fn rest_brokers(
    d: &Dereferenced,
) -> Result<(String, String), (Attempt, Option<&'static str>)> {
    let Some(r) = &d.remote else {
        let why = d
            .remote_unavailable
            .clone()
            .unwrap_or_else(|| "the reference names no KafkaRestClass".into());
        let source = "REST API".to_string();
        return Err((Attempt { source, why }, None));
    };
    let source = format!("REST API of {}", r.source);
    let failed = |e: crate::RestError| {
        let category = e.is_retriable().then(|| e.category());
        let why = e.to_string();
        (
            Attempt {
                source: source.clone(),
                why,
            },
            category,
        )
    };
    let id = match &d.remote_cluster_id {
        Some(id) => id.clone(),
        None => r.resolve_cluster_id().await.map_err(failed)?,
    };
    let addresses = r.client.broker_addresses(&id).await.map_err(failed)?;
    if addresses.is_empty() {
        let why = format!("GET /clusters/{id}/brokers lists no broker with host and port");
        return Err((Attempt { source, why }, None));
    }
    Ok((
        addresses.join(","),
        format!("{source}, GET /clusters/{id}/brokers"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_error_names_the_reference_and_every_source_tried() {
        let c: KafkaClusterSpec =
            serde_json::from_value(json!({"name": "kafka-src", "namespace": "source"})).unwrap();
        let e = EndpointError {
            reference: reference(ClusterSide::Source, &c, "destination"),
            attempts: vec![
                Attempt {
                    source: "CFK Kafka source/kafka-src".into(),
                    why: "not found".into(),
                },
                Attempt {
                    source: "REST API".into(),
                    why: "spec.sourceKafkaCluster.name: no KafkaRestClass has kafkaClusterRef source/kafka-src".into(),
                },
            ],
            transient: None,
        };
        assert_eq!(
            e.to_string(),
            "spec.sourceKafkaCluster {name: kafka-src, namespace: source} has no bootstrapEndpoint and none could be resolved: CFK Kafka source/kafka-src: not found; REST API: spec.sourceKafkaCluster.name: no KafkaRestClass has kafkaClusterRef source/kafka-src; set bootstrapEndpoint, or create what is missing"
        );
        assert_eq!(e.category(), "endpoint-unresolved");
        let r: KafkaClusterSpec =
            serde_json::from_value(json!({"kafkaRestClassRef": {"name": "kafka-dest-rest"}}))
                .unwrap();
        assert_eq!(
            reference(ClusterSide::Destination, &r, "ns"),
            "spec.destinationKafkaCluster {kafkaRestClassRef: kafka-dest-rest}"
        );
    }
}
