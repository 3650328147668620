//! The resource model of clusterlink: `ClusterLink`, `KafkaRestClass` and `KafkaTopic` as CFK
//! defines them, their validation and the pure values derived from them.
//!
//! This crate does no I/O, so that the operator, the CLI and the tests can all feed it plain
//! objects. It is filled in by the resource-model work (issue 5); until then it only reserves the
//! place in the workspace.
