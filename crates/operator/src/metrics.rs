//! Prometheus metrics of the operator, in the text exposition format, and the HTTP endpoint
//! that serves them with `/healthz` and `/readyz`.
//!
//! Hand-written rather than from a metrics crate: a handful of counters and gauges keyed by
//! labels, rendered on scrape, is all the operator needs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Default)]
struct Inner {
    reconciles: BTreeMap<(&'static str, &'static str), u64>,
    errors: BTreeMap<(&'static str, &'static str), u64>,
    duration: BTreeMap<&'static str, (f64, u64)>,
    rest_writes: BTreeMap<&'static str, u64>,
    ready: BTreeMap<(String, String), bool>,
    lag: BTreeMap<(String, String, String), i64>,
}

/// The operator's metrics (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    inner: Arc<Mutex<Inner>>,
    leader: Arc<AtomicBool>,
    ready: Arc<AtomicBool>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(l: &Labels) -> String {
    let inner: Vec<String> = l
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a finished reconcile of `controller` (`ok` or `error`) and its duration.
    pub fn reconciled(&self, controller: &'static str, ok: bool, took: Duration, writes: usize) {
        let mut m = self.lock();
        *m.reconciles
            .entry((controller, if ok { "ok" } else { "error" }))
            .or_default() += 1;
        let d = m.duration.entry(controller).or_default();
        d.0 += took.as_secs_f64();
        d.1 += 1;
        *m.rest_writes.entry(controller).or_default() += writes as u64;
    }

    /// Counts an error of `controller` by category.
    pub fn error(&self, controller: &'static str, category: &'static str) {
        *self
            .lock()
            .errors
            .entry((controller, category))
            .or_default() += 1;
    }

    /// Records a ClusterLink's Ready verdict and its mirror topics' lags.
    pub fn link(&self, namespace: &str, name: &str, ready: bool, lags: &BTreeMap<String, i64>) {
        let mut m = self.lock();
        m.ready
            .insert((namespace.to_string(), name.to_string()), ready);
        m.lag
            .retain(|(ns, l, _), _| !(ns == namespace && l == name));
        for (topic, lag) in lags {
            m.lag.insert(
                (namespace.to_string(), name.to_string(), topic.clone()),
                *lag,
            );
        }
    }

    /// Forgets a deleted ClusterLink.
    pub fn forget_link(&self, namespace: &str, name: &str) {
        let mut m = self.lock();
        m.ready.remove(&(namespace.to_string(), name.to_string()));
        m.lag
            .retain(|(ns, l, _), _| !(ns == namespace && l == name));
    }

    /// Whether this replica leads.
    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::SeqCst);
    }

    /// Whether the operator is ready (caches synced, controllers running).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let m = self.lock();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP clusterlink_operator_reconciliations_total Reconcile passes, by controller and result.\n# TYPE clusterlink_operator_reconciliations_total counter"
        );
        for ((c, r), n) in &m.reconciles {
            let l = vec![("controller", c.to_string()), ("result", r.to_string())];
            let _ = writeln!(
                out,
                "clusterlink_operator_reconciliations_total{} {n}",
                labels(&l)
            );
        }
        let _ = writeln!(
            out,
            "# HELP clusterlink_operator_reconcile_errors_total Reconcile errors, by controller and category.\n# TYPE clusterlink_operator_reconcile_errors_total counter"
        );
        for ((c, cat), n) in &m.errors {
            let l = vec![("controller", c.to_string()), ("category", cat.to_string())];
            let _ = writeln!(
                out,
                "clusterlink_operator_reconcile_errors_total{} {n}",
                labels(&l)
            );
        }
        let _ = writeln!(
            out,
            "# HELP clusterlink_operator_reconcile_duration_seconds Time spent reconciling.\n# TYPE clusterlink_operator_reconcile_duration_seconds summary"
        );
        for (c, (sum, count)) in &m.duration {
            let l = vec![("controller", c.to_string())];
            let _ = writeln!(
                out,
                "clusterlink_operator_reconcile_duration_seconds_sum{} {sum}",
                labels(&l)
            );
            let _ = writeln!(
                out,
                "clusterlink_operator_reconcile_duration_seconds_count{} {count}",
                labels(&l)
            );
        }
        let _ = writeln!(
            out,
            "# HELP clusterlink_operator_rest_writes_total REST calls that changed a link server, by controller.\n# TYPE clusterlink_operator_rest_writes_total counter"
        );
        for (c, n) in &m.rest_writes {
            let l = vec![("controller", c.to_string())];
            let _ = writeln!(
                out,
                "clusterlink_operator_rest_writes_total{} {n}",
                labels(&l)
            );
        }
        let _ = writeln!(
            out,
            "# HELP clusterlink_operator_cluster_link_ready Whether a ClusterLink is Ready (1) or not (0).\n# TYPE clusterlink_operator_cluster_link_ready gauge"
        );
        for ((ns, name), r) in &m.ready {
            let l = vec![("namespace", ns.clone()), ("name", name.clone())];
            let _ = writeln!(
                out,
                "clusterlink_operator_cluster_link_ready{} {}",
                labels(&l),
                u8::from(*r)
            );
        }
        let _ = writeln!(
            out,
            "# HELP clusterlink_operator_mirror_topic_lag_records Largest partition lag of a mirror topic, in records, as its link server reports it.\n# TYPE clusterlink_operator_mirror_topic_lag_records gauge"
        );
        for ((ns, name, topic), lag) in &m.lag {
            let l = vec![
                ("namespace", ns.clone()),
                ("name", name.clone()),
                ("topic", topic.clone()),
            ];
            let _ = writeln!(
                out,
                "clusterlink_operator_mirror_topic_lag_records{} {lag}",
                labels(&l)
            );
        }
        let _ = writeln!(
            out,
            "# HELP clusterlink_operator_leader Whether this replica holds the leader lease.\n# TYPE clusterlink_operator_leader gauge\nclusterlink_operator_leader {}",
            u8::from(self.leader.load(Ordering::SeqCst))
        );
        out
    }

    /// `/metrics`, `/healthz` and `/readyz`.
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/metrics",
                get(|State(m): State<Metrics>| async move { m.render() }),
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
            .contains(r#"clusterlink_operator_cluster_link_ready{namespace="ns",name="l\"1"} 1"#));
        assert!(text.contains(r#"clusterlink_operator_mirror_topic_lag_records{namespace="ns",name="l\"1",topic="orders"} 7"#));
        m.forget_link("ns", "l\"1");
        assert!(!m.render().contains("orders"));
    }
}
