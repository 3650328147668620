//! Kafka's own command-line tools as independent clients: what they report about a cluster
//! (offsets, leaders, ISR, committed group offsets, ACLs, configs) is Kafka's Java client's word,
//! not ours. Each call is one JVM (about a second with the CDS archive), so use them for checks,
//! not in loops.
//!
//! [`tool`] runs any tool class against a cluster (`--bootstrap-server` added); the typed
//! helpers parse the answers tests need.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::KafkaCluster;
use crate::deps;

/// How long a tool may run (the Java admin client retries for a minute by default).
const TOOL_TIMEOUT: Duration = Duration::from_secs(90);

/// Something Kafka's tools can bootstrap from.
pub trait Bootstrap {
    /// `host:port[,host:port...]`.
    fn bootstrap_servers(&self) -> String;
}

impl Bootstrap for KafkaCluster {
    fn bootstrap_servers(&self) -> String {
        self.bootstrap()
    }
}

impl Bootstrap for crate::TansuCluster {
    fn bootstrap_servers(&self) -> String {
        self.bootstrap()
    }
}

impl Bootstrap for str {
    fn bootstrap_servers(&self) -> String {
        self.to_owned()
    }
}

impl Bootstrap for String {
    fn bootstrap_servers(&self) -> String {
        self.clone()
    }
}

/// A `java` command with Kafka's classpath, the CDS archive, C1 only and the harness's logging,
/// before the main class: `extra` are more JVM flags (collector, heap...).
pub(super) fn java_command(extra: &[String]) -> Command {
    let k = &deps().kafka;
    let mut c = Command::new(&k.java);
    c.arg("-Xshare:auto");
    if let Some(cds) = &k.cds {
        c.arg(format!("-XX:SharedArchiveFile={}", cds.display()));
    }
    c.args([
        "-XX:TieredStopAtLevel=1",
        // JVM warnings (a stale CDS archive...) to stderr, never into a tool's answer.
        "-Xlog:disable",
        "-Xlog:all=warning:stderr",
        "-Djava.awt.headless=true",
    ])
    .args(extra)
    .arg(format!("-Dlog4j2.configurationFile={}", k.log4j.display()))
    .arg("-cp")
    .arg(k.libs.join("*"));
    c
}

/// Runs `class`'s `main` with `args` (small heap, WARN logging) and returns its stdout; an
/// error with its output if it fails or runs longer than `timeout`.
pub fn java(class: &str, args: &[&str], timeout: Duration) -> Result<String> {
    let out = tempfile::tempdir()?;
    let (stdout, stderr) = (out.path().join("stdout"), out.path().join("stderr"));
    let flags = [
        // A short-lived JVM: the serial collector starts a little faster than G1 (0.9 s, 1.0 s).
        "-XX:+UseSerialGC".into(),
        "-Xmx256m".into(),
        "-Dclusterlink.kafka.log.level=WARN".into(),
    ];
    let mut child = java_command(&flags)
        .arg(class)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout)?)
        .stderr(std::fs::File::create(&stderr)?)
        .spawn()
        .with_context(|| format!("starting {class}"))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p| std::fs::read_to_string(p).unwrap_or_default();
    match status {
        Some(s) if s.success() => Ok(read(&stdout)),
        s => bail!(
            "{class} {args:?} {}\nstdout: {}\nstderr: {}",
            s.map_or_else(
                || format!("ran longer than {timeout:?}"),
                |s| format!("failed ({s})")
            ),
            read(&stdout),
            read(&stderr)
        ),
    }
}

/// Runs a Kafka tool (`org.apache.kafka.tools.GetOffsetShell`, `kafka.admin.ConfigCommand`...)
/// with `--bootstrap-server` pointing at `target`, then `args`; returns its stdout.
pub fn tool(target: &(impl Bootstrap + ?Sized), class: &str, args: &[&str]) -> Result<String> {
    let bootstrap = target.bootstrap_servers();
    let mut all = vec!["--bootstrap-server", &bootstrap];
    all.extend_from_slice(args);
    java(class, &all, TOOL_TIMEOUT)
}

/// Like [`tool`], with Java client settings (`bootstrap.servers` among them, e.g. from
/// [`KafkaCluster::java_client_config`]) passed as `--command-config`.
pub fn tool_with_config(config: &[(String, String)], class: &str, args: &[&str]) -> Result<String> {
    let bootstrap = config
        .iter()
        .find(|(k, _)| k == "bootstrap.servers")
        .map(|(_, v)| v.clone())
        .context("the config has no bootstrap.servers")?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("client.properties");
    let text: String = config
        .iter()
        .filter(|(k, _)| k != "bootstrap.servers")
        .map(|(k, v)| format!("{k}={}\n", v.replace('\\', "\\\\").replace('\n', "\\n")))
        .collect();
    std::fs::write(&file, text)?;
    let file = file.display().to_string();
    let mut all = vec!["--command-config", &file];
    all.extend_from_slice(args);
    tool(&bootstrap, class, &all)
}

