//! The manifests `clusterlink apply` and `clusterlink status` read: files and folders of YAML
//! (or JSON) documents, sorted into the resources to reconcile and the objects they refer to.
//!
//! ClusterLinks and KafkaTopics are reconciled; KafkaRestClasses, Secrets and the `Kafka`
//! resources of CFK and Strimzi (whose listeners give a cluster's endpoint) go into
//! [`Objects`]; other kinds (CFK's `Zookeeper`, ...) are skipped with a note, so a CFK
//! manifest folder can be used as is.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clusterlink_model::compat::ParseError;
use clusterlink_model::{parse_documents, parse_resource, ClusterLink, KafkaTopic, Resource};
use clusterlink_reconcile::objects::KafkaKind;
use clusterlink_reconcile::Objects;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What the files hold.
#[derive(Debug, Default)]
pub struct Manifests {
    /// ClusterLinks, in file order.
    pub links: Vec<ClusterLink>,
    /// KafkaTopics, in file order.
    pub topics: Vec<KafkaTopic>,
    /// KafkaRestClasses and Secrets.
    pub objects: Objects,
}

/// Files under `paths`: files as given, folders walked for `.yaml`, `.yml` and `.json`, sorted.
pub(super) fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("{}", p.display()))?;
        if meta.is_dir() {
            let mut inner = Vec::new();
            walk(p, &mut inner)?;
            inner.sort();
            out.extend(inner);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
        let path = e?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| matches!(x, "yaml" | "yml" | "json"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// A stand-in for the uid an API server would give: stable for a namespace and name, so the
/// `clink-<topic>-<uid>` names of promoted topics (R10) do not change between runs.
fn local_uid(namespace: &str, name: &str) -> String {
    let d = Sha256::digest(format!("{namespace}/{name}").as_bytes());
    let h: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Reads every document of the files.
pub fn load(paths: &[PathBuf], namespace: &str) -> Result<Manifests> {
    let mut m = Manifests::default();
    for file in files(paths)? {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let docs = parse_documents(&text).with_context(|| format!("{}", file.display()))?;
        for (i, doc) in docs.into_iter().enumerate() {
            let at = format!("{} (document {})", file.display(), i + 1);
            let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
            let api_version = doc
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if kind == "Secret" && api_version == "v1" {
                m.objects
                    .add_secret_document(&doc, namespace)
                    .with_context(|| at.clone())?;
                continue;
            }
            if kind == "Kafka" && KafkaKind::of(api_version).is_some() {
                let what = format!(
                    "{api_version} Kafka {}",
                    doc.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                );
                if m.objects.add_kafka(doc.clone(), namespace) {
                    eprintln!("{at}: {what}: read for its listeners (the endpoint of links that name the cluster)");
                }
                continue;
            }
            let parsed = match parse_resource(doc) {
                Ok(p) => p,
                Err(ParseError::UnsupportedKind { api_version, kind }) => {
                    eprintln!("{at}: skipping {api_version} {kind}: not managed by clusterlink");
                    continue;
                }
                Err(e) => bail!("{at}: {e}"),
            };
            for f in &parsed.dropped_fields {
                eprintln!(
                    "{at}: {}: unknown field {f} ignored",
                    parsed.resource.kind()
                );
            }
            match parsed.resource {
                Resource::ClusterLink(mut l) => {
                    let ns = l
                        .metadata
                        .namespace
                        .get_or_insert_with(|| namespace.to_string())
                        .clone();
                    let name = l.metadata.name.clone().unwrap_or_default();
                    l.metadata.uid.get_or_insert_with(|| local_uid(&ns, &name));
                    l.metadata.generation.get_or_insert(1);
                    m.objects.add_cluster_link((*l).clone());
                    m.links.push(*l);
                }
                Resource::KafkaRestClass(mut rc) => {
                    rc.metadata
                        .namespace
                        .get_or_insert_with(|| namespace.to_string());
                    m.objects.add_rest_class(*rc);
                }
                Resource::KafkaTopic(mut t) => {
                    t.metadata
                        .namespace
                        .get_or_insert_with(|| namespace.to_string());
                    t.metadata.generation.get_or_insert(1);
                    m.topics.push(*t);
                }
                other => eprintln!("{at}: skipping {}", other.kind()),
            }
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_uids_are_stable_and_uuid_shaped() {
        let a = local_uid("ns", "link");
        assert_eq!(a, local_uid("ns", "link"));
        assert_ne!(a, local_uid("ns", "other"));
        assert_eq!(
            a.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
    }

    #[test]
    fn documents_sorted_into_resources_secrets_kafkas_and_skipped_kinds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.yaml"),
            r#"
apiVersion: platform.confluent.io/v1beta1
kind: Kafka
metadata: {name: kafka}
---
apiVersion: platform.confluent.io/v1beta1
kind: Zookeeper
metadata: {name: zookeeper}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {plain.txt: "username=a\npassword=b"}
---
apiVersion: platform.confluent.io/v1beta1
kind: KafkaRestClass
metadata: {name: rest}
spec: {kafkaRest: {endpoint: "http://localhost:1"}}
---
apiVersion: platform.confluent.io/v1beta1
kind: ClusterLink
metadata: {name: link}
spec:
  sourceKafkaCluster: {bootstrapEndpoint: "s:9092"}
  destinationKafkaCluster: {kafkaRestClassRef: {name: rest}}
"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("ignored.txt"), "not yaml: [").unwrap();
        let m = load(&[dir.path().to_path_buf()], "team").unwrap();
        assert!(m.objects.kafka(KafkaKind::Cfk, "team", "kafka").is_some());
        assert_eq!(m.links.len(), 1);
        assert_eq!(m.links[0].metadata.namespace.as_deref(), Some("team"));
        assert!(m.objects.rest_class("team", "rest").is_some());
        assert!(m.objects.secret("team", "creds").is_some());
    }

    #[test]
    fn the_quickstart_examples_load_and_validate() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart");
        let m = load(&[dir], "default").unwrap();
        assert_eq!(m.links.len(), 1);
        for l in &m.links {
            clusterlink_model::validate_cluster_link(l).unwrap();
        }
        assert!(m
            .objects
            .rest_class("destination", "kafka-dest-rest")
            .is_some());
        assert!(m
            .objects
            .rest_class_for_kafka("destination", "kafka-dest")
            .is_some());
    }

    #[test]
    fn a_malformed_document_names_file_and_document() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.yaml");
        std::fs::write(
            &f,
            "apiVersion: platform.confluent.io/v1beta1\nkind: ClusterLink\nmetadata: {name: x}\nspec: {mirrorTopics: 3}\n",
        )
        .unwrap();
        let e = load(&[f], "default").unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("bad.yaml (document 1)"), "{msg}");
        assert!(msg.contains("ClusterLink"), "{msg}");
    }
}
