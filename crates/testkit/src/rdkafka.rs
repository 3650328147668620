//! Produce and consume with librdkafka (confluent-kafka), a client none of us wrote.
//!
//! Each call runs `py/kcheck.py` in a child process; bytes cross as hex in JSON.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::deps;

/// Path of the helper script.
pub fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("py/kcheck.py")
}

/// A record as librdkafka produced or consumed it. Bytes are hex strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Msg {
    /// Partition.
    pub partition: i32,
    /// Offset (consumed records only; -1 in produce specs).
    #[serde(default = "minus_one")]
    pub offset: i64,
    /// Key as hex.
    pub key: Option<String>,
    /// Value as hex.
    pub value: Option<String>,
    /// Headers in order: key, value as hex.
    #[serde(default)]
    pub headers: Vec<(String, Option<String>)>,
    /// Timestamp in milliseconds.
    pub timestamp: i64,
    /// librdkafka's timestamp type: 1 create time, 2 log-append time.
    #[serde(default)]
    pub timestamp_type: i32,
}

fn minus_one() -> i64 {
    -1
}

/// Hex of bytes, for building specs.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A transaction of a transactional produce.
#[derive(Debug, Clone, Serialize)]
pub struct Txn {
    /// Commit (true) or abort (false).
    pub commit: bool,
    /// Its records.
    pub records: Vec<Msg>,
}

/// `records` cut into transactions of `per_transaction`, the `i`-th (from 0) aborted when
/// `aborted(i)`; with the records a `read_committed` reader must see, in order.
pub fn in_transactions(
    records: &[Msg],
    per_transaction: usize,
    aborted: impl Fn(usize) -> bool,
) -> (Vec<Txn>, Vec<Msg>) {
    let transactions: Vec<Txn> = records
        .chunks(per_transaction)
        .enumerate()
        .map(|(i, chunk)| Txn {
            commit: !aborted(i),
            records: chunk.to_vec(),
        })
        .collect();
    let committed = transactions
        .iter()
        .filter(|t| t.commit)
        .flat_map(|t| t.records.clone())
        .collect();
    (transactions, committed)
}

/// What to produce.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProduceSpec {
    /// Topic.
    pub topic: String,
    /// librdkafka producer settings (`compression.type`, `enable.idempotence`, `transactional.id`).
    pub config: std::collections::BTreeMap<String, serde_json::Value>,
    /// Records of a plain produce.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<Vec<Msg>>,
    /// Transactions of a transactional produce (needs `transactional.id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transactions: Option<Vec<Txn>>,
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Result<String> {
    let mut child = Command::new(&deps().python)
        .arg(script())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting kcheck.py")?;
    if let Some(input) = stdin {
        child.stdin.take().context("stdin")?.write_all(input)?;
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "kcheck {args:?} failed ({}): {stdout}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(stdout)
}

/// Produces with librdkafka; returns how many records were acknowledged.
pub fn produce(bootstrap: &str, spec: &ProduceSpec) -> Result<usize> {
    let out = run(
        &["produce", "--bootstrap", bootstrap],
        Some(&serde_json::to_vec(spec)?),
    )?;
    let v: serde_json::Value = serde_json::from_str(out.trim())?;
    v["delivered"]
        .as_u64()
        .map(|n| n as usize)
        .context("no delivered count")
}

/// Produces `records` into `topic` with librdkafka's default settings, and panics unless every
/// one is acknowledged (for test set-up).
pub fn produce_all(bootstrap: &str, topic: &str, records: &[Msg]) {
    let spec = ProduceSpec {
        topic: topic.into(),
        config: Default::default(),
        records: Some(records.to_vec()),
        transactions: None,
    };
    let acked = produce(bootstrap, &spec).expect("librdkafka produce");
    assert_eq!(acked, records.len(), "records acknowledged");
}

/// Consumes every partition of `topic` from the beginning to the end, read_committed.
pub fn consume(bootstrap: &str, topic: &str) -> Result<Vec<Msg>> {
    consume_with(bootstrap, topic, "read_committed")
}

/// Consumes every partition of `topic` from the beginning to the end.
pub fn consume_with(bootstrap: &str, topic: &str, isolation: &str) -> Result<Vec<Msg>> {
    consume_configured(bootstrap, topic, isolation, &Default::default())
}

/// Consumes every partition of `topic` from the beginning to the end, with extra client
/// settings (`security.protocol`, `sasl.*`, `ssl.*`).
pub fn consume_configured(
    bootstrap: &str,
    topic: &str,
    isolation: &str,
    config: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Result<Vec<Msg>> {
    let config = serde_json::to_string(config)?;
    let out = run(
        &[
            "consume",
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--isolation",
            isolation,
            "--config",
            &config,
        ],
        None,
    )?;
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("bad line {l}")))
        .collect()
}

/// Creates a topic with librdkafka's admin client (the broker's default replication factor).
pub fn create_topic(bootstrap: &str, topic: &str, partitions: i32) -> Result<()> {
    run(
        &[
            "create-topic",
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--partitions",
            &partitions.to_string(),
        ],
        None,
    )
    .map(drop)
}

