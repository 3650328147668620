//! Dereference: from a validated resource and the objects it names to everything the rest of
//! the pass needs — REST clients for the local (and remote) cluster, their cluster ids, the link
//! configs with their secrets filled in, and the other resource of a bidirectional pair.
//!
//! It reads only the [`Objects`] snapshot, the local filesystem (for
//! `directoryPathInContainer` credentials) and, for cluster ids nobody gave, the clusters' REST
//! APIs. A missing object is an error that names the field that refers to it, so the status can
//! tell the user exactly what to create.
//!
//! - `error`: why a resource could not be dereferenced;
//! - `rest_class`: which KafkaRestClass serves a cluster;
//! - `rest_api`: a REST client from a `kafkaRest` block and its credentials;
//! - `secrets`: Secret and directory files, and the link configs built with them.

mod error;
mod rest_api;
mod rest_class;
mod secrets;

use std::time::Duration;

use clusterlink_model::topology::{topology, BrokerConnectionMode};
use clusterlink_model::{ClusterLink, LinkConfigs, ObservedPeer, ValidatedClusterLink};
use tracing::warn;

use crate::objects::Objects;
use crate::rest_client::RestError;

pub use error::DerefError;
pub use rest_api::{properties, rest_target, RestTarget};
pub use rest_class::topic_target;

/// A ClusterLink with everything it refers to resolved.
#[derive(Debug)]
pub struct Dereferenced {
    /// The local cluster's REST API (where the link lives).
    pub local: RestTarget,
    /// The remote cluster's REST API, if it has one.
    pub remote: Option<RestTarget>,
    /// Why the remote cluster's REST API could not be found, when that did not end the pass:
    /// the link dials a cluster whose endpoint is still to be resolved, and a `Kafka` resource
    /// may give it without one (see [`crate::endpoint`]).
    pub remote_unavailable: Option<String>,
    /// The remote cluster's id, if given in the resource (or its KafkaRestClass).
    pub remote_cluster_id: Option<String>,
    /// The link configs.
    pub configs: LinkConfigs,
    /// The other resource of a bidirectional pair, if there is one.
    pub peer: Option<ObservedPeer>,
}

/// The ids of both clusters of a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterIds {
    /// The local cluster's.
    pub local: String,
    /// The remote cluster's, if given or readable.
    pub remote: Option<String>,
}

impl Dereferenced {
    /// The clusters' ids: given, or asked of their REST APIs. The local one is needed (an error
    /// ends the pass); an unreadable remote one only leaves the remote half unmanaged — the
    /// region a bidirectional link exists for may be the lost one.
    pub async fn cluster_ids(&self) -> Result<ClusterIds, RestError> {
        let local = self.local.resolve_cluster_id().await?;
        let remote = match (&self.remote_cluster_id, &self.remote) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(r)) => match r.client.cluster_id().await {
                Ok(id) => Some(id),
                Err(e) => {
                    warn!(error = %e, "the remote cluster's id could not be read through its REST API");
                    None
                }
            },
            (None, None) => None,
        };
        Ok(ClusterIds { local, remote })
    }
}

/// The REST API of the cluster where a ClusterLink's link lives, and nothing else: what
/// deleting the link needs (its Secrets may already be gone with its namespace, and the
/// resource need not be valid).
pub fn local_target(
    link: &ClusterLink,
    objects: &Objects,
    timeout: Duration,
) -> Result<RestTarget, DerefError> {
    let link = ValidatedClusterLink::from_unchecked(link);
    rest_class::link_end_target(&link.local, &link.resource.namespace, objects, timeout)?
        .ok_or_else(|| DerefError::NoRestApi {
            path: link.local.path().to_string(),
        })
}