/// `topic` as a Java regular expression that matches only itself (the tools take patterns).
fn literal(topic: &str) -> String {
    topic
        .chars()
        .flat_map(|c| {
            (!c.is_ascii_alphanumeric())
                .then_some('\\')
                .into_iter()
                .chain([c])
        })
        .collect()
}

fn offsets(
    target: &(impl Bootstrap + ?Sized),
    topic: &str,
    time: &str,
) -> Result<BTreeMap<i32, i64>> {
    let out = tool(
        target,
        "org.apache.kafka.tools.GetOffsetShell",
        &["--topic", &literal(topic), "--time", time],
    )?;
    let mut m = BTreeMap::new();
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.rsplitn(3, ':');
        let (Some(offset), Some(partition), Some(t)) = (parts.next(), parts.next(), parts.next())
        else {
            bail!("GetOffsetShell printed {line:?}");
        };
        if t == topic {
            m.insert(partition.parse()?, offset.parse()?);
        }
    }
    if m.is_empty() {
        bail!("GetOffsetShell knows no partition of {topic}: {out:?}");
    }
    Ok(m)
}

/// Per partition, the end offset (the high watermark), by GetOffsetShell `--time -1`.
pub fn end_offsets(target: &(impl Bootstrap + ?Sized), topic: &str) -> Result<BTreeMap<i32, i64>> {
    offsets(target, topic, "-1")
}

/// Per partition, the log start offset, by GetOffsetShell `--time -2`.
pub fn start_offsets(
    target: &(impl Bootstrap + ?Sized),
    topic: &str,
) -> Result<BTreeMap<i32, i64>> {
    offsets(target, topic, "-2")
}

/// A topic as `kafka-topics --describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    /// The topic id (base64url).
    pub topic_id: String,
    /// The configs whose value is not Kafka's default, as the tool lists them: the topic's own,
    /// and the brokers' overrides (`retention.ms=-1` from the harness's `log.retention.ms`, the
    /// `min.insync.replicas` every Kafka 4 controller sets cluster-wide).
    pub configs: BTreeMap<String, String>,
    /// Its partitions, by partition number.
    pub partitions: Vec<PartitionState>,
}

/// One partition's replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    /// The partition number.
    pub partition: i32,
    /// The leader's node id; `None` when it has none.
    pub leader: Option<i32>,
    /// The assigned replicas, preferred leader first.
    pub replicas: Vec<i32>,
    /// The in-sync replicas.
    pub isr: Vec<i32>,
}

/// Describes `topic` with `kafka-topics --describe`.
pub fn describe_topic(target: &(impl Bootstrap + ?Sized), topic: &str) -> Result<TopicDescription> {
    let out = tool(
        target,
        "org.apache.kafka.tools.TopicCommand",
        &["--describe", "--topic", &literal(topic)],
    )?;
    parse_describe(&out, topic).with_context(|| format!("kafka-topics --describe printed:\n{out}"))
}

fn parse_describe(out: &str, topic: &str) -> Result<TopicDescription> {
    let ids = |s: &str| -> Result<Vec<i32>> {
        s.split(',')
            .filter(|x| !x.trim().is_empty())
            .map(|x| Ok(x.trim().parse()?))
            .collect()
    };
    let mut d = TopicDescription {
        topic_id: String::new(),
        configs: BTreeMap::new(),
        partitions: Vec::new(),
    };
    for line in out.lines() {
        // "Key: value" fields, tab-separated.
        let fields: BTreeMap<&str, &str> = line
            .split('\t')
            .filter_map(|f| f.trim_start().split_once(':'))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        if fields.get("Topic") != Some(&topic) {
            continue;
        }
        if let Some(p) = fields.get("Partition") {
            d.partitions.push(PartitionState {
                partition: p.parse()?,
                leader: match fields.get("Leader") {
                    None | Some(&"none") | Some(&"-1") => None,
                    Some(l) => Some(l.parse()?),
                },
                replicas: ids(fields.get("Replicas").copied().unwrap_or(""))?,
                isr: ids(fields.get("Isr").copied().unwrap_or(""))?,
            });
        } else if let Some(id) = fields.get("TopicId") {
            d.topic_id = id.to_string();
            let configs = line.split_once("Configs:").map_or("", |(_, c)| c.trim());
            d.configs = configs
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        }
    }
    if d.topic_id.is_empty() {
        bail!("no topic {topic}");
    }
    d.partitions.sort_by_key(|p| p.partition);
    Ok(d)
}

