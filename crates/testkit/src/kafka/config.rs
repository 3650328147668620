//! The files a node starts from: `server.properties`, and the formatted log directory
//! (`meta.properties` and `bootstrap.checkpoint`), written here rather than by one
//! `kafka-storage format` JVM per node and per start (a second each, see
//! docs/test-brokers.md): the format tool's `bootstrap.checkpoint` depends only on Kafka's
//! version and the SCRAM users, so it is made once per user set, cached next to the jars, and
//! copied; `meta.properties` is four lines.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{tools, KafkaBuilder, Listener, Mechanism, Sasl};

/// The ports of one node: the controller's and one per listener (where it binds), and where
/// it advertises a listener elsewhere (the proxy of [`Listener::Proxied`]).
#[derive(Debug, Clone)]
pub(super) struct NodePorts {
    pub controller: u16,
    pub listeners: BTreeMap<Listener, u16>,
    pub advertised: BTreeMap<Listener, u16>,
}

impl NodePorts {
    /// The port clients are told to use for `l`.
    pub fn advertised(&self, l: Listener) -> u16 {
        self.advertised
            .get(&l)
            .copied()
            .unwrap_or(self.listeners[&l])
    }
}

/// Settings that make a test broker start fast and small, before the builder's own (which win).
fn defaults(nodes: usize) -> Vec<(&'static str, String)> {
    let mut d: Vec<(&str, String)> = vec![
        // The first consumer of a group waits 3 s for others by default.
        ("group.initial.rebalance.delay.ms", "0".into()),
        // Internal topics are created on first use: few partitions create fast.
        ("offsets.topic.num.partitions", "4".into()),
        ("transaction.state.log.num.partitions", "4".into()),
        ("share.coordinator.state.topic.num.partitions", "4".into()),
        // The cleaner allocates its dedupe buffer (128 MiB by default) at start-up.
        ("log.cleaner.dedupe.buffer.size", (16u32 << 20).to_string()),
        ("num.network.threads", "2".into()),
        ("num.io.threads", "4".into()),
        ("background.threads", "4".into()),
        ("num.recovery.threads.per.data.dir", "1".into()),
        // Tests produce records with explicit timestamps years old (rdkafka::varied_records):
        // with the default retention (7 days, checked 30 s after start-up, then every 5 min) they
        // vanish mid-test. Topics that test retention set retention.ms themselves.
        ("log.retention.ms", "-1".into()),
        // A killed node is fenced (and leaves every ISR) 4 s after its last heartbeat, not 9 s.
        ("broker.heartbeat.interval.ms", "500".into()),
        ("broker.session.timeout.ms", "4000".into()),
    ];
    if nodes == 1 {
        for k in [
            "offsets.topic.replication.factor",
            "transaction.state.log.replication.factor",
            "transaction.state.log.min.isr",
            "share.coordinator.state.topic.replication.factor",
            "share.coordinator.state.topic.min.isr",
        ] {
            d.push((k, "1".into()));
        }
    } else {
        // Internal topics already default to 3 and 2.
        d.push(("default.replication.factor", nodes.to_string()));
        d.push(("min.insync.replicas", "2".into()));
    }
    d
}

