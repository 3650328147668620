//! Turns fetched source bytes into batches ready for the destination, one partition at a time.
//!
//! This is the part of mirroring that must be deterministic: replaying the same source range
//! from the same start offset yields the same batches with the same record counts, which is
//! what crash recovery relies on to find where the destination stopped. It splits fetched bytes
//! into whole batches, skips what lies before the wanted offset, cuts a first batch that starts
//! before it, resolves transactions (`TxnResolver`) and renumbers batches with offset gaps.

use bytes::Bytes;
use clusterlink_kafka::records::{
    encode_batch, split_batches, AbortedTxn, BatchSpec, RawBatch, RecordError, Resolved,
    TxnResolver,
};

/// Which source offsets a ready batch's records had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceOffsets {
    /// `count` consecutive offsets from `base`.
    Dense {
        /// First offset.
        base: i64,
        /// Number of records.
        count: i64,
    },
    /// The records' offsets, for a batch that was renumbered to close gaps.
    Listed(Vec<i64>),
}

impl SourceOffsets {
    /// The first source offset.
    pub fn first(&self) -> i64 {
        match self {
            SourceOffsets::Dense { base, .. } => *base,
            SourceOffsets::Listed(v) => v.first().copied().unwrap_or(-1),
        }
    }
}

/// A batch ready to be written, with where its records came from.
#[derive(Debug, Clone)]
pub struct ReadyBatch {
    /// The batch, with consecutive offsets (producer fields still the source's).
    pub batch: RawBatch,
    /// Source offsets of its records.
    pub source: SourceOffsets,
    /// Source offset after the source batch it came from.
    pub source_next: i64,
}

/// What one fetched buffer gave.
#[derive(Debug, Default)]
pub struct Accepted {
    /// Batches to write, in source order.
    pub ready: Vec<ReadyBatch>,
    /// Batches dropped: control markers and aborted data.
    pub dropped: u64,
    /// Batches decoded and re-encoded (cut at the start offset, or renumbered).
    pub reencoded: u64,
    /// Whole batches found in the buffer (0 with bytes present: the fetch size is too small).
    pub whole_batches: usize,
}

/// Reading position and transaction state of one source partition.
#[derive(Debug)]
pub struct PartitionReader {
    from: i64,
    fetch_offset: i64,
    resolver: TxnResolver,
    /// Source offset after each batch pushed into the resolver, by base offset, for batches
    /// that may still come out of it.
    pending_next: std::collections::BTreeMap<i64, i64>,
}

impl PartitionReader {
    /// A reader that starts at source offset `from`.
    pub fn new(from: i64) -> Self {
        PartitionReader {
            from,
            fetch_offset: from,
            resolver: TxnResolver::new(),
            pending_next: Default::default(),
        }
    }

    /// The offset to fetch next.
    pub fn fetch_offset(&self) -> i64 {
        self.fetch_offset
    }

    /// The first source offset not yet handed out as ready or decided (held transactional
    /// data counts as not decided).
    pub fn resume_offset(&self) -> i64 {
        self.resolver
            .first_held_offset()
            .unwrap_or(self.fetch_offset)
    }

    /// Batches held for a transaction marker.
    pub fn held(&self) -> usize {
        self.resolver.held()
    }

