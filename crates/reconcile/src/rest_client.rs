//! A client for the part of Confluent's Admin REST API v3 that the reconciler uses: clusters,
//! cluster links, their configs and mirror topics, and topics.
//!
//! The reconciler talks to link servers only through this API, so that it drives our link server
//! and a real Confluent Server alike. Requests carry credentials in headers only (never in URLs),
//! and neither errors nor `Debug` output show them. Every call has a timeout; errors say which
//! request failed and whether retrying can help ([`RestError::is_retriable`]).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use clusterlink_model::{LinkConfigs, SecretValue};
use http::{header, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};
use tracing::debug;

/// How to authenticate to a REST API.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum RestAuth {
    /// No credentials.
    #[default]
    None,
    /// HTTP basic authentication.
    Basic {
        /// The user.
        username: String,
        /// The password.
        password: SecretValue,
    },
    /// A bearer token.
    Bearer(SecretValue),
}

/// TLS material of a REST client, PEM encoded.
#[derive(Clone, Debug, Default)]
pub struct RestTlsMaterial {
    /// CA certificates to trust (besides the system's).
    pub ca_pem: Option<SecretValue>,
    /// Client certificate chain and key, for mutual TLS.
    pub client_cert: Option<(SecretValue, SecretValue)>,
}

/// Where a REST API is and how to reach it.
#[derive(Clone, Debug)]
pub struct RestEndpoint {
    /// Base URL, e.g. `http://link-server:8090` (`/kafka/v3` is appended unless the URL already
    /// ends with `/v3`).
    pub url: String,
    /// Credentials.
    pub auth: RestAuth,
    /// TLS settings for `https` URLs.
    pub tls: RestTlsMaterial,
    /// Timeout of each request.
    pub timeout: Duration,
}

impl RestEndpoint {
    /// An endpoint without credentials and a 30 s request timeout.
    pub fn plain(url: impl Into<String>) -> Self {
        RestEndpoint {
            url: url.into(),
            auth: RestAuth::None,
            tls: RestTlsMaterial::default(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why a REST call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestError {
    /// The endpoint's settings are unusable (bad URL, unreadable certificate).
    #[error("REST endpoint {url}: {why}")]
    Config {
        /// The endpoint.
        url: String,
        /// What is wrong.
        why: String,
    },
    /// No HTTP response: connection refused, reset, TLS failure.
    #[error("{method} {url}: {why}")]
    Transport {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// What happened.
        why: String,
    },
    /// No response within the timeout.
    #[error("{method} {url}: no response within {timeout:?}")]
    Timeout {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The server answered with an error.
    #[error("{method} {url}: HTTP {status}{}: {message}", code.map(|c| format!(" (error_code {c})")).unwrap_or_default())]
    Api {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// Confluent's `error_code`, if any.
        code: Option<i64>,
        /// The server's message.
        message: String,
    },
    /// A response that is not what the API documents.
    #[error("{method} {url}: unexpected response: {why}")]
    Decode {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// What is wrong.
        why: String,
    },
}

impl RestError {
    /// A short, stable label for metrics, events and status reasons.
    pub fn category(&self) -> &'static str {
        match self {
            RestError::Config { .. } => "rest-config",
            RestError::Transport { .. } => "rest-unreachable",
            RestError::Timeout { .. } => "rest-timeout",
            RestError::Api { status, .. } if *status >= 500 => "rest-server-error",
            RestError::Api {
                status: 401 | 403, ..
            } => "rest-unauthorized",
            RestError::Api { .. } => "rest-rejected",
            RestError::Decode { .. } => "rest-decode",
        }
    }

    /// Whether trying again later can succeed without a change to the request.
    pub fn is_retriable(&self) -> bool {
        match self {
            RestError::Transport { .. } | RestError::Timeout { .. } => true,
            RestError::Api { status, .. } => *status >= 500 || *status == 429,
            RestError::Config { .. } | RestError::Decode { .. } => false,
        }
    }

    /// Whether the server said the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, RestError::Api { status: 404, .. })
    }
}

/// The link as `GET /links/{name}` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkInfo {
    /// `link_id` / `cluster_link_id`.
    pub link_id: Option<String>,
    /// `link_state` (`ACTIVE`, `UNAVAILABLE`, ...).
    pub link_state: Option<String>,
    /// `link_error_message`.
    pub link_error_message: Option<String>,
    /// `source_cluster_id`.
    pub source_cluster_id: Option<String>,
    /// `destination_cluster_id`.
    pub destination_cluster_id: Option<String>,
    /// `remote_cluster_id`.
    pub remote_cluster_id: Option<String>,
}

/// The ids a link is created with (Confluent's create-link body): `source_cluster_id` for a
/// destination link, `remote_cluster_id` for a bidirectional one, and `cluster_link_id` for
/// the second half of a pair.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateLinkIds {
    /// The source cluster (destination links).
    pub source_cluster_id: Option<String>,
    /// The remote cluster (bidirectional links).
    pub remote_cluster_id: Option<String>,
    /// The destination cluster (SOURCE links).
    pub destination_cluster_id: Option<String>,
    /// The id of the pair, taken from its first half.
    pub cluster_link_id: Option<String>,
}

/// A mirror topic as `GET /links/{name}/mirrors` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MirrorInfo {
    /// `mirror_topic_name`.
    pub name: String,
    /// `source_topic_name`.
    pub source_topic_name: String,
    /// `mirror_status`.
    pub status: String,
    /// `num_partitions`.
    pub num_partitions: Option<i64>,
    /// The largest `mirror_lags[].lag`.
    pub max_lag: Option<i64>,
    /// `offset_mode` (clusterlink: `ALIGNED` or `TRANSLATED`), if reported.
    pub offset_mode: Option<String>,
    /// The state transition errors' messages, joined.
    pub message: Option<String>,
}

