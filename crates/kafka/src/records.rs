//! Record batches (message format v2) as bytes: the unit the mirror moves.
//!
//! Mirroring keeps a batch's bytes wherever it can, because decompressing and recompressing is
//! what makes a consume → produce pipeline slow. So this module works on raw batches first:
//! headers are read without touching the (possibly compressed) records, a fetched buffer is split
//! into whole batches, and the producer fields a destination needs are rewritten in place with a
//! new CRC-32C. Only batches that must change (offset gaps, which a broker refuses on produce) are
//! decoded and re-encoded, with their codec kept.
//!
//! Records are decoded by our own code rather than `kafka_protocol::records`, because that one
//! folds duplicate header keys into a map, and Kafka allows them; the codecs themselves come from
//! `kafka_protocol::compression`.

use std::collections::{HashSet, VecDeque};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::compression::{self as codec, Compressor, Decompressor};

/// Size of the v2 batch header, up to and including the record count.
pub const BATCH_HEADER_LEN: usize = 61;
/// Offset of the fields the CRC covers (attributes to the end of the batch).
const CRC_START: usize = 21;
/// Bytes before the `batchLength` field's coverage starts (base offset + the length itself).
const LOG_OVERHEAD: usize = 12;

const ATTR_COMPRESSION_MASK: i16 = 0x07;
const ATTR_TIMESTAMP_TYPE: i16 = 0x08;
const ATTR_TRANSACTIONAL: i16 = 0x10;
const ATTR_CONTROL: i16 = 0x20;

/// Why bytes could not be read or written as record batches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The buffer ends inside the structure being read.
    #[error("record data truncated: {0}")]
    Truncated(&'static str),
    /// The batch is in message format v0 or v1, which only old brokers still write.
    #[error("unsupported record batch magic {0} (only message format v2 is supported)")]
    UnsupportedMagic(i8),
    /// The stored CRC does not match the batch contents.
    #[error("record batch at offset {base_offset} is corrupt: crc {stored:#010x}, computed {computed:#010x}")]
    CorruptCrc {
        /// Base offset of the corrupt batch.
        base_offset: i64,
        /// CRC found in the header.
        stored: u32,
        /// CRC computed over the batch.
        computed: u32,
    },
    /// A field has a value the format does not allow.
    #[error("invalid record batch: {0}")]
    Invalid(String),
    /// The codec failed to compress or decompress.
    #[error("{codec:?} codec failed: {message}")]
    Codec {
        /// The batch's codec.
        codec: Compression,
        /// What the codec reported.
        message: String,
    },
}

/// The codec of a batch, from the low three bits of its attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Records stored as they are.
    None,
    /// gzip.
    Gzip,
    /// Snappy (raw or xerial-framed when read; xerial-framed when written, as Kafka does).
    Snappy,
    /// LZ4 frame format.
    Lz4,
    /// Zstandard.
    Zstd,
}

impl Compression {
    fn from_attributes(attributes: i16) -> Result<Self, RecordError> {
        Ok(match attributes & ATTR_COMPRESSION_MASK {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            other => {
                return Err(RecordError::Invalid(format!(
                    "unknown compression codec {other}"
                )))
            }
        })
    }

    fn attribute_bits(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// Every codec, for tests and benchmarks that cover them all.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
}

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

    /// Decodes the records (decompressing them if needed).
    pub fn records(&self) -> Result<Vec<Record>, RecordError> {
        let h = &self.header;
        let compression = h.compression();
        let body = self.bytes.slice(BATCH_HEADER_LEN..);
        let plain = decompress(compression, body)?;
        let mut buf = &plain[..];
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
            r.offset = self.header.base_offset + i as i64;
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

/// The kind of a control record (a transaction marker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlType {
    /// The transaction was aborted.
    Abort,
    /// The transaction was committed.
    Commit,
    /// A marker this client does not know.
    Other(i16),
}

/// A record header. Keys are kept as bytes: Kafka calls them strings but does not check them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header key.
    pub key: Bytes,
    /// Header value; `None` is a null value.
    pub value: Option<Bytes>,
}

/// One record, with its absolute offset and timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Offset in the partition.
    pub offset: i64,
    /// Timestamp in milliseconds (create or append time, as the batch says).
    pub timestamp: i64,
    /// Key; `None` is a null key.
    pub key: Option<Bytes>,
    /// Value; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Headers, in order, duplicates kept.
    pub headers: Vec<Header>,
}

