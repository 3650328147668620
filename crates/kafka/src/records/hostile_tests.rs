//! Batches a hostile or broken broker could send: lengths and counts that lie about the bytes
//! behind them, and compression bombs. Each must be a clean [`RecordError`] found without
//! allocating what the lie claims (a regression aborts the test run rather than failing one
//! assertion, which fails it just as well).

use bytes::{BufMut, Bytes, BytesMut};

use super::codec::{compress, put_varint};
use super::*;

/// A v2 batch around `body` as given: header fields by hand, CRC left 0 (decoding does not
/// check it; `verify_crc` does).
fn raw_batch(compression: Compression, record_count: i32, body: &[u8]) -> RawBatch {
    let mut b = BytesMut::new();
    b.put_i64(0); // base offset
    b.put_i32((BATCH_HEADER_LEN - 12 + body.len()) as i32);
    b.put_i32(-1); // partition leader epoch
    b.put_i8(2);
    b.put_u32(0); // crc
    b.put_i16(compression.attribute_bits());
    b.put_i32(record_count.max(1) - 1); // last offset delta
    b.put_i64(0);
    b.put_i64(0);
    b.put_i64(-1);
    b.put_i16(-1);
    b.put_i32(-1);
    b.put_i32(record_count);
    b.put_slice(body);
    RawBatch::new(b.freeze()).unwrap()
}

/// One record whose value is `len` zero bytes: a few kilobytes once compressed.
fn zeros_record(len: usize) -> Bytes {
    let record = Record {
        offset: 0,
        timestamp: 0,
        key: None,
        value: Some(Bytes::from(vec![0; len])),
        headers: vec![],
    };
    let mut plain = BytesMut::new();
    record.encode(0, 0, &mut plain);
    plain.freeze()
}

#[test]
fn compression_bomb_stops_at_the_cap() {
    let plain = zeros_record(8 << 20);
    for c in Compression::ALL {
        if c == Compression::None {
            continue;
        }
        let body = compress(c, plain.clone()).unwrap();
        assert!(body.len() < 1 << 20, "{c:?}: {} bytes", body.len());
        let batch = raw_batch(c, 1, &body);
        let e = batch.records_within(1 << 20).unwrap_err();
        assert_eq!(
            e,
            RecordError::TooLarge {
                codec: c,
                limit: 1 << 20
            },
            "{c:?}"
        );
        // The same batch under a cap it fits is fine: the cap, not the data, stopped it.
        let records = batch.records_within(16 << 20).unwrap();
        assert_eq!(records[0].value.as_ref().map(|v| v.len()), Some(8 << 20));
    }
}

#[test]
fn snappy_announcing_four_gigabytes_is_refused_before_allocating() {
    // Raw snappy starts with the uncompressed length as a varint: here 2^32 - 1.
    let body = [0xff, 0xff, 0xff, 0xff, 0x0f, 0, 1, 2, 3];
    let e = raw_batch(Compression::Snappy, 1, &body)
        .records()
        .unwrap_err();
    assert!(matches!(e, RecordError::TooLarge { .. }), "{e:?}");
    // The same inside xerial framing, as Kafka's Java client writes it.
    let mut framed = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    let e = raw_batch(Compression::Snappy, 1, &framed)
        .records()
        .unwrap_err();
    assert!(matches!(e, RecordError::TooLarge { .. }), "{e:?}");
}

#[test]
fn record_count_beyond_the_bytes_is_an_error() {
    let e = raw_batch(Compression::None, 2_000_000_000, &[0; 10])
        .records()
        .unwrap_err();
    assert!(
        matches!(&e, RecordError::Invalid(m) if m.contains("2000000000 records claimed in 10 bytes")),
        "{e:?}"
    );
}

#[test]
fn lengths_inside_a_record_beyond_the_bytes_are_errors() {
    let record = |fields: &dyn Fn(&mut BytesMut)| {
        let mut r = BytesMut::new();
        r.put_i8(0); // attributes
        put_varint(&mut r, 0); // timestamp delta
        put_varint(&mut r, 0); // offset delta
        fields(&mut r);
        let mut out = BytesMut::new();
        put_varint(&mut out, r.len() as i32);
        out.put_slice(&r);
        raw_batch(Compression::None, 1, &out).records().unwrap_err()
    };
    // A key claiming a gigabyte.
    let e = record(&|r| {
        put_varint(r, 1 << 30);
        r.put_slice(b"abc");
    });
    assert_eq!(e, RecordError::Truncated("record field"));
    // Two billion headers in a few bytes.
    let e = record(&|r| {
        put_varint(r, -1);
        put_varint(r, -1);
        put_varint(r, 2_000_000_000);
        r.put_slice(&[2, b'k']);
    });
    assert!(matches!(e, RecordError::Truncated(_)), "{e:?}");
    // A negative header count.
    let e = record(&|r| {
        put_varint(r, -1);
        put_varint(r, -1);
        put_varint(r, -3);
    });
    assert!(matches!(e, RecordError::Invalid(_)), "{e:?}");
    // A record length past the end of the batch.
    let mut out = BytesMut::new();
    put_varint(&mut out, 1 << 30);
    out.put_slice(&[0; 4]);
    let e = raw_batch(Compression::None, 1, &out).records().unwrap_err();
    assert_eq!(e, RecordError::Truncated("record"));
}

#[test]
fn offsets_that_overflow_are_refused_in_the_header() {
    let mut b = raw_batch(Compression::None, 1, &[]).into_bytes().to_vec();
    b[0..8].copy_from_slice(&i64::MAX.to_be_bytes());
    let e = RawBatch::new(Bytes::from(b)).unwrap_err();
    assert!(matches!(e, RecordError::Invalid(m) if m.contains("overflows")));
}
