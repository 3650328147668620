//! The bodies of the fuzz targets, kept in the crate so that the real fuzzer (`fuzz/`, cargo-fuzz
//! on nightly) and the stable smoke test that CI runs (`tests` below, a few thousand random and
//! mutated inputs in seconds) exercise exactly the same code. Not an API: hidden from the docs and
//! free to change.
//!
//! What is fuzzed is what a broker controls:
//! - [`response_frame`]: the bytes of a response as they come off the stream (size prefix, frame,
//!   response header, body) through the same checks as the connection's reader, then decoded as
//!   the response to the chosen API (one this client sends) and version by the codec crate, whose
//!   length handling is patched (`vendor/kafka-protocol/PATCHED.md`);
//! - [`record_batches`]: a fetched partition's record bytes through splitting, header checks,
//!   the producer rewrite, decompression (capped at [`DECOMPRESSED_LIMIT`] here) and record
//!   decoding; whatever decodes must encode and decode back to the same records.
//!
//! The contract for both: any input gives a value or an error, never a panic, a hang or an
//! allocation the input's size does not justify.

use bytes::Bytes;
use kafka_protocol::messages::{self as m, ApiKey};
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::connection::frame::{frame_len, strip_response_header};
use crate::records::{encode_batch, split_batches, BatchSpec, RecordError};

/// The largest frame [`response_frame`] accepts (the connection's limit, scaled to fuzz inputs).
pub const MAX_FRAME: usize = 1 << 20;

/// The decompression cap [`record_batches`] uses: a bomb must stop here, not at the allocator.
pub const DECOMPRESSED_LIMIT: usize = 1 << 20;

/// The APIs whose responses this client decodes, in a fixed order: the first two input bytes
/// pick one.
const APIS: [ApiKey; 23] = [
    ApiKey::ApiVersions,
    ApiKey::Metadata,
    ApiKey::Fetch,
    ApiKey::Produce,
    ApiKey::ListOffsets,
    ApiKey::FindCoordinator,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::ListGroups,
    ApiKey::DescribeGroups,
    ApiKey::InitProducerId,
    ApiKey::SaslHandshake,
    ApiKey::SaslAuthenticate,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::CreatePartitions,
    ApiKey::DeleteRecords,
    ApiKey::DescribeConfigs,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::DescribeCluster,
    ApiKey::DescribeAcls,
    ApiKey::CreateAcls,
    ApiKey::DeleteAcls,
];

fn api_at(index: u16) -> ApiKey {
    APIS[index as usize % APIS.len()]
}

/// Decodes a body as the response to `api`, as the connection does for the caller.
fn decode_response(api: ApiKey, body: &mut Bytes, version: i16) -> anyhow::Result<()> {
    fn d<T: Decodable>(body: &mut Bytes, version: i16) -> anyhow::Result<()> {
        T::decode(body, version).map(|_| ())
    }
    match api {
        ApiKey::ApiVersions => d::<m::ApiVersionsResponse>(body, version),
        ApiKey::Metadata => d::<m::MetadataResponse>(body, version),
        ApiKey::Fetch => d::<m::FetchResponse>(body, version),
        ApiKey::Produce => d::<m::ProduceResponse>(body, version),
        ApiKey::ListOffsets => d::<m::ListOffsetsResponse>(body, version),
        ApiKey::FindCoordinator => d::<m::FindCoordinatorResponse>(body, version),
        ApiKey::OffsetCommit => d::<m::OffsetCommitResponse>(body, version),
        ApiKey::OffsetFetch => d::<m::OffsetFetchResponse>(body, version),
        ApiKey::ListGroups => d::<m::ListGroupsResponse>(body, version),
        ApiKey::DescribeGroups => d::<m::DescribeGroupsResponse>(body, version),
        ApiKey::InitProducerId => d::<m::InitProducerIdResponse>(body, version),
        ApiKey::SaslHandshake => d::<m::SaslHandshakeResponse>(body, version),
        ApiKey::SaslAuthenticate => d::<m::SaslAuthenticateResponse>(body, version),
        ApiKey::CreateTopics => d::<m::CreateTopicsResponse>(body, version),
        ApiKey::DeleteTopics => d::<m::DeleteTopicsResponse>(body, version),
        ApiKey::CreatePartitions => d::<m::CreatePartitionsResponse>(body, version),
        ApiKey::DeleteRecords => d::<m::DeleteRecordsResponse>(body, version),
        ApiKey::DescribeConfigs => d::<m::DescribeConfigsResponse>(body, version),
        ApiKey::IncrementalAlterConfigs => d::<m::IncrementalAlterConfigsResponse>(body, version),
        ApiKey::DescribeCluster => d::<m::DescribeClusterResponse>(body, version),
        ApiKey::DescribeAcls => d::<m::DescribeAclsResponse>(body, version),
        ApiKey::CreateAcls => d::<m::CreateAclsResponse>(body, version),
        ApiKey::DeleteAcls => d::<m::DeleteAclsResponse>(body, version),
        other => anyhow::bail!("{other:?} is not an API this client decodes"),
    }
}

