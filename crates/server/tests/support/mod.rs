//! Shared by the link-server tests: a server on real brokers, a minimal HTTP/1.1 client, and
//! polling helpers.
//!
//! Every test takes its clusters from a [`Peer`] (Apache Kafka always, tansu where it adds a
//! second implementation): on Kafka they are the run's shared clusters, so topic and group names
//! come from [`unique_name`]; links need not be unique (each test process keeps its links in
//! a state topic of its own).
#![allow(dead_code, unused_imports)]

use std::time::{Duration, Instant};

use clusterlink_kafka::client::NewTopic;
use clusterlink_kafka::Client;
use clusterlink_server::ManagerOptions;
pub use clusterlink_testkit::kafka::{self, unique_name};
use clusterlink_testkit::link_server::LinkServer;
pub use clusterlink_testkit::link_server::{client, options, ENCODER_SECRET};
pub use clusterlink_testkit::peer::{Broker, Peer, Side};
pub use clusterlink_testkit::peer_tests;
use clusterlink_testkit::rdkafka::{self, Msg, ProduceSpec};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A link server on an ephemeral port, over the cluster at `bootstrap` (the test kit's, with a
/// minimal HTTP/1.1 client for the API).
pub struct Server(LinkServer);

impl std::ops::Deref for Server {
    type Target = LinkServer;

    fn deref(&self) -> &LinkServer {
        &self.0
    }
}

impl Server {
    pub async fn start(bootstrap: &str) -> Server {
        Self::start_with(bootstrap, options()).await
    }

    pub async fn start_with(bootstrap: &str, options: ManagerOptions) -> Server {
        Server(LinkServer::start_with(bootstrap, options, "127.0.0.1:0").await)
    }

    /// A link server whose own connections to its cluster use these Java client settings
    /// (`bootstrap.servers`, `security.protocol`, `sasl.*`, `ssl.*`), as `clusterlink server
    /// --command-config` does for a secured local cluster.
    pub async fn start_secured(settings: &[(String, String)]) -> Server {
        let local = clusterlink_testkit::link_server::client_with(settings).await;
        Server(LinkServer::start_on(local, options(), "127.0.0.1:0").await)
    }

    /// Stops serving and stops every engine (as a process exit would, with final checkpoints).
    pub async fn stop(self) {
        self.0.stop().await
    }

    /// `/v3/clusters/<this server's cluster id>`, the prefix of its API paths.
    pub fn cluster(&self) -> String {
        format!("/v3/clusters/{}", self.manager.cluster_id())
    }

    /// `/v3/clusters/<id>/links`.
    pub fn links(&self) -> String {
        format!("{}/links", self.cluster())
    }

    /// Creates link `name` to `source` (its id and PLAINTEXT bootstrap) with `extra` configs;
    /// the status and body.
    pub async fn create_link(
        &self,
        name: &str,
        source: &Broker,
        extra: &[(&str, &str)],
    ) -> (u16, Value) {
        self.post(
            &format!("{}?link_name={name}", self.links()),
            link_body(source, extra),
        )
        .await
    }

    /// Creates a mirror of `source_topic` on link `link`, under the same name; the status and body.
    pub async fn create_mirror(&self, link: &str, source_topic: &str) -> (u16, Value) {
        self.post(
            &format!("{}/{link}/mirrors", self.links()),
            json!({ "source_topic_name": source_topic }),
        )
        .await
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let (status, text) = self.raw(method, path, body).await;
        let v = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, v)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(&body.to_string())).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("PUT", path, Some(&body.to_string())).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call("DELETE", path, None).await
    }

    /// One request on its own connection; the status and the body as text.
    pub async fn raw(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let mut s = tokio::net::TcpStream::connect(&self.addr).await.unwrap();
        let body = body.unwrap_or("");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.unwrap();
        let text = String::from_utf8(buf).unwrap();
        let (head, rest) = text.split_once("\r\n\r\n").unwrap();
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            let mut out = String::new();
            let mut r = rest;
            loop {
                let (size, tail) = r.split_once("\r\n").unwrap();
                let n = usize::from_str_radix(size.trim(), 16).unwrap();
                if n == 0 {
                    break;
                }
                out.push_str(&tail[..n]);
                r = &tail[n + 2..];
            }
            out
        } else {
            rest.to_owned()
        };
        (status, body)
    }

    /// Polls `path` until `done` holds for its body, or panics with the last one.
    pub async fn wait_for(&self, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let (status, v) = self.get(path).await;
            if status == 200 && done(&v) {
                return v;
            }
            if start.elapsed() > Duration::from_secs(40) {
                panic!("timed out waiting for {what}: {status} {v:#}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Link configs as the REST API takes them: `[{"name": k, "value": v}, ...]`.
pub fn configs(pairs: &[(&str, &str)]) -> Value {
    json!(pairs
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect::<Vec<_>>())
}

/// The body of a link to `source`: its cluster id (unless the peer has none to tell), its
/// bootstrap servers, then `extra` configs.
pub fn link_body(source: &Broker, extra: &[(&str, &str)]) -> Value {
    let bootstrap = source.bootstrap();
    let mut pairs = vec![("bootstrap.servers", bootstrap.as_str())];
    pairs.extend_from_slice(extra);
    let mut body = json!({ "configs": configs(&pairs) });
    let id = source.cluster_id();
    if !id.is_empty() {
        body["source_cluster_id"] = json!(id);
    }
    body
}

pub async fn create_topic(c: &Client, name: &str, partitions: i32) {
    let t = NewTopic {
        name: name.into(),
        partitions,
        replication_factor: -1,
        configs: vec![],
    };
    c.create_topics(&[t], false, Duration::from_secs(10))
        .await
        .unwrap()[0]
        .1
        .as_ref()
        .unwrap();
}

pub fn produce(bootstrap: &str, topic: &str, records: &[Msg]) {
    let spec = ProduceSpec {
        topic: topic.into(),
        config: [("enable.idempotence".to_string(), json!(true))].into(),
        records: Some(records.to_vec()),
        transactions: None,
    };
    assert_eq!(rdkafka::produce(bootstrap, &spec).unwrap(), records.len());
}

/// Total mirrored records and whether every partition is at lag zero, from a KafkaMirrorData.
pub fn caught_up(total: i64) -> impl Fn(&Value) -> bool {
    move |m| {
        let lags = m["mirror_lags"].as_array().unwrap();
        m["mirror_status"] == "ACTIVE"
            && lags.iter().all(|l| l["lag"] == 0)
            && lags
                .iter()
                .map(|l| l["last_source_fetch_offset"].as_i64().unwrap())
                .sum::<i64>()
                == total
    }
}

/// Error body check: status, Confluent error code, and a message containing `needle`.
#[track_caller]
pub fn assert_error(got: &(u16, Value), status: u16, code: i64, needle: &str) {
    assert_eq!(got.0, status, "{:#}", got.1);
    assert_eq!(got.1["error_code"], code, "{:#}", got.1);
    let msg = got.1["message"].as_str().unwrap_or_default();
    assert!(msg.contains(needle), "message {msg:?} lacks {needle:?}");
}

/// Sum over partitions of the source's end offset (last offset + 1), read with librdkafka.
pub fn end_offsets(bootstrap: &str, topic: &str) -> i64 {
    let msgs = rdkafka::consume(bootstrap, topic).unwrap();
    let mut ends = std::collections::BTreeMap::new();
    for m in msgs {
        let e = ends.entry(m.partition).or_insert(0i64);
        *e = (*e).max(m.offset + 1);
    }
    ends.values().sum()
}

/// (partition, offset) of every record, sorted (librdkafka interleaves partitions in any order).
pub fn offsets(msgs: &[Msg]) -> Vec<(i32, i64)> {
    let mut o: Vec<(i32, i64)> = msgs.iter().map(|m| (m.partition, m.offset)).collect();
    o.sort();
    o
}

/// The mirror holds the source's records at the source's offsets (an aligned mirror of a topic
/// that is not written to meanwhile): librdkafka reads the same content at the same offsets,
/// and on Kafka, Kafka's GetOffsetShell reports the same end offsets.
#[track_caller]
pub fn assert_aligned(src: &Broker, topic: &str, dst: &Broker, mirror: &str) {
    let source = rdkafka::consume(&src.bootstrap(), topic).unwrap();
    let mirrored = rdkafka::consume(&dst.bootstrap(), mirror).unwrap();
    assert_eq!(
        rdkafka::by_partition(&mirrored),
        rdkafka::by_partition(&source)
    );
    assert_eq!(offsets(&mirrored), offsets(&source));
    if src.peer() == Peer::Kafka {
        assert_eq!(
            kafka::tools::end_offsets(&dst.bootstrap(), mirror).unwrap(),
            kafka::tools::end_offsets(&src.bootstrap(), topic).unwrap()
        );
    }
}
