//! Dereference: from a resource and the objects it names to everything the reconcile needs —
//! REST clients for the local (and remote) cluster, cluster id hints and the link configs with
//! their secrets filled in.
//!
//! It reads only the [`Objects`] snapshot and, for `directoryPathInContainer` credentials, the
//! local filesystem. A missing object is an error that names the field that refers to it, so the
//! status can tell the user exactly what to create.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use clusterlink_model::cluster_link::KafkaClusterSpec;
use clusterlink_model::common::{KafkaRestApi, KafkaRestClassRef, RestAuthType};
use clusterlink_model::configs::ConfigError;
use clusterlink_model::topology::{topology, ClusterSide, Topology};
use clusterlink_model::{
    link_configs, ClusterLink, LinkConfigs, ResolvedSecrets, SecretSource, SecretValue,
};

use crate::objects::Objects;
use crate::rest_client::{RestAuth, RestClient, RestEndpoint, RestError, RestTlsMaterial};

/// Why a resource could not be dereferenced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DerefError {
    /// A KafkaRestClass named by a reference does not exist.
    #[error("{path}: KafkaRestClass {namespace}/{name} not found")]
    RestClassNotFound {
        /// The referring field.
        path: String,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// No KafkaRestClass names the Kafka cluster a cluster spec refers to.
    #[error("{path}: no KafkaRestClass has kafkaClusterRef {namespace}/{name}")]
    NoRestClassForCluster {
        /// The referring field.
        path: String,
        /// The Kafka cluster's namespace.
        namespace: String,
        /// The Kafka cluster's name.
        name: String,
    },
    /// Several KafkaRestClasses claim the same Kafka cluster.
    #[error("{path}: several KafkaRestClasses name this Kafka cluster ({names}); keep one")]
    AmbiguousRestClass {
        /// The referring field.
        path: String,
        /// Their namespace/name.
        names: String,
    },
    /// The cluster whose REST API is needed names none.
    #[error(
        "{path}: neither kafkaRestClassRef nor name is set, and this cluster's REST API is needed"
    )]
    NoRestApi {
        /// The cluster field.
        path: String,
    },
    /// A KafkaRestClass without an explicit endpoint.
    #[error("KafkaRestClass {rest_class}: kafkaRest.endpoint is not set (endpoint discovery from a CFK Kafka resource is not supported: set kafkaRest.endpoint)")]
    NoEndpoint {
        /// `namespace/name`.
        rest_class: String,
    },
    /// A Secret that is referred to does not exist, or lacks a key.
    #[error("{path}: {what}")]
    Secret {
        /// The referring field.
        path: String,
        /// What is missing or malformed (never a value).
        what: String,
    },
    /// Something clusterlink cannot do yet.
    #[error("{path}: {what} is not supported by clusterlink")]
    Unsupported {
        /// The field.
        path: String,
        /// What.
        what: String,
    },
    /// The link configs could not be built.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The REST client could not be built.
    #[error("{path}: {source}")]
    Rest {
        /// The KafkaRestClass.
        path: String,
        /// Why.
        source: RestError,
    },
}

impl DerefError {
    /// A short, stable label for metrics, events and status reasons.
    pub fn category(&self) -> &'static str {
        match self {
            DerefError::RestClassNotFound { .. } => "rest-class-not-found",
            DerefError::NoRestClassForCluster { .. } => "rest-class-not-found",
            DerefError::AmbiguousRestClass { .. } => "rest-class-ambiguous",
            DerefError::NoRestApi { .. } => "no-rest-api",
            DerefError::NoEndpoint { .. } => "no-rest-endpoint",
            DerefError::Secret { .. } => "secret",
            DerefError::Unsupported { .. } => "unsupported",
            DerefError::Config(e) => e.category(),
            DerefError::Rest { source, .. } => source.category(),
        }
    }

    /// The CamelCase reason for a status condition or an Event.
    pub fn reason(&self) -> &'static str {
        match self {
            DerefError::RestClassNotFound { .. } | DerefError::NoRestClassForCluster { .. } => {
                "KafkaRestClassNotFound"
            }
            DerefError::AmbiguousRestClass { .. } => "KafkaRestClassAmbiguous",
            DerefError::NoRestApi { .. } | DerefError::NoEndpoint { .. } => "NoRestEndpoint",
            DerefError::Secret { .. } | DerefError::Config(_) => "SecretNotReady",
            DerefError::Unsupported { .. } => "Unsupported",
            DerefError::Rest { .. } => "InvalidRestSettings",
        }
    }
}