/// `server.properties` of node `index` (id `index + 1`).
pub(super) fn server_properties(
    spec: &KafkaBuilder,
    ports: &[NodePorts],
    index: usize,
    log_dir: &Path,
    keystore: &Path,
) -> String {
    let me = &ports[index];
    let addr = |l: &Listener, port: u16| format!("{}://127.0.0.1:{port}", l.name());
    let advertised: Vec<String> = spec
        .listeners
        .iter()
        .map(|l| addr(l, me.advertised(*l)))
        .collect();
    let mut listeners: Vec<String> = spec
        .listeners
        .iter()
        .map(|l| addr(l, me.listeners[l]))
        .collect();
    listeners.push(format!("CONTROLLER://127.0.0.1:{}", me.controller));
    let voters: Vec<String> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}@127.0.0.1:{}", i + 1, p.controller))
        .collect();
    let mut protocols: Vec<String> = spec
        .listeners
        .iter()
        .map(|l| format!("{}:{}", l.name(), l.protocol()))
        .collect();
    protocols.push("CONTROLLER:PLAINTEXT".into());

    let mut p: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        p.insert(k.to_owned(), v);
    };
    set("process.roles", "broker,controller".into());
    set("node.id", (index + 1).to_string());
    set("controller.quorum.voters", voters.join(","));
    set("controller.listener.names", "CONTROLLER".into());
    set("listeners", listeners.join(","));
    set("advertised.listeners", advertised.join(","));
    set("listener.security.protocol.map", protocols.join(","));
    set("inter.broker.listener.name", "PLAINTEXT".into());
    set("log.dirs", log_dir.display().to_string());
    for (k, v) in defaults(ports.len()) {
        set(k, v);
    }
    if spec.listeners.iter().any(|l| l.sasl()) {
        let names: Vec<_> = Mechanism::ALL.iter().map(|m| m.name()).collect();
        set("sasl.enabled.mechanisms", names.join(","));
        for l in spec.listeners.iter().filter(|l| l.sasl()) {
            let prefix = format!("listener.name.{}", l.name().to_lowercase());
            for m in Mechanism::ALL {
                set(
                    &format!("{prefix}.{}.sasl.jaas.config", m.name().to_lowercase()),
                    server_jaas(m, &spec.users),
                );
            }
        }
    }
    if spec.listeners.iter().any(|l| l.tls()) {
        set("ssl.keystore.type", "PEM".into());
        set("ssl.keystore.location", keystore.display().to_string());
        set("ssl.truststore.type", "PEM".into());
        set(
            "ssl.truststore.location",
            crate::tls::cert_path("ca.pem").display().to_string(),
        );
        set("ssl.client.auth", "none".into());
    }
    if let Some(supers) = &spec.super_users {
        set(
            "authorizer.class.name",
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer".into(),
        );
        let mut all = vec!["User:ANONYMOUS".to_owned()];
        all.extend(supers.iter().map(|u| format!("User:{u}")));
        set("super.users", all.join(";"));
    }
    for (k, v) in &spec.props {
        set(k, v.clone());
    }
    let mut out =
        String::from("# Written by clusterlink-testkit (crates/testkit/src/kafka/config.rs).\n");
    for (k, v) in p {
        let _ = writeln!(out, "{k}={}", escape(&v));
    }
    out
}

/// A value as Java's `Properties.load` reads it back.
fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            ' ' if i == 0 => out.push_str("\\ "),
            c => out.push(c),
        }
    }
    out
}

fn server_jaas(m: Mechanism, users: &[(String, String)]) -> String {
    match m {
        Mechanism::Plain => {
            let mut s =
                "org.apache.kafka.common.security.plain.PlainLoginModule required".to_owned();
            for (name, password) in users {
                let _ = write!(s, " user_{name}=\"{password}\"");
            }
            s + ";"
        }
        Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
            "org.apache.kafka.common.security.scram.ScramLoginModule required;".to_owned()
        }
    }
}

/// A Java client's `sasl.jaas.config` for these credentials.
pub(super) fn client_jaas(s: Sasl<'_>) -> String {
    let module = match s.mechanism {
        Mechanism::Plain => "org.apache.kafka.common.security.plain.PlainLoginModule",
        Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
            "org.apache.kafka.common.security.scram.ScramLoginModule"
        }
    };
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "{module} required username=\"{}\" password=\"{}\";",
        quote(s.user),
        quote(s.password)
    )
}

