//! Certificates made at test time, for the names a test needs: the committed test certificates
//! (`certs/`) cover only `localhost` and `127.0.0.1`, and a CFK example dials a Kubernetes
//! service name (`kafka-dest.destination.svc.cluster.local`). [`TestPki::for_names`] makes a
//! CA and a server certificate it signs for those names (IP addresses become IP SANs);
//! [`TestPki::with_clients`] also client certificates (for mutual TLS) with the CNs asked for.

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

/// A CA and one server identity it signed, all PEM.
#[derive(Clone)]
pub struct TestPki {
    /// The CA certificate: what clients trust (CFK's `cacerts.pem`).
    pub ca_pem: String,
    /// The server certificate (CFK's `fullchain.pem`).
    pub cert_pem: String,
    /// The server's private key, PKCS#8 (CFK's `privkey.pem`).
    pub key_pem: String,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

/// A client certificate and its key, PEM.
#[derive(Clone)]
pub struct ClientIdentity {
    /// The certificate, its subject's CN the name asked for.
    pub cert_pem: String,
    /// Its private key, PKCS#8.
    pub key_pem: String,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity").finish_non_exhaustive()
    }
}

impl TestPki {
    /// A new CA, and a server certificate for `names` (DNS names and IP addresses).
    pub fn for_names(names: &[&str]) -> Result<Self> {
        Ok(Self::with_clients(names, &[])?.0)
    }

    /// A new CA, a server certificate for `names`, and a client certificate for each of
    /// `clients` (its subject's CN).
    pub fn with_clients(names: &[&str], clients: &[&str]) -> Result<(Self, Vec<ClientIdentity>)> {
        let mut ca = CertificateParams::new(Vec::<String>::new()).context("CA parameters")?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(
            DnType::CommonName,
            "clusterlink test CA (made at test time)",
        );
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().context("CA key")?)
            .context("self-signing the CA")?;
        let key = KeyPair::generate().context("server key")?;
        let mut server =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .context("server certificate parameters")?;
        server.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("server"),
        );
        let cert = server
            .signed_by(&key, &ca)
            .context("signing the server certificate")?;
        let mut identities = Vec::new();
        for cn in clients {
            let key = KeyPair::generate().context("client key")?;
            let mut params = CertificateParams::new(Vec::<String>::new())
                .context("client certificate parameters")?;
            params.distinguished_name.push(DnType::CommonName, *cn);
            params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
            let cert = params
                .signed_by(&key, &ca)
                .context("signing a client certificate")?;
            identities.push(ClientIdentity {
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
            });
        }
        Ok((
            TestPki {
                ca_pem: ca.pem(),
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
            },
            identities,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_pem_and_the_key_is_pkcs8() {
        let p =
            TestPki::for_names(&["kafka-dest.destination.svc.cluster.local", "127.0.0.1"]).unwrap();
        assert!(p.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(p.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(p.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(!format!("{p:?}").contains("PRIVATE"));
    }
}
