//! What `clusterlink status` shows, and the table it prints: a pure function of the view, so
//! that the layout is tested without a link server.
//!
//! The layout is kubectl's: upper-case headers, columns aligned with spaces, `-` for what is not
//! known. One table of links, one of their mirror topics (the link named on each line, so that
//! lines can be grepped), and with `-o wide` one of their partitions.

use std::io::Write;

use clusterlink_model::cluster_link::MirrorDirection;
use serde::Serialize;

/// What `status` shows of one link.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkView {
    /// `namespace/name` of the ClusterLink (from files), or the link's name (from `--url`).
    pub name: String,
    /// The link's state: CFK's `status.state` (from files: `CREATED` when healthy), or the
    /// link server's `link_state` (from `--url`: `ACTIVE` when healthy).
    pub state: Option<String>,
    /// Whether the link is Ready; `None` when nobody could say.
    pub ready: Option<bool>,
    /// Why it is not Ready.
    pub reason: Option<String>,
    /// Its mirror topics.
    pub mirrors: Vec<MirrorView>,
}

/// What `status` shows of one mirror topic.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MirrorView {
    /// The mirror topic.
    pub name: String,
    /// Which way it mirrors, on a bidirectional link (`toSource`: from the resource's
    /// destination to its source, on the remote link server); `None` on other links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<MirrorDirection>,
    /// `ACTIVE`, `PAUSED`, `FAILED`, ...; `None` when it could not be created.
    pub status: Option<String>,
    /// Its partitions.
    pub partitions: Option<i64>,
    /// The largest lag of its partitions, in records.
    pub max_lag: Option<i64>,
    /// The largest lag of its partitions, in seconds.
    pub max_lag_seconds: Option<f64>,
    /// Why it is in its status (why it FAILED, why it could not be created).
    pub reason: Option<String>,
    /// Per partition, how far behind its source it is.
    pub partition_lags: Vec<PartitionView>,
}

/// How far one partition of a mirror topic is behind its source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionView {
    /// The partition.
    pub partition: i32,
    /// Records behind.
    pub lag: i64,
    /// Seconds behind, if the link server says.
    pub lag_seconds: Option<f64>,
    /// The next source offset to copy.
    pub last_source_fetch_offset: i64,
}

impl LinkView {
    /// Whether the link is Ready (`None` counts as not).
    pub fn is_ready(&self) -> bool {
        self.ready == Some(true)
    }
}

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn seconds(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |s| format!("{s:.1}"))
}

/// CFK's word for a direction (`mirrorTopics[].direction`).
fn direction_text(d: MirrorDirection) -> &'static str {
    match d {
        MirrorDirection::ToSource => "toSource",
        _ => "toDestination",
    }
}

