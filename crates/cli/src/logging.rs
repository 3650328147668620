//! The binary's logs, on stderr: human-readable text by default, or one JSON object a line
//! (`--log-format json`, `CLUSTERLINK_LOG_FORMAT=json`) for log pipelines, as the Kubernetes
//! manifests and the chart run it. Text is coloured only on a terminal: escape codes in a log
//! file or a pod's log are noise. `RUST_LOG` chooses what is logged, as before.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Text for people: time, level, spans, target, message and fields.
    #[default]
    Text,
    /// One JSON object a line: `timestamp`, `level`, `target`, `message` and the event's fields
    /// at the top level, the current span under `span` and all open spans under `spans` (where
    /// `link`, `topic`, `partition`, `namespace` are).
    Json,
}

/// Installs the global subscriber: `RUST_LOG` if set, else `default_filter`.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
