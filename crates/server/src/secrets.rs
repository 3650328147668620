//! Sensitive link configs encrypted at rest with the password encoder secret.
//!
//! Link configs live in the local cluster's state topic, which anyone with read access to the
//! cluster can read. Passwords, JAAS configs and keys are therefore stored encrypted
//! (ChaCha20-Poly1305, a fresh random nonce per value, the key derived from the server's password
//! encoder secret), like Confluent Server's `password.encoder.secret`. Without a secret the server
//! refuses sensitive configs rather than storing them in clear.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

const PREFIX: &str = "enc:v1:";

/// Why a value could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The value is not in our format.
    #[error("not an encrypted value")]
    Format,
    /// Authentication failed: another secret encrypted it, or it was altered.
    #[error("cannot be decrypted with this password encoder secret (another secret encrypted it, or it was altered)")]
    WrongSecret,
    /// The system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
}

/// Encrypts and decrypts values with a key derived from the password encoder secret.
#[derive(Clone)]
pub struct PasswordEncoder {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for PasswordEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordEncoder(<redacted>)")
    }
}

impl PasswordEncoder {
    /// An encoder for `secret`.
    pub fn new(secret: &str) -> Self {
        let key = Sha256::new()
            .chain_update(b"clusterlink password encoder v1\0")
            .chain_update(secret.as_bytes())
            .finalize();
        PasswordEncoder {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        }
    }

    /// Whether a stored value is encrypted.
    pub fn is_encrypted(value: &str) -> bool {
        value.starts_with(PREFIX)
    }

    /// `enc:v1:` + hex(nonce ‖ ciphertext).
    pub fn encrypt(&self, plain: &str) -> Result<String, SecretError> {
        let mut nonce = [0u8; 12];
        getrandom::getrandom(&mut nonce).map_err(|e| SecretError::Random(e.to_string()))?;
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .map_err(|_| SecretError::Random("encryption failed".into()))?;
        let mut out = String::with_capacity(PREFIX.len() + 2 * (nonce.len() + sealed.len()));
        out.push_str(PREFIX);
        for b in nonce.iter().chain(&sealed) {
            out.push_str(&format!("{b:02x}"));
        }
        Ok(out)
    }

    /// The plain value of an `encrypt` output.
    pub fn decrypt(&self, stored: &str) -> Result<String, SecretError> {
        let hex = stored.strip_prefix(PREFIX).ok_or(SecretError::Format)?;
        if hex.len() % 2 != 0 || hex.len() < 2 * (12 + 16) {
            return Err(SecretError::Format);
        }
        let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let bytes: Vec<u8> = hex
            .as_bytes()
            .chunks(2)
            .map(|pair| Some((digit(pair[0])? << 4) | digit(pair[1])?))
            .collect::<Option<_>>()
            .ok_or(SecretError::Format)?;
        let (nonce, sealed) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| SecretError::WrongSecret)?;
        String::from_utf8(plain).map_err(|_| SecretError::Format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_fresh_nonces() {
        let e = PasswordEncoder::new("s3cret");
        let jaas = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";"#;
        let a = e.encrypt(jaas).unwrap();
        let b = e.encrypt(jaas).unwrap();
        assert_ne!(a, b, "a fresh nonce per value");
        assert!(PasswordEncoder::is_encrypted(&a));
        assert!(!a.contains("password") && !a.contains("PlainLoginModule"));
        assert_eq!(e.decrypt(&a).unwrap(), jaas);
        assert_eq!(e.decrypt(&b).unwrap(), jaas);
    }

    #[test]
    fn another_secret_or_tampering_is_detected() {
        let a = PasswordEncoder::new("one").encrypt("value").unwrap();
        assert_eq!(
            PasswordEncoder::new("two").decrypt(&a),
            Err(SecretError::WrongSecret)
        );
        let mut tampered = a.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(
            PasswordEncoder::new("one").decrypt(&tampered),
            Err(SecretError::WrongSecret)
        );
        assert_eq!(
            PasswordEncoder::new("one").decrypt("plain"),
            Err(SecretError::Format)
        );
        let multibyte = format!("enc:v1:{}", "é".repeat(40));
        assert_eq!(
            PasswordEncoder::new("one").decrypt(&multibyte),
            Err(SecretError::Format)
        );
        assert!(!format!("{:?}", PasswordEncoder::new("one")).contains("one"));
    }
}
