//! Sensitive link configs encrypted at rest with the password encoder secret.
//!
//! Link configs live in the local cluster's state topic, which anyone with read access to the
//! cluster can read. Passwords, JAAS configs and keys are therefore stored encrypted, like
//! Confluent Server's `password.encoder.secret`. Without a secret the server refuses sensitive
//! configs rather than storing them in clear.
//!
//! The format, `enc:v2:` + hex(salt ‖ nonce ‖ ciphertext):
//! - the key is PBKDF2-HMAC-SHA256 of the secret with a random salt per value, so that the
//!   state topic alone is no cheap oracle for guessing the secret; a derived key is cached per
//!   salt (a slow KDF is paid once per salt, not on every read);
//! - ChaCha20-Poly1305 with a random nonce, the link's name and the config's name as associated
//!   data, so that a ciphertext copied to another link or config does not decrypt;
//! - secrets shorter than [`MIN_SECRET_LEN`] are refused, whatever the KDF.
//!
//! Values of the first format (`enc:v1:`, a SHA-256 key and no binding) still decrypt; the
//! caller rewrites them (see [`Decrypted::stale`]). So does a value that only the *old* secret
//! decrypts (rotation, like CFK's `oldPassword`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

use crate::common::lock;

const PREFIX: &str = "enc:v2:";
const LEGACY_PREFIX: &str = "enc:v1:";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// PBKDF2 rounds: a guess of the secret costs this many HMAC-SHA256 per stored value tried.
const ROUNDS: u32 = 100_000;
/// Derived keys kept per encoder: more salts than this (values) only cost derivations again.
const CACHE_MAX: usize = 4096;

/// The shortest password encoder secret accepted (characters).
pub const MIN_SECRET_LEN: usize = 16;

/// Why a secret was refused or a value could not be encrypted or decrypted. Never carries a
/// secret or a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The value is not in our format.
    #[error("not an encrypted value")]
    Format,
    /// Authentication failed: another secret encrypted it, it was altered, or it belongs to
    /// another link or config.
    #[error("cannot be decrypted with the password encoder secret (another secret encrypted it, it was altered, or it was copied from another link or config)")]
    WrongSecret,
    /// The system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
    /// The secret is too short to be a key.
    #[error("the password encoder secret has {len} characters; at least {min} are required (for example the output of `head -c 32 /dev/urandom | base64`)")]
    ShortSecret {
        /// Its length.
        len: usize,
        /// The minimum.
        min: usize,
    },
}

impl SecretError {
    /// A short, stable label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self {
            SecretError::Format => "secret_format",
            SecretError::WrongSecret => "secret_wrong",
            SecretError::Random(_) => "secret_random",
            SecretError::ShortSecret { .. } => "secret_short",
        }
    }
}

/// A decrypted value, and whether it should be stored again (an older format, or the old
/// secret). Its `Debug` does not show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// The plain value.
    pub value: String,
    /// Written in the legacy format or with the old secret: re-encrypt it.
    pub stale: bool,
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decrypted")
            .field("value", &"<redacted>")
            .field("stale", &self.stale)
            .finish()
    }
}

/// One secret: its bytes (for salted derivations), its legacy key, its derived keys by salt.
#[derive(Clone)]
struct Keys {
    secret: Arc<[u8]>,
    legacy: ChaCha20Poly1305,
    derived: Arc<Mutex<HashMap<[u8; SALT_LEN], ChaCha20Poly1305>>>,
}

impl Keys {
    fn new(secret: &str) -> Self {
        Keys {
            secret: secret.as_bytes().into(),
            legacy: legacy_cipher(secret),
            derived: Arc::default(),
        }
    }

    fn cipher(&self, salt: &[u8; SALT_LEN]) -> ChaCha20Poly1305 {
        let cached = self
            .derived
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(salt)
            .cloned();
        if let Some(cipher) = cached {
            return cipher;
        }
        let mut key = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(&self.secret, salt, ROUNDS, &mut key);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&key));
        let mut cache = lock(&self.derived);
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(*salt, cipher.clone());
        cipher
    }

    fn decrypt(&self, link: &str, config: &str, bytes: &[u8]) -> Option<Vec<u8>> {
        let (salt, rest) = bytes.split_at(SALT_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let salt: &[u8; SALT_LEN] = salt.try_into().ok()?;
        let aad = associated_data(link, config);
        self.cipher(salt)
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .ok()
    }
}

/// Encrypts and decrypts values with keys derived from the password encoder secret (and reads
/// values of the old secret while it is rotated away).
#[derive(Clone)]
pub struct PasswordEncoder {
    current: Keys,
    old: Option<Keys>,
}

