//! Every YAML example of the CFK Cluster Linking page (`shared/spec/cfk-cluster-linking-doc.txt`)
//! is read straight from the page, so that a changed page changes the test.

mod support;

use clusterlink_testkit::cfk_page::{manifests as page_manifests, page};
use serde_json::Value;
use support::{our_schema, validate};

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
    let text = std::fs::read_to_string(page()).unwrap();
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
