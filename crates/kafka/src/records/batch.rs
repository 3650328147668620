//! Whole batches as bytes: wrapping and checking one ([`RawBatch`]), splitting a fetched buffer
//! into them, rewriting the producer fields a destination needs in place (new CRC-32C, records
//! untouched), and encoding records into a new batch when one must change (offset gaps).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::codec::{compress, decompress, Compression, RecordError, MAX_DECOMPRESSED_BATCH_BYTES};
use super::header::{
    BatchHeader, ATTR_CONTROL, ATTR_TIMESTAMP_TYPE, ATTR_TRANSACTIONAL, BATCH_HEADER_LEN,
    CRC_START, LOG_OVERHEAD,
};
use super::record::Record;

/// One whole record batch, as bytes, with its header already read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBatch {
    header: BatchHeader,
    bytes: Bytes,
}

impl RawBatch {
    /// Wraps the bytes of exactly one batch.
    pub fn new(bytes: Bytes) -> Result<Self, RecordError> {
        let header = BatchHeader::parse(&bytes)?;
        if header.total_len() != bytes.len() {
            return Err(RecordError::Invalid(format!(
                "batch declares {} bytes but {} were given",
                header.total_len(),
                bytes.len()
            )));
        }
        Ok(RawBatch { header, bytes })
    }

    /// The header.
    pub fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// The batch bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Consumes the batch, returning its bytes.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// Checks the CRC-32C.
    pub fn verify_crc(&self) -> Result<(), RecordError> {
        let computed = crc32c::crc32c(&self.bytes[CRC_START..]);
        if computed == self.header.crc {
            Ok(())
        } else {
            Err(RecordError::CorruptCrc {
                base_offset: self.header.base_offset,
                stored: self.header.crc,
                computed,
            })
        }
    }

