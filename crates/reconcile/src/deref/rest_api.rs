//! A REST client from a `kafkaRest` block (a KafkaRestClass's, or a KafkaTopic's inline one):
//! its endpoint, its TLS material and its credentials, read from the Secrets (or directories)
//! the block names.

use std::collections::BTreeMap;
use std::time::Duration;

use clusterlink_model::common::{KafkaRestApi, RestAuthType};
use clusterlink_model::SecretValue;

use crate::objects::Objects;
use crate::rest_client::{RestAuth, RestClient, RestEndpoint, RestError, RestTlsMaterial};

use super::error::DerefError;
use super::secrets;

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

impl RestTarget {
    /// The cluster id: the one given, or the one the REST API reports.
    pub async fn resolve_cluster_id(&self) -> Result<String, RestError> {
        match &self.cluster_id {
            Some(id) => Ok(id.clone()),
            None => self.client.cluster_id().await,
        }
    }
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
        secrets::files_at(objects, namespace, path, secret, dir)
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
