//! What every route handler works with: the state a route sees ([`Api`]: the link manager and
//! the path prefix it is served under), the URLs responses name, and the reading of query
//! flags and request bodies.
//!
//! Bodies are parsed by hand from bytes rather than with axum's `Json` extractor, so that every
//! malformed request is Confluent's `{error_code, message}` 400 and never a plain-text 415/422.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::Query;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use clusterlink_rest_v3::configs::{AlterConfigBatch, ConfigData, ConfigOperation};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{ApiError, ApiResult};
use crate::links::{ConfigOp, LinkManager};

/// The state of the API routes.
#[derive(Clone, Debug)]
pub(super) struct Api {
    pub manager: LinkManager,
    /// `/kafka/v3` or `/v3`.
    pub prefix: &'static str,
}

/// A request's query parameters.
pub(super) type Params = Query<HashMap<String, String>>;

impl Api {
    /// `http://<host>/<prefix>`, from the request's `Host` header.
    pub fn base(&self, headers: &HeaderMap) -> String {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}{}", self.prefix)
    }

    /// The URL of the cluster `cluster_id`.
    pub fn cluster_url(&self, headers: &HeaderMap, cluster_id: &str) -> String {
        format!("{}/clusters/{cluster_id}", self.base(headers))
    }

    /// Whether `cluster_id` is the local cluster: the only one this server serves.
    pub fn check_cluster(&self, cluster_id: &str) -> ApiResult<()> {
        if cluster_id == self.manager.cluster_id() {
            Ok(())
        } else {
            Err(ApiError::not_found(
                404,
                format!("Cluster {cluster_id} cannot be found."),
            ))
        }
    }
}

/// A `true`/`false` query parameter (any case), `default` when absent.
pub(super) fn flag(q: &HashMap<String, String>, name: &str, default: bool) -> ApiResult<bool> {
    match q.get(name).map(|v| v.to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => Err(ApiError::malformed(format!(
            "query parameter {name}: '{v}' is not true or false"
        ))),
    }
}

/// A JSON request body; an empty one is the default value unless `required`.
pub(super) fn body<T: DeserializeOwned + Default>(bytes: &Bytes, required: bool) -> ApiResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return if required {
            Err(ApiError::malformed("A request body is required"))
        } else {
            Ok(T::default())
        };
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::malformed(format!("Malformed JSON request body: {e}")))
}

/// `200 OK` with a JSON body.
pub(super) fn ok(v: impl Serialize) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

/// `204 No Content`.
pub(super) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The configs of a create request (link, mirror, topic) as name and value: each must have a
/// value.
pub(super) fn config_values(configs: Vec<ConfigData>) -> ApiResult<Vec<(String, String)>> {
    configs
        .into_iter()
        .map(|c| match c.value {
            Some(v) => Ok((c.name, v)),
            None => Err(ApiError::bad_request(format!(
                "Config '{}' has no value",
                c.name
            ))),
        })
        .collect()
}

/// The operations of a `configs:alter` body, for links and topics alike.
pub(super) fn alter_ops(batch: AlterConfigBatch) -> ApiResult<Vec<ConfigOp>> {
    let unknown = |op: &str| {
        ApiError::bad_request(format!(
            "Unknown config operation '{op}': use SET or DELETE"
        ))
    };
    batch
        .data
        .into_iter()
        .map(|d| match ConfigOperation::of(&d) {
            Ok(ConfigOperation::Set) => d
                .value
                .map(|v| ConfigOp::Set(d.name.clone(), v))
                .ok_or_else(|| {
                    ApiError::bad_request(format!("Config '{}' is SET without a value", d.name))
                }),
            Ok(ConfigOperation::Delete) => Ok(ConfigOp::Delete(d.name)),
            Ok(other) => Err(unknown(other.as_str())),
            Err(op) => Err(unknown(&op)),
        })
        .collect()
}

/// A replication factor as Kafka takes it (16 bits).
pub(super) fn replication_factor(rf: Option<i32>) -> ApiResult<Option<i16>> {
    rf.map(|rf| {
        i16::try_from(rf).map_err(|_| {
            ApiError::malformed(format!(
                "Malformed JSON request body: replication_factor {rf} is not a 16-bit integer"
            ))
        })
    })
    .transpose()
}
