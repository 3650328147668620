//! The body of every error response: Confluent's `{"error_code", "message"}`.

use serde::{Deserialize, Serialize};

/// Confluent's error codes, as this API uses them (besides plain HTTP statuses: 400 for a
/// malformed request, 404 for an unknown resource, 500).
pub mod code {
    /// The request is well-formed but asks for something that cannot be done.
    pub const INVALID_REQUEST: u32 = 40002;
    /// The request carries no credentials, or ones that are not valid.
    pub const UNAUTHENTICATED: u32 = 40101;
    /// The cluster refused the request's principal.
    pub const NOT_AUTHORIZED: u32 = 40301;
    /// No such topic or partition.
    pub const UNKNOWN_TOPIC_OR_PARTITION: u32 = 40403;
    /// The Kafka cluster failed in a way retrying will not help.
    pub const KAFKA_ERROR: u32 = 50002;
    /// The Kafka cluster failed in a way retrying can help.
    pub const KAFKA_RETRIABLE_ERROR: u32 = 50003;
}

/// An error response's body. `error_code` is Confluent's (40002, 40403, 50003, ...), finer than
/// the HTTP status; tools such as CFK match on it.
///
/// Both fields are optional when reading, so that a client can still report what a proxy or
/// another server answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    /// Confluent's error code.
    pub error_code: Option<i64>,
    /// What is wrong.
    pub message: Option<String>,
}

impl ErrorBody {
    /// The body of an error `code` saying `message`.
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        ErrorBody {
            error_code: Some(code.into()),
            message: Some(message.into()),
        }
    }
}
