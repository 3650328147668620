//! SASL authentication to a broker (`security.protocol` SASL_PLAINTEXT or SASL_SSL): PLAIN and
//! SCRAM-SHA-256 / SCRAM-SHA-512, from Kafka's client settings.
//!
//! It is a module of its own because it is the one place where passwords live: reading them
//! from `sasl.jaas.config`, holding them ([`Sasl`], whose `Debug` redacts the password), and
//! spending them in the exchange, so that "no secret in a log, an error or a status" is checked
//! here and nowhere else. Errors name the setting, the broker and the mechanism, never a value
//! read from `sasl.jaas.config`.
//!
//! Layers:
//! - [`from_configs`]: `security.protocol`, `sasl.mechanism` and `sasl.jaas.config` (Kafka's JAAS
//!   syntax: one `PlainLoginModule` or `ScramLoginModule` entry with `username` and `password`
//!   options, quoted or not, `;`-terminated) into a [`Sasl`];
//! - the mechanisms as pure state machines (no I/O, so SCRAM is tested against RFC 7677's
//!   vector): PLAIN's single token (RFC 4616), and SCRAM (RFC 5802 with RFC 7677's SHA-256;
//!   SHA-512 as Kafka defines it), which checks the server's signature: a broker that cannot
//!   prove it knows the password is refused, not trusted;
//! - [`authenticate`]: what a connection runs after ApiVersions and before it is handed out:
//!   SaslHandshake v1, then SaslAuthenticate round trips carrying the mechanism's tokens.
//!   Kafka's older raw framing (SaslHandshake v0, brokers before 1.0) is refused with a clear
//!   error.
//!
//! An authentication failure is [`Error::Auth`]: never retried, because the same credentials
//! would fail again.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use kafka_protocol::messages::{ApiKey, SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;
use sha2::{Digest, Sha256, Sha512};

use crate::connection::Connection;
use crate::error::{Error, KafkaCode, Result};

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
    let jaas = parse_jaas(jaas)?;
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

/// One JAAS login module entry. No `Debug`: its options hold the password.
struct Jaas {
    module: String,
    options: BTreeMap<String, String>,
}

#[derive(PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Punct(char),
}

/// Kafka's JAAS syntax (its `JaasConfig`, a `StreamTokenizer`): `module flag (key=value)* ;`,
/// values quoted (`"..."`, with backslash escapes) or bare words, `//` and `/* */` comments.
/// A `sasl.jaas.config` holds exactly one entry.
fn parse_jaas(text: &str) -> Result<Jaas, SaslConfigError> {
    let bad = |why: &str| {
        config_err(
            "sasl.jaas.config",
            format!("not a JAAS login module entry: {why}"),
        )
    };
    let tokens = tokenize(text).map_err(bad)?;
    let mut it = tokens.into_iter().peekable();
    let module = match it.next() {
        Some(Token::Word(w)) => w,
        _ => return Err(bad("it must start with the login module's class name")),
    };
    match it.next() {
        Some(Token::Word(flag))
            if ["required", "requisite", "sufficient", "optional"]
                .iter()
                .any(|f| f.eq_ignore_ascii_case(&flag)) => {}
        _ => {
            return Err(bad(
                "the class name must be followed by required, requisite, sufficient or optional",
            ))
        }
    }
    let mut options = BTreeMap::new();
    loop {
        match it.next() {
            Some(Token::Punct(';')) => break,
            Some(Token::Word(key)) => {
                if it.next() != Some(Token::Punct('=')) {
                    return Err(bad("an option must be written key=value"));
                }
                match it.next() {
                    Some(Token::Word(v)) | Some(Token::Quoted(v)) => {
                        options.insert(key, v);
                    }
                    _ => return Err(bad("an option must be written key=value")),
                }
            }
            None => return Err(bad("the entry must end with ';'")),
            Some(_) => return Err(bad("unexpected character among the options")),
        }
    }
    if it.next().is_some() {
        return Err(bad("it must hold exactly one login module entry"));
    }
    Ok(Jaas { module, options })
}

fn tokenize(text: &str) -> Result<Vec<Token>, &'static str> {
    let is_word = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '$' | '.');
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' || c == '\r' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                loop {
                    match chars.next() {
                        None => return Err("a /* comment is not closed"),
                        Some('/') if prev == '*' => break,
                        Some(c) => prev = c,
                    }
                }
            }
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("a quoted value is not closed"),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            None => return Err("a quoted value is not closed"),
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('r') => s.push('\r'),
                            Some(e) => s.push(e),
                        },
                        Some(c) => s.push(c),
                    }
                }
                out.push(Token::Quoted(s));
            }
            c if is_word(c) => {
                let mut w = String::from(c);
                while let Some(&n) = chars.peek() {
                    if !is_word(n) {
                        break;
                    }
                    w.push(n);
                    chars.next();
                }
                out.push(Token::Word(w));
            }
            c => out.push(Token::Punct(c)),
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------ mechanisms

