//! Which cluster is local and which remote, and the link and connection modes a ClusterLink
//! means (cfk-reference.md §2.4 and §3.2).
//!
//! CFK's field names are about data flow (`sourceKafkaCluster`, `destinationKafkaCluster`), but
//! what the operator needs is where the link object lives (the local cluster, whose REST API
//! creates it) and which cluster it connects to (the remote). The local cluster is the
//! destination, except for `linkMode: Source`.

use crate::cluster_link::{ClusterLinkSpec, ConnectionMode, KafkaClusterSpec, LinkMode};

/// The broker's `link.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BrokerLinkMode {
    /// `DESTINATION`: the link lives on the destination.
    Destination,
    /// `SOURCE`: the link lives on the source and pushes to the destination.
    Source,
    /// `BIDIRECTIONAL`: one half of a bidirectional pair.
    Bidirectional,
}

impl BrokerLinkMode {
    /// The config value.
    pub fn as_config(self) -> &'static str {
        match self {
            BrokerLinkMode::Destination => "DESTINATION",
            BrokerLinkMode::Source => "SOURCE",
            BrokerLinkMode::Bidirectional => "BIDIRECTIONAL",
        }
    }
}

/// The broker's `connection.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BrokerConnectionMode {
    /// `OUTBOUND`: this side opens the connection.
    Outbound,
    /// `INBOUND`: this side waits for the remote to connect.
    Inbound,
}

impl BrokerConnectionMode {
    /// The config value.
    pub fn as_config(self) -> &'static str {
        match self {
            BrokerConnectionMode::Outbound => "OUTBOUND",
            BrokerConnectionMode::Inbound => "INBOUND",
        }
    }
}

/// One of the two cluster fields of the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClusterSide {
    /// `spec.sourceKafkaCluster`.
    Source,
    /// `spec.destinationKafkaCluster`.
    Destination,
}

impl ClusterSide {
    /// The spec field's path, e.g. `spec.sourceKafkaCluster`.
    pub fn path(self) -> &'static str {
        match self {
            ClusterSide::Source => "spec.sourceKafkaCluster",
            ClusterSide::Destination => "spec.destinationKafkaCluster",
        }
    }

    /// The cluster spec on this side.
    pub fn of(self, spec: &ClusterLinkSpec) -> &KafkaClusterSpec {
        match self {
            ClusterSide::Source => &spec.source_kafka_cluster,
            ClusterSide::Destination => &spec.destination_kafka_cluster,
        }
    }
}

/// What a ClusterLink means for the broker and the operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Topology {
    /// `link.mode`.
    pub link_mode: BrokerLinkMode,
    /// `connection.mode`.
    pub connection_mode: BrokerConnectionMode,
    /// Where the link object is created.
    pub local: ClusterSide,
    /// The cluster the link connects to (or that connects to it, when Inbound).
    pub remote: ClusterSide,
}

impl Topology {
    /// Whether this side opens the connection to the remote cluster.
    pub fn is_outbound(&self) -> bool {
        self.connection_mode == BrokerConnectionMode::Outbound
    }

    /// Whether the remote reads back over the connection this side opens, so that the link also
    /// needs `local.*` credentials for the local cluster: a `linkMode: Source` link, and an
    /// Outbound bidirectional link.
    pub fn needs_local_credentials(&self) -> bool {
        self.is_outbound()
            && matches!(
                self.link_mode,
                BrokerLinkMode::Source | BrokerLinkMode::Bidirectional
            )
    }
}

/// The topology of a ClusterLink. A `connectionMode` that contradicts a Source or Destination
/// link mode is ignored here (and reported by validation).
pub fn topology(spec: &ClusterLinkSpec) -> Topology {
    use BrokerConnectionMode::*;
    let (link_mode, connection_mode) = match &spec.source_initiated_link {
        None => (BrokerLinkMode::Destination, Outbound),
        Some(s) => match s.link_mode {
            LinkMode::Destination => (BrokerLinkMode::Destination, Inbound),
            LinkMode::Source => (BrokerLinkMode::Source, Outbound),
            LinkMode::Bidirectional => (
                BrokerLinkMode::Bidirectional,
                match s.connection_mode {
                    Some(ConnectionMode::Inbound) => Inbound,
                    _ => Outbound,
                },
            ),
        },
    };
    let (local, remote) = if link_mode == BrokerLinkMode::Source {
        (ClusterSide::Source, ClusterSide::Destination)
    } else {
        (ClusterSide::Destination, ClusterSide::Source)
    };
    Topology {
        link_mode,
        connection_mode,
        local,
        remote,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster_link::SourceInitiatedLink;

    fn spec(link: Option<(LinkMode, Option<ConnectionMode>)>) -> ClusterLinkSpec {
        ClusterLinkSpec {
            source_initiated_link: link.map(|(link_mode, connection_mode)| SourceInitiatedLink {
                link_mode,
                connection_mode,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn modes_map_as_cfk_documents() {
        use BrokerConnectionMode::*;
        use BrokerLinkMode as B;
        use ClusterSide::*;
        let cases = [
            (None, B::Destination, Outbound, Destination, false),
            (
                Some((LinkMode::Destination, None)),
                B::Destination,
                Inbound,
                Destination,
                false,
            ),
            (
                Some((LinkMode::Source, None)),
                B::Source,
                Outbound,
                Source,
                true,
            ),
            (
                Some((LinkMode::Bidirectional, None)),
                B::Bidirectional,
                Outbound,
                Destination,
                true,
            ),
            (
                Some((LinkMode::Bidirectional, Some(ConnectionMode::Outbound))),
                B::Bidirectional,
                Outbound,
                Destination,
                true,
            ),
            (
                Some((LinkMode::Bidirectional, Some(ConnectionMode::Inbound))),
                B::Bidirectional,
                Inbound,
                Destination,
                false,
            ),
        ];
        for (link, mode, conn, local, local_creds) in cases {
            let t = topology(&spec(link));
            assert_eq!(
                (t.link_mode, t.connection_mode, t.local),
                (mode, conn, local),
                "{link:?}"
            );
            assert_ne!(t.local, t.remote);
            assert_eq!(t.needs_local_credentials(), local_creds, "{link:?}");
        }
    }
}
