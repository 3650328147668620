//! Fetch: many partitions at once, one request per leader sent concurrently and one attempt
//! each (the mirroring loop retries), or one partition with retries.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{self as m, BrokerId};
use tracing::instrument;

use super::handle::Client;
use super::types::{FetchPartition, FetchRequest, FetchedPartition, Isolation, PartitionResult};
use super::wire::{group_by_topic, topic_name};
use crate::error::{Error, Result};
use crate::records::AbortedTxn;

impl Client {
    /// Fetches many partitions: one request per leader, sent concurrently, one attempt each.
    #[instrument(level = "debug", skip_all, fields(partitions = req.partitions.len()))]
    pub async fn fetch(&self, req: &FetchRequest) -> Vec<PartitionResult<FetchedPartition>> {
        if self.metadata_is_stale() {
            let topics: Vec<String> = dedup(req.partitions.iter().map(|p| p.topic.clone()));
            let _ = self.refresh_metadata(Some(&topics)).await;
        }
        let items = req
            .partitions
            .iter()
            .map(|p| (p.topic.clone(), p.partition, (p.offset, p.max_bytes)))
            .collect();
        self.to_leaders(items, |leader, parts| self.fetch_from(leader, req, parts))
            .await
    }

    async fn fetch_from(
        &self,
        leader: i32,
        req: &FetchRequest,
        parts: Vec<(String, i32, (i64, i32))>,
    ) -> Vec<PartitionResult<FetchedPartition>> {
        let topics = group_by_topic(parts.iter().map(|(topic, partition, (offset, max_bytes))| {
            let fp = m::fetch_request::FetchPartition::default()
                .with_partition(*partition)
                .with_fetch_offset(*offset)
                .with_partition_max_bytes(*max_bytes)
                .with_current_leader_epoch(-1)
                .with_last_fetched_epoch(-1)
                .with_log_start_offset(-1);
            (topic.as_str(), fp)
        }))
        .into_iter()
        .map(|(topic, partitions)| {
            m::fetch_request::FetchTopic::default()
                .with_topic(topic_name(topic))
                .with_partitions(partitions)
        })
        .collect();
        let request = m::FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(req.max_wait.as_millis().min(i32::MAX as u128) as i32)
            .with_min_bytes(req.min_bytes)
            .with_max_bytes(req.max_bytes)
            .with_isolation_level(req.isolation.code())
            .with_session_id(0)
            .with_session_epoch(-1)
            .with_topics(topics);
        let all_fail = |e: Error| {
            parts
                .iter()
                .map(|(t, p, _)| PartitionResult {
                    topic: t.clone(),
                    partition: *p,
                    result: Err(e.clone()),
                })
                .collect::<Vec<_>>()
        };
        let resp = match self.node_connection(leader).await {
            Ok(conn) => conn.send(&request).await.map(|r| r.0),
            Err(e) => Err(e),
        };
        let resp = match resp {
            Ok(r) => r,
            Err(e) => return all_fail(e),
        };
        if resp.error_code != 0 {
            return all_fail(Error::kafka(resp.error_code, None, "Fetch"));
        }
        let mut out = Vec::with_capacity(parts.len());
        for (topic, partition, _) in &parts {
            let data = resp
                .responses
                .iter()
                .filter(|t| t.topic.0.as_str() == topic)
                .flat_map(|t| t.partitions.iter())
                .find(|p| p.partition_index == *partition);
            let result = match data {
                // tansu leaves out partitions that have no data when the wait expires (Kafka
                // lists every partition asked for): no data, and no watermarks to report.
                None => Ok(FetchedPartition {
                    high_watermark: -1,
                    last_stable_offset: -1,
                    log_start_offset: -1,
                    aborted: vec![],
                    records: Bytes::new(),
                }),
                Some(p) if p.error_code != 0 => Err(Error::kafka(
                    p.error_code,
                    None,
                    format!("Fetch {topic}-{partition}"),
                )),
                Some(p) => Ok(FetchedPartition {
                    high_watermark: p.high_watermark,
                    last_stable_offset: p.last_stable_offset,
                    log_start_offset: p.log_start_offset,
                    aborted: p
                        .aborted_transactions
                        .iter()
                        .flatten()
                        .map(|a| AbortedTxn {
                            producer_id: a.producer_id.0,
                            first_offset: a.first_offset,
                        })
                        .collect(),
                    records: p.records.clone().unwrap_or_default(),
                }),
            };
            out.push(PartitionResult {
                topic: topic.clone(),
                partition: *partition,
                result,
            });
        }
        out
    }

    /// Fetches one partition, retrying retriable errors, and until the broker reports the
    /// partition's watermarks (some leave out a partition that has no data).
    pub async fn fetch_partition(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        isolation: Isolation,
        max_wait: Duration,
        max_bytes: i32,
    ) -> Result<FetchedPartition> {
        let req = FetchRequest {
            partitions: vec![FetchPartition {
                topic: topic.to_owned(),
                partition,
                offset,
                max_bytes,
            }],
            max_wait,
            min_bytes: 1,
            max_bytes,
            isolation,
        };
        self.retry("Fetch", || async {
            match self.fetch(&req).await.pop().map(|r| r.result) {
                Some(Ok(f)) if f.high_watermark < 0 => Err(Error::NoRoute(format!(
                    "{topic}-{partition}: the broker returned neither data nor watermarks"
                ))),
                Some(r) => r,
                None => Err(Error::NoRoute(format!("{topic}-{partition}"))),
            }
        })
        .await
    }
}

/// The distinct strings, sorted.
fn dedup(it: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = it.collect();
    v.sort();
    v.dedup();
    v
}
