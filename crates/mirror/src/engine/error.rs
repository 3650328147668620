//! What the engine's operations can fail with, and which cluster a Kafka error came from.

use std::fmt::Display;
use std::time::Duration;

use clusterlink_kafka::Error as KafkaError;
use clusterlink_rest_v3::link_config;

/// Errors of the engine's operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// The source topic does not exist.
    #[error("source topic {0} does not exist on the source cluster")]
    SourceTopicMissing(String),
    /// A topic of the mirror's name exists on the destination.
    #[error("topic {0} already exists on the destination cluster; an existing topic cannot be turned into a mirror topic")]
    DestinationExists(String),
    /// A mirror of that name exists already.
    #[error("mirror topic {0} already exists on this link")]
    Duplicate(String),
    /// The source topic is mirrored by another mirror of this link.
    #[error(
        "source topic {source_topic} is already mirrored on this link by mirror topic {mirror}"
    )]
    SourceAlreadyMirrored {
        /// The source topic.
        source_topic: String,
        /// The existing mirror.
        mirror: String,
    },
    /// An existing topic cannot become a mirror of the source topic from its end.
    #[error("topic {name} cannot become a mirror from its end: {why}")]
    CannotAdopt {
        /// The topic.
        name: String,
        /// Why not.
        why: String,
    },
    /// No mirror of that name.
    #[error("no mirror topic {0} on this link")]
    NotFound(String),
    /// The state change is not possible from the current state.
    #[error("mirror topic {name} is {state}: cannot {action}")]
    InvalidTransition {
        /// Mirror name.
        name: String,
        /// Its state.
        state: &'static str,
        /// What was asked.
        action: &'static str,
    },
    /// A cluster failed.
    #[error("{side} cluster: {source}")]
    Kafka {
        /// `source` or `destination`.
        side: &'static str,
        /// The client error.
        #[source]
        source: KafkaError,
    },
    /// Stored state could not be read.
    #[error("state topic: {0}")]
    State(String),
}

impl MirrorError {
    /// A short, stable label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self {
            MirrorError::SourceTopicMissing(_)
            | MirrorError::DestinationExists(_)
            | MirrorError::Duplicate(_)
            | MirrorError::SourceAlreadyMirrored { .. }
            | MirrorError::NotFound(_)
            | MirrorError::CannotAdopt { .. }
            | MirrorError::InvalidTransition { .. } => "invalid",
            MirrorError::Kafka { source, .. } => source.category(),
            MirrorError::State(_) => "state",
        }
    }
}

/// A source cluster error.
pub(crate) fn src_err(source: KafkaError) -> MirrorError {
    MirrorError::Kafka {
        side: "source",
        source,
    }
}

/// A destination cluster error.
pub(crate) fn dst_err(source: KafkaError) -> MirrorError {
    MirrorError::Kafka {
        side: "destination",
        source,
    }
}

/// Why a partition that kept failing for `cluster.link.retry.timeout.ms` fails its mirror.
pub(crate) fn retries_exhausted(retry_timeout: Duration, error: impl Display) -> String {
    format!(
        "retries exhausted after {}={}: {error}",
        link_config::CLUSTER_LINK_RETRY_TIMEOUT_MS,
        retry_timeout.as_millis()
    )
}
