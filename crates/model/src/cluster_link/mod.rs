//! The `ClusterLink` resource: a cluster link between two Kafka clusters and its mirror topics.
//!
//! The shape is CFK 3.3's (`platform.confluent.io/v1beta1`), field for field, so that CFK
//! manifests apply unchanged, plus what the CFK documentation page's own examples use and CFK's
//! schema lacks: `sourceKafkaCluster.name` / `.namespace` (and the same on the destination), a
//! reference to a Kafka cluster resource that is resolved through the `KafkaRestClass` whose
//! `kafkaClusterRef` names it. Status carries CFK's fields plus a few clusterlink extensions on
//! mirror topics (marked as such), which kubectl and CFK tooling ignore.

// kube's `#[kube(...)]` repeats keys such as `shortname` and `printcolumn(type_ = ...)` by design.
#![allow(clippy::duplicated_attributes)]

mod status;

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{KafkaRestClassRef, OAuthSettings, RequiredSecretRef};

pub use status::{
    BidirectionalState, ClusterLinkStatus, MirrorTopicStatus, PartitionTruncationStatus,
    ResolvedBootstrap, TruncationStatus,
};

/// The desired state of a cluster link.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "platform.confluent.io",
    version = "v1beta1",
    kind = "ClusterLink",
    plural = "clusterlinks",
    singular = "clusterlink",
    namespaced,
    status = "ClusterLinkStatus",
    derive = "PartialEq",
    derive = "Default",
    shortname = "cl",
    shortname = "clusterlink",
    shortname = "clink",
    category = "all",
    category = "confluent-platform",
    category = "confluent",
    doc = "ClusterLink is a cluster link between two Kafka clusters and the mirror topics it owns.",
    printcolumn(name = "ID", type_ = "string", json_path = ".status.clusterLinkID"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.state"),
    printcolumn(
        name = "DestClusterID",
        type_ = "string",
        json_path = ".status.destinationKafkaClusterID"
    ),
    printcolumn(
        name = "SrcClusterID",
        type_ = "string",
        json_path = ".status.sourceKafkaClusterID"
    ),
    printcolumn(
        name = "MirrorTopicCount",
        type_ = "string",
        json_path = ".status.numMirrorTopics"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#,
        priority = 1
    ),
    printcolumn(
        name = "MaxLag",
        type_ = "integer",
        json_path = ".status.maxLag",
        priority = 1
    ),
    printcolumn(
        name = "MaxLagSeconds",
        type_ = "number",
        json_path = ".status.maxLagSeconds",
        priority = 1
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterLinkSpec {
    /// ACLs to migrate from the source cluster to the destination cluster (`acl.filters`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl_filters: Option<Vec<AclFilter>>,
    /// Additional link configurations (raw cluster link configs), applied on top of the ones
    /// derived from the other fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-map-type" = "granular"))]
    pub configs: Option<BTreeMap<String, String>>,
    /// Consumer groups whose offsets are migrated from the source cluster to the destination
    /// cluster (`consumer.offset.group.filters`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_group_filters: Option<Vec<FilterSpec>>,
    /// The destination Kafka cluster and how to reach its REST API. This is the local cluster,
    /// where the link lives, except with `linkMode: Source`.
    pub destination_kafka_cluster: KafkaClusterSpec,
    /// Options for the mirror topics of the link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_topic_options: Option<MirrorTopicOptions>,
    /// The mirror topics of the link. Mirror topics on the link that are not listed here are
    /// deleted unless `mirrorTopicOptions.deleteRemovedMirrorTopics` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_topics: Option<Vec<MirrorTopic>>,
    /// Name of the cluster link; the resource's name when absent. Both resources of a
    /// bidirectional link pair use the same name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9\._\-]*$"))]
    pub name: Option<String>,
    /// Source-initiated and bidirectional link settings; a destination-initiated link when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_initiated_link: Option<SourceInitiatedLink>,
    /// The source Kafka cluster and how to reach it. This is the remote cluster, except with
    /// `linkMode: Source`.
    pub source_kafka_cluster: KafkaClusterSpec,
}

/// One side of a link: a Kafka cluster, how the link connects to it and how to reach its REST API.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaClusterSpec {
    /// Client authentication the link uses toward this cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<ClientAuthentication>,
    /// Kafka bootstrap endpoint, `host:port` (a comma-separated list is accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1), regex(pattern = ".+:[0-9]+"))]
    pub bootstrap_endpoint: Option<String>,
    /// Kafka cluster id; when set, it is used instead of asking the REST API.
    #[serde(rename = "clusterID", default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub cluster_id: Option<String>,
    /// The KafkaRestClass through which this cluster's Admin REST API is reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_rest_class_ref: Option<KafkaRestClassRef>,
    /// clusterlink extension (used by the CFK page's examples): name of a CFK `Kafka` cluster
    /// resource. Its REST API is the KafkaRestClass whose `kafkaClusterRef` names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// clusterlink extension: namespace of the `Kafka` cluster resource named by `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Client-side TLS the link uses toward this cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTls>,
}

/// Link client authentication types.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AuthenticationType {
    /// SASL/PLAIN.
    Plain,
    /// SASL/OAUTHBEARER with a token from the RBAC metadata service.
    Oauthbearer,
    /// SASL/SCRAM (CFK's "digest").
    Digest,
    /// TLS client certificates.
    Mtls,
    /// SASL/OAUTHBEARER with an OAuth identity provider.
    Oauth,
    /// No authentication.
    None,
}