    /// Feeds one fetch response's records and aborted-transaction list.
    pub fn accept(
        &mut self,
        records: Bytes,
        aborted: &[AbortedTxn],
    ) -> Result<Accepted, (i64, RecordError)> {
        let fetch_offset = self.fetch_offset;
        let batches = split_batches(records).map_err(|e| (fetch_offset, e))?;
        // A batch damaged on its way (or on the source's disk) must never be re-stamped with a
        // fresh, valid checksum: nothing of this fetch is taken, and the reader stays where it
        // was, so that the next fetch asks for the same offsets again.
        for b in batches
            .iter()
            .filter(|b| b.header().last_offset() >= fetch_offset)
        {
            b.verify_crc().map_err(|e| (b.header().base_offset, e))?;
        }
        let mut out = Accepted {
            whole_batches: batches.len(),
            ..Default::default()
        };
        self.resolver.add_aborted(aborted);
        let mut resolved = Resolved::default();
        for batch in batches {
            let h = batch.header().clone();
            if h.last_offset() < self.fetch_offset {
                continue; // wholly before the wanted offset (a fetch may start mid-batch)
            }
            if h.record_count == 0 {
                // Compaction keeps empty batches (an idempotent producer's last): nothing to copy.
                self.fetch_offset = h.next_offset();
                out.dropped += 1;
                continue;
            }
            let batch = if h.base_offset < self.from {
                // The first batch starts before the start offset: keep the records from it on.
                let from = self.from;
                let keep: Vec<_> = batch
                    .records()
                    .map_err(|e| (h.base_offset, e))?
                    .into_iter()
                    .filter(|r| r.offset >= from)
                    .collect();
                if keep.is_empty() {
                    self.fetch_offset = h.next_offset();
                    continue;
                }
                out.reencoded += 1;
                encode_batch(&BatchSpec::from_header(&h), &keep).map_err(|e| (h.base_offset, e))?
            } else {
                batch
            };
            self.pending_next
                .insert(batch.header().base_offset, h.next_offset());
            self.resolver.push(batch, &mut resolved);
            self.fetch_offset = h.next_offset();
        }
        out.dropped += resolved.dropped;
        for batch in resolved.ready {
            let h = batch.header().clone();
            let source_next = self
                .pending_next
                .get(&h.base_offset)
                .copied()
                .unwrap_or(h.next_offset());
            let (batch, source) = if h.is_dense() {
                (
                    batch,
                    SourceOffsets::Dense {
                        base: h.base_offset,
                        count: h.record_count as i64,
                    },
                )
            } else {
                out.reencoded += 1;
                let (dense, old) = batch.renumbered().map_err(|e| (h.base_offset, e))?;
                (dense, SourceOffsets::Listed(old))
            };
            out.ready.push(ReadyBatch {
                batch,
                source,
                source_next,
            });
        }
        // Forget the bookkeeping of everything before what the resolver still holds.
        let keep_from = self.resume_offset();
        self.pending_next = self.pending_next.split_off(&keep_from);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{BufMut, BytesMut};
    use clusterlink_kafka::records::{BatchSpec, Compression, Record};

    fn batch(offset: i64) -> Bytes {
        let r = Record {
            offset,
            timestamp: 1,
            key: None,
            value: Some(Bytes::from_static(b"v")),
            headers: vec![],
        };
        encode_batch(&BatchSpec::plain(Compression::None), &[r])
            .unwrap()
            .into_bytes()
    }

    /// An empty batch (compaction keeps an idempotent producer's last one) as raw bytes.
    fn empty_batch(offset: i64) -> Bytes {
        let full = batch(offset);
        let mut b = BytesMut::from(&full[..61]);
        b[8..12].copy_from_slice(&49i32.to_be_bytes());
        b[57..61].copy_from_slice(&0i32.to_be_bytes());
        let crc = crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b.freeze()
    }

    fn crc32c(data: &[u8]) -> u32 {
        // CRC-32C, bitwise (the test does not need speed)
        let mut crc = !0u32;
        for &byte in data {
            crc ^= byte as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0x82F6_3B78
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn empty_batches_are_skipped_not_fatal() {
        let mut buf = BytesMut::new();
        buf.put_slice(&batch(0));
        buf.put_slice(&empty_batch(1));
        buf.put_slice(&batch(2));
        let mut r = PartitionReader::new(0);
        let acc = r.accept(buf.freeze(), &[]).unwrap();
        assert_eq!(
            acc.ready
                .iter()
                .map(|b| b.source.first())
                .collect::<Vec<_>>(),
            vec![0, 2]
        );
        assert_eq!(acc.dropped, 1);
        assert_eq!(r.fetch_offset(), 3);
    }

    #[test]
    fn a_corrupt_batch_takes_nothing_of_its_fetch_and_the_same_offsets_are_asked_again() {
        let mut damaged = BytesMut::from(&batch(1)[..]);
        let last = damaged.len() - 1;
        damaged[last] ^= 0x01; // inside the record, covered by the CRC
        let mut buf = BytesMut::new();
        buf.put_slice(&batch(0));
        buf.put_slice(&damaged);
        buf.put_slice(&batch(2));
        let mut r = PartitionReader::new(0);
        let (offset, e) = r.accept(buf.freeze(), &[]).unwrap_err();
        assert_eq!(offset, 1);
        assert!(
            matches!(e, RecordError::CorruptCrc { base_offset: 1, .. }),
            "{e}"
        );
        assert_eq!(r.fetch_offset(), 0, "nothing taken");
        assert_eq!(r.resume_offset(), 0);
        // The next fetch brings the same records undamaged: all three are ready, in order.
        let mut buf = BytesMut::new();
        for o in 0..3 {
            buf.put_slice(&batch(o));
        }
        let acc = r.accept(buf.freeze(), &[]).unwrap();
        let firsts: Vec<i64> = acc.ready.iter().map(|b| b.source.first()).collect();
        assert_eq!(firsts, vec![0, 1, 2]);
        // A damaged batch wholly before the wanted offset is not read, so it does not matter.
        let mut buf = BytesMut::new();
        buf.put_slice(&damaged);
        buf.put_slice(&batch(3));
        let acc = r.accept(buf.freeze(), &[]).unwrap();
        assert_eq!(acc.ready.len(), 1);
        assert_eq!(r.fetch_offset(), 4);
    }

    #[test]
    fn a_cut_that_leaves_nothing_is_skipped() {
        let mut r = PartitionReader::new(1);
        let acc = r.accept(batch(0), &[]).unwrap();
        assert!(acc.ready.is_empty());
        assert_eq!(r.fetch_offset(), 1);
    }
}