impl Record {
    fn decode(buf: &mut &[u8], h: &BatchHeader) -> Result<Self, RecordError> {
        let len = get_varint(buf)?;
        if len < 0 || len as usize > buf.len() {
            return Err(RecordError::Truncated("record"));
        }
        let (mut r, rest) = buf.split_at(len as usize);
        *buf = rest;
        if r.is_empty() {
            return Err(RecordError::Truncated("record attributes"));
        }
        r.advance(1); // record attributes: unused in v2
        let timestamp_delta = get_varlong(&mut r)?;
        let offset_delta = get_varint(&mut r)?;
        let key = get_nullable_bytes(&mut r)?;
        let value = get_nullable_bytes(&mut r)?;
        let header_count = get_varint(&mut r)?;
        if header_count < 0 {
            return Err(RecordError::Invalid(format!(
                "negative header count {header_count}"
            )));
        }
        let mut headers = Vec::with_capacity((header_count as usize).min(r.len() / 2 + 1));
        for _ in 0..header_count {
            let key = get_nullable_bytes(&mut r)?
                .ok_or_else(|| RecordError::Invalid("null header key".into()))?;
            let value = get_nullable_bytes(&mut r)?;
            headers.push(Header { key, value });
        }
        if !r.is_empty() {
            return Err(RecordError::Invalid(format!(
                "{} bytes left in record",
                r.len()
            )));
        }
        let timestamp = if h.is_log_append_time() {
            h.max_timestamp
        } else {
            h.base_timestamp.wrapping_add(timestamp_delta)
        };
        Ok(Record {
            offset: h.base_offset.wrapping_add(offset_delta as i64),
            timestamp,
            key,
            value,
            headers,
        })
    }

    /// For a record of a control batch, the marker type.
    pub fn control_type(&self) -> Option<ControlType> {
        let key = self.key.as_ref()?;
        if key.len() < 4 {
            return None;
        }
        Some(match i16::from_be_bytes([key[2], key[3]]) {
            0 => ControlType::Abort,
            1 => ControlType::Commit,
            other => ControlType::Other(other),
        })
    }

    fn encode(&self, base_offset: i64, base_timestamp: i64, out: &mut BytesMut) {
        let mut body = BytesMut::with_capacity(
            16 + self.key.as_ref().map_or(0, |k| k.len())
                + self.value.as_ref().map_or(0, |v| v.len()),
        );
        body.put_i8(0);
        put_varlong(&mut body, self.timestamp.wrapping_sub(base_timestamp));
        put_varint(&mut body, (self.offset - base_offset) as i32);
        put_nullable_bytes(&mut body, self.key.as_deref());
        put_nullable_bytes(&mut body, self.value.as_deref());
        put_varint(&mut body, self.headers.len() as i32);
        for h in &self.headers {
            put_nullable_bytes(&mut body, Some(&h.key));
            put_nullable_bytes(&mut body, h.value.as_deref());
        }
        put_varint(out, body.len() as i32);
        out.put_slice(&body);
    }
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
    let last_offset_delta = i32::try_from(last - base_offset)
        .map_err(|_| RecordError::Invalid("offset span exceeds a batch".into()))?;
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

/// An aborted transaction as a Fetch response lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    /// The producer whose transaction was aborted.
    pub producer_id: i64,
    /// Offset of the transaction's first record.
    pub first_offset: i64,
}

/// Keeps only committed data, in source order, the way a read_committed consumer sees it.
///
/// Two sources of truth are combined. A fetch response's aborted-transaction list marks a
/// producer's batches as aborted from the listed offset on: those are dropped at once. But not
/// every broker sends that list (librdkafka's mock cluster never does), so a transactional batch
/// that is not known to be aborted is *held* until its producer's marker (a control batch)
/// arrives: COMMIT releases it, ABORT drops it. Batches behind a held one wait too, so output
/// order is always source order. Control batches themselves are never output.
#[derive(Debug, Default)]
pub struct TxnResolver {
    /// Aborted transactions not yet reached, sorted by first offset.
    pending_aborts: Vec<AbortedTxn>,
    /// Producers whose current transaction is known (from the list) to be aborted.
    aborting: HashSet<i64>,
    /// Batches in source order from the first unresolved one on.
    held: VecDeque<(RawBatch, Fate)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Keep,
    Unresolved(i64),
}

/// What the resolver decided about the batches pushed so far.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Committed batches, in source order, ready to write.
    pub ready: Vec<RawBatch>,
    /// Batches dropped: control markers and aborted data.
    pub dropped: u64,
}

impl TxnResolver {
    /// A resolver with nothing held.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a fetch response's aborted-transaction list.
    pub fn add_aborted(&mut self, aborted: &[AbortedTxn]) {
        for a in aborted {
            if !self.pending_aborts.contains(a) {
                self.pending_aborts.push(*a);
            }
        }
        self.pending_aborts.sort_by_key(|a| a.first_offset);
    }

    /// Offset of the first held batch: where a restart must resume to lose nothing.
    pub fn first_held_offset(&self) -> Option<i64> {
        self.held.front().map(|(b, _)| b.header().base_offset)
    }

