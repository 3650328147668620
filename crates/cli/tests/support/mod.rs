//! Shared by the CLI tests: running the `clusterlink` binary.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Runs `clusterlink` with `args` and waits for it.
pub fn clusterlink(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args(args)
        .output()
        .expect("run clusterlink")
}

/// Its standard output then standard error, as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The line of `text` that has every one of `words`, as whitespace-separated cells.
pub fn line_with<'a>(text: &'a str, words: &[&str]) -> Option<&'a str> {
    text.lines().find(|l| {
        let cells: Vec<&str> = l.split_whitespace().collect();
        words.iter().all(|w| cells.contains(w))
    })
}