/// A topic's configs with a value, as librdkafka's admin client describes them (defaults
/// included: tansu reports topic-level settings as defaults).
pub fn topic_configs(
    bootstrap: &str,
    topic: &str,
) -> Result<std::collections::BTreeMap<String, String>> {
    Ok(serde_json::from_str(
        run(
            &[
                "describe-configs",
                "--bootstrap",
                bootstrap,
                "--topic",
                topic,
            ],
            None,
        )?
        .trim(),
    )?)
}

/// Topic names and partition counts as librdkafka sees them.
pub fn topics(bootstrap: &str) -> Result<std::collections::BTreeMap<String, usize>> {
    Ok(serde_json::from_str(
        run(&["topics", "--bootstrap", bootstrap], None)?.trim(),
    )?)
}

/// A consumer group's committed offsets for `topic` as librdkafka reads them (negative when none).
pub fn committed(
    bootstrap: &str,
    group: &str,
    topic: &str,
) -> Result<std::collections::BTreeMap<i32, i64>> {
    let out = run(
        &[
            "committed",
            "--bootstrap",
            bootstrap,
            "--group",
            group,
            "--topic",
            topic,
        ],
        None,
    )?;
    let raw: std::collections::BTreeMap<String, i64> = serde_json::from_str(out.trim())?;
    raw.into_iter().map(|(k, v)| Ok((k.parse()?, v))).collect()
}

/// A live member of a consumer group (librdkafka), until dropped: it joined `group`
/// subscribed to `topic` and committed an offset of partition 0 itself.
#[derive(Debug)]
pub struct GroupMember {
    child: std::process::Child,
}

impl GroupMember {
    /// Joins `group` on the cluster at `bootstrap`, subscribed to `topic`, commits `offset` for
    /// its partition 0, and returns once it is a member.
    pub fn join(bootstrap: &str, group: &str, topic: &str, offset: i64) -> Result<Self> {
        use std::io::BufRead;
        let mut child = Command::new(&deps().python)
            .arg(script())
            .args([
                "member",
                "--bootstrap",
                bootstrap,
                "--group",
                group,
                "--topic",
                topic,
            ])
            .args(["--commit", &offset.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting kcheck.py member")?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        if line.trim() != "joined" {
            let _ = child.kill();
            bail!("the member of {group} did not join: {line:?}");
        }
        Ok(GroupMember { child })
    }

    /// Leaves the group (closing the consumer) and waits until it has.
    pub fn leave(mut self) -> Result<()> {
        drop(self.child.stdin.take());
        let status = self.child.wait()?;
        anyhow::ensure!(status.success(), "the member exited with {status}");
        Ok(())
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Records with keys, duplicate header keys, null header values, tombstones, explicit
/// timestamps, spread over `partitions`.
pub fn varied_records(n: usize, partitions: i32, tag: &str) -> Vec<Msg> {
    (0..n)
        .map(|i| Msg {
            partition: i as i32 % partitions,
            offset: -1,
            key: (i % 5 != 0).then(|| hex(format!("{tag}-key-{i}").as_bytes())),
            value: (i % 11 != 7)
                .then(|| hex(format!("{tag} value {i} ").repeat(1 + i % 20).as_bytes())),
            headers: match i % 3 {
                0 => vec![],
                1 => vec![("trace".into(), Some(hex(&[i as u8, 1, 2])))],
                _ => vec![
                    ("dup".into(), Some(hex(b"a"))),
                    ("dup".into(), None),
                    ("z".into(), Some(hex(b""))),
                ],
            },
            timestamp: 1_600_000_000_000 + (i as i64) * 37,
            timestamp_type: 0,
        })
        .collect()
}

/// What must survive mirroring: key, value, headers, timestamp.
pub type Content = (
    Option<String>,
    Option<String>,
    Vec<(String, Option<String>)>,
    i64,
);

/// Asserts, reading both with librdkafka, that `topic` on `to` is an exact copy of `topic` on
/// `from`: per partition the same offsets and, at each, the same key, value, headers and
/// timestamp.
pub fn assert_same_records(from: &str, to: &str, topic: &str) {
    let read = |bootstrap: &str| {
        let msgs = consume(bootstrap, topic).unwrap_or_else(|e| panic!("read {topic}: {e}"));
        let offsets: std::collections::BTreeMap<i32, Vec<i64>> =
            msgs.iter().fold(Default::default(), |mut m, r| {
                m.entry(r.partition).or_default().push(r.offset);
                m
            });
        (by_partition(&msgs), offsets)
    };
    let (want, got) = (read(from), read(to));
    assert_eq!(want.1, got.1, "{topic}: offsets on {to} differ from {from}");
    assert_eq!(want.0, got.0, "{topic}: records on {to} differ from {from}");
}

/// Per partition, in offset order: the content that must survive.
pub fn by_partition(msgs: &[Msg]) -> std::collections::BTreeMap<i32, Vec<Content>> {
    let mut sorted = msgs.to_vec();
    sorted.sort_by_key(|m| (m.partition, m.offset));
    let mut out: std::collections::BTreeMap<i32, Vec<_>> = Default::default();
    for m in sorted {
        out.entry(m.partition)
            .or_default()
            .push((m.key, m.value, m.headers, m.timestamp));
    }
    out
}
