//! The link server's Prometheus metrics (`/metrics`), encoded by `prometheus-client`.
//!
//! Every metric the server exposes is named here, in [`METRICS`] (with the ones every clusterlink
//! process shares, [`clusterlink_metrics::common_metrics`]), which also writes
//! `docs/metrics.md`. The link and mirror metrics are read from the [`LinkManager`] at each scrape
//! (a collector: the engines keep the numbers, nothing is copied between scrapes); the REST
//! request durations are a histogram the HTTP layer feeds. Labels: `link`, `topic` (the mirror
//! topic), `partition`, as the operator's metrics name them.

use std::sync::Arc;
use std::time::Duration;

use clusterlink_metrics::{MetricDef, MetricKind};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use crate::links::LinkManager;

pub const LINK_STATE: MetricDef = MetricDef {
    name: "clusterlink_link_state",
    kind: MetricKind::Gauge,
    labels: &["link", "state"],
    help: "1 for the link's current state (ACTIVE, UNAVAILABLE)",
};
pub const MIRROR_STATE: MetricDef = MetricDef {
    name: "clusterlink_mirror_state",
    kind: MetricKind::Gauge,
    labels: &["link", "topic", "state"],
    help: "1 for the mirror topic's current state",
};
pub const MIRROR_LAG_RECORDS: MetricDef = MetricDef {
    name: "clusterlink_mirror_lag_records",
    kind: MetricKind::Gauge,
    labels: &["link", "topic", "partition"],
    help: "Records the mirror partition is behind the source's high watermark",
};
pub const MIRROR_LAG_SECONDS: MetricDef = MetricDef {
    name: "clusterlink_mirror_lag_seconds",
    kind: MetricKind::Gauge,
    labels: &["link", "topic", "partition"],
    help: "Age of the oldest source record not yet mirrored (0 when caught up)",
};
pub const MIRROR_RECORDS: MetricDef = MetricDef {
    name: "clusterlink_mirror_records_total",
    kind: MetricKind::Counter,
    labels: &["link", "topic", "partition"],
    help: "Records written to the mirror partition by this server process",
};
pub const MIRROR_BYTES: MetricDef = MetricDef {
    name: "clusterlink_mirror_bytes_total",
    kind: MetricKind::Counter,
    labels: &["link", "topic", "partition"],
    help: "Record batch bytes written to the mirror partition by this server process",
};
pub const MIRROR_RECORDS_LOST: MetricDef = MetricDef {
    name: "clusterlink_mirror_records_lost_total",
    kind: MetricKind::Counter,
    labels: &["link", "topic", "partition"],
    help: "Source records never mirrored because the source's log start moved past them (mirror.log.start.policy=resume), by this server process",
};
pub const MIRROR_PARTITION_ERROR: MetricDef = MetricDef {
    name: "clusterlink_mirror_partition_error",
    kind: MetricKind::Gauge,
    labels: &["link", "topic", "partition"],
    help: "1 while the mirror partition's last fetch or write failed",
};
pub const MIRROR_BUFFERED_BYTES: MetricDef = MetricDef {
    name: "clusterlink_mirror_buffered_bytes",
    kind: MetricKind::Gauge,
    labels: &["link", "topic", "partition"],
    help: "Bytes of fetched batches held for the mirror partition, queued or being written (a link holds at most --buffer-max-bytes for its mirrors that move data, plus one fetch)",
};
pub const ACL_SYNC_ACLS: MetricDef = MetricDef {
    name: "clusterlink_acl_sync_acls_total",
    kind: MetricKind::Counter,
    labels: &["link", "result"],
    help: "ACLs the link's ACL sync created or deleted on the destination, or failed to (result: created, deleted, failed), by this server process",
};
pub const ACL_SYNC_FAILED_ROUNDS: MetricDef = MetricDef {
    name: "clusterlink_acl_sync_failed_rounds_total",
    kind: MetricKind::Counter,
    labels: &["link"],
    help: "Rounds of the link's ACL sync that failed (its AclSync task is IN_ERROR meanwhile), by this server process",
};
pub const ACL_SYNC_OWNED: MetricDef = MetricDef {
    name: "clusterlink_acl_sync_owned_acls",
    kind: MetricKind::Gauge,
    labels: &["link"],
    help: "ACLs on the destination that the link's ACL sync created and will delete when the source removes them",
};
pub const ERRORS: MetricDef = MetricDef {
    name: "clusterlink_errors_total",
    kind: MetricKind::Counter,
    labels: &["category"],
    help: "API and housekeeping errors by category",
};
pub const HTTP_REQUEST_DURATION: MetricDef = MetricDef {
    name: "clusterlink_http_request_duration_seconds",
    kind: MetricKind::Histogram,
    labels: &["method", "route"],
    help: "Time to answer a REST request, by method and route template (`unmatched` for paths no route serves)",
};

/// The link server's own metrics (beside the ones every clusterlink process exposes).
pub const METRICS: &[MetricDef] = &[
    LINK_STATE,
    MIRROR_STATE,
    MIRROR_LAG_RECORDS,
    MIRROR_LAG_SECONDS,
    MIRROR_RECORDS,
    MIRROR_BYTES,
    MIRROR_RECORDS_LOST,
    MIRROR_PARTITION_ERROR,
    MIRROR_BUFFERED_BYTES,
    ACL_SYNC_ACLS,
    ACL_SYNC_FAILED_ROUNDS,
    ACL_SYNC_OWNED,
    ERRORS,
    HTTP_REQUEST_DURATION,
];

