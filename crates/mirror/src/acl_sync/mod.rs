//! ACL sync (`acl.sync.enable`, `acl.sync.ms`, `acl.filters`): the source cluster's ACLs that
//! the link's filters select are created on the destination, so that the principals who may
//! read a topic at the source may read its mirror (and use their groups) after a failover, with
//! no one copying ACLs by hand; ACLs removed at the source are removed from the destination.
//!
//! Each round, every `acl.sync.ms` (Confluent's default: 5 s):
//! 1. the source's ACLs are described (the link's principal needs DESCRIBE on the source
//!    cluster) and matched against the filters ([`filters`]);
//! 2. the destination's ACLs are described (the link server's own principal needs DESCRIBE
//!    and ALTER on the destination cluster);
//! 3. [`mod@plan`] decides what to create and delete, from the selected source ACLs, the
//!    destination's, and the ACLs this link created: only those are ever deleted, never an ACL
//!    someone else made on the destination;
//! 4. the changes are made, and the set of ACLs the link created is written to the state topic
//!    (`acls/<engine>`, see [`crate::state_keys`]) when it changed, so that a restarted server
//!    still knows which ACLs are the link's.
//!
//! Confluent's brokers (as their 2020 sources show) keep that set in memory only; clusterlink
//! keeps it durable because its server restarts more often than a broker. The record is written
//! after the changes: a crash between the two leaves an ACL the link created unrecorded, which
//! is then never deleted (the safe side: an ACL left behind, never one deleted that was not the
//! link's). An ACL that was the link's and is made again by hand cannot be told apart (Kafka
//! keeps no author): it is the link's.

pub mod filters;
pub mod plan;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use clusterlink_kafka::client::{
    AclBinding, AclBindingFilter, AclOperation, AclPermission, PatternType, ResourceType,
};
use clusterlink_kafka::{Client, Error as KafkaError, ResponseError};
use clusterlink_rest_v3::link_config;
use clusterlink_rest_v3::links::LinkTaskErrorCode;
use serde::{Deserialize, Serialize};

use crate::state_keys;
use crate::store::KafkaStore;
pub use filters::AclFilters;
pub use plan::{plan, AclPlan};

/// Confluent's default `acl.sync.ms`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// Which cluster an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The source cluster (read with the link's credentials).
    Source,
    /// The destination cluster (the link server's own).
    Destination,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Source => "source",
            Side::Destination => "destination",
        })
    }
}

/// Why a round of ACL sync failed. Never holds a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AclSyncError {
    /// `acl.filters` cannot be read.
    #[error("acl.filters unusable: {0}")]
    Filters(String),
    /// The source refused to describe its ACLs to the link's principal (Confluent's words).
    #[error("Unable to retrieve ACLs on source cluster. Please enable DESCRIBE ACLs on the source cluster to proceed with ACL migration. ({0})")]
    SourceRefused(KafkaError),
    /// The destination refused the link server's principal.
    #[error("The destination cluster refused the link server's ACL requests: its principal needs DESCRIBE and ALTER on the destination cluster to proceed with ACL migration. ({0})")]
    DestinationRefused(KafkaError),
    /// A cluster has no authorizer, so no ACLs.
    #[error("The {side} cluster has no authorizer (authorizer.class.name), so there are no ACLs to migrate: {error}")]
    SecurityDisabled {
        /// Which cluster.
        side: Side,
        /// Its answer.
        error: KafkaError,
    },
    /// An ACL request to a cluster failed otherwise.
    #[error("ACL request to the {side} cluster failed: {error}")]
    Request {
        /// Which cluster.
        side: Side,
        /// Its answer.
        error: KafkaError,
    },
    /// Some creations or deletions failed on the destination (the rest were made).
    #[error("{failed} of {total} ACL changes failed on the destination; the first: {first}")]
    Changes {
        /// How many failed.
        failed: usize,
        /// How many were tried.
        total: usize,
        /// The first failure.
        first: KafkaError,
    },
    /// The record of the ACLs the link created cannot be read or written.
    #[error("the record of the ACLs this link created cannot be read or written: {0}")]
    State(String),
}

