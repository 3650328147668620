//! The client side of SCRAM (RFC 5802, SHA-256 per RFC 7677, SHA-512 as Kafka defines it), as a
//! pure state machine: client-first, client-final with the proof, then the server's signature,
//! which must verify. No I/O here, so it is tested byte for byte against the RFC's example.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// The hash function of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ScramHash {
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
pub(crate) struct Scram {
    hash: ScramHash,
    username: String,
    password: String,
    nonce: String,
    /// What the server must send in its final message (`v=`), once the proof is sent.
    pub(super) server_signature: Option<Vec<u8>>,
}

impl Scram {
    pub(super) fn new(hash: ScramHash, username: &str, password: &str, nonce: String) -> Self {
        Scram {
            hash,
            username: username.to_owned(),
            password: password.to_owned(),
            nonce,
            server_signature: None,
        }
    }

    /// A fresh client nonce: 24 random bytes in base64 (no `,`).
    pub(super) fn random_nonce() -> String {
        let mut bytes = [0u8; 24];
        getrandom::getrandom(&mut bytes).expect("the OS random number generator");
        B64.encode(bytes)
    }

    fn client_first_bare(&self) -> String {
        // RFC 5802 §5.1: `=` and `,` in the name are escaped as `=3D` and `=2C`.
        let name = self.username.replace('=', "=3D").replace(',', "=2C");
        format!("n={name},r={}", self.nonce)
    }

    pub(super) fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare()).into_bytes()
    }

    /// Answers the server-first message with the client-final one (which carries the proof).
    pub(super) fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
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
    pub(super) fn verify_server_final(&self, server_final: &[u8]) -> Result<(), String> {
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
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