/// Every metric the link server exposes.
pub fn metric_defs() -> Vec<MetricDef> {
    let mut all = METRICS.to_vec();
    all.extend(clusterlink_metrics::common_metrics());
    all
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LinkStateLabels {
    link: String,
    state: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MirrorStateLabels {
    link: String,
    topic: String,
    state: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PartitionLabels {
    link: String,
    topic: String,
    partition: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LinkLabels {
    link: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AclResultLabels {
    link: String,
    result: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CategoryLabels {
    category: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// Reads the links, mirrors and error counts from the manager at each scrape.
#[derive(Debug)]
struct LinkCollector {
    manager: LinkManager,
}

impl Collector for LinkCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let links = Family::<LinkStateLabels, Gauge>::default();
        for l in self.manager.links() {
            links
                .get_or_create(&LinkStateLabels {
                    link: l.name.clone(),
                    state: l.state.to_string(),
                })
                .set(1);
        }
        let states = Family::<MirrorStateLabels, Gauge>::default();
        let lag_records = Family::<PartitionLabels, Gauge>::default();
        let lag_seconds = Family::<PartitionLabels, FloatGauge>::default();
        let records = Family::<PartitionLabels, Counter>::default();
        let bytes = Family::<PartitionLabels, Counter>::default();
        let lost = Family::<PartitionLabels, Counter>::default();
        let errors = Family::<PartitionLabels, Gauge>::default();
        let buffered = Family::<PartitionLabels, Gauge>::default();
        for (link, m) in &self.manager.mirrors(None).unwrap_or_default() {
            states
                .get_or_create(&MirrorStateLabels {
                    link: link.clone(),
                    topic: m.name.clone(),
                    state: m.state.as_str().to_string(),
                })
                .set(1);
            for part in &m.partitions {
                let labels = PartitionLabels {
                    link: link.clone(),
                    topic: m.name.clone(),
                    partition: part.partition,
                };
                lag_records.get_or_create(&labels).set(part.lag_records);
                lag_seconds.get_or_create(&labels).set(part.lag_seconds);
                records.get_or_create(&labels).inc_by(part.records_mirrored);
                bytes.get_or_create(&labels).inc_by(part.bytes_mirrored);
                lost.get_or_create(&labels).inc_by(part.records_lost);
                errors
                    .get_or_create(&labels)
                    .set(i64::from(part.last_error.is_some()));
                buffered
                    .get_or_create(&labels)
                    .set(i64::try_from(part.buffered_bytes).unwrap_or(i64::MAX));
            }
        }
        let acls = Family::<AclResultLabels, Counter>::default();
        let acl_failed_rounds = Family::<LinkLabels, Counter>::default();
        let acl_owned = Family::<LinkLabels, Gauge>::default();
        for (link, r) in self.manager.acl_sync_reports() {
            for (result, n) in [
                ("created", r.created),
                ("deleted", r.deleted),
                ("failed", r.failed),
            ] {
                acls.get_or_create(&AclResultLabels {
                    link: link.clone(),
                    result: result.into(),
                })
                .inc_by(n);
            }
            let labels = LinkLabels { link };
            acl_failed_rounds
                .get_or_create(&labels)
                .inc_by(r.failed_rounds);
            acl_owned
                .get_or_create(&labels)
                .set(i64::try_from(r.owned).unwrap_or(i64::MAX));
        }
        let categories = Family::<CategoryLabels, Counter>::default();
        for (category, n) in self.manager.error_counts() {
            categories
                .get_or_create(&CategoryLabels {
                    category: category.to_string(),
                })
                .inc_by(n);
        }
        LINK_STATE.encode(&mut encoder, &links)?;
        MIRROR_STATE.encode(&mut encoder, &states)?;
        MIRROR_LAG_RECORDS.encode(&mut encoder, &lag_records)?;
        MIRROR_LAG_SECONDS.encode(&mut encoder, &lag_seconds)?;
        MIRROR_RECORDS.encode(&mut encoder, &records)?;
        MIRROR_BYTES.encode(&mut encoder, &bytes)?;
        MIRROR_RECORDS_LOST.encode(&mut encoder, &lost)?;
        MIRROR_PARTITION_ERROR.encode(&mut encoder, &errors)?;
        MIRROR_BUFFERED_BYTES.encode(&mut encoder, &buffered)?;
        ACL_SYNC_ACLS.encode(&mut encoder, &acls)?;
        ACL_SYNC_FAILED_ROUNDS.encode(&mut encoder, &acl_failed_rounds)?;
        ACL_SYNC_OWNED.encode(&mut encoder, &acl_owned)?;
        ERRORS.encode(&mut encoder, &categories)
    }
}

type RequestDurations = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// The link server's registry (cheap to clone): what the manager knows, read at each scrape, and
/// the REST request durations.
#[derive(Debug, Clone)]
pub struct ServerMetrics {
    registry: Arc<Registry>,
    requests: RequestDurations,
}

impl ServerMetrics {
    /// The metrics of `manager`'s links, with build info and process metrics.
    pub fn new(manager: LinkManager) -> ServerMetrics {
        let mut registry = clusterlink_metrics::registry();
        registry.register_collector(Box::new(LinkCollector { manager }));
        let requests: RequestDurations =
            Family::new_with_constructor(
                || Histogram::new(clusterlink_metrics::duration_buckets()),
            );
        HTTP_REQUEST_DURATION.register(&mut registry, requests.clone());
        ServerMetrics {
            registry: Arc::new(registry),
            requests,
        }
    }

    /// Records a REST request's time to answer.
    pub fn observe_request(&self, method: &str, route: &str, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// The exposition, in the Prometheus text format.
    pub fn render(&self) -> String {
        clusterlink_metrics::encode(&self.registry)
    }
}