/// A cluster's REST API, ready to call.
#[derive(Clone, Debug)]
pub struct RestTarget {
    /// The KafkaRestClass it comes from (`namespace/name`), or the field of an inline API.
    pub source: String,
    /// The client.
    pub client: RestClient,
    /// The cluster id, when known without asking the API (`clusterID`, `kafkaClusterID`).
    pub cluster_id: Option<String>,
}

/// A ClusterLink with everything it refers to resolved.
#[derive(Debug)]
pub struct Dereferenced {
    /// The link's name.
    pub link_name: String,
    /// Which cluster is local and which remote.
    pub topology: Topology,
    /// The local cluster's REST API (where the link lives).
    pub local: RestTarget,
    /// The remote cluster's REST API, if it has one.
    pub remote: Option<RestTarget>,
    /// The remote cluster's id, if given in the resource.
    pub remote_cluster_id: Option<String>,
    /// The link configs.
    pub configs: LinkConfigs,
}

/// Files of a `directoryPathInContainer`, read from the filesystem.
fn read_directory(dir: &str) -> Option<BTreeMap<String, SecretValue>> {
    let entries = std::fs::read_dir(Path::new(dir)).ok()?;
    let mut out = BTreeMap::new();
    for e in entries.flatten() {
        let path = e.path();
        if !path.is_file() {
            continue;
        }
        if let (Some(name), Ok(text)) = (
            path.file_name().and_then(|n| n.to_str()),
            std::fs::read_to_string(&path),
        ) {
            out.insert(name.to_string(), SecretValue::new(text));
        }
    }
    Some(out)
}

