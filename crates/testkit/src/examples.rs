//! The two-cluster folders of `examples/` (the CFK page's examples adapted to two local
//! clusters) as tests apply them: with the test's endpoints and cluster ids in place of the
//! fixed local ones the files name, and their topic and link names made unique, since the
//! clusters may be the run's shared ones (see [`crate::peer`]).

use std::path::{Path, PathBuf};

/// What a test's two clusters and their link servers are.
#[derive(Debug, Clone, Copy)]
pub struct Local<'a> {
    /// The source cluster's bootstrap servers (the files say 127.0.0.1:19092).
    pub src_bootstrap: &'a str,
    /// The destination cluster's (127.0.0.1:29092).
    pub dst_bootstrap: &'a str,
    /// The source's link server, `http://host:port` (http://127.0.0.1:18091).
    pub src_rest: &'a str,
    /// The destination's link server (http://127.0.0.1:18090).
    pub dst_rest: &'a str,
    /// The source's cluster id (`clusterID: kafka-src`).
    pub src_id: &'a str,
    /// The destination's cluster id (`clusterID: kafka-dest`).
    pub dst_id: &'a str,
}

/// The topic and link names the examples use, which get a unique suffix.
const NAMES: [&str; 4] = [
    "forward-topic",
    "reverse-topic",
    "bidirectional-link",
    "hybrid-link",
];

/// One `examples/` folder, localized.
#[derive(Debug, Clone)]
pub struct Example {
    /// File name and text, in the folder's order.
    pub files: Vec<(String, String)>,
    suffix: String,
}

impl Example {
    /// Reads `examples/<name>/` with `local`'s endpoints and ids and unique names.
    pub fn load(name: &str, local: &Local<'_>) -> Example {
        let suffix = crate::kafka::unique_name("x")
            .trim_start_matches("x-")
            .to_owned();
        let dir = crate::repo_root().join("examples").join(name);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|f| f.expect("a directory entry").path())
            .collect();
        paths.sort();
        let files = paths
            .into_iter()
            .map(|p| {
                let mut text = std::fs::read_to_string(&p)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                    .replace("127.0.0.1:19092", local.src_bootstrap)
                    .replace("127.0.0.1:29092", local.dst_bootstrap)
                    .replace("http://127.0.0.1:18091", local.src_rest)
                    .replace("http://127.0.0.1:18090", local.dst_rest)
                    .replace(
                        "clusterID: kafka-src",
                        &format!("clusterID: {}", local.src_id),
                    )
                    .replace(
                        "clusterID: kafka-dest",
                        &format!("clusterID: {}", local.dst_id),
                    );
                for n in NAMES {
                    text = text.replace(n, &format!("{n}-{suffix}"));
                }
                let name = p.file_name().expect("a file name").to_string_lossy();
                (name.into_owned(), text)
            })
            .collect();
        Example { files, suffix }
    }

    /// The name the files use for the example's `name` (`forward-topic`...).
    pub fn name(&self, name: &str) -> String {
        assert!(NAMES.contains(&name), "{name} is not one of {NAMES:?}");
        format!("{name}-{}", self.suffix)
    }

    /// Writes the files into `dir`.
    pub fn write_to(&self, dir: &Path) {
        for (name, text) in &self.files {
            std::fs::write(dir.join(name), text).expect("write an example file");
        }
    }
}
