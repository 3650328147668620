//! The resource model of clusterlink: `ClusterLink`, `KafkaRestClass` and `KafkaTopic` as CFK
//! (Confluent for Kubernetes) defines them, their validation and the pure values derived from them.
//!
//! This crate does no I/O, so that the operator, the CLI and the tests can all feed it plain
//! objects: whatever must be read from a cluster (secrets, the link's current configs, the mirror
//! topics' states) is passed in by the caller.
//!
//! The pure steps of a reconcile pass live here, in the order a pass takes them:
//! - the resources: [`cluster_link`], [`kafka_rest_class`], [`kafka_topic`] (with [`common`]
//!   parts), their CRDs ([`crd`]), reading manifests ([`compat`]), names ([`names`]);
//! - [`validation`]: every problem at once, or the [`validated`] model the later steps read
//!   (with [`topology`]: which end of a link is local);
//! - [`configs`]: the link configs a validated ClusterLink means;
//! - [`plan`](mod@plan): desired vs observed → actions, problems and how a link's halves pair.

pub mod cluster_link;
pub mod common;
pub mod compat;
pub mod configs;
pub mod crd;
pub mod kafka_rest_class;
pub mod kafka_topic;
pub mod names;
pub mod placeholders;
pub mod plan;
pub mod topology;
pub mod validated;
pub mod validation;

pub use cluster_link::{ClusterLink, ClusterLinkSpec, ClusterLinkStatus};
pub use compat::{parse_documents, parse_resource, Parsed, Resource};
pub use configs::{
    link_configs, ConfigValue, LinkConfigs, ResolvedSecrets, SecretSource, SecretValue,
};
pub use crd::{crds, crds_yaml};
pub use kafka_rest_class::{KafkaRestClass, KafkaRestClassSpec, KafkaRestClassStatus};
pub use kafka_topic::{KafkaTopic, KafkaTopicSpec, KafkaTopicStatus};
pub use plan::{
    plan, Action, LinkIds, Observed, ObservedLink, ObservedMirror, ObservedPeer, Plan, Problem,
    RemoteLink, ReportedState, Side, WaitingForInbound,
};
pub use validated::{
    DesiredMirror, LinkEnd, MirrorOptions, ResourceId, ValidatedClusterLink, ValidatedKafkaTopic,
};
pub use validation::{
    validate_cluster_link, validate_kafka_rest_class, validate_kafka_topic, ValidationError,
    ValidationErrors,
};
