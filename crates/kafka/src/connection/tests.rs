//! The messenger and its framing in memory: a [`Connection`] over one end of a
//! `tokio::io::duplex` pipe, and on the other end a peer that the test scripts byte by byte. No
//! broker can be made to send an absurd frame size, answer out of order on purpose or stop
//! mid-frame; this peer can.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, MetadataRequest, MetadataResponse, RequestHeader,
    ResponseHeader, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::{Connection, ConnectionConfig};
use crate::error::Error;
use crate::sasl::{Mechanism, Sasl};

/// A request as the peer read it off the pipe.
#[derive(Debug)]
struct Received {
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: Option<String>,
    /// The request body, after the header.
    body: Bytes,
}

/// The broker's end of the pipe, driven step by step by the test.
struct Peer {
    io: DuplexStream,
}

impl Peer {
    /// Reads one request frame: the size prefix, then exactly that many bytes.
    async fn recv(&mut self) -> Received {
        let size = self.io.read_i32().await.expect("a size prefix");
        assert!(
            size >= 8,
            "a request frame holds at least key, version and id"
        );
        let mut buf = vec![0u8; size as usize];
        self.io.read_exact(&mut buf).await.expect("the whole frame");
        let mut b = Bytes::from(buf);
        let api = ApiKey::try_from(i16::from_be_bytes([b[0], b[1]])).expect("a known API key");
        let version = i16::from_be_bytes([b[2], b[3]]);
        let header = RequestHeader::decode(&mut b, api.request_header_version(version))
            .expect("a request header");
        Received {
            api,
            version,
            correlation_id: header.correlation_id,
            client_id: header.client_id.map(|c| c.as_str().to_owned()),
            body: b,
        }
    }

    /// Answers `to` with a well-formed response.
    async fn reply<R: Encodable>(&mut self, to: &Received, resp: &R) {
        let mut body = BytesMut::new();
        resp.encode(&mut body, to.version)
            .expect("encodable response");
        self.write(&frame(to.api, to.version, to.correlation_id, &body))
            .await;
    }

    async fn write(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.expect("the pipe is open");
    }

    /// Answers the ApiVersions handshake, advertising `apis` as `(api, min, max)`.
    async fn accept_handshake(&mut self, apis: &[(ApiKey, i16, i16)]) -> Received {
        let req = self.recv().await;
        assert_eq!(req.api, ApiKey::ApiVersions);
        let keys = apis
            .iter()
            .map(|(k, min, max)| {
                ApiVersion::default()
                    .with_api_key(*k as i16)
                    .with_min_version(*min)
                    .with_max_version(*max)
            })
            .collect();
        self.reply(&req, &ApiVersionsResponse::default().with_api_keys(keys))
            .await;
        req
    }
}

/// A response frame: size, response header for `api` at `version`, then `body` as given.
fn frame(api: ApiKey, version: i16, correlation_id: i32, body: &[u8]) -> Bytes {
    let mut head = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut head, api.response_header_version(version))
        .expect("encodable header");
    let mut out = BytesMut::new();
    out.put_i32((head.len() + body.len()) as i32);
    out.put_slice(&head);
    out.put_slice(body);
    out.freeze()
}

/// What a broker advertises in most tests: the handshake and Metadata, at every version.
fn versions() -> Vec<(ApiKey, i16, i16)> {
    [ApiKey::ApiVersions, ApiKey::Metadata]
        .iter()
        .map(|k| (*k, 0, k.valid_versions().max))
        .collect()
}

fn config() -> ConnectionConfig {
    ConnectionConfig {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(5),
        max_response_bytes: 1 << 20,
        ..ConnectionConfig::default()
    }
}

/// A connection over an in-memory pipe whose peer advertised `apis`.
async fn open_with(config: ConnectionConfig, apis: &[(ApiKey, i16, i16)]) -> (Connection, Peer) {
    let (ours, theirs) = duplex(4 << 20);
    let mut peer = Peer { io: theirs };
    let (conn, _) = tokio::join!(
        Connection::over(ours, "peer:9092", config),
        peer.accept_handshake(apis)
    );
    (conn.expect("the handshake succeeds"), peer)
}

