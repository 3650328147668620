//! The node processes of a private cluster.
//!
//! Each JVM runs under a small bash wrapper whose stdin is a pipe from the test process: when the
//! test process dies without running destructors (nextest's SIGKILL after a timeout, an abort),
//! the pipe closes and the wrapper kills its JVM, so no 200 MiB broker outlives its test. The wrapper prints the JVM's pid, which SIGKILL and SIGTERM go to (std can only send
//! SIGKILL to its own child, which here is the wrapper).

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use super::config::{self, NodePorts};
use super::{tools, KafkaBuilder, Listener};
use crate::free_port;

/// How long a cluster or a restarted node may take to serve (a loaded 2-core machine, three JVMs).
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// What the broker logs once it is registered with the controller, unfenced and serving.
const STARTED: &str = "Kafka Server started";

/// Runs "$@" (the JVM) with its output on stderr (the node's log); prints its pid; kills it
/// when stdin closes; exits with its status.
const WRAPPER: &str = r#"
exec 3<&0 </dev/null
"$@" >&2 3<&- &
pid=$!
echo "$pid"
{ read -r _ <&3; kill -KILL "$pid" 2>/dev/null; } &
watcher=$!
exec 3<&-
wait "$pid"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
"#;

/// A private cluster's processes and files.
#[derive(Debug)]
pub(super) struct Owned {
    pub cluster_id: String,
    spec: KafkaBuilder,
    ports: Vec<NodePorts>,
    pub nodes: Vec<Node>,
    /// One per node when the cluster has [`Listener::Proxied`], with its target.
    pub proxies: Vec<crate::proxy::Proxy>,
    proxy_targets: Vec<std::sync::Arc<std::sync::Mutex<String>>>,
    keystore: PathBuf,
    // Last, so that the nodes are killed before their files go.
    _dir: tempfile::TempDir,
}

