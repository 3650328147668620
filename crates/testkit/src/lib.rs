//! Test support: real Kafka-protocol brokers and an independent client, for tests of every crate.
//!
//! - [`TansuCluster`] starts a tansu broker (our main test peer) as a child process on a free
//!   loopback port, from an empty working directory, with its own cluster id; it is killed on drop.
//! - [`tls::TlsCluster`] and [`sasl::SaslCluster`] put a broker behind a TLS or a SASL front.
//! - [`MockCluster`] starts librdkafka's in-process mock cluster (correct offsets and
//!   transactions, which tansu lacks) inside a helper Python process.
//! - [`rdkafka`] produces and consumes with librdkafka (the `confluent-kafka` Python package), so
//!   that what our client writes is checked by a client none of us wrote.
//! - [`cfk_page`] reads the CFK page's manifests verbatim; [`pki`] makes certificates for the
//!   names a test needs (a Kubernetes service name in a page's example).
//! - [`kafka`] starts Apache Kafka itself (KRaft, one or three nodes, SASL, TLS, ACLs), the
//!   reference broker, and runs Kafka's own tools as another independent client.
//!
//! Binaries come from `scripts/install-test-deps.sh`, run once per test process unless
//! `CLUSTERLINK_TANSU`, `CLUSTERLINK_PYTHON`, `CLUSTERLINK_JAVA`, `CLUSTERLINK_KAFKA_LIBS`,
//! `CLUSTERLINK_KAFKA_LOG4J` and `CLUSTERLINK_KAFKA_CDS` already point at them.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

pub mod cfk_page;
pub mod examples;
pub mod helm;
pub mod kafka;
pub mod kube_api;
pub mod link_server;
pub mod peer;
pub mod pki;
pub mod proxy;
pub mod rdkafka;
pub mod sasl;
pub mod tls;
pub mod topics;

/// Paths of the external programs the tests use.
#[derive(Debug, Clone)]
pub struct Deps {
    /// The tansu broker binary.
    pub tansu: PathBuf,
    /// A Python interpreter with `confluent_kafka` importable.
    pub python: PathBuf,
    /// Apache Kafka's jars and the java to run them.
    pub kafka: kafka::KafkaDeps,
}

impl Deps {
    /// What the install script prints, from `get` (the environment, or the script's output);
    /// `None` if a variable is missing.
    fn from_vars(get: impl Fn(&str) -> Option<String>) -> Option<Deps> {
        Some(Deps {
            tansu: get("CLUSTERLINK_TANSU")?.into(),
            python: get("CLUSTERLINK_PYTHON")?.into(),
            kafka: kafka::KafkaDeps {
                java: get("CLUSTERLINK_JAVA")?.into(),
                libs: get("CLUSTERLINK_KAFKA_LIBS")?.into(),
                log4j: get("CLUSTERLINK_KAFKA_LOG4J")?.into(),
                cds: Some(get("CLUSTERLINK_KAFKA_CDS")?)
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from),
            },
        })
    }
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// The external programs, installed on first use.
pub fn deps() -> &'static Deps {
    static DEPS: OnceLock<Deps> = OnceLock::new();
    DEPS.get_or_init(|| {
        if let Some(d) = Deps::from_vars(|k| std::env::var(k).ok()) {
            return d;
        }
        let script = repo_root().join("scripts/install-test-deps.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(out.status.success(), "{} failed", script.display());
        let text = String::from_utf8_lossy(&out.stdout);
        let vars: std::collections::BTreeMap<&str, &str> =
            text.lines().filter_map(|l| l.split_once('=')).collect();
        Deps::from_vars(|k| vars.get(k).map(|v| v.to_string())).unwrap_or_else(|| {
            panic!(
                "{} printed {text:?}: a variable is missing",
                script.display()
            )
        })
    })
}

/// A free TCP port on 127.0.0.1 (free when asked; the OS may hand it out again later).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// The proxy's target address, set once the broker behind it has a port.
type ProxyTarget = std::sync::Arc<std::sync::Mutex<String>>;

