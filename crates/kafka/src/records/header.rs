//! The v2 batch header: its layout, its attribute bits, and reading it without touching the
//! (possibly compressed) records behind it, which is what lets the mirror move batches as bytes.

use bytes::Buf;

use super::codec::{Compression, RecordError};

/// Size of the v2 batch header, up to and including the record count.
pub const BATCH_HEADER_LEN: usize = 61;
/// Offset of the fields the CRC covers (attributes to the end of the batch).
pub(super) const CRC_START: usize = 21;
/// Bytes before the `batchLength` field's coverage starts (base offset + the length itself).
pub(super) const LOG_OVERHEAD: usize = 12;

/// Attribute bits: timestamps are log-append time; the batch is transactional; it holds a
/// control record (the codec's bits are `codec`'s).
pub(super) const ATTR_TIMESTAMP_TYPE: i16 = 0x08;
pub(super) const ATTR_TRANSACTIONAL: i16 = 0x10;
pub(super) const ATTR_CONTROL: i16 = 0x20;

/// What a batch header says, read without decompressing the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes after the length field; the whole batch is `batch_length + 12` bytes.
    pub batch_length: i32,
    /// Leader epoch when the batch was appended (not covered by the CRC).
    pub partition_leader_epoch: i32,
    /// Message format version; always 2 here.
    pub magic: i8,
    /// CRC-32C of everything from the attributes on.
    pub crc: u32,
    /// Raw attribute bits.
    pub attributes: i16,
    /// Offset of the last record relative to `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp in the batch.
    pub max_timestamp: i64,
    /// Producer id, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence of the first record, or -1.
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub record_count: i32,
}

impl BatchHeader {
    /// Reads the header at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, RecordError> {
        if bytes.len() < 17 {
            return Err(RecordError::Truncated("batch header"));
        }
        let magic = bytes[16] as i8;
        if magic != 2 {
            return Err(RecordError::UnsupportedMagic(magic));
        }
        if bytes.len() < BATCH_HEADER_LEN {
            return Err(RecordError::Truncated("batch header"));
        }
        let mut b = bytes;
        let header = BatchHeader {
            base_offset: b.get_i64(),
            batch_length: b.get_i32(),
            partition_leader_epoch: b.get_i32(),
            magic: b.get_i8(),
            crc: b.get_u32(),
            attributes: b.get_i16(),
            last_offset_delta: b.get_i32(),
            base_timestamp: b.get_i64(),
            max_timestamp: b.get_i64(),
            producer_id: b.get_i64(),
            producer_epoch: b.get_i16(),
            base_sequence: b.get_i32(),
            record_count: b.get_i32(),
        };
        if (header.batch_length as i64) < (BATCH_HEADER_LEN - LOG_OVERHEAD) as i64 {
            return Err(RecordError::Invalid(format!(
                "batch length {} is shorter than a batch header",
                header.batch_length
            )));
        }
        if header.record_count < 0 || header.last_offset_delta < 0 {
            return Err(RecordError::Invalid(format!(
                "negative record count {} or last offset delta {}",
                header.record_count, header.last_offset_delta
            )));
        }
        if header
            .base_offset
            .checked_add(header.last_offset_delta as i64 + 1)
            .is_none()
        {
            return Err(RecordError::Invalid(format!(
                "base offset {} plus last offset delta {} overflows",
                header.base_offset, header.last_offset_delta
            )));
        }
        Compression::from_attributes(header.attributes)?;
        Ok(header)
    }

    /// The batch's codec.
    pub fn compression(&self) -> Compression {
        Compression::from_attributes(self.attributes).unwrap_or(Compression::None)
    }

    /// Whether the batch belongs to a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }

    /// Whether the batch holds a control record (a transaction marker).
    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }

    /// Whether timestamps are the broker's append time rather than the producer's.
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & ATTR_TIMESTAMP_TYPE != 0
    }

    /// Offset of the last record in the batch.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }

    /// Offset following the batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    /// Total size of the batch in bytes.
    pub fn total_len(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }

    /// Whether the records' offsets are consecutive (no gaps left by compaction or the broker).
    pub fn is_dense(&self) -> bool {
        self.record_count as i64 == self.last_offset_delta as i64 + 1
    }
}