async fn open() -> (Connection, Peer) {
    open_with(config(), &versions()).await
}

/// One Metadata request on `conn`.
async fn ask(conn: &Connection) -> crate::Result<(MetadataResponse, i16)> {
    conn.send(&MetadataRequest::default()).await
}

/// A Metadata response the test can recognise by its controller id.
fn metadata(tag: i32) -> MetadataResponse {
    MetadataResponse::default().with_controller_id(BrokerId(tag))
}

#[tokio::test]
async fn requests_are_size_prefixed_frames_with_ids_in_order() {
    let (ours, theirs) = duplex(1 << 20);
    let mut peer = Peer { io: theirs };
    let apis = versions();
    let (conn, hello) = tokio::join!(
        Connection::over(ours, "peer:9092", config()),
        peer.accept_handshake(&apis)
    );
    let conn = conn.unwrap();
    assert_eq!(hello.correlation_id, 0);
    assert_eq!(
        hello.version, 3,
        "ApiVersions at the highest version we speak"
    );
    assert_eq!(hello.client_id.as_deref(), Some("clusterlink"));
    assert_eq!(conn.broker(), "peer:9092");

    let ask = async {
        conn.send(&MetadataRequest::default().with_topics(None))
            .await
            .unwrap()
    };
    let answer = async {
        let req = peer.recv().await;
        assert_eq!(req.api, ApiKey::Metadata);
        assert_eq!(req.correlation_id, 1);
        // The body is exactly the request: the size prefix framed it.
        let mut body = req.body.clone();
        let decoded = MetadataRequest::decode(&mut body, req.version).unwrap();
        assert!(decoded.topics.is_none() && body.is_empty());
        peer.reply(&req, &metadata(7)).await;
        req.version
    };
    let ((resp, version), sent_at) = tokio::join!(ask, answer);
    assert_eq!(
        version, 12,
        "Metadata capped at the version this client is built for"
    );
    assert_eq!(sent_at, 12);
    assert_eq!(resp.controller_id, BrokerId(7));
}

#[tokio::test]
async fn versions_are_the_highest_both_sides_speak() {
    let apis = [
        (ApiKey::ApiVersions, 0, 3),
        (ApiKey::Metadata, 1, 5),
        (ApiKey::Fetch, 13, 17),
    ];
    let (conn, _peer) = open_with(config(), &apis).await;
    assert_eq!(conn.version_for(ApiKey::Metadata).unwrap(), 5);
    assert_eq!(
        conn.broker_versions().get(&(ApiKey::Metadata as i16)),
        Some(&(1, 5))
    );
    // Only versions above our cap: nothing in common.
    let e = conn.version_for(ApiKey::Fetch).unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { broker_range, .. } if broker_range == "13..=17"),
        "{e:?}"
    );
    // Not offered at all.
    let e = conn.version_for(ApiKey::Produce).unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { broker_range, .. } if broker_range == "none"),
        "{e:?}"
    );
    assert_eq!(e.category(), "unsupported");
}

#[tokio::test]
async fn a_broker_that_does_not_speak_our_api_versions_is_asked_at_v0() {
    let (ours, theirs) = duplex(1 << 20);
    let mut peer = Peer { io: theirs };
    let broker = async {
        let first = peer.recv().await;
        assert_eq!((first.api, first.version), (ApiKey::ApiVersions, 3));
        // UNSUPPORTED_VERSION, in the v0 layout as Kafka answers it.
        let refusal = ApiVersionsResponse::default()
            .with_error_code(35)
            .with_api_keys(vec![ApiVersion::default()
                .with_api_key(ApiKey::ApiVersions as i16)
                .with_max_version(0)]);
        let mut body = BytesMut::new();
        refusal.encode(&mut body, 0).unwrap();
        peer.write(&frame(ApiKey::ApiVersions, 0, first.correlation_id, &body))
            .await;
        let second = peer.recv().await;
        assert_eq!((second.api, second.version), (ApiKey::ApiVersions, 0));
        peer.reply(
            &second,
            &ApiVersionsResponse::default().with_api_keys(vec![
                ApiVersion::default()
                    .with_api_key(ApiKey::ApiVersions as i16)
                    .with_max_version(0),
                ApiVersion::default()
                    .with_api_key(ApiKey::Metadata as i16)
                    .with_max_version(4),
            ]),
        )
        .await;
    };
    let (conn, ()) = tokio::join!(Connection::over(ours, "old:9092", config()), broker);
    assert_eq!(conn.unwrap().version_for(ApiKey::Metadata).unwrap(), 4);
}

