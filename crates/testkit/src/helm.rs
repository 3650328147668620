//! The `helm` binary the chart's tests render, lint and validate the chart with:
//! `CLUSTERLINK_HELM`, or what `scripts/helm/install.sh` installs (built from the Go module proxy
//! into a cache outside the clone; `scripts/install-test-deps.sh` runs it and prints the variable).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The environment variable naming the `helm` binary.
pub const HELM_ENV: &str = "CLUSTERLINK_HELM";

/// The `helm` binary, installed on first use when `CLUSTERLINK_HELM` is unset.
pub fn binary() -> &'static Path {
    static HELM: OnceLock<PathBuf> = OnceLock::new();
    HELM.get_or_init(|| {
        if let Some(path) = std::env::var_os(HELM_ENV).filter(|p| !p.is_empty()) {
            return path.into();
        }
        let script = crate::repo_root().join("scripts/helm/install.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(out.status.success(), "{} failed", script.display());
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{HELM_ENV}=")))
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("{} printed {text:?}: no {HELM_ENV}", script.display()))
    })
}
