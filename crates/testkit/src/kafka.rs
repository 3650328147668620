//! Apache Kafka itself (4.x, KRaft), the reference every claim of clusterlink is judged against:
//! tansu and librdkafka's mock cluster are other implementations of the protocol, this is the
//! one the protocol is defined by. It runs from Maven Central's jars
//! (`scripts/kafka/install.sh`), one JVM per node, as child processes of the test.
//!
//! - [`KafkaCluster::builder`] starts a private cluster: one combined broker+controller node or
//!   three of them (replication factor 3, min ISR 2), on free loopback ports, with its own
//!   cluster id and temporary log directories, and listeners on demand: PLAINTEXT always (tests
//!   set up and check through it), SASL_PLAINTEXT and SASL_SSL (PLAIN, SCRAM-SHA-256,
//!   SCRAM-SHA-512 with the test's users), SSL (PEM files, the test certificates of
//!   [`crate::tls`]); optionally the StandardAuthorizer. Nodes can be killed (SIGKILL), stopped
//!   (SIGTERM) and started again on their data.
//! - [`KafkaCluster::shared`] and [`KafkaCluster::shared_three`]: a JVM broker costs seconds and
//!   hundreds of MiB, and nextest runs every test in its own process, so `scripts/test.sh` starts
//!   one single-node and one three-node cluster for the whole run (with the `kafka-cluster`
//!   binary of this crate) and passes their addresses in `CLUSTERLINK_KAFKA_SHARED` and
//!   `CLUSTERLINK_KAFKA3_SHARED`; without them a private cluster is started. Tests on a shared
//!   cluster use [`unique_name`]s and cannot kill its nodes.
//! - [`tools`] runs Kafka's own command-line tools (GetOffsetShell, kafka-topics,
//!   kafka-consumer-groups, kafka-acls, kafka-configs) as independent clients: like librdkafka,
//!   none of them is ours.
//!
//! Why these JVM settings (measured in docs/test-brokers.md): start-up is the cost that matters,
//! so every JVM maps the class-data-sharing archive made by the install script and compiles with
//! C1 only (`-XX:TieredStopAtLevel=1`: C2's compiler threads fight three brokers for two cores);
//! brokers use G1 with a 256 to 512 MiB heap, tools the serial collector with 256 MiB.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

mod config;
mod node;
pub mod tools;

pub use tools::{tool, Bootstrap};

/// Where Apache Kafka is installed (printed by `scripts/kafka/install.sh`).
#[derive(Debug, Clone)]
pub struct KafkaDeps {
    /// The java binary (17 or newer).
    pub java: PathBuf,
    /// The directory of Kafka's jars (the classpath is `libs/*`).
    pub libs: PathBuf,
    /// The log4j2 configuration (everything to stderr).
    pub log4j: PathBuf,
    /// The class-data-sharing archive for these jars and this java, if there is one.
    pub cds: Option<PathBuf>,
}

/// A listener, named after its security protocol (one listener per protocol), and a second
/// PLAINTEXT one reached through a [`crate::proxy::Proxy`] per node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Listener {
    /// No authentication, no TLS: always there, for set-up and checks (and the brokers' own
    /// traffic).
    Plaintext,
    /// SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) without TLS.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
    /// TLS, no client authentication.
    Ssl,
    /// PLAINTEXT behind a test proxy per node (see [`KafkaBuilder::proxied`]): the node
    /// advertises its proxy's port, so a client that bootstraps here reaches every broker only
    /// through the proxies, which can cut it off or lose answers. The brokers' own traffic and
    /// the tests' checks go over [`Listener::Plaintext`], untouched.
    Proxied,
}