/// Dereferences a validated ClusterLink.
pub fn dereference(
    link: &ValidatedClusterLink,
    objects: &Objects,
    timeout: Duration,
) -> Result<Dereferenced, DerefError> {
    let namespace = &link.resource.namespace;
    let local = rest_class::link_end_target(&link.local, namespace, objects, timeout)?.ok_or_else(
        || DerefError::NoRestApi {
            path: link.local.path().to_string(),
        },
    )?;
    let mut remote_unavailable = None;
    let remote = match rest_class::link_end_target(&link.remote, namespace, objects, timeout) {
        Ok(r) => r,
        // A unidirectional link needs the remote's REST API only for its id (when not given)
        // and its endpoint: the endpoint step says what is missing if nothing else gives it.
        Err(e @ DerefError::NoRestClassForCluster { .. })
            if !link.is_bidirectional() && crate::endpoint::needs_resolution(link) =>
        {
            remote_unavailable = Some(e.to_string());
            None
        }
        Err(e) => return Err(e),
    };
    let remote_cluster_id = link
        .remote
        .cluster
        .cluster_id
        .clone()
        .or_else(|| remote.as_ref().and_then(|r| r.cluster_id.clone()));
    let configs = secrets::link_configs(link, objects)?;
    let peer = objects.bidirectional_peer(link).map(|p| ObservedPeer {
        resource: format!(
            "{}/{}",
            p.metadata.namespace.as_deref().unwrap_or("default"),
            p.metadata.name.as_deref().unwrap_or_default()
        ),
        inbound: topology(&p.spec).connection_mode == BrokerConnectionMode::Inbound,
        to_source_mirrors: Objects::to_source_mirrors(p).map(str::to_string).collect(),
    });
    Ok(Dereferenced {
        local,
        remote,
        remote_unavailable,
        remote_cluster_id,
        configs,
        peer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clusterlink_model::SecretValue;
    use serde_json::json;

    /// Dereferences a ClusterLink read without validation (the step itself does not check).
    fn dereference(
        l: &ClusterLink,
        o: &Objects,
        timeout: Duration,
    ) -> Result<Dereferenced, DerefError> {
        super::dereference(&ValidatedClusterLink::from_unchecked(l), o, timeout)
    }

    fn link(spec: serde_json::Value) -> ClusterLink {
        serde_json::from_value(json!({
            "apiVersion": "platform.confluent.io/v1beta1", "kind": "ClusterLink",
            "metadata": {"name": "l", "namespace": "dest"}, "spec": spec
        }))
        .unwrap()
    }

    fn objects() -> Objects {
        let mut o = Objects::new();
        o.add_rest_class(
            serde_json::from_value(json!({
                "metadata": {"name": "dest-rest", "namespace": "dest"},
                "spec": {"kafkaClusterRef": {"name": "kafka"}, "kafkaRest": {
                    "endpoint": "https://dest:8090",
                    "authentication": {"type": "basic", "basic": {"secretRef": "rest-creds"}}}}
            }))
            .unwrap(),
        );
        o.add_secret(
            "dest",
            "rest-creds",
            [(
                "basic.txt".to_string(),
                SecretValue::new("username=admin\npassword=s3cret"),
            )],
        );
        o
    }

    #[test]
    fn local_rest_class_by_kafka_cluster_name_and_missing_secret_named() {
        let l = link(json!({
            "sourceKafkaCluster": {"bootstrapEndpoint": "src:9092", "clusterID": "src-id",
                "authentication": {"type": "plain", "jaasConfig": {"secretRef": "src-creds"}}},
            "destinationKafkaCluster": {"name": "kafka", "namespace": "dest"}
        }));
        let o = objects();
        let err = dereference(&l, &o, Duration::from_secs(1)).unwrap_err();
        assert_eq!(err.reason(), "SecretNotReady");
        assert!(
            err.to_string().contains("Secret dest/src-creds not found"),
            "{err}"
        );
        let mut o = o;
        o.add_secret(
            "dest",
            "src-creds",
            [(
                "plain.txt".to_string(),
                SecretValue::new("username=u\npassword=topsecret"),
            )],
        );
        let d = dereference(&l, &o, Duration::from_secs(1)).unwrap();
        assert_eq!(d.local.source, "KafkaRestClass dest/dest-rest");
        assert_eq!(d.remote_cluster_id.as_deref(), Some("src-id"));
        assert!(d.configs["sasl.jaas.config"].is_sensitive());
        assert!(!format!("{d:?}").contains("topsecret"));
        assert!(!format!("{d:?}").contains("s3cret"));
    }

    #[test]
    fn credentials_for_a_plain_http_endpoint_are_refused_without_showing_them() {
        let l = link(json!({
            "sourceKafkaCluster": {"bootstrapEndpoint": "src:9092", "clusterID": "src-id"},
            "destinationKafkaCluster": {"kafkaRestClassRef": {"name": "dest-rest"}}
        }));
        let mut o = objects();
        o.add_rest_class(
            serde_json::from_value(json!({
                "metadata": {"name": "dest-rest", "namespace": "dest"},
                "spec": {"kafkaRest": {
                    "endpoint": "http://dest:8090",
                    "authentication": {"type": "basic", "basic": {"secretRef": "rest-creds"}}}}
            }))
            .unwrap(),
        );
        let err = dereference(&l, &o, Duration::from_secs(1)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("KafkaRestClass dest/dest-rest"), "{text}");
        assert!(
            text.contains("refusing to send credentials over plain HTTP"),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
    }

    #[test]
    fn missing_rest_class_names_the_field() {
        let l = link(json!({
            "sourceKafkaCluster": {"bootstrapEndpoint": "src:9092"},
            "destinationKafkaCluster": {"kafkaRestClassRef": {"name": "nope"}}
        }));
        let err = dereference(&l, &objects(), Duration::from_secs(1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec.destinationKafkaCluster.kafkaRestClassRef: KafkaRestClass dest/nope not found"
        );
        assert_eq!(err.reason(), "KafkaRestClassNotFound");
    }

    #[test]
    fn properties_parse_cfk_secret_files() {
        let p = properties("# c\nusername = a\n\npassword=b=c\n");
        assert_eq!(p["username"], "a");
        assert_eq!(p["password"], "b=c");
    }
}
