//! A hand-written fake broker, for the faults no real broker can be put through (the bytes of
//! its answers): it answers ApiVersions honestly, and each test decides how Metadata is
//! answered from the honest answer (the fake itself as the only broker).
#![allow(dead_code)]

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use clusterlink_kafka::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, MetadataResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::metadata_response::MetadataResponseBroker;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the fake answers one Metadata request.
#[derive(Debug)]
pub enum Reply {
    /// These bytes (a whole frame, or not).
    Bytes(Bytes),
    /// Nothing; the connection stays open.
    Silence,
    /// All of this frame but its last 3 bytes, then the connection closes.
    CloseMidFrame(Bytes),
}

/// One request's header and version, or `None` when the connection ends.
pub async fn read_request(s: &mut TcpStream) -> Option<(RequestHeader, i16)> {
    let len = s.read_i32().await.ok()?;
    let mut buf = vec![0u8; usize::try_from(len).ok()?];
    s.read_exact(&mut buf).await.ok()?;
    let mut b = Bytes::from(buf);
    let key = ApiKey::try_from(i16::from_be_bytes([b[0], b[1]])).ok()?;
    let version = i16::from_be_bytes([b[2], b[3]]);
    let header = RequestHeader::decode(&mut b, key.request_header_version(version)).ok()?;
    Some((header, version))
}

/// A size-prefixed response frame of `body` for a request of `key` at `version`.
pub fn frame(key: ApiKey, version: i16, correlation_id: i32, body: &[u8]) -> Bytes {
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

/// The honest ApiVersions body: ApiVersions and Metadata, every version.
fn api_versions(version: i16) -> Bytes {
    let keys = [ApiKey::ApiVersions, ApiKey::Metadata]
        .iter()
        .map(|k| {
            ApiVersion::default()
                .with_api_key(*k as i16)
                .with_min_version(0)
                .with_max_version(k.valid_versions().max)
        })
        .collect();
    let mut body = BytesMut::new();
    ApiVersionsResponse::default()
        .with_api_keys(keys)
        .encode(&mut body, version)
        .unwrap();
    body.freeze()
}

/// The honest Metadata body: the fake at `advertised` as broker 1.
fn metadata(advertised: &str, version: i16) -> Bytes {
    let (host, port) = advertised.rsplit_once(':').unwrap();
    let mut body = BytesMut::new();
    MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(BrokerId(1))
            .with_host(StrBytes::from_string(host.into()))
            .with_port(port.parse().unwrap())])
        .encode(&mut body, version)
        .unwrap();
    body.freeze()
}

/// Serves a fake broker on a free port and returns its address; `answer(version,
/// correlation_id, honest_body)` says how each Metadata request is answered.
pub async fn start<F>(answer: F) -> String
where
    F: Fn(i16, i32, Bytes) -> Reply + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let advertised = addr.clone();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let (advertised, answer) = (advertised.clone(), answer.clone());
            tokio::spawn(async move {
                while let Some((h, version)) = read_request(&mut s).await {
                    let reply = match ApiKey::try_from(h.request_api_key) {
                        Ok(key @ ApiKey::ApiVersions) => Reply::Bytes(frame(
                            key,
                            version,
                            h.correlation_id,
                            &api_versions(version),
                        )),
                        Ok(ApiKey::Metadata) => {
                            answer(version, h.correlation_id, metadata(&advertised, version))
                        }
                        _ => return,
                    };
                    match reply {
                        Reply::Bytes(b) => {
                            if s.write_all(&b).await.is_err() {
                                return;
                            }
                        }
                        Reply::Silence => {}
                        Reply::CloseMidFrame(f) => {
                            let _ = s.write_all(&f[..f.len() - 3]).await;
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}
