//! The destination producer: the one idempotent producer identity every mirrored batch is
//! written under, and the stamping that gives a batch that identity.
//!
//! Stamping a fetched batch sets its producer id, epoch and the destination partition's next
//! sequence, without decoding its records. Because a stamped batch carries a sequence the broker
//! tracks, a produce retried after a lost answer is recognised and not appended twice; and
//! because sequences are per destination partition, each partition's batches must be written in
//! the order they were stamped. The engine stamps as batches are accepted from a fetch (and
//! rewinds a partition's sequence when it drops batches it had not written); the one-shot copy
//! tool stamps just before each produce.

use std::collections::HashMap;

use clusterlink_kafka::records::RawBatch;
use clusterlink_kafka::Client;

/// The idempotent producer identity batches are written under on the destination.
#[derive(Debug, Clone)]
pub struct DestinationProducer {
    /// Producer id from InitProducerId on the destination.
    pub producer_id: i64,
    /// Its epoch.
    pub producer_epoch: i16,
    /// Next sequence per destination topic and partition.
    next_sequence: HashMap<(String, i32), i32>,
}

impl DestinationProducer {
    /// Gets a producer id from the destination.
    pub async fn init(destination: &Client) -> Result<Self, clusterlink_kafka::Error> {
        let (producer_id, producer_epoch) = destination.init_producer_id().await?;
        Ok(DestinationProducer {
            producer_id,
            producer_epoch,
            next_sequence: HashMap::new(),
        })
    }

    /// Sets `topic[partition]`'s next sequence back to `sequence`: the batches stamped from
    /// there on were dropped unwritten and will be stamped again.
    pub fn rewind(&mut self, topic: &str, partition: i32, sequence: i32) {
        self.next_sequence
            .insert((topic.to_owned(), partition), sequence);
    }

    /// The batch as this producer writes it to `topic[partition]`: its id, epoch and the
    /// partition's next sequence.
    pub fn stamp(&mut self, topic: &str, partition: i32, batch: &RawBatch) -> RawBatch {
        let seq = self
            .next_sequence
            .entry((topic.to_owned(), partition))
            .or_insert(0);
        let out = batch.for_producer(self.producer_id, self.producer_epoch, *seq);
        // Sequences wrap to 0 after i32::MAX, as Kafka's do.
        *seq = ((*seq as i64 + batch.header().record_count as i64) % (i32::MAX as i64 + 1)) as i32;
        out
    }
}