impl AclSyncError {
    /// A short, stable label for metrics.
    pub fn category(&self) -> &'static str {
        match self {
            AclSyncError::Filters(_) => "invalid",
            AclSyncError::SourceRefused(_) | AclSyncError::DestinationRefused(_) => "auth",
            AclSyncError::SecurityDisabled { .. } => "unsupported",
            AclSyncError::Request { error, .. } => error.category(),
            AclSyncError::Changes { first, .. } => first.category(),
            AclSyncError::State(_) => "state",
        }
    }

    /// The error code of the link's `AclSync` task, in Confluent's `LinkTaskErrorCode` words.
    pub fn task_error_code(&self) -> LinkTaskErrorCode {
        match self {
            AclSyncError::Filters(_) => LinkTaskErrorCode::MisconfigurationError,
            AclSyncError::SourceRefused(_) => LinkTaskErrorCode::AuthorizationError,
            AclSyncError::DestinationRefused(_) => LinkTaskErrorCode::BrokerAuthorizationError,
            AclSyncError::SecurityDisabled { .. } => LinkTaskErrorCode::SecurityDisabledError,
            AclSyncError::Changes { first, .. } if refused(first) => {
                LinkTaskErrorCode::BrokerAuthorizationError
            }
            AclSyncError::Request { .. }
            | AclSyncError::Changes { .. }
            | AclSyncError::State(_) => LinkTaskErrorCode::InternalError,
        }
    }

    fn from_cluster(side: Side, error: KafkaError) -> Self {
        match (side, error.code()) {
            (_, Some(ResponseError::SecurityDisabled)) => {
                AclSyncError::SecurityDisabled { side, error }
            }
            (Side::Source, _) if refused(&error) => AclSyncError::SourceRefused(error),
            (Side::Destination, _) if refused(&error) => AclSyncError::DestinationRefused(error),
            _ => AclSyncError::Request { side, error },
        }
    }
}

fn refused(e: &KafkaError) -> bool {
    matches!(
        e.code(),
        Some(ResponseError::ClusterAuthorizationFailed | ResponseError::SecurityDisabled)
    )
}

/// What one round did.
#[derive(Debug, Default)]
pub struct AclSyncRound {
    /// Selected source ACLs.
    pub wanted: usize,
    /// ACLs created on the destination.
    pub created: usize,
    /// ACLs deleted from the destination.
    pub deleted: usize,
    /// Creations and deletions that failed (retried next round), each with why.
    pub failed: Vec<(AclBinding, KafkaError)>,
    /// ACLs the link created and answers for, after the round.
    pub owned: usize,
}

impl AclSyncRound {
    /// The round's failure, if some of its changes failed.
    pub fn error(&self) -> Option<AclSyncError> {
        let (_, first) = self.failed.first()?;
        Some(AclSyncError::Changes {
            failed: self.failed.len(),
            total: self.created + self.deleted + self.failed.len(),
            first: first.clone(),
        })
    }
}

/// ACL sync on a link's schedule, as its settings say; holds the ACLs the link created (loaded
/// from the state topic on the first round).
#[derive(Debug, Default)]
pub struct ScheduledAclSync {
    at: Option<Instant>,
    /// The ACLs the link created, once loaded.
    owned: Option<BTreeSet<AclBinding>>,
    /// What the state topic holds of them.
    saved: BTreeSet<AclBinding>,
}

