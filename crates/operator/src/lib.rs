//! The Kubernetes control plane: controllers that reconcile `ClusterLink`, `KafkaRestClass` and
//! `KafkaTopic` resources through the REST API of a link server (ours or Confluent Server).
//!
//! Reserved for the reconciler work (issue 6): nothing reconciles from here yet.
