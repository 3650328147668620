//! Shared by the operator tests (fake API server and real one): running the operator in the
//! test process, waiting for conditions, and reading a ClusterLink's status.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use clusterlink_model::ClusterLink;
use clusterlink_operator::{ControllerConfig, LeaseConfig, Metrics, OperatorConfig};
use clusterlink_testkit::rdkafka;
use kube::Client;
use serde_json::{json, Value};

pub const GROUP: &str = "platform.confluent.io/v1beta1";

/// The operator running in the test process until stopped.
pub struct Operator {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), clusterlink_operator::Error>>,
    pub metrics: Metrics,
}

impl Operator {
    /// Starts it on `client`; `namespace` limits the watch (and holds the Lease when `lease`),
    /// short lease timings keep leader-election tests fast.
    pub fn start(client: Client, namespace: Option<&str>, identity: &str, lease: bool) -> Operator {
        Self::start_with_cleanup_deadline(
            client,
            namespace,
            identity,
            lease,
            Duration::from_secs(900),
        )
    }

    /// The same, giving up a failing clean-up `cleanup_deadline` after a deletion.
    pub fn start_with_cleanup_deadline(
        client: Client,
        namespace: Option<&str>,
        identity: &str,
        lease: bool,
        cleanup_deadline: Duration,
    ) -> Operator {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let metrics = Metrics::default();
        let config = OperatorConfig {
            controllers: ControllerConfig {
                namespace: namespace.map(str::to_string),
                request_timeout: Duration::from_secs(5),
                instance: identity.into(),
                cleanup_deadline,
            },
            lease: lease.then(|| {
                let mut l = LeaseConfig::new(
                    namespace.unwrap_or("clusterlink-system"),
                    "clusterlink-operator",
                    identity,
                );
                l.duration = Duration::from_millis(1500);
                l.renew = Duration::from_millis(300);
                l
            }),
            metrics_listen: None,
        };
        let m = metrics.clone();
        let task = tokio::spawn(async move {
            clusterlink_operator::run(client, config, m, async {
                let _ = rx.await;
            })
            .await
        });
        Operator {
            stop: Some(tx),
            task,
            metrics,
        }
    }

    /// Whether it holds the leader lease.
    pub fn leads(&self) -> bool {
        self.metrics
            .render()
            .contains("clusterlink_operator_leader 1")
    }

    /// Stops it and checks that it ended cleanly.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the operator stops when told")
            .unwrap()
            .unwrap();
    }
}

/// Polls `f` until it gives a value, or panics after `limit`.
pub async fn eventually<T>(
    what: &str,
    limit: Duration,
    mut f: impl AsyncFnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// A destination-initiated ClusterLink in `ns` whose local cluster is `kafka-dest` (found
/// through its KafkaRestClass) and whose source is `source` (cluster id `src`).
pub fn link(ns: &str, name: &str, link_name: &str, source: &str, mirrors: Value) -> ClusterLink {
    link_from(ns, name, link_name, source, "src", mirrors)
}

/// The same with the source's cluster id `source_id`.
pub fn link_from(
    ns: &str,
    name: &str,
    link_name: &str,
    source: &str,
    source_id: &str,
    mirrors: Value,
) -> ClusterLink {
    serde_json::from_value(json!({
        "apiVersion": GROUP, "kind": "ClusterLink",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "name": link_name,
            "destinationKafkaCluster": {"name": "kafka-dest", "namespace": ns},
            "sourceKafkaCluster": {"bootstrapEndpoint": source, "clusterID": source_id},
            "mirrorTopics": mirrors,
        }
    }))
    .unwrap()
}

/// A condition's (status, reason, message).
pub fn condition(l: &ClusterLink, type_: &str) -> Option<(String, String, String)> {
    l.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_.as_deref() == Some(type_))
        .map(|c| {
            (
                c.status.clone().unwrap_or_default(),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        })
}

/// A mirror topic's status as the ClusterLink's status shows it.
pub fn mirror_status(l: &ClusterLink, topic: &str) -> Option<String> {
    l.status
        .as_ref()?
        .mirror_topics
        .as_ref()?
        .get(topic)?
        .status
        .clone()
}

/// Produces `n` varied records into two partitions of `topic` with librdkafka.
pub fn produce(bootstrap: &str, topic: &str, n: usize) {
    rdkafka::produce_all(bootstrap, topic, &rdkafka::varied_records(n, 2, topic));
}

/// How many times an Event with `reason` was published (kube's recorder folds repeats of the
/// same reason on the same object into one Event with a `series.count`).
pub fn events(fake: &clusterlink_testkit::kube_api::FakeApiServer, reason: &str) -> u64 {
    fake.list_raw("events.k8s.io/v1", "events")
        .into_iter()
        .filter(|e| e["reason"] == reason)
        .map(|e| {
            e.pointer("/series/count")
                .and_then(Value::as_u64)
                .unwrap_or(1)
        })
        .sum()
}

/// The KafkaRestClass `dest/dest-rest` of cluster `kafka-dest`, at `url`, with `extra` fields of
/// `kafkaRest` (authentication, tls).
pub fn rest_class(fake: &clusterlink_testkit::kube_api::FakeApiServer, url: &str, extra: Value) {
    let mut rest = json!({"endpoint": url});
    if let (Some(r), Some(e)) = (rest.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    fake.put_raw(
        GROUP,
        "kafkarestclasses",
        Some("dest"),
        json!({"apiVersion": GROUP, "kind": "KafkaRestClass",
               "metadata": {"name": "dest-rest", "namespace": "dest"},
               "spec": {"kafkaClusterRef": {"name": "kafka-dest"}, "kafkaRest": rest}}),
    );
}
