//! Reconciling one KafkaTopic through the REST topic endpoints: create the topic, or adopt an
//! existing one (CFK's "import": a KafkaTopic for an existing topic takes it over without
//! touching its data), set the configs that differ, and delete the topic when the resource is
//! deleted. This is how a promoted mirror topic is owned after R10.

use std::collections::BTreeMap;
use std::time::Duration;

use clusterlink_model::common::AppState;
use clusterlink_model::{validate_kafka_topic, KafkaTopic, KafkaTopicStatus};
use tracing::{info, instrument, warn};

use crate::deref::{rest_target, DerefError, RestTarget};
use crate::link::REFRESH;
use crate::rest_client::RestError;
use crate::status::{now_rfc3339, set_condition, READY};
use crate::{Next, Note, Objects};

/// The result of one KafkaTopic pass.
#[derive(Clone, Debug)]
pub struct TopicOutcome {
    /// The status to write.
    pub status: KafkaTopicStatus,
    /// What happened.
    pub notes: Vec<Note>,
    /// When to look again.
    pub next: Next,
    /// How many write calls the pass made.
    pub writes: usize,
}

/// Reconciles KafkaTopics.
#[derive(Debug)]
pub struct TopicReconciler {
    timeout: Duration,
}

impl Default for TopicReconciler {
    fn default() -> Self {
        TopicReconciler::new(Duration::from_secs(30))
    }
}