/// The REST client of a KafkaRestClass's `kafkaRest` (or a KafkaTopic's inline one), reading
/// its credentials from Secrets in `namespace`.
pub fn rest_target(
    api: Option<&KafkaRestApi>,
    source: &str,
    namespace: &str,
    objects: &Objects,
    timeout: Duration,
) -> Result<RestTarget, DerefError> {
    let api = api.ok_or_else(|| DerefError::NoEndpoint {
        rest_class: source.to_string(),
    })?;
    let url = api.endpoint.clone().ok_or_else(|| DerefError::NoEndpoint {
        rest_class: source.to_string(),
    })?;
    let files = |path: &str, secret: Option<&str>, dir: Option<&str>| {
        if let Some(name) = secret {
            return objects
                .secret(namespace, name)
                .cloned()
                .ok_or_else(|| DerefError::Secret {
                    path: path.to_string(),
                    what: format!("Secret {namespace}/{name} not found"),
                });
        }
        if let Some(dir) = dir {
            return read_directory(dir).ok_or_else(|| DerefError::Secret {
                path: path.to_string(),
                what: format!("directory {dir} cannot be read"),
            });
        }
        Err(DerefError::Secret {
            path: path.to_string(),
            what: "neither secretRef nor directoryPathInContainer is set".into(),
        })
    };
    let mut tls = RestTlsMaterial::default();
    if let Some(t) = &api.tls {
        let path = format!("{source}: kafkaRest.tls");
        let f = files(
            &path,
            t.secret_ref.as_deref(),
            t.directory_path_in_container.as_deref(),
        )?;
        let pick = |names: &[&str]| names.iter().find_map(|n| f.get(*n).cloned());
        tls.ca_pem = pick(&["cacerts.pem", "ca.crt"]);
        if let (Some(chain), Some(key)) = (
            pick(&["fullchain.pem", "tls.crt"]),
            pick(&["privkey.pem", "tls.key"]),
        ) {
            tls.client_cert = Some((chain, key));
        }
        if tls.ca_pem.is_none() && tls.client_cert.is_none() {
            return Err(DerefError::Unsupported {
                path,
                what: "TLS material without PEM files (cacerts.pem, fullchain.pem, privkey.pem; JKS keystores)".into(),
            });
        }
    }
    let mut auth = RestAuth::None;
    if let Some(a) = &api.authentication {
        let path = format!("{source}: kafkaRest.authentication");
        // The `key=value` file of an authentication type, from the Secret or directory its
        // settings name.
        let props_of = |kind: &str, settings: Option<(Option<&str>, Option<&str>)>, file: &str| {
            let (secret_ref, dir) = settings.ok_or_else(|| DerefError::Secret {
                path: path.clone(),
                what: format!("type {kind} without {kind} settings"),
            })?;
            let f = files(&path, secret_ref, dir)?;
            let text = f.get(file).ok_or_else(|| DerefError::Secret {
                path: path.clone(),
                what: format!("no {file}"),
            })?;
            Ok::<_, DerefError>(properties(text.expose()))
        };
        match a.type_ {
            RestAuthType::Basic => {
                let settings = a.basic.as_ref().map(|b| {
                    (
                        b.secret_ref.as_deref(),
                        b.directory_path_in_container.as_deref(),
                    )
                });
                let props = props_of("basic", settings, "basic.txt")?;
                match (props.get("username"), props.get("password")) {
                    (Some(u), Some(p)) => {
                        auth = RestAuth::Basic {
                            username: u.clone(),
                            password: SecretValue::new(p.clone()),
                        }
                    }
                    _ => {
                        return Err(DerefError::Secret {
                            path,
                            what: "basic.txt needs username= and password= lines".into(),
                        })
                    }
                }
            }
            RestAuthType::Bearer => {
                let settings = a.bearer.as_ref().map(|b| {
                    (
                        b.secret_ref.as_deref(),
                        b.directory_path_in_container.as_deref(),
                    )
                });
                let props = props_of("bearer", settings, "bearer.txt")?;
                let token = props.get("token").cloned().ok_or_else(|| DerefError::Unsupported {
                    path: path.clone(),
                    what: "bearer.txt without a token= line (a login to Confluent's MDS with username and password)".into(),
                })?;
                auth = RestAuth::Bearer(SecretValue::new(token));
            }
            RestAuthType::Mtls => {
                if tls.client_cert.is_none() {
                    return Err(DerefError::Secret {
                        path,
                        what: "type mtls needs kafkaRest.tls with fullchain.pem and privkey.pem"
                            .into(),
                    });
                }
            }
            _ => {
                return Err(DerefError::Unsupported {
                    path,
                    what: "REST authentication type oauth".into(),
                })
            }
        }
    }
    let endpoint = RestEndpoint {
        url,
        auth,
        tls,
        timeout,
    };
    let client = RestClient::new(&endpoint).map_err(|e| DerefError::Rest {
        path: source.to_string(),
        source: e,
    })?;
    Ok(RestTarget {
        source: source.to_string(),
        client,
        cluster_id: api.kafka_cluster_id.clone(),
    })
}