impl ScheduledAclSync {
    /// One round when enabled and due; `setting` reads the link's settings, `engine` names
    /// its state (`<link>@<id>`). `Ok(None)` when nothing was due. Whatever the round changed
    /// is recorded, also when it failed half-way.
    pub async fn run_if_due<'a>(
        &mut self,
        source: &Client,
        destination: &Client,
        store: &KafkaStore,
        engine: &str,
        setting: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Option<AclSyncRound>, AclSyncError> {
        if setting(link_config::ACL_SYNC_ENABLE) != Some("true") {
            return Ok(None);
        }
        let every = setting(link_config::ACL_SYNC_MS)
            .and_then(|v| v.parse().ok())
            .map_or(DEFAULT_INTERVAL, Duration::from_millis);
        if self.at.is_some_and(|t| t.elapsed() < every) {
            return Ok(None);
        }
        self.at = Some(Instant::now());
        let filters = AclFilters::parse(setting(link_config::ACL_FILTERS).unwrap_or(""))
            .map_err(AclSyncError::Filters)?;
        let key = state_keys::acl_sync(engine);
        if self.owned.is_none() {
            let state = store
                .load()
                .await
                .map_err(|e| AclSyncError::State(e.to_string()))?;
            self.saved = match state.get(&key) {
                Some(v) => decode(v)?,
                None => BTreeSet::new(),
            };
            self.owned = Some(self.saved.clone());
        }
        let owned = self.owned.get_or_insert_default();
        let round = sync_once(source, destination, &filters, owned).await;
        if *owned != self.saved {
            store
                .put(&[(key, Some(encode(owned)))])
                .await
                .map_err(|e| AclSyncError::State(e.to_string()))?;
            self.saved = owned.clone();
        }
        round.map(Some)
    }
}

/// One round: describes both clusters, plans, and makes the changes, updating `owned` with
/// each change made (also when a later step fails).
pub async fn sync_once(
    source: &Client,
    destination: &Client,
    filters: &AclFilters,
    owned: &mut BTreeSet<AclBinding>,
) -> Result<AclSyncRound, AclSyncError> {
    let wanted: BTreeSet<AclBinding> = source
        .describe_acls(&AclBindingFilter::any())
        .await
        .map_err(|e| AclSyncError::from_cluster(Side::Source, e))?
        .into_iter()
        .filter(|a| filters.selects(a))
        .collect();
    let present: BTreeSet<AclBinding> = destination
        .describe_acls(&AclBindingFilter::any())
        .await
        .map_err(|e| AclSyncError::from_cluster(Side::Destination, e))?
        .into_iter()
        .collect();
    let p = plan(&wanted, &present, owned);
    let mut round = AclSyncRound {
        wanted: wanted.len(),
        ..Default::default()
    };
    for a in &p.forget {
        owned.remove(a);
    }
    let created = destination
        .create_acls(&p.create)
        .await
        .map_err(|e| AclSyncError::from_cluster(Side::Destination, e))?;
    for (a, r) in p.create.iter().zip(created) {
        match r {
            Ok(()) => {
                owned.insert(a.clone());
                round.created += 1;
            }
            Err(e) => round.failed.push((a.clone(), e)),
        }
    }
    let exact: Vec<AclBindingFilter> = p.delete.iter().map(AclBindingFilter::exact).collect();
    let deleted = destination
        .delete_acls(&exact)
        .await
        .map_err(|e| AclSyncError::from_cluster(Side::Destination, e))?;
    for (a, r) in p.delete.iter().zip(deleted) {
        match r {
            Ok(gone) => {
                // Gone either way; counted when this round deleted it.
                owned.remove(a);
                round.deleted += usize::from(!gone.is_empty());
            }
            Err(e) => round.failed.push((a.clone(), e)),
        }
    }
    round.owned = owned.len();
    Ok(round)
}

/// One ACL as the state record keeps it, in Kafka's names.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredAcl {
    resource_type: String,
    resource_name: String,
    pattern_type: String,
    principal: String,
    host: String,
    operation: String,
    permission_type: String,
}

