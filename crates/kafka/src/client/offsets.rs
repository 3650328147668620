//! A partition's offsets: ListOffsets (earliest, latest, by timestamp) and DeleteRecords (move
//! the log start up). Both ask each partition's leader and retry as a whole.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::{self as m, BrokerId};

use super::handle::Client;
use super::types::{Isolation, ListedOffset, OffsetSpec};
use super::wire::{per_partition, topic_name};
use crate::connection::Connection;
use crate::error::Result;

impl Client {
    /// ListOffsets for partitions of one topic.
    pub async fn list_offsets(
        &self,
        topic: &str,
        partitions: &[i32],
        spec: OffsetSpec,
        isolation: Isolation,
    ) -> Result<BTreeMap<i32, ListedOffset>> {
        let timestamp = match spec {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::Timestamp(ts) => ts,
        };
        let items: Vec<(i32, ())> = partitions.iter().map(|p| (*p, ())).collect();
        let ask = |conn: Arc<Connection>, parts: Vec<(i32, ())>| async move {
            let req = m::ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_isolation_level(isolation.code())
                .with_topics(vec![m::list_offsets_request::ListOffsetsTopic::default()
                    .with_name(topic_name(topic))
                    .with_partitions(
                        parts
                            .iter()
                            .map(|(p, _)| {
                                m::list_offsets_request::ListOffsetsPartition::default()
                                    .with_partition_index(*p)
                                    .with_current_leader_epoch(-1)
                                    .with_timestamp(timestamp)
                            })
                            .collect(),
                    )]);
            let (resp, _) = conn.send(&req).await?;
            let answers = resp.topics.iter().flat_map(|t| t.partitions.iter());
            per_partition(
                "ListOffsets",
                topic,
                answers.map(|p| {
                    let listed = ListedOffset {
                        offset: p.offset,
                        timestamp: p.timestamp,
                    };
                    (p.partition_index, p.error_code, listed)
                }),
            )
        };
        self.retry("ListOffsets", || {
            self.ask_leaders(topic, items.clone(), ask)
        })
        .await
    }

    /// DeleteRecords: moves each partition's log start up to the offset; returns low watermarks.
    pub async fn delete_records(
        &self,
        topic: &str,
        offsets: &[(i32, i64)],
        timeout: Duration,
    ) -> Result<BTreeMap<i32, i64>> {
        let ask = |conn: Arc<Connection>, parts: Vec<(i32, i64)>| async move {
            let req = m::DeleteRecordsRequest::default()
                .with_timeout_ms(timeout.as_millis() as i32)
                .with_topics(vec![
                    m::delete_records_request::DeleteRecordsTopic::default()
                        .with_name(topic_name(topic))
                        .with_partitions(
                            parts
                                .iter()
                                .map(|(p, o)| {
                                    m::delete_records_request::DeleteRecordsPartition::default()
                                        .with_partition_index(*p)
                                        .with_offset(*o)
                                })
                                .collect(),
                        ),
                ]);
            let (resp, _) = conn.send(&req).await?;
            let answers = resp.topics.iter().flat_map(|t| t.partitions.iter());
            per_partition(
                "DeleteRecords",
                topic,
                answers.map(|p| (p.partition_index, p.error_code, p.low_watermark)),
            )
        };
        self.retry("DeleteRecords", || {
            self.ask_leaders(topic, offsets.to_vec(), ask)
        })
        .await
    }
}
