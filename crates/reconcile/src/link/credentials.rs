//! The credentials a link was last sent, remembered as a digest so that a pass over an
//! unchanged link makes no write call: the REST API never shows sensitive configs back, so
//! the plan cannot compare them, and re-sending them every pass would alter the link every pass.
//!
//! Kept in memory only (never in the status, where the digest of a password would be one more
//! thing to protect): after a restart, credentials are sent once more.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use clusterlink_model::LinkConfigs;
use sha2::{Digest as _, Sha256};

/// The digest of a link's sensitive configs (`None`: it has none).
pub type Digest = Option<String>;

/// Per link (its resource key), the digest of the credentials last sent.
#[derive(Debug, Default)]
pub struct SentCredentials(Mutex<HashMap<String, String>>);

impl SentCredentials {
    fn map(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The digest of `configs`' sensitive values.
    pub fn digest(configs: &LinkConfigs) -> Digest {
        let mut h = Sha256::new();
        let mut any = false;
        for (k, v) in configs.iter().filter(|(_, v)| v.is_sensitive()) {
            any = true;
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.expose().as_bytes());
            h.update([0]);
        }
        any.then(|| format!("{:x}", h.finalize()))
    }

    /// Whether the link's credentials may differ from those last sent, so that they must be
    /// sent again.
    pub fn changed(&self, key: &str, digest: &Digest) -> bool {
        digest.is_some() && self.map().get(key) != digest.as_ref()
    }

    /// The link was just sent its configs (created, or altered).
    pub fn sent(&self, key: &str, digest: &Digest) {
        match digest {
            Some(d) => {
                self.map().insert(key.to_string(), d.clone());
            }
            None => {
                self.map().remove(key);
            }
        }
    }

    /// The link holds these credentials already (its configs needed no change).
    pub fn held(&self, key: &str, digest: &Digest) {
        if let Some(d) = digest {
            self.map().insert(key.to_string(), d.clone());
        }
    }

    /// The link is gone.
    pub fn forget(&self, key: &str) {
        self.map().remove(key);
    }
}
