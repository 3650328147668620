//! Durable key-value state kept in a compacted topic of the local (destination) cluster.
//!
//! The link server keeps no local files: mirror definitions, their states and the engine's
//! checkpoints are records in one single-partition compacted topic. Writing several keys is one
//! batch, so a checkpoint and the offset-map runs it covers land together or not at all. Loading
//! reads the topic from its start to its end; the last value of a key wins and a null value
//! (tombstone) deletes it.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clusterlink_kafka::client::{NewTopic, OffsetSpec};
use clusterlink_kafka::records::{encode_batch, split_batches, BatchSpec, Compression, Record};
use clusterlink_kafka::{Client, Error, Isolation, ResponseError};

/// One key and its new value (`None` deletes the key).
pub type Entry = (String, Option<Vec<u8>>);

/// State topic store.
#[derive(Debug)]
pub struct KafkaStore {
    client: Client,
    topic: String,
    /// Producer id, epoch and next sequence; `None` after a failed write. Held across a whole
    /// write, so that writes reach the broker in sequence order; a failed write leaves the
    /// sequence unknown to us, so the next write starts a new producer.
    producer: tokio::sync::Mutex<Option<(i64, i16, i32)>>,
}

impl KafkaStore {
    /// Opens the store, creating its topic if missing: one partition, compacted, and durable
    /// whatever the cluster's defaults (see [`state_topic_replication`]).
    pub async fn open(client: Client, topic: &str) -> Result<Self, Error> {
        if client.topic_metadata(topic).await.is_err() {
            let brokers = client.refresh_metadata(Some(&[])).await?.brokers.len();
            let (replication_factor, min_isr) = state_topic_replication(brokers);
            let new = NewTopic {
                name: topic.to_owned(),
                partitions: 1,
                replication_factor,
                configs: vec![
                    ("cleanup.policy".into(), "compact".into()),
                    ("min.insync.replicas".into(), min_isr.to_string()),
                ],
            };
            for (_, r) in client
                .create_topics(&[new], false, Duration::from_secs(30))
                .await?
            {
                match r {
                    Ok(()) => {}
                    Err(e) if e.is(ResponseError::TopicAlreadyExists) => {} // created meanwhile
                    Err(e) => return Err(e),
                }
            }
        }
        let (id, epoch) = client.init_producer_id().await?;
        Ok(KafkaStore {
            client,
            topic: topic.to_owned(),
            producer: tokio::sync::Mutex::new(Some((id, epoch, 0))),
        })
    }

    /// Writes keys atomically (one batch); `None` deletes a key.
    pub async fn put(&self, entries: &[Entry]) -> Result<(), Error> {
        if entries.is_empty() {
            return Ok(());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let records: Vec<Record> = entries
            .iter()
            .enumerate()
            .map(|(i, (k, v))| Record {
                offset: i as i64,
                timestamp: now,
                key: Some(Bytes::from(k.clone())),
                value: v.clone().map(Bytes::from),
                headers: vec![],
            })
            .collect();
        let mut producer = self.producer.lock().await;
        let (id, epoch, base_sequence) = match *producer {
            Some(p) => p,
            None => {
                let (id, epoch) = self.client.init_producer_id().await?;
                (id, epoch, 0)
            }
        };
        let spec = BatchSpec {
            producer_id: id,
            producer_epoch: epoch,
            base_sequence,
            ..BatchSpec::plain(Compression::None)
        };
        let batch = encode_batch(&spec, &records)?;
        match self
            .client
            .produce_partition(&self.topic, 0, &[batch], Duration::from_secs(30))
            .await
        {
            Ok(_) => {
                let next = base_sequence.wrapping_add(records.len() as i32) & i32::MAX;
                *producer = Some((id, epoch, next));
                Ok(())
            }
            Err(e) => {
                *producer = None;
                Err(e)
            }
        }
    }

    /// Reads every live key.
    pub async fn load(&self) -> Result<BTreeMap<String, Vec<u8>>, Error> {
        read_state(&self.client, &self.topic).await
    }
}

/// The state topic's replication factor and `min.insync.replicas` on a cluster of `brokers`
/// live brokers: three replicas (as many as there are brokers below three), of which all but
/// one must have every write: on three brokers or more, the links' state survives the loss of
/// any one broker, and one broker down (a rolling restart) never stops state writes. Not the
/// broker's `default.replication.factor`: Kafka's is 1 whatever the cluster's size, and a state
/// topic with one replica loses every link with that broker's disk.
pub fn state_topic_replication(brokers: usize) -> (i16, i16) {
    let replication_factor = brokers.clamp(1, 3) as i16;
    (replication_factor, (replication_factor - 1).max(1))
}

/// Every live key of a state topic, read without writing anything: how a link server looks at
/// another cluster's clusterlink state (an empty map when that cluster has no state topic).
pub async fn read_state(client: &Client, topic: &str) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let mut out = BTreeMap::new();
    let Some((changes, _)) = read_changes(client, topic, None).await? else {
        return Ok(out);
    };
    for (key, value) in changes {
        match value {
            Some(v) => out.insert(key, v),
            None => out.remove(&key),
        };
    }
    Ok(out)
}

/// What was written to a state topic from offset `from` (its start with `None`) to its end,
/// in order (a `None` value is a tombstone), and the offset the next read starts at: how a
/// link server follows requests other clusters' link servers leave in its state topic without
/// reading it all again. `None` when the topic does not exist or this client may not see it.
pub async fn read_changes(
    client: &Client,
    topic: &str,
    from: Option<i64>,
) -> Result<Option<(Vec<(String, Option<Vec<u8>>)>, i64)>, Error> {
    let mut out = Vec::new();
    match client.topic_metadata(topic).await {
        Ok(_) => {}
        // UNKNOWN_TOPIC_OR_PARTITION: no clusterlink state there; TOPIC_AUTHORIZATION_FAILED:
        // none this client may see.
        Err(e)
            if matches!(
                e.code(),
                Some(
                    ResponseError::UnknownTopicOrPartition
                        | ResponseError::TopicAuthorizationFailed
                )
            ) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e),
    }
    let earliest = client
        .list_offsets(topic, &[0], OffsetSpec::Earliest, Isolation::ReadCommitted)
        .await?;
    let mut offset = earliest.get(&0).map_or(0, |o| o.offset.max(0));
    if let Some(from) = from {
        offset = offset.max(from);
    }
    loop {
        let f = client
            .fetch_partition(
                topic,
                0,
                offset,
                Isolation::ReadCommitted,
                Duration::from_millis(10),
                4 << 20,
            )
            .await?;
        let batches = split_batches(f.records)?;
        if batches.is_empty() {
            if offset >= f.high_watermark {
                return Ok(Some((out, offset)));
            }
            return Err(Error::Invalid(format!(
                "state topic {}: no whole batch at offset {offset} below the end {}",
                topic, f.high_watermark
            )));
        }
        for b in batches {
            offset = b.header().next_offset();
            if b.header().is_control() {
                continue;
            }
            for r in b.records()? {
                let Some(key) = r.key else { continue };
                let key = String::from_utf8_lossy(&key).into_owned();
                out.push((key, r.value.map(|v| v.to_vec())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::state_topic_replication;

    #[test]
    fn the_state_topic_survives_one_broker_where_there_are_several() {
        assert_eq!(state_topic_replication(0), (1, 1));
        assert_eq!(state_topic_replication(1), (1, 1));
        assert_eq!(state_topic_replication(2), (2, 1));
        assert_eq!(state_topic_replication(3), (3, 2));
        assert_eq!(state_topic_replication(12), (3, 2));
    }
}
