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
use clusterlink_kafka::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, MetadataResponse, RequestHeader, ResponseHeader,
};
use clusterlink_kafka::{Client, ClientConfig, Error};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::metadata_response::MetadataResponseBroker;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How many elements the hostile answer announces.
const ANNOUNCED: u64 = 4_000_000_000;

async fn read_request(s: &mut TcpStream) -> Option<(RequestHeader, i16)> {
    let len = s.read_i32().await.ok()?;
    let mut buf = vec![0u8; usize::try_from(len).ok()?];
    s.read_exact(&mut buf).await.ok()?;
    let mut b = Bytes::from(buf);
    let key = ApiKey::try_from(i16::from_be_bytes([b[0], b[1]])).ok()?;
    let version = i16::from_be_bytes([b[2], b[3]]);
    let header = RequestHeader::decode(&mut b, key.request_header_version(version)).ok()?;
    Some((header, version))
}

fn frame(key: ApiKey, version: i16, correlation_id: i32, body: &[u8]) -> Bytes {
    let mut head = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut head, key.response_header_version(version))
        .unwrap();
    let mut out = BytesMut::new();
    out.put_i32((head.len() + body.len()) as i32);
    out.put_slice(&head);
    out.put_slice(body);
    out.freeze()
}

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
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let advertised = addr.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let (advertised, hostile) = (advertised.clone(), hostile.clone());
            tokio::spawn(async move {
                while let Some((h, version)) = read_request(&mut s).await {
                    let Ok(key) = ApiKey::try_from(h.request_api_key) else {
                        return;
                    };
                    let mut body = BytesMut::new();
                    match key {
                        ApiKey::ApiVersions => ApiVersionsResponse::default()
                            .with_api_keys(
                                [ApiKey::ApiVersions, ApiKey::Metadata]
                                    .iter()
                                    .map(|k| {
                                        ApiVersion::default()
                                            .with_api_key(*k as i16)
                                            .with_max_version(k.valid_versions().max)
                                    })
                                    .collect(),
                            )
                            .encode(&mut body, version)
                            .unwrap(),
                        ApiKey::Metadata if hostile.load(Ordering::SeqCst) => {
                            body.put_slice(&hostile_metadata(version));
                        }
                        ApiKey::Metadata => {
                            let (host, port) = advertised.rsplit_once(':').unwrap();
                            MetadataResponse::default()
                                .with_brokers(vec![MetadataResponseBroker::default()
                                    .with_node_id(BrokerId(1))
                                    .with_host(StrBytes::from_string(host.into()))
                                    .with_port(port.parse().unwrap())])
                                .encode(&mut body, version)
                                .unwrap()
                        }
                        _ => return,
                    }
                    if s.write_all(&frame(key, version, h.correlation_id, &body))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    addr
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
