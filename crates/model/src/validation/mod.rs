//! Validation of the three resources: one pure function per kind that returns every problem at
//! once, each naming the field path and the rule broken — or, when there is none, the validated
//! model the later steps work from ([`crate::validated`]).
//!
//! The operator reports these in the resource's status, the CLI prints them before touching a
//! cluster; both need all problems at once, not the first only, so that a user fixes a manifest
//! in one pass. The checks repeat what the CRD schema says (the CLI has no API server to apply
//! it) and add the rules a schema cannot state: those that relate fields to each other (link
//! modes, the prefix rule, authentication types and their secrets) — see cfk-reference.md §2–§3.
//!
//! - [`errors`]: what a problem is (the rule, the path) and the list of them;
//! - `rules`: the field checks the three kinds share (names, references, secrets);
//! - `cluster_link`, `rest_class`, `topic`: one kind each.

mod cluster_link;
pub mod errors;
mod rest_class;
mod rules;
mod topic;

pub use cluster_link::validate_cluster_link;
pub use errors::{Rule, ValidationError, ValidationErrors};
pub use rest_class::validate_kafka_rest_class;
pub use topic::validate_kafka_topic;
