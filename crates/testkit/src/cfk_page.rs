//! The CFK Cluster Linking page (`shared/spec/cfk-cluster-linking-doc.txt`), read the way tests
//! need it: its YAML manifests exactly as the page prints them, so that a changed page changes
//! the tests (the model's schema tests, and the end-to-end tests that apply the page's examples
//! verbatim).

use std::path::PathBuf;

/// The product spec's folder: `CLUSTERLINK_SPEC_DIR`, or `shared/spec` beside the repository.
pub fn spec_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CLUSTERLINK_SPEC_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/spec"))
}

/// The page's path.
pub fn page() -> PathBuf {
    spec_dir().join("cfk-cluster-linking-doc.txt")
}

/// The page's manifests: blocks of lines at column 0 that start with `apiVersion:` or a comment
/// followed by one, split into documents at `---` and at each new `apiVersion:` (the page's
/// destination-initiated bidirectional example puts two manifests in one block without `---`).
pub fn manifests() -> Vec<String> {
    let path = page();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines: Vec<&str> = text.lines().collect();
    let top_level = ["apiVersion:", "kind:", "metadata:", "spec:", "status:"];
    let mut docs = Vec::new();
    let mut current: Option<String> = None;
    let mut pending_comments = String::new();
    for line in lines {
        let is_yaml_line = line.is_empty()
            || line.starts_with(' ')
            || line.starts_with('#')
            || line == "---"
            || top_level.iter().any(|k| line.starts_with(k));
        match current.as_mut() {
            None if line.starts_with('#') => pending_comments.push_str(&format!("{line}\n")),
            None if line.starts_with("apiVersion:") => {
                current = Some(std::mem::take(&mut pending_comments) + line + "\n");
            }
            None => pending_comments.clear(),
            Some(doc) if is_yaml_line => {
                if line == "---" || (line.starts_with("apiVersion:") && doc.contains("apiVersion:"))
                {
                    docs.push(std::mem::take(doc));
                }
                if line != "---" {
                    doc.push_str(line);
                    doc.push('\n');
                }
            }
            Some(doc) => {
                docs.push(std::mem::take(doc));
                current = None;
            }
        }
    }
    if let Some(doc) = current {
        docs.push(doc);
    }
    docs.retain(|d| d.contains("apiVersion:"));
    docs
}

/// The manifests of the example whose `metadata.name`s and `spec.sourceInitiatedLink` say it
/// is the destination-initiated bidirectional one (no `connectionMode`), in page order.
pub fn destination_initiated_bidirectional() -> Vec<String> {
    manifests()
        .into_iter()
        .filter(|d| d.contains("linkMode: Bidirectional") && !d.contains("connectionMode:"))
        .collect()
}

/// The manifests of the source-initiated bidirectional example (`connectionMode: Inbound` and
/// `Outbound`), in page order.
pub fn source_initiated_bidirectional() -> Vec<String> {
    manifests()
        .into_iter()
        .filter(|d| d.contains("connectionMode:"))
        .collect()
}
