//! The connection pool: one connection per broker, by address, shared by every request to that
//! broker (requests pipeline on it), plus extra lanes for produce; a closed connection, or one
//! whose SASL session ends soon, is replaced by a new one on next use (requests already on the
//! old one finish there).

use std::sync::Arc;

use super::handle::Client;
use crate::connection::Connection;
use crate::error::{Error, Result};

impl Client {
    /// An open connection to `addr`, reusing the pooled one.
    pub(super) async fn connection(&self, addr: &str) -> Result<Arc<Connection>> {
        self.connection_lane(addr, 0).await
    }

    /// An open connection to `addr`, lane `lane` (lane 0 is the one every request uses).
    pub(super) async fn connection_lane(&self, addr: &str, lane: usize) -> Result<Arc<Connection>> {
        let key = if lane == 0 {
            addr.to_owned()
        } else {
            format!("{addr}#{lane}")
        };
        if let Some(c) = self.pooled(&key) {
            return Ok(c);
        }
        let conn = Arc::new(Connection::connect(addr, self.inner.config.connection.clone()).await?);
        let mut conns = self.inner.conns.lock().unwrap_or_else(|e| e.into_inner());
        match conns.get(&key) {
            // Another task connected meanwhile: use theirs, drop ours.
            Some(existing) if !existing.needs_renewal() => Ok(existing.clone()),
            _ => {
                conns.insert(key, conn.clone());
                Ok(conn)
            }
        }
    }

    /// How many pooled connections are open (one per broker at most).
    pub fn open_connections(&self) -> usize {
        let conns = self.inner.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.values().filter(|c| !c.is_closed()).count()
    }

    fn pooled(&self, addr: &str) -> Option<Arc<Connection>> {
        let conns = self.inner.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.get(addr).filter(|c| !c.needs_renewal()).cloned()
    }

    /// A connection to any reachable broker: pooled first, then known brokers, then bootstrap.
    pub(super) async fn any_connection(&self) -> Result<Arc<Connection>> {
        let mut candidates: Vec<String> =
            self.read_metadata().0.brokers.values().cloned().collect();
        candidates.extend(self.inner.config.bootstrap_servers.iter().cloned());
        for addr in &candidates {
            if let Some(c) = self.pooled(addr) {
                return Ok(c);
            }
        }
        let mut last = None;
        for addr in &candidates {
            match self.connection(addr).await {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::NoRoute("no broker known".into())))
    }

    pub(super) async fn node_connection(&self, node: i32) -> Result<Arc<Connection>> {
        self.node_connection_lane(node, 0).await
    }

    pub(super) async fn node_connection_lane(
        &self,
        node: i32,
        lane: usize,
    ) -> Result<Arc<Connection>> {
        let addr = self.read_metadata().0.brokers.get(&node).cloned();
        match addr {
            Some(addr) => self.connection_lane(&addr, lane).await,
            None => Err(Error::NoRoute(format!(
                "broker {node} is not in the metadata"
            ))),
        }
    }
}