    /// Number of held batches.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Feeds the next batch (in offset order); returns what became ready.
    pub fn push(&mut self, batch: RawBatch, out: &mut Resolved) {
        let h = batch.header();
        while let Some(first) = self.pending_aborts.first() {
            if first.first_offset > h.last_offset() {
                break;
            }
            self.aborting.insert(first.producer_id);
            self.pending_aborts.remove(0);
        }
        if h.is_control() {
            let pid = h.producer_id;
            let commit = batch
                .records()
                .ok()
                .and_then(|r| r.first().and_then(Record::control_type))
                == Some(ControlType::Commit);
            // The list may have said "aborted" already; the marker is final either way.
            let commit = commit && !self.aborting.remove(&pid);
            self.aborting.remove(&pid);
            out.dropped += 1;
            let before = self.held.len();
            self.held
                .retain(|(_, fate)| commit || *fate != Fate::Unresolved(pid));
            out.dropped += (before - self.held.len()) as u64;
            for (_, fate) in self.held.iter_mut() {
                if *fate == Fate::Unresolved(pid) {
                    *fate = Fate::Keep;
                }
            }
            self.release(out);
            return;
        }
        if h.is_transactional() && self.aborting.contains(&h.producer_id) {
            out.dropped += 1;
            return;
        }
        let fate = if h.is_transactional() {
            Fate::Unresolved(h.producer_id)
        } else {
            Fate::Keep
        };
        self.held.push_back((batch, fate));
        self.release(out);
    }

    fn release(&mut self, out: &mut Resolved) {
        while let Some((_, Fate::Keep)) = self.held.front() {
            if let Some((b, _)) = self.held.pop_front() {
                out.ready.push(b);
            }
        }
    }
}

fn codec_error(codec: Compression, e: impl std::fmt::Display) -> RecordError {
    RecordError::Codec {
        codec,
        message: e.to_string(),
    }
}

fn decompress(compression: Compression, body: Bytes) -> Result<Bytes, RecordError> {
    fn run<D: Decompressor<Bytes>>(mut body: Bytes) -> anyhow::Result<Bytes> {
        D::decompress(&mut body, |b| Ok(b.copy_to_bytes(b.remaining())))
    }
    let out = match compression {
        Compression::None => return Ok(body),
        Compression::Gzip => run::<codec::Gzip>(body),
        Compression::Snappy => run::<codec::Snappy>(body),
        Compression::Lz4 => run::<codec::Lz4>(body),
        Compression::Zstd => run::<codec::Zstd>(body),
    };
    out.map_err(|e| codec_error(compression, e))
}

fn compress(compression: Compression, plain: Bytes) -> Result<Bytes, RecordError> {
    fn run<C: Compressor<BytesMut>>(plain: &Bytes) -> anyhow::Result<Bytes> {
        let mut out = BytesMut::with_capacity(plain.len() / 2 + 64);
        C::compress(&mut out, |b| {
            b.put_slice(plain);
            Ok(())
        })?;
        Ok(out.freeze())
    }
    let out = match compression {
        Compression::None => return Ok(plain),
        Compression::Gzip => run::<codec::Gzip>(&plain),
        Compression::Snappy => run::<codec::Snappy>(&plain),
        Compression::Lz4 => run::<codec::Lz4>(&plain),
        Compression::Zstd => run::<codec::Zstd>(&plain),
    };
    out.map_err(|e| codec_error(compression, e))
}

fn get_varlong(buf: &mut &[u8]) -> Result<i64, RecordError> {
    let mut raw: u64 = 0;
    for shift in (0..70).step_by(7) {
        if buf.is_empty() {
            return Err(RecordError::Truncated("varint"));
        }
        let byte = buf.get_u8();
        if shift == 63 && byte > 1 {
            return Err(RecordError::Invalid("varint overflows 64 bits".into()));
        }
        raw |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
    }
    Err(RecordError::Invalid("varint longer than 10 bytes".into()))
}

fn get_varint(buf: &mut &[u8]) -> Result<i32, RecordError> {
    let v = get_varlong(buf)?;
    i32::try_from(v).map_err(|_| RecordError::Invalid(format!("varint {v} overflows 32 bits")))
}

fn put_varlong(out: &mut BytesMut, v: i64) {
    let mut raw = ((v << 1) ^ (v >> 63)) as u64;
    while raw >= 0x80 {
        out.put_u8((raw as u8) | 0x80);
        raw >>= 7;
    }
    out.put_u8(raw as u8);
}

fn put_varint(out: &mut BytesMut, v: i32) {
    put_varlong(out, v as i64)
}

fn get_nullable_bytes(buf: &mut &[u8]) -> Result<Option<Bytes>, RecordError> {
    let len = get_varint(buf)?;
    if len < 0 {
        return Ok(None);
    }
    let len = len as usize;
    if len > buf.len() {
        return Err(RecordError::Truncated("record field"));
    }
    let (v, rest) = buf.split_at(len);
    *buf = rest;
    Ok(Some(Bytes::copy_from_slice(v)))
}

fn put_nullable_bytes(out: &mut BytesMut, v: Option<&[u8]>) {
    match v {
        None => put_varint(out, -1),
        Some(v) => {
            put_varint(out, v.len() as i32);
            out.put_slice(v);
        }
    }
}

#[cfg(test)]
mod tests;
