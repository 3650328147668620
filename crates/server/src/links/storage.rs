//! Link records in the local state topic: written with their sensitive values encrypted (the
//! state topic is readable by anyone who can read the cluster), read back decrypted when the
//! manager opens, and removed with all of the link's state when it is deleted.

use std::collections::BTreeMap;

use clusterlink_mirror::state_keys;
use clusterlink_rest_v3::link_config::is_sensitive;

use super::error::LinkError;
use super::registry::LinkManager;
use crate::record::LinkRecord;
use crate::secrets::PasswordEncoder;

impl LinkManager {
    /// Stores a link's record (sensitive values encrypted).
    pub(super) async fn put_record(&self, record: &LinkRecord) -> Result<(), LinkError> {
        let stored = encrypt_sensitive(record, self.inner.options.password_encoder.as_ref())?;
        let value = serde_json::to_vec(&stored).map_err(|e| LinkError::State(e.to_string()))?;
        self.inner
            .store
            .put(&[(state_keys::link(&record.name), Some(value))])
            .await
            .map_err(LinkError::Local)
    }

    /// Removes a link's record and everything its engine (and, for an INBOUND link, the other
    /// side's pusher) stored.
    pub(super) async fn remove_stored(&self, record: &LinkRecord) -> Result<(), LinkError> {
        let engine = record.engine_name();
        let mut prefixes = state_keys::engine_prefixes(&engine).to_vec();
        if record.is_inbound() {
            prefixes.extend(state_keys::exchange_prefixes(&engine));
        }
        let all = self.inner.store.load().await.map_err(LinkError::Local)?;
        let mut tombstones: Vec<(String, Option<Vec<u8>>)> = all
            .keys()
            .filter(|k| prefixes.iter().any(|p| k.starts_with(p.as_str())))
            .map(|k| (k.clone(), None))
            .collect();
        tombstones.push((state_keys::link(&record.name), None));
        self.inner
            .store
            .put(&tombstones)
            .await
            .map_err(LinkError::Local)
    }
}

/// The link records in a state topic's contents, decrypted.
pub(super) fn stored_records(
    all: &BTreeMap<String, Vec<u8>>,
    encoder: Option<&PasswordEncoder>,
) -> Result<Vec<LinkRecord>, LinkError> {
    let mut records = Vec::new();
    for (key, value) in all.range(state_keys::LINK_PREFIX.to_owned()..) {
        if state_keys::link_of(key).is_none() {
            break;
        }
        let mut record: LinkRecord =
            serde_json::from_slice(value).map_err(|e| LinkError::State(format!("{key}: {e}")))?;
        decrypt_sensitive(&mut record, encoder)?;
        records.push(record);
    }
    Ok(records)
}

/// The record as stored: sensitive config values encrypted. Refuses sensitive values when no
/// password encoder secret is configured, rather than storing them in clear.
fn encrypt_sensitive(
    record: &LinkRecord,
    encoder: Option<&PasswordEncoder>,
) -> Result<LinkRecord, LinkError> {
    let mut stored = record.clone();
    for (name, value) in stored.configs.iter_mut() {
        if !is_sensitive(name) {
            continue;
        }
        let encoder = encoder.ok_or_else(|| {
            LinkError::Invalid(format!(
                "Config '{name}' is sensitive and this server has no password encoder secret to encrypt it at rest; start it with --password-encoder-secret-file"
            ))
        })?;
        *value = encoder
            .encrypt(value)
            .map_err(|e| LinkError::State(format!("encrypting '{name}': {e}")))?;
    }
    Ok(stored)
}

/// Decrypts a stored record's sensitive values in place.
fn decrypt_sensitive(
    record: &mut LinkRecord,
    encoder: Option<&PasswordEncoder>,
) -> Result<(), LinkError> {
    for (name, value) in record.configs.iter_mut() {
        // Only sensitive configs are ever encrypted: another value that merely looks encrypted
        // is a user's value, left alone.
        if !is_sensitive(name) || !PasswordEncoder::is_encrypted(value) {
            continue;
        }
        let encoder = encoder.ok_or_else(|| {
            LinkError::State(format!(
                "link '{}': config '{name}' is encrypted but this server has no password encoder secret",
                record.name
            ))
        })?;
        *value = encoder.decrypt(value).map_err(|e| {
            LinkError::State(format!("link '{}': config '{name}' {e}", record.name))
        })?;
    }
    Ok(())
}
