//! Reconciling one KafkaTopic through the REST topic endpoints: create the topic, or adopt an
//! existing one (CFK's "import": a KafkaTopic for an existing topic takes it over without
//! touching its data), set the configs that differ, and delete the topic when the resource is
//! deleted. This is how a promoted mirror topic is owned after R10.

use std::collections::BTreeMap;
use std::time::Duration;

use clusterlink_model::common::AppState;
use clusterlink_model::{validate_kafka_topic, KafkaTopic, KafkaTopicStatus, ValidatedKafkaTopic};
use tracing::{info, instrument, warn};

use crate::deref::{topic_target, RestTarget};
use crate::link::REFRESH;
use crate::objects::Objects;
use crate::outcome::{Next, Note};
use crate::rest_client::RestError;
use crate::status::conditions::{reason, Conditions};
use crate::status::STATE_CREATED;

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

fn finish(
    mut status: KafkaTopicStatus,
    conditions: Conditions,
    next: Next,
    notes: Vec<Note>,
    writes: usize,
) -> TopicOutcome {
    status.conditions = Some(conditions.into_vec());
    TopicOutcome {
        status,
        notes,
        next,
        writes,
    }
}

impl TopicReconciler {
    /// A reconciler whose REST calls time out after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        TopicReconciler { timeout }
    }

    /// One pass over `t`: validate → dereference → create, adopt or alter → status.
    #[instrument(skip_all, fields(topic = %t.topic_name().unwrap_or_default(), namespace = t.metadata.namespace.as_deref().unwrap_or("default")))]
    pub async fn reconcile(&self, t: &KafkaTopic, objects: &Objects) -> TopicOutcome {
        let mut status = t.status.clone().unwrap_or_default();
        status.observed_generation = t.metadata.generation;
        let mut conditions = Conditions::from_previous(status.conditions.take());
        let valid = match validate_kafka_topic(t) {
            Ok(v) => v,
            Err(errors) => {
                let message = errors.one_line();
                status.app_state = Some(AppState::Failed);
                let notes = vec![Note::warning(reason::INVALID_SPEC, &message)];
                conditions.ready(false, reason::INVALID_SPEC, &message);
                return finish(status, conditions, Next::WaitForChange, notes, 0);
            }
        };
        let target = match topic_target(t, objects, self.timeout) {
            Ok(r) => r,
            Err(e) => {
                let message = e.to_string();
                let notes = vec![Note::warning(e.reason(), &message)];
                conditions.ready(false, e.reason(), &message);
                return finish(status, conditions, Next::After(REFRESH), notes, 0);
            }
        };
        let name = &valid.topic;
        let mut notes = Vec::new();
        let mut writes = 0;
        let result = self
            .apply(&valid, &target, &mut status, &mut notes, &mut writes)
            .await;
        let next = match result {
            Ok(problems) if problems.is_empty() => {
                let message = format!("topic {name} exists with the declared configs");
                conditions.ready(true, reason::TOPIC_READY, &message);
                Next::After(REFRESH)
            }
            Ok(problems) => {
                conditions.ready(false, reason::TOPIC_DIFFERS, &problems.join("; "));
                Next::After(REFRESH)
            }
            Err(e) => {
                let message = e.to_string();
                warn!(%message, category = e.category(), "REST call failed");
                let why = if e.is_retriable() {
                    reason::LINK_SERVER_UNAVAILABLE
                } else {
                    reason::TOPIC_REJECTED
                };
                notes.push(Note::warning(why, &message));
                status.app_state.get_or_insert(AppState::Failed);
                conditions.ready(false, why, &message);
                if e.is_retriable() {
                    Next::Retry(e.category())
                } else {
                    Next::After(REFRESH)
                }
            }
        };
        finish(status, conditions, next, notes, writes)
    }

    async fn apply(
        &self,
        t: &ValidatedKafkaTopic,
        target: &RestTarget,
        status: &mut KafkaTopicStatus,
        notes: &mut Vec<Note>,
        writes: &mut usize,
    ) -> Result<Vec<String>, RestError> {
        let (rest, name) = (&target.client, t.topic.as_str());
        let cluster = target.resolve_cluster_id().await?;
        status.kafka_cluster_id = Some(cluster.clone());
        status.kafka_rest_endpoint = Some(rest.base().to_string());
        let declared = &t.configs;
        let mut problems = Vec::new();
        let info = match rest.topic(&cluster, name).await? {
            Some(info) => info,
            None => {
                *writes += 1;
                rest.create_topic(&cluster, name, t.partitions, t.replicas, declared)
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
        if let (Some(want), Some(have)) = (t.partitions, info.partitions_count) {
            if want != have {
                problems.push(format!(
                    "spec.partitionCount is {want} but topic {name} has {have} partitions; partition counts are not changed through the REST API"
                ));
            }
        }
        status.state = Some(STATE_CREATED.into());
        status.app_state = Some(AppState::Created);
        status.partition_count = info.partitions_count;
        status.replicas = info.replication_factor;
        Ok(problems)
    }

    /// Deletes the topic of a KafkaTopic that is being deleted.
    pub async fn cleanup(&self, t: &KafkaTopic, objects: &Objects) -> Result<Vec<Note>, RestError> {
        let name = t.topic_name().unwrap_or_default().to_string();
        let target = match topic_target(t, objects, self.timeout) {
            Ok(r) => r,
            Err(e) => {
                return Ok(vec![Note {
                    warning: true,
                    reason: "TopicNotDeleted".into(),
                    message: format!("topic {name} was not deleted: {e}"),
                }])
            }
        };
        let cluster = target.resolve_cluster_id().await?;
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
