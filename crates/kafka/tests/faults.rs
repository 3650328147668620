//! Fault injection the real brokers cannot do: a hand-written fake broker that answers the
//! version handshake correctly and then misbehaves on Metadata in one chosen way. The client
//! must return a typed error every time, and never panic or hang. No peer runs here: the
//! faults a real broker can be put through (answers lost, connections cut, on Apache Kafka and
//! tansu) are in `lost_answers.rs` and `brokers.rs`.

use std::time::Duration;

use bytes::Bytes;
use clusterlink_kafka::messages::ApiKey;
use clusterlink_kafka::{Client, ClientConfig, Error};

mod fake_broker;

use fake_broker::Reply;

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

/// Serves one fake broker on a free port that misbehaves on Metadata as `fault` says; returns
/// its address.
async fn fake_broker(fault: Fault) -> String {
    fake_broker::start(move |version, correlation_id, honest| {
        let f = |id, body: &[u8]| fake_broker::frame(ApiKey::Metadata, version, id, body);
        match fault {
            Fault::Truncated => Reply::Bytes(f(correlation_id, &honest[..honest.len() / 2])),
            Fault::Garbage => Reply::Bytes(f(correlation_id, &[0xff; 7])),
            Fault::WrongCorrelationId => Reply::Bytes(f(correlation_id + 1000, &honest)),
            Fault::Silence => Reply::Silence,
            Fault::HugeFrame => {
                Reply::Bytes(Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]))
            }
            Fault::CloseMidFrame => Reply::CloseMidFrame(f(correlation_id, &honest)),
        }
    })
    .await
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
