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
        let pem = super::read_file(path)?;
        self.with_public_key_pem(&pem)
            .map_err(|why| AuthConfigError::Invalid {
                path: path.to_owned(),
                why,
            })
    }

    /// Adds the keys of a JWKS file.
    pub fn with_jwks_file(self, path: &Path) -> Result<Self, AuthConfigError> {
        let text = super::read_file(path)?;
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

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    use super::*;

    fn now() -> i64 {
        jsonwebtoken::get_current_timestamp() as i64
    }

    fn sign(key: &rcgen::KeyPair, kid: Option<&str>, claims: serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = kid.map(str::to_owned);
        let key = EncodingKey::from_ec_pem(key.serialize_pem().as_bytes()).unwrap();
        encode(&header, &claims, &key).unwrap()
    }

    fn claims(exp: i64) -> serde_json::Value {
        json!({"sub": "svc", "iss": "idp", "aud": "clusterlink", "exp": exp})
    }

    #[test]
    fn tokens_are_checked_for_signature_time_issuer_and_audience() {
        let key = rcgen::KeyPair::generate().unwrap();
        let v = JwtVerifier::new(Some("idp".into()), Some("clusterlink".into()))
            .with_public_key_pem(key.public_key_pem().as_bytes())
            .unwrap();
        assert_eq!(
            v.verify(&sign(&key, None, claims(now() + 60))),
            Ok("svc".into())
        );
        assert_eq!(
            v.verify(&sign(&key, None, claims(now() - 3600))),
            Err("expired")
        );
        let mut early = claims(now() + 600);
        early["nbf"] = json!(now() + 300);
        assert_eq!(
            v.verify(&sign(&key, None, early)),
            Err("not valid yet (nbf)")
        );
        let mut other_iss = claims(now() + 60);
        other_iss["iss"] = json!("elsewhere");
        assert_eq!(v.verify(&sign(&key, None, other_iss)), Err("wrong issuer"));
        let mut other_aud = claims(now() + 60);
        other_aud["aud"] = json!("another-api");
        assert_eq!(
            v.verify(&sign(&key, None, other_aud)),
            Err("wrong audience")
        );
        let mut no_sub = claims(now() + 60);
        no_sub.as_object_mut().unwrap().remove("sub");
        assert_eq!(
            v.verify(&sign(&key, None, no_sub)),
            Err("the token has no sub")
        );
        let stranger = rcgen::KeyPair::generate().unwrap();
        assert_eq!(
            v.verify(&sign(&stranger, None, claims(now() + 60))),
            Err("bad signature")
        );
        // A symmetric token, whatever its secret, is not accepted.
        let hs = encode(
            &Header::new(Algorithm::HS256),
            &claims(now() + 60),
            &EncodingKey::from_secret(key.public_key_pem().as_bytes()),
        )
        .unwrap();
        assert_eq!(
            v.verify(&hs),
            Err("algorithm not accepted (RS256 or ES256)")
        );
        assert_eq!(v.verify("a.b.c"), Err("malformed token"));
        assert!(!format!("{v:?}").contains("BEGIN"));
    }

    #[test]
    fn a_jwks_key_is_chosen_by_kid() {
        let key = rcgen::KeyPair::generate().unwrap();
        let raw = key.public_key_raw();
        assert_eq!((raw.len(), raw[0]), (65, 4), "an uncompressed P-256 point");
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let jwks = json!({"keys": [
            {"kty": "EC", "crv": "P-256", "kid": "k1", "x": b64(&raw[1..33]), "y": b64(&raw[33..])},
            {"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
        ]});
        let v = JwtVerifier::new(None, None)
            .with_jwks(&jwks.to_string())
            .unwrap();
        assert_eq!(v.keys.len(), 1, "the symmetric key is skipped");
        let c = json!({"sub": "svc", "exp": now() + 60});
        assert_eq!(
            v.verify(&sign(&key, Some("k1"), c.clone())),
            Ok("svc".into())
        );
        assert_eq!(
            v.verify(&sign(&key, Some("k2"), c)),
            Err("no key matches the token")
        );
        assert!(JwtVerifier::new(None, None)
            .with_jwks("{\"keys\": []}")
            .is_err());
    }
}
