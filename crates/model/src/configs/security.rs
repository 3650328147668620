//! The security configs toward one cluster (`security.protocol`, SASL and TLS, or their
//! `local.` twins), from a cluster's `authentication` and `tls` blocks and the secret files they
//! name.

use std::collections::BTreeMap;

use clusterlink_rest_v3::link_config as name;

use crate::cluster_link::{AuthenticationType, ClientAuthentication, ClientTls};
use crate::validated::LinkEnd;

use super::values::{
    ConfigError, ConfigValue, LinkConfigs, ResolvedSecrets, SecretSource, SecretValue,
};

struct Lookup<'a> {
    secrets: &'a ResolvedSecrets,
    path: String,
}

impl Lookup<'_> {
    fn file(&self, source: &SecretSource, keys: &[&str]) -> Result<&SecretValue, ConfigError> {
        let files = self.secrets.get(source);
        keys.iter()
            .find_map(|k| files.and_then(|f| f.get(*k)))
            .ok_or_else(|| ConfigError::MissingSecret {
                path: self.path.clone(),
                from: source.clone(),
                key: keys.join(" or "),
            })
    }

    fn optional(&self, source: &SecretSource, keys: &[&str]) -> Option<&SecretValue> {
        self.file(source, keys).ok()
    }
}

fn source_of(secret_ref: &Option<String>, dir: &Option<String>) -> Option<SecretSource> {
    secret_ref
        .clone()
        .map(SecretSource::Secret)
        .or_else(|| dir.clone().map(SecretSource::Directory))
}

/// `username=…` / `password=…` (or `clientId=…` / `clientSecret=…`) lines.
fn key_values(text: &str) -> BTreeMap<&str, &str> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Puts the security configs toward `end`'s cluster into `out`, each name behind `prefix`
/// (empty, or `local.`).
pub(super) fn put(
    out: &mut LinkConfigs,
    prefix: &str,
    end: &LinkEnd,
    secrets: &ResolvedSecrets,
) -> Result<(), ConfigError> {
    let (path, cluster) = (end.path(), &end.cluster);
    let tls_on = cluster.tls.as_ref().is_some_and(|t| t.enabled);
    let auth = cluster.authentication.as_ref();
    let sasl = auth.and_then(|a| sasl_mechanism(a.type_));
    let protocol = match (sasl.is_some(), tls_on) {
        (true, true) => "SASL_SSL",
        (true, false) => "SASL_PLAINTEXT",
        (false, true) => "SSL",
        (false, false) => "PLAINTEXT",
    };
    let mut put = |k: &str, v: ConfigValue| {
        out.insert(format!("{prefix}{k}"), v);
    };
    put(name::SECURITY_PROTOCOL, ConfigValue::Plain(protocol.into()));
    if let (Some(a), Some(mechanism)) = (auth, sasl) {
        put(name::SASL_MECHANISM, ConfigValue::Plain(mechanism.into()));
        let lookup = Lookup {
            secrets,
            path: format!("{path}.authentication"),
        };
        let (jaas, extra) = jaas_config(a, &lookup)?;
        put(name::SASL_JAAS_CONFIG, ConfigValue::Sensitive(jaas));
        for (k, v) in extra {
            put(&k, ConfigValue::Plain(v));
        }
    }
    if let Some(tls) = cluster.tls.as_ref().filter(|t| t.enabled) {
        let lookup = Lookup {
            secrets,
            path: format!("{path}.tls"),
        };
        for (k, v) in tls_configs(tls, &lookup)? {
            put(&k, v);
        }
    }
    Ok(())
}

fn sasl_mechanism(t: AuthenticationType) -> Option<&'static str> {
    match t {
        AuthenticationType::Plain => Some("PLAIN"),
        AuthenticationType::Digest => Some("SCRAM-SHA-512"),
        AuthenticationType::Oauthbearer | AuthenticationType::Oauth => Some("OAUTHBEARER"),
        AuthenticationType::Mtls | AuthenticationType::None => None,
    }
}

