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

/// A link record read back from the state topic.
pub(super) struct Stored {
    /// The record, its sensitive values decrypted (except the `sealed` ones).
    pub record: LinkRecord,
    /// How many of its values were in an older format or of the old secret: the record is to
    /// be stored again with the current secret.
    pub stale: usize,
    /// Why some sensitive configs could not be decrypted (their values stay encrypted in
    /// `record`, and the link cannot run).
    pub sealed: Option<Sealed>,
}

/// Sensitive configs of a stored link that cannot be decrypted, and why.
pub(super) struct Sealed {
    /// The configs' names.
    pub configs: Vec<String>,
    /// Why (never a value).
    pub reason: String,
}

impl Sealed {
    /// The link's error.
    pub fn error(&self, link: &str) -> LinkError {
        LinkError::Undecryptable {
            link: link.to_owned(),
            configs: self.configs.join(", "),
            reason: self.reason.clone(),
        }
    }
}

/// The link records in a state topic's contents, decrypted as far as the secrets allow: a link
/// whose values cannot be decrypted is returned sealed, not as an error, so that the others run.
pub(super) fn stored_records(
    all: &BTreeMap<String, Vec<u8>>,
    encoder: Option<&PasswordEncoder>,
) -> Result<Vec<Stored>, LinkError> {
    let mut records = Vec::new();
    for (key, value) in all.range(state_keys::LINK_PREFIX.to_owned()..) {
        if state_keys::link_of(key).is_none() {
            break;
        }
        let mut record: LinkRecord =
            serde_json::from_slice(value).map_err(|e| LinkError::State(format!("{key}: {e}")))?;
        let (stale, sealed) = decrypt_sensitive(&mut record, encoder);
        records.push(Stored {
            record,
            stale,
            sealed,
        });
    }
    Ok(records)
}

/// The record as stored: sensitive config values encrypted, bound to the link and the config.
/// Refuses sensitive values when no password encoder secret is configured, rather than storing
/// them in clear.
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
            .encrypt(&record.name, name, value)
            .map_err(|e| LinkError::State(format!("encrypting '{name}': {e}")))?;
    }
    Ok(stored)
}

/// Decrypts a stored record's sensitive values in place: how many were stale, and which could
/// not be decrypted (left as they are).
fn decrypt_sensitive(
    record: &mut LinkRecord,
    encoder: Option<&PasswordEncoder>,
) -> (usize, Option<Sealed>) {
    let mut stale = 0;
    let mut sealed: Option<Sealed> = None;
    for (name, value) in record.configs.iter_mut() {
        // Only sensitive configs are ever encrypted: another value that merely looks encrypted
        // is a user's value, left alone.
        if !is_sensitive(name) || !PasswordEncoder::is_encrypted(value) {
            continue;
        }
        let decrypted = match encoder {
            Some(encoder) => encoder
                .decrypt(&record.name, name, value)
                .map_err(|e| e.to_string()),
            None => Err("encrypted, but this server has no password encoder secret to decrypt it (--password-encoder-secret-file)".to_owned()),
        };
        match decrypted {
            Ok(d) => {
                stale += usize::from(d.stale);
                *value = d.value;
            }
            Err(reason) => {
                let s = sealed.get_or_insert_with(|| Sealed {
                    configs: Vec::new(),
                    reason,
                });
                s.configs.push(name.clone());
            }
        }
    }
    (stale, sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, configs: &[(&str, &str)]) -> LinkRecord {
        LinkRecord {
            name: name.into(),
            id: "id".into(),
            source_cluster_id: None,
            configs: configs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            created_ms: 0,
        }
    }

    #[test]
    fn stored_values_round_trip_bound_to_their_link() {
        let e = PasswordEncoder::new("storage-test-secret-1").unwrap();
        let plain = record(
            "l",
            &[("sasl.jaas.config", "jaas"), ("bootstrap.servers", "b:1")],
        );
        let stored = encrypt_sensitive(&plain, Some(&e)).unwrap();
        assert_ne!(stored.configs["sasl.jaas.config"], "jaas");
        assert_eq!(stored.configs["bootstrap.servers"], "b:1");
        let mut back = stored.clone();
        let (stale, sealed) = decrypt_sensitive(&mut back, Some(&e));
        assert_eq!((stale, sealed.is_none()), (0, true));
        assert_eq!(back.configs, plain.configs);

        // The same stored record under another link's name does not decrypt: it is sealed,
        // its value left encrypted, and the error names link and config only.
        let mut moved = stored.clone();
        moved.name = "other".into();
        let (_, sealed) = decrypt_sensitive(&mut moved, Some(&e));
        let sealed = sealed.expect("bound to its link");
        assert_eq!(sealed.configs, ["sasl.jaas.config"]);
        assert_eq!(moved.configs, stored.configs);
        let msg = sealed.error("other").to_string();
        assert!(
            msg.contains("'other'") && msg.contains("sasl.jaas.config"),
            "{msg}"
        );
        assert!(!msg.contains("jaas\"") && !msg.contains("enc:"), "{msg}");

        // Without a secret: sealed too, not an error of the whole state topic.
        let mut none = stored.clone();
        let (_, sealed) = decrypt_sensitive(&mut none, None);
        assert!(sealed
            .unwrap()
            .reason
            .contains("no password encoder secret"));
    }

    #[test]
    fn values_of_the_old_secret_are_counted_stale() {
        let old = PasswordEncoder::new("storage-test-secret-1").unwrap();
        let stored = encrypt_sensitive(
            &record(
                "l",
                &[("sasl.jaas.config", "a"), ("local.sasl.jaas.config", "b")],
            ),
            Some(&old),
        )
        .unwrap();
        let rotating = PasswordEncoder::new("storage-test-secret-2")
            .unwrap()
            .with_old_secret("storage-test-secret-1");
        let mut back = stored.clone();
        let (stale, sealed) = decrypt_sensitive(&mut back, Some(&rotating));
        assert_eq!((stale, sealed.is_none()), (2, true));
        assert_eq!(back.configs["local.sasl.jaas.config"], "b");
        // a value that merely looks encrypted in a config that is not sensitive is left alone
        let mut odd = record("l", &[("bootstrap.servers", "enc:v2:00")]);
        assert_eq!(decrypt_sensitive(&mut odd, Some(&rotating)).0, 0);
        assert_eq!(odd.configs["bootstrap.servers"], "enc:v2:00");
    }
}