/// PLAIN's only token (RFC 4616): no authorization id, the user name and the password.
fn plain_token(username: &str, password: &str) -> Vec<u8> {
    let mut t = Vec::with_capacity(username.len() + password.len() + 2);
    t.push(0);
    t.extend_from_slice(username.as_bytes());
    t.push(0);
    t.extend_from_slice(password.as_bytes());
    t
}

/// The hash function of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScramHash {
    Sha256,
    Sha512,
}

impl ScramHash {
    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha512 => {
                let mut m = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// `Hi()` of RFC 5802: PBKDF2 with HMAC, one block.
    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, salt, iterations).to_vec()
            }
            ScramHash::Sha512 => {
                pbkdf2::pbkdf2_hmac_array::<Sha512, 64>(password, salt, iterations).to_vec()
            }
        }
    }
}

/// Fewer iterations than Kafka's minimum is a downgrade; a client does not accept it.
const MIN_ITERATIONS: u32 = 4096;
/// Bounds the work a hostile broker can ask for (Kafka's brokers store at most 16384).
const MAX_ITERATIONS: u32 = 1 << 20;

/// The client side of one SCRAM exchange (RFC 5802 §3, without channel binding: `n,,`).
struct Scram {
    hash: ScramHash,
    username: String,
    password: String,
    nonce: String,
    /// What the server must send in its final message (`v=`), once the proof is sent.
    server_signature: Option<Vec<u8>>,
}

impl Scram {
    fn new(hash: ScramHash, username: &str, password: &str, nonce: String) -> Self {
        Scram {
            hash,
            username: username.to_owned(),
            password: password.to_owned(),
            nonce,
            server_signature: None,
        }
    }

    /// A fresh client nonce: 24 random bytes in base64 (no `,`).
    fn random_nonce() -> String {
        let mut bytes = [0u8; 24];
        getrandom::getrandom(&mut bytes).expect("the OS random number generator");
        B64.encode(bytes)
    }

    fn client_first_bare(&self) -> String {
        // RFC 5802 §5.1: `=` and `,` in the name are escaped as `=3D` and `=2C`.
        let name = self.username.replace('=', "=3D").replace(',', "=2C");
        format!("n={name},r={}", self.nonce)
    }

    fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare()).into_bytes()
    }

    /// Answers the server-first message with the client-final one (which carries the proof).
    fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| "the server-first message is not UTF-8".to_owned())?;
        let attrs = attributes(server_first);
        if let Some(e) = attrs.get("e") {
            return Err(format!("the broker refused: {}", printable(e)));
        }
        let nonce = attrs
            .get("r")
            .ok_or("the server-first message has no nonce (r=)")?;
        if !nonce.starts_with(&self.nonce) || nonce.len() <= self.nonce.len() {
            return Err("the server's nonce does not extend the client's".into());
        }
        let salt = attrs
            .get("s")
            .and_then(|s| B64.decode(s).ok())
            .ok_or("the server-first message has no base64 salt (s=)")?;
        let iterations: u32 = attrs
            .get("i")
            .and_then(|i| i.parse().ok())
            .ok_or("the server-first message has no iteration count (i=)")?;
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(format!(
                "the server asks for {iterations} iterations, outside {MIN_ITERATIONS}..={MAX_ITERATIONS}"
            ));
        }
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!(
            "{},{server_first},{without_proof}",
            self.client_first_bare()
        );
        let h = self.hash;
        let salted = h.salted_password(self.password.as_bytes(), &salt, iterations);
        let client_key = h.hmac(&salted, b"Client Key");
        let stored_key = h.hash(&client_key);
        let client_signature = h.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = h.hmac(&salted, b"Server Key");
        self.server_signature = Some(h.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks the server-final message: the server proves it knows the password, or the
    /// exchange fails.
    fn verify_server_final(&self, server_final: &[u8]) -> Result<(), String> {
        let server_final = std::str::from_utf8(server_final)
            .map_err(|_| "the server-final message is not UTF-8".to_owned())?;
        let attrs = attributes(server_final);
        if let Some(e) = attrs.get("e") {
            return Err(format!("the broker refused: {}", printable(e)));
        }
        let expected = self
            .server_signature
            .as_ref()
            .ok_or("the server-final message came before the client's proof")?;
        let got = attrs
            .get("v")
            .and_then(|v| B64.decode(v).ok())
            .ok_or("the server-final message has no base64 server signature (v=)")?;
        let same = got.len() == expected.len()
            && got
                .iter()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return Err(
                "the server's signature is wrong: the broker does not know the password (or something in between altered the exchange)".into(),
            );
        }
        Ok(())
    }
}

