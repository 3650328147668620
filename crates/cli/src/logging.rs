//! The binary's logs, on stderr: human-readable text by default, or one JSON object a line
//! (`--log-format json`, `CLUSTERLINK_LOG_FORMAT=json`) for log pipelines, as the Kubernetes
//! manifests and the chart run it. Text is coloured only on a terminal: escape codes in a log
//! file or a pod's log are noise. `RUST_LOG` chooses what is logged, as before.

use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
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

/// Installs the global subscriber on stderr: `RUST_LOG` if set, else `default_filter`.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let ansi = std::io::stderr().is_terminal();
    // Only fails when a subscriber is already set, which `main` does not do.
    let _ =
        tracing::subscriber::set_global_default(subscriber(format, filter, std::io::stderr, ansi));
}

/// The subscriber writing `format` to `writer`, colours only with `ansi` (text only).
fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(builder.json().flatten_event(true).finish()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(format: LogFormat) -> String {
        let out = Captured::default();
        let writer = out.clone();
        let sub = subscriber(
            format,
            EnvFilter::new("info"),
            move || writer.clone(),
            false,
        );
        tracing::subscriber::with_default(sub, || {
            let link = tracing::info_span!("link", link = "east");
            let _in_link = link.enter();
            let partition = tracing::info_span!("partition", topic = "orders", partition = 3);
            let _in_partition = partition.enter();
            tracing::warn!(offset = 42, "fetch failed");
        });
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn json_lines_carry_level_target_message_fields_and_spans() {
        let text = logged(LogFormat::Json);
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["target"], module_path!());
        assert_eq!(line["message"], "fetch failed");
        assert_eq!(line["offset"], 42);
        assert_eq!(line["span"]["topic"], "orders");
        assert_eq!(line["span"]["partition"], 3);
        assert_eq!(line["spans"][0]["name"], "link");
        assert_eq!(line["spans"][0]["link"], "east");
    }

    #[test]
    fn text_lines_show_spans_without_colour() {
        let text = logged(LogFormat::Text);
        assert!(
            text.contains("link{link=\"east\"}:partition{topic=\"orders\" partition=3}"),
            "{text}"
        );
        assert!(text.contains("fetch failed offset=42"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
    }
}
