//! A link's configs: described (set or defaulted, secrets without their value) and altered, all
//! or nothing, restarting what runs the link when its connection changes. The table of known
//! configs (types, ranges, defaults) is [`crate::configs`].

use std::collections::BTreeSet;
use std::sync::Arc;

use clusterlink_rest_v3::link_config::{self, is_sensitive};
use tracing::info;

use super::engines::Reached;
use super::error::LinkError;
use super::registry::{Entry, LinkManager};
use super::security::{self, is_security_config};
use crate::common::lock;
use crate::configs::{self, ConfigError};
use crate::record::LinkRecord;

/// One link config as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// Name.
    pub name: String,
    /// Value; `None` for secrets and unset configs.
    pub value: Option<String>,
    /// Whether the value is the default (not set on the link).
    pub is_default: bool,
    /// Whether it cannot change.
    pub read_only: bool,
    /// Whether it is a secret.
    pub sensitive: bool,
    /// Whether the server applies it today.
    pub applied: bool,
}

/// A change of a link config.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigOp {
    /// Set a value.
    Set(String, String),
    /// Back to the default.
    Delete(String),
}

/// The configs whose change restarts a link's engine: the connection to its source, how long
/// it retries, and what its mirrors do when the source's log start moved past them.
const RESTART_KEYS: [&str; 5] = [
    link_config::BOOTSTRAP_SERVERS,
    link_config::CLUSTER_LINK_RETRY_TIMEOUT_MS,
    link_config::MIRROR_LOG_START_POLICY,
    link_config::METADATA_MAX_AGE_MS,
    link_config::RETRY_BACKOFF_MS,
];

/// How often a config change is planned again when the link changed under it.
const ALTER_ATTEMPTS: usize = 3;

/// A checked config change, ready to apply.
struct AlterPlan {
    /// The link as it will be.
    record: LinkRecord,
    /// Whether what runs the link restarts (its remote connection changed).
    restart: bool,
    /// Whether its local connection (`local.*`) changed.
    local_changed: bool,
    /// Whether configs it could not decrypt were set again (then the link starts).
    unsealed: bool,
    /// A client of the new address, when the change moved the link (reached while planning).
    source: Option<clusterlink_kafka::Client>,
}

impl LinkManager {
    /// Every known link config of a link, set or default (secrets without their value).
    pub fn configs(&self, name: &str) -> Result<Vec<LinkConfig>, LinkError> {
        let record = self.entry(name)?.record();
        let mut names: BTreeSet<String> = configs::DEFS
            .iter()
            .filter(|d| d.default.is_some() || record.configs.contains_key(d.name))
            .map(|d| d.name.to_owned())
            .collect();
        names.extend(record.configs.keys().cloned());
        let not_applied = configs::not_applied(&record.configs);
        Ok(names
            .into_iter()
            .map(|n| {
                let def = configs::lookup(&n);
                let set = record.configs.get(&n);
                let sensitive = is_sensitive(&n);
                let value = if sensitive {
                    None
                } else {
                    set.cloned()
                        .or_else(|| def.and_then(|d| d.default).map(str::to_owned))
                };
                LinkConfig {
                    is_default: set.is_none(),
                    read_only: def.is_some_and(|d| d.immutable),
                    // `local.*` settings apply to some links only: their record says.
                    applied: !not_applied.contains(&n)
                        && (def.is_some_and(|d| d.applied)
                            || (n.starts_with(link_config::LOCAL_PREFIX) && set.is_some())),
                    sensitive,
                    value,
                    name: n,
                }
            })
            .collect())
    }

    /// One link config.
    pub fn config(&self, link: &str, name: &str) -> Result<LinkConfig, LinkError> {
        if let Some(c) = self.configs(link)?.into_iter().find(|c| c.name == name) {
            return Ok(c);
        }
        // Known but neither set nor defaulted.
        let def = configs::lookup(name).ok_or_else(|| ConfigError::Unknown(name.to_owned()))?;
        Ok(LinkConfig {
            name: name.to_owned(),
            value: None,
            is_default: true,
            read_only: def.immutable,
            sensitive: is_sensitive(name),
            applied: def.applied,
        })
    }

    /// Changes link configs, all or nothing. A change of the source connection (its address,
    /// TLS or SASL settings) or the retry timeout restarts the link's engine (its mirrors resume
    /// from their checkpoints).
    ///
    /// The slow part, connecting to a new address, runs outside the lock that serialises link
    /// changes, so that a remote cluster that takes its time stalls this request only, not
    /// every other link's; the change is then applied under the lock if the link did not
    /// change meanwhile, else planned again.
    pub async fn alter_configs(
        &self,
        link: &str,
        ops: &[ConfigOp],
        validate_only: bool,
    ) -> Result<(), LinkError> {
        for _ in 0..ALTER_ATTEMPTS {
            let entry = self.entry(link)?;
            let old = entry.record();
            let sealed = lock(&entry.sealed).clone();
            let mut plan = self.plan_alter(link, &old, &sealed, ops).await?;
            if validate_only {
                return Ok(());
            }
            let source = self.engine_source(&mut plan).await;
            let _guard = self.inner.changes.lock().await;
            let entry = self.entry(link)?;
            if entry.record() != old || *lock(&entry.sealed) != sealed {
                continue; // changed by another request meanwhile: plan again from what it is now
            }
            return self.apply_alter(link, &entry, plan, source).await;
        }
        Err(LinkError::Invalid(format!(
            "Cluster link '{link}' kept changing under this request ({ALTER_ATTEMPTS} attempts): \
             try again"
        )))
    }

