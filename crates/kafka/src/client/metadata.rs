//! What the client knows of the cluster: bootstrap, the metadata cache and its refresh (merged
//! topic by topic), and the leader of a partition.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

use kafka_protocol::messages as m;
use tracing::{debug, instrument};

use super::config::ClientConfig;
use super::handle::Client;
use super::types::{ClusterMetadata, PartitionMetadata, TopicMetadata};
use super::wire::{broker_address, opt_string, topic_name};
use crate::error::{Error, KafkaCode, ResponseError, Result};

/// What a missing topic or partition is answered with.
const UNKNOWN_TOPIC: i16 = ResponseError::UnknownTopicOrPartition.code();

impl Client {
    /// Connects to the cluster: contacts a bootstrap server and loads broker metadata.
    pub async fn connect(config: ClientConfig) -> Result<Self> {
        if config.bootstrap_servers.is_empty() {
            return Err(Error::Invalid("no bootstrap servers given".into()));
        }
        let client = Client::new(config);
        client
            .retry("bootstrap", || client.refresh_metadata(Some(&[])))
            .await?;
        Ok(client)
    }

    /// Loads metadata for `topics` (every topic when `None`) and the broker list, and merges
    /// it into the cache.
    #[instrument(level = "debug", skip(self))]
    pub async fn refresh_metadata(&self, topics: Option<&[String]>) -> Result<ClusterMetadata> {
        let req = m::MetadataRequest::default()
            .with_topics(topics.map(|topics| {
                topics
                    .iter()
                    .map(|t| {
                        m::metadata_request::MetadataRequestTopic::default()
                            .with_name(Some(topic_name(t)))
                    })
                    .collect()
            }))
            .with_allow_auto_topic_creation(false);
        // A pooled connection the broker closed meanwhile (idle, or its SASL session ended) is
        // only noticed when used: one more try, on a new connection.
        let (resp, _) = match self.any_connection().await?.send(&req).await {
            Err(e @ Error::Connection { .. }) => {
                debug!(error = %e, "Metadata on a new connection");
                self.any_connection().await?.send(&req).await?
            }
            r => r?,
        };
        let mut fresh = ClusterMetadata {
            cluster_id: opt_string(&resp.cluster_id),
            controller_id: resp.controller_id.0,
            brokers: resp
                .brokers
                .iter()
                .map(|b| (b.node_id.0, broker_address(&b.host, b.port)))
                .collect(),
            topics: BTreeMap::new(),
        };
        for t in &resp.topics {
            let Some(name) = &t.name else { continue };
            let code = |c: i16| {
                (c != 0).then_some(KafkaCode {
                    code: c,
                    message: None,
                })
            };
            fresh.topics.insert(
                name.0.as_str().to_owned(),
                TopicMetadata {
                    error: code(t.error_code),
                    is_internal: t.is_internal,
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| {
                            (
                                p.partition_index,
                                PartitionMetadata {
                                    leader: p.leader_id.0,
                                    leader_epoch: p.leader_epoch,
                                    replicas: p.replica_nodes.iter().map(|r| r.0).collect(),
                                    error: code(p.error_code),
                                },
                            )
                        })
                        .collect(),
                },
            );
        }
        let mut guard = self.write_metadata();
        let (cached, at) = &mut *guard;
        cached.cluster_id = fresh.cluster_id.clone();
        cached.controller_id = fresh.controller_id;
        cached.brokers = fresh.brokers.clone();
        for (name, t) in &fresh.topics {
            cached.topics.insert(name.clone(), t.clone());
        }
        *at = Some(Instant::now());
        self.inner.stale.store(false, Ordering::SeqCst);
        Ok(fresh)
    }

    /// Metadata of `topic`, from the cache when fresh. A missing topic is an
    /// UNKNOWN_TOPIC_OR_PARTITION error.
    pub async fn topic_metadata(&self, topic: &str) -> Result<TopicMetadata> {
        let cached = {
            let guard = self.read_metadata();
            let fresh = !self.metadata_is_stale()
                && guard
                    .1
                    .is_some_and(|at| at.elapsed() < self.inner.config.metadata_max_age);
            guard.0.topics.get(topic).filter(|_| fresh).cloned()
        };
        let t = match cached {
            Some(t) if t.error.is_none() => t,
            _ => {
                let fresh = self.refresh_metadata(Some(&[topic.to_owned()])).await?;
                fresh.topics.get(topic).cloned().ok_or_else(|| {
                    Error::kafka(UNKNOWN_TOPIC, None, format!("Metadata for topic {topic}"))
                })?
            }
        };
        if let Some(e) = &t.error {
            return Err(Error::Kafka {
                code: e.clone(),
                context: format!("Metadata for topic {topic}"),
            });
        }
        Ok(t)
    }

    pub(super) async fn leader_of(&self, topic: &str, partition: i32) -> Result<i32> {
        let t = self.topic_metadata(topic).await?;
        let p = t.partitions.get(&partition).ok_or_else(|| {
            Error::kafka(
                UNKNOWN_TOPIC,
                None,
                format!("partition {topic}-{partition} does not exist"),
            )
        })?;
        if p.leader < 0 {
            self.invalidate_metadata();
            return Err(Error::kafka(
                ResponseError::LeaderNotAvailable.code(),
                None,
                format!("{topic}-{partition} has no leader"),
            ));
        }
        Ok(p.leader)
    }
}
