//! The byte level under record batches: the compression codecs, the zig-zag varints and
//! nullable byte strings records are made of, and the one error type of this module.
//!
//! Everything above (headers, records, whole batches) is written in terms of these, so that a
//! malformed length or a varint that overflows is caught in one place, as a [`RecordError`]
//! rather than a panic.
//!
//! Decompression is ours rather than `kafka_protocol::compression`'s because that one inflates
//! whatever the input says, without a limit: a few kilobytes of zstd or gzip from a hostile (or
//! broken) broker can claim gigabytes. Here every codec streams into a buffer that stops at a cap
//! ([`MAX_DECOMPRESSED_BATCH_BYTES`] unless the caller gives another), and snappy's declared
//! lengths are checked against the cap before its output buffer is made. Compression, whose input
//! is ours, still goes through `kafka_protocol::compression`.

use std::io::Read;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::compression::{self as codec, Compressor};

/// The largest a batch's records may be once decompressed, unless the caller sets another limit.
/// Kafka bounds batches by their compressed size (`max.message.bytes`, 1 MiB by default), so a
/// real batch past this would need a compression ratio of over 100 at that size; a hostile one
/// is stopped here rather than at the allocator.
pub const MAX_DECOMPRESSED_BATCH_BYTES: usize = 128 << 20;

/// The xerial framing Kafka's Java client writes around snappy blocks.
const XERIAL_HEADER: &[u8; 16] = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";

/// The attribute bits that name a batch's codec.
const ATTR_COMPRESSION_MASK: i16 = 0x07;

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
    /// The records would decompress to more than the limit; nothing past it was allocated.
    #[error("{codec:?} batch decompresses to more than {limit} bytes")]
    TooLarge {
        /// The batch's codec.
        codec: Compression,
        /// The limit in bytes.
        limit: usize,
    },
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
    pub(super) fn from_attributes(attributes: i16) -> Result<Self, RecordError> {
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

    pub(super) fn attribute_bits(self) -> i16 {
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

fn codec_error(codec: Compression, e: impl std::fmt::Display) -> RecordError {
    RecordError::Codec {
        codec,
        message: e.to_string(),
    }
}

/// Decompresses a batch's records, failing with [`RecordError::TooLarge`] past `limit` bytes.
pub(super) fn decompress(
    compression: Compression,
    body: Bytes,
    limit: usize,
) -> Result<Bytes, RecordError> {
    let failed = |e: std::io::Error| codec_error(compression, e);
    match compression {
        Compression::None => Ok(body),
        Compression::Gzip => read_capped(
            flate2::read::MultiGzDecoder::new(&body[..]),
            compression,
            limit,
        ),
        Compression::Lz4 => {
            let decoder = lz4::Decoder::new(&body[..]).map_err(failed)?;
            read_capped(decoder, compression, limit)
        }
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(&body[..]).map_err(failed)?;
            read_capped(decoder, compression, limit)
        }
        Compression::Snappy => unsnappy(&body, limit),
    }
}

/// Reads a decoder to its end, but never more than `limit` bytes: one byte past it is the error.
fn read_capped(
    decoder: impl Read,
    compression: Compression,
    limit: usize,
) -> Result<Bytes, RecordError> {
    let mut out = Vec::new();
    decoder
        .take((limit as u64).saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| codec_error(compression, e))?;
    if out.len() > limit {
        return Err(RecordError::TooLarge {
            codec: compression,
            limit,
        });
    }
    Ok(out.into())
}

/// Snappy, raw or in xerial blocks; every block's declared length is checked against what is
/// left of the limit before its output is allocated.
fn unsnappy(body: &[u8], limit: usize) -> Result<Bytes, RecordError> {
    let snappy = Compression::Snappy;
    let failed = |e: snap::Error| codec_error(snappy, e);
    let too_large = RecordError::TooLarge {
        codec: snappy,
        limit,
    };
    let mut out = BytesMut::new();
    let block = |compressed: &[u8], out: &mut BytesMut| -> Result<(), RecordError> {
        let len = snap::raw::decompress_len(compressed).map_err(failed)?;
        if len > limit - out.len() {
            return Err(too_large.clone());
        }
        let start = out.len();
        out.resize(start + len, 0);
        snap::raw::Decoder::new()
            .decompress(compressed, &mut out[start..])
            .map_err(failed)?;
        Ok(())
    };
    let Some(mut blocks) = body.strip_prefix(&XERIAL_HEADER[..]) else {
        block(body, &mut out)?;
        return Ok(out.freeze());
    };
    while !blocks.is_empty() {
        if blocks.len() < 4 {
            return Err(RecordError::Truncated("snappy block length"));
        }
        let len = blocks.get_u32() as usize;
        if len > blocks.len() {
            return Err(RecordError::Truncated("snappy block"));
        }
        let (one, rest) = blocks.split_at(len);
        block(one, &mut out)?;
        blocks = rest;
    }
    Ok(out.freeze())
}

pub(super) fn compress(compression: Compression, plain: Bytes) -> Result<Bytes, RecordError> {
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

pub(super) fn get_varlong(buf: &mut &[u8]) -> Result<i64, RecordError> {
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

pub(super) fn get_varint(buf: &mut &[u8]) -> Result<i32, RecordError> {
    let v = get_varlong(buf)?;
    i32::try_from(v).map_err(|_| RecordError::Invalid(format!("varint {v} overflows 32 bits")))
}

pub(super) fn put_varlong(out: &mut BytesMut, v: i64) {
    let mut raw = ((v << 1) ^ (v >> 63)) as u64;
    while raw >= 0x80 {
        out.put_u8((raw as u8) | 0x80);
        raw >>= 7;
    }
    out.put_u8(raw as u8);
}

pub(super) fn put_varint(out: &mut BytesMut, v: i32) {
    put_varlong(out, v as i64)
}

pub(super) fn get_nullable_bytes(buf: &mut &[u8]) -> Result<Option<Bytes>, RecordError> {
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

pub(super) fn put_nullable_bytes(out: &mut BytesMut, v: Option<&[u8]>) {
    match v {
        None => put_varint(out, -1),
        Some(v) => {
            put_varint(out, v.len() as i32);
            out.put_slice(v);
        }
    }
}
