//! TLS to a broker (`security.protocol=SSL`) from Kafka's client settings, on rustls.
//!
//! Kafka clients name their TLS material with `ssl.*` settings; what this reads:
//! - trust: `ssl.truststore.certificates` (PEM text) or `ssl.truststore.location` (a PEM file);
//!   without either, the system's trust anchors;
//! - client certificate (mutual TLS): `ssl.keystore.certificate.chain` with `ssl.keystore.key`
//!   (PEM text), or `ssl.keystore.location` (one PEM file holding both);
//! - `ssl.endpoint.identification.algorithm`: `https` (the default) checks the broker's name
//!   against its certificate; an empty value checks the chain only, as Kafka clients do.
//!
//! JKS and PKCS#12 stores are not read (PEM only): the error says so. SASL_SSL is TLS here and
//! SASL on top (`crate::sasl`).

use std::collections::BTreeMap;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// TLS settings of a connection: rustls' client configuration (trust anchors, client
/// certificate, hostname verification).
#[derive(Clone)]
pub struct Tls(pub Arc<rustls::ClientConfig>);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

/// Why the TLS settings cannot be used (never contains key material).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {why}")]
pub struct TlsError {
    /// The setting at fault.
    pub setting: String,
    /// What is wrong.
    pub why: String,
}

fn err(setting: &str, why: impl Into<String>) -> TlsError {
    TlsError {
        setting: setting.into(),
        why: why.into(),
    }
}

fn pem_text(
    configs: &BTreeMap<String, String>,
    inline: &str,
    location: &str,
) -> Result<Option<(String, String)>, TlsError> {
    if let Some(v) = configs.get(inline).filter(|v| !v.trim().is_empty()) {
        return Ok(Some((inline.to_string(), v.clone())));
    }
    if let Some(path) = configs.get(location).filter(|v| !v.trim().is_empty()) {
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(location, format!("cannot read {path}: {e}")))?;
        return Ok(Some((location.to_string(), text)));
    }
    Ok(None)
}

fn check_pem_type(configs: &BTreeMap<String, String>, key: &str) -> Result<(), TlsError> {
    match configs.get(key).map(|v| v.to_ascii_uppercase()) {
        None => Ok(()),
        Some(t) if t == "PEM" => Ok(()),
        Some(t) => Err(err(
            key,
            format!("{t} stores are not supported: give the certificates and keys as PEM"),
        )),
    }
}

/// The TLS settings of a client whose Kafka settings are `configs` (`security.protocol` and
/// `ssl.*`): `None` for PLAINTEXT and SASL_PLAINTEXT.
pub fn from_configs(configs: &BTreeMap<String, String>) -> Result<Option<Tls>, TlsError> {
    match configs
        .get("security.protocol")
        .map(|p| p.to_ascii_uppercase())
        .as_deref()
    {
        None | Some("PLAINTEXT") | Some("SASL_PLAINTEXT") => return Ok(None),
        Some("SSL") | Some("SASL_SSL") => {}
        Some(other) => {
            return Err(err(
                "security.protocol",
                format!(
                    "{other} is not a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)"
                ),
            ))
        }
    }
    check_pem_type(configs, "ssl.truststore.type")?;
    check_pem_type(configs, "ssl.keystore.type")?;
    let mut roots = rustls::RootCertStore::empty();
    match pem_text(
        configs,
        "ssl.truststore.certificates",
        "ssl.truststore.location",
    )? {
        Some((setting, text)) => {
            let mut n = 0;
            for cert in CertificateDer::pem_slice_iter(text.as_bytes()) {
                let cert = cert.map_err(|e| err(&setting, format!("not PEM certificates: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| err(&setting, format!("certificate refused: {e}")))?;
                n += 1;
            }
            if n == 0 {
                return Err(err(&setting, "holds no PEM certificate"));
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verify_names = configs
        .get("ssl.endpoint.identification.algorithm")
        .is_none_or(|v| !v.trim().is_empty());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| err("security.protocol", e.to_string()))?;
    let builder = if verify_names {
        builder.with_root_certificates(roots)
    } else {
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| err("ssl.truststore", e.to_string()))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
    };
    let chain_and_key = match (
        configs
            .get("ssl.keystore.certificate.chain")
            .filter(|v| !v.trim().is_empty()),
        configs
            .get("ssl.keystore.key")
            .filter(|v| !v.trim().is_empty()),
    ) {
        (Some(chain), Some(key)) => Some((
            "ssl.keystore.certificate.chain".to_string(),
            chain.clone(),
            key.clone(),
        )),
        (Some(_), None) | (None, Some(_)) => {
            return Err(err(
                "ssl.keystore.key",
                "the client certificate chain and its key go together",
            ))
        }
        (None, None) => pem_text(configs, "", "ssl.keystore.location")?
            .map(|(setting, text)| (setting, text.clone(), text)),
    };
    let config = match chain_and_key {
        None => builder.with_no_client_auth(),
        Some((setting, chain, key)) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(chain.as_bytes())
                    .collect::<Result<_, _>>()
                    .map_err(|e| err(&setting, format!("not PEM certificates: {e}")))?;
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
                .map_err(|_| err("ssl.keystore.key", "holds no PEM private key"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| err(&setting, format!("client certificate refused: {e}")))?
        }
    };
    Ok(Some(Tls(Arc::new(config))))
}

/// Checks the chain and signatures, not the name (`ssl.endpoint.identification.algorithm=`).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                ..
            })) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plaintext_ssl_and_refusals() {
        assert!(from_configs(&c(&[])).unwrap().is_none());
        assert!(from_configs(&c(&[("security.protocol", "PLAINTEXT")]))
            .unwrap()
            .is_none());
        assert!(from_configs(&c(&[("security.protocol", "SSL")]))
            .unwrap()
            .is_some());
        assert!(from_configs(&c(&[("security.protocol", "SASL_SSL")]))
            .unwrap()
            .is_some());
        assert!(from_configs(&c(&[("security.protocol", "SASL_PLAINTEXT")]))
            .unwrap()
            .is_none());
        let e = from_configs(&c(&[("security.protocol", "SASL")])).unwrap_err();
        assert_eq!(e.setting, "security.protocol");
        let e = from_configs(&c(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.type", "JKS"),
        ]))
        .unwrap_err();
        assert!(e.why.contains("PEM"), "{e}");
        let e = from_configs(&c(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.certificates", "not a pem"),
        ]))
        .unwrap_err();
        assert_eq!(e.setting, "ssl.truststore.certificates");
        let e = from_configs(&c(&[
            ("security.protocol", "SSL"),
            ("ssl.keystore.key", "-----BEGIN PRIVATE KEY-----\nsecret\n"),
        ]))
        .unwrap_err();
        assert!(!e.to_string().contains("secret"));
    }
}
