//! Which broker a test runs against, and the one way every data-plane test gets its clusters.
//!
//! Apache Kafka is the reference: every data-plane claim runs on it. tansu and librdkafka's mock
//! cluster are second implementations of the protocol, run where they add something (a claim of
//! "any Kafka" needs more than one). A test body takes a [`Peer`] and asks it for clusters;
//! [`peer_tests!`](crate::peer_tests) turns the body into one test per peer, named after it
//! (`mirrors_every_codec::kafka`, `mirrors_every_codec::tansu`), so that a run or a tier selects
//! peers by name.
//!
//! On Kafka, [`Peer::cluster`] hands out the run's shared clusters (see [`crate::kafka`]): a test
//! on them must use [`crate::kafka::unique_name`]s for topics and groups, and a link server on
//! them keeps its state in a topic of its own ([`crate::link_server::options`] does that). A test
//! that kills, restarts or reconfigures a broker asks for a [`Peer::private`] cluster instead.

use anyhow::Result;

use crate::kafka::{KafkaCluster, Listener};
use crate::sasl::SaslCluster;
use crate::{MockCluster, TansuCluster};

/// A broker implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    /// Apache Kafka (the reference).
    Kafka,
    /// tansu.
    Tansu,
    /// librdkafka's mock cluster (no CreateTopics, configs or ACLs).
    Mock,
}

/// Which of the two clusters of a link a test asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The first cluster (usually the source).
    A,
    /// The second cluster (usually the destination).
    B,
}

impl Peer {
    /// The peer a [`peer_tests!`](crate::peer_tests) test is named after.
    pub fn named(name: &str) -> Peer {
        match name {
            "kafka" => Peer::Kafka,
            "tansu" => Peer::Tansu,
            "mock" => Peer::Mock,
            other => panic!("unknown peer {other:?}: kafka, tansu or mock"),
        }
    }

    /// The peer's name, as tests are named.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Kafka => "kafka",
            Peer::Tansu => "tansu",
            Peer::Mock => "mock",
        }
    }

    /// A cluster for one side of a link: on Kafka the run's shared cluster of that side (use
    /// unique names on it), otherwise a new one whose cluster id (tansu) names the side.
    pub fn cluster(self, side: Side) -> Result<Broker> {
        Ok(match self {
            Peer::Kafka => Broker::Kafka(match side {
                Side::A => KafkaCluster::shared()?,
                Side::B => KafkaCluster::shared_second()?,
            }),
            Peer::Tansu => Broker::Tansu(TansuCluster::start(match side {
                Side::A => "cluster-a",
                Side::B => "cluster-b",
            })?),
            Peer::Mock => Broker::Mock(MockCluster::start(1)?),
        })
    }

    /// The two clusters of a link: [`Side::A`] and [`Side::B`].
    pub fn pair(self) -> Result<(Broker, Broker)> {
        Ok((self.cluster(Side::A)?, self.cluster(Side::B)?))
    }

    /// A cluster of this test's own, which it may kill and restart: on Kafka a new single-node
    /// cluster (seconds to start), otherwise a new broker with cluster id `id` (tansu).
    pub fn private(self, id: &str) -> Result<Broker> {
        Ok(match self {
            Peer::Kafka => Broker::Kafka(KafkaCluster::start()?),
            Peer::Tansu => Broker::Tansu(TansuCluster::start(id)?),
            Peer::Mock => Broker::Mock(MockCluster::start(1)?),
        })
    }

    /// A cluster of this test's own that a link reaches with SASL credentials (PLAIN,
    /// SCRAM-SHA-256 or SCRAM-SHA-512 as `users`, name and password), while the test sets up
    /// and checks through plain clients: on Kafka a SASL_PLAINTEXT listener beside PLAINTEXT;
    /// on tansu a SASL front that lets unauthenticated clients through too
    /// ([`SaslCluster::start_mixed`]), with cluster id `id`. On tansu a user listed twice has
    /// two PLAIN passwords (a rotation); Kafka knows one password per user (the first listed),
    /// so a rotation there changes the broker's credential (SCRAM, with `kafka-configs`).
    pub fn sasl_private(self, id: &str, users: &[(&str, &str)]) -> Result<SaslBroker> {
        Ok(match self {
            Peer::Kafka => {
                let mut b = KafkaCluster::builder().listener(Listener::SaslPlaintext);
                let mut seen = std::collections::BTreeSet::new();
                for (name, password) in users {
                    if seen.insert(*name) {
                        b = b.user(name, password);
                    }
                }
                SaslBroker::Kafka(b.start()?)
            }
            Peer::Tansu => SaslBroker::Tansu(SaslCluster::start_mixed(id, users)?),
            Peer::Mock => anyhow::bail!("librdkafka's mock cluster has no SASL listener"),
        })
    }
}

