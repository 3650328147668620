//! A fetched partition's record bytes: split, headers, decompression (capped), records, and
//! encode-decode round trips. See `clusterlink_kafka::fuzzing::record_batches`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = clusterlink_kafka::fuzzing::record_batches(data);
});
