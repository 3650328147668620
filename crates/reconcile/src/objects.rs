//! The objects a ClusterLink or KafkaTopic refers to (KafkaRestClasses, Secrets, the other
//! ClusterLink of a pair, and the CFK or Strimzi `Kafka` resources whose status publishes a
//! cluster's endpoint), as a plain in-memory snapshot.
//!
//! The operator fills it from its Kubernetes caches (and Secrets read by name: it records the
//! Secrets a pass asked for and did not find, [`Objects::missing_secrets`], so that the
//! operator can read exactly those and look again, without caching every Secret of the
//! cluster), the CLI from the YAML files it is given, the tests by hand; the reconcile core only
//! reads it, so it never needs to know where objects live.

use std::collections::BTreeMap;

use base64::Engine as _;
use clusterlink_model::cluster_link::{LinkMode, MirrorDirection};
use clusterlink_model::{
    ClusterLink, KafkaRestClass, ResourceId, SecretValue, ValidatedClusterLink,
};
use serde_json::Value;

/// KafkaRestClasses and Secrets by namespace and name.
#[derive(Clone, Debug, Default)]
pub struct Objects {
    cluster_links: BTreeMap<(String, String), ClusterLink>,
    rest_classes: BTreeMap<(String, String), KafkaRestClass>,
    secrets: BTreeMap<(String, String), BTreeMap<String, SecretValue>>,
    kafkas: BTreeMap<(KafkaKind, String, String), Value>,
    /// Secrets looked up and not found, by namespace and name.
    missing_secrets: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<(String, String)>>>,
}

/// The two `Kafka` resources that describe a cluster an operator manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KafkaKind {
    /// Confluent for Kubernetes' `Kafka`.
    Cfk,
    /// Strimzi's `Kafka`.
    Strimzi,
}

impl KafkaKind {
    /// Both, in the order a reference is resolved through them.
    pub const ALL: [KafkaKind; 2] = [KafkaKind::Cfk, KafkaKind::Strimzi];

    /// The API group.
    pub fn group(self) -> &'static str {
        match self {
            KafkaKind::Cfk => "platform.confluent.io",
            KafkaKind::Strimzi => "kafka.strimzi.io",
        }
    }

    /// The API version whose `Kafka` is read.
    pub fn api_version(self) -> &'static str {
        match self {
            KafkaKind::Cfk => "platform.confluent.io/v1beta1",
            KafkaKind::Strimzi => "kafka.strimzi.io/v1beta2",
        }
    }

    /// The kind of a `Kafka` document of `api_version` (any version of the group).
    pub fn of(api_version: &str) -> Option<KafkaKind> {
        let group = api_version.split('/').next()?;
        KafkaKind::ALL.into_iter().find(|k| k.group() == group)
    }

    /// `CFK Kafka` or `Strimzi Kafka`, for messages.
    pub fn label(self) -> &'static str {
        match self {
            KafkaKind::Cfk => "CFK Kafka",
            KafkaKind::Strimzi => "Strimzi Kafka",
        }
    }
}

/// Why a Secret document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Secret {name}: {why}")]
pub struct SecretDocumentError {
    /// The secret's name (or `<unnamed>`).
    pub name: String,
    /// What is wrong (never the content).
    pub why: String,
}

impl Objects {
    /// An empty snapshot.
    pub fn new() -> Self {
        Objects::default()
    }

    /// Adds (or replaces) a ClusterLink, so that the other half of a bidirectional pair can be
    /// found ([`Objects::bidirectional_peer`]).
    pub fn add_cluster_link(&mut self, link: ClusterLink) {
        let id = ResourceId::of(&link.metadata);
        self.cluster_links.insert((id.namespace, id.name), link);
    }

    /// The other ClusterLink of a bidirectional pair: same `spec.name`, both
    /// `linkMode: Bidirectional`, in any namespace (R4).
    pub fn bidirectional_peer(&self, link: &ValidatedClusterLink) -> Option<&ClusterLink> {
        if !link.is_bidirectional() {
            return None;
        }
        let me = (
            link.resource.namespace.as_str(),
            link.resource.name.as_str(),
        );
        self.cluster_links.iter().find_map(|((ns, name), l)| {
            ((ns.as_str(), name.as_str()) != me
                && l.spec.link_mode() == Some(LinkMode::Bidirectional)
                && l.link_name() == Some(link.name.as_str()))
            .then_some(l)
        })
    }