    /// Returns the batch as a destination producer writes it: producer id, epoch and base
    /// sequence replaced, the transactional bit cleared (the destination is not in the source's
    /// transaction), the base offset 0 and the leader epoch reset (Kafka refuses client batches
    /// with other values; the broker assigns both), and the CRC recomputed. Records are untouched.
    pub fn for_producer(&self, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Self {
        let mut b = BytesMut::from(&self.bytes[..]);
        b[0..8].copy_from_slice(&0i64.to_be_bytes());
        b[12..16].copy_from_slice(&(-1i32).to_be_bytes());
        let attributes = self.header.attributes & !ATTR_TRANSACTIONAL;
        b[21..23].copy_from_slice(&attributes.to_be_bytes());
        b[43..51].copy_from_slice(&producer_id.to_be_bytes());
        b[51..53].copy_from_slice(&producer_epoch.to_be_bytes());
        b[53..57].copy_from_slice(&base_sequence.to_be_bytes());
        let crc = crc32c::crc32c(&b[CRC_START..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        let header = BatchHeader {
            base_offset: 0,
            partition_leader_epoch: -1,
            crc,
            attributes,
            producer_id,
            producer_epoch,
            base_sequence,
            ..self.header.clone()
        };
        RawBatch {
            header,
            bytes: b.freeze(),
        }
    }

    /// Decodes the records (decompressing them if needed, up to
    /// [`MAX_DECOMPRESSED_BATCH_BYTES`]).
    pub fn records(&self) -> Result<Vec<Record>, RecordError> {
        self.records_within(MAX_DECOMPRESSED_BATCH_BYTES)
    }

    /// Decodes the records; records that decompress to more than `limit` bytes are
    /// [`RecordError::TooLarge`], found without allocating past the limit.
    pub fn records_within(&self, limit: usize) -> Result<Vec<Record>, RecordError> {
        let h = &self.header;
        let compression = h.compression();
        let body = self.bytes.slice(BATCH_HEADER_LEN..);
        let plain = decompress(compression, body, limit)?;
        let mut buf = &plain[..];
        if h.record_count < 0 || h.record_count as usize > buf.len() {
            return Err(RecordError::Invalid(format!(
                "{} records claimed in {} bytes",
                h.record_count,
                buf.len()
            )));
        }
        // A count from the wire is not trusted for allocation: every record takes >= 7 bytes.
        let mut records = Vec::with_capacity((h.record_count as usize).min(buf.len() / 7 + 1));
        for _ in 0..h.record_count {
            records.push(Record::decode(&mut buf, h)?);
        }
        if buf.has_remaining() {
            return Err(RecordError::Invalid(format!(
                "{} bytes left after {} records",
                buf.remaining(),
                h.record_count
            )));
        }
        Ok(records)
    }

    /// Re-encodes the batch with consecutive offsets from its base offset, keeping codec,
    /// timestamps, producer fields and records. Needed for batches with offset gaps, which
    /// brokers refuse on produce. Returns the new batch and, per record, its old offset.
    pub fn renumbered(&self) -> Result<(Self, Vec<i64>), RecordError> {
        let mut records = self.records()?;
        let old: Vec<i64> = records.iter().map(|r| r.offset).collect();
        for (i, r) in records.iter_mut().enumerate() {
            r.offset = self
                .header
                .base_offset
                .checked_add(i as i64)
                .ok_or_else(|| RecordError::Invalid("renumbered offsets overflow".into()))?;
        }
        let spec = BatchSpec::from_header(&self.header);
        Ok((encode_batch(&spec, &records)?, old))
    }
}

/// Splits a fetched buffer into whole batches. A trailing partial batch (brokers cut the last
/// one at the fetch size limit) is dropped, not an error; a batch that cannot be read is.
pub fn split_batches(mut buf: Bytes) -> Result<Vec<RawBatch>, RecordError> {
    let mut batches = Vec::new();
    while buf.len() >= LOG_OVERHEAD {
        let declared = i32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        if declared < 0 {
            return Err(RecordError::Invalid(format!(
                "negative batch length {declared}"
            )));
        }
        let total = declared as usize + LOG_OVERHEAD;
        if total > buf.len() {
            break;
        }
        let one = buf.split_to(total);
        batches.push(RawBatch::new(one)?);
    }
    Ok(batches)
}

/// The batch-level fields of a batch to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSpec {
    /// Codec for the records.
    pub compression: Compression,
    /// Whether timestamps are log-append time.
    pub log_append_time: bool,
    /// Transactional bit.
    pub transactional: bool,
    /// Control bit.
    pub control: bool,
    /// Producer id, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Base sequence, or -1.
    pub base_sequence: i32,
    /// Partition leader epoch (-1 from producers).
    pub partition_leader_epoch: i32,
}

impl BatchSpec {
    /// A plain batch: no producer, no transaction, create time.
    pub fn plain(compression: Compression) -> Self {
        BatchSpec {
            compression,
            log_append_time: false,
            transactional: false,
            control: false,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            partition_leader_epoch: -1,
        }
    }

    /// The batch-level fields of an existing batch.
    pub fn from_header(h: &BatchHeader) -> Self {
        BatchSpec {
            compression: h.compression(),
            log_append_time: h.is_log_append_time(),
            transactional: h.is_transactional(),
            control: h.is_control(),
            producer_id: h.producer_id,
            producer_epoch: h.producer_epoch,
            base_sequence: h.base_sequence,
            partition_leader_epoch: h.partition_leader_epoch,
        }
    }
}

/// Encodes records into one v2 batch. The base offset is the first record's offset; records
/// must be in offset order. With log-append time, the max timestamp is the first record's.
pub fn encode_batch(spec: &BatchSpec, records: &[Record]) -> Result<RawBatch, RecordError> {
    let first = records
        .first()
        .ok_or_else(|| RecordError::Invalid("a batch needs at least one record".into()))?;
    let base_offset = first.offset;
    let last = records.last().map_or(base_offset, |r| r.offset);
    if records.windows(2).any(|w| w[1].offset <= w[0].offset) {
        return Err(RecordError::Invalid("record offsets must increase".into()));
    }
    let last_offset_delta = last
        .checked_sub(base_offset)
        .and_then(|span| i32::try_from(span).ok())
        .ok_or_else(|| RecordError::Invalid("offset span exceeds a batch".into()))?;
    let base_timestamp = records.iter().map(|r| r.timestamp).min().unwrap_or(-1);
    let max_timestamp = if spec.log_append_time {
        first.timestamp
    } else {
        records.iter().map(|r| r.timestamp).max().unwrap_or(-1)
    };
    let mut plain = BytesMut::new();
    for r in records {
        r.encode(base_offset, base_timestamp, &mut plain);
    }
    let body = compress(spec.compression, plain.freeze())?;

    let mut attributes = spec.compression.attribute_bits();
    if spec.log_append_time {
        attributes |= ATTR_TIMESTAMP_TYPE;
    }
    if spec.transactional {
        attributes |= ATTR_TRANSACTIONAL;
    }
    if spec.control {
        attributes |= ATTR_CONTROL;
    }
    let mut b = BytesMut::with_capacity(BATCH_HEADER_LEN + body.len());
    b.put_i64(base_offset);
    b.put_i32((BATCH_HEADER_LEN - LOG_OVERHEAD + body.len()) as i32);
    b.put_i32(spec.partition_leader_epoch);
    b.put_i8(2);
    b.put_u32(0); // CRC, filled below
    b.put_i16(attributes);
    b.put_i32(last_offset_delta);
    b.put_i64(base_timestamp);
    b.put_i64(max_timestamp);
    b.put_i64(spec.producer_id);
    b.put_i16(spec.producer_epoch);
    b.put_i32(spec.base_sequence);
    b.put_i32(records.len() as i32);
    b.put_slice(&body);
    let crc = crc32c::crc32c(&b[CRC_START..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    RawBatch::new(b.freeze())
}