/// The state record of a link's ACL sync.
#[derive(Debug, Serialize, Deserialize)]
struct StoredAclSync {
    /// The ACLs the link created on the destination.
    created: Vec<StoredAcl>,
}

fn encode(owned: &BTreeSet<AclBinding>) -> Vec<u8> {
    let record = StoredAclSync {
        created: owned
            .iter()
            .map(|a| StoredAcl {
                resource_type: a.resource_type.name().into(),
                resource_name: a.resource_name.clone(),
                pattern_type: a.pattern_type.name().into(),
                principal: a.principal.clone(),
                host: a.host.clone(),
                operation: a.operation.name().into(),
                permission_type: a.permission.name().into(),
            })
            .collect(),
    };
    serde_json::to_vec(&record).unwrap_or_default()
}

fn decode(bytes: &[u8]) -> Result<BTreeSet<AclBinding>, AclSyncError> {
    let bad = |what: &str| AclSyncError::State(format!("a stored ACL has an unknown {what}"));
    let record: StoredAclSync =
        serde_json::from_slice(bytes).map_err(|e| AclSyncError::State(e.to_string()))?;
    record
        .created
        .into_iter()
        .map(|s| {
            Ok(AclBinding {
                resource_type: ResourceType::parse(&s.resource_type)
                    .ok_or_else(|| bad("resource type"))?,
                resource_name: s.resource_name,
                pattern_type: PatternType::parse(&s.pattern_type)
                    .ok_or_else(|| bad("pattern type"))?,
                principal: s.principal,
                host: s.host,
                operation: AclOperation::parse(&s.operation).ok_or_else(|| bad("operation"))?,
                permission: AclPermission::parse(&s.permission_type)
                    .ok_or_else(|| bad("permission type"))?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_of_created_acls_reads_back() {
        let owned: BTreeSet<AclBinding> = [
            AclBinding {
                resource_type: ResourceType::Group,
                resource_name: "app-".into(),
                pattern_type: PatternType::Prefixed,
                principal: "User:reader".into(),
                host: "*".into(),
                operation: AclOperation::Read,
                permission: AclPermission::Allow,
            },
            AclBinding {
                resource_type: ResourceType::TransactionalId,
                resource_name: "tx".into(),
                pattern_type: PatternType::Literal,
                principal: "User:w".into(),
                host: "10.0.0.1".into(),
                operation: AclOperation::DescribeConfigs,
                permission: AclPermission::Deny,
            },
        ]
        .into();
        let bytes = encode(&owned);
        assert!(String::from_utf8_lossy(&bytes).contains("\"operation\":\"DESCRIBE_CONFIGS\""));
        assert_eq!(decode(&bytes).unwrap(), owned);
        assert!(decode(b"{\"created\":[{\"resourceType\":\"TOPIK\",\"resourceName\":\"t\",\"patternType\":\"LITERAL\",\"principal\":\"User:a\",\"host\":\"*\",\"operation\":\"READ\",\"permissionType\":\"ALLOW\"}]}").is_err());
    }

    #[test]
    fn errors_name_the_task_error_code_confluent_uses() {
        let refused = KafkaError::kafka(31, None, "DescribeAcls");
        let e = AclSyncError::from_cluster(Side::Source, refused.clone());
        assert_eq!(e.task_error_code(), LinkTaskErrorCode::AuthorizationError);
        assert!(e.to_string().contains("Please enable DESCRIBE ACLs"), "{e}");
        let e = AclSyncError::from_cluster(Side::Destination, refused);
        assert_eq!(
            e.task_error_code(),
            LinkTaskErrorCode::BrokerAuthorizationError
        );
        let disabled = KafkaError::kafka(54, None, "DescribeAcls");
        let e = AclSyncError::from_cluster(Side::Source, disabled);
        assert_eq!(
            e.task_error_code(),
            LinkTaskErrorCode::SecurityDisabledError
        );
        assert_eq!(e.category(), "unsupported");
    }
}