/// `k=v` attributes of a SCRAM message (values may contain `=`).
fn attributes(msg: &str) -> BTreeMap<&str, &str> {
    msg.split(',').filter_map(|a| a.split_once('=')).collect()
}

/// A broker-sent string, cut to printable ASCII and a reasonable length for an error.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(200)
        .collect()
}

/// One SASL exchange, mechanism by mechanism: tokens out, server answers in.
enum Exchange {
    Plain { sent: bool },
    Scram(Box<Scram>),
}

impl Exchange {
    fn new(sasl: &Sasl) -> Self {
        let scram = |hash| {
            Exchange::Scram(Box::new(Scram::new(
                hash,
                &sasl.username,
                &sasl.password,
                Scram::random_nonce(),
            )))
        };
        match sasl.mechanism {
            Mechanism::Plain => Exchange::Plain { sent: false },
            Mechanism::ScramSha256 => scram(ScramHash::Sha256),
            Mechanism::ScramSha512 => scram(ScramHash::Sha512),
        }
    }

    fn first(&mut self, sasl: &Sasl) -> Vec<u8> {
        match self {
            Exchange::Plain { sent } => {
                *sent = true;
                plain_token(&sasl.username, &sasl.password)
            }
            Exchange::Scram(s) => s.client_first(),
        }
    }

    /// The next token to send after the server's `answer`, or `None` when authenticated.
    fn next(&mut self, answer: &[u8]) -> Result<Option<Vec<u8>>, String> {
        match self {
            Exchange::Plain { .. } => Ok(None),
            Exchange::Scram(s) if s.server_signature.is_none() => s.client_final(answer).map(Some),
            Exchange::Scram(s) => s.verify_server_final(answer).map(|()| None),
        }
    }
}

// ------------------------------------------------------------------ the Kafka exchange