/// How the link authenticates to one cluster.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientAuthentication {
    /// Secret with `plain.txt` (`username=…` and `password=…` lines) from which the JAAS
    /// configuration is built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jaas_config: Option<RequiredSecretRef>,
    /// A complete JAAS configuration passed through as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jaas_config_pass_through: Option<crate::common::SecretOrDirectory>,
    /// OAuth settings, for `type: oauth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_settings: Option<OAuthSettings>,
    /// Credentials for `type: oauthbearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauthbearer: Option<crate::common::SecretOrDirectory>,
    /// Whether the client also presents a TLS certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_client_authentication: Option<bool>,
    /// The authentication type.
    #[serde(rename = "type")]
    pub type_: AuthenticationType,
}

/// Client-side TLS of a link toward one cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientTls {
    /// Directory in the container with `fullchain.pem`, `privkey.pem`, `cacerts.pem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub directory_path_in_container: Option<String>,
    /// Whether TLS is used.
    pub enabled: bool,
    /// Secret with the password of an encrypted private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_password: Option<RequiredSecretRef>,
    /// Secret with `fullchain.pem`, `privkey.pem`, `cacerts.pem` (or `tls.crt`, `tls.key`,
    /// `ca.crt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub secret_ref: Option<String>,
}

/// `sourceInitiatedLink`: which end of the link opens the connection.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceInitiatedLink {
    /// For bidirectional links: whether this side opens the connection (`Outbound`, the
    /// default) or waits for the other side (`Inbound`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_mode: Option<ConnectionMode>,
    /// The link mode of this resource.
    pub link_mode: LinkMode,
}

/// Link modes of `sourceInitiatedLink.linkMode`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[non_exhaustive]
pub enum LinkMode {
    /// The source side of a source-initiated link: opens the connection to the destination.
    Source,
    /// The destination side of a source-initiated link: waits for the source to connect.
    Destination,
    /// One side of a bidirectional link pair.
    Bidirectional,
}

/// Connection modes of `sourceInitiatedLink.connectionMode`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[non_exhaustive]
pub enum ConnectionMode {
    /// This side opens the connection.
    Outbound,
    /// This side accepts the connection that the other side opens.
    Inbound,
}

/// A mirror topic of the link.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MirrorTopic {
    /// Topic configuration overrides of the mirror topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-map-type" = "granular"))]
    pub configs: Option<BTreeMap<String, String>>,
    /// On bidirectional links: `toDestination` (default) pulls from the remote cluster into the
    /// local one, `toSource` pushes from the local cluster to the remote one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "toDestination"))]
    pub direction: Option<MirrorDirection>,
    /// Name of the mirror topic on the destination. Without `sourceTopicName` the source topic
    /// has the same name; with `mirrorTopicOptions.prefix` it is `<prefix><sourceTopicName>`.
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9\._\-]*$"))]
    pub name: String,
    /// Replication factor on the destination; the broker's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_factor: Option<i32>,
    /// Name of the topic on the source, only with `mirrorTopicOptions.prefix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9\._\-]*$"))]
    pub source_topic_name: Option<String>,
    /// Desired state; `ACTIVE` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "ACTIVE"))]
    pub state: Option<MirrorTopicState>,
}

impl MirrorTopic {
    /// The desired state, with CFK's default (`ACTIVE`).
    pub fn effective_state(&self) -> MirrorTopicState {
        self.state.unwrap_or(MirrorTopicState::Active)
    }

    /// The direction, with CFK's default (`toDestination`).
    pub fn effective_direction(&self) -> MirrorDirection {
        self.direction.unwrap_or(MirrorDirection::ToDestination)
    }
}

/// Desired state of a mirror topic: CFK's four, and clusterlink's failback states (a superset).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum MirrorTopicState {
    /// Stop mirroring, stay read-only.
    Pause,
    /// Wait for zero lag, do a final sync, stop mirroring and make the topic writable.
    Promote,
    /// Stop mirroring and make the topic writable without waiting for the lag.
    Failover,
    /// Mirror (the default).
    Active,
    /// Failback, on the cluster that comes back after a failover: the local topic of that name,
    /// which the remote cluster mirrored and failed over, is cut back to where the remote's
    /// mirror stopped (the records after it kept in `<topic>.diverged`) and mirrors the remote
    /// topic (`mirrors:truncate-and-restore`). Reached when the mirror is ACTIVE.
    TruncateAndRestore,
    /// Planned failback: promote this mirror (zero lag first), then its source topic on the
    /// remote cluster becomes a mirror of it (`mirrors:reverse-and-start-mirror`). Reached when
    /// this mirror is STOPPED.
    ReverseAndStart,
    /// As `REVERSE_AND_START`, the remote mirror paused (`mirrors:reverse-and-pause-mirror`).
    ReverseAndPause,
}

