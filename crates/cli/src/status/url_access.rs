//! The REST endpoint `status --url` reads: the URL with the credentials and TLS material its
//! flags name, read from files and the environment (never from the command line, which other
//! users of the machine can see).
//!
//! Credentials go over https only: a password or token sent over plain HTTP is readable on
//! the way, so the REST client refuses that before anything is sent.

use std::path::Path;

use anyhow::{bail, Context, Result};
use clusterlink_model::SecretValue;
#[cfg(test)]
use clusterlink_reconcile::rest_client::RestClient;
use clusterlink_reconcile::rest_client::{RestAuth, RestEndpoint, RestTlsMaterial};

use crate::cli::UrlAccess;

/// Where `$CLUSTERLINK_REST_PASSWORD` may hold the password of `--username`.
pub const PASSWORD_ENV: &str = "CLUSTERLINK_REST_PASSWORD";
/// Where `$CLUSTERLINK_REST_TOKEN` may hold a bearer token.
pub const TOKEN_ENV: &str = "CLUSTERLINK_REST_TOKEN";

/// A file's whole content, as a secret (its name in the error, never its content).
fn read_secret(path: &Path, what: &str) -> Result<SecretValue> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {what} {path:?}"))?;
    Ok(SecretValue::new(text))
}

/// The first line of a file (a password or a token), without its line end.
fn first_line(path: &Path, what: &str) -> Result<SecretValue> {
    let text = read_secret(path, what)?;
    let line = text.expose().lines().next().unwrap_or_default();
    if line.is_empty() {
        bail!("{what} {path:?} is empty");
    }
    Ok(SecretValue::new(line))
}

/// The credentials `access` asks for; `env` reads an environment variable.
fn auth(access: &UrlAccess, env: impl Fn(&str) -> Option<String>) -> Result<RestAuth> {
    if let Some(username) = &access.username {
        let password = match &access.password_file {
            Some(path) => first_line(path, "the password file")?,
            None => match env(PASSWORD_ENV) {
                Some(p) if !p.is_empty() => SecretValue::new(p),
                _ => bail!("--username needs a password: --password-file, or ${PASSWORD_ENV}"),
            },
        };
        return Ok(RestAuth::Basic {
            username: username.clone(),
            password,
        });
    }
    if let Some(path) = &access.bearer_token_file {
        return Ok(RestAuth::Bearer(first_line(path, "the token file")?));
    }
    Ok(match env(TOKEN_ENV) {
        Some(t) if !t.is_empty() => RestAuth::Bearer(SecretValue::new(t)),
        _ => RestAuth::None,
    })
}

