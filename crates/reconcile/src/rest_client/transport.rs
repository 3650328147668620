//! How the client reaches a REST API: endpoints and their credentials and TLS material, the
//! HTTP exchange (one timeout per request), and what can go wrong ([`RestError`]).
//!
//! Requests carry credentials in headers only (never in URLs), and neither errors nor `Debug`
//! output show them. Error responses are read as Confluent's [`ErrorBody`]; successful ones are
//! decoded into the contract's types by the caller's choice.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use clusterlink_model::SecretValue;
use clusterlink_rest_v3::ErrorBody;
use http::{header, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
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
            RestError::Api { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            RestError::Config { .. } | RestError::Decode { .. } => false,
        }
    }

    /// Whether the server said the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, RestError::Api { status: 404, .. })
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
        // A password or token sent over plain HTTP is readable on the way: refused before
        // anything is sent, whoever asks (a KafkaRestClass, `status --url`).
        if url.starts_with("http://") && !matches!(endpoint.auth, RestAuth::None) {
            return Err(config_error(
                "refusing to send credentials over plain HTTP: use an https:// endpoint".into(),
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
        // Idle connections are dropped before a link server drops them (it closes a connection
        // that sends no request head for --rest-header-read-timeout, 10 s by default), so that
        // a request is never written to a connection the server is closing.
        let http = HttpClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(5))
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

    /// One exchange: `body` (JSON) to `path`, the response's JSON back (`None` for an empty
    /// body or a 204). An error status is a [`RestError::Api`] with Confluent's error code and
    /// message when the body has them.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
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
                Full::new(Bytes::from(b))
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
                Some(v) => {
                    let body = ErrorBody::deserialize(v).unwrap_or_default();
                    (
                        body.error_code,
                        body.message.unwrap_or_else(|| v.to_string()),
                    )
                }
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

    /// Sends `body` as JSON; the response's JSON, if any.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
    ) -> Result<Option<Value>, RestError> {
        let bytes = serde_json::to_vec(body).map_err(|e| RestError::Config {
            url: format!("{}{path}", self.base),
            why: format!("encoding the request: {e}"),
        })?;
        self.call(method, path, Some(bytes)).await
    }

    /// A request without a body whose response does not matter (`DELETE`).
    pub(super) async fn call_empty(&self, method: Method, path: &str) -> Result<(), RestError> {
        self.call(method, path, None).await.map(drop)
    }

    /// `GET path`, decoded as `T`.
    pub(super) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, RestError> {
        let v = self
            .call(Method::GET, path, None)
            .await?
            .ok_or_else(|| RestError::Decode {
                method: Method::GET,
                url: format!("{}{path}", self.base),
                why: "empty body".into(),
            })?;
        self.decode(Method::GET, path, v)
    }

    /// `GET path`, decoded as `T`, or `None` when the resource does not exist.
    pub(super) async fn get_optional<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, RestError> {
        match self.get(path).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A response of `method path` decoded as `T`.
    pub(super) fn decode<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        v: Value,
    ) -> Result<T, RestError> {
        serde_json::from_value(v).map_err(|e| RestError::Decode {
            method,
            url: format!("{}{path}", self.base),
            why: e.to_string(),
        })
    }
}

fn sensitive_header(value: &str) -> Result<HeaderValue, String> {
    let mut h = HeaderValue::from_str(value)
        .map_err(|_| "the credentials contain characters not allowed in a header".to_string())?;
    h.set_sensitive(true);
    Ok(h)
}
