//! The validated model: a ClusterLink (and a KafkaTopic) as every later step sees it, once
//! [`crate::validation`] has accepted it — its identity, its role (the topology: which end is
//! local), both ends of the link, its mirror topics with their source topics and desired states
//! resolved, and its options with their defaults applied.
//!
//! Why a model of its own: the steps after validation (link configs, the plan, the status) all
//! need the same facts — which cluster is local, what a mirror's source topic is under a prefix,
//! whether undeclared mirrors are deleted, what state a mirror should reach — and, reading the
//! raw spec, each derived them again with its own defaults. Here they are derived once, after
//! the spec is known to be valid (Stackable's `ValidatedCluster` pattern).

use std::collections::BTreeMap;

use clusterlink_rest_v3::MirrorState;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::cluster_link::{
    AclFilter, AutoCreateTopics, ClusterLink, ConnectionMode, FilterSpec, KafkaClusterSpec,
    MirrorDirection, MirrorTopic, MirrorTopicState,
};
use crate::kafka_topic::KafkaTopic;
use crate::placeholders::{given, IgnoredPlaceholder};
use crate::topology::{topology, BrokerConnectionMode, BrokerLinkMode, ClusterSide, Topology};

/// Which resource a validated value comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceId {
    /// Its namespace (`default` when the resource names none).
    pub namespace: String,
    /// Its `metadata.name`.
    pub name: String,
    /// Its `metadata.uid`, when it has one (resources read from files have none).
    pub uid: Option<String>,
    /// Its `metadata.generation`.
    pub generation: Option<i64>,
}

impl ResourceId {
    /// The identity `metadata` gives.
    pub fn of(metadata: &ObjectMeta) -> Self {
        ResourceId {
            namespace: metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into()),
            name: metadata.name.clone().unwrap_or_default(),
            uid: metadata.uid.clone(),
            generation: metadata.generation,
        }
    }

    /// `namespace/name/uid`: one key per resource incarnation (a resource deleted and created
    /// again under the same name is another).
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}",
            self.namespace,
            self.name,
            self.uid.as_deref().unwrap_or_default()
        )
    }
}

/// One end of the link: which cluster field of the spec it is, and what that field says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkEnd {
    /// `spec.sourceKafkaCluster` or `spec.destinationKafkaCluster`.
    pub side: ClusterSide,
    /// The cluster spec at that field.
    pub cluster: KafkaClusterSpec,
}

impl LinkEnd {
    /// The spec field's path, for messages (`spec.sourceKafkaCluster`).
    pub fn path(&self) -> &'static str {
        self.side.path()
    }
}

/// A declared mirror topic, with CFK's defaults applied and its source topic resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredMirror {
    /// The mirror topic's name.
    pub name: String,
    /// The source topic's name: `sourceTopicName`, or the name without the link's prefix, or
    /// the name itself.
    pub source_topic: String,
    /// `toDestination` (on the local half) or `toSource` (on the remote half of a
    /// bidirectional link).
    pub direction: MirrorDirection,
    /// The declared state (`ACTIVE` when absent).
    pub state: MirrorTopicState,
    /// Topic config overrides.
    pub configs: BTreeMap<String, String>,
    /// Replication factor, if declared.
    pub replication_factor: Option<i32>,
}

impl DesiredMirror {
    fn of(t: &MirrorTopic, prefix: Option<&str>) -> Self {
        let source_topic = match (&t.source_topic_name, prefix) {
            (Some(s), _) => s.clone(),
            (None, Some(p)) => t.name.strip_prefix(p).unwrap_or(&t.name).to_string(),
            (None, None) => t.name.clone(),
        };
        DesiredMirror {
            name: t.name.clone(),
            source_topic,
            direction: t.effective_direction(),
            state: t.effective_state(),
            configs: t.configs.clone().unwrap_or_default(),
            replication_factor: t.replication_factor,
        }
    }

    /// The state the mirror rests in once the declared state is reached: `PAUSED` for PAUSE,
    /// `STOPPED` for PROMOTE, FAILOVER and the reverses, `ACTIVE` otherwise (a restored topic
    /// mirrors).
    pub fn target_state(&self) -> MirrorState {
        match self.state {
            MirrorTopicState::Pause => MirrorState::Paused,
            MirrorTopicState::Promote
            | MirrorTopicState::Failover
            | MirrorTopicState::ReverseAndStart
            | MirrorTopicState::ReverseAndPause => MirrorState::Stopped,
            _ => MirrorState::Active,
        }
    }