/// A topic as `GET /topics/{name}` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicInfo {
    /// `partitions_count`.
    pub partitions_count: Option<i32>,
    /// `replication_factor`.
    pub replication_factor: Option<i32>,
}

/// One topic config as `GET /topics/{name}/configs` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicConfig {
    /// The value (`None` when sensitive).
    pub value: Option<String>,
    /// Whether it is the default.
    pub is_default: bool,
    /// Whether it is read-only.
    pub is_read_only: bool,
}

/// The result of a `mirrors:<action>` call for one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlterResult {
    /// The topic.
    pub name: String,
    /// The error, if that topic's change failed.
    pub error: Option<String>,
}

/// A state change of mirror topics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MirrorAction {
    /// `mirrors:pause`.
    Pause,
    /// `mirrors:resume`.
    Resume,
    /// `mirrors:promote`.
    Promote,
    /// `mirrors:failover`.
    Failover,
}

impl MirrorAction {
    /// The path suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            MirrorAction::Pause => "pause",
            MirrorAction::Resume => "resume",
            MirrorAction::Promote => "promote",
            MirrorAction::Failover => "failover",
        }
    }
}

/// A client of one REST API (cheap to clone).
#[derive(Clone)]
pub struct RestClient {
    http: HttpClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    base: Arc<str>,
    authorization: Option<HeaderValue>,
    timeout: Duration,
}

impl fmt::Debug for RestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestClient")
            .field("base", &self.base)
            .field("authenticated", &self.authorization.is_some())
            .finish()
    }
}