/// The PEM keystore of the TLS listeners: a key (PKCS#8, unencrypted) and its certificate in
/// one file: `identity`'s, or the committed test broker's (SANs IP 127.0.0.1 and DNS
/// localhost, signed by `certs/ca.pem`).
pub(super) fn write_keystore(path: &Path, identity: Option<&crate::pki::TestPki>) -> Result<()> {
    let pem = match identity {
        Some(pki) => format!("{}{}", pki.key_pem, pki.cert_pem),
        None => {
            std::fs::read_to_string(crate::tls::cert_path("broker.key"))?
                + &crate::tls::cert("broker.pem")
        }
    };
    std::fs::write(path, pem).context("writing the PEM keystore")
}

/// A new Kafka UUID (16 random bytes, base64url without padding, as `kafka-storage
/// random-uuid` prints it; like Kafka, never one that starts with '-').
pub(super) fn random_uuid() -> Result<String> {
    let mut f = std::fs::File::open("/dev/urandom")?;
    loop {
        let mut b = [0u8; 16];
        f.read_exact(&mut b)?;
        let s = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        if !s.starts_with('-') && b != [0; 16] {
            return Ok(s);
        }
    }
}

/// Formats `log_dir` for node `node_id` of cluster `cluster_id`, as `kafka-storage format`
/// would with this config and the builder's SCRAM users.
pub(super) fn format(
    spec: &KafkaBuilder,
    config: &Path,
    log_dir: &Path,
    node_id: usize,
    cluster_id: &str,
) -> Result<()> {
    std::fs::create_dir_all(log_dir)?;
    let checkpoint = bootstrap_checkpoint(spec, config)?;
    std::fs::copy(&checkpoint, log_dir.join("bootstrap.checkpoint"))
        .with_context(|| format!("copying {}", checkpoint.display()))?;
    let meta = format!(
        "#\n#Written by clusterlink-testkit\nnode.id={node_id}\ndirectory.id={}\nversion=1\ncluster.id={cluster_id}\n",
        random_uuid()?
    );
    std::fs::write(log_dir.join("meta.properties"), meta)?;
    Ok(())
}

/// The format tool's `bootstrap.checkpoint` for the builder's SCRAM users (feature levels of this
/// Kafka version, then one credential record per user and mechanism), made on first use.
fn bootstrap_checkpoint(spec: &KafkaBuilder, config: &Path) -> Result<PathBuf> {
    let deps = &crate::deps().kafka;
    let scram: Vec<String> = spec
        .users
        .iter()
        .flat_map(|(name, password)| {
            [Mechanism::ScramSha256, Mechanism::ScramSha512]
                .map(|m| format!("{}=[name={name},password={password}]", m.name()))
        })
        .collect();
    let mut h = Sha256::new();
    h.update(deps.libs.to_string_lossy().as_bytes());
    for s in &scram {
        h.update(b"\0");
        h.update(s.as_bytes());
    }
    let key: String = h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = deps.libs.parent().unwrap_or(&deps.libs).join("bootstrap");
    let path = dir.join(format!("{key}.checkpoint"));
    if path.exists() {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir)?;
    let tmp = tempfile::tempdir()?;
    // The tool formats the config's log.dirs: point a copy of the config at a scratch one.
    let scratch = tmp.path().join("data");
    let text = std::fs::read_to_string(config)?
        .lines()
        .filter(|l| !l.starts_with("log.dirs="))
        .chain([format!("log.dirs={}", scratch.display()).as_str()])
        .collect::<Vec<_>>()
        .join("\n");
    let scratch_config = tmp.path().join("server.properties");
    std::fs::write(&scratch_config, text)?;
    let config_arg = scratch_config.display().to_string();
    let mut args = vec!["format", "-t", "AAAAAAAAAAAAAAAAAAAAAQ", "-c", &config_arg];
    for s in &scram {
        args.extend(["--add-scram", s]);
    }
    tools::java("kafka.tools.StorageTool", &args, Duration::from_secs(60))?;
    // Another process may have made the same file meanwhile: a rename replaces it atomically.
    let part = dir.join(format!("{key}.{}.part", std::process::id()));
    std::fs::copy(scratch.join("bootstrap.checkpoint"), &part)?;
    std::fs::rename(&part, &path)?;
    Ok(path)
}