#[tokio::test]
async fn answers_find_their_callers_in_any_order() {
    let (conn, mut peer) = open().await;
    let req = MetadataRequest::default();
    let callers = async { tokio::join!(conn.send(&req), conn.send(&req), conn.send(&req)) };
    let broker = async {
        let mut got = [peer.recv().await, peer.recv().await, peer.recv().await];
        got.sort_by_key(|r| r.correlation_id);
        // Answer the last first; tag each answer with the id it answers.
        for r in got.iter().rev() {
            peer.reply(r, &metadata(r.correlation_id)).await;
        }
        got.iter().map(|r| r.correlation_id).collect::<Vec<_>>()
    };
    let ((a, b, c), ids) = tokio::join!(callers, broker);
    assert_eq!(ids, vec![1, 2, 3]);
    let mut tags: Vec<i32> = [a, b, c]
        .into_iter()
        .map(|r| r.unwrap().0.controller_id.0)
        .collect();
    tags.sort();
    assert_eq!(tags, ids, "every caller got the answer to its own request");
}

#[tokio::test]
async fn pipelined_requests_go_out_back_to_back_and_come_back_in_order() {
    let (conn, mut peer) = open().await;
    let reqs = vec![MetadataRequest::default(); 4];
    let broker = async {
        // All four frames arrive before any answer is written: nothing waited in between.
        let mut got = Vec::new();
        let all_four = async {
            for _ in 0..4 {
                got.push(peer.recv().await);
            }
        };
        tokio::time::timeout(Duration::from_secs(5), all_four)
            .await
            .expect("the client sent all four without waiting for an answer");
        for r in &got {
            peer.reply(r, &metadata(100 + r.correlation_id)).await;
        }
        got.iter().map(|r| r.correlation_id).collect::<Vec<_>>()
    };
    let (results, ids) = tokio::join!(conn.send_pipelined(&reqs), broker);
    assert_eq!(ids, vec![1, 2, 3, 4]);
    let tags: Vec<i32> = results
        .into_iter()
        .map(|r| r.unwrap().0.controller_id.0)
        .collect();
    assert_eq!(tags, vec![101, 102, 103, 104]);
}

/// Sends one Metadata request and lets the peer answer it with `raw` bytes; returns the error.
async fn answered_with(raw: impl FnOnce(&Received) -> Bytes) -> (Connection, Error) {
    let (conn, mut peer) = open().await;
    let broker = async {
        let req = peer.recv().await;
        peer.write(&raw(&req)).await;
        peer
    };
    let (result, peer) = tokio::join!(ask(&conn), broker);
    // The peer's end stays open until the connection has judged what it got.
    let err = result.expect_err("a broken answer is an error");
    drop(peer);
    (conn, err)
}

#[tokio::test]
async fn an_absurd_frame_size_closes_the_connection_without_allocating_it() {
    // Sizes no response can have: above the limit (here 1 MiB; 2 GiB is what a hostile or
    // confused peer sends), negative, and too small to hold a correlation id.
    for size in [i32::MAX, (1 << 20) + 1, -1, i32::MIN, 0, 3] {
        let (conn, e) = answered_with(|_| Bytes::copy_from_slice(&size.to_be_bytes())).await;
        assert!(
            matches!(&e, Error::Connection { message, .. }
                if message.contains(&format!("frame size {size}"))),
            "{size}: {e:?}"
        );
        assert!(conn.is_closed(), "{size}: no byte after it can be trusted");
        let again = ask(&conn).await.unwrap_err();
        assert!(matches!(again, Error::Connection { .. }), "{again:?}");
    }
}

