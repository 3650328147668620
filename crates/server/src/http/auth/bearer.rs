//! Bearer tokens: JWTs signed by an identity provider, verified against its public key (a PEM
//! file) or its key set (a JWKS file): signature, `exp` and `nbf`, and the issuer and audience
//! when configured. The principal is the token's `sub`.
//!
//! Only asymmetric algorithms (RS256, ES256) are accepted, each key for its own algorithm only,
//! so that a token cannot choose how it is checked (the `alg: none` and RSA-key-as-HMAC-secret
//! tricks). Errors say what was wrong with a token, never the token.

use std::path::Path;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::AuthConfigError;

/// The keys and the claims a token must carry.
#[derive(Clone)]
pub struct JwtVerifier {
    keys: Vec<Key>,
    issuer: Option<String>,
    audience: Option<String>,
}

#[derive(Clone)]
struct Key {
    id: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("keys", &self.keys.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
}

impl JwtVerifier {
    /// A verifier without keys; add them with [`Self::with_public_key_pem`] and
    /// [`Self::with_jwks`].
    pub fn new(issuer: Option<String>, audience: Option<String>) -> Self {
        JwtVerifier {
            keys: Vec::new(),
            issuer,
            audience,
        }
    }

    /// Adds a public key from a PEM file: RSA (RS256) or EC P-256 (ES256).
    pub fn with_public_key_file(self, path: &Path) -> Result<Self, AuthConfigError> {
        let pem = read(path)?;
        self.with_public_key_pem(&pem)
            .map_err(|why| AuthConfigError::Invalid {
                path: path.to_owned(),
                why,
            })
    }

    /// Adds the keys of a JWKS file.
    pub fn with_jwks_file(self, path: &Path) -> Result<Self, AuthConfigError> {
        let text = read(path)?;
        self.with_jwks(&String::from_utf8_lossy(&text))
            .map_err(|why| AuthConfigError::Invalid {
                path: path.to_owned(),
                why,
            })
    }

    /// Adds a PEM public key.
    pub fn with_public_key_pem(mut self, pem: &[u8]) -> Result<Self, String> {
        let (algorithm, key) = if let Ok(k) = DecodingKey::from_rsa_pem(pem) {
            (Algorithm::RS256, k)
        } else if let Ok(k) = DecodingKey::from_ec_pem(pem) {
            (Algorithm::ES256, k)
        } else {
            return Err("not a PEM RSA or EC public key".into());
        };
        self.keys.push(Key {
            id: None,
            algorithm,
            key,
        });
        Ok(self)
    }

    /// Adds the RSA and P-256 keys of a JWKS document (others are skipped).
    pub fn with_jwks(mut self, json: &str) -> Result<Self, String> {
        let set: JwkSet = serde_json::from_str(json).map_err(|e| format!("not a JWKS: {e}"))?;
        for jwk in &set.keys {
            let algorithm = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                _ => continue,
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("a key: {e}"))?;
            self.keys.push(Key {
                id: jwk.common.key_id.clone(),
                algorithm,
                key,
            });
        }
        if self.keys.is_empty() {
            return Err("no RSA or P-256 key".into());
        }
        Ok(self)
    }

    /// The `sub` of a valid token; else what is wrong with it.
    pub fn verify(&self, token: &str) -> Result<String, &'static str> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "malformed token")?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err("algorithm not accepted (RS256 or ES256)");
        }
        let mut last = "no key matches the token";
        for k in self.keys.iter().filter(|k| {
            k.algorithm == header.alg
                && match (&header.kid, &k.id) {
                    (Some(want), Some(have)) => want == have,
                    _ => true,
                }
        }) {
            let mut v = Validation::new(k.algorithm);
            v.leeway = 30;
            v.validate_nbf = true;
            match &self.audience {
                Some(a) => v.set_audience(&[a]),
                None => v.validate_aud = false,
            }
            if let Some(i) = &self.issuer {
                v.set_issuer(&[i]);
                v.set_required_spec_claims(&["exp", "iss"]);
            }
            match jsonwebtoken::decode::<Claims>(token, &k.key, &v) {
                Ok(t) => {
                    return t
                        .claims
                        .sub
                        .filter(|s| !s.is_empty())
                        .ok_or("the token has no sub");
                }
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind as E;
                    last = match e.kind() {
                        E::InvalidSignature => "bad signature",
                        E::ExpiredSignature => "expired",
                        E::ImmatureSignature => "not valid yet (nbf)",
                        E::InvalidIssuer => "wrong issuer",
                        E::InvalidAudience => "wrong audience",
                        E::MissingRequiredClaim(_) => "a required claim is missing",
                        _ => "malformed token",
                    };
                    // Only a wrong signature can be another key's token.
                    if !matches!(e.kind(), E::InvalidSignature) {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, AuthConfigError> {
    std::fs::read(path).map_err(|e| AuthConfigError::Read {
        path: path.to_owned(),
        why: e.to_string(),
    })
}
