//! Why a resource could not be dereferenced: each error names the field that refers to what is
//! missing, and maps to a condition reason.

use clusterlink_model::configs::ConfigError;

use crate::rest_client::RestError;
use crate::status::conditions::reason;

/// Why a resource could not be dereferenced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DerefError {
    /// A KafkaRestClass named by a reference does not exist.
    #[error("{path}: KafkaRestClass {namespace}/{name} not found")]
    RestClassNotFound {
        /// The referring field.
        path: String,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// No KafkaRestClass names the Kafka cluster a cluster spec refers to.
    #[error("{path}: no KafkaRestClass has kafkaClusterRef {namespace}/{name}")]
    NoRestClassForCluster {
        /// The referring field.
        path: String,
        /// The Kafka cluster's namespace.
        namespace: String,
        /// The Kafka cluster's name.
        name: String,
    },
    /// Several KafkaRestClasses claim the same Kafka cluster.
    #[error("{path}: several KafkaRestClasses name this Kafka cluster ({names}); keep one")]
    AmbiguousRestClass {
        /// The referring field.
        path: String,
        /// Their namespace/name.
        names: String,
    },
    /// The cluster whose REST API is needed names none.
    #[error(
        "{path}: neither kafkaRestClassRef nor name is set, and this cluster's REST API is needed"
    )]
    NoRestApi {
        /// The cluster field.
        path: String,
    },
    /// A KafkaRestClass without an explicit endpoint.
    #[error("KafkaRestClass {rest_class}: kafkaRest.endpoint is not set (endpoint discovery from a CFK Kafka resource is not supported: set kafkaRest.endpoint)")]
    NoEndpoint {
        /// `namespace/name`.
        rest_class: String,
    },
    /// A Secret that is referred to does not exist, or lacks a key.
    #[error("{path}: {what}")]
    Secret {
        /// The referring field.
        path: String,
        /// What is missing or malformed (never a value).
        what: String,
    },
    /// Something clusterlink cannot do yet.
    #[error("{path}: {what} is not supported by clusterlink")]
    Unsupported {
        /// The field.
        path: String,
        /// What.
        what: String,
    },
    /// The link configs could not be built.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The REST client could not be built.
    #[error("{path}: {source}")]
    Rest {
        /// The KafkaRestClass.
        path: String,
        /// Why.
        source: RestError,
    },
}

impl DerefError {
    /// A short, stable label for metrics, events and status reasons.
    pub fn category(&self) -> &'static str {
        match self {
            DerefError::RestClassNotFound { .. } => "rest-class-not-found",
            DerefError::NoRestClassForCluster { .. } => "rest-class-not-found",
            DerefError::AmbiguousRestClass { .. } => "rest-class-ambiguous",
            DerefError::NoRestApi { .. } => "no-rest-api",
            DerefError::NoEndpoint { .. } => "no-rest-endpoint",
            DerefError::Secret { .. } => "secret",
            DerefError::Unsupported { .. } => "unsupported",
            DerefError::Config(e) => e.category(),
            DerefError::Rest { source, .. } => source.category(),
        }
    }

    /// The CamelCase reason for a status condition or an Event.
    pub fn reason(&self) -> &'static str {
        match self {
            DerefError::RestClassNotFound { .. } | DerefError::NoRestClassForCluster { .. } => {
                reason::KAFKA_REST_CLASS_NOT_FOUND
            }
            DerefError::AmbiguousRestClass { .. } => reason::KAFKA_REST_CLASS_AMBIGUOUS,
            DerefError::NoRestApi { .. } | DerefError::NoEndpoint { .. } => {
                reason::NO_REST_ENDPOINT
            }
            DerefError::Secret { .. } | DerefError::Config(_) => reason::SECRET_NOT_READY,
            DerefError::Unsupported { .. } => reason::UNSUPPORTED,
            DerefError::Rest { .. } => reason::INVALID_REST_SETTINGS,
        }
    }
}
