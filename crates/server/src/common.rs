//! Small helpers the link manager, the pusher and the HTTP layer all use: a lock that survives a
//! panicked holder, the wall clock in milliseconds, and a cluster's id.

use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use clusterlink_kafka::{Client, Error as KafkaError};

/// Locks `m`, also when a thread panicked holding it: the data it guards stays consistent
/// (every holder writes whole values), and one panic must not take the whole server down.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The id of the cluster `client` talks to.
pub async fn cluster_id_of(client: &Client) -> Result<String, KafkaError> {
    if let Some(id) = client.cached_metadata().cluster_id {
        return Ok(id);
    }
    if let Some(id) = client.refresh_metadata(Some(&[])).await?.cluster_id {
        return Ok(id);
    }
    Ok(client.describe_cluster().await?.cluster_id)
}
