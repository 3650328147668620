//! The reconcile core shared by the operator and `clusterlink apply`: it turns `ClusterLink` and
//! `KafkaTopic` resources into REST calls on link servers (ours, or Confluent Server, which
//! speaks the same Admin REST API v3) and computes the status they should show.
//!
//! A pass is the same pipeline for both drivers, and only the drivers know where resources come
//! from and where status goes:
//! - validate (pure, `clusterlink_model::validation`): resource → validated model;
//! - [`deref`](mod@deref): the validated model and the [`objects`] it names → REST clients, cluster ids,
//!   link configs with their secrets;
//! - [`endpoint`]: resolve endpoints: the bootstrap of a cluster the link dials without being
//!   given one (from a CFK or Strimzi `Kafka` resource, or the cluster's REST API);
//! - [`link::observe`]: the link as the REST API ([`rest_client`]) reports it;
//! - plan (pure, `clusterlink_model::plan`): desired vs observed → actions;
//! - [`link::execute`]: the actions through the REST API, then observe again;
//! - [`status`]: CFK's status fields and the conditions, computed without I/O.
//!
//! [`link`] runs these steps for a ClusterLink, [`topic`] for a KafkaTopic; [`outcome`] is what
//! a pass hands back besides the status.

pub mod deref;
pub mod endpoint;
pub mod link;
pub mod objects;
pub mod outcome;
pub mod rest_client;
pub mod status;
pub mod topic;

pub use link::{LinkOutcome, LinkReconciler, StoppedTopic};
pub use objects::Objects;
pub use outcome::{Next, Note};
pub use rest_client::{RestClient, RestEndpoint, RestError};
pub use topic::{TopicOutcome, TopicReconciler};