    /// Whether it lives on the remote half of a bidirectional link (`direction: toSource`).
    pub fn is_reverse(&self) -> bool {
        self.direction == MirrorDirection::ToSource
    }
}

/// `mirrorTopicOptions`, with defaults applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MirrorOptions {
    /// `prefix`: of mirror topic names (`cluster.link.prefix`).
    pub prefix: Option<String>,
    /// `deleteRemovedMirrorTopics` (true when absent).
    pub delete_removed: bool,
    /// `autoCreateTopics`, as declared.
    pub auto_create: Option<AutoCreateTopics>,
}

impl MirrorOptions {
    /// Whether the link creates mirror topics by itself (`autoCreateTopics.enabled`).
    pub fn auto_create_enabled(&self) -> bool {
        self.auto_create
            .as_ref()
            .and_then(|a| a.enabled)
            .unwrap_or(false)
    }

    /// Whether mirrors on the link that the resource does not declare are deleted: when
    /// `deleteRemovedMirrorTopics` and the link does not create mirrors itself.
    pub fn deletes_undeclared(&self) -> bool {
        self.delete_removed && !self.auto_create_enabled()
    }
}

/// A ClusterLink that passed validation, as the configs, the plan and the status read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatedClusterLink {
    /// The cluster link's name: `spec.name`, or the resource's name.
    pub name: String,
    /// The resource.
    pub resource: ResourceId,
    /// Link and connection modes, and which end is local.
    pub topology: Topology,
    /// The cluster where the link lives (whose REST API creates it).
    pub local: LinkEnd,
    /// The cluster the link connects to (or that connects to it).
    pub remote: LinkEnd,
    /// `sourceInitiatedLink.connectionMode` as written, if written: CFK's source-initiated
    /// bidirectional pair marks its Outbound side with an explicit `Outbound`.
    pub declared_connection_mode: Option<ConnectionMode>,
    /// The declared mirror topics, in declaration order.
    pub mirrors: Vec<DesiredMirror>,
    /// `mirrorTopicOptions`.
    pub options: MirrorOptions,
    /// `consumerGroupFilters`.
    pub consumer_group_filters: Vec<FilterSpec>,
    /// `aclFilters`.
    pub acl_filters: Vec<AclFilter>,
    /// `spec.configs`: raw link configs applied on top of the derived ones.
    pub extra_configs: BTreeMap<String, String>,
    /// Fields whose value was a documentation placeholder (`<source-cluster-id>`): treated as
    /// not given in `local` and `remote`, and reported.
    pub ignored_placeholders: Vec<IgnoredPlaceholder>,
}

impl ValidatedClusterLink {
    /// Reads `link` into the validated model's shape without checking it.
    /// [`crate::validate_cluster_link`] is the way in for resources; this is for the pure steps'
    /// tests and for [`crate::link_configs`] on a bare spec.
    pub fn from_unchecked(link: &ClusterLink) -> Self {
        let spec = &link.spec;
        let topo = topology(spec);
        let prefix = spec.prefix().map(str::to_string);
        let mut ignored_placeholders = Vec::new();
        let mut end = |side: ClusterSide| {
            let mut cluster = side.of(spec).clone();
            cluster.cluster_id = given(
                cluster.cluster_id.as_ref(),
                format!("{}.clusterID", side.path()),
                &mut ignored_placeholders,
            );
            LinkEnd { side, cluster }
        };
        let (local, remote) = (end(topo.local), end(topo.remote));
        ValidatedClusterLink {
            name: link.link_name().unwrap_or_default().to_string(),
            resource: ResourceId::of(&link.metadata),
            topology: topo,
            local,
            remote,
            declared_connection_mode: spec
                .source_initiated_link
                .as_ref()
                .and_then(|s| s.connection_mode),
            mirrors: spec
                .mirror_topics()
                .iter()
                .map(|t| DesiredMirror::of(t, prefix.as_deref()))
                .collect(),
            options: MirrorOptions {
                prefix,
                delete_removed: spec.delete_removed_mirror_topics(),
                auto_create: spec
                    .mirror_topic_options
                    .as_ref()
                    .and_then(|o| o.auto_create_topics.clone()),
            },
            consumer_group_filters: spec.consumer_group_filters.clone().unwrap_or_default(),
            acl_filters: spec.acl_filters.clone().unwrap_or_default(),
            extra_configs: spec.configs.clone().unwrap_or_default(),
            ignored_placeholders,
        }
    }