/// `key=value` lines (CFK's secret file format); blank lines and `#` comments skipped.
pub fn properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// The KafkaRestClass a cluster spec refers to, if any.
fn rest_class_of<'a>(
    cluster: &KafkaClusterSpec,
    path: &str,
    namespace: &str,
    objects: &'a Objects,
) -> Result<Option<(String, &'a clusterlink_model::KafkaRestClass)>, DerefError> {
    if let Some(KafkaRestClassRef {
        name,
        namespace: ns,
    }) = &cluster.kafka_rest_class_ref
    {
        let ns = ns.as_deref().unwrap_or(namespace);
        return objects
            .rest_class(ns, name)
            .map(|rc| Some((format!("KafkaRestClass {ns}/{name}"), rc)))
            .ok_or_else(|| DerefError::RestClassNotFound {
                path: format!("{path}.kafkaRestClassRef"),
                namespace: ns.to_string(),
                name: name.clone(),
            });
    }
    if let Some(name) = &cluster.name {
        let ns = cluster.namespace.as_deref().unwrap_or(namespace);
        return match objects.rest_classes_for_kafka(ns, name).as_slice() {
            [] => Err(DerefError::NoRestClassForCluster {
                path: format!("{path}.name"),
                namespace: ns.to_string(),
                name: name.clone(),
            }),
            [rc] => Ok(Some((
                format!(
                    "KafkaRestClass {ns}/{}",
                    rc.metadata.name.as_deref().unwrap_or_default()
                ),
                rc,
            ))),
            many => Err(DerefError::AmbiguousRestClass {
                path: format!("{path}.name"),
                names: many
                    .iter()
                    .map(|rc| format!("{ns}/{}", rc.metadata.name.as_deref().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        };
    }
    Ok(None)
}

fn target_for(
    cluster: &KafkaClusterSpec,
    side: ClusterSide,
    namespace: &str,
    objects: &Objects,
    timeout: Duration,
) -> Result<Option<RestTarget>, DerefError> {
    let Some((id, rc)) = rest_class_of(cluster, side.path(), namespace, objects)? else {
        return Ok(None);
    };
    let rc_ns = rc.metadata.namespace.as_deref().unwrap_or(namespace);
    let mut t = rest_target(rc.spec.kafka_rest.as_ref(), &id, rc_ns, objects, timeout)?;
    if cluster.cluster_id.is_some() {
        t.cluster_id = cluster.cluster_id.clone();
    }
    Ok(Some(t))
}

/// The REST API of the cluster where a ClusterLink's link lives, and nothing else: what
/// deleting the link needs (its Secrets may already be gone with its namespace).
pub fn local_target(
    link: &ClusterLink,
    objects: &Objects,
    timeout: Duration,
) -> Result<RestTarget, DerefError> {
    let namespace = link.metadata.namespace.as_deref().unwrap_or("default");
    let topo = topology(&link.spec);
    target_for(
        topo.local.of(&link.spec),
        topo.local,
        namespace,
        objects,
        timeout,
    )?
    .ok_or_else(|| DerefError::NoRestApi {
        path: topo.local.path().to_string(),
    })
}

/// Dereferences a (validated) ClusterLink.
pub fn dereference(
    link: &ClusterLink,
    objects: &Objects,
    timeout: Duration,
) -> Result<Dereferenced, DerefError> {
    let namespace = link.metadata.namespace.as_deref().unwrap_or("default");
    let spec = &link.spec;
    let topo = topology(spec);
    let local_spec = topo.local.of(spec);
    let local =
        target_for(local_spec, topo.local, namespace, objects, timeout)?.ok_or_else(|| {
            DerefError::NoRestApi {
                path: topo.local.path().to_string(),
            }
        })?;
    let remote_spec = topo.remote.of(spec);
    let remote = target_for(remote_spec, topo.remote, namespace, objects, timeout)?;
    let remote_cluster_id = remote_spec
        .cluster_id
        .clone()
        .or_else(|| remote.as_ref().and_then(|r| r.cluster_id.clone()));
    let configs = configs_with_secrets(link, namespace, objects)?;
    Ok(Dereferenced {
        link_name: link.link_name().unwrap_or_default().to_string(),
        topology: topo,
        local,
        remote,
        remote_cluster_id,
        configs,
    })
}

/// The link configs, reading exactly the secrets and directories they need.
fn configs_with_secrets(
    link: &ClusterLink,
    namespace: &str,
    objects: &Objects,
) -> Result<LinkConfigs, DerefError> {
    let mut secrets = ResolvedSecrets::new();
    loop {
        match link_configs(&link.spec, &secrets) {
            Ok(c) => return Ok(c),
            Err(ConfigError::MissingSecret { path, from, key }) => {
                if secrets.contains_key(&from) {
                    return Err(DerefError::Secret {
                        path,
                        what: match &from {
                            SecretSource::Secret(n) => {
                                format!("Secret {namespace}/{n} has no {key}")
                            }
                            SecretSource::Directory(d) => format!("directory {d} has no {key}"),
                            _ => format!("{from:?} has no {key}"),
                        },
                    });
                }
                let files = match &from {
                    SecretSource::Secret(name) => objects
                        .secret(namespace, name)
                        .cloned()
                        .ok_or_else(|| DerefError::Secret {
                            path: path.clone(),
                            what: format!("Secret {namespace}/{name} not found"),
                        })?,
                    SecretSource::Directory(dir) => {
                        read_directory(dir).ok_or_else(|| DerefError::Secret {
                            path: path.clone(),
                            what: format!("directory {dir} cannot be read"),
                        })?
                    }
                    _ => return Err(ConfigError::MissingSecret { path, from, key }.into()),
                };
                secrets.insert(from, files);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
                    "endpoint": "http://dest:8090",
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