/// A private cluster whose link-facing address needs SASL: see [`Peer::sasl_private`].
#[derive(Debug)]
pub enum SaslBroker {
    /// Apache Kafka with a SASL_PLAINTEXT listener.
    Kafka(KafkaCluster),
    /// tansu behind a SASL front.
    Tansu(SaslCluster),
}

impl SaslBroker {
    /// Where plain clients (set-up, librdkafka checks) connect without credentials.
    pub fn bootstrap(&self) -> String {
        match self {
            SaslBroker::Kafka(k) => k.bootstrap(),
            SaslBroker::Tansu(t) => t.bootstrap(),
        }
    }

    /// Where a client must authenticate with SASL (`security.protocol=SASL_PLAINTEXT`).
    pub fn sasl_bootstrap(&self) -> String {
        match self {
            SaslBroker::Kafka(k) => k.bootstrap_for(Listener::SaslPlaintext),
            SaslBroker::Tansu(t) => t.bootstrap(),
        }
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> String {
        match self {
            SaslBroker::Kafka(k) => k.cluster_id().to_owned(),
            SaslBroker::Tansu(t) => t.cluster_id().to_owned(),
        }
    }

    /// Which implementation this is.
    pub fn peer(&self) -> Peer {
        match self {
            SaslBroker::Kafka(_) => Peer::Kafka,
            SaslBroker::Tansu(_) => Peer::Tansu,
        }
    }
}

impl Peer {
    /// A cluster of this test's own that clients reach through a [`crate::proxy::Proxy`], which
    /// can cut them off or lose answers (see [`Broker::proxy`]): clients of the code under test
    /// bootstrap from [`Broker::proxied_bootstrap`]. On Kafka a new single node with a
    /// [`crate::kafka::Listener::Proxied`] listener (checks with [`Broker::bootstrap`] go
    /// around the proxy); on tansu a new broker behind a proxy (everything goes through it).
    /// Panics on the mock.
    pub fn private_behind_proxy(self, id: &str) -> Result<Broker> {
        Ok(match self {
            Peer::Kafka => Broker::Kafka(KafkaCluster::builder().proxied().start()?),
            Peer::Tansu => Broker::Tansu(TansuCluster::start_behind_proxy(id)?),
            Peer::Mock => panic!("the mock cluster cannot run behind the test proxy"),
        })
    }
}

/// A running cluster of some peer; a private one stops when this value is dropped.
#[derive(Debug)]
pub enum Broker {
    /// Apache Kafka.
    Kafka(KafkaCluster),
    /// tansu.
    Tansu(TansuCluster),
    /// librdkafka's mock cluster.
    Mock(MockCluster),
}

impl Broker {
    /// Which implementation this is.
    pub fn peer(&self) -> Peer {
        match self {
            Broker::Kafka(_) => Peer::Kafka,
            Broker::Tansu(_) => Peer::Tansu,
            Broker::Mock(_) => Peer::Mock,
        }
    }

    /// The PLAINTEXT bootstrap servers.
    pub fn bootstrap(&self) -> String {
        match self {
            Broker::Kafka(k) => k.bootstrap(),
            Broker::Tansu(t) => t.bootstrap(),
            Broker::Mock(m) => m.bootstrap().to_owned(),
        }
    }

