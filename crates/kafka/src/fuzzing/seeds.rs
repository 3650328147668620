//! Valid inputs for both fuzz targets: real responses (old fixed-length and flexible versions)
//! and one record batch per codec. The smoke test mutates them; `examples/fuzz_seeds.rs` writes
//! them as a starting corpus for the real fuzzer, which would take long to find a valid
//! compressed batch on its own.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, FetchResponse, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::{Encodable, StrBytes};

use super::response_input;
use crate::records::{encode_batch, BatchSpec, Compression, Header, Record};

/// A Metadata response with a broker and a topic.
pub fn metadata(version: i16) -> Vec<u8> {
    let topic = MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_static_str("orders"))))
        .with_partitions(vec![MetadataResponsePartition::default()
            .with_partition_index(0)
            .with_leader_id(BrokerId(1))
            .with_replica_nodes(vec![BrokerId(1), BrokerId(2)])
            .with_isr_nodes(vec![BrokerId(1)])]);
    let mut body = BytesMut::new();
    MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(BrokerId(1))
            .with_host(StrBytes::from_static_str("broker-1"))
            .with_port(9092)])
        .with_topics(vec![topic])
        .encode(&mut body, version)
        .expect("a seed encodes");
    response_input(ApiKey::Metadata, version, 7, &body)
}

/// A batch of five records with headers.
pub fn batch(compression: Compression) -> Bytes {
    let records: Vec<Record> = (0..5)
        .map(|i| Record {
            offset: 100 + i,
            timestamp: 1_700_000_000_000 + i,
            key: Some(Bytes::from(format!("key-{i}"))),
            value: Some(Bytes::from(vec![b'v'; 40])),
            headers: vec![Header {
                key: Bytes::from_static(b"h"),
                value: None,
            }],
        })
        .collect();
    encode_batch(&BatchSpec::plain(compression), &records)
        .expect("a seed encodes")
        .into_bytes()
}

/// A Fetch response carrying two batches, one compressed.
pub fn fetch(version: i16) -> Vec<u8> {
    let mut records = BytesMut::new();
    records.put_slice(&batch(Compression::None));
    records.put_slice(&batch(Compression::Zstd));
    let mut body = BytesMut::new();
    FetchResponse::default()
        .with_responses(vec![FetchableTopicResponse::default()
            .with_topic(TopicName(StrBytes::from_static_str("orders")))
            .with_partitions(vec![PartitionData::default()
                .with_high_watermark(110)
                .with_records(Some(records.freeze()))])])
        .encode(&mut body, version)
        .expect("a seed encodes");
    response_input(ApiKey::Fetch, version, 7, &body)
}

/// An ApiVersions response.
pub fn api_versions(version: i16) -> Vec<u8> {
    let mut body = BytesMut::new();
    ApiVersionsResponse::default()
        .with_api_keys(vec![ApiVersion::default()
            .with_api_key(3)
            .with_max_version(12)])
        .encode(&mut body, version)
        .expect("a seed encodes");
    response_input(ApiKey::ApiVersions, version, 7, &body)
}

/// Real responses at old (fixed-length) and flexible (varint) versions.
pub fn response_seeds() -> Vec<Vec<u8>> {
    vec![
        metadata(1),
        metadata(8),
        metadata(12),
        fetch(4),
        fetch(12),
        api_versions(0),
        api_versions(3),
    ]
}

/// One batch per codec.
pub fn batch_seeds() -> Vec<Bytes> {
    Compression::ALL.iter().map(|c| batch(*c)).collect()
}
