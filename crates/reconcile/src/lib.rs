//! The reconcile core shared by the operator and `clusterlink apply`: it turns `ClusterLink` and
//! `KafkaTopic` resources into REST calls on link servers (ours, or Confluent Server, which
//! speaks the same Admin REST API v3) and computes the status they should show.
//!
//! The pipeline is the same for both drivers, and only the drivers know where resources come
//! from and where status goes:
//! - [`objects`]: the KafkaRestClasses and Secrets the resources refer to, as a snapshot;
//! - [`deref`]: references → REST clients, cluster ids and link configs with their secrets;
//! - `clusterlink_model::plan` (pure, in the API crate): desired vs observed → actions;
//! - [`link`] and [`topic`]: execute the plan through [`rest_client`], observe again;
//! - [`status`]: conditions and CFK's status fields, computed without I/O.

pub mod deref;
pub mod link;
pub mod objects;
pub mod rest_client;
pub mod status;
pub mod topic;

pub use link::{LinkOutcome, LinkReconciler, StoppedTopic};
pub use objects::Objects;
pub use rest_client::{RestClient, RestEndpoint, RestError};
pub use topic::{TopicOutcome, TopicReconciler};

use std::time::Duration;

/// Something that happened during a pass: an Event for the operator, a line for the CLI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// A warning (something failed or needs the user) rather than a normal step.
    pub warning: bool,
    /// CamelCase reason, e.g. `MirrorTopicCreated`.
    pub reason: String,
    /// What happened, for people. Never contains a credential.
    pub message: String,
}

/// When the driver should reconcile the resource again.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Next {
    /// After this long (to refresh the status, or to follow a transition).
    After(Duration),
    /// With backoff: a transient failure of this category.
    Retry(&'static str),
    /// Only when the resource (or an object it refers to) changes.
    WaitForChange,
}