impl Listener {
    /// The listener's name (its security protocol, but for [`Listener::Proxied`]).
    pub fn name(self) -> &'static str {
        match self {
            Listener::Plaintext => "PLAINTEXT",
            Listener::SaslPlaintext => "SASL_PLAINTEXT",
            Listener::SaslSsl => "SASL_SSL",
            Listener::Ssl => "SSL",
            Listener::Proxied => "PROXIED",
        }
    }

    /// The listener's security protocol.
    pub fn protocol(self) -> &'static str {
        match self {
            Listener::Proxied => "PLAINTEXT",
            other => other.name(),
        }
    }

    fn sasl(self) -> bool {
        matches!(self, Listener::SaslPlaintext | Listener::SaslSsl)
    }

    fn tls(self) -> bool {
        matches!(self, Listener::SaslSsl | Listener::Ssl)
    }
}

/// A SASL mechanism the brokers enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mechanism {
    /// PLAIN (users in the listener's JAAS configuration).
    Plain,
    /// SCRAM-SHA-256 (users created when the log directories are formatted).
    ScramSha256,
    /// SCRAM-SHA-512 (likewise).
    ScramSha512,
}

impl Mechanism {
    /// Every mechanism.
    pub const ALL: [Mechanism; 3] = [
        Mechanism::Plain,
        Mechanism::ScramSha256,
        Mechanism::ScramSha512,
    ];

    /// Kafka's name for it (`sasl.mechanism`).
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// Credentials a client authenticates with over a SASL listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sasl<'a> {
    /// The mechanism.
    pub mechanism: Mechanism,
    /// The user name.
    pub user: &'a str,
    /// The password.
    pub password: &'a str,
}

/// What to start: see [`KafkaCluster::builder`].
#[derive(Debug, Clone)]
pub struct KafkaBuilder {
    nodes: usize,
    listeners: BTreeSet<Listener>,
    users: Vec<(String, String)>,
    super_users: Option<Vec<String>>,
    props: BTreeMap<String, String>,
    heap_max_mib: u32,
    jvm_args: Vec<String>,
    identity: Option<Box<crate::pki::TestPki>>,
}

impl Default for KafkaBuilder {
    fn default() -> Self {
        KafkaBuilder {
            nodes: 1,
            listeners: [Listener::Plaintext].into(),
            users: Vec::new(),
            super_users: None,
            props: BTreeMap::new(),
            heap_max_mib: 512,
            jvm_args: Vec::new(),
            identity: None,
        }
    }
}

impl KafkaBuilder {
    /// How many nodes (each a broker and a controller): 1 (the default) or 3. With three,
    /// replication factors default to 3 and min ISR to 2.
    pub fn nodes(mut self, n: usize) -> Self {
        self.nodes = n;
        self
    }

    /// Adds a listener (PLAINTEXT is always there).
    pub fn listener(mut self, listener: Listener) -> Self {
        self.listeners.insert(listener);
        self
    }

    /// Adds the [`Listener::Proxied`] listener: a [`crate::proxy::Proxy`] per node, whose port
    /// the node advertises on that listener (see [`KafkaCluster::proxy`]).
    pub fn proxied(self) -> Self {
        self.listener(Listener::Proxied)
    }

