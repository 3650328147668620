//! The one error type of the wire client.
//!
//! Callers mostly need two answers: is it worth retrying, and what to tell the user. So every
//! variant knows whether it is retriable, carries the Kafka error name (`NOT_LEADER_OR_FOLLOWER`,
//! not a number) where the broker sent one, and maps to a small set of categories used as metric
//! and event labels.

use std::time::Duration;

use kafka_protocol::messages::ApiKey;

/// Kafka's error codes by name (`ResponseError::UnknownTopicOrPartition`), from the codec crate:
/// callers match errors with [`Error::code`], never on numbers.
pub use kafka_protocol::error::ResponseError;

use crate::records::RecordError;

/// Result alias for the wire client.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A Kafka error code returned by a broker, with where it applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaCode {
    /// The numeric code.
    pub code: i16,
    /// The broker's message, if it sent one.
    pub message: Option<String>,
}

impl KafkaCode {
    /// The protocol's name for the code, as `UPPER_SNAKE_CASE` (`UNKNOWN_TOPIC_OR_PARTITION`).
    pub fn name(&self) -> String {
        match ResponseError::try_from_code(self.code) {
            None => "NONE".into(),
            Some(ResponseError::Unknown(c)) => format!("UNKNOWN_CODE_{c}"),
            Some(e) => upper_snake(&format!("{e:?}")),
        }
    }

    /// Whether the protocol says a retry may succeed.
    pub fn is_retriable(&self) -> bool {
        ResponseError::try_from_code(self.code).is_some_and(|e| e.is_retriable())
    }

    /// Whether the error means the client's metadata (leaders, coordinators) is stale.
    pub fn needs_metadata_refresh(&self) -> bool {
        matches!(
            ResponseError::try_from_code(self.code),
            Some(
                ResponseError::NotLeaderOrFollower
                    | ResponseError::LeaderNotAvailable
                    | ResponseError::UnknownTopicOrPartition
                    | ResponseError::FencedLeaderEpoch
                    | ResponseError::UnknownLeaderEpoch
                    | ResponseError::NotController
                    | ResponseError::NotCoordinator
                    | ResponseError::CoordinatorNotAvailable
                    | ResponseError::ReplicaNotAvailable
                    | ResponseError::KafkaStorageError
                    | ResponseError::UnknownTopicId
            )
        )
    }
}

fn upper_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Errors of the wire client.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Could not connect to, or lost the connection to, a broker.
    #[error("connection to {broker} failed: {message}")]
    Connection {
        /// `host:port` of the broker.
        broker: String,
        /// What went wrong.
        message: String,
    },
    /// The broker did not answer in time.
    #[error("{api:?} request to {broker} timed out after {timeout:?}")]
    Timeout {
        /// The request's API.
        api: ApiKey,
        /// `host:port` of the broker.
        broker: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// The broker answered with a Kafka error code.
    #[error("{context}: {} ({}){}", .code.name(), .code.code, .code.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Kafka {
        /// The code.
        code: KafkaCode,
        /// What the code applies to: an API, a topic, a partition.
        context: String,
    },
    /// The broker does not support an API (or any version of it we speak).
    #[error(
        "{api:?} is not supported by broker {broker} (broker versions {broker_range}, ours {ours})"
    )]
    Unsupported {
        /// The API.
        api: ApiKey,
        /// `host:port` of the broker.
        broker: String,
        /// What the broker offers, or `none`.
        broker_range: String,
        /// What we speak.
        ours: String,
    },
    /// A response that does not decode, or breaks the protocol (wrong correlation id, size).
    #[error("malformed response from {broker}: {message}")]
    Protocol {
        /// `host:port` of the broker.
        broker: String,
        /// What was wrong.
        message: String,
    },
    /// A request that cannot be encoded (a bug or a field the negotiated version lacks).
    #[error("cannot encode {api:?} v{version}: {message}")]
    Encode {
        /// The API.
        api: ApiKey,
        /// The version.
        version: i16,
        /// The codec's message.
        message: String,
    },
    /// Record batch bytes that cannot be read or written.
    #[error(transparent)]
    Records(#[from] RecordError),
    /// Metadata does not (yet) know what the request needs: a topic, partition or leader.
    #[error("no route: {0}")]
    NoRoute(String),
    /// The caller asked for something invalid.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// SASL authentication failed: the credentials were refused, the broker does not enable the
    /// mechanism, or it could not prove that it knows the password (SCRAM). Never retried: the
    /// same credentials fail the same way. Never carries a credential.
    #[error("SASL {mechanism} authentication to {broker} failed: {message}")]
    Auth {
        /// `host:port` of the broker.
        broker: String,
        /// The mechanism (`SCRAM-SHA-512`).
        mechanism: String,
        /// What the broker said, or what did not verify.
        message: String,
    },
    /// Retries ran out; the last error is kept.
    #[error("gave up after {attempts} attempts over {elapsed:?}: {last}")]
    RetriesExhausted {
        /// How many attempts were made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// The last error.
        last: Box<Error>,
    },
}