impl Owned {
    /// Starts every node on free ports. Tests run in parallel: a port that was free when asked
    /// may be taken by another test before our JVM binds it; then the JVM exits, and the whole
    /// cluster is tried again on other ports.
    pub fn start(spec: KafkaBuilder) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("clusterlink-kafka-")
            .tempdir()?;
        let keystore = dir.path().join("keystore.pem");
        if spec.listeners.iter().any(|l| l.tls()) {
            config::write_keystore(&keystore, spec.identity.as_deref())?;
        }
        let nodes = (1..=spec.nodes)
            .map(|id| Node::new(id as u32, dir.path().join(format!("node-{id}"))))
            .collect();
        let (proxies, proxy_targets) = if spec.listeners.contains(&Listener::Proxied) {
            (0..spec.nodes)
                .map(|_| crate::proxy::Proxy::start())
                .collect::<std::io::Result<Vec<_>>>()?
                .into_iter()
                .unzip()
        } else {
            (Vec::new(), Vec::new())
        };
        let mut owned = Owned {
            cluster_id: config::random_uuid()?,
            spec,
            ports: Vec::new(),
            nodes,
            proxies,
            proxy_targets,
            keystore,
            _dir: dir,
        };
        let mut attempt = 1;
        loop {
            owned.ports = allocate_ports(&owned.spec);
            for (i, proxy) in owned.proxies.iter().enumerate() {
                let ports = &mut owned.ports[i];
                *owned.proxy_targets[i]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) =
                    format!("127.0.0.1:{}", ports.listeners[&Listener::Proxied]);
                ports.advertised.insert(Listener::Proxied, proxy.port());
            }
            let result = owned.launch_all();
            let Err(e) = result else { return Ok(owned) };
            let race = owned
                .nodes
                .iter()
                .any(|n| n.log_since_launch().contains("Address already in use"));
            for n in &mut owned.nodes {
                n.kill();
            }
            if !race || attempt == 5 {
                return Err(e);
            }
            for n in &owned.nodes {
                let _ = std::fs::remove_dir_all(n.data());
            }
            attempt += 1;
        }
    }

    fn launch_all(&mut self) -> Result<()> {
        for (i, n) in self.nodes.iter().enumerate() {
            std::fs::create_dir_all(&n.dir)?;
            let text =
                config::server_properties(&self.spec, &self.ports, i, &n.data(), &self.keystore);
            std::fs::write(n.config(), text)?;
            config::format(&self.spec, &n.config(), &n.data(), i + 1, &self.cluster_id)?;
        }
        for n in &mut self.nodes {
            n.launch(&self.spec)?;
        }
        let deadline = Instant::now() + START_TIMEOUT;
        let mut waiting: Vec<usize> = (0..self.nodes.len()).collect();
        while !waiting.is_empty() {
            let mut still = Vec::new();
            for i in waiting {
                if !self.nodes[i].started()? {
                    still.push(i);
                }
            }
            waiting = still;
            if !waiting.is_empty() {
                if Instant::now() > deadline {
                    let n = &self.nodes[waiting[0]];
                    bail!(
                        "node {} did not start within {START_TIMEOUT:?}; its log ends:\n{}",
                        n.id,
                        n.tail(40)
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// Starts node `i` again on its ports and data, and waits until it serves.
    pub fn restart(&mut self, i: usize) -> Result<()> {
        let n = &mut self.nodes[i];
        n.kill();
        // Its ports were ours until it died; retry briefly if another process took one since.
        let mut attempt = 1;
        loop {
            n.launch(&self.spec)?;
            let deadline = Instant::now() + START_TIMEOUT;
            let result = loop {
                match n.started() {
                    Ok(true) => break Ok(()),
                    Ok(false) if Instant::now() > deadline => {
                        break Err(anyhow!(
                            "node {} did not start again within {START_TIMEOUT:?}:\n{}",
                            n.id,
                            n.tail(40)
                        ))
                    }
                    Ok(false) => std::thread::sleep(Duration::from_millis(50)),
                    Err(e) => break Err(e),
                }
            };
            match result {
                Err(_)
                    if attempt < 5 && n.log_since_launch().contains("Address already in use") =>
                {
                    n.kill();
                    std::thread::sleep(Duration::from_secs(1));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Per node, the address clients use for each listener (the proxy's for
    /// [`Listener::Proxied`]).
    pub fn addresses(&self) -> Vec<BTreeMap<Listener, String>> {
        self.ports
            .iter()
            .map(|p| {
                p.listeners
                    .keys()
                    .map(|l| (*l, format!("127.0.0.1:{}", p.advertised(*l))))
                    .collect()
            })
            .collect()
    }
}

/// Distinct free ports: one controller port and one per listener, for every node.
fn allocate_ports(spec: &KafkaBuilder) -> Vec<NodePorts> {
    let mut taken = std::collections::BTreeSet::new();
    let mut next = || loop {
        let p = free_port();
        if taken.insert(p) {
            return p;
        }
    };
    (0..spec.nodes)
        .map(|_| NodePorts {
            controller: next(),
            listeners: spec.listeners.iter().map(|l| (*l, next())).collect(),
            advertised: BTreeMap::new(),
        })
        .collect()
}

/// One node: its directory (config, log, data) and its process while it runs.
#[derive(Debug)]
pub(super) struct Node {
    id: u32,
    dir: PathBuf,
    /// Where the current run's output starts in the log.
    log_start: u64,
    /// How far the log was searched for [`STARTED`].
    scanned: u64,
    proc: Option<Proc>,
}

#[derive(Debug)]
struct Proc {
    wrapper: Child,
    java_pid: u32,
    // Held open: the wrapper kills the JVM when it closes.
    _stdin: ChildStdin,
}

impl Node {
    fn new(id: u32, dir: PathBuf) -> Self {
        Node {
            id,
            dir,
            log_start: 0,
            scanned: 0,
            proc: None,
        }
    }

    fn config(&self) -> PathBuf {
        self.dir.join("server.properties")
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("kafka.log")
    }

    fn launch(&mut self, spec: &KafkaBuilder) -> Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        self.log_start = log.metadata()?.len();
        self.scanned = self.log_start;
        let max = spec.heap_max_mib;
        let mut flags = vec![
            // G1 (not serial, as for tools): as fast to start with the CDS archive (made with
            // G1, whose archived heap objects only G1 maps on JDK 17) and 10 % less RSS.
            "-XX:+UseG1GC".into(),
            format!("-Xms{}m", max.min(256)),
            format!("-Xmx{max}m"),
            "-XX:+ExitOnOutOfMemoryError".into(),
        ];
        flags.extend(spec.jvm_args.iter().cloned());
        let mut java = tools::java_command(&flags);
        java.arg("kafka.Kafka").arg(self.config());
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(WRAPPER)
            .arg(format!("kafka-node-{}", self.id))
            .arg(java.get_program())
            .args(java.get_args())
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log);
        let mut wrapper = cmd.spawn().context("starting bash for a Kafka node")?;
        let stdin = wrapper.stdin.take().context("wrapper stdin")?;
        let mut line = String::new();
        BufReader::new(wrapper.stdout.take().context("wrapper stdout")?).read_line(&mut line)?;
        let java_pid = line
            .trim()
            .parse()
            .with_context(|| format!("the node wrapper printed {line:?}"))?;
        self.proc = Some(Proc {
            wrapper,
            java_pid,
            _stdin: stdin,
        });
        Ok(())
    }

    /// Whether this run logged [`STARTED`]; an error if the JVM exited.
    fn started(&mut self) -> Result<bool> {
        if self.proc.is_none() {
            bail!("node {} is not running", self.id)
        }
        // Read what is new (from a little before, in case the marker was cut in two).
        let from = self
            .scanned
            .saturating_sub(STARTED.len() as u64)
            .max(self.log_start);
        let mut f = std::fs::File::open(self.log_path())?;
        f.seek(SeekFrom::Start(from))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        self.scanned = from + buf.len() as u64;
        if String::from_utf8_lossy(&buf).contains(STARTED) {
            return Ok(true);
        }
        let exited = match &mut self.proc {
            Some(p) => p.wrapper.try_wait()?,
            None => None,
        };
        if let Some(status) = exited {
            self.proc = None;
            bail!(
                "node {} exited with {status} while starting; its log ends:\n{}",
                self.id,
                self.tail(40)
            );
        }
        Ok(false)
    }

    /// SIGKILL, then waits for the process to go.
    pub fn kill(&mut self) {
        if let Some(mut p) = self.proc.take() {
            signal(p.java_pid, "KILL");
            let _ = p.wrapper.wait();
        }
    }

    /// SIGTERM (Kafka's controlled shutdown), then waits up to `timeout` before a SIGKILL.
    pub fn stop(&mut self, timeout: Duration) -> Result<()> {
        let Some(p) = &mut self.proc else {
            return Ok(());
        };
        signal(p.java_pid, "TERM");
        let deadline = Instant::now() + timeout;
        while p.wrapper.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.kill();
                bail!(
                    "node {} did not stop within {timeout:?} of SIGTERM",
                    self.id
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.proc = None;
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.proc.as_ref().map(|p| p.java_pid)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_since_launch(&self) -> String {
        let log = self.log();
        log.get(self.log_start as usize..)
            .unwrap_or_default()
            .to_owned()
    }

    /// The last `n` lines of the current run's log.
    fn tail(&self, n: usize) -> String {
        let log = self.log_since_launch();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}