    /// Adds a SASL user, known to every mechanism (PLAIN in the JAAS configuration, SCRAM
    /// credentials created at format time). Names and passwords must not hold `,`, `=`, `[`,
    /// `]`, `"`, `\` or blanks (the format tool's and JAAS's syntax).
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.to_owned(), password.to_owned()));
        self
    }

    /// Enables the StandardAuthorizer: nothing is allowed without an ACL, except to the super
    /// users, which are `super_users` and ANONYMOUS (controllers and PLAINTEXT clients).
    pub fn authorizer(mut self, super_users: &[&str]) -> Self {
        self.super_users = Some(super_users.iter().map(|s| s.to_string()).collect());
        self
    }

    /// Sets a broker property (`unclean.leader.election.enable`, `producer.id.expiration.ms`...),
    /// overriding the harness's defaults.
    pub fn prop(mut self, key: &str, value: impl ToString) -> Self {
        self.props.insert(key.to_owned(), value.to_string());
        self
    }

    /// The maximum heap of each node, in MiB (512 by default).
    pub fn heap_max_mib(mut self, mib: u32) -> Self {
        self.heap_max_mib = mib;
        self
    }

    /// Adds a JVM flag for the nodes, after the harness's own (so it wins): `-XX:TieredStopAtLevel=4`
    /// for C2 in a benchmark, `-XX:-UseSerialGC -XX:+UseG1GC`...
    pub fn jvm_arg(mut self, arg: &str) -> Self {
        self.jvm_args.push(arg.to_owned());
        self
    }

    /// The certificate and key the TLS listeners serve, instead of the committed test ones
    /// (`certs/broker.pem`: `localhost` and `127.0.0.1` only): for a cluster that must answer to
    /// another name. Clients then trust `pki.ca_pem`.
    pub fn identity(mut self, pki: crate::pki::TestPki) -> Self {
        self.identity = Some(Box::new(pki));
        self
    }

    /// Starts the cluster and waits until every broker is registered and serving.
    pub fn start(self) -> Result<KafkaCluster> {
        if !matches!(self.nodes, 1 | 3) {
            bail!("{} nodes: the harness starts 1 or 3", self.nodes);
        }
        if self.listeners.iter().any(|l| l.sasl()) && self.users.is_empty() {
            bail!("a SASL listener needs at least one user");
        }
        for (name, password) in &self.users {
            let bad = |s: &str| {
                s.is_empty() || s.contains(|c: char| ",=[]\"\\".contains(c) || c.is_whitespace())
            };
            if bad(name) || bad(password) {
                bail!("user {name:?}: names and passwords must be plain words");
            }
        }
        node::Owned::start(self).map(|owned| KafkaCluster {
            cluster_id: owned.cluster_id.clone(),
            addresses: owned.addresses(),
            owned: Some(Box::new(owned)),
        })
    }
}

/// An Apache Kafka cluster: a private one (its nodes die with this value) or a handle to a
/// shared one (see the module documentation).
#[derive(Debug)]
pub struct KafkaCluster {
    cluster_id: String,
    /// Per node (index = node id - 1), the address of each listener.
    addresses: Vec<BTreeMap<Listener, String>>,
    owned: Option<Box<node::Owned>>,
}

/// The environment variable that names the shared single-node cluster.
pub const SHARED_ENV: &str = "CLUSTERLINK_KAFKA_SHARED";
/// The environment variable that names the second shared single-node cluster (the other side of
/// a link: tests mirror from one shared cluster to the other).
pub const SHARED_SECOND_ENV: &str = "CLUSTERLINK_KAFKA_SHARED_B";
/// The environment variable that names the shared three-node cluster.
pub const SHARED_THREE_ENV: &str = "CLUSTERLINK_KAFKA3_SHARED";

impl KafkaCluster {
    /// A builder: one node, PLAINTEXT only, no authorizer.
    pub fn builder() -> KafkaBuilder {
        KafkaBuilder::default()
    }

    /// Starts a private single-node cluster with the defaults.
    pub fn start() -> Result<Self> {
        Self::builder().start()
    }

    /// Starts a private three-node cluster with the defaults.
    pub fn start_three() -> Result<Self> {
        Self::builder().nodes(3).start()
    }

    /// The shared single-node cluster of this test run (`CLUSTERLINK_KAFKA_SHARED`), or a private
    /// one when there is none. Use [`unique_name`]s on it.
    pub fn shared() -> Result<Self> {
        Self::shared_or(SHARED_ENV, 1)
    }

    /// The second shared single-node cluster of this test run (`CLUSTERLINK_KAFKA_SHARED_B`), or
    /// a private one: the other side of a link whose first side is [`KafkaCluster::shared`].
    pub fn shared_second() -> Result<Self> {
        Self::shared_or(SHARED_SECOND_ENV, 1)
    }