impl Error {
    /// Builds a Kafka error from a non-zero code.
    pub fn kafka(code: i16, message: Option<String>, context: impl Into<String>) -> Self {
        Error::Kafka {
            code: KafkaCode { code, message },
            context: context.into(),
        }
    }

    /// `Ok` for code 0, the Kafka error otherwise.
    pub fn check(code: i16, message: Option<&str>, context: impl FnOnce() -> String) -> Result<()> {
        if code == 0 {
            Ok(())
        } else {
            Err(Error::kafka(code, message.map(str::to_owned), context()))
        }
    }

    /// Whether retrying the same request may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Connection { .. } | Error::Timeout { .. } | Error::NoRoute(_) => true,
            Error::Kafka { code, .. } => code.is_retriable() || code.needs_metadata_refresh(),
            _ => false,
        }
    }

    /// Whether the client should refresh its metadata before retrying.
    pub fn needs_metadata_refresh(&self) -> bool {
        match self {
            Error::Connection { .. } | Error::NoRoute(_) => true,
            Error::Kafka { code, .. } => code.needs_metadata_refresh(),
            _ => false,
        }
    }

    /// The Kafka error code, if the broker sent one.
    pub fn kafka_code(&self) -> Option<i16> {
        match self {
            Error::Kafka { code, .. } => Some(code.code),
            Error::RetriesExhausted { last, .. } => last.kafka_code(),
            _ => None,
        }
    }

    /// The Kafka error the broker sent, by name, if it sent one (through retries too).
    pub fn code(&self) -> Option<ResponseError> {
        self.kafka_code().and_then(ResponseError::try_from_code)
    }

    /// Whether the broker answered with exactly this Kafka error.
    pub fn is(&self, code: ResponseError) -> bool {
        self.code() == Some(code)
    }

    /// A short, stable label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Connection { .. } => "connection",
            Error::Timeout { .. } => "timeout",
            Error::Kafka { .. } => "broker",
            Error::Unsupported { .. } => "unsupported",
            Error::Protocol { .. } | Error::Encode { .. } => "protocol",
            Error::Records(_) => "records",
            Error::NoRoute(_) => "metadata",
            Error::Invalid(_) => "invalid",
            Error::Auth { .. } => "auth",
            Error::RetriesExhausted { last, .. } => last.category(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_names_are_upper_snake() {
        let c = KafkaCode {
            code: 6,
            message: None,
        };
        assert_eq!(c.name(), "NOT_LEADER_OR_FOLLOWER");
        assert!(c.is_retriable());
        assert!(c.needs_metadata_refresh());
        let c = KafkaCode {
            code: 36,
            message: None,
        };
        assert_eq!(c.name(), "TOPIC_ALREADY_EXISTS");
        assert!(!c.is_retriable());
        assert_eq!(
            KafkaCode {
                code: 9999,
                message: None
            }
            .name(),
            "UNKNOWN_CODE_9999"
        );
    }

    #[test]
    fn display_carries_name_code_and_message() {
        let e = Error::kafka(3, Some("no such topic".into()), "Produce t-0");
        assert_eq!(
            e.to_string(),
            "Produce t-0: UNKNOWN_TOPIC_OR_PARTITION (3): no such topic"
        );
        assert!(e.is_retriable());
        assert_eq!(e.category(), "broker");
        assert_eq!(e.kafka_code(), Some(3));
        assert!(e.is(ResponseError::UnknownTopicOrPartition));
        assert_eq!(
            Error::RetriesExhausted {
                attempts: 2,
                elapsed: Duration::ZERO,
                last: Box::new(e),
            }
            .code(),
            Some(ResponseError::UnknownTopicOrPartition)
        );
        assert_eq!(Error::Invalid("x".into()).code(), None);
    }

    #[test]
    fn non_retriable_errors() {
        assert!(!Error::Invalid("x".into()).is_retriable());
        assert!(!Error::kafka(87, None, "x").is_retriable()); // INVALID_RECORD
        assert!(Error::Connection {
            broker: "b".into(),
            message: "m".into()
        }
        .is_retriable());
    }
}
