//! Prometheus metrics of the operator, and the HTTP endpoint that serves them with `/healthz`
//! and `/readyz`.
//!
//! Every metric the operator exposes is named here, in [`metric_defs`] (with the ones every
//! clusterlink process shares), which also writes `docs/metrics.md`; `prometheus-client` keeps
//! and encodes them. Labels name things as the link server's metrics do: a ClusterLink is `link`
//! (with its `namespace`), a mirror topic `topic`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::Router;
use clusterlink_metrics::{MetricDef, MetricKind};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub const RECONCILIATIONS: MetricDef = MetricDef {
    name: "clusterlink_operator_reconciliations_total",
    kind: MetricKind::Counter,
    labels: &["controller", "result"],
    help: "Reconcile passes, by controller (clusterlink, kafkatopic) and result (ok, error)",
};
pub const RECONCILE_ERRORS: MetricDef = MetricDef {
    name: "clusterlink_operator_reconcile_errors_total",
    kind: MetricKind::Counter,
    labels: &["controller", "category"],
    help: "Reconcile errors, by controller and category",
};
pub const RECONCILE_DURATION: MetricDef = MetricDef {
    name: "clusterlink_operator_reconcile_duration_seconds",
    kind: MetricKind::Histogram,
    labels: &["controller"],
    help: "Time spent in a reconcile pass, by controller",
};
pub const REST_WRITES: MetricDef = MetricDef {
    name: "clusterlink_operator_rest_writes_total",
    kind: MetricKind::Counter,
    labels: &["controller"],
    help: "REST calls that changed a link server, by controller",
};
pub const CLUSTER_LINK_READY: MetricDef = MetricDef {
    name: "clusterlink_operator_cluster_link_ready",
    kind: MetricKind::Gauge,
    labels: &["namespace", "link"],
    help: "Whether a ClusterLink is Ready (1) or not (0)",
};
pub const MIRROR_TOPIC_LAG_RECORDS: MetricDef = MetricDef {
    name: "clusterlink_operator_mirror_topic_lag_records",
    kind: MetricKind::Gauge,
    labels: &["namespace", "link", "topic"],
    help: "Largest partition lag of a mirror topic, in records, as its link server reports it",
};
pub const LEADER: MetricDef = MetricDef {
    name: "clusterlink_operator_leader",
    kind: MetricKind::Gauge,
    labels: &[],
    help: "Whether this replica holds the leader lease",
};

/// The operator's own metrics (beside the ones every clusterlink process exposes).
pub const METRICS: &[MetricDef] = &[
    RECONCILIATIONS,
    RECONCILE_ERRORS,
    RECONCILE_DURATION,
    REST_WRITES,
    CLUSTER_LINK_READY,
    MIRROR_TOPIC_LAG_RECORDS,
    LEADER,
];

