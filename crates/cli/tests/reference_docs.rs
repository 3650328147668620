//! The reference documents generated from the code are the committed ones, as the CRDs are.

use std::process::Command;

fn printed(subcommand: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .arg(subcommand)
        .output()
        .expect("run clusterlink");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn committed(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `clusterlink metrics-doc` prints exactly the committed `docs/metrics.md`, which lists the
/// metrics dashboards query (both processes' and the shared ones).
#[test]
fn metrics_doc_is_the_committed_one() {
    let doc = printed("metrics-doc");
    assert_eq!(
        doc,
        committed("docs/metrics.md"),
        "docs/metrics.md is stale: regenerate with `cargo run -p clusterlink -- metrics-doc > docs/metrics.md`"
    );
    for name in [
        "clusterlink_mirror_lag_seconds",
        "clusterlink_operator_cluster_link_ready",
        "clusterlink_build_info",
        "process_resident_memory_bytes",
    ] {
        assert!(doc.contains(&format!("| `{name}` |")), "{name} missing");
    }
}

/// `clusterlink link-configs-doc` prints exactly the committed `docs/link-configs.md`.
#[test]
fn link_configs_doc_is_the_committed_one() {
    let doc = printed("link-configs-doc");
    assert_eq!(
        doc,
        committed("docs/link-configs.md"),
        "docs/link-configs.md is stale: regenerate with `cargo run -p clusterlink -- link-configs-doc > docs/link-configs.md`"
    );
    assert!(doc.contains("| `bootstrap.servers` |"));
}
