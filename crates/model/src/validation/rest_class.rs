//! The rules of a KafkaRestClass, and of the `kafkaRest` block it shares with KafkaTopic.

use crate::common::{KafkaRestApi, RestAuthType, SecretOrDirectory};
use crate::kafka_rest_class::KafkaRestClass;

use super::errors::ValidationErrors;
use super::rules::Errors;

/// Checks a KafkaRestClass; `Err` holds every problem found.
pub fn validate_kafka_rest_class(rc: &KafkaRestClass) -> Result<(), ValidationErrors> {
    let mut e = Errors::default();
    e.metadata(
        rc.metadata.name.as_deref(),
        rc.metadata.namespace.as_deref(),
    );
    let s = &rc.spec;
    if s.kafka_cluster_ref.is_none()
        && s.kafka_rest
            .as_ref()
            .and_then(|r| r.endpoint.as_ref())
            .is_none()
    {
        e.required(
            "spec.kafkaRest.endpoint",
            "the REST API is found through kafkaClusterRef or given as kafkaRest.endpoint",
        );
    }
    if let Some(r) = &s.kafka_cluster_ref {
        e.object_ref("spec.kafkaClusterRef", &r.name, r.namespace.as_deref());
    }
    if let Some(r) = &s.secondary_kafka_cluster_ref {
        e.object_ref(
            "spec.secondaryKafkaClusterRef",
            &r.name,
            r.namespace.as_deref(),
        );
    }
    if let Some(api) = &s.kafka_rest {
        rest_api(&mut e, "spec.kafkaRest", api);
    }
    if let Some(api) = &s.secondary_kafka_rest {
        rest_api(&mut e, "spec.secondaryKafkaRest", api);
    }
    e.finish(|| ())
}

pub(super) fn rest_api(e: &mut Errors, path: &str, api: &KafkaRestApi) {
    if let Some(url) = &api.endpoint {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        if rest.is_none_or(str::is_empty) {
            e.format(
                format!("{path}.endpoint"),
                url,
                "an http:// or https:// URL",
            );
        }
    }
    if let Some(a) = &api.authentication {
        let ap = format!("{path}.authentication");
        match a.type_ {
            RestAuthType::Basic => match &a.basic {
                None => e.required(
                    format!("{ap}.basic"),
                    "type basic needs the basic credentials",
                ),
                Some(b) => e.secret_or_directory(
                    &format!("{ap}.basic"),
                    &SecretOrDirectory {
                        secret_ref: b.secret_ref.clone(),
                        directory_path_in_container: b.directory_path_in_container.clone(),
                    },
                    "basic needs a secret or a directory holding basic.txt",
                ),
            },
            RestAuthType::Bearer => match &a.bearer {
                None => e.required(
                    format!("{ap}.bearer"),
                    "type bearer needs the bearer credentials",
                ),
                Some(b) => e.secret_or_directory(
                    &format!("{ap}.bearer"),
                    b,
                    "bearer needs a secret or a directory",
                ),
            },
            RestAuthType::Oauth => {
                if a.oauth.is_none() {
                    e.required(format!("{ap}.oauth"), "type oauth needs the oauth settings");
                }
            }
            RestAuthType::Mtls => {
                let tls = api.tls.as_ref();
                if tls.is_none_or(|t| {
                    t.secret_ref.is_none() && t.directory_path_in_container.is_none()
                }) {
                    e.required(
                        format!("{path}.tls.secretRef"),
                        "type mtls needs a client certificate",
                    );
                }
            }
        }
    }
    if let Some(t) = &api.tls {
        if let Some(name) = &t.secret_ref {
            e.secret_ref(format!("{path}.tls.secretRef"), name, 63);
        }
    }
}