/// A group's committed offsets, per (topic, partition) (`None` where it has none), by
/// `kafka-consumer-groups --describe --offsets`.
pub fn group_offsets(
    target: &(impl Bootstrap + ?Sized),
    group: &str,
) -> Result<BTreeMap<(String, i32), Option<i64>>> {
    let out = tool(
        target,
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        &["--describe", "--offsets", "--group", group],
    )?;
    parse_group_offsets(&out, group)
        .with_context(|| format!("kafka-consumer-groups printed:\n{out}"))
}

fn parse_group_offsets(out: &str, group: &str) -> Result<BTreeMap<(String, i32), Option<i64>>> {
    let mut columns: Option<Vec<&str>> = None;
    let mut m = BTreeMap::new();
    for line in out.lines() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.first() == Some(&"GROUP") {
            columns = Some(cells);
            continue;
        }
        let Some(cols) = &columns else { continue };
        if cells.len() != cols.len() || cells[0] != group {
            continue;
        }
        let get = |name: &str| {
            cols.iter()
                .position(|c| *c == name)
                .map(|i| cells[i])
                .with_context(|| format!("no {name} column"))
        };
        let committed = match get("CURRENT-OFFSET")? {
            "-" => None,
            o => Some(o.parse()?),
        };
        m.insert(
            (get("TOPIC")?.to_owned(), get("PARTITION")?.parse()?),
            committed,
        );
    }
    Ok(m)
}

/// A producer a partition's leader keeps state for (`kafka-transactions describe-producers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerState {
    /// The producer id.
    pub producer_id: i64,
    /// Its epoch.
    pub epoch: i16,
    /// The sequence of the last record it appended.
    pub last_sequence: i32,
    /// The last timestamp Kafka keeps for it (the max timestamp of its last batch).
    pub last_timestamp: i64,
}

/// The producers partition `partition` of `topic` keeps state for (idempotent and
/// transactional ones), by `kafka-transactions describe-producers` (the DescribeProducers API).
pub fn producers(
    target: &(impl Bootstrap + ?Sized),
    topic: &str,
    partition: i32,
) -> Result<Vec<ProducerState>> {
    let p = partition.to_string();
    let out = tool(
        target,
        "org.apache.kafka.tools.TransactionsCommand",
        &["describe-producers", "--topic", topic, "--partition", &p],
    )?;
    let mut lines = out.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().unwrap_or_default();
    if !header.starts_with("ProducerId") {
        bail!("describe-producers printed {out:?}");
    }
    lines
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let field = |i: usize| {
                f.get(i)
                    .with_context(|| format!("describe-producers line {l:?}"))
            };
            Ok(ProducerState {
                producer_id: field(0)?.parse()?,
                epoch: field(1)?.parse()?,
                last_sequence: field(3)?.parse()?,
                last_timestamp: field(4)?.parse()?,
            })
        })
        .collect()
}

/// Creates a topic with `kafka-topics --create` (the broker's default replication factor when
/// `replication_factor` is `None`), with topic configs.
pub fn create_topic(
    target: &(impl Bootstrap + ?Sized),
    topic: &str,
    partitions: i32,
    replication_factor: Option<i16>,
    configs: &[(&str, &str)],
) -> Result<()> {
    let partitions = partitions.to_string();
    let rf = replication_factor.map(|r| r.to_string());
    let mut args = vec!["--create", "--topic", topic, "--partitions", &partitions];
    if let Some(rf) = &rf {
        args.extend(["--replication-factor", rf]);
    }
    let configs: Vec<String> = configs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for c in &configs {
        args.extend(["--config", c]);
    }
    tool(target, "org.apache.kafka.tools.TopicCommand", &args).map(drop)
}

/// A topic config as `kafka-configs --describe --all` reports it (DescribeConfigs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigValue {
    /// Its value (empty for an empty or unset list).
    pub value: String,
    /// Where the value comes from, as Kafka names it: `DYNAMIC_TOPIC_CONFIG` (the topic's own
    /// override), `DYNAMIC_BROKER_CONFIG`, `DYNAMIC_DEFAULT_BROKER_CONFIG`,
    /// `STATIC_BROKER_CONFIG` or `DEFAULT_CONFIG`; empty when Kafka names none (a topic config
    /// with no broker synonym, at its default).
    pub source: String,
}

/// Every config of `topic`, with its value and source, by `kafka-configs --describe --all`.
pub fn topic_configs(
    target: &(impl Bootstrap + ?Sized),
    topic: &str,
) -> Result<BTreeMap<String, ConfigValue>> {
    let out = tool(
        target,
        "kafka.admin.ConfigCommand",
        &[
            "--describe",
            "--all",
            "--entity-type",
            "topics",
            "--entity-name",
            topic,
        ],
    )?;
    parse_configs(&out).with_context(|| format!("kafka-configs --describe printed:\n{out}"))
}