/// The JAAS config and any extra SASL configs of an authentication.
fn jaas_config(
    a: &ClientAuthentication,
    lookup: &Lookup<'_>,
) -> Result<(SecretValue, Vec<(String, String)>), ConfigError> {
    if let Some(p) = &a.jaas_config_pass_through {
        if let Some(source) = source_of(&p.secret_ref, &p.directory_path_in_container) {
            let text = lookup.file(&source, &["plain-jaas.conf"])?.expose();
            let jaas = text
                .trim()
                .strip_prefix("sasl.jaas.config=")
                .unwrap_or(text.trim());
            return Ok((SecretValue::new(jaas), oauth_extra(a)));
        }
    }
    let module = match a.type_ {
        AuthenticationType::Digest => "org.apache.kafka.common.security.scram.ScramLoginModule",
        AuthenticationType::Oauth | AuthenticationType::Oauthbearer => {
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
        }
        _ => "org.apache.kafka.common.security.plain.PlainLoginModule",
    };
    let (source, key, names) = match (a.type_, &a.jaas_config, &a.oauthbearer) {
        (AuthenticationType::Oauthbearer, _, Some(o)) => (
            source_of(&o.secret_ref, &o.directory_path_in_container),
            "oauthbearer.txt",
            ["username", "password"],
        ),
        (AuthenticationType::Oauth, Some(j), _) => (
            Some(SecretSource::Secret(j.secret_ref.clone())),
            "oauth.txt",
            ["clientId", "clientSecret"],
        ),
        (_, Some(j), _) => (
            Some(SecretSource::Secret(j.secret_ref.clone())),
            "plain.txt",
            ["username", "password"],
        ),
        _ => (None, "", ["", ""]),
    };
    let mut fields = Vec::new();
    match source {
        Some(source) => {
            let text = lookup.file(&source, &[key])?.expose();
            let kv = key_values(text);
            for name in names {
                let value = kv.get(name).ok_or_else(|| ConfigError::MalformedSecret {
                    path: lookup.path.clone(),
                    from: source.clone(),
                    key: key.into(),
                    why: if name == "username" || name == "clientId" {
                        "a line `username=…` (or `clientId=…`) is missing"
                    } else {
                        "a line `password=…` (or `clientSecret=…`) is missing"
                    },
                })?;
                fields.push(format!("{name}=\"{}\"", quote(value)));
            }
        }
        None => {
            // OAuth with a client assertion: only the client id goes into JAAS.
            if let Some(id) = a
                .oauth_settings
                .as_ref()
                .and_then(|o| o.client_assertion.as_ref())
                .and_then(|c| c.client_id.as_ref())
            {
                fields.push(format!("clientId=\"{}\"", quote(id)));
            }
        }
    }
    if let Some(scope) = a.oauth_settings.as_ref().and_then(|o| o.scope.as_ref()) {
        if a.type_ == AuthenticationType::Oauth {
            fields.push(format!("scope=\"{}\"", quote(scope)));
        }
    }
    let mut jaas = format!("{module} required");
    for f in fields {
        jaas.push(' ');
        jaas.push_str(&f);
    }
    jaas.push(';');
    Ok((SecretValue::new(jaas), oauth_extra(a)))
}

fn oauth_extra(a: &ClientAuthentication) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if a.type_ != AuthenticationType::Oauth {
        return out;
    }
    if let Some(o) = &a.oauth_settings {
        out.push((
            name::SASL_LOGIN_CALLBACK_HANDLER_CLASS.into(),
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler".into(),
        ));
        if let Some(u) = &o.token_endpoint_uri {
            out.push((name::SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL.into(), u.clone()));
        }
        if let Some(u) = &o.jwks_endpoint_uri {
            out.push((name::SASL_OAUTHBEARER_JWKS_ENDPOINT_URL.into(), u.clone()));
        }
        if let Some(v) = &o.expected_issuer {
            out.push((name::SASL_OAUTHBEARER_EXPECTED_ISSUER.into(), v.clone()));
        }
        if let Some(v) = &o.audience {
            out.push((name::SASL_OAUTHBEARER_EXPECTED_AUDIENCE.into(), v.clone()));
        }
        if let Some(v) = &o.sub_claim_name {
            out.push((name::SASL_OAUTHBEARER_SUB_CLAIM_NAME.into(), v.clone()));
        }
        for (k, v) in [
            (
                name::SASL_LOGIN_CONNECT_TIMEOUT_MS,
                o.login_connect_timeout_ms,
            ),
            (name::SASL_LOGIN_READ_TIMEOUT_MS, o.login_read_timeout_ms),
            (name::SASL_LOGIN_RETRY_BACKOFF_MS, o.login_retry_backoff_ms),
            (
                name::SASL_LOGIN_RETRY_BACKOFF_MAX_MS,
                o.login_retry_backoff_max_ms,
            ),
        ] {
            if let Some(v) = v {
                out.push((k.into(), v.to_string()));
            }
        }
    }
    out
}

fn tls_configs(
    tls: &ClientTls,
    lookup: &Lookup<'_>,
) -> Result<Vec<(String, ConfigValue)>, ConfigError> {
    let mut out = Vec::new();
    let Some(source) = source_of(&tls.secret_ref, &tls.directory_path_in_container) else {
        // TLS with the default trust store and no client certificate.
        return Ok(out);
    };
    let ca = lookup.file(&source, &["cacerts.pem", "ca.crt"])?;
    out.push((
        name::SSL_TRUSTSTORE_TYPE.into(),
        ConfigValue::Plain("PEM".into()),
    ));
    out.push((
        name::SSL_TRUSTSTORE_CERTIFICATES.into(),
        ConfigValue::Plain(ca.expose().into()),
    ));
    let chain = lookup.optional(&source, &["fullchain.pem", "tls.crt"]);
    let key = lookup.optional(&source, &["privkey.pem", "tls.key"]);
    if let (Some(chain), Some(key)) = (chain, key) {
        out.push((
            name::SSL_KEYSTORE_TYPE.into(),
            ConfigValue::Plain("PEM".into()),
        ));
        out.push((
            name::SSL_KEYSTORE_CERTIFICATE_CHAIN.into(),
            ConfigValue::Plain(chain.expose().into()),
        ));
        out.push((
            name::SSL_KEYSTORE_KEY.into(),
            ConfigValue::Sensitive(key.clone()),
        ));
        if let Some(kp) = &tls.key_password {
            let kp_source = SecretSource::Secret(kp.secret_ref.clone());
            let text = lookup.file(&kp_source, &["password", "keyPassword.txt", "password.txt"])?;
            let pw = key_values(text.expose())
                .get("password")
                .map(|s| s.to_string())
                .unwrap_or_else(|| text.expose().trim().to_string());
            out.push((
                name::SSL_KEY_PASSWORD.into(),
                ConfigValue::Sensitive(SecretValue::new(pw)),
            ));
        }
    }
    Ok(out)
}
