//! The values the config translation works with: secret files as the caller read them, link
//! config values that know whether they are credentials, and why a translation can fail.

use std::collections::BTreeMap;
use std::fmt;

/// A secret value. `Debug` never shows it; [`SecretValue::expose`] does, on purpose.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        SecretValue(value.into())
    }

    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for SecretValue {
    fn from(s: &str) -> Self {
        SecretValue::new(s)
    }
}

/// Where credential files come from: a Kubernetes secret (in the resource's namespace) or a
/// directory in the container.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SecretSource {
    /// A Kubernetes secret, by name.
    Secret(String),
    /// A directory path.
    Directory(String),
}

/// Secret files the caller has read: source → file name (secret key) → content.
pub type ResolvedSecrets = BTreeMap<SecretSource, BTreeMap<String, SecretValue>>;

/// A link config value: plain, or sensitive (a credential).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigValue {
    /// A plain value.
    Plain(String),
    /// A credential.
    Sensitive(SecretValue),
}

impl ConfigValue {
    /// The value itself.
    pub fn expose(&self) -> &str {
        match self {
            ConfigValue::Plain(s) => s,
            ConfigValue::Sensitive(s) => s.expose(),
        }
    }

    /// Whether the value is a credential.
    pub fn is_sensitive(&self) -> bool {
        matches!(self, ConfigValue::Sensitive(_))
    }
}

impl fmt::Debug for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Plain(s) => write!(f, "{s:?}"),
            ConfigValue::Sensitive(s) => write!(f, "{s:?}"),
        }
    }
}

/// Link configs by name.
pub type LinkConfigs = BTreeMap<String, ConfigValue>;

/// Why the configs could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A secret (or directory) or one of its files was not passed in.
    #[error("{path}: {from:?} has no {key:?}")]
    MissingSecret {
        /// The field that references it.
        path: String,
        /// The secret or directory.
        from: SecretSource,
        /// The file (secret key) wanted; alternatives are separated by ` or `.
        key: String,
    },
    /// A secret file that is not in the expected form.
    #[error("{path}: {key:?} of {from:?} is malformed: {why}")]
    MalformedSecret {
        /// The field that references it.
        path: String,
        /// The secret or directory.
        from: SecretSource,
        /// The file.
        key: String,
        /// What is wrong (never the content).
        why: &'static str,
    },
}

impl ConfigError {
    /// A short, stable label for metrics, events and status reasons.
    pub fn category(&self) -> &'static str {
        match self {
            ConfigError::MissingSecret { .. } => "missing-secret",
            ConfigError::MalformedSecret { .. } => "malformed-secret",
        }
    }
}
