//! What the link server's and the operator's Prometheus metrics share, so that the two processes
//! expose the same way and dashboards can join them:
//!
//! - [`MetricDef`]: a metric's name, type, labels and meaning, written once in each process's
//!   table and used both to register or encode the metric and to write `docs/metrics.md`
//!   ([`markdown`]), so the reference cannot drift from what is served;
//! - [`registry`]: a registry that already holds `clusterlink_build_info` and the process metrics
//!   ([`process`]), which both processes expose;
//! - [`encode`]: the Prometheus text format (0.0.4) that scrapers and the existing queries read,
//!   through `prometheus-client` rather than a hand-written exposition.
//!
//! Label names are shared too: the link is `link`, a mirror topic `topic`, a partition
//! `partition`, wherever they apply.

pub mod process;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::TypedMetric;
use prometheus_client::registry::{Metric, Registry};

pub use prometheus_client;

/// The `Content-Type` of what [`encode`] writes.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The version `clusterlink_build_info` reports: the workspace's.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A metric's Prometheus type, as `# TYPE` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

impl MetricKind {
    /// The word `# TYPE` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// One metric as scrapers see it: the exposed name (counters end in `_total`), its type, its
/// labels in order, and what it means (without a final period: one is added when encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDef {
    pub name: &'static str,
    pub kind: MetricKind,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

impl MetricDef {
    /// The name `prometheus-client` wants: it adds `_total` to counters (and `_info` to infos).
    pub fn registered_name(&self) -> &'static str {
        match self.kind {
            MetricKind::Counter => self.name.strip_suffix("_total").unwrap_or(self.name),
            _ => self.name,
        }
    }

    /// Registers `metric` under this definition.
    pub fn register(&self, registry: &mut Registry, metric: impl Metric) {
        registry.register(self.registered_name(), self.help, metric);
    }

    /// Encodes `metric` under this definition, from a collector (values read at scrape time).
    pub fn encode<M: EncodeMetric + TypedMetric>(
        &self,
        encoder: &mut DescriptorEncoder,
        metric: &M,
    ) -> Result<(), std::fmt::Error> {
        let help = format!("{}.", self.help);
        let metric_encoder =
            encoder.encode_descriptor(self.registered_name(), &help, None, M::TYPE)?;
        metric.encode(metric_encoder)
    }
}

/// `clusterlink_build_info`: 1, labelled with the version that runs.
pub const BUILD_INFO: MetricDef = MetricDef {
    name: "clusterlink_build_info",
    kind: MetricKind::Gauge,
    labels: &["version"],
    help: "Always 1, labelled with the clusterlink version that runs",
};

/// The metrics every clusterlink process exposes.
pub fn common_metrics() -> Vec<MetricDef> {
    let mut all = vec![BUILD_INFO];
    all.extend_from_slice(process::METRICS);
    all
}

/// A registry holding `clusterlink_build_info` and the process metrics.
pub fn registry() -> Registry {
    let mut registry = Registry::default();
    // `Info` adds `_info` to the name it is given.
    let build = Info::new(vec![("version".to_string(), VERSION.to_string())]);
    let name = BUILD_INFO
        .name
        .strip_suffix("_info")
        .unwrap_or(BUILD_INFO.name);
    registry.register(name, BUILD_INFO.help, build);
    registry.register_collector(Box::new(process::ProcessCollector));
    registry
}

/// The registry's metrics in the Prometheus text format (0.0.4).
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing to a String does not fail; a collector that fails leaves what it wrote.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, registry);
    out
}

/// Histogram buckets for durations: 5 ms to about 41 s, doubling.
pub fn duration_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.005, 2.0, 14)
}

/// One process's section of `docs/metrics.md`.
#[derive(Debug, Clone)]
pub struct DocSection {
    pub title: &'static str,
    pub intro: &'static str,
    pub metrics: Vec<MetricDef>,
}

/// `docs/metrics.md`: a table per process.
pub fn markdown(sections: &[DocSection]) -> String {
    let mut out = String::from(
        "# Metrics\n\n\
         Generated by `clusterlink metrics-doc` from the metric tables in the code; a test fails \
         when this file differs from it.\n\n\
         Both processes serve the Prometheus text format at `/metrics` and share label names: \
         the link is `link`, a mirror topic `topic`, a partition `partition`. Counters end in \
         `_total`; a histogram `x` is scraped as `x_bucket{le}`, `x_sum` and `x_count`.\n",
    );
    for section in sections {
        out.push_str(&format!(
            "\n## {}\n\n{}\n\n| name | type | labels | meaning |\n|---|---|---|---|\n",
            section.title, section.intro
        ));
        for m in &section.metrics {
            let labels = m
                .labels
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push_str(&format!(
                "| `{}` | {} | {} | {}. |\n",
                m.name,
                m.kind.as_str(),
                labels,
                m.help.replace('|', "\\|")
            ));
        }
    }
    out
}

/// The metric families an exposition declares (`# TYPE` lines): name and type.
pub fn declared_families(exposition: &str) -> Vec<(String, String)> {
    exposition
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_exposes_build_info_and_process_metrics() {
        let text = encode(&registry());
        assert!(
            text.contains(&format!(
                "clusterlink_build_info{{version=\"{VERSION}\"}} 1"
            )),
            "{text}"
        );
        let declared = declared_families(&text);
        for m in common_metrics() {
            assert!(
                declared.contains(&(m.name.to_string(), m.kind.as_str().to_string())),
                "{} ({}) not declared in:\n{text}",
                m.name,
                m.kind.as_str()
            );
        }
    }

    #[test]
    fn counters_register_without_their_total_suffix() {
        let def = MetricDef {
            name: "x_requests_total",
            kind: MetricKind::Counter,
            labels: &[],
            help: "Requests",
        };
        let mut registry = Registry::default();
        let counter = prometheus_client::metrics::counter::Counter::<u64>::default();
        counter.inc();
        def.register(&mut registry, counter);
        let text = encode(&registry);
        assert_eq!(
            text,
            "# HELP x_requests_total Requests.\n# TYPE x_requests_total counter\nx_requests_total 1\n"
        );
    }

    #[test]
    fn markdown_lists_each_metric_with_its_labels() {
        let doc = markdown(&[DocSection {
            title: "Both",
            intro: "Shared.",
            metrics: common_metrics(),
        }]);
        assert!(
            doc.contains("| `clusterlink_build_info` | gauge | `version` |"),
            "{doc}"
        );
        assert!(
            doc.contains("| `process_resident_memory_bytes` | gauge |  |"),
            "{doc}"
        );
    }
}
