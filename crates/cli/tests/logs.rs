//! The binary's log formats, as a log pipeline reads them.

use std::process::Command;

use serde_json::Value;

/// A cluster that does not answer: `describe` retries it and logs each retry at debug level.
fn describe_unreachable(extra_args: &[&str], env: &[(&str, &str)]) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clusterlink"));
    cmd.args(extra_args)
        .args([
            "describe",
            "--bootstrap-server",
            &format!("127.0.0.1:{port}"),
        ])
        .env("CLUSTERLINK_RETRY_TIMEOUT_MS", "500")
        .env("RUST_LOG", "debug")
        .env_remove("CLUSTERLINK_LOG_FORMAT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run clusterlink");
    assert!(!out.status.success());
    String::from_utf8(out.stderr).unwrap()
}

/// The log lines of an output (the final error report is not one).
fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `--log-format json`: one JSON object a line with the time, level, target, message and the
/// event's fields at the top level.
#[test]
fn json_format_writes_one_object_a_line_with_level_target_and_fields() {
    let stderr = describe_unreachable(&["--log-format", "json"], &[]);
    let lines = json_lines(&stderr);
    let retry = lines
        .iter()
        .find(|l| l["message"] == "retrying")
        .unwrap_or_else(|| panic!("no retry logged in:\n{stderr}"));
    assert_eq!(retry["level"], "DEBUG", "{retry}");
    assert_eq!(
        retry["target"], "clusterlink_kafka::client::retry",
        "{retry}"
    );
    assert!(retry["timestamp"].as_str().is_some(), "{retry}");
    assert!(retry["attempts"].as_u64().is_some(), "{retry}");
    assert!(retry["error"].as_str().is_some(), "{retry}");
    assert!(!stderr.contains('\u{1b}'), "no colour in JSON:\n{stderr}");
}

/// `CLUSTERLINK_LOG_FORMAT=json` does the same without the flag.
#[test]
fn json_format_is_chosen_by_the_environment_too() {
    let stderr = describe_unreachable(&[], &[("CLUSTERLINK_LOG_FORMAT", "json")]);
    assert!(
        json_lines(&stderr)
            .iter()
            .any(|l| l["message"] == "retrying"),
        "{stderr}"
    );
}

/// Text, the default, has no colour escapes when stderr is not a terminal (here: a pipe).
#[test]
fn text_format_has_no_colour_off_a_terminal() {
    let stderr = describe_unreachable(&[], &[]);
    assert!(
        stderr.contains("DEBUG") && stderr.contains("retrying"),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "colour escapes in:\n{stderr}");
    assert!(json_lines(&stderr).is_empty(), "{stderr}");
}