    /// What altering `old` with `ops` makes of it, checked (and its new address reached).
    /// `sealed` are the configs of `old` this server cannot decrypt.
    async fn plan_alter(
        &self,
        link: &str,
        old: &LinkRecord,
        sealed: &[String],
        ops: &[ConfigOp],
    ) -> Result<AlterPlan, LinkError> {
        let mut record = old.clone();
        let touched: Vec<&str> = ops
            .iter()
            .map(|op| match op {
                ConfigOp::Set(n, _) | ConfigOp::Delete(n) => n.as_str(),
            })
            .collect();
        let untouched: Vec<&str> = sealed
            .iter()
            .map(String::as_str)
            .filter(|c| !touched.contains(c))
            .collect();
        if !untouched.is_empty() {
            return Err(LinkError::Invalid(format!(
                "Cluster link '{link}': config(s) {} cannot be decrypted with this server's \
                 password encoder secret; set them again (or delete them) in the same request",
                untouched.join(", ")
            )));
        }
        for op in ops {
            let name = match op {
                ConfigOp::Set(n, _) | ConfigOp::Delete(n) => n,
            };
            let def = configs::lookup(name).ok_or_else(|| ConfigError::Unknown(name.clone()))?;
            match op {
                ConfigOp::Set(n, v) => {
                    let v = configs::validate(n, v)?;
                    if def.immutable && record.configs.get(n) != Some(&v) {
                        return Err(ConfigError::Immutable(n.clone()).into());
                    }
                    record.configs.insert(n.clone(), v);
                }
                ConfigOp::Delete(n) => {
                    if n == link_config::BOOTSTRAP_SERVERS {
                        return Err(LinkError::Invalid(
                            "bootstrap.servers cannot be reset: the link needs it".into(),
                        ));
                    }
                    if def.immutable && record.configs.contains_key(n) {
                        return Err(ConfigError::Immutable(n.clone()).into());
                    }
                    record.configs.remove(n);
                }
            }
        }
        configs::validate_set(&record.configs)?;
        let missing = security::credentials_to_resend(&old.configs, &record.configs, &touched);
        if !missing.is_empty() {
            return Err(LinkError::Invalid(format!(
                "Cluster link '{link}': changing where or how it connects (bootstrap.servers, \
                 security.protocol, sasl.mechanism, ssl.*) needs its stored credentials in the \
                 same request: set {} again (or delete them)",
                missing.join(", ")
            )));
        }
        security::check(&record)?;
        // New credentials or TLS settings reconnect too: toward the remote cluster, everything
        // of the link; toward the local one (`local.*`), its pusher only.
        let changed = |k: &str| old.configs.get(k) != record.configs.get(k);
        let security_changed = |local: bool| {
            old.configs.keys().chain(record.configs.keys()).any(|k| {
                k.starts_with(link_config::LOCAL_PREFIX) == local
                    && is_security_config(k)
                    && changed(k)
            })
        };
        let restart = security_changed(false) || RESTART_KEYS.iter().any(|k| changed(k));
        let local_changed = security_changed(true);
        let mut source = None;
        if changed(link_config::BOOTSTRAP_SERVERS) {
            // The new address must reach the same source cluster.
            // A failure says no more than that: the address is the caller's, and what a broker
            // there answered is not theirs to read through this server.
            let (client, _) = self
                .reach_source(&record, false)
                .await
                .map_err(|e| match e {
                    LinkError::SourceUnreachable { .. } | LinkError::Authentication { .. } => {
                        LinkError::SourceUnreachable {
                            link: link.to_owned(),
                            message: "the new bootstrap.servers is unreachable with the link's \
                                      settings"
                                .into(),
                        }
                    }
                    other => other,
                })?;
            source = Some(client);
        }
        Ok(AlterPlan {
            record,
            restart,
            local_changed,
            unsealed: !sealed.is_empty(),
            source,
        })
    }

    /// The source of the engine a planned change (re)starts: the new address's client when the
    /// plan reached it, else a connection made now (outside the changes lock, like the plan).
    async fn engine_source(&self, plan: &mut AlterPlan) -> Reached {
        match plan.source.take() {
            Some(c) => Reached::Client(c),
            None if (plan.restart || plan.unsealed) && plan.record.pulls() => {
                Reached::from(self.connect_source(&plan.record).await)
            }
            None => Reached::NotTried,
        }
    }

    /// Applies a planned change to `entry` (under the changes lock).
    async fn apply_alter(
        &self,
        link: &str,
        entry: &Arc<Entry>,
        plan: AlterPlan,
        source: Reached,
    ) -> Result<(), LinkError> {
        let AlterPlan {
            record,
            restart,
            local_changed,
            unsealed,
            ..
        } = plan;
        self.put_record(&record).await?;
        *lock(&entry.record) = record.clone();
        if unsealed {
            // Its credentials are readable again: the link starts.
            lock(&entry.sealed).clear();
            self.start(entry, &record, source).await;
            info!(link = %link, "undecryptable configs set again; link started");
            return Ok(());
        }
        if let Some(engine) = entry.engine() {
            engine.set_link_paused(record.paused());
        }
        if (restart || local_changed) && record.pushes() {
            self.restart_pusher(entry, &record).await;
        }
        if restart && record.pulls() {
            self.restart_engine(entry, &record, source).await;
            info!(link = %link, "link configs changed; engine restarted");
        }
        Ok(())
    }
}