impl std::fmt::Debug for PasswordEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordEncoder(<redacted>)")
    }
}

impl PasswordEncoder {
    /// An encoder for `secret`, refused when shorter than [`MIN_SECRET_LEN`] characters.
    pub fn new(secret: &str) -> Result<Self, SecretError> {
        let len = secret.chars().count();
        if len < MIN_SECRET_LEN {
            return Err(SecretError::ShortSecret {
                len,
                min: MIN_SECRET_LEN,
            });
        }
        Ok(PasswordEncoder {
            current: Keys::new(secret),
            old: None,
        })
    }

    /// Also reads values encrypted with `old` (which is never used to encrypt; it may be
    /// shorter than the minimum, being the secret that is rotated away), like CFK's
    /// `oldPassword`.
    pub fn with_old_secret(mut self, old: &str) -> Self {
        self.old = Some(Keys::new(old));
        self
    }

    /// Whether a stored value is encrypted (in any of our formats).
    pub fn is_encrypted(value: &str) -> bool {
        value.starts_with(PREFIX) || value.starts_with(LEGACY_PREFIX)
    }

    /// `enc:v2:` + hex(salt ‖ nonce ‖ ciphertext), bound to `link` and `config`.
    pub fn encrypt(&self, link: &str, config: &str, plain: &str) -> Result<String, SecretError> {
        let mut random = [0u8; SALT_LEN + NONCE_LEN];
        getrandom::getrandom(&mut random).map_err(|e| SecretError::Random(e.to_string()))?;
        let (salt, nonce) = random.split_at(SALT_LEN);
        let salt: [u8; SALT_LEN] = salt.try_into().map_err(|_| SecretError::Format)?;
        let aad = associated_data(link, config);
        let sealed = self
            .current
            .cipher(&salt)
            .encrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| SecretError::Random("encryption failed".into()))?;
        Ok(format!("{PREFIX}{}{}", hex(&random), hex(&sealed)))
    }

    /// The plain value of an `encrypt` output (or of a legacy value) stored as `config` of
    /// `link`: with the current secret, else the old one.
    pub fn decrypt(
        &self,
        link: &str,
        config: &str,
        stored: &str,
    ) -> Result<Decrypted, SecretError> {
        let mut keys =
            std::iter::once((&self.current, false)).chain(self.old.as_ref().map(|k| (k, true)));
        let plain = if let Some(hex) = stored.strip_prefix(PREFIX) {
            let bytes = unhex(hex, SALT_LEN + NONCE_LEN + TAG_LEN)?;
            keys.find_map(|(k, old)| k.decrypt(link, config, &bytes).map(|p| (p, old)))
        } else if let Some(hex) = stored.strip_prefix(LEGACY_PREFIX) {
            let bytes = unhex(hex, NONCE_LEN + TAG_LEN)?;
            let (nonce, sealed) = bytes.split_at(NONCE_LEN);
            keys.find_map(|(k, _)| {
                k.legacy
                    .decrypt(Nonce::from_slice(nonce), sealed)
                    .ok()
                    .map(|p| (p, true))
            })
        } else {
            return Err(SecretError::Format);
        };
        let (plain, stale) = plain.ok_or(SecretError::WrongSecret)?;
        let value = String::from_utf8(plain).map_err(|_| SecretError::Format)?;
        Ok(Decrypted { value, stale })
    }
}

/// The key of the first format (`enc:v1:`): one SHA-256 of the secret, no salt.
fn legacy_cipher(secret: &str) -> ChaCha20Poly1305 {
    let key = Sha256::new()
        .chain_update(b"clusterlink password encoder v1\0")
        .chain_update(secret.as_bytes())
        .finalize();
    ChaCha20Poly1305::new(Key::from_slice(&key))
}

/// What a value is bound to: its link and config (names cannot hold a NUL byte, so the
/// encoding is unambiguous).
fn associated_data(link: &str, config: &str) -> Vec<u8> {
    let mut aad = b"clusterlink password encoder v2\0".to_vec();
    aad.extend_from_slice(link.as_bytes());
    aad.push(0);
    aad.extend_from_slice(config.as_bytes());
    aad
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a hex string of at least `min` bytes.
fn unhex(hex: &str, min: usize) -> Result<Vec<u8>, SecretError> {
    if !hex.len().is_multiple_of(2) || hex.len() < 2 * min {
        return Err(SecretError::Format);
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    hex.as_bytes()
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? << 4) | digit(pair[1])?))
        .collect::<Option<_>>()
        .ok_or(SecretError::Format)
}

#[cfg(test)]
#[path = "secrets_tests.rs"]
mod tests;