    /// The shared three-node cluster (`CLUSTERLINK_KAFKA3_SHARED`), or a private one.
    pub fn shared_three() -> Result<Self> {
        Self::shared_or(SHARED_THREE_ENV, 3)
    }

    fn shared_or(var: &str, nodes: usize) -> Result<Self> {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => {
                let c = Self::attach(&v).with_context(|| format!("{var}={v}"))?;
                if c.node_count() != nodes {
                    bail!("{var} names {} nodes, not {nodes}", c.node_count());
                }
                Ok(c)
            }
            _ => Self::builder().nodes(nodes).start(),
        }
    }

    /// A handle to a cluster started elsewhere, from [`KafkaCluster::shared_spec`]'s form
    /// `CLUSTER_ID@HOST:PORT,HOST:PORT...` (one PLAINTEXT address per node, by node id).
    pub fn attach(spec: &str) -> Result<Self> {
        let (id, addrs) = spec
            .split_once('@')
            .context("expected CLUSTER_ID@HOST:PORT[,HOST:PORT...]")?;
        let addresses: Vec<_> = addrs
            .split(',')
            .map(|a| [(Listener::Plaintext, a.trim().to_owned())].into())
            .collect();
        if id.is_empty()
            || addresses
                .iter()
                .any(|a: &BTreeMap<_, String>| a[&Listener::Plaintext].is_empty())
        {
            bail!("expected CLUSTER_ID@HOST:PORT[,HOST:PORT...]");
        }
        Ok(KafkaCluster {
            cluster_id: id.to_owned(),
            addresses,
            owned: None,
        })
    }

    /// How another process attaches to this cluster ([`KafkaCluster::attach`]).
    pub fn shared_spec(&self) -> String {
        format!("{}@{}", self.cluster_id, self.bootstrap())
    }

    /// Whether this is a handle to a cluster started by another process.
    pub fn is_shared(&self) -> bool {
        self.owned.is_none()
    }

    /// Every node's PLAINTEXT address, comma-separated.
    pub fn bootstrap(&self) -> String {
        self.bootstrap_for(Listener::Plaintext)
    }

    /// Every node's address on `listener`, comma-separated. Panics unless the cluster has it.
    pub fn bootstrap_for(&self, listener: Listener) -> String {
        self.addresses
            .iter()
            .map(|a| {
                a.get(&listener)
                    .unwrap_or_else(|| panic!("the cluster has no {} listener", listener.name()))
                    .as_str()
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether the cluster has `listener`.
    pub fn has_listener(&self, listener: Listener) -> bool {
        self.addresses.iter().all(|a| a.contains_key(&listener))
    }

    /// The address of node `node` (its id, 1 to [`KafkaCluster::node_count`]) on `listener`.
    pub fn address(&self, node: u32, listener: Listener) -> String {
        self.addresses[self.index(node)]
            .get(&listener)
            .unwrap_or_else(|| panic!("the cluster has no {} listener", listener.name()))
            .clone()
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// How many nodes the cluster has.
    pub fn node_count(&self) -> usize {
        self.addresses.len()
    }

    fn index(&self, node: u32) -> usize {
        assert!(
            (1..=self.node_count() as u32).contains(&node),
            "node ids are 1 to {}, not {node}",
            self.node_count()
        );
        node as usize - 1
    }

    fn owned(&mut self, what: &str) -> Result<&mut node::Owned> {
        match &mut self.owned {
            Some(o) => Ok(o),
            None => bail!("cannot {what} a node of a shared cluster: start a private one (KafkaCluster::builder())"),
        }
    }

    /// Kills node `node` (its id) at once with SIGKILL, as a crash would. Its data stays.
    pub fn kill_node(&mut self, node: u32) -> Result<()> {
        let i = self.index(node);
        self.owned("kill")?.nodes[i].kill();
        Ok(())
    }

    /// Stops node `node` with SIGTERM (a controlled shutdown) and waits until it exited.
    pub fn stop_node(&mut self, node: u32) -> Result<()> {
        let i = self.index(node);
        self.owned("stop")?.nodes[i].stop(Duration::from_secs(60))
    }

    /// Starts node `node` again, on the same ports and log directories (its data survives), and
    /// waits until its broker is registered and serving again.
    pub fn start_node(&mut self, node: u32) -> Result<()> {
        let i = self.index(node);
        self.owned("start")?.restart(i)
    }

    /// Node `node`'s log (every run of it), for failure messages; empty for a shared cluster.
    pub fn log(&self, node: u32) -> String {
        let i = self.index(node);
        self.owned
            .as_ref()
            .map_or_else(String::new, |o| o.nodes[i].log())
    }

    /// The JVM's process id of node `node` while it runs (private clusters only).
    pub fn pid(&self, node: u32) -> Option<u32> {
        let i = self.index(node);
        self.owned.as_ref().and_then(|o| o.nodes[i].pid())
    }

    /// The proxy in front of node `node`'s [`Listener::Proxied`] listener. Panics unless the
    /// cluster was built [`KafkaBuilder::proxied`].
    pub fn proxy(&self, node: u32) -> &crate::proxy::Proxy {
        let i = self.index(node);
        self.owned
            .as_ref()
            .and_then(|o| o.proxies.get(i))
            .expect("a private cluster built with .proxied()")
    }

    /// Cuts every connection through the proxies and refuses new ones (the brokers keep
    /// running, and [`Listener::Plaintext`] still reaches them).
    pub fn cut_network(&self) {
        for n in 1..=self.node_count() as u32 {
            self.proxy(n).cut();
        }
    }

    /// Lets connections through the proxies again.
    pub fn restore_network(&self) {
        for n in 1..=self.node_count() as u32 {
            self.proxy(n).restore();
        }
    }

    /// librdkafka settings (for [`crate::rdkafka`]) to reach `listener`, authenticating with
    /// `sasl` on a SASL listener and trusting the test CA on a TLS one.
    pub fn rdkafka_config(
        &self,
        listener: Listener,
        sasl: Option<Sasl<'_>>,
    ) -> BTreeMap<String, Value> {
        let mut c = BTreeMap::new();
        c.insert("security.protocol".to_owned(), json!(listener.protocol()));
        if let Some(s) = sasl {
            c.insert("sasl.mechanism".to_owned(), json!(s.mechanism.name()));
            c.insert("sasl.username".to_owned(), json!(s.user));
            c.insert("sasl.password".to_owned(), json!(s.password));
        }
        if listener.tls() {
            let ca = crate::tls::cert_path("ca.pem");
            c.insert("ssl.ca.location".to_owned(), json!(ca.to_string_lossy()));
        }
        c
    }

    /// Java client settings (for Kafka's tools, `--command-config`, or a link's configs) to
    /// reach `listener`, `bootstrap.servers` included.
    pub fn java_client_config(
        &self,
        listener: Listener,
        sasl: Option<Sasl<'_>>,
    ) -> Vec<(String, String)> {
        let mut c = vec![
            ("bootstrap.servers".to_owned(), self.bootstrap_for(listener)),
            (
                "security.protocol".to_owned(),
                listener.protocol().to_owned(),
            ),
        ];
        if let Some(s) = sasl {
            c.push(("sasl.mechanism".to_owned(), s.mechanism.name().to_owned()));
            c.push(("sasl.jaas.config".to_owned(), config::client_jaas(s)));
        }
        if listener.tls() {
            c.push(("ssl.truststore.type".to_owned(), "PEM".to_owned()));
            c.push((
                "ssl.truststore.certificates".to_owned(),
                crate::tls::cert("ca.pem"),
            ));
        }
        c
    }
}

/// A name no other test (in this or another process, in this or an earlier run against the same
/// shared cluster) uses: `prefix-<pid>-<time>-<n>`, legal as a topic, group or user name.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() % 1_000_000_000_000);
    format!(
        "{prefix}-{}-{t}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