    /// Whether this is one half of a bidirectional pair.
    pub fn is_bidirectional(&self) -> bool {
        self.topology.link_mode == BrokerLinkMode::Bidirectional
    }

    /// Whether this is the source side of a source-initiated link (`linkMode: Source`).
    pub fn is_source_mode(&self) -> bool {
        self.topology.link_mode == BrokerLinkMode::Source
    }

    /// Whether the local cluster is the spec's destination (all but `linkMode: Source`).
    pub fn local_is_destination(&self) -> bool {
        self.local.side == ClusterSide::Destination
    }

    /// Whether this side waits for the other to connect (`connection.mode=INBOUND`).
    pub fn is_inbound(&self) -> bool {
        self.topology.connection_mode == BrokerConnectionMode::Inbound
    }

    /// The mirrors of the local half (`toDestination`).
    pub fn forward_mirrors(&self) -> impl Iterator<Item = &DesiredMirror> {
        self.mirrors.iter().filter(|m| !m.is_reverse())
    }

    /// The mirrors of the remote half (`toSource`).
    pub fn reverse_mirrors(&self) -> impl Iterator<Item = &DesiredMirror> {
        self.mirrors.iter().filter(|m| m.is_reverse())
    }

    /// A declared mirror by name and direction.
    pub fn mirror(&self, name: &str, direction: MirrorDirection) -> Option<&DesiredMirror> {
        self.mirrors
            .iter()
            .find(|m| m.name == name && m.direction == direction)
    }

    /// `<namespace>/<name>` of the Kafka cluster resource the local end names, if it names one
    /// (CFK's `status.kafkaCluster`).
    pub fn local_kafka_cluster(&self) -> Option<String> {
        let c = &self.local.cluster;
        c.name.as_ref().map(|n| {
            let ns = c.namespace.as_deref().unwrap_or(&self.resource.namespace);
            format!("{ns}/{n}")
        })
    }
}

/// A KafkaTopic that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatedKafkaTopic {
    /// The Kafka topic's name: `spec.name`, or the resource's name.
    pub topic: String,
    /// The resource.
    pub resource: ResourceId,
    /// `partitionCount`, if declared.
    pub partitions: Option<i32>,
    /// `replicas`, if declared.
    pub replicas: Option<i32>,
    /// The declared topic configs.
    pub configs: BTreeMap<String, String>,
}

impl ValidatedKafkaTopic {
    /// Reads `t` into the validated model's shape without checking it.
    pub fn from_unchecked(t: &KafkaTopic) -> Self {
        ValidatedKafkaTopic {
            topic: t.topic_name().unwrap_or_default().to_string(),
            resource: ResourceId::of(&t.metadata),
            partitions: t.spec.partition_count,
            replicas: t.spec.replicas,
            configs: t.spec.configs.clone().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mirrors_resolve_source_topics_and_target_states() {
        let link: ClusterLink = serde_json::from_value(json!({
            "metadata": {"name": "res", "namespace": "ns", "uid": "u1", "generation": 4},
            "spec": {
                "name": "the-link",
                "sourceKafkaCluster": {"bootstrapEndpoint": "s:9092"},
                "destinationKafkaCluster": {"name": "kafka"},
                "mirrorTopicOptions": {"prefix": "dc1-"},
                "mirrorTopics": [
                    {"name": "dc1-a"},
                    {"name": "dc1-b", "sourceTopicName": "other", "state": "PROMOTE"},
                    {"name": "back", "direction": "toSource", "state": "PAUSE"}
                ]
            }
        }))
        .unwrap();
        let v = ValidatedClusterLink::from_unchecked(&link);
        assert_eq!(v.name, "the-link");
        assert_eq!(v.resource.key(), "ns/res/u1");
        assert_eq!(v.local_kafka_cluster().as_deref(), Some("ns/kafka"));
        let resolved: Vec<_> = v
            .mirrors
            .iter()
            .map(|m| (m.source_topic.as_str(), m.target_state(), m.is_reverse()))
            .collect();
        assert_eq!(
            resolved,
            [
                ("a", MirrorState::Active, false),
                ("other", MirrorState::Stopped, false),
                ("back", MirrorState::Paused, true)
            ]
        );
        assert!(v.options.deletes_undeclared());
        assert_eq!(v.forward_mirrors().count(), 2);
    }
}
