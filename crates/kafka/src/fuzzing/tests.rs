//! The short CI smoke of the fuzz targets (the real fuzzer is `fuzz/`, on nightly): a few
//! thousand random and mutated inputs through [`response_frame`] and [`record_batches`], and the
//! hand-built hostile inputs the issue names, each of which must be a clean error. A regression
//! in the length bounds shows up here as an abort (the allocator refusing hundreds of gigabytes)
//! or a panic, either of which fails the run.

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::ApiKey;
use proptest::prelude::*;

use super::seeds::{batch_seeds, metadata, response_seeds};
use super::{record_batches, response_frame, response_input};
use crate::records::Compression;

/// Kafka's unsigned varint, for hand-built flexible-version bodies.
fn put_uvarint(out: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        out.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

/// Applies edits to a seed: overwrite bytes, splice in runs of 0xff (huge varints and counts),
/// and cut the end.
fn mutate(seed: &[u8], edits: &[(usize, u8, bool)], cut: usize) -> Vec<u8> {
    let mut out = seed.to_vec();
    for &(at, byte, splice) in edits {
        let at = at % (out.len() + 1);
        if splice {
            out.splice(at..at, [0xff, 0xff, 0xff, 0xff, byte]);
        } else if at < out.len() {
            out[at] = byte;
        }
    }
    out.truncate(out.len().saturating_sub(cut % 8));
    out
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8, bool)>> {
    proptest::collection::vec(
        (any::<usize>(), any::<u8>(), proptest::bool::weighted(0.2)),
        1..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn random_responses_never_panic(
        key in any::<u16>(),
        version in any::<u8>(),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut data = vec![(key >> 8) as u8, key as u8, version];
        data.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        data.extend_from_slice(&7i32.to_be_bytes());
        data.extend_from_slice(&body);
        let _ = response_frame(&data);
    }

    #[test]
    fn mutated_responses_never_panic(
        seed in 0usize..7,
        edits in edits(),
        cut in any::<usize>(),
    ) {
        let seeds = response_seeds();
        let _ = response_frame(&mutate(&seeds[seed % seeds.len()], &edits, cut));
    }

    #[test]
    fn random_batches_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = record_batches(&data);
    }

    #[test]
    fn mutated_batches_never_panic(
        seed in 0usize..5,
        edits in edits(),
        cut in any::<usize>(),
    ) {
        let seeds = batch_seeds();
        let _ = record_batches(&mutate(&seeds[seed % seeds.len()], &edits, cut));
    }
}

#[test]
fn the_seeds_decode() {
    for seed in response_seeds() {
        assert_eq!(response_frame(&seed), Ok(()));
    }
    for (seed, c) in batch_seeds().iter().zip(Compression::ALL) {
        assert_eq!(record_batches(seed), Ok(5), "{c:?}");
    }
}

/// A Metadata response whose broker array announces `count` elements and ends there.
fn metadata_announcing(version: i16, count: u64) -> Vec<u8> {
    let mut body = BytesMut::new();
    if version >= 3 {
        body.put_i32(0); // throttle_time_ms
    }
    if version >= 9 {
        put_uvarint(&mut body, count + 1); // compact arrays store the count plus one
    } else {
        body.put_i32(count as i32);
    }
    body.put_slice(&[0; 8]);
    response_input(ApiKey::Metadata, version, 7, &body)
}

#[test]
fn four_billion_element_array_is_an_error() {
    let e = response_frame(&metadata_announcing(12, 4_000_000_000)).unwrap_err();
    assert!(e.contains("exceeds the 8 bytes remaining"), "{e}");
    // At a fixed-length version the count is an i32: two billion, not four.
    let e = response_frame(&metadata_announcing(1, 2_000_000_000)).unwrap_err();
    assert!(e.contains("exceeds the 8 bytes remaining"), "{e}");
}

#[test]
fn negative_array_length_is_an_error() {
    // 4 billion does not fit an i32 count: on the wire it reads as negative.
    let e = response_frame(&metadata_announcing(1, 4_000_000_000)).unwrap_err();
    assert!(e.contains("negative"), "{e}");
}

#[test]
fn string_length_past_the_end_is_an_error() {
    // Metadata v12: throttle time, one broker: node id, then a host claiming 1000 bytes.
    let mut body = BytesMut::new();
    body.put_i32(0);
    put_uvarint(&mut body, 2);
    body.put_i32(1);
    put_uvarint(&mut body, 1001);
    body.put_slice(b"abc");
    let e = response_frame(&response_input(ApiKey::Metadata, 12, 7, &body)).unwrap_err();
    assert!(e.contains("Metadata v12"), "{e}");
    // A huge byte string: the Fetch v12 records field claiming 3 GiB.
    let e = response_frame(&fetch_with_records_claiming(3 << 30)).unwrap_err();
    assert!(e.contains("Fetch v12"), "{e}");
}

/// A Fetch v12 response, one partition, whose records field claims `len` bytes it lacks.
fn fetch_with_records_claiming(len: u64) -> Vec<u8> {
    let mut body = BytesMut::new();
    body.put_i32(0); // throttle_time_ms
    body.put_i16(0); // error_code
    body.put_i32(0); // session_id
    put_uvarint(&mut body, 2); // one topic
    put_uvarint(&mut body, 2); // name "t"
    body.put_u8(b't');
    put_uvarint(&mut body, 2); // one partition
    body.put_i32(0); // partition_index
    body.put_i16(0); // error_code
    body.put_i64(10); // high_watermark
    body.put_i64(10); // last_stable_offset
    body.put_i64(0); // log_start_offset
    put_uvarint(&mut body, 1); // aborted_transactions: empty
    body.put_i32(-1); // preferred_read_replica
    put_uvarint(&mut body, len + 1); // records
    body.put_slice(&[0; 16]);
    response_input(ApiKey::Fetch, 12, 7, &body)
}

#[test]
fn frame_size_outside_the_limit_is_an_error() {
    let mut data = metadata(12);
    data[3..7].copy_from_slice(&i32::MAX.to_be_bytes());
    assert!(response_frame(&data).unwrap_err().contains("outside"));
    data[3..7].copy_from_slice(&(-4i32).to_be_bytes());
    assert!(response_frame(&data).unwrap_err().contains("outside"));
}
