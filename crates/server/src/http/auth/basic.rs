//! HTTP basic authentication against an htpasswd file of bcrypt hashes (`htpasswd -B`), the
//! format web servers and Kubernetes ingress controllers already share.
//!
//! Only bcrypt is accepted: the other htpasswd formats (MD5-crypt, SHA-1, plain text) are fast
//! to brute-force, and a file holding one is refused at start-up, naming the line but never its
//! content.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine as _;

use super::AuthConfigError;

/// Users and their bcrypt hashes.
#[derive(Clone)]
pub struct Htpasswd {
    users: HashMap<String, String>,
}

impl std::fmt::Debug for Htpasswd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Htpasswd")
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

impl Htpasswd {
    /// Reads an htpasswd file.
    pub fn load(path: &Path) -> Result<Self, AuthConfigError> {
        super::load(path, Self::parse)
    }

    /// Parses `user:hash` lines; blank lines and `#` comments are skipped.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut users = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let n = n + 1;
            let (user, hash) = line
                .split_once(':')
                .ok_or_else(|| format!("line {n}: expected user:hash"))?;
            if user.is_empty() {
                return Err(format!("line {n}: the user name is empty"));
            }
            let bcrypt = ["$2a$", "$2b$", "$2x$", "$2y$"]
                .iter()
                .any(|p| hash.starts_with(p));
            if !bcrypt || hash.len() != 60 {
                return Err(format!(
                    "line {n} (user {user}): not a bcrypt hash (make one with htpasswd -B)"
                ));
            }
            if users.insert(user.to_owned(), hash.to_owned()).is_some() {
                return Err(format!("line {n}: user {user} appears twice"));
            }
        }
        if users.is_empty() {
            return Err("no users".into());
        }
        Ok(Htpasswd { users })
    }

    /// The user, when `password` is theirs. Slow on purpose (bcrypt): call off the async
    /// threads.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        match self.users.get(user) {
            Some(hash) => bcrypt::verify(password, hash).unwrap_or(false),
            None => {
                // As slow for an unknown user as for a wrong password, so that timing does not
                // tell which users exist.
                let _ = bcrypt::verify(password, DUMMY_HASH);
                false
            }
        }
    }
}

/// A bcrypt hash of nothing anyone sends, checked for unknown users.
const DUMMY_HASH: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

/// The user and password of a `Basic` authorization value (the part after the scheme).
pub fn decode(credentials: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htpasswd_lines_with_bcrypt_hashes_are_read_and_verified() {
        let hash = bcrypt::hash("pw-alice", 4).unwrap();
        let h = Htpasswd::parse(&format!("# users\n\nalice:{hash}\n  bob:{hash}  \n")).unwrap();
        assert!(h.verify("alice", "pw-alice"));
        assert!(h.verify("bob", "pw-alice"));
        assert!(!h.verify("alice", "wrong"));
        assert!(!h.verify("carol", "pw-alice"));
        assert!(!format!("{h:?}").contains("$2"));
        // The hash unknown users are checked against is one, so that it takes as long.
        assert_eq!(bcrypt::verify("pw-alice", DUMMY_HASH).ok(), Some(false));
    }

    #[test]
    fn htpasswd_refuses_other_hashes_without_showing_them() {
        let e = Htpasswd::parse("alice:$apr1$abc$0123456789abcdef012345").unwrap_err();
        assert!(e.contains("line 1") && e.contains("bcrypt"), "{e}");
        assert!(!e.contains("apr1"), "{e}");
        let e = Htpasswd::parse("alice:plaintext-secret").unwrap_err();
        assert!(!e.contains("plaintext-secret"), "{e}");
        assert!(Htpasswd::parse("no colon here").is_err());
        assert!(Htpasswd::parse("# only a comment\n").is_err());
        let hash = bcrypt::hash("x", 4).unwrap();
        assert!(Htpasswd::parse(&format!("a:{hash}\na:{hash}")).is_err());
    }

    #[test]
    fn basic_credentials_are_decoded() {
        let v = base64::engine::general_purpose::STANDARD.encode("alice:pa:ss");
        assert_eq!(decode(&v), Some(("alice".into(), "pa:ss".into())));
        assert_eq!(decode("%%%"), None);
    }
}