/// Every metric the operator exposes.
pub fn metric_defs() -> Vec<MetricDef> {
    let mut all = METRICS.to_vec();
    all.extend(clusterlink_metrics::common_metrics());
    all
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabels {
    controller: &'static str,
    result: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CategoryLabels {
    controller: &'static str,
    category: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ControllerLabels {
    controller: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LinkLabels {
    namespace: String,
    link: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TopicLabels {
    namespace: String,
    link: String,
    topic: String,
}

type Durations = Family<ControllerLabels, Histogram, fn() -> Histogram>;

/// The mirror topics of each link (namespace, name) whose lag was last reported.
type LagTopics = BTreeMap<(String, String), BTreeSet<String>>;

/// The operator's metrics (cheap to clone).
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    reconciles: Family<ResultLabels, Counter>,
    errors: Family<CategoryLabels, Counter>,
    durations: Durations,
    rest_writes: Family<ControllerLabels, Counter>,
    link_ready: Family<LinkLabels, Gauge>,
    lag: Family<TopicLabels, Gauge>,
    /// The mirror topics each link's lag was last reported for, to forget the ones gone.
    lag_topics: Arc<Mutex<LagTopics>>,
    leader: Gauge,
    ready: Arc<AtomicBool>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = clusterlink_metrics::registry();
        let m = Metrics {
            registry: Arc::default(),
            reconciles: Family::default(),
            errors: Family::default(),
            durations: Family::new_with_constructor(|| {
                Histogram::new(clusterlink_metrics::duration_buckets())
            }),
            rest_writes: Family::default(),
            link_ready: Family::default(),
            lag: Family::default(),
            lag_topics: Arc::default(),
            leader: Gauge::default(),
            ready: Arc::default(),
        };
        RECONCILIATIONS.register(&mut registry, m.reconciles.clone());
        RECONCILE_ERRORS.register(&mut registry, m.errors.clone());
        RECONCILE_DURATION.register(&mut registry, m.durations.clone());
        REST_WRITES.register(&mut registry, m.rest_writes.clone());
        CLUSTER_LINK_READY.register(&mut registry, m.link_ready.clone());
        MIRROR_TOPIC_LAG_RECORDS.register(&mut registry, m.lag.clone());
        LEADER.register(&mut registry, m.leader.clone());
        Metrics {
            registry: Arc::new(registry),
            ..m
        }
    }
}

impl Metrics {
    /// Counts a finished reconcile of `controller` (`ok` or `error`) and its duration.
    pub fn reconciled(&self, controller: &'static str, ok: bool, took: Duration, writes: usize) {
        let result = if ok { "ok" } else { "error" };
        self.reconciles
            .get_or_create(&ResultLabels { controller, result })
            .inc();
        self.durations
            .get_or_create(&ControllerLabels { controller })
            .observe(took.as_secs_f64());
        self.rest_writes
            .get_or_create(&ControllerLabels { controller })
            .inc_by(writes as u64);
    }

    /// Counts an error of `controller` by category.
    pub fn error(&self, controller: &'static str, category: &'static str) {
        self.errors
            .get_or_create(&CategoryLabels {
                controller,
                category,
            })
            .inc();
    }

    /// Records a ClusterLink's Ready verdict and its mirror topics' lags.
    pub fn link(&self, namespace: &str, name: &str, ready: bool, lags: &BTreeMap<String, i64>) {
        let key = LinkLabels {
            namespace: namespace.to_string(),
            link: name.to_string(),
        };
        self.link_ready.get_or_create(&key).set(i64::from(ready));
        let mut known = self.lag_topics.lock().unwrap_or_else(|p| p.into_inner());
        let topics = known
            .entry((namespace.to_string(), name.to_string()))
            .or_default();
        for gone in topics.iter().filter(|t| !lags.contains_key(*t)) {
            self.lag.remove(&topic_labels(&key, gone));
        }
        for (topic, lag) in lags {
            self.lag.get_or_create(&topic_labels(&key, topic)).set(*lag);
        }
        *topics = lags.keys().cloned().collect();
    }

    /// Forgets a deleted ClusterLink.
    pub fn forget_link(&self, namespace: &str, name: &str) {
        let key = LinkLabels {
            namespace: namespace.to_string(),
            link: name.to_string(),
        };
        self.link_ready.remove(&key);
        let mut known = self.lag_topics.lock().unwrap_or_else(|p| p.into_inner());
        for topic in known
            .remove(&(namespace.to_string(), name.to_string()))
            .unwrap_or_default()
        {
            self.lag.remove(&topic_labels(&key, &topic));
        }
    }

    /// Whether this replica leads.
    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// Whether the operator is ready (caches synced, controllers running).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// The exposition, in the Prometheus text format.
    pub fn render(&self) -> String {
        clusterlink_metrics::encode(&self.registry)
    }

    /// `/metrics`, `/healthz` and `/readyz`.
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/metrics",
                get(|State(m): State<Metrics>| async move {
                    (
                        [(header::CONTENT_TYPE, clusterlink_metrics::CONTENT_TYPE)],
                        m.render(),
                    )
                }),
            )
            .route("/healthz", get(|| async { "ok\n" }))
            .route(
                "/readyz",
                get(|State(m): State<Metrics>| async move {
                    if m.ready.load(Ordering::SeqCst) {
                        (StatusCode::OK, "ready\n")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
                    }
                }),
            )
            .with_state(self.clone())
    }
}

fn topic_labels(link: &LinkLabels, topic: &str) -> TopicLabels {
    TopicLabels {
        namespace: link.namespace.clone(),
        link: link.link.clone(),
        topic: topic.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges_with_escaped_labels() {
        let m = Metrics::default();
        m.reconciled("clusterlink", true, Duration::from_millis(500), 2);
        m.error("clusterlink", "rest-unreachable");
        let mut lags = BTreeMap::new();
        lags.insert("orders".to_string(), 7);
        m.link("ns", "l\"1", true, &lags);
        let text = m.render();
        assert!(text.contains(r#"clusterlink_operator_reconciliations_total{controller="clusterlink",result="ok"} 1"#), "{text}");
        assert!(text.contains(r#"clusterlink_operator_reconcile_errors_total{controller="clusterlink",category="rest-unreachable"} 1"#));
        assert!(
            text.contains(r#"clusterlink_operator_rest_writes_total{controller="clusterlink"} 2"#)
        );
        assert!(text
            .contains(r#"clusterlink_operator_cluster_link_ready{namespace="ns",link="l\"1"} 1"#));
        assert!(text.contains(r#"clusterlink_operator_mirror_topic_lag_records{namespace="ns",link="l\"1",topic="orders"} 7"#));
        assert!(text.contains(
            r#"clusterlink_operator_reconcile_duration_seconds_bucket{controller="clusterlink",le="0.64"} 1"#
        ));
        assert!(text.contains(
            r#"clusterlink_operator_reconcile_duration_seconds_count{controller="clusterlink"} 1"#
        ));
        assert!(text.contains("clusterlink_build_info{version="), "{text}");
        // A topic no longer reported is forgotten, and so is a deleted link.
        m.link("ns", "l\"1", false, &BTreeMap::new());
        assert!(!m.render().contains("orders"));
        m.forget_link("ns", "l\"1");
        assert!(!m.render().contains(r#"link="l\"1""#));
    }

    #[test]
    fn the_scrape_declares_exactly_the_metric_table() {
        // A family is declared once it has a sample.
        let m = Metrics::default();
        m.reconciled("clusterlink", false, Duration::from_millis(5), 1);
        m.error("clusterlink", "rest-unreachable");
        m.link(
            "ns",
            "east",
            false,
            &BTreeMap::from([("orders".to_string(), 3)]),
        );
        let declared = clusterlink_metrics::declared_families(&m.render());
        let table: Vec<(String, String)> = metric_defs()
            .iter()
            .map(|d| (d.name.to_string(), d.kind.as_str().to_string()))
            .collect();
        let mut sorted_declared = declared.clone();
        sorted_declared.sort();
        let mut sorted_table = table.clone();
        sorted_table.sort();
        assert_eq!(sorted_declared, sorted_table);
    }
}
