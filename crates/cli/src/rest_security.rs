//! `clusterlink server`'s flags for its REST listener: TLS and mTLS, who may authenticate and
//! how, their roles, and the limits one client can take. Turned into the server's
//! [`ServeOptions`] here, so that a bad file stops start-up with a message that names it.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use clusterlink_server::http::auth::{Authenticator, Htpasswd, JwtVerifier, RoleTable};
use clusterlink_server::tls::{TlsFiles, TlsReloader};
use clusterlink_server::{Limits, ServeOptions};

use crate::cli::seconds_or_duration;

/// The REST listener's security and limits.
#[derive(Debug, Args)]
#[command(next_help_heading = "REST API security")]
pub struct RestSecurity {
    /// Serve HTTPS with this certificate chain (PEM); needs --rest-tls-key. The files are read
    /// again when they change (checked on each new connection).
    #[arg(long, value_name = "FILE", requires = "rest_tls_key")]
    pub rest_tls_cert: Option<PathBuf>,
    /// The private key of --rest-tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "rest_tls_cert")]
    pub rest_tls_key: Option<PathBuf>,
    /// Verify client certificates signed by this CA (PEM) and accept them as authentication
    /// (mTLS): the principal is the certificate subject's CN. Needs --rest-tls-cert.
    #[arg(long, value_name = "FILE", requires = "rest_tls_cert")]
    pub rest_client_ca: Option<PathBuf>,
    /// Accept HTTP basic authentication against this htpasswd file (bcrypt hashes only:
    /// `htpasswd -B`); the principal is the user name.
    #[arg(long, value_name = "FILE")]
    pub rest_basic_auth_file: Option<PathBuf>,
    /// Accept bearer tokens: JWTs signed (RS256 or ES256) by this public key (PEM); the
    /// principal is the token's `sub`. `exp` and `nbf` are checked.
    #[arg(long, value_name = "FILE")]
    pub rest_jwt_public_key: Option<PathBuf>,
    /// Accept bearer tokens signed by a key of this JWKS file (RSA and P-256 keys).
    #[arg(long, value_name = "FILE")]
    pub rest_jwks_file: Option<PathBuf>,
    /// Bearer tokens must carry this `iss`.
    #[arg(long, value_name = "ISSUER")]
    pub rest_jwt_issuer: Option<String>,
    /// Bearer tokens must carry this `aud`.
    #[arg(long, value_name = "AUDIENCE")]
    pub rest_jwt_audience: Option<String>,
    /// Principals' roles (YAML: `viewer: [alice]`, `operator: [bob]`, `admin: [carol]`, `"*"`
    /// for every authenticated principal). viewer: GET only; operator: also links, link
    /// configs and mirrors; admin: also topics. Without this file every authenticated principal
    /// is admin. /healthz, /readyz, /metrics and /openapi.yaml need no authentication; without
    /// any authentication method everything is open to anyone who reaches the listener.
    #[arg(long, value_name = "FILE")]
    pub rest_roles_file: Option<PathBuf>,
    /// Largest request body accepted (413 above).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub rest_max_body_bytes: usize,
    /// Time a client has for the TLS handshake and for each request's headers before its
    /// connection is closed (an idle keep-alive connection is closed after it too).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = seconds_or_duration)]
    pub rest_header_read_timeout: Duration,
    /// Time a request has to be answered, waiting for a slot included (408 after).
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = seconds_or_duration)]
    pub rest_request_timeout: Duration,
    /// Requests handled at once; more wait for a slot.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
    pub rest_max_concurrent_requests: u16,
}

impl RestSecurity {
    /// The serving options these flags say, with every file read.
    pub fn options(&self) -> Result<ServeOptions> {
        let tls = match (&self.rest_tls_cert, &self.rest_tls_key) {
            (Some(cert), Some(key)) => Some(Arc::new(
                TlsReloader::load(TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                    client_ca: self.rest_client_ca.clone(),
                })
                .context("the REST listener's TLS material")?,
            )),
            _ => None,
        };
        let basic = self
            .rest_basic_auth_file
            .as_deref()
            .map(Htpasswd::load)
            .transpose()?;
        let bearer = if self.rest_jwt_public_key.is_some() || self.rest_jwks_file.is_some() {
            let mut v =
                JwtVerifier::new(self.rest_jwt_issuer.clone(), self.rest_jwt_audience.clone());
            if let Some(p) = &self.rest_jwt_public_key {
                v = v.with_public_key_file(p)?;
            }
            if let Some(p) = &self.rest_jwks_file {
                v = v.with_jwks_file(p)?;
            }
            Some(v)
        } else {
            anyhow::ensure!(
                self.rest_jwt_issuer.is_none() && self.rest_jwt_audience.is_none(),
                "--rest-jwt-issuer and --rest-jwt-audience need --rest-jwt-public-key or --rest-jwks-file"
            );
            None
        };
        let mtls = self.rest_client_ca.is_some();
        let auth = if basic.is_some() || bearer.is_some() || mtls {
            Some(Arc::new(Authenticator {
                basic,
                bearer,
                mtls,
                roles: self
                    .rest_roles_file
                    .as_deref()
                    .map(RoleTable::load)
                    .transpose()?,
            }))
        } else {
            anyhow::ensure!(
                self.rest_roles_file.is_none(),
                "--rest-roles-file needs an authentication method (--rest-basic-auth-file, \
                 --rest-jwt-public-key, --rest-jwks-file or --rest-client-ca)"
            );
            None
        };
        Ok(ServeOptions {
            tls,
            auth,
            limits: Limits {
                max_body_bytes: self.rest_max_body_bytes,
                header_read_timeout: self.rest_header_read_timeout,
                request_timeout: self.rest_request_timeout,
                max_concurrent_requests: self.rest_max_concurrent_requests.into(),
            },
        })
    }
}

/// Whether an address is reachable from this host only.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    match addr.ip() {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}
