//! API versions: the highest this client speaks per API, and the one used with a broker given
//! what the broker advertised in ApiVersions. Pure: the exchange itself is the handshake's.

use std::collections::HashMap;

use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::Request;

use crate::error::{Error, Result};

/// A broker's advertised `(min, max)` version per API key.
pub(super) type BrokerVersions = HashMap<i16, (i16, i16)>;

/// The highest version of each API this client is built for. Higher versions exist, but some
/// switch from topic names to topic ids (Fetch 13, Produce 13, OffsetCommit 10), which the rest
/// of the client does not speak yet.
pub fn max_supported_version(api: ApiKey) -> Option<i16> {
    let cap = match api {
        ApiKey::Produce => 12,
        ApiKey::Fetch => 12,
        ApiKey::ListOffsets => 9,
        ApiKey::Metadata => 12,
        ApiKey::OffsetCommit => 9,
        ApiKey::OffsetFetch => 7,
        ApiKey::FindCoordinator => 4,
        ApiKey::ListGroups => 5,
        ApiKey::DescribeGroups => 5,
        ApiKey::ApiVersions => 3,
        ApiKey::CreateTopics => 7,
        ApiKey::DeleteTopics => 6,
        ApiKey::DeleteRecords => 2,
        ApiKey::InitProducerId => 5,
        ApiKey::DescribeAcls => 3,
        ApiKey::CreateAcls => 3,
        ApiKey::DeleteAcls => 3,
        ApiKey::DescribeConfigs => 4,
        ApiKey::CreatePartitions => 3,
        ApiKey::IncrementalAlterConfigs => 1,
        ApiKey::DescribeCluster => 1,
        ApiKey::SaslHandshake => 1,
        ApiKey::SaslAuthenticate => 2,
        _ => return None,
    };
    Some(cap.min(api.valid_versions().max))
}

/// The version at which `api` is sent to `broker`, which advertised `versions`: the highest
/// both sides speak, or [`Error::Unsupported`].
pub(super) fn version_for(api: ApiKey, versions: &BrokerVersions, broker: &str) -> Result<i16> {
    let ours = api.valid_versions();
    let cap = max_supported_version(api).unwrap_or(ours.max);
    let unsupported = |broker_range: String| Error::Unsupported {
        api,
        broker: broker.to_owned(),
        broker_range,
        ours: format!("{}..={}", ours.min, cap),
    };
    let Some(&(min, max)) = versions.get(&(api as i16)) else {
        return Err(unsupported("none".into()));
    };
    let v = max.min(cap);
    if v < min.max(ours.min) {
        return Err(unsupported(format!("{min}..={max}")));
    }
    Ok(v)
}

/// The API key of a request type.
pub(super) fn api_key<R: Request>() -> Result<ApiKey> {
    ApiKey::try_from(R::KEY).map_err(|_| Error::Invalid(format!("unknown API key {}", R::KEY)))
}
