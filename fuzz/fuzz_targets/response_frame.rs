//! Response bytes as a broker writes them (size prefix, header, body), decoded as the response
//! to an API and version the input picks. See `clusterlink_kafka::fuzzing::response_frame`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = clusterlink_kafka::fuzzing::response_frame(data);
});
