//! Kafka's client settings (`security.protocol`, `sasl.mechanism`, `sasl.jaas.config`) into a
//! [`Sasl`], the way Kafka clients read them. Errors name the setting, never a value of
//! `sasl.jaas.config` (it holds the password).

use std::collections::BTreeMap;

use super::jaas::parse_jaas;
use super::settings::{Mechanism, Sasl, SUPPORTED_MECHANISMS};

/// Why the SASL settings cannot be used. Never contains a value of `sasl.jaas.config`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {why}")]
pub struct SaslConfigError {
    /// The setting at fault.
    pub setting: String,
    /// What is wrong.
    pub why: String,
}

fn config_err(setting: &str, why: impl Into<String>) -> SaslConfigError {
    SaslConfigError {
        setting: setting.into(),
        why: why.into(),
    }
}

/// Whether `security.protocol` (absent: PLAINTEXT) asks for SASL.
pub fn protocol_uses_sasl(configs: &BTreeMap<String, String>) -> bool {
    configs
        .get("security.protocol")
        .is_some_and(|p| p.trim().to_ascii_uppercase().starts_with("SASL_"))
}

/// The SASL settings of a client whose Kafka settings are `configs`: `None` unless
/// `security.protocol` is SASL_PLAINTEXT or SASL_SSL (as Kafka clients, which ignore `sasl.*`
/// otherwise). TLS for SASL_SSL is [`crate::tls::from_configs`]'s business.
pub fn from_configs(configs: &BTreeMap<String, String>) -> Result<Option<Sasl>, SaslConfigError> {
    if !protocol_uses_sasl(configs) {
        return Ok(None);
    }
    let mechanism = match configs.get("sasl.mechanism").map(|m| m.trim()) {
        None | Some("") => {
            return Err(config_err(
                "sasl.mechanism",
                format!("not set, and Kafka's default GSSAPI (Kerberos) is not supported: set it to one of {SUPPORTED_MECHANISMS}"),
            ))
        }
        Some(name) => Mechanism::from_name(name).ok_or_else(|| {
            config_err(
                "sasl.mechanism",
                format!("{name} is not supported by clusterlink (it speaks {SUPPORTED_MECHANISMS})"),
            )
        })?,
    };
    let jaas = configs
        .get("sasl.jaas.config")
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            config_err(
                "sasl.jaas.config",
                format!(
                    "required with sasl.mechanism {mechanism}: a PlainLoginModule or ScramLoginModule entry with username and password"
                ),
            )
        })?;
    let jaas = parse_jaas(jaas).map_err(|why| config_err("sasl.jaas.config", why))?;
    let module = jaas.module.rsplit('.').next().unwrap_or_default();
    if module != "PlainLoginModule" && module != "ScramLoginModule" {
        return Err(config_err(
            "sasl.jaas.config",
            "the login module is neither Kafka's PlainLoginModule nor its ScramLoginModule (OAuth, Kerberos and other login modules are not supported)",
        ));
    }
    let option = |name: &str| {
        jaas.options.get(name).cloned().ok_or_else(|| {
            config_err(
                "sasl.jaas.config",
                format!("the login module has no {name}=\"...\" option"),
            )
        })
    };
    Ok(Some(Sasl::new(
        mechanism,
        option("username")?,
        option("password")?,
    )))
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
    fn configs_to_sasl() {
        assert_eq!(from_configs(&c(&[])).unwrap(), None);
        assert_eq!(
            from_configs(&c(&[
                ("security.protocol", "SSL"),
                ("sasl.mechanism", "GSSAPI")
            ]))
            .unwrap(),
            None,
            "sasl.* is ignored without a SASL protocol, as Kafka clients do"
        );
        let plain = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";";
        let got = from_configs(&c(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", plain),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(got, Sasl::new(Mechanism::Plain, "u", "p"));
        // Escaped quotes and backslashes (as CFK's secrets are quoted), bare words, comments,
        // other options, a shaded class name.
        let scram = r#" kafkashaded.org.apache.kafka.common.security.scram.ScramLoginModule
            REQUIRED /* c */ tokenauth=false username=svc-1 // note
            password="a \"quoted\" \\ pass;word" ; "#;
        let got = from_configs(&c(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanism", "scram-sha-512"),
            ("sasl.jaas.config", scram),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            got,
            Sasl::new(Mechanism::ScramSha512, "svc-1", r#"a "quoted" \ pass;word"#)
        );
    }

    #[test]
    fn config_errors_are_clear_and_never_echo_the_jaas_config() {
        let sasl = |mech: Option<&str>, jaas: Option<&str>| {
            let mut m = c(&[("security.protocol", "SASL_PLAINTEXT")]);
            if let Some(v) = mech {
                m.insert("sasl.mechanism".into(), v.into());
            }
            if let Some(v) = jaas {
                m.insert("sasl.jaas.config".into(), v.into());
            }
            from_configs(&m).unwrap_err()
        };
        let good = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"topsecret\";";
        let e = sasl(None, Some(good));
        assert_eq!(e.setting, "sasl.mechanism");
        assert!(e.why.contains("GSSAPI"), "{e}");
        for m in ["GSSAPI", "OAUTHBEARER"] {
            let e = sasl(Some(m), Some(good));
            assert!(
                e.why.contains(m) && e.why.contains(SUPPORTED_MECHANISMS),
                "{e}"
            );
        }
        assert_eq!(sasl(Some("PLAIN"), None).setting, "sasl.jaas.config");
        for (jaas, why) in [
            ("org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"topsecret\"", "';'"),
            ("org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"topsecret;", "not closed"),
            ("org.apache.kafka.common.security.plain.PlainLoginModule username=\"u\" password=\"topsecret\";", "required"),
            ("org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\";", "password"),
            ("org.apache.kafka.common.security.plain.PlainLoginModule required password=\"topsecret\";", "username"),
            ("org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required username=\"u\" password=\"topsecret\";", "OAuth"),
            ("topsecret", "required"),
            ("x.PlainLoginModule required username=\"u\" password=\"topsecret\"; x.PlainLoginModule required;", "exactly one"),
        ] {
            let e = sasl(Some("PLAIN"), Some(jaas));
            assert_eq!(e.setting, "sasl.jaas.config");
            assert!(e.why.contains(why), "{jaas}: {e}");
            assert!(!e.to_string().contains("topsecret"), "{e}");
        }
    }
}