/// The topic's own overrides (source `DYNAMIC_TOPIC_CONFIG`), by `kafka-configs --describe`.
pub fn topic_overrides(
    target: &(impl Bootstrap + ?Sized),
    topic: &str,
) -> Result<BTreeMap<String, String>> {
    Ok(topic_configs(target, topic)?
        .into_iter()
        .filter(|(_, c)| c.source == "DYNAMIC_TOPIC_CONFIG")
        .map(|(k, c)| (k, c.value))
        .collect())
}

fn parse_configs(out: &str) -> Result<BTreeMap<String, ConfigValue>> {
    let mut m = BTreeMap::new();
    let mut header = false;
    for line in out.lines() {
        if line.starts_with("All configs for") || line.starts_with("Dynamic configs for") {
            header = true;
            continue;
        }
        // "  name=value sensitive=false synonyms={SOURCE:key=value, ...}"
        let Some((entry, rest)) = line.trim_start().rsplit_once(" sensitive=") else {
            continue;
        };
        let Some((name, value)) = entry.split_once('=') else {
            bail!("no name=value in {line:?}");
        };
        let synonyms = rest
            .split_once("synonyms={")
            .map_or("", |(_, s)| s.trim_end_matches('}'));
        let source = synonyms.split_once(':').map_or("", |(s, _)| s);
        m.insert(
            name.to_owned(),
            ConfigValue {
                value: value.to_owned(),
                source: source.to_owned(),
            },
        );
    }
    if !header {
        bail!("no configs listed");
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kafka_topics_describe() {
        let out = "Topic: a.b\tTopicId: j1x8qnnoSUmOCQE6fCnYzw\tPartitionCount: 2\tReplicationFactor: 3\tConfigs: min.insync.replicas=2,cleanup.policy=compact\n\
                   \tTopic: a.b\tPartition: 1\tLeader: none\tReplicas: 3,1,2\tIsr: 1\tElr: \tLastKnownElr: \n\
                   \tTopic: a.b\tPartition: 0\tLeader: 2\tReplicas: 2,3,1\tIsr: 2,3,1\tElr: \tLastKnownElr: \n";
        let d = parse_describe(out, "a.b").unwrap();
        assert_eq!(d.topic_id, "j1x8qnnoSUmOCQE6fCnYzw");
        assert_eq!(d.configs["cleanup.policy"], "compact");
        assert_eq!(
            d.partitions,
            vec![
                PartitionState {
                    partition: 0,
                    leader: Some(2),
                    replicas: vec![2, 3, 1],
                    isr: vec![2, 3, 1]
                },
                PartitionState {
                    partition: 1,
                    leader: None,
                    replicas: vec![3, 1, 2],
                    isr: vec![1]
                },
            ]
        );
        assert!(parse_describe(out, "a").is_err());
    }

    #[test]
    fn parses_kafka_consumer_groups_offsets() {
        let out = "\nConsumer group 'g' has no active members.\n\n\
                   GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\n\
                   g               t               0          5               10              5               -               -               -\n\
                   g               t               1          -               3               -               -               -               -\n";
        let m = parse_group_offsets(out, "g").unwrap();
        assert_eq!(m[&("t".to_owned(), 0)], Some(5));
        assert_eq!(m[&("t".to_owned(), 1)], None);
    }

    #[test]
    fn parses_kafka_configs_describe() {
        let out = "All configs for topic t are:\n\
                   \x20 retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000, STATIC_BROKER_CONFIG:log.retention.ms=-1}\n\
                   \x20 segment.ms=604800000 sensitive=false synonyms={}\n\
                   \x20 leader.replication.throttled.replicas= sensitive=false synonyms={}\n\
                   \x20 min.insync.replicas=1 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:min.insync.replicas=1, DEFAULT_CONFIG:min.insync.replicas=1}\n";
        let m = parse_configs(out).unwrap();
        assert_eq!(m["retention.ms"].value, "3600000");
        assert_eq!(m["retention.ms"].source, "DYNAMIC_TOPIC_CONFIG");
        assert_eq!(m["segment.ms"].source, "");
        assert_eq!(m["leader.replication.throttled.replicas"].value, "");
        assert_eq!(
            m["min.insync.replicas"].source,
            "DYNAMIC_DEFAULT_BROKER_CONFIG"
        );
        assert!(parse_configs("").is_err());
    }

    #[test]
    fn topic_patterns_are_literal() {
        assert_eq!(literal("a.b-c_1"), "a\\.b\\-c\\_1");
    }
}