fn tls_config(endpoint: &RestEndpoint) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs();
    for cert in native {
        let _ = roots.add(cert);
    }
    if let Some(ca) = &endpoint.tls.ca_pem {
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(ca.expose().as_bytes()) {
            let cert = cert.map_err(|e| format!("CA certificates: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("CA certificate rejected: {e}"))?;
            n += 1;
        }
        if n == 0 {
            return Err("the CA file holds no PEM certificate".into());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    match &endpoint.tls.client_cert {
        None => Ok(builder.with_no_client_auth()),
        Some((chain, key)) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(chain.expose().as_bytes())
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("client certificate: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(key.expose().as_bytes())
                .map_err(|_| "client key: not a PEM private key".to_string())?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client certificate rejected: {e}"))
        }
    }
}

/// The system's trust anchors (certificates that fail to load are skipped, as curl does).
fn rustls_native_certs() -> Vec<CertificateDer<'static>> {
    rustls_native_certs::load_native_certs().certs
}

impl RestClient {
    /// A client of `endpoint`.
    pub fn new(endpoint: &RestEndpoint) -> Result<Self, RestError> {
        let config_error = |why: String| RestError::Config {
            url: endpoint.url.clone(),
            why,
        };
        let url = endpoint.url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(config_error(
                "the URL must start with http:// or https://".into(),
            ));
        }
        if url.split("//").nth(1).is_some_and(|rest| {
            rest.split('/')
                .next()
                .is_some_and(|authority| authority.contains('@'))
        }) {
            return Err(config_error(
                "credentials in the URL are not allowed; use the authentication settings".into(),
            ));
        }
        let base = if url.ends_with("/v3") {
            url.to_string()
        } else if url.ends_with("/kafka") {
            format!("{url}/v3")
        } else {
            format!("{url}/kafka/v3")
        };
        let connector = if url.starts_with("https://") {
            let tls = tls_config(endpoint).map_err(config_error)?;
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls)
                .https_only()
                .enable_http1()
                .build()
        } else {
            let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error(e.to_string()))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls)
                .https_or_http()
                .enable_http1()
                .build()
        };
        let authorization = match &endpoint.auth {
            RestAuth::None => None,
            RestAuth::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                Some(sensitive_header(&format!("Basic {encoded}")).map_err(config_error)?)
            }
            RestAuth::Bearer(token) => Some(
                sensitive_header(&format!("Bearer {}", token.expose())).map_err(config_error)?,
            ),
        };
        let http = HttpClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(RestClient {
            http,
            base: base.into(),
            authorization,
            timeout: endpoint.timeout,
        })
    }

    /// The base URL requests go to (`…/kafka/v3`).
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Option<Value>, RestError> {
        let url = format!("{}{path}", self.base);
        let mut req = Request::builder()
            .method(method.clone())
            .uri(&url)
            .header(header::ACCEPT, "application/json");
        if let Some(a) = &self.authorization {
            req = req.header(header::AUTHORIZATION, a.clone());
        }
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(b.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let req = req.body(body).map_err(|e| RestError::Config {
            url: url.clone(),
            why: e.to_string(),
        })?;
        debug!(%method, %url, "REST request");
        let exchange = async {
            let resp = self.http.request(req).await.map_err(|e| {
                use std::error::Error as _;
                let mut why = e.to_string();
                let mut src = e.source();
                while let Some(s) = src {
                    why = format!("{why}: {s}");
                    src = s.source();
                }
                RestError::Transport {
                    method: method.clone(),
                    url: url.clone(),
                    why,
                }
            })?;
            let status = resp.status();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| RestError::Transport {
                    method: method.clone(),
                    url: url.clone(),
                    why: format!("reading the response: {e}"),
                })?
                .to_bytes();
            Ok::<_, RestError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| RestError::Timeout {
                method: method.clone(),
                url: url.clone(),
                timeout: self.timeout,
            })??;
        let parsed: Option<Value> = if bytes.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            serde_json::from_slice(&bytes).ok()
        };
        if !status.is_success() {
            let (code, message) = match &parsed {
                Some(v) => (
                    v.get("error_code").and_then(Value::as_i64),
                    v.get("message")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                ),
                None => (
                    None,
                    String::from_utf8_lossy(&bytes[..bytes.len().min(500)]).into_owned(),
                ),
            };
            return Err(RestError::Api {
                method,
                url,
                status: status.as_u16(),
                code,
                message: if message.is_empty() {
                    status
                        .canonical_reason()
                        .unwrap_or("no message")
                        .to_string()
                } else {
                    message
                },
            });
        }
        if status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        if parsed.is_none() && !bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(RestError::Decode {
                method,
                url,
                why: "the body is not JSON".into(),
            });
        }
        Ok(parsed)
    }

    async fn get(&self, path: &str) -> Result<Value, RestError> {
        self.call(Method::GET, path, None)
            .await?
            .ok_or_else(|| RestError::Decode {
                method: Method::GET,
                url: format!("{}{path}", self.base),
                why: "empty body".into(),
            })
    }

    async fn get_optional(&self, path: &str) -> Result<Option<Value>, RestError> {
        match self.get(path).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn data(v: &Value, path: &str, base: &str) -> Result<Vec<Value>, RestError> {
        v.get("data")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| RestError::Decode {
                method: Method::GET,
                url: format!("{base}{path}"),
                why: "no data list".into(),
            })
    }

    /// The ids of the clusters this API serves (`GET /clusters`).
    pub async fn cluster_ids(&self) -> Result<Vec<String>, RestError> {
        let v = self.get("/clusters").await?;
        Ok(Self::data(&v, "/clusters", &self.base)?
            .iter()
            .filter_map(|c| c.get("cluster_id").and_then(Value::as_str))
            .map(str::to_string)
            .collect())
    }

    /// The id of the one cluster this API serves.
    pub async fn cluster_id(&self) -> Result<String, RestError> {
        let ids = self.cluster_ids().await?;
        match ids.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(RestError::Decode {
                method: Method::GET,
                url: format!("{}/clusters", self.base),
                why: format!(
                    "{} clusters listed; set the cluster id (kafkaRest.kafkaClusterID or clusterID) to choose one",
                    ids.len()
                ),
            }),
        }
    }

    /// The link, or `None` when it does not exist.
    pub async fn link(&self, cluster: &str, link: &str) -> Result<Option<LinkInfo>, RestError> {
        let Some(v) = self
            .get_optional(&format!("/clusters/{cluster}/links/{link}"))
            .await?
        else {
            return Ok(None);
        };
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Ok(Some(LinkInfo {
            link_id: s("cluster_link_id").or_else(|| s("link_id")),
            link_state: s("link_state"),
            link_error_message: s("link_error_message"),
            source_cluster_id: s("source_cluster_id"),
            destination_cluster_id: s("destination_cluster_id"),
            remote_cluster_id: s("remote_cluster_id"),
        }))
    }

    /// The configs set on the link (not defaults, not read-only); hidden values as `None`.
    pub async fn link_configs(
        &self,
        cluster: &str,
        link: &str,
    ) -> Result<BTreeMap<String, Option<String>>, RestError> {
        let path = format!("/clusters/{cluster}/links/{link}/configs");
        let v = self.get(&path).await?;
        let mut out = BTreeMap::new();
        for c in Self::data(&v, &path, &self.base)? {
            let flag = |a: &str, b: &str| {
                c.get(a)
                    .or_else(|| c.get(b))
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            };
            let Some(name) = c.get("name").and_then(Value::as_str) else {
                continue;
            };
            // Read-only configs are the broker's, except the ones fixed at creation
            // (`link.mode`, ...), which the plan compares with the resource.
            let fixed_at_creation = clusterlink_model::plan::IMMUTABLE_CONFIGS.contains(&name);
            if flag("is_default", "default")
                || (flag("is_read_only", "read_only") && !fixed_at_creation)
            {
                continue;
            }
            let value = c.get("value").and_then(Value::as_str).map(str::to_string);
            out.insert(name.to_string(), value);
        }
        Ok(out)
    }

    /// Creates a link (`POST /links?link_name=`).
    pub async fn create_link(
        &self,
        cluster: &str,
        link: &str,
        ids: &CreateLinkIds,
        configs: &LinkConfigs,
    ) -> Result<(), RestError> {
        let mut body = json!({ "configs": config_list(configs) });
        for (field, value) in [
            ("source_cluster_id", &ids.source_cluster_id),
            ("remote_cluster_id", &ids.remote_cluster_id),
            ("destination_cluster_id", &ids.destination_cluster_id),
            ("cluster_link_id", &ids.cluster_link_id),
        ] {
            if let Some(v) = value {
                body[field] = json!(v);
            }
        }
        self.call(
            Method::POST,
            &format!("/clusters/{cluster}/links?link_name={link}"),
            Some(body),
        )
        .await
        .map(drop)
    }

    /// Sets and resets link configs in one call (`PUT /links/{name}/configs:alter`).
    pub async fn alter_link_configs(
        &self,
        cluster: &str,
        link: &str,
        set: &LinkConfigs,
        delete: &[String],
    ) -> Result<(), RestError> {
        let mut data = config_list(set);
        data.extend(
            delete
                .iter()
                .map(|n| json!({"name": n, "operation": "DELETE"})),
        );
        self.call(
            Method::PUT,
            &format!("/clusters/{cluster}/links/{link}/configs:alter"),
            Some(json!({ "data": data })),
        )
        .await
        .map(drop)
    }

    /// Deletes a link; `force` also when it still has mirror topics (they stay as topics).
    pub async fn delete_link(
        &self,
        cluster: &str,
        link: &str,
        force: bool,
    ) -> Result<(), RestError> {
        self.call(
            Method::DELETE,
            &format!("/clusters/{cluster}/links/{link}?force={force}"),
            None,
        )
        .await
        .map(drop)
    }

    /// The link's mirror topics.
    pub async fn mirrors(&self, cluster: &str, link: &str) -> Result<Vec<MirrorInfo>, RestError> {
        let path = format!("/clusters/{cluster}/links/{link}/mirrors");
        let v = self.get(&path).await?;
        Ok(Self::data(&v, &path, &self.base)?
            .iter()
            .map(mirror_info)
            .collect())
    }

    /// Creates a mirror topic.
    pub async fn create_mirror(
        &self,
        cluster: &str,
        link: &str,
        name: &str,
        source_topic: &str,
        configs: &BTreeMap<String, String>,
        replication_factor: Option<i32>,
    ) -> Result<(), RestError> {
        let mut body = json!({
            "source_topic_name": source_topic,
            "mirror_topic_name": name,
            "configs": configs.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
        });
        if let Some(rf) = replication_factor {
            body["replication_factor"] = json!(rf);
        }
        self.call(
            Method::POST,
            &format!("/clusters/{cluster}/links/{link}/mirrors"),
            Some(body),
        )
        .await
        .map(drop)
    }

    /// Changes the state of mirror topics; the result says, per topic, whether it worked.
    pub async fn alter_mirrors(
        &self,
        cluster: &str,
        link: &str,
        action: MirrorAction,
        names: &[String],
    ) -> Result<Vec<AlterResult>, RestError> {
        let path = format!(
            "/clusters/{cluster}/links/{link}/mirrors:{}",
            action.as_str()
        );
        let v = self
            .call(
                Method::POST,
                &path,
                Some(json!({ "mirror_topic_names": names })),
            )
            .await?;
        let mut out = Vec::new();
        for item in v
            .as_ref()
            .and_then(|v| v.get("data"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = item.get("mirror_topic_name").and_then(Value::as_str) else {
                continue;
            };
            let error = item
                .get("error_message")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
                .map(str::to_string);
            out.push(AlterResult {
                name: name.to_string(),
                error,
            });
        }
        Ok(out)
    }

    /// A topic, or `None` when it does not exist.
    pub async fn topic(&self, cluster: &str, topic: &str) -> Result<Option<TopicInfo>, RestError> {
        let Some(v) = self
            .get_optional(&format!("/clusters/{cluster}/topics/{topic}"))
            .await?
        else {
            return Ok(None);
        };
        let n = |k: &str| v.get(k).and_then(Value::as_i64).map(|n| n as i32);
        Ok(Some(TopicInfo {
            partitions_count: n("partitions_count"),
            replication_factor: n("replication_factor"),
        }))
    }

    /// Creates a topic.
    pub async fn create_topic(
        &self,
        cluster: &str,
        topic: &str,
        partitions: Option<i32>,
        replication_factor: Option<i32>,
        configs: &BTreeMap<String, String>,
    ) -> Result<(), RestError> {
        let mut body = json!({
            "topic_name": topic,
            "configs": configs.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
        });
        if let Some(p) = partitions {
            body["partitions_count"] = json!(p);
        }
        if let Some(rf) = replication_factor {
            body["replication_factor"] = json!(rf);
        }
        self.call(
            Method::POST,
            &format!("/clusters/{cluster}/topics"),
            Some(body),
        )
        .await
        .map(drop)
    }

    /// Deletes a topic (also how a mirror topic is deleted).
    pub async fn delete_topic(&self, cluster: &str, topic: &str) -> Result<(), RestError> {
        self.call(
            Method::DELETE,
            &format!("/clusters/{cluster}/topics/{topic}"),
            None,
        )
        .await
        .map(drop)
    }

    /// A topic's configs.
    pub async fn topic_configs(
        &self,
        cluster: &str,
        topic: &str,
    ) -> Result<BTreeMap<String, TopicConfig>, RestError> {
        let path = format!("/clusters/{cluster}/topics/{topic}/configs");
        let v = self.get(&path).await?;
        let mut out = BTreeMap::new();
        for c in Self::data(&v, &path, &self.base)? {
            let Some(name) = c.get("name").and_then(Value::as_str) else {
                continue;
            };
            out.insert(
                name.to_string(),
                TopicConfig {
                    value: c.get("value").and_then(Value::as_str).map(str::to_string),
                    is_default: c
                        .get("is_default")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    is_read_only: c
                        .get("is_read_only")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                },
            );
        }
        Ok(out)
    }

    /// Sets and resets topic configs (`POST /topics/{name}/configs:alter`).
    pub async fn alter_topic_configs(
        &self,
        cluster: &str,
        topic: &str,
        set: &BTreeMap<String, String>,
        delete: &[String],
    ) -> Result<(), RestError> {
        let mut data: Vec<Value> = set
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        data.extend(
            delete
                .iter()
                .map(|n| json!({"name": n, "operation": "DELETE"})),
        );
        self.call(
            Method::POST,
            &format!("/clusters/{cluster}/topics/{topic}/configs:alter"),
            Some(json!({ "data": data })),
        )
        .await
        .map(drop)
    }
}

fn sensitive_header(value: &str) -> Result<HeaderValue, String> {
    let mut h = HeaderValue::from_str(value)
        .map_err(|_| "the credentials contain characters not allowed in a header".to_string())?;
    h.set_sensitive(true);
    Ok(h)
}

fn config_list(configs: &LinkConfigs) -> Vec<Value> {
    configs
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v.expose()}))
        .collect()
}

fn mirror_info(m: &Value) -> MirrorInfo {
    let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
    let max_lag = m
        .get("mirror_lags")
        .and_then(Value::as_array)
        .and_then(|lags| {
            lags.iter()
                .filter_map(|l| l.get("lag").and_then(Value::as_i64))
                .max()
        });
    let errors: Vec<String> = m
        .get("mirror_state_transition_errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("error_message").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    MirrorInfo {
        name: s("mirror_topic_name").unwrap_or_default(),
        source_topic_name: s("source_topic_name").unwrap_or_default(),
        status: s("mirror_status").unwrap_or_else(|| "UNKNOWN".into()),
        num_partitions: m.get("num_partitions").and_then(Value::as_i64),
        max_lag,
        offset_mode: s("offset_mode"),
        message: (!errors.is_empty()).then(|| errors.join("; ")),
    }
}