/// Table cells, tab-separated, aligned by `tabwriter`; trailing blanks trimmed.
fn aligned(rows: &[Vec<String>]) -> String {
    let mut w = tabwriter::TabWriter::new(Vec::new()).padding(2);
    for row in rows {
        // A tab in a cell would split it; a reason may hold one.
        let cells: Vec<String> = row.iter().map(|c| c.replace(['\t', '\n'], " ")).collect();
        // Writing to a Vec cannot fail.
        let _ = writeln!(w, "{}", cells.join("\t"));
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect()
}

/// The table `status` prints for `links`; `wide` adds a line per partition.
pub fn render(links: &[LinkView], wide: bool) -> String {
    let mut out = String::new();
    let mut rows = vec![vec!["LINK", "STATE", "READY", "REASON"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()];
    for l in links {
        let ready = match l.ready {
            Some(true) => "True",
            Some(false) => "False",
            None => "Unknown",
        };
        let reason = if l.is_ready() {
            String::new()
        } else {
            l.reason.clone().unwrap_or_default()
        };
        rows.push(vec![
            l.name.clone(),
            or_dash(l.state.as_deref()),
            ready.to_string(),
            reason,
        ]);
    }
    out.push_str(&aligned(&rows));
    if links.iter().all(|l| l.mirrors.is_empty()) {
        return out;
    }
    // A DIRECTION column only when a bidirectional link is shown: elsewhere every mirror goes
    // from the source to the destination.
    let directed = links
        .iter()
        .flat_map(|l| &l.mirrors)
        .any(|m| m.direction.is_some());
    // The first cells of a mirror's lines: the link, the topic and (when shown) its direction.
    let key = |l: &LinkView, m: &MirrorView| {
        let mut cells = vec![l.name.clone(), m.name.clone()];
        if directed {
            cells.push(or_dash(m.direction.map(direction_text)));
        }
        cells
    };
    let key_header = || {
        let mut cells = vec!["LINK".to_string(), "MIRROR TOPIC".to_string()];
        if directed {
            cells.push("DIRECTION".to_string());
        }
        cells
    };
    let mut header = key_header();
    header.extend(
        [
            "STATUS",
            "PARTITIONS",
            "MAX LAG",
            "MAX LAG SECONDS",
            "REASON",
        ]
        .map(String::from),
    );
    let mut rows = vec![header];
    for l in links {
        for m in &l.mirrors {
            let reason = match m.status.as_deref() {
                Some("ACTIVE") => String::new(),
                _ => m.reason.clone().unwrap_or_default(),
            };
            let mut row = key(l, m);
            row.extend([
                or_dash(m.status.as_deref()),
                or_dash(m.partitions),
                or_dash(m.max_lag),
                seconds(m.max_lag_seconds),
                reason,
            ]);
            rows.push(row);
        }
    }
    out.push('\n');
    out.push_str(&aligned(&rows));
    if !wide {
        return out;
    }
    let mut header = key_header();
    header.extend(
        [
            "PARTITION",
            "LAG",
            "LAG SECONDS",
            "LAST SOURCE FETCH OFFSET",
        ]
        .map(String::from),
    );
    let mut rows = vec![header];
    for l in links {
        for m in &l.mirrors {
            for p in &m.partition_lags {
                let mut row = key(l, m);
                row.extend([
                    p.partition.to_string(),
                    p.lag.to_string(),
                    seconds(p.lag_seconds),
                    p.last_source_fetch_offset.to_string(),
                ]);
                rows.push(row);
            }
        }
    }
    out.push('\n');
    out.push_str(&aligned(&rows));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Vec<LinkView> {
        let partition = |partition, lag, secs| PartitionView {
            partition,
            lag,
            lag_seconds: Some(secs),
            last_source_fetch_offset: 100 + i64::from(partition),
        };
        vec![
            LinkView {
                name: "default/east".into(),
                state: Some("CREATED".into()),
                ready: Some(true),
                reason: Some("Mirroring: link active".into()),
                mirrors: vec![
                    MirrorView {
                        name: "orders".into(),
                        direction: None,
                        status: Some("ACTIVE".into()),
                        partitions: Some(2),
                        max_lag: Some(12),
                        max_lag_seconds: Some(3.27),
                        reason: None,
                        partition_lags: vec![partition(0, 12, 3.27), partition(1, 0, 0.0)],
                    },
                    MirrorView {
                        name: "payments".into(),
                        direction: None,
                        status: Some("FAILED".into()),
                        partitions: Some(1),
                        max_lag: Some(0),
                        max_lag_seconds: None,
                        reason: Some("source topic deleted".into()),
                        partition_lags: vec![],
                    },
                ],
            },
            LinkView {
                name: "default/west".into(),
                state: None,
                ready: Some(false),
                reason: Some("RestUnreachable: connection refused".into()),
                mirrors: vec![],
            },
        ]
    }

    #[test]
    fn the_table_shows_links_then_mirror_topics_with_their_largest_lags() {
        let text = render(&links(), false);
        assert_eq!(
            text,
            "\
LINK          STATE    READY  REASON
default/east  CREATED  True
default/west  -        False  RestUnreachable: connection refused

LINK          MIRROR TOPIC  STATUS  PARTITIONS  MAX LAG  MAX LAG SECONDS  REASON
default/east  orders        ACTIVE  2           12       3.3
default/east  payments      FAILED  1           0        -                source topic deleted
"
        );
    }

    #[test]
    fn wide_adds_a_line_per_partition() {
        let narrow = render(&links(), false);
        let wide = render(&links(), true);
        assert!(wide.starts_with(&narrow), "{wide}");
        assert_eq!(
            &wide[narrow.len()..],
            "\
\nLINK          MIRROR TOPIC  PARTITION  LAG  LAG SECONDS  LAST SOURCE FETCH OFFSET
default/east  orders        0          12   3.3          100
default/east  orders        1          0    0.0          101
"
        );
    }

    #[test]
    fn links_without_mirror_topics_print_no_mirror_table() {
        let mut l = links();
        l[0].mirrors.clear();
        let text = render(&l, true);
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(!text.contains("MIRROR TOPIC"));
    }

    #[test]
    fn a_bidirectional_link_shows_each_mirror_s_direction() {
        let mut l = links();
        l.truncate(1);
        l[0].mirrors[0].direction = Some(MirrorDirection::ToDestination);
        l[0].mirrors[1].direction = Some(MirrorDirection::ToSource);
        l[0].mirrors[1].partition_lags = vec![PartitionView {
            partition: 0,
            lag: 7,
            lag_seconds: None,
            last_source_fetch_offset: 40,
        }];
        let text = render(&l, true);
        assert_eq!(
            text,
            "\
LINK          STATE    READY  REASON
default/east  CREATED  True

LINK          MIRROR TOPIC  DIRECTION      STATUS  PARTITIONS  MAX LAG  MAX LAG SECONDS  REASON
default/east  orders        toDestination  ACTIVE  2           12       3.3
default/east  payments      toSource       FAILED  1           0        -                source topic deleted

LINK          MIRROR TOPIC  DIRECTION      PARTITION  LAG  LAG SECONDS  LAST SOURCE FETCH OFFSET
default/east  orders        toDestination  0          12   3.3          100
default/east  orders        toDestination  1          0    0.0          101
default/east  payments      toSource       0          7    -            40
"
        );
    }

    #[test]
    fn a_reason_with_tabs_or_newlines_stays_on_its_line() {
        let mut l = links();
        l[1].reason = Some("a\tb\nc".into());
        let text = render(&l, false);
        assert!(text.contains("False  a b c\n"), "{text}");
    }
}
