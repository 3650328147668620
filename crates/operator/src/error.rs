//! The operator's errors, each with a stable category for metrics, Events and logs.

use clusterlink_reconcile::RestError;

/// Why a reconcile pass failed (and will be retried with backoff).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// A link server (or Confluent Server) REST call failed in a way that retrying can fix.
    #[error("{0}")]
    Rest(#[from] RestError),
    /// A transient failure the reconcile core reported, by category.
    #[error("transient failure ({0}); retrying with backoff")]
    Transient(&'static str),
    /// Adding or removing the finalizer failed.
    #[error("finalizer: {0}")]
    Finalizer(String),
    /// An object could not be (de)serialised.
    #[error("serialisation: {0}")]
    Serde(#[from] serde_json::Error),
    /// Leader election failed.
    #[error("leader election: {0}")]
    Lease(String),
}

impl Error {
    /// A short, stable label for metrics and Events.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Kube(kube::Error::Api(_)) => "kube-api",
            Error::Kube(_) => "kube-transport",
            Error::Rest(e) => e.category(),
            Error::Transient(c) => c,
            Error::Finalizer(_) => "finalizer",
            Error::Serde(_) => "serde",
            Error::Lease(_) => "lease",
        }
    }
}
