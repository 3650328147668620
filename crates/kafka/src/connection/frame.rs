//! Kafka's framing on the wire: every message is a 4-byte big-endian size, then that many bytes.
//! Requests go out as one frame each (size, request header, body) from a single writer task;
//! responses come in through a single reader task, which bounds the size before it allocates,
//! decodes the response header and hands the body to the request with that correlation id.
//!
//! Anything that breaks the framing (a size outside `4..=max_response_bytes`, an answer nobody
//! asked for, a header that does not decode) closes the connection: after it, no byte on the
//! stream can be trusted to start a frame.
//!
//! A broker is not trusted with memory: the size prefix is checked against the limit before
//! anything is allocated, and even a size within it only reserves a first chunk; the buffer grows
//! with the bytes that actually arrive, so a broker that announces 256 MiB and sends ten bytes
//! costs ten bytes. Inside the frame, every length the body declares (arrays, strings, bytes) is
//! bounded by the bytes left in the frame before the decoder allocates for it: that is the patch
//! to `kafka-protocol` in `vendor/kafka-protocol` (see its `PATCHED.md`), which this crate relies
//! on, and which `crate::fuzzing` and `tests/hostile_broker.rs` check.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tracing::warn;

use super::pending::Shared;
use crate::error::{Error, Result};

/// One request as a whole frame: size, request header (with `client_id`), body.
pub(super) fn encode_request<R: Encodable + HeaderVersion>(
    api: ApiKey,
    req: &R,
    version: i16,
    correlation_id: i32,
    client_id: &str,
) -> Result<Bytes> {
    let encode_err = |e: anyhow::Error| Error::Encode {
        api,
        version,
        message: format!("{e:#}"),
    };
    let header = RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_string(client_id.to_owned())));
    let mut buf = BytesMut::new();
    buf.put_i32(0); // size, filled below
    header
        .encode(&mut buf, R::header_version(version))
        .map_err(encode_err)?;
    req.encode(&mut buf, version).map_err(encode_err)?;
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf.freeze())
}

/// Writes frames in the order they are queued; a failed write closes the connection.
pub(super) async fn write_loop<W: AsyncWrite + Unpin>(
    mut write: W,
    mut rx: mpsc::Receiver<Bytes>,
    shared: Arc<Shared>,
) {
    while let Some(frame) = rx.recv().await {
        // A flush pushes TLS records out (a no-op on plain TCP).
        let written = match write.write_all(&frame).await {
            Ok(()) => write.flush().await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            shared.close(&format!("write failed: {e}"));
            return;
        }
    }
}

/// The most a response frame reserves before its bytes arrive; past it, the buffer grows with
/// what is read.
const FIRST_CHUNK: usize = 64 << 10;

/// Checks a response frame's size prefix: it must hold at least the correlation id and stay
/// within the limit. Nothing is allocated before this says yes.
pub(crate) fn frame_len(size: i32, max_bytes: usize) -> Result<usize, String> {
    match usize::try_from(size) {
        Ok(len) if (4..=max_bytes).contains(&len) => Ok(len),
        _ => Err(format!(
            "response frame size {size} outside 4..={max_bytes}"
        )),
    }
}

/// The correlation id at the start of a frame that [`frame_len`] accepted.
pub(crate) fn correlation_id(frame: &[u8]) -> i32 {
    i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]])
}

/// Decodes the response header at the start of a frame, leaving the body.
pub(crate) fn strip_response_header(
    frame: &mut Bytes,
    api: ApiKey,
    version: i16,
) -> Result<(), String> {
    ResponseHeader::decode(frame, api.response_header_version(version))
        .map(|_| ())
        .map_err(|e| format!("bad response header: {e:#}"))
}

/// Reads the `len` bytes of one frame; the buffer grows with the bytes received.
async fn read_frame<R: AsyncRead + Unpin>(read: &mut R, len: usize) -> std::io::Result<Bytes> {
    let mut frame = Vec::with_capacity(len.min(FIRST_CHUNK));
    read.take(len as u64).read_to_end(&mut frame).await?;
    if frame.len() < len {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(frame.into())
}

/// Reads response frames until the stream ends or breaks the framing, then closes the
/// connection with the reason.
pub(super) async fn read_loop<R: AsyncRead + Unpin>(
    mut read: R,
    shared: Arc<Shared>,
    max_bytes: usize,
) {
    let reason = loop {
        let size = match read.read_i32().await {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break "connection closed by broker".to_owned()
            }
            Err(e) => break format!("read failed: {e}"),
        };
        let len = match frame_len(size, max_bytes) {
            Ok(len) => len,
            Err(reason) => break reason,
        };
        let mut frame = match read_frame(&mut read, len).await {
            Ok(frame) => frame,
            Err(e) => break format!("read failed mid-response: {e}"),
        };
        let correlation_id = correlation_id(&frame);
        let Some(p) = shared.take(correlation_id) else {
            break format!("response with unknown correlation id {correlation_id}");
        };
        let result = strip_response_header(&mut frame, p.api, p.version)
            .map(|()| frame)
            .map_err(|message| Error::Protocol {
                broker: shared.broker.clone(),
                message,
            });
        let bad = result.is_err();
        let _ = p.reply.send(result);
        if bad {
            break "bad response header".to_owned();
        }
    };
    if !shared.is_closed() {
        warn!(broker = %shared.broker, %reason, "connection lost");
    }
    shared.close(&reason);
}