/// A version the API has, from one input byte.
fn version_at(api: ApiKey, byte: u8) -> i16 {
    let range = api.valid_versions();
    range.min + (byte as i16) % (range.max - range.min + 1)
}

/// The input [`response_frame`] reads: the API's index, a version byte, then the stream bytes.
/// For seeds: `body` is an encoded response of `api` at `version`.
pub fn response_input(api: ApiKey, version: i16, correlation_id: i32, body: &[u8]) -> Vec<u8> {
    let index = APIS.iter().position(|k| *k == api).unwrap_or(0) as u16;
    let range = api.valid_versions();
    let version_byte = (version - range.min) as u8;
    let mut head = bytes::BytesMut::new();
    m::ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut head, api.response_header_version(version))
        .expect("a response header encodes");
    let mut out = Vec::with_capacity(7 + head.len() + body.len());
    out.extend_from_slice(&index.to_be_bytes());
    out.push(version_byte);
    out.extend_from_slice(&((head.len() + body.len()) as i32).to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(body);
    out
}

/// Treats `data` as two bytes choosing the API, one choosing its version, then the bytes a
/// broker wrote: a size prefix and the frame. Returns what stopped the decoding, if anything.
pub fn response_frame(data: &[u8]) -> Result<(), String> {
    let Some(([k0, k1, v], stream)) = data.split_first_chunk::<3>() else {
        return Err("no API chosen".into());
    };
    let api = api_at(u16::from_be_bytes([*k0, *k1]));
    let version = version_at(api, *v);
    let Some((size, rest)) = stream.split_first_chunk::<4>() else {
        return Err("no size prefix".into());
    };
    let len = frame_len(i32::from_be_bytes(*size), MAX_FRAME)?;
    if rest.len() < len {
        return Err("frame cut short".into());
    }
    let mut frame = Bytes::copy_from_slice(&rest[..len]);
    strip_response_header(&mut frame, api, version)?;
    decode_response(api, &mut frame, version).map_err(|e| format!("{api:?} v{version}: {e:#}"))
}

/// Treats `data` as a fetched partition's records. Returns how many records decoded.
///
/// # Panics
/// When records that decoded do not come back the same after encoding them again: a bug in
/// this crate, which is what the fuzzer is for.
pub fn record_batches(data: &[u8]) -> Result<usize, RecordError> {
    let mut decoded = 0;
    for batch in split_batches(Bytes::copy_from_slice(data))? {
        let _ = batch.verify_crc();
        let rewritten = batch.for_producer(7, 1, 0);
        assert_eq!(rewritten.bytes().len(), batch.bytes().len());
        let Ok(records) = batch.records_within(DECOMPRESSED_LIMIT) else {
            continue;
        };
        decoded += records.len();
        if let Ok(again) = encode_batch(&BatchSpec::from_header(batch.header()), &records) {
            let back = again
                .records_within(usize::MAX)
                .expect("an encoded batch decodes");
            assert_eq!(back, records, "records changed through encode and decode");
        }
    }
    Ok(decoded)
}

pub mod seeds;
#[cfg(test)]
mod tests;
