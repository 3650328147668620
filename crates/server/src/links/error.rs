//! What can go wrong with a link operation, and its metrics label.

use clusterlink_kafka::Error as KafkaError;
use clusterlink_mirror::MirrorError;

use crate::configs::ConfigError;

/// Errors of link operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// No link of that name.
    #[error("Cluster link '{0}' does not exist")]
    NotFound(String),
    /// A link of that name exists.
    #[error("Cluster link '{0}' already exists")]
    AlreadyExists(String),
    /// A config was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The request is wrong in some other way.
    #[error("{0}")]
    Invalid(String),
    /// The source is this cluster.
    #[error(
        "Source cluster ID matches local cluster ID '{0}'. Cannot create cluster link to self."
    )]
    LinkToSelf(String),
    /// `bootstrap.servers` reaches another cluster than the one named.
    #[error(
        "Expected source cluster ID '{expected}' but bootstrap.servers reaches cluster '{actual}'"
    )]
    ClusterIdMismatch {
        /// The id in the request.
        expected: String,
        /// The id the source reports.
        actual: String,
    },
    /// The source cluster cannot be reached.
    #[error("Cannot reach the source cluster of link '{link}': {message}")]
    SourceUnreachable {
        /// Link name.
        link: String,
        /// Why.
        message: String,
    },
    /// The remote cluster refused the link's credentials (its SASL settings).
    #[error("Cluster link '{link}': {message}")]
    Authentication {
        /// Link name.
        link: String,
        /// The client's error: broker, mechanism, what the broker said (never a credential).
        message: String,
    },
    /// The link still has mirror topics and `force` was not given.
    #[error("Cluster link '{link}' has {count} mirror topic(s) that are not stopped ({names}); promote, fail over or delete them first, or delete the link with force=true")]
    HasMirrors {
        /// Link name.
        link: String,
        /// How many.
        count: usize,
        /// Their names.
        names: String,
    },
    /// Topics named in a mirror action are not mirror topics of the link.
    #[error("Topic(s) {topics} are not mirror topics of cluster link '{link}'")]
    NotAMirror {
        /// Link name.
        link: String,
        /// The topics, comma-separated.
        topics: String,
    },
    /// The link's engine is not running (its source has not been reachable since start).
    #[error("Cluster link '{link}' is not running: {message}")]
    Unavailable {
        /// Link name.
        link: String,
        /// The last start error.
        message: String,
    },
    /// The mirroring engine refused or failed.
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    /// The local cluster failed.
    #[error("local cluster: {0}")]
    Local(#[source] KafkaError),
    /// Stored state could not be read.
    #[error("state topic: {0}")]
    State(String),
    /// Sensitive configs of a stored link cannot be decrypted: the link does not run.
    #[error("Cluster link '{link}': config(s) {configs}: {reason}; start the server with the secret that encrypted them (as --password-encoder-secret-file, or as --password-encoder-old-secret-file to re-encrypt them), or set them again")]
    Undecryptable {
        /// Link name.
        link: String,
        /// The configs' names, comma-separated.
        configs: String,
        /// Why (never a value).
        reason: String,
    },
}

impl LinkError {
    /// A short, stable label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self {
            LinkError::NotFound(_) => "not_found",
            LinkError::AlreadyExists(_) => "duplicate",
            LinkError::Config(e) => e.category(),
            LinkError::Invalid(_)
            | LinkError::LinkToSelf(_)
            | LinkError::ClusterIdMismatch { .. }
            | LinkError::HasMirrors { .. }
            | LinkError::NotAMirror { .. } => "invalid",
            LinkError::Authentication { .. } => "authentication",
            LinkError::SourceUnreachable { .. } | LinkError::Unavailable { .. } => {
                "source_unavailable"
            }
            LinkError::Mirror(e) => e.category(),
            LinkError::Local(e) => e.category(),
            LinkError::State(_) => "state",
            LinkError::Undecryptable { .. } => "undecryptable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_categories() {
        assert_eq!(LinkError::NotFound("x".into()).category(), "not_found");
        assert_eq!(
            LinkError::Config(ConfigError::Unknown("x".into())).category(),
            "unknown_config"
        );
        assert_eq!(LinkError::LinkToSelf("c".into()).category(), "invalid");
    }
}