#[tokio::test]
async fn a_frame_at_the_size_limit_is_read() {
    let (conn, mut peer) = open().await;
    let broker = async {
        let req = peer.recv().await;
        let mut body = BytesMut::new();
        metadata(5).encode(&mut body, req.version).unwrap();
        // Pad the answer with trailing bytes up to exactly the limit: a frame of 1 MiB is read.
        let head_len = frame(req.api, req.version, req.correlation_id, &[]).len() - 4;
        body.resize((1 << 20) - head_len, 0);
        peer.write(&frame(req.api, req.version, req.correlation_id, &body))
            .await;
    };
    let (result, ()) = tokio::join!(ask(&conn), broker);
    assert_eq!(result.unwrap().0.controller_id, BrokerId(5));
    assert!(!conn.is_closed());
}

#[tokio::test]
async fn a_response_nobody_asked_for_closes_the_connection() {
    let (conn, e) =
        answered_with(|req| frame(req.api, req.version, req.correlation_id + 1000, &[])).await;
    assert!(
        matches!(&e, Error::Connection { message, .. } if message.contains("unknown correlation id")),
        "{e:?}"
    );
    assert!(conn.is_closed());
}

#[tokio::test]
async fn a_body_that_does_not_decode_is_a_protocol_error_on_a_live_connection() {
    let (conn, mut peer) = open().await;
    let broker = async {
        let req = peer.recv().await;
        peer.write(&frame(req.api, req.version, req.correlation_id, &[0xff; 7]))
            .await;
        // The framing held, so the connection goes on serving.
        let next = peer.recv().await;
        peer.reply(&next, &metadata(9)).await;
    };
    let asks = async {
        let first = ask(&conn).await;
        let second = ask(&conn).await;
        (first, second)
    };
    let ((first, second), ()) = tokio::join!(asks, broker);
    let e = first.unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
    assert_eq!(e.category(), "protocol");
    assert!(!e.is_retriable());
    assert_eq!(second.unwrap().0.controller_id, BrokerId(9));
}

#[tokio::test]
async fn a_response_header_that_does_not_decode_fails_its_request_and_closes() {
    // Metadata v12 answers with a flexible header: correlation id, then tagged fields. A frame
    // that stops right after the id has no room for them.
    let (conn, e) = answered_with(|req| {
        let mut f = BytesMut::new();
        f.put_i32(4);
        f.put_i32(req.correlation_id);
        f.freeze()
    })
    .await;
    assert!(
        matches!(&e, Error::Protocol { message, .. } if message.contains("response header")),
        "{e:?}"
    );
    assert!(conn.is_closed());
}

#[tokio::test]
async fn a_peer_that_stops_mid_frame_fails_the_request_retriably() {
    let (conn, mut peer) = open().await;
    let broker = async {
        let req = peer.recv().await;
        let whole = frame(req.api, req.version, req.correlation_id, &[0; 64]);
        peer.write(&whole[..whole.len() - 10]).await;
        drop(peer);
    };
    let (result, ()) = tokio::join!(ask(&conn), broker);
    let e = result.unwrap_err();
    assert!(
        matches!(&e, Error::Connection { message, .. } if message.contains("mid-response")),
        "{e:?}"
    );
    assert!(e.is_retriable());
    assert!(conn.is_closed());
}

#[tokio::test]
async fn a_silent_peer_times_out_and_the_connection_is_not_trusted_again() {
    let config = ConnectionConfig {
        request_timeout: Duration::from_millis(200),
        ..config()
    };
    let (conn, mut peer) = open_with(config, &versions()).await;
    let broker = async {
        let req = peer.recv().await;
        assert_eq!(req.api, ApiKey::Metadata);
        peer
    };
    let (result, _peer) = tokio::join!(ask(&conn), broker);
    let e = result.unwrap_err();
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
    assert!(conn.is_closed());
    let again = ask(&conn).await.unwrap_err();
    assert!(
        matches!(&again, Error::Connection { message, .. } if message.contains("timed out")),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_peer_that_never_answers_the_handshake_fails_the_open() {
    let (ours, theirs) = duplex(1 << 20);
    let config = ConnectionConfig {
        connect_timeout: Duration::from_millis(200),
        ..config()
    };
    let e = Connection::over(ours, "mute:9092", config)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Connection { message, .. } if message.contains("ApiVersions handshake timed out")),
        "{e:?}"
    );
    drop(theirs);
}

