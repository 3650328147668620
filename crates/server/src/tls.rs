//! TLS on the REST listener: the server's certificate and key (PEM files), and optionally a CA
//! whose client certificates the server verifies (mutual TLS).
//!
//! Certificates are rotated by replacing their files (cert-manager, a mounted Secret), so the
//! files are not read once: each new connection checks their modification times and a change
//! loads them again. A change that does not load (a half-written file) keeps the previous
//! material and says so in the log, rather than refusing every connection.
//!
//! A client certificate is verified when one is presented but not required by the handshake:
//! whether a request without one may proceed is the authentication layer's decision (basic or
//! bearer credentials may be configured besides), so that its refusal is a proper 401 body.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

/// The files of the listener's TLS material.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The server's certificate chain (PEM).
    pub cert: PathBuf,
    /// The server's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA certificates that sign client certificates (PEM), for mutual TLS.
    pub client_ca: Option<PathBuf>,
}

/// Why the TLS material cannot be used. Names files, never key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file holds no usable PEM of the kind it should.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// rustls refused the material.
    #[error("TLS settings: {0}")]
    Rustls(String),
}

impl TlsError {
    /// A short, stable label.
    pub fn category(&self) -> &'static str {
        match self {
            TlsError::Read { .. } => "tls_file",
            TlsError::Pem { .. } => "tls_pem",
            TlsError::Rustls(_) => "tls_config",
        }
    }
}

/// The current acceptor, reloaded when the files change.
pub struct TlsReloader {
    files: TlsFiles,
    current: Mutex<(Vec<Option<SystemTime>>, TlsAcceptor)>,
}

impl std::fmt::Debug for TlsReloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsReloader")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl TlsReloader {
    /// Loads the files; an error here stops start-up.
    pub fn load(files: TlsFiles) -> Result<Self, TlsError> {
        let stamps = stamps(&files);
        let acceptor = acceptor(&files)?;
        Ok(TlsReloader {
            files,
            current: Mutex::new((stamps, acceptor)),
        })
    }

    /// Whether client certificates are verified.
    pub fn mutual(&self) -> bool {
        self.files.client_ca.is_some()
    }

    /// The acceptor for a new connection: the files are loaded again when one has changed.
    pub fn acceptor(&self) -> TlsAcceptor {
        let now = stamps(&self.files);
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.0 != now {
            match acceptor(&self.files) {
                Ok(a) => {
                    info!(cert = %self.files.cert.display(), "REST listener TLS material reloaded");
                    *current = (now, a);
                }
                Err(e) => {
                    warn!(error = %e, "REST listener TLS material changed but does not load; keeping the previous one");
                    // Do not try again on every connection until the files change again.
                    current.0 = now;
                }
            }
        }
        current.1.clone()
    }
}

fn stamps(files: &TlsFiles) -> Vec<Option<SystemTime>> {
    [
        Some(&files.cert),
        Some(&files.key),
        files.client_ca.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
    .collect()
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_owned(),
            what: format!("unreadable PEM certificate: {e}"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: path.to_owned(),
            what: "no PEM certificate".into(),
        });
    }
    Ok(certs)
}

fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_slice(&read(&files.key)?).map_err(|_| TlsError::Pem {
        path: files.key.clone(),
        what: "no PEM private key (PKCS#8, PKCS#1 or SEC1)".into(),
    })?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in certificates(ca)? {
                roots.add(c).map_err(|e| TlsError::Pem {
                    path: ca.clone(),
                    what: format!("not a usable CA certificate: {e}"),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsError::Rustls(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The common name (CN) of a verified client certificate's subject: the principal of an mTLS
/// client.
pub fn common_name(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let cn = parsed.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}
