//! Authentication and authorisation of REST requests, as a middleware in front of every route
//! but `/healthz`, `/readyz`, `/metrics` and `/openapi.yaml` (probes and scrapers carry no
//! credentials, and these show nothing a link's owner would hide).
//!
//! A request proves who it is with one of the configured methods, several being allowed at once:
//! - `Authorization: Basic` against an htpasswd file of bcrypt hashes ([`basic`]);
//! - `Authorization: Bearer` with a JWT ([`bearer`]), the principal its `sub`;
//! - a client certificate verified by the TLS handshake (mTLS), the principal its subject's CN.
//!
//! An `Authorization` header is checked first: a wrong one is refused even when a client
//! certificate came along, so that a mistake is seen rather than hidden. The principal then
//! needs the role the request does ([`roles`]); without a roles file every authenticated
//! principal is admin. Refusals are Confluent's bodies: 401 with `error_code` 40101 and a
//! `WWW-Authenticate` header naming the schemes accepted, 403 with 40301. No password or token
//! goes into a response, an error or the log.

pub mod basic;
pub mod bearer;
pub mod roles;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clusterlink_rest_v3::error::code;
use tracing::{debug, warn};

use super::error::ApiError;
use crate::listener::Peer;
pub use basic::Htpasswd;
pub use bearer::JwtVerifier;
pub use roles::{Role, RoleTable};

/// Paths anyone may read.
pub const PUBLIC_PATHS: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/openapi.yaml"];

/// The realm of `WWW-Authenticate`.
const REALM: &str = "clusterlink";

/// How requests authenticate, and what each principal may do.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    /// Basic authentication's users.
    pub basic: Option<Htpasswd>,
    /// Bearer tokens' keys.
    pub bearer: Option<JwtVerifier>,
    /// Whether a verified client certificate authenticates.
    pub mtls: bool,
    /// Roles; every principal is admin without.
    pub roles: Option<RoleTable>,
}

/// An authenticated request's principal, for handlers and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(pub String);

/// Why an authentication setting cannot be used (at start-up).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthConfigError {
    /// A file cannot be read.
    #[error("cannot read {path}: {why}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A file's content is unusable.
    #[error("{path}: {why}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

impl AuthConfigError {
    /// A short, stable label.
    pub fn category(&self) -> &'static str {
        match self {
            AuthConfigError::Read { .. } => "auth_file",
            AuthConfigError::Invalid { .. } => "auth_config",
        }
    }
}

/// A settings file's bytes, the file named in the error.
fn read_file(path: &std::path::Path) -> Result<Vec<u8>, AuthConfigError> {
    std::fs::read(path).map_err(|e| AuthConfigError::Read {
        path: path.to_owned(),
        why: e.to_string(),
    })
}

/// A settings file read as text and parsed by `parse`, the file named in either error.
fn load<T>(
    path: &std::path::Path,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, AuthConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| AuthConfigError::Read {
        path: path.to_owned(),
        why: e.to_string(),
    })?;
    parse(&text).map_err(|why| AuthConfigError::Invalid {
        path: path.to_owned(),
        why,
    })
}

/// Why a request was refused. Never carries a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credentials.
    #[error("Authentication required")]
    Missing,
    /// An `Authorization` scheme this server does not accept.
    #[error("Authorization scheme not accepted; this server accepts: {0}")]
    Scheme(String),
    /// Basic credentials that are not a known user's.
    #[error("Invalid username or password")]
    BadPassword,
    /// A bearer token that is not valid.
    #[error("Invalid bearer token: {0}")]
    BadToken(&'static str),
    /// The principal's role does not allow the request.
    #[error(
        "Principal '{principal}' is not allowed to {method} {path}: that needs the {needed} role"
    )]
    Forbidden {
        /// Who.
        principal: String,
        /// The method.
        method: String,
        /// The path.
        path: String,
        /// The role the request needs.
        needed: &'static str,
    },
}

impl AuthError {
    /// A short, stable label for metrics.
    pub fn category(&self) -> &'static str {
        match self {
            AuthError::Forbidden { .. } => "forbidden",
            _ => "unauthenticated",
        }
    }
}

