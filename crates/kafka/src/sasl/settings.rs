//! What a SASL connection is given: the mechanism and the credentials. The password can be read
//! only inside `sasl` (the exchange spends it), and `Debug` redacts it.

use std::fmt;

/// The mechanisms this client speaks, as a sentence for error messages.
pub const SUPPORTED_MECHANISMS: &str = "PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512";

/// A SASL mechanism this client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mechanism {
    /// `PLAIN` (RFC 4616): the password travels as is, so use it over TLS (SASL_SSL).
    Plain,
    /// `SCRAM-SHA-256` (RFC 5802, RFC 7677).
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
}

impl Mechanism {
    /// Kafka's name of the mechanism (`sasl.mechanism`).
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }

    /// The mechanism Kafka calls `name` (case-insensitive), if this client speaks it.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Mechanism::Plain,
            Mechanism::ScramSha256,
            Mechanism::ScramSha512,
        ]
        .into_iter()
        .find(|m| m.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// SASL settings of a connection: mechanism and credentials. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Sasl {
    mechanism: Mechanism,
    username: String,
    password: String,
}

impl Sasl {
    /// Credentials for `mechanism`.
    pub fn new(
        mechanism: Mechanism,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Sasl {
            mechanism,
            username: username.into(),
            password: password.into(),
        }
    }

    /// The mechanism.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The user name (not a secret: brokers log it too).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password, for the exchange's tokens only.
    pub(super) fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Sasl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sasl")
            .field("mechanism", &self.mechanism.name())
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}