/// The REST API of a KafkaTopic: its `kafkaRestClassRef`, its inline `kafkaRest`, or the
/// KafkaRestClass of its `kafkaClusterRef`.
pub fn topic_rest(
    t: &KafkaTopic,
    objects: &Objects,
    timeout: Duration,
) -> Result<RestTarget, DerefError> {
    let ns = t.metadata.namespace.as_deref().unwrap_or("default");
    if let Some(r) = &t.spec.kafka_rest_class_ref {
        let rns = r.namespace.as_deref().unwrap_or(ns);
        let rc = objects
            .rest_class(rns, &r.name)
            .ok_or_else(|| DerefError::RestClassNotFound {
                path: "spec.kafkaRestClassRef".into(),
                namespace: rns.to_string(),
                name: r.name.clone(),
            })?;
        let source = format!("KafkaRestClass {rns}/{}", r.name);
        return rest_target(rc.spec.kafka_rest.as_ref(), &source, rns, objects, timeout);
    }
    if t.spec.kafka_rest.is_some() {
        return rest_target(
            t.spec.kafka_rest.as_ref(),
            "spec.kafkaRest",
            ns,
            objects,
            timeout,
        );
    }
    if let Some(k) = &t.spec.kafka_cluster_ref {
        let kns = k.namespace.as_deref().unwrap_or(ns);
        let rc = match objects.rest_classes_for_kafka(kns, &k.name).as_slice() {
            [rc] => *rc,
            [] => {
                return Err(DerefError::NoRestClassForCluster {
                    path: "spec.kafkaClusterRef".into(),
                    namespace: kns.to_string(),
                    name: k.name.clone(),
                })
            }
            many => {
                return Err(DerefError::AmbiguousRestClass {
                    path: "spec.kafkaClusterRef".into(),
                    names: many
                        .iter()
                        .map(|rc| rc.metadata.name.clone().unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            }
        };
        let rcns = rc.metadata.namespace.as_deref().unwrap_or(kns);
        let source = format!(
            "KafkaRestClass {rcns}/{}",
            rc.metadata.name.as_deref().unwrap_or_default()
        );
        return rest_target(rc.spec.kafka_rest.as_ref(), &source, rcns, objects, timeout);
    }
    Err(DerefError::NoRestApi {
        path: "spec".into(),
    })
}

impl TopicReconciler {
    /// A reconciler whose REST calls time out after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        TopicReconciler { timeout }
    }

    /// One pass over `t`.
    #[instrument(skip_all, fields(topic = %t.topic_name().unwrap_or_default(), namespace = t.metadata.namespace.as_deref().unwrap_or("default")))]
    pub async fn reconcile(&self, t: &KafkaTopic, objects: &Objects) -> TopicOutcome {
        let now = now_rfc3339();
        let mut status = t.status.clone().unwrap_or_default();
        status.observed_generation = t.metadata.generation;
        let conditions = status.conditions.take().unwrap_or_default();
        let finish = |mut status: KafkaTopicStatus,
                      mut conditions: Vec<_>,
                      ok: bool,
                      reason: &str,
                      message: String,
                      next: Next,
                      notes: Vec<Note>,
                      writes: usize| {
            set_condition(&mut conditions, READY, ok, reason, &message, &now);
            status.conditions = Some(conditions);
            TopicOutcome {
                status,
                notes,
                next,
                writes,
            }
        };
        if let Err(errors) = validate_kafka_topic(t) {
            let message = errors
                .errors()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            status.app_state = Some(AppState::Failed);
            let notes = vec![Note {
                warning: true,
                reason: "InvalidSpec".into(),
                message: message.clone(),
            }];
            return finish(
                status,
                conditions,
                false,
                "InvalidSpec",
                message,
                Next::WaitForChange,
                notes,
                0,
            );
        }
        let target = match topic_rest(t, objects, self.timeout) {
            Ok(r) => r,
            Err(e) => {
                let message = e.to_string();
                let notes = vec![Note {
                    warning: true,
                    reason: e.reason().into(),
                    message: message.clone(),
                }];
                return finish(
                    status,
                    conditions,
                    false,
                    e.reason(),
                    message,
                    Next::After(REFRESH),
                    notes,
                    0,
                );
            }
        };
        let name = t.topic_name().unwrap_or_default().to_string();
        let mut notes = Vec::new();
        let mut writes = 0;
        let result = self
            .apply(t, &target, &name, &mut status, &mut notes, &mut writes)
            .await;
        match result {
            Ok(problems) if problems.is_empty() => finish(
                status,
                conditions,
                true,
                "TopicReady",
                format!("topic {name} exists with the declared configs"),
                Next::After(REFRESH),
                notes,
                writes,
            ),
            Ok(problems) => finish(
                status,
                conditions,
                false,
                "TopicDiffers",
                problems.join("; "),
                Next::After(REFRESH),
                notes,
                writes,
            ),
            Err(e) => {
                let message = e.to_string();
                warn!(%message, category = e.category(), "REST call failed");
                let reason = if e.is_retriable() {
                    "LinkServerUnavailable"
                } else {
                    "TopicRejected"
                };
                notes.push(Note {
                    warning: true,
                    reason: reason.into(),
                    message: message.clone(),
                });
                let next = if e.is_retriable() {
                    Next::Retry(e.category())
                } else {
                    Next::After(REFRESH)
                };
                status.app_state.get_or_insert(AppState::Failed);
                finish(
                    status, conditions, false, reason, message, next, notes, writes,
                )
            }
        }
    }

    async fn apply(
        &self,
        t: &KafkaTopic,
        target: &RestTarget,
        name: &str,
        status: &mut KafkaTopicStatus,
        notes: &mut Vec<Note>,
        writes: &mut usize,
    ) -> Result<Vec<String>, RestError> {
        let rest = &target.client;
        let cluster = match &target.cluster_id {
            Some(id) => id.clone(),
            None => rest.cluster_id().await?,
        };
        status.kafka_cluster_id = Some(cluster.clone());
        status.kafka_rest_endpoint = Some(rest.base().to_string());
        let declared = t.spec.configs.clone().unwrap_or_default();
        let mut problems = Vec::new();
        let info = match rest.topic(&cluster, name).await? {
            Some(info) => info,
            None => {
                *writes += 1;
                rest.create_topic(
                    &cluster,
                    name,
                    t.spec.partition_count,
                    t.spec.replicas,
                    &declared,
                )
                .await?;
                info!(topic = name, "topic created");
                notes.push(Note {
                    warning: false,
                    reason: "TopicCreated".into(),
                    message: format!("topic {name} created on cluster {cluster}"),
                });
                rest.topic(&cluster, name).await?.unwrap_or_default()
            }
        };
        if *writes == 0 {
            let current = rest.topic_configs(&cluster, name).await?;
            let set: BTreeMap<String, String> = declared
                .iter()
                .filter(|(k, v)| current.get(*k).and_then(|c| c.value.as_ref()) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !set.is_empty() {
                *writes += 1;
                rest.alter_topic_configs(&cluster, name, &set, &[]).await?;
                notes.push(Note {
                    warning: false,
                    reason: "TopicConfigsAltered".into(),
                    message: format!(
                        "topic {name}: configs {} set",
                        set.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
            if status.state.is_none() {
                notes.push(Note {
                    warning: false,
                    reason: "TopicAdopted".into(),
                    message: format!("existing topic {name} is now managed by this resource"),
                });
            }
        }
        if let (Some(want), Some(have)) = (t.spec.partition_count, info.partitions_count) {
            if want != have {
                problems.push(format!(
                    "spec.partitionCount is {want} but topic {name} has {have} partitions; partition counts are not changed through the REST API"
                ));
            }
        }
        status.state = Some("CREATED".into());
        status.app_state = Some(AppState::Created);
        status.partition_count = info.partitions_count;
        status.replicas = info.replication_factor;
        Ok(problems)
    }

    /// Deletes the topic of a KafkaTopic that is being deleted.
    pub async fn cleanup(&self, t: &KafkaTopic, objects: &Objects) -> Result<Vec<Note>, RestError> {
        let name = t.topic_name().unwrap_or_default().to_string();
        let target = match topic_rest(t, objects, self.timeout) {
            Ok(r) => r,
            Err(e) => {
                return Ok(vec![Note {
                    warning: true,
                    reason: "TopicNotDeleted".into(),
                    message: format!("topic {name} was not deleted: {e}"),
                }])
            }
        };
        let cluster = match &target.cluster_id {
            Some(id) => id.clone(),
            None => target.client.cluster_id().await?,
        };
        match target.client.delete_topic(&cluster, &name).await {
            Ok(()) => Ok(vec![Note {
                warning: false,
                reason: "TopicDeleted".into(),
                message: format!("topic {name} deleted from cluster {cluster}"),
            }]),
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) if !e.is_retriable() => Ok(vec![Note {
                warning: true,
                reason: "TopicNotDeleted".into(),
                message: format!("topic {name}: {e}"),
            }]),
            Err(e) => Err(e),
        }
    }
}