/// The endpoint `status --url URL` reads, with what `access` names; `env` reads an environment
/// variable.
pub fn endpoint(
    url: &str,
    access: &UrlAccess,
    env: impl Fn(&str) -> Option<String>,
) -> Result<RestEndpoint> {
    let mut endpoint = RestEndpoint::plain(url);
    endpoint.auth = auth(access, env)?;
    // Credentials over plain HTTP are refused by the client itself (`RestClient::new`).
    let https = url.starts_with("https://");
    let tls_flags = access.ca_cert_path.is_some() || access.client_cert_path.is_some();
    if !https && tls_flags {
        bail!("--ca-cert-path and --client-cert-path need an https:// URL, not {url}");
    }
    endpoint.tls = RestTlsMaterial {
        ca_pem: match &access.ca_cert_path {
            Some(p) => Some(read_secret(p, "the CA certificates")?),
            None => None,
        },
        client_cert: match (&access.client_cert_path, &access.client_key_path) {
            (Some(cert), Some(key)) => Some((
                read_secret(cert, "the client certificate")?,
                read_secret(key, "the client key")?,
            )),
            _ => None,
        },
    };
    Ok(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn basic_credentials_come_from_a_file_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let mut access = UrlAccess {
            username: Some("ops".into()),
            password_file: Some(file(&dir, "pw", "s3cret\nignored\n")),
            ..Default::default()
        };
        let e = endpoint("https://links:8090", &access, no_env).unwrap();
        let RestAuth::Basic { username, password } = &e.auth else {
            panic!("{:?}", e.auth)
        };
        assert_eq!((username.as_str(), password.expose()), ("ops", "s3cret"));

        access.password_file = None;
        let env = |k: &str| (k == PASSWORD_ENV).then(|| "from-env".to_string());
        let e = endpoint("https://links:8090", &access, env).unwrap();
        let RestAuth::Basic { password, .. } = &e.auth else {
            panic!("{:?}", e.auth)
        };
        assert_eq!(password.expose(), "from-env");

        let err = endpoint("https://links:8090", &access, no_env).unwrap_err();
        assert!(err.to_string().contains(PASSWORD_ENV), "{err}");
    }

    #[test]
    fn a_bearer_token_comes_from_a_file_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let access = UrlAccess {
            bearer_token_file: Some(file(&dir, "token", "eyJ.token\n")),
            ..Default::default()
        };
        let e = endpoint("https://links:8090", &access, no_env).unwrap();
        assert!(matches!(&e.auth, RestAuth::Bearer(t) if t.expose() == "eyJ.token"));
        let env = |k: &str| (k == TOKEN_ENV).then(|| "env-token".to_string());
        let e = endpoint("https://links:8090", &UrlAccess::default(), env).unwrap();
        assert!(matches!(&e.auth, RestAuth::Bearer(t) if t.expose() == "env-token"));
        let e = endpoint("http://localhost:8090", &UrlAccess::default(), no_env).unwrap();
        assert!(matches!(e.auth, RestAuth::None));
    }

    #[test]
    fn credentials_and_tls_material_are_refused_over_plain_http_without_showing_them() {
        let dir = tempfile::tempdir().unwrap();
        let access = UrlAccess {
            username: Some("ops".into()),
            password_file: Some(file(&dir, "pw", "s3cret")),
            ..Default::default()
        };
        let client = |e: RestEndpoint| RestClient::new(&e).map(drop).unwrap_err();
        let err = client(endpoint("http://links:8090", &access, no_env).unwrap());
        let text = format!("{err:#}");
        assert!(text.contains("plain HTTP"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        let env = |k: &str| (k == TOKEN_ENV).then(|| "env-token".to_string());
        let err = client(endpoint("http://links:8090", &UrlAccess::default(), env).unwrap());
        assert!(format!("{err:#}").contains("plain HTTP"), "{err:#}");
        assert!(!format!("{err:#}").contains("env-token"));
        // Without credentials, plain HTTP is fine.
        assert!(RestClient::new(
            &endpoint("http://links:8090", &UrlAccess::default(), no_env).unwrap()
        )
        .is_ok());
        let access = UrlAccess {
            ca_cert_path: Some(file(&dir, "ca.pem", "-----BEGIN CERTIFICATE-----")),
            ..Default::default()
        };
        assert!(endpoint("http://links:8090", &access, no_env).is_err());
    }

    #[test]
    fn tls_material_is_read_from_the_named_files() {
        let dir = tempfile::tempdir().unwrap();
        let access = UrlAccess {
            ca_cert_path: Some(file(&dir, "ca.pem", "CA")),
            client_cert_path: Some(file(&dir, "c.pem", "CERT")),
            client_key_path: Some(file(&dir, "k.pem", "KEY")),
            ..Default::default()
        };
        let e = endpoint("https://links:8090", &access, no_env).unwrap();
        assert_eq!(e.tls.ca_pem.as_ref().map(SecretValue::expose), Some("CA"));
        let (c, k) = e.tls.client_cert.as_ref().unwrap();
        assert_eq!((c.expose(), k.expose()), ("CERT", "KEY"));
        let missing = UrlAccess {
            ca_cert_path: Some(dir.path().join("absent.pem")),
            ..Default::default()
        };
        let err = endpoint("https://links:8090", &missing, no_env).unwrap_err();
        assert!(format!("{err:#}").contains("absent.pem"), "{err:#}");
    }
}