/// Authenticates `conn` (whose ApiVersions exchange is done): SaslHandshake v1, then the
/// mechanism's tokens in SaslAuthenticate requests.
pub(crate) async fn authenticate(conn: &Connection, sasl: &Sasl) -> Result<()> {
    let fail = |message: String| Error::Auth {
        broker: conn.broker().to_owned(),
        mechanism: sasl.mechanism.name().to_owned(),
        message,
    };
    let version = conn.version_for(ApiKey::SaslHandshake).map_err(|_| {
        fail("the broker offers no SaslHandshake: is this listener a SASL one? (security.protocol may be wrong)".into())
    })?;
    if version < 1 {
        return Err(fail(
            "the broker only speaks SaslHandshake v0 (Kafka before 1.0), whose raw token framing is not supported".into(),
        ));
    }
    conn.version_for(ApiKey::SaslAuthenticate)
        .map_err(|_| fail("the broker offers no SaslAuthenticate".into()))?;
    let req = SaslHandshakeRequest::default()
        .with_mechanism(StrBytes::from_static_str(sasl.mechanism.name()));
    let (resp, _) = conn.send(&req).await?;
    if resp.error_code != 0 {
        let enabled: Vec<&str> = resp.mechanisms.iter().map(|m| m.as_str()).collect();
        let code = KafkaCode {
            code: resp.error_code,
            message: None,
        };
        return Err(fail(if resp.error_code == 33 {
            format!(
                "the broker does not enable this mechanism (it enables: {})",
                printable(&enabled.join(", "))
            )
        } else {
            format!("SaslHandshake: {} ({})", code.name(), code.code)
        }));
    }
    let mut exchange = Exchange::new(sasl);
    let mut token = exchange.first(sasl);
    loop {
        let req = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token));
        let (resp, _) = conn.send(&req).await?;
        if resp.error_code != 0 {
            let code = KafkaCode {
                code: resp.error_code,
                message: None,
            };
            let said = resp
                .error_message
                .as_ref()
                .map(|m| format!(": {}", printable(m)))
                .unwrap_or_default();
            return Err(fail(format!("{} ({}){said}", code.name(), code.code)));
        }
        let answer = resp.auth_bytes;
        // SCRAM's key derivation (PBKDF2) is CPU work: off the async workers.
        let (back, next) = tokio::task::spawn_blocking(move || {
            let next = exchange.next(&answer);
            (exchange, next)
        })
        .await
        .map_err(|e| fail(format!("the exchange's task failed: {e}")))?;
        exchange = back;
        match next.map_err(fail)? {
            Some(t) => token = t,
            None => return Ok(()),
        }
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

    /// RFC 7677 §3's example exchange, byte for byte.
    #[test]
    fn scram_sha256_matches_rfc7677() {
        let mut s = Scram::new(
            ScramHash::Sha256,
            "user",
            "pencil",
            "rOprNGfwEbeRWgbNEkqO".into(),
        );
        assert_eq!(s.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first =
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let client_final = s.client_final(server_first).unwrap();
        assert_eq!(
            String::from_utf8(client_final).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        s.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        // A server that does not know the password cannot produce the signature.
        let e = s
            .verify_server_final(b"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap_err();
        assert!(e.contains("signature"), "{e}");
        let e = s.verify_server_final(b"e=invalid-proof").unwrap_err();
        assert_eq!(e, "the broker refused: invalid-proof");
    }

    #[test]
    fn scram_refuses_bad_server_first_messages() {
        let fresh = || Scram::new(ScramHash::Sha512, "u", "p", "abc".into());
        let salt = B64.encode(b"salt");
        for (msg, why) in [
            (format!("r=xyz123,s={salt},i=4096"), "nonce"),
            (format!("r=abc,s={salt},i=4096"), "nonce"),
            ("r=abcdef,i=4096".to_string(), "salt"),
            (format!("r=abcdef,s={salt},i=1000"), "iterations"),
            (format!("r=abcdef,s={salt},i=99999999"), "iterations"),
            (format!("r=abcdef,s={salt}"), "iteration"),
            ("e=unknown-user".to_string(), "unknown-user"),
        ] {
            let e = fresh().client_final(msg.as_bytes()).unwrap_err();
            assert!(e.contains(why), "{msg}: {e}");
        }
        // Before the proof, no server-final is accepted.
        assert!(fresh().verify_server_final(b"v=AAAA").is_err());
    }

    /// SHA-512: our client against an independent computation of what a server stores and
    /// answers (RFC 5802 §3, the server side written out here).
    #[test]
    fn scram_sha512_round_trip_with_a_server_computation() {
        let h = ScramHash::Sha512;
        let mut s = Scram::new(h, "al=ice,", "pw", "cnonce".into());
        let first = String::from_utf8(s.client_first()).unwrap();
        assert_eq!(first, "n,,n=al=3Dice=2C,r=cnonce");
        let salt = b"0123456789abcdef";
        let server_first = format!("r=cnonceSRV,s={},i=4096", B64.encode(salt));
        let client_final =
            String::from_utf8(s.client_final(server_first.as_bytes()).unwrap()).unwrap();
        let (without_proof, proof) = client_final.rsplit_once(",p=").unwrap();
        let auth = format!("{},{server_first},{without_proof}", &first[3..]);
        let salted = h.salted_password(b"pw", salt, 4096);
        let stored_key = h.hash(&h.hmac(&salted, b"Client Key"));
        let signature = h.hmac(&stored_key, auth.as_bytes());
        let client_key: Vec<u8> = B64
            .decode(proof)
            .unwrap()
            .iter()
            .zip(&signature)
            .map(|(p, s)| p ^ s)
            .collect();
        assert_eq!(h.hash(&client_key), stored_key, "the proof verifies");
        let server_sig = h.hmac(&h.hmac(&salted, b"Server Key"), auth.as_bytes());
        s.verify_server_final(format!("v={}", B64.encode(server_sig)).as_bytes())
            .unwrap();
    }

    #[test]
    fn plain_token_is_authzid_user_password() {
        assert_eq!(plain_token("u", "p"), b"\0u\0p");
        let sasl = Sasl::new(Mechanism::Plain, "alice", "s3cret");
        let mut x = Exchange::new(&sasl);
        assert_eq!(x.first(&sasl), b"\0alice\0s3cret");
        assert_eq!(x.next(b"").unwrap(), None);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let sasl = Sasl::new(Mechanism::ScramSha256, "alice", "hunter2-secret");
        let shown = format!("{sasl:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("alice") && shown.contains("SCRAM-SHA-256"),
            "{shown}"
        );
        let config = crate::connection::ConnectionConfig {
            sasl: Some(sasl),
            ..Default::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
        let e = Error::Auth {
            broker: "b:9092".into(),
            mechanism: "SCRAM-SHA-256".into(),
            message: "SASL_AUTHENTICATION_FAILED (58)".into(),
        };
        assert!(!e.is_retriable());
        assert_eq!(e.category(), "auth");
        assert!(e.to_string().contains("SCRAM-SHA-256") && e.to_string().contains("b:9092"));
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
