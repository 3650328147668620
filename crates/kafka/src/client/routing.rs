//! Where each request goes: any broker, the controller, a group's coordinator, or each
//! partition's leader (one request per leader, sent concurrently, results per partition).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;

use kafka_protocol::messages::{self as m, ApiKey};
use kafka_protocol::protocol::{Request, StrBytes};

use super::handle::Client;
use super::types::PartitionResult;
use super::wire::broker_address;
use crate::connection::{max_supported_version, Connection};
use crate::error::{Error, Result};

impl Client {
    /// Groups `(topic, partition, item)` by leader, failing those whose leader is unknown.
    async fn by_leader<T>(
        &self,
        items: Vec<(String, i32, T)>,
    ) -> (
        BTreeMap<i32, Vec<(String, i32, T)>>,
        Vec<PartitionResult<Never>>,
    ) {
        let mut groups: BTreeMap<i32, Vec<(String, i32, T)>> = BTreeMap::new();
        let mut failed = Vec::new();
        // One answer per partition for the whole call: several items of one partition (its
        // batches, in order) must go to the same broker even if metadata is refreshed meanwhile.
        let mut leaders: HashMap<(String, i32), Result<i32>> = HashMap::new();
        for (topic, partition, item) in items {
            let key = (topic.clone(), partition);
            let leader = match leaders.get(&key) {
                Some(l) => l.clone(),
                None => {
                    let l = self.leader_of(&topic, partition).await;
                    leaders.insert(key, l.clone());
                    l
                }
            };
            match leader {
                Ok(leader) => groups
                    .entry(leader)
                    .or_default()
                    .push((topic, partition, item)),
                Err(e) => failed.push(PartitionResult {
                    topic,
                    partition,
                    result: Err(e),
                }),
            }
        }
        (groups, failed)
    }

    /// Sends one request per partition leader, concurrently, and gathers the per-partition
    /// results; partitions without a known leader fail with the routing error. Marks metadata
    /// stale when a result says it is.
    pub(super) async fn to_leaders<I, T, F, Fut>(
        &self,
        items: Vec<(String, i32, I)>,
        call: F,
    ) -> Vec<PartitionResult<T>>
    where
        F: Fn(i32, Vec<(String, i32, I)>) -> Fut,
        Fut: Future<Output = Vec<PartitionResult<T>>>,
    {
        let (groups, failed) = self.by_leader(items).await;
        let mut out: Vec<PartitionResult<T>> = failed.into_iter().map(retype).collect();
        let calls = groups
            .into_iter()
            .map(|(leader, parts)| call(leader, parts));
        for results in futures::future::join_all(calls).await {
            out.extend(results);
        }
        if out
            .iter()
            .any(|r| r.result.as_ref().is_err_and(Error::needs_metadata_refresh))
        {
            self.invalidate_metadata();
        }
        out
    }

    /// For calls about partitions of one topic that must all succeed (ListOffsets,
    /// DeleteRecords): asks each leader in turn, through `ask`, about its partitions, once, and
    /// gathers the answers by partition. The first partition without a leader, or the first
    /// failed answer, fails the call.
    pub(super) async fn ask_leaders<I, T, F, Fut>(
        &self,
        topic: &str,
        items: Vec<(i32, I)>,
        ask: F,
    ) -> Result<BTreeMap<i32, T>>
    where
        F: Fn(Arc<Connection>, Vec<(i32, I)>) -> Fut,
        Fut: Future<Output = Result<Vec<(i32, T)>>>,
    {
        let items = items
            .into_iter()
            .map(|(partition, item)| (topic.to_owned(), partition, item))
            .collect();
        let (groups, failed) = self.by_leader(items).await;
        if let Some(f) = failed.into_iter().next() {
            f.result?;
        }
        let mut out = BTreeMap::new();
        for (leader, parts) in groups {
            let conn = self.node_connection(leader).await?;
            let parts = parts.into_iter().map(|(_, p, item)| (p, item)).collect();
            out.extend(ask(conn, parts).await?);
        }
        Ok(out)
    }

    /// Sends `req` to any broker, once.
    pub async fn send_to_any<R: Request>(&self, req: &R) -> Result<R::Response> {
        let conn = self.any_connection().await?;
        Ok(conn.send(req).await?.0)
    }

    /// Sends `req` to the controller (or any broker when the controller is unknown), once.
    pub async fn send_to_controller<R: Request>(&self, req: &R) -> Result<R::Response> {
        // KRaft brokers report a random broker as "controller" and forward; some brokers name
        // a controller that is not in the broker list: then any broker will do.
        let known = {
            let md = self.read_metadata();
            md.0.brokers
                .contains_key(&md.0.controller_id)
                .then_some(md.0.controller_id)
        };
        let conn = match known {
            Some(controller) => self.node_connection(controller).await?,
            None => self.any_connection().await?,
        };
        Ok(conn.send(req).await?.0)
    }

    /// FindCoordinator for a consumer group: the coordinator's node id (its address is added to
    /// the broker list).
    pub async fn find_coordinator(&self, group: &str) -> Result<i32> {
        self.retry("FindCoordinator", || async {
            let conn = self.any_connection().await?;
            let version = conn.version_for(ApiKey::FindCoordinator)?;
            let group_bytes = StrBytes::from_string(group.to_owned());
            let req = if version >= 4 {
                m::FindCoordinatorRequest::default()
                    .with_key_type(0)
                    .with_coordinator_keys(vec![group_bytes])
            } else {
                m::FindCoordinatorRequest::default()
                    .with_key_type(0)
                    .with_key(group_bytes)
            };
            let (resp, _) = conn.send(&req).await?;
            let (code, msg, node, host, port) = match resp.coordinators.first() {
                Some(c) if version >= 4 => (
                    c.error_code,
                    c.error_message.clone(),
                    c.node_id.0,
                    c.host.clone(),
                    c.port,
                ),
                _ => (
                    resp.error_code,
                    resp.error_message.clone(),
                    resp.node_id.0,
                    resp.host.clone(),
                    resp.port,
                ),
            };
            Error::check(code, msg.as_deref(), || format!("FindCoordinator {group}"))?;
            self.write_metadata()
                .0
                .brokers
                .insert(node, broker_address(&host, port));
            Ok(node)
        })
        .await
    }

    /// Sends `req` to the coordinator of `group`, once.
    pub async fn send_to_coordinator<R: Request>(
        &self,
        group: &str,
        req: &R,
    ) -> Result<R::Response> {
        let node = self.find_coordinator(group).await?;
        let conn = self.node_connection(node).await?;
        Ok(conn.send(req).await?.0)
    }

    /// The API version a broker would be sent `api` at (for callers that depend on a feature).
    pub async fn api_version(&self, api: ApiKey) -> Result<i16> {
        self.any_connection().await?.version_for(api)
    }

    /// For every API this client speaks: the version it would use with a broker, or why not.
    pub async fn api_support(&self) -> Result<Vec<(ApiKey, Result<i16>)>> {
        let conn = self.any_connection().await?;
        Ok(ApiKey::iter()
            .filter(|k| max_supported_version(*k).is_some())
            .map(|k| (k, conn.version_for(k)))
            .collect())
    }
}

/// A result type that has no success value, for failures re-typed into any result list.
#[derive(Debug)]
enum Never {}

fn retype<T>(r: PartitionResult<Never>) -> PartitionResult<T> {
    PartitionResult {
        topic: r.topic,
        partition: r.partition,
        result: r.result.map(|never| match never {}),
    }
}