impl Authenticator {
    /// The schemes to name in `WWW-Authenticate`.
    fn challenges(&self, error: &AuthError) -> Vec<String> {
        let mut out = Vec::new();
        if self.basic.is_some() {
            out.push(format!("Basic realm=\"{REALM}\", charset=\"UTF-8\""));
        }
        if self.bearer.is_some() {
            out.push(match error {
                AuthError::BadToken(why) => format!(
                    "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{why}\""
                ),
                _ => format!("Bearer realm=\"{REALM}\""),
            });
        }
        if out.is_empty() {
            // mTLS only: the header is still required with a 401; name what is expected.
            out.push(format!("Mutual realm=\"{REALM}\""));
        }
        out
    }

    fn accepted(&self) -> String {
        let mut s = Vec::new();
        if self.basic.is_some() {
            s.push("Basic");
        }
        if self.bearer.is_some() {
            s.push("Bearer");
        }
        if self.mtls {
            s.push("a client certificate");
        }
        s.join(", ")
    }

    /// The principal of a request, from its `Authorization` header or, with mTLS, its
    /// connection's client certificate.
    async fn identify(
        self: &Arc<Self>,
        authorization: Option<&[u8]>,
        certificate_cn: Option<String>,
    ) -> Result<Principal, AuthError> {
        if let Some(value) = authorization {
            let value = std::str::from_utf8(value).map_err(|_| AuthError::BadPassword)?;
            let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
            if scheme.eq_ignore_ascii_case("basic") && self.basic.is_some() {
                let (user, password) = basic::decode(credentials).ok_or(AuthError::BadPassword)?;
                let me = self.clone();
                let u = user.clone();
                let ok = tokio::task::spawn_blocking(move || {
                    me.basic.as_ref().is_some_and(|b| b.verify(&u, &password))
                })
                .await
                .unwrap_or(false);
                return if ok {
                    Ok(Principal(user))
                } else {
                    Err(AuthError::BadPassword)
                };
            }
            if scheme.eq_ignore_ascii_case("bearer") {
                if let Some(b) = &self.bearer {
                    return b
                        .verify(credentials.trim())
                        .map(Principal)
                        .map_err(AuthError::BadToken);
                }
            }
            return Err(AuthError::Scheme(self.accepted()));
        }
        match certificate_cn {
            Some(cn) if self.mtls => Ok(Principal(cn)),
            _ => Err(AuthError::Missing),
        }
    }

    /// The principal of a request that may do what it asks.
    pub async fn check(
        self: &Arc<Self>,
        request: &axum::http::request::Parts,
    ) -> Result<Principal, AuthError> {
        let cn = request
            .extensions
            .get::<Peer>()
            .and_then(|p| p.certificate_cn.clone());
        let authorization = request
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes().to_vec());
        let principal = self.identify(authorization.as_deref(), cn).await?;
        let needed = roles::required(&request.method, request.uri.path());
        let has = match &self.roles {
            None => Some(Role::Admin),
            Some(t) => t.role_of(&principal.0),
        };
        if has.is_some_and(|r| r >= needed) {
            Ok(principal)
        } else {
            Err(AuthError::Forbidden {
                principal: principal.0,
                method: request.method.to_string(),
                path: request.uri.path().to_owned(),
                needed: needed.name(),
            })
        }
    }

    /// The response refusing a request.
    pub fn refusal(&self, error: &AuthError) -> Response {
        let forbidden = matches!(error, AuthError::Forbidden { .. });
        let api = ApiError {
            status: if forbidden {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNAUTHORIZED
            },
            code: if forbidden {
                code::NOT_AUTHORIZED
            } else {
                code::UNAUTHENTICATED
            },
            message: error.to_string(),
            category: error.category(),
        };
        let mut response = api.into_response();
        if !forbidden {
            for c in self.challenges(error) {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    response.headers_mut().append(header::WWW_AUTHENTICATE, v);
                }
            }
        }
        response
    }
}

/// The middleware: public paths pass; any other request needs a principal with the role.
pub(crate) async fn authenticate(
    State(auth): State<Arc<Authenticator>>,
    request: Request,
    next: Next,
) -> Response {
    if PUBLIC_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    match auth.check(&parts).await {
        Ok(principal) => {
            debug!(principal = %principal.0, method = %parts.method, path = %parts.uri.path(), "authorised");
            parts.extensions.insert(principal);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) => {
            let client = parts
                .extensions
                .get::<Peer>()
                .map(|p| p.addr.to_string())
                .unwrap_or_default();
            warn!(%client, method = %parts.method, path = %parts.uri.path(), reason = %e, "REST request refused");
            auth.refusal(&e)
        }
    }
}
