//! Fault injection the real brokers cannot do: a hand-written fake broker that answers the
//! version handshake correctly and then misbehaves on Metadata in one chosen way. The client
//! must return a typed error every time, and never panic or hang. No peer runs here: the
//! faults a real broker can be put through (answers lost, connections cut, on Apache Kafka and
//! tansu) are in `lost_answers.rs` and `brokers.rs`.

use std::time::Duration;

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

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The Metadata body cut in half.
    Truncated,
    /// Random bytes instead of the Metadata body.
    Garbage,
    /// A response with a correlation id nobody asked for.
    WrongCorrelationId,
    /// No answer at all.
    Silence,
    /// A frame length far above the client's limit.
    HugeFrame,
    /// The connection closed mid-frame.
    CloseMidFrame,
}

async fn read_request(s: &mut TcpStream) -> Option<(RequestHeader, i16)> {
    let len = s.read_i32().await.ok()?;
    let mut buf = vec![0u8; len as usize];
    s.read_exact(&mut buf).await.ok()?;
    let mut b = Bytes::from(buf);
    let key = ApiKey::try_from(i16::from_be_bytes([b[0], b[1]])).ok()?;
    let version = i16::from_be_bytes([b[2], b[3]]);
    let header = RequestHeader::decode(&mut b, key.request_header_version(version)).ok()?;
    Some((header, version))
}

fn frame(key: ApiKey, version: i16, correlation_id: i32, body: &[u8]) -> Bytes {
    let mut out = BytesMut::new();
    let mut head = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut head, key.response_header_version(version))
        .unwrap();
    out.put_i32((head.len() + body.len()) as i32);
    out.put_slice(&head);
    out.put_slice(body);
    out.freeze()
}

/// Serves one fake broker on a free port; returns its address.
async fn fake_broker(fault: Fault) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let advertised = addr.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let advertised = advertised.clone();
            tokio::spawn(async move {
                while let Some((h, version)) = read_request(&mut s).await {
                    let key = ApiKey::try_from(h.request_api_key).unwrap();
                    let mut body = BytesMut::new();
                    match key {
                        ApiKey::ApiVersions => {
                            let keys = [ApiKey::ApiVersions, ApiKey::Metadata]
                                .iter()
                                .map(|k| {
                                    ApiVersion::default()
                                        .with_api_key(*k as i16)
                                        .with_min_version(0)
                                        .with_max_version(k.valid_versions().max)
                                })
                                .collect();
                            ApiVersionsResponse::default()
                                .with_api_keys(keys)
                                .encode(&mut body, version)
                                .unwrap();
                            s.write_all(&frame(key, version, h.correlation_id, &body))
                                .await
                                .unwrap();
                        }
                        ApiKey::Metadata => {
                            let (host, port) = advertised.rsplit_once(':').unwrap();
                            MetadataResponse::default()
                                .with_brokers(vec![MetadataResponseBroker::default()
                                    .with_node_id(BrokerId(1))
                                    .with_host(StrBytes::from_string(host.into()))
                                    .with_port(port.parse().unwrap())])
                                .encode(&mut body, version)
                                .unwrap();
                            let out = match fault {
                                Fault::Truncated => {
                                    frame(key, version, h.correlation_id, &body[..body.len() / 2])
                                }
                                Fault::Garbage => frame(key, version, h.correlation_id, &[0xff; 7]),
                                Fault::WrongCorrelationId => {
                                    frame(key, version, h.correlation_id + 1000, &body)
                                }
                                Fault::Silence => continue,
                                Fault::HugeFrame => {
                                    Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0])
                                }
                                Fault::CloseMidFrame => {
                                    let f = frame(key, version, h.correlation_id, &body);
                                    s.write_all(&f[..f.len() - 3]).await.unwrap();
                                    return;
                                }
                            };
                            if s.write_all(&out).await.is_err() {
                                return;
                            }
                        }
                        _ => return,
                    }
                }
            });
        }
    });
    addr
}

async fn connect_to(fault: Fault) -> Error {
    let addr = fake_broker(fault).await;
    let mut config = ClientConfig::new(&addr);
    config.connection.request_timeout = Duration::from_millis(500);
    config.connection.max_response_bytes = 1 << 20;
    config.retry.timeout = Duration::from_millis(800);
    let r = tokio::time::timeout(Duration::from_secs(10), Client::connect(config))
        .await
        .expect("client hung");
    let e = r.expect_err("a misbehaving broker must fail the bootstrap");
    match e {
        Error::RetriesExhausted { last, .. } => *last,
        other => other,
    }
}

#[tokio::test]
async fn truncated_response_is_a_protocol_error() {
    let e = connect_to(Fault::Truncated).await;
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
    assert_eq!(e.category(), "protocol");
}

#[tokio::test]
async fn garbage_response_is_a_protocol_error() {
    let e = connect_to(Fault::Garbage).await;
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
}

#[tokio::test]
async fn unknown_correlation_id_closes_the_connection() {
    let e = connect_to(Fault::WrongCorrelationId).await;
    assert!(
        matches!(&e, Error::Connection { message, .. } if message.contains("correlation id")),
        "{e:?}"
    );
}

#[tokio::test]
async fn silent_broker_times_out() {
    let e = connect_to(Fault::Silence).await;
    assert!(
        matches!(
            e,
            Error::Timeout {
                api: ApiKey::Metadata,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn oversized_frame_is_refused_without_allocating_it() {
    let e = connect_to(Fault::HugeFrame).await;
    assert!(
        matches!(&e, Error::Connection { message, .. } if message.contains("frame size")),
        "{e:?}"
    );
}

#[tokio::test]
async fn connection_closed_mid_frame_is_a_connection_error() {
    let e = connect_to(Fault::CloseMidFrame).await;
    assert!(matches!(e, Error::Connection { .. }), "{e:?}");
    assert!(e.is_retriable());
}