/// The SASL handshake as a scripted broker runs it: SaslHandshake, then one SaslAuthenticate
/// answered with `auth_error` (0: accepted) and the session lifetime `lifetime_ms` (0: none).
async fn plain_sasl_peer(peer: &mut Peer, auth_error: i16, lifetime_ms: i64) -> Vec<u8> {
    peer.accept_handshake(&[
        (ApiKey::ApiVersions, 0, 3),
        (ApiKey::SaslHandshake, 0, 1),
        (ApiKey::SaslAuthenticate, 0, 2),
    ])
    .await;
    let hello = peer.recv().await;
    assert_eq!((hello.api, hello.version), (ApiKey::SaslHandshake, 1));
    let mut body = hello.body.clone();
    let mechanism = SaslHandshakeRequest::decode(&mut body, hello.version)
        .unwrap()
        .mechanism;
    assert_eq!(mechanism.as_str(), "PLAIN");
    peer.reply(&hello, &SaslHandshakeResponse::default()).await;
    let auth = peer.recv().await;
    assert_eq!(auth.api, ApiKey::SaslAuthenticate);
    let mut body = auth.body.clone();
    let token = SaslAuthenticateRequest::decode(&mut body, auth.version)
        .unwrap()
        .auth_bytes;
    let answer = SaslAuthenticateResponse::default()
        .with_error_code(auth_error)
        .with_error_message((auth_error != 0).then(|| StrBytes::from_static_str("no")))
        .with_session_lifetime_ms(lifetime_ms);
    peer.reply(&auth, &answer).await;
    token.to_vec()
}

#[tokio::test]
async fn sasl_runs_in_the_handshake_before_the_connection_is_handed_out() {
    for (auth_error, accepted) in [(0, true), (58, false)] {
        let (ours, theirs) = duplex(1 << 20);
        let config = ConnectionConfig {
            sasl: Some(Sasl::new(Mechanism::Plain, "alice", "s3cret")),
            ..config()
        };
        let mut peer = Peer { io: theirs };
        let (conn, token) = tokio::join!(
            Connection::over(ours, "sasl:9092", config),
            plain_sasl_peer(&mut peer, auth_error, 0)
        );
        assert_eq!(token, b"\0alice\0s3cret");
        match conn {
            Ok(_) => assert!(accepted),
            Err(e) => {
                assert!(!accepted, "{e:?}");
                assert!(
                    matches!(&e, Error::Auth { broker, mechanism, .. }
                        if broker == "sasl:9092" && mechanism == "PLAIN"),
                    "{e:?}"
                );
                assert!(!e.is_retriable());
                assert!(!e.to_string().contains("s3cret"), "{e}");
            }
        }
    }
}

#[tokio::test]
async fn a_sasl_session_with_a_lifetime_is_renewed_before_the_broker_ends_it() {
    let sasl = || ConnectionConfig {
        sasl: Some(Sasl::new(Mechanism::Plain, "alice", "s3cret")),
        ..config()
    };
    // Without a lifetime the connection is kept for as long as it is open.
    let (ours, theirs) = duplex(1 << 20);
    let mut peer = Peer { io: theirs };
    let (conn, _) = tokio::join!(
        Connection::over(ours, "sasl:9092", sasl()),
        plain_sasl_peer(&mut peer, 0, 0)
    );
    let conn = conn.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!conn.needs_renewal());

    // With 400 ms: handed out at first, replaced from 85 % of it (340 ms) on, still open.
    let (ours, theirs) = duplex(1 << 20);
    let mut peer = Peer { io: theirs };
    let (conn, _) = tokio::join!(
        Connection::over(ours, "sasl:9092", sasl()),
        plain_sasl_peer(&mut peer, 0, 400)
    );
    let conn = conn.unwrap();
    assert!(!conn.needs_renewal());
    tokio::time::sleep(Duration::from_millis(345)).await;
    assert!(conn.needs_renewal());
    assert!(!conn.is_closed());
}
