//! The Prometheus text exposition of the links, mirrors and API errors (`/metrics`), written by
//! hand: a handful of gauge and counter families, labelled by link, mirror and partition.

use std::fmt::Write as _;

use crate::links::LinkManager;

/// A label value, escaped as the exposition format wants.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exposition being written: one family after another.
#[derive(Default)]
struct Exposition {
    out: String,
}

impl Exposition {
    /// A metric family: its help, its type and its samples (labels, value).
    fn family(&mut self, name: &str, kind: &str, help: &str, samples: Vec<(String, String)>) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(self.out, "{name}{{{labels}}} {v}");
        }
    }
}

/// The samples of the per-partition families.
#[derive(Default)]
struct PartitionSamples {
    lag_records: Vec<(String, String)>,
    lag_seconds: Vec<(String, String)>,
    records: Vec<(String, String)>,
    bytes: Vec<(String, String)>,
    errors: Vec<(String, String)>,
    buffered: Vec<(String, String)>,
}

/// The Prometheus text exposition of the links, mirrors and errors.
pub fn metrics_text(manager: &LinkManager) -> String {
    let mut x = Exposition::default();
    x.family(
        "clusterlink_link_state",
        "gauge",
        "1 for the link's current state (ACTIVE, UNAVAILABLE).",
        manager
            .links()
            .iter()
            .map(|l| {
                (
                    format!("link=\"{}\",state=\"{}\"", esc(&l.name), l.state),
                    "1".into(),
                )
            })
            .collect(),
    );
    let mut states = Vec::new();
    let mut p = PartitionSamples::default();
    for (link, m) in &manager.mirrors(None).unwrap_or_default() {
        let ml = format!("link=\"{}\",mirror=\"{}\"", esc(link), esc(&m.name));
        states.push((format!("{ml},state=\"{}\"", m.state.as_str()), "1".into()));
        for part in &m.partitions {
            let pl = format!("{ml},partition=\"{}\"", part.partition);
            p.lag_records
                .push((pl.clone(), part.lag_records.to_string()));
            p.lag_seconds
                .push((pl.clone(), format!("{}", part.lag_seconds)));
            p.records
                .push((pl.clone(), part.records_mirrored.to_string()));
            p.bytes.push((pl.clone(), part.bytes_mirrored.to_string()));
            p.errors
                .push((pl.clone(), u8::from(part.last_error.is_some()).to_string()));
            p.buffered.push((pl, part.buffered_bytes.to_string()));
        }
    }
    x.family(
        "clusterlink_mirror_state",
        "gauge",
        "1 for the mirror topic's current state.",
        states,
    );
    x.family(
        "clusterlink_mirror_lag_records",
        "gauge",
        "Records the mirror partition is behind the source's high watermark.",
        p.lag_records,
    );
    x.family(
        "clusterlink_mirror_lag_seconds",
        "gauge",
        "Age of the oldest source record not yet mirrored (0 when caught up).",
        p.lag_seconds,
    );
    x.family(
        "clusterlink_mirror_records_total",
        "counter",
        "Records written to the mirror partition by this server process.",
        p.records,
    );
    x.family(
        "clusterlink_mirror_bytes_total",
        "counter",
        "Record batch bytes written to the mirror partition by this server process.",
        p.bytes,
    );
    x.family(
        "clusterlink_mirror_partition_error",
        "gauge",
        "1 while the mirror partition's last fetch or write failed.",
        p.errors,
    );
    x.family(
        "clusterlink_mirror_buffered_bytes",
        "gauge",
        "Bytes of fetched batches held for the mirror partition, queued or being written (a link holds at most --buffer-max-bytes for its mirrors that move data, plus one fetch).",
        p.buffered,
    );
    x.family(
        "clusterlink_errors_total",
        "counter",
        "API errors by category.",
        manager
            .error_counts()
            .into_iter()
            .map(|(c, n)| (format!("category=\"{}\"", esc(c)), n.to_string()))
            .collect(),
    );
    x.out
}
