//! A hostile broker: the handshake and first Metadata answer are correct, then, while the test
//! says so, every Metadata answer is a small frame whose broker array announces 4 billion
//! elements. The client must turn that into a clean protocol error quickly (not try to allocate
//! the array, which would abort the process), and keep working once the broker behaves.
//!
//! The broker is hand-written because no real broker can be made to send this: the fault is in
//! the bytes of a response, which Kafka and tansu always encode correctly. The other wire faults
//! a fake can inject (truncation, garbage, wrong correlation id, oversized frames) are in
//! `faults.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use clusterlink_kafka::messages::ApiKey;
use clusterlink_kafka::{Client, ClientConfig, Error};

mod fake_broker;

use fake_broker::Reply;

/// How many elements the hostile answer announces.
const ANNOUNCED: u64 = 4_000_000_000;

/// A Metadata body whose broker array announces [`ANNOUNCED`] elements, then stops.
fn hostile_metadata(version: i16) -> Bytes {
    let mut body = BytesMut::new();
    if version >= 3 {
        body.put_i32(0); // throttle_time_ms
    }
    if version >= 9 {
        // A compact array stores the count plus one as an unsigned varint.
        let mut n = ANNOUNCED + 1;
        while n >= 0x80 {
            body.put_u8((n as u8) | 0x80);
            n >>= 7;
        }
        body.put_u8(n as u8);
    } else {
        body.put_i32(i32::MAX); // the most an old version's i32 count can announce
    }
    body.put_slice(&[0; 16]);
    body.freeze()
}

/// Serves the fake broker; Metadata answers are hostile while `hostile` is set.
async fn fake_broker(hostile: Arc<AtomicBool>) -> String {
    fake_broker::start(move |version, correlation_id, honest| {
        let body = if hostile.load(Ordering::SeqCst) {
            hostile_metadata(version)
        } else {
            honest
        };
        Reply::Bytes(fake_broker::frame(
            ApiKey::Metadata,
            version,
            correlation_id,
            &body,
        ))
    })
    .await
}

#[tokio::test]
async fn four_billion_element_array_is_a_clean_error_and_the_client_recovers() {
    let hostile = Arc::new(AtomicBool::new(false));
    let addr = fake_broker(hostile.clone()).await;
    let mut config = ClientConfig::new(&addr);
    config.connection.request_timeout = Duration::from_secs(2);
    config.retry.timeout = Duration::from_secs(2);
    let client = Client::connect(config)
        .await
        .expect("the handshake is honest");

    hostile.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let e = tokio::time::timeout(Duration::from_secs(10), client.refresh_metadata(None))
        .await
        .expect("client hung")
        .expect_err("a 4-billion-element array in a small frame cannot decode");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(&e, Error::Protocol { message, .. } if message.contains("exceeds")),
        "{e:?}"
    );
    assert_eq!(e.category(), "protocol");

    // The frame itself was well formed, so the client goes on: the next answer is honest.
    hostile.store(false, Ordering::SeqCst);
    let md = client
        .refresh_metadata(None)
        .await
        .expect("the client is still usable");
    assert_eq!(md.brokers.get(&1), Some(&addr));
}
