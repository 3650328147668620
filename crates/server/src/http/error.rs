//! Errors as Confluent's API answers them: an HTTP status, Confluent's finer `error_code` and a
//! message ([`ErrorBody`]), and how link and Kafka errors map onto them. Each error response
//! also carries its metrics category, which the router counts.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clusterlink_kafka::{Error as KafkaError, ResponseError};
use clusterlink_mirror::MirrorError;
use clusterlink_rest_v3::error::code;
use clusterlink_rest_v3::ErrorBody;

use crate::links::LinkError;

/// An error response: HTTP status, Confluent's `error_code` and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Confluent's error code (40002, 404, 40403, ...).
    pub code: u32,
    /// What is wrong.
    pub message: String,
    /// Metrics label.
    pub category: &'static str,
}

/// What a handler returns.
pub(crate) type ApiResult<T = Response> = Result<T, ApiError>;

impl ApiError {
    /// A well-formed request for something that cannot be done (400, 40002).
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: code::INVALID_REQUEST,
            message: message.into(),
            category: "invalid",
        }
    }

    /// A request that cannot be read (400, 400).
    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: 400,
            message: message.into(),
            category: "malformed",
        }
    }

    /// A request body over the limit (413, 413).
    pub(crate) fn too_large(max_bytes: usize) -> Self {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: 413,
            message: format!("the request body is larger than {max_bytes} bytes"),
            category: "too_large",
        }
    }

    /// No such resource (404, `code`).
    pub(crate) fn not_found(code: u32, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code,
            message: message.into(),
            category: "not_found",
        }
    }

    /// A Kafka error: the broker's verdict on what the caller asked for is the caller's error
    /// (4xx), anything else ours (503 when retrying can help, else 500).
    pub(crate) fn kafka(e: &KafkaError) -> Self {
        use ResponseError as E;
        let client_side = match e.code() {
            Some(E::UnknownTopicOrPartition) => {
                Some((StatusCode::NOT_FOUND, code::UNKNOWN_TOPIC_OR_PARTITION))
            }
            Some(
                E::TopicAuthorizationFailed
                | E::GroupAuthorizationFailed
                | E::ClusterAuthorizationFailed,
            ) => Some((StatusCode::FORBIDDEN, code::NOT_AUTHORIZED)),
            Some(
                E::InvalidTopicException
                | E::TopicAlreadyExists
                | E::InvalidPartitions
                | E::InvalidReplicationFactor
                | E::InvalidReplicaAssignment
                | E::InvalidConfig
                | E::InvalidRequest
                | E::PolicyViolation,
            ) => Some((StatusCode::BAD_REQUEST, code::INVALID_REQUEST)),
            _ => None,
        };
        let (status, code) = client_side.unwrap_or(if e.is_retriable() {
            (StatusCode::SERVICE_UNAVAILABLE, code::KAFKA_RETRIABLE_ERROR)
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, code::KAFKA_ERROR)
        });
        ApiError {
            status,
            code,
            message: e.to_string(),
            category: e.category(),
        }
    }
}

impl From<LinkError> for ApiError {
    fn from(e: LinkError) -> Self {
        let category = e.category();
        let mut out = match &e {
            LinkError::NotFound(_) | LinkError::Mirror(MirrorError::NotFound(_)) => {
                ApiError::not_found(404, e.to_string())
            }
            LinkError::Unavailable { .. } => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: code::KAFKA_RETRIABLE_ERROR,
                message: e.to_string(),
                category,
            },
            LinkError::Mirror(MirrorError::Kafka { source, .. }) | LinkError::Local(source) => {
                let mut a = ApiError::kafka(source);
                a.message = e.to_string();
                a
            }
            LinkError::State(_) => ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: 500,
                message: e.to_string(),
                category,
            },
            _ => ApiError::bad_request(e.to_string()),
        };
        out.category = category;
        out
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            axum::Json(ErrorBody::new(self.code, self.message)),
        )
            .into_response();
        r.extensions_mut().insert(ErrorCategory(self.category));
        r
    }
}

/// Carried by error responses so the metrics layer can count them.
#[derive(Debug, Clone, Copy)]
pub(super) struct ErrorCategory(pub &'static str);