    /// The cluster id (the mock's is not known ahead: empty).
    pub fn cluster_id(&self) -> String {
        match self {
            Broker::Kafka(k) => k.cluster_id().to_owned(),
            Broker::Tansu(t) => t.cluster_id().to_owned(),
            Broker::Mock(_) => String::new(),
        }
    }

    /// The bootstrap servers through the test proxy, for a cluster from
    /// [`Peer::private_behind_proxy`] (panics on others).
    pub fn proxied_bootstrap(&self) -> String {
        match self {
            Broker::Kafka(k) => k.bootstrap_for(crate::kafka::Listener::Proxied),
            Broker::Tansu(t) => {
                assert!(t.proxy().is_some(), "a tansu broker behind a proxy");
                t.bootstrap()
            }
            Broker::Mock(_) => panic!("the mock cluster has no proxy"),
        }
    }

    /// Where the code under test bootstraps from: [`Broker::proxied_bootstrap`] for a cluster
    /// behind a proxy, else [`Broker::bootstrap`].
    pub fn client_bootstrap(&self) -> String {
        match self {
            Broker::Kafka(k) if k.has_listener(crate::kafka::Listener::Proxied) => {
                self.proxied_bootstrap()
            }
            other => other.bootstrap(),
        }
    }

    /// The proxy in front of a single-node cluster from [`Peer::private_behind_proxy`].
    pub fn proxy(&self) -> &crate::proxy::Proxy {
        match self {
            Broker::Kafka(k) => {
                assert_eq!(k.node_count(), 1, "one node: use KafkaCluster::proxy(node)");
                k.proxy(1)
            }
            Broker::Tansu(t) => t.proxy().expect("a tansu broker behind a proxy"),
            Broker::Mock(_) => panic!("the mock cluster has no proxy"),
        }
    }

    /// Cuts every connection through the proxy and refuses new ones.
    pub fn cut_network(&self) {
        match self {
            Broker::Kafka(k) => k.cut_network(),
            other => other.proxy().cut(),
        }
    }

    /// Lets connections through the proxy again.
    pub fn restore_network(&self) {
        match self {
            Broker::Kafka(k) => k.restore_network(),
            other => other.proxy().restore(),
        }
    }

    /// Whether other tests use this cluster at the same time (then names must be unique).
    pub fn is_shared(&self) -> bool {
        matches!(self, Broker::Kafka(k) if k.is_shared())
    }

    /// The Kafka cluster, for what only Kafka offers (nodes, listeners, Kafka's tools). Panics
    /// on another peer.
    pub fn kafka(&mut self) -> &mut KafkaCluster {
        match self {
            Broker::Kafka(k) => k,
            other => panic!("a Kafka cluster was expected, not {:?}", other.peer()),
        }
    }

    /// The tansu broker, for what only the tansu harness offers. Panics on another peer.
    pub fn tansu(&mut self) -> &mut TansuCluster {
        match self {
            Broker::Tansu(t) => t,
            other => panic!("a tansu broker was expected, not {:?}", other.peer()),
        }
    }
}

/// Declares one test per peer for async test bodies that take a [`Peer`]:
///
/// ```ignore
/// async fn mirrors_every_codec(peer: Peer) { /* ... */ }
///
/// peer_tests! {
///     mirrors_every_codec: [kafka, tansu];
/// }
/// ```
///
/// makes `mirrors_every_codec::kafka` and `mirrors_every_codec::tansu`, each a multi-threaded
/// tokio test (a module and a function may share a name).
#[macro_export]
macro_rules! peer_tests {
    ($($name:ident: [$($peer:ident),+ $(,)?];)+) => {
        $(
            mod $name {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $peer() {
                        super::$name($crate::peer::Peer::named(stringify!($peer))).await
                    }
                )+
            }
        )+
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_named_as_their_tests() {
        for p in [Peer::Kafka, Peer::Tansu, Peer::Mock] {
            assert_eq!(Peer::named(p.name()), p);
        }
    }
}