/// Direction of a mirror topic on a bidirectional link.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum MirrorDirection {
    /// From the remote (source) cluster into the local (destination) cluster.
    ToDestination,
    /// From the local cluster to the remote cluster.
    ToSource,
}

/// `mirrorTopicOptions`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MirrorTopicOptions {
    /// Automatic creation of mirror topics for source topics matching filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_create_topics: Option<AutoCreateTopics>,
    /// Whether mirror topics that are on the link but not in `mirrorTopics` are deleted;
    /// true when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = true))]
    pub delete_removed_mirror_topics: Option<bool>,
    /// Prefix of the mirror topic names (`cluster.link.prefix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9\._\-]*$"))]
    pub prefix: Option<String>,
}

/// `mirrorTopicOptions.autoCreateTopics`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoCreateTopics {
    /// Whether mirror topics are created automatically; false clears any existing filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Which source topics are mirrored automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_filters: Option<Vec<FilterSpec>>,
}

/// A name filter (topic filters, consumer group filters).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FilterSpec {
    /// Include or exclude what matches.
    pub filter_type: FilterType,
    /// The name or prefix; `*` matches everything.
    pub name: String,
    /// How `name` matches.
    pub pattern_type: FilterPatternType,
}

/// Include or exclude.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum FilterType {
    /// Include what matches.
    Include,
    /// Exclude what matches.
    Exclude,
}

/// How a filter name matches.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum FilterPatternType {
    /// Names starting with the filter's name.
    Prefixed,
    /// The exact name (`*` matches all).
    Literal,
}

/// An ACL filter of `aclFilters`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AclFilter {
    /// Which access the ACLs grant.
    pub access_filter: AccessFilter,
    /// Link ids the filter applies to (CFK 3.3; no documented meaning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_link_ids: Option<Vec<String>>,
    /// Which resources the ACLs are on.
    pub resource_filter: ResourceFilter,
}

/// The access part of an ACL filter.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessFilter {
    /// Host; `*` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// ACL operation (`any`, `read`, `write`, `describeConfigs`, …).
    pub operation: String,
    /// Permission type.
    pub permission_type: AclPermissionType,
    /// Principal, e.g. `User:alice`; `*` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}

/// ACL permission types.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AclPermissionType {
    /// Any.
    Any,
    /// Allow.
    Allow,
    /// Deny.
    Deny,
}

/// The resource part of an ACL filter.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceFilter {
    /// Resource name; `*` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How `name` matches.
    pub pattern_type: AclPatternType,
    /// Resource type.
    pub resource_type: AclResourceType,
}

/// ACL resource pattern types.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AclPatternType {
    /// Prefixed.
    Prefixed,
    /// Literal.
    Literal,
    /// Any.
    Any,
    /// Match.
    Match,
}

/// ACL resource types, spelled as CFK's schema spells them (including its `transcationId`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum AclResourceType {
    /// Any.
    Any,
    /// The cluster.
    Cluster,
    /// A consumer group.
    Group,
    /// A topic.
    Topic,
    /// A transactional id (CFK's spelling).
    #[serde(rename = "transcationId")]
    TransactionalId,
    /// A delegation token.
    DelegationToken,
}

impl ClusterLink {
    /// The cluster link's name: `spec.name`, or the resource's name when absent.
    pub fn link_name(&self) -> Option<&str> {
        self.spec.name.as_deref().or(self.metadata.name.as_deref())
    }
}

impl ClusterLinkSpec {
    /// `sourceInitiatedLink.linkMode`, if any.
    pub fn link_mode(&self) -> Option<LinkMode> {
        self.source_initiated_link.as_ref().map(|s| s.link_mode)
    }

    /// The mirror topics (empty when absent).
    pub fn mirror_topics(&self) -> &[MirrorTopic] {
        self.mirror_topics.as_deref().unwrap_or_default()
    }

    /// `mirrorTopicOptions.prefix`, if any.
    pub fn prefix(&self) -> Option<&str> {
        self.mirror_topic_options
            .as_ref()
            .and_then(|o| o.prefix.as_deref())
    }

    /// `mirrorTopicOptions.deleteRemovedMirrorTopics`, with its default (true).
    pub fn delete_removed_mirror_topics(&self) -> bool {
        self.mirror_topic_options
            .as_ref()
            .and_then(|o| o.delete_removed_mirror_topics)
            .unwrap_or(true)
    }
}