fn wait_for_port(port: u16, child: &mut Child, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("broker exited with {status} before listening on {port}");
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            // Someone listens; make sure it is our broker and not another test's on that port.
            std::thread::sleep(Duration::from_millis(100));
            if let Some(status) = child.try_wait()? {
                bail!("broker exited with {status}: port {port} was taken");
            }
            return Ok(());
        }
        if start.elapsed() > timeout {
            bail!("broker did not listen on {port} within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One tansu cluster (a single broker with in-memory storage).
#[derive(Debug)]
pub struct TansuCluster {
    cluster_id: String,
    port: u16,
    advertised_port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    proxy: Option<proxy::Proxy>,
}

impl TansuCluster {
    /// Starts a cluster with this id on a free port.
    pub fn start(cluster_id: &str) -> Result<Self> {
        Self::start_on_free_port(cluster_id, None)
    }

    /// Tests run in parallel: a port that was free when asked may be taken by another test's
    /// broker before ours binds it. Then ours exits, and we try another port.
    fn start_on_free_port(
        cluster_id: &str,
        proxy: Option<(proxy::Proxy, ProxyTarget)>,
    ) -> Result<Self> {
        let (proxy, target) = proxy.unzip();
        let mut c = TansuCluster {
            cluster_id: cluster_id.to_owned(),
            port: 0,
            advertised_port: 0,
            dir: tempfile::tempdir()?,
            child: None,
            proxy,
        };
        let mut last = None;
        for _ in 0..5 {
            c.port = free_port();
            c.advertised_port = c.proxy.as_ref().map_or(c.port, |p| p.port());
            if let Some(t) = &target {
                *t.lock().unwrap_or_else(|e| e.into_inner()) = format!("127.0.0.1:{}", c.port);
            }
            match c.launch() {
                Ok(()) => return Ok(c),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("no attempt made")))
    }

    /// Starts a cluster that advertises `port` instead of its own (something else, such as a
    /// TLS front, listens there and forwards to [`TansuCluster::port`]).
    pub fn start_advertising(cluster_id: &str, port: u16) -> Result<Self> {
        let mut c = TansuCluster {
            cluster_id: cluster_id.to_owned(),
            port: 0,
            advertised_port: port,
            dir: tempfile::tempdir()?,
            child: None,
            proxy: None,
        };
        let mut last = None;
        for _ in 0..5 {
            c.port = free_port();
            match c.launch() {
                Ok(()) => return Ok(c),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("no attempt made")))
    }

    /// The port the broker itself listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts a cluster reachable only through a [`proxy::Proxy`] (it advertises the proxy's
    /// address), so that tests can cut the network with [`TansuCluster::cut_network`].
    pub fn start_behind_proxy(cluster_id: &str) -> Result<Self> {
        Self::start_on_free_port(cluster_id, Some(proxy::Proxy::start()?))
    }

    /// The proxy in front of the broker, if it was started behind one.
    pub fn proxy(&self) -> Option<&proxy::Proxy> {
        self.proxy.as_ref()
    }

    /// Makes Metadata answers through the proxy show `topic` with `partitions` partitions (see
    /// [`proxy::Proxy::grow`]). Panics unless started with [`TansuCluster::start_behind_proxy`].
    pub fn grow_topic_in_metadata(&self, topic: &str, partitions: i32) {
        self.proxy
            .as_ref()
            .expect("a cluster behind a proxy")
            .grow(topic, partitions);
    }

    /// Cuts every connection through the proxy and refuses new ones.
    pub fn cut_network(&self) {
        if let Some(p) = &self.proxy {
            p.cut();
        }
    }

    /// Lets connections through the proxy again.
    pub fn restore_network(&self) {
        if let Some(p) = &self.proxy {
            p.restore();
        }
    }

    fn launch(&mut self) -> Result<()> {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let advertised = format!("tcp://127.0.0.1:{}", self.advertised_port);
        let log = std::fs::File::create(self.dir.path().join("tansu.log"))?;
        let mut cmd = Command::new(&deps().tansu);
        cmd.arg("broker")
            .args(["--cluster-id", &self.cluster_id])
            .args(["--listener-url", &url])
            .args(["--advertised-listener-url", &advertised])
            .args(["--storage-engine", "memory://tansu/"])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // tansu reads its settings from the environment too: keep ours from leaking in.
        for var in [
            "CLUSTER_ID",
            "LISTENER_URL",
            "ADVERTISED_LISTENER_URL",
            "STORAGE_ENGINE",
            "SCHEMA_REGISTRY",
        ] {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", deps().tansu.display()))?;
        if let Err(e) = wait_for_port(self.port, &mut child, Duration::from_secs(20)) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        self.child = Some(child);
        Ok(())
    }

    /// `127.0.0.1:port` (the proxy's port for a cluster behind one).
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.advertised_port)
    }

    /// The cluster id it was started with.
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// Kills the broker at once (SIGKILL), as a crash would. Its data is lost (memory storage).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the broker again on the same port, empty.
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        self.launch()
    }

    /// The broker's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tansu.log")).unwrap_or_default()
    }
}

impl Drop for TansuCluster {
    fn drop(&mut self) {
        self.kill();
    }
}

/// librdkafka's mock cluster, alive as long as this value.
#[derive(Debug)]
pub struct MockCluster {
    bootstrap: String,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl MockCluster {
    /// Starts a mock cluster with `brokers` brokers.
    pub fn start(brokers: u32) -> Result<Self> {
        let mut child = Command::new(&deps().python)
            .arg(rdkafka::script())
            .args(["mock", "--brokers", &brokers.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the librdkafka mock cluster")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let bootstrap = line
            .trim()
            .strip_prefix("bootstrap=")
            .ok_or_else(|| anyhow!("mock cluster printed {line:?}"))?
            .to_owned();
        let stdin = child.stdin.take();
        Ok(MockCluster {
            bootstrap,
            child,
            stdin,
        })
    }

    /// The mock brokers' `host:port` list.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }
}

impl Drop for MockCluster {
    fn drop(&mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.write_all(b"\n");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
