//! Every YAML example of the CFK Cluster Linking page (`shared/spec/cfk-cluster-linking-doc.txt`)
//! is read straight from the page, so that a changed page changes the test.

mod support;

use serde_json::Value;
use support::{our_schema, spec_dir, validate};

/// The page's manifests: blocks of lines at column 0 that start with `apiVersion:` or a comment
/// followed by one, split into documents at `---` and at each new `apiVersion:` (the page's
/// destination-initiated bidirectional example puts two manifests in one block without `---`).
fn page_manifests() -> Vec<String> {
    let path = spec_dir().join("cfk-cluster-linking-doc.txt");
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

#[test]
fn page_examples_are_found() {
    let docs = page_manifests();
    // Two bidirectional examples of two manifests each.
    assert_eq!(docs.len(), 4, "{docs:#?}");
    for doc in &docs {
        assert_eq!(doc.matches("apiVersion:").count(), 1, "{doc}");
    }
}

#[test]
fn page_examples_are_accepted_and_round_trip() {
    let schema = our_schema("ClusterLink");
    for text in page_manifests() {
        let docs = clusterlink_model::parse_documents(&text).unwrap();
        assert_eq!(docs.len(), 1, "{text}");
        let doc: Value = docs.into_iter().next().unwrap();
        let errors = validate(&schema, &doc);
        assert!(errors.is_empty(), "our schema refuses {errors:?}\n{text}");
        let parsed = clusterlink_model::parse_resource(doc.clone()).unwrap();
        assert!(
            parsed.dropped_fields.is_empty(),
            "lost {:?}\n{text}",
            parsed.dropped_fields
        );
        let clusterlink_model::Resource::ClusterLink(link) = &parsed.resource else {
            panic!()
        };
        if let Err(e) = clusterlink_model::validate_cluster_link(link) {
            panic!("{e}\n{text}");
        }
        let back = parsed.resource.to_value();
        assert_eq!(back, doc, "not written back as read:\n{text}");
    }
}

/// The page's field templates (`- name:  --- [1]` ...) name only fields a mirror topic has.
#[test]
fn page_field_templates_name_known_mirror_topic_fields() {
    let path = spec_dir().join("cfk-cluster-linking-doc.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let schema = our_schema("ClusterLink");
    let known = schema["properties"]["spec"]["properties"]["mirrorTopics"]["items"]["properties"]
        .as_object()
        .unwrap()
        .clone();
    let mut seen = 0;
    let mut in_template = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed == "mirrorTopics:" {
            in_template = true;
            continue;
        }
        if in_template {
            let Some(field) = trimmed.trim_start_matches("- ").split(':').next() else {
                continue;
            };
            if trimmed.is_empty() || !trimmed.contains(':') {
                in_template = false;
                continue;
            }
            assert!(
                known.contains_key(field),
                "page names unknown mirror topic field {field:?}"
            );
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} template fields found");
}
