//! The cluster links of the local cluster: their definitions and configs, kept in the local
//! cluster's state topic, and what runs each (a mirroring engine, a pusher, or, for an INBOUND
//! link, the other cluster's link server).
//!
//! The server is stateless: a link is a `link/<name>` record (`crate::record`) in the same
//! compacted topic the engines keep their mirrors and checkpoints in, so a new [`LinkManager`]
//! on the same cluster (after a restart, or on another machine) finds every link, starts its
//! engine, and the engine restores its own mirrors.
//!
//! Sensitive configs (passwords, JAAS configs, keys) are stored for the link's use but never
//! leave this module in clear: [`LinkConfig::value`] is `None` for them and no error or log line
//! carries their value.
//!
//! [`LinkManager`]'s operations, by concern:
//! - `registry`: the options, the links by name, lookups;
//! - `crud`: creating and deleting links (`names`: what they may be called, their ids);
//! - `configs`: describing and altering a link's configs;
//! - `mirrors`: listing, creating, changing and deleting mirror topics;
//! - `status`: what a link reports;
//! - `engines`: starting, restarting and stopping what runs a link, with its
//!   `remote` cluster's address and `security` settings;
//! - `inbound`: INBOUND links' view of the state topic;
//! - `storage`: records in the state topic, secrets encrypted at rest;
//! - `failback`: truncate-and-restore; `reverse`: reverse-and-start/pause, both sides;
//! - `housekeeping`: offset sync, topic config sync, auto-created mirrors, reverses, and
//!   `acl_sync` (the `AclSync` task: the source's ACLs on the destination).

mod acl_sync;
mod configs;
mod crud;
mod engines;
mod error;
mod failback;
mod housekeeping;
mod inbound;
mod mirrors;
mod names;
mod registry;
mod remote;
mod reverse;
mod security;
mod status;
mod storage;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use clusterlink_kafka::Client;
use clusterlink_mirror::store::KafkaStore;
use tracing::{info, warn};

pub use crate::common::cluster_id_of;
pub use acl_sync::{AclSyncReport, TaskStatus, ACL_SYNC_TASK};
pub use configs::{ConfigOp, LinkConfig};
pub use crud::NewLink;
pub use error::LinkError;
pub use failback::{Restored, DIVERGED_TOPIC_SUFFIX};
pub use mirrors::{MirrorResults, NewMirror};
pub use names::is_topic_name;
pub use registry::{LinkManager, ManagerOptions};
pub use status::LinkStatus;

use registry::Inner;

impl LinkManager {
    /// Opens the manager on the local cluster: reads every stored link and starts its engine
    /// (a link whose source is unreachable keeps retrying in the background).
    pub async fn open(local: Client, options: ManagerOptions) -> Result<Self, LinkError> {
        let cluster_id = cluster_id_of(&local).await.map_err(LinkError::Local)?;
        let store = KafkaStore::open(local.clone(), &options.engine.state_topic)
            .await
            .map_err(LinkError::Local)?;
        let all = store.load().await.map_err(LinkError::Local)?;
        let stored = storage::stored_records(&all, options.password_encoder.as_ref())?;
        let manager = LinkManager {
            inner: Arc::new(Inner {
                local,
                cluster_id,
                store,
                options,
                links: Mutex::new(BTreeMap::new()),
                changes: tokio::sync::Mutex::new(()),
                inbound: Mutex::new(all),
                heartbeats: Mutex::new(BTreeMap::new()),
                errors: Mutex::new(BTreeMap::new()),
                restores: Mutex::new(BTreeMap::new()),
                reencrypted: AtomicUsize::new(0),
            }),
        };
        for storage::Stored {
            record,
            stale,
            sealed,
        } in stored
        {
            let name = record.name.clone();
            if let Some(sealed) = sealed {
                let e = sealed.error(&name);
                warn!(link = %name, error = %e, "link restored but not running");
                manager.add_sealed(record, sealed.configs, &e);
                continue;
            }
            if stale > 0 {
                // Stored again with the current secret in the current format, so that the old
                // secret can be dropped.
                match manager.put_record(&record).await {
                    Ok(()) => {
                        manager.inner.reencrypted.fetch_add(stale, Ordering::SeqCst);
                    }
                    Err(e) => {
                        warn!(link = %name, error = %e, "re-encrypting the link's sensitive configs failed; the next start tries again");
                    }
                }
            }
            manager.add(record, engines::Reached::NotTried).await;
            info!(link = %name, "link restored");
        }
        let reencrypted = manager.reencrypted();
        if reencrypted > 0 {
            info!(
                values = reencrypted,
                "re-encrypted {reencrypted} sensitive link config value(s) with the current password encoder secret"
            );
        }
        manager.spawn_inbound_refresher();
        manager.spawn_housekeeping();
        Ok(manager)
    }
}
