//! One record of a v2 batch, decoded: offset, timestamp, key, value and headers (duplicate
//! header keys kept, which is why records are decoded here rather than by
//! `kafka_protocol::records`), and the control records that mark a transaction's end.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::codec::{
    get_nullable_bytes, get_varint, get_varlong, put_nullable_bytes, put_varint, put_varlong,
    RecordError,
};
use super::header::BatchHeader;

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
    pub(super) fn decode(buf: &mut &[u8], h: &BatchHeader) -> Result<Self, RecordError> {
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

    pub(super) fn encode(&self, base_offset: i64, base_timestamp: i64, out: &mut BytesMut) {
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
