//! The body of every error response: Confluent's `{"error_code", "message"}`.

use serde::{Deserialize, Serialize};

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
