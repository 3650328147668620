//! Confluent's Admin REST API v3 (the cluster-linking, cluster and topic paths) as served by the
//! link server: routing, request validation and Confluent's JSON shapes and error bodies.
//!
//! Reserved for the link-server work (issue 4): nothing is served from here yet.
