//! Produce: raw batches with acks=all, many partitions at once (pipelined per partition, spread
//! over a few connections per leader, one attempt each), or one partition's batches in order
//! with the retries that cannot duplicate data; and the producer id an idempotent producer
//! stamps its batches with.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages as m;
use tracing::instrument;

use super::handle::Client;
use super::types::{PartitionResult, ProducePartition, Produced};
use super::wire::{group_by_topic, topic_name};
use crate::error::{Error, Result};
use crate::records::RawBatch;

impl Client {
    /// Produces raw batches to many partitions with acks=all, one attempt each. A partition may
    /// appear several times: its batches are written in the order given, pipelined (Kafka takes
    /// one batch per partition per request, so the n-th batch of every partition goes in the
    /// n-th request to its leader, and those requests are sent back to back on one connection,
    /// which the broker answers in order). Partitions are spread over `produce_connections`
    /// connections per leader, always the same one for a partition. The results come in the
    /// order of the batches of each partition; after a failed batch, the later batches of that
    /// partition were rejected too (out of sequence) or must be retried anyway.
    #[instrument(level = "debug", skip_all, fields(partitions = parts.len()))]
    pub async fn produce(
        &self,
        parts: Vec<ProducePartition>,
        timeout: Duration,
    ) -> Vec<PartitionResult<Produced>> {
        let lanes = self.inner.config.produce_connections.max(1);
        let mut by_lane: Vec<Vec<(String, i32, Bytes)>> = vec![Vec::new(); lanes];
        for p in parts {
            by_lane[p.partition.unsigned_abs() as usize % lanes].push((
                p.topic,
                p.partition,
                p.records,
            ));
        }
        let calls = by_lane
            .into_iter()
            .enumerate()
            .filter(|(_, items)| !items.is_empty())
            .map(|(lane, items)| {
                self.to_leaders(items, move |leader, parts| {
                    self.produce_to(leader, lane, parts, timeout)
                })
            });
        futures::future::join_all(calls)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    async fn produce_to(
        &self,
        leader: i32,
        lane: usize,
        parts: Vec<(String, i32, Bytes)>,
        timeout: Duration,
    ) -> Vec<PartitionResult<Produced>> {
        // The n-th batch of a partition goes in the n-th request.
        let mut seen: HashMap<(&str, i32), usize> = HashMap::new();
        let rounds: Vec<usize> = parts
            .iter()
            .map(|(topic, partition, _)| {
                let n = seen.entry((topic.as_str(), *partition)).or_insert(0);
                *n += 1;
                *n - 1
            })
            .collect();
        let depth = rounds.iter().max().map_or(0, |m| m + 1);
        let mut per_round: Vec<Vec<(&str, m::produce_request::PartitionProduceData)>> =
            (0..depth).map(|_| Vec::new()).collect();
        for ((topic, partition, records), round) in parts.iter().zip(&rounds) {
            let pd = m::produce_request::PartitionProduceData::default()
                .with_index(*partition)
                .with_records(Some(records.clone()));
            per_round[*round].push((topic.as_str(), pd));
        }
        let requests: Vec<m::ProduceRequest> = per_round
            .into_iter()
            .map(|items| {
                let topics = group_by_topic(items)
                    .into_iter()
                    .map(|(topic, partition_data)| {
                        m::produce_request::TopicProduceData::default()
                            .with_name(topic_name(topic))
                            .with_partition_data(partition_data)
                    })
                    .collect();
                m::ProduceRequest::default()
                    .with_acks(-1)
                    .with_timeout_ms(timeout.as_millis().min(i32::MAX as u128) as i32)
                    .with_topic_data(topics)
            })
            .collect();
        let responses: Vec<Result<m::ProduceResponse>> =
            match self.node_connection_lane(leader, lane).await {
                Ok(conn) => conn
                    .send_pipelined(&requests)
                    .await
                    .into_iter()
                    .map(|r| r.map(|r| r.0))
                    .collect(),
                Err(e) => requests.iter().map(|_| Err(e.clone())).collect(),
            };
        parts
            .iter()
            .zip(&rounds)
            .map(|((topic, partition, _), round)| {
                let result = match &responses[*round] {
                    Err(e) => Err(e.clone()),
                    Ok(resp) => match resp
                        .responses
                        .iter()
                        .filter(|t| t.name.0.as_str() == topic)
                        .flat_map(|t| t.partition_responses.iter())
                        .find(|p| p.index == *partition)
                    {
                        None => Err(Error::Protocol {
                            broker: format!("node {leader}"),
                            message: format!("Produce response lacks {topic}-{partition}"),
                        }),
                        Some(p) if p.error_code != 0 => {
                            let detail = p
                                .record_errors
                                .iter()
                                .filter_map(|e| e.batch_index_error_message.as_deref())
                                .chain(p.error_message.as_deref())
                                .collect::<Vec<_>>()
                                .join("; ");
                            Err(Error::kafka(
                                p.error_code,
                                (!detail.is_empty()).then_some(detail),
                                format!("Produce {topic}-{partition}"),
                            ))
                        }
                        Some(p) => Ok(Produced {
                            base_offset: p.base_offset,
                            log_append_time: p.log_append_time_ms,
                        }),
                    },
                };
                PartitionResult {
                    topic: topic.clone(),
                    partition: *partition,
                    result,
                }
            })
            .collect()
    }

    /// Produces batches to one partition, in order, one batch per request (Kafka accepts one
    /// batch per partition per produce request), retrying only where that cannot duplicate
    /// data. Returns what the first batch got.
    pub async fn produce_partition(
        &self,
        topic: &str,
        partition: i32,
        batches: &[RawBatch],
        timeout: Duration,
    ) -> Result<Produced> {
        let mut first = None;
        for batch in batches {
            let produced = self.produce_batch(topic, partition, batch, timeout).await?;
            first.get_or_insert(produced);
        }
        first.ok_or_else(|| Error::Invalid("nothing to produce".into()))
    }

    async fn produce_batch(
        &self,
        topic: &str,
        partition: i32,
        batch: &RawBatch,
        timeout: Duration,
    ) -> Result<Produced> {
        let idempotent = batch.header().producer_id >= 0;
        let attempt = || async {
            let part = ProducePartition {
                topic: topic.to_owned(),
                partition,
                records: batch.bytes().clone(),
            };
            match self
                .produce(vec![part], timeout)
                .await
                .pop()
                .map(|r| r.result)
            {
                Some(result) => result,
                None => Err(Error::NoRoute(format!("{topic}-{partition}"))),
            }
        };
        // Without idempotence only a broker's explicit "not appended" is safe to retry.
        let safe = |err: &Error| {
            idempotent || matches!(err, Error::Kafka { code, .. } if code.needs_metadata_refresh())
        };
        self.retry_when("Produce", attempt, safe).await
    }

    /// InitProducerId for an idempotent (non-transactional) producer: `(producer_id, epoch)`.
    pub async fn init_producer_id(&self) -> Result<(i64, i16)> {
        self.retry("InitProducerId", || async {
            let req = m::InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(-1)
                .with_producer_id(m::ProducerId(-1))
                .with_producer_epoch(-1);
            let resp = self.send_to_any(&req).await?;
            Error::check(resp.error_code, None, || "InitProducerId".into())?;
            Ok((resp.producer_id.0, resp.producer_epoch))
        })
        .await
    }
}