    /// Names of the `toSource` mirror topics a ClusterLink declares: they live on the other
    /// half of its link.
    pub fn to_source_mirrors(link: &ClusterLink) -> impl Iterator<Item = &str> {
        link.spec
            .mirror_topics()
            .iter()
            .filter(|t| t.effective_direction() == MirrorDirection::ToSource)
            .map(|t| t.name.as_str())
    }

    /// Adds (or replaces) a KafkaRestClass; without a namespace it lives in `default`.
    pub fn add_rest_class(&mut self, rc: KafkaRestClass) {
        let id = ResourceId::of(&rc.metadata);
        self.rest_classes.insert((id.namespace, id.name), rc);
    }

    /// Adds (or replaces) a Secret's files. Values must be text (PEM, properties files):
    /// binary keystores are not used by clusterlink.
    pub fn add_secret(
        &mut self,
        namespace: &str,
        name: &str,
        data: impl IntoIterator<Item = (String, SecretValue)>,
    ) {
        self.secrets.insert(
            (namespace.to_string(), name.to_string()),
            data.into_iter().collect(),
        );
    }

    /// Adds a `v1 Secret` document (`data` base64-encoded, `stringData` plain, `stringData`
    /// winning as the API server does). Its namespace defaults to `default_namespace`.
    pub fn add_secret_document(
        &mut self,
        doc: &Value,
        default_namespace: &str,
    ) -> Result<(), SecretDocumentError> {
        let name = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .ok_or_else(|| SecretDocumentError {
                name: "<unnamed>".into(),
                why: "metadata.name is missing".into(),
            })?;
        let ns = doc
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(default_namespace);
        let mut files = BTreeMap::new();
        for (key, v) in doc
            .get("data")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let err = |why: &str| SecretDocumentError {
                name: name.to_string(),
                why: format!("data.{key}: {why}"),
            };
            let encoded = v.as_str().ok_or_else(|| err("not a string"))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| err("not base64"))?;
            let text = String::from_utf8(bytes).map_err(|_| err("not UTF-8 text"))?;
            files.insert(key.clone(), SecretValue::new(text));
        }
        for (key, v) in doc
            .get("stringData")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let text = v.as_str().ok_or_else(|| SecretDocumentError {
                name: name.to_string(),
                why: format!("stringData.{key}: not a string"),
            })?;
            files.insert(key.clone(), SecretValue::new(text));
        }
        self.add_secret(ns, name, files);
        Ok(())
    }

    /// A KafkaRestClass by namespace and name.
    pub fn rest_class(&self, namespace: &str, name: &str) -> Option<&KafkaRestClass> {
        self.rest_classes
            .get(&(namespace.to_string(), name.to_string()))
    }

    /// The KafkaRestClasses of namespace `namespace` whose `kafkaClusterRef` names the Kafka
    /// cluster `namespace/name`. Only that namespace counts: a KafkaRestClass elsewhere must
    /// not be able to capture a cluster's links (and the credentials they carry).
    pub fn rest_classes_for_kafka(&self, namespace: &str, name: &str) -> Vec<&KafkaRestClass> {
        self.rest_classes
            .iter()
            .filter(|((rc_ns, _), _)| rc_ns == namespace)
            .filter_map(|((rc_ns, _), rc)| {
                let r = rc.spec.kafka_cluster_ref.as_ref()?;
                let ns = r.namespace.as_deref().unwrap_or(rc_ns);
                (r.name == name && ns == namespace).then_some(rc)
            })
            .collect()
    }

    /// The one KafkaRestClass for the Kafka cluster `namespace/name`, if exactly one.
    pub fn rest_class_for_kafka(&self, namespace: &str, name: &str) -> Option<&KafkaRestClass> {
        match self.rest_classes_for_kafka(namespace, name).as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// A Secret's files by namespace and name (one not found is remembered, see
    /// [`Objects::missing_secrets`]).
    pub fn secret(&self, namespace: &str, name: &str) -> Option<&BTreeMap<String, SecretValue>> {
        let key = (namespace.to_string(), name.to_string());
        let found = self.secrets.get(&key);
        if found.is_none() {
            self.missing_secrets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key);
        }
        found
    }

    /// The Secrets looked up since this snapshot was made and not found in it (namespace,
    /// name): what a caller that reads Secrets on demand reads before looking again.
    pub fn missing_secrets(&self) -> Vec<(String, String)> {
        self.missing_secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Whether a Secret is in the snapshot.
    pub fn has_secret(&self, namespace: &str, name: &str) -> bool {
        self.secrets
            .contains_key(&(namespace.to_string(), name.to_string()))
    }

    /// Every KafkaRestClass.
    pub fn rest_classes(&self) -> impl Iterator<Item = &KafkaRestClass> {
        self.rest_classes.values()
    }

    /// Adds (or replaces) a `Kafka` document of CFK or Strimzi (as JSON: only its listeners are
    /// read); its namespace defaults to `default_namespace`. Returns `false` (and keeps nothing)
    /// for any other document.
    pub fn add_kafka(&mut self, doc: Value, default_namespace: &str) -> bool {
        let api_version = doc.get("apiVersion").and_then(Value::as_str);
        let kind = api_version.and_then(KafkaKind::of);
        let name = doc.pointer("/metadata/name").and_then(Value::as_str);
        let (Some(kind), Some(name), Some("Kafka")) =
            (kind, name, doc.get("kind").and_then(Value::as_str))
        else {
            return false;
        };
        let ns = doc
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(default_namespace)
            .to_string();
        self.kafkas.insert((kind, ns, name.to_string()), doc);
        true
    }

    /// A `Kafka` resource of `kind` by namespace and name.
    pub fn kafka(&self, kind: KafkaKind, namespace: &str, name: &str) -> Option<&Value> {
        self.kafkas
            .get(&(kind, namespace.to_string(), name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_documents_decode_data_and_prefer_string_data() {
        let mut o = Objects::new();
        o.add_secret_document(
            &json!({"metadata": {"name": "creds"}, "data": {"plain.txt": "dXNlcm5hbWU9YQpwYXNzd29yZD1i", "k": "eA=="}, "stringData": {"k": "y"}}),
            "ns1",
        )
        .unwrap();
        let s = o.secret("ns1", "creds").unwrap();
        assert_eq!(s["plain.txt"].expose(), "username=a\npassword=b");
        assert_eq!(s["k"].expose(), "y");
        let e = o
            .add_secret_document(
                &json!({"metadata": {"name": "bad"}, "data": {"k": "%%%"}}),
                "ns1",
            )
            .unwrap_err();
        assert_eq!(e.to_string(), "Secret bad: data.k: not base64");
    }

    #[test]
    fn rest_class_found_through_its_kafka_cluster_ref() {
        let mut o = Objects::new();
        let rc: KafkaRestClass = serde_json::from_value(json!({
            "apiVersion": "platform.confluent.io/v1beta1", "kind": "KafkaRestClass",
            "metadata": {"name": "dest-rest", "namespace": "dest"},
            "spec": {"kafkaClusterRef": {"name": "kafka"}, "kafkaRest": {"endpoint": "http://x:8090"}}
        }))
        .unwrap();
        o.add_rest_class(rc);
        assert!(o.rest_class_for_kafka("dest", "kafka").is_some());
        assert!(o.rest_class_for_kafka("other", "kafka").is_none());
        // One in another namespace that claims the cluster is not considered.
        let rogue: KafkaRestClass = serde_json::from_value(json!({
            "metadata": {"name": "rogue", "namespace": "attacker"},
            "spec": {"kafkaClusterRef": {"name": "kafka", "namespace": "dest"}, "kafkaRest": {"endpoint": "http://evil:1"}}
        }))
        .unwrap();
        o.add_rest_class(rogue);
        assert_eq!(o.rest_classes_for_kafka("dest", "kafka").len(), 1);
        assert_eq!(
            o.rest_class_for_kafka("dest", "kafka")
                .unwrap()
                .metadata
                .name
                .as_deref(),
            Some("dest-rest")
        );
        assert!(o.rest_class("dest", "dest-rest").is_some());
    }
}
