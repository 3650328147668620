//! Topics (`/clusters/{id}/topics/...`): listed, created, described, deleted, and their configs
//! described and altered, straight on the local cluster. A mirror topic is deleted through its
//! link; the server's own state topic is never deleted or altered here.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use clusterlink_kafka::client::{AlterConfigOp, ConfigResource, NewTopic, TopicMetadata};
use clusterlink_kafka::ResponseError;
use clusterlink_rest_v3::configs::{ConfigSource, ConfigSynonym};
use clusterlink_rest_v3::error::code;
use clusterlink_rest_v3::topics::{
    CreateTopicRequest, KafkaTopicConfigData, KafkaTopicData, TopicDetails,
};
use clusterlink_rest_v3::{List, Relationship, ResourceMetadata};

use super::context::{
    alter_ops, body, config_values, flag, no_content, ok, replication_factor, Api, Params,
};
use super::error::{ApiError, ApiResult};
use crate::links::{is_topic_name, ConfigOp};

/// The most partitions a topic created through the API may ask for.
const MAX_PARTITIONS: i32 = 100_000;

fn topic_not_found(topic: &str) -> ApiError {
    ApiError::not_found(
        code::UNKNOWN_TOPIC_OR_PARTITION,
        format!("This server does not host this topic-partition. (topic '{topic}')"),
    )
}

/// A topic, with what the cluster reports of it (`t`) unless it was only validated.
fn topic_data(
    api: &Api,
    headers: &HeaderMap,
    name: &str,
    t: Option<&TopicMetadata>,
) -> KafkaTopicData {
    let id = api.manager.cluster_id();
    let b = format!("{}/topics/{name}", api.cluster_url(headers, id));
    let related = |path: &str| Relationship::to(format!("{b}/{path}"));
    KafkaTopicData {
        kind: KafkaTopicData::KIND.into(),
        metadata: ResourceMetadata::new(
            b.clone(),
            t.map(|_| format!("crn:///kafka={id}/topic={name}")),
        ),
        cluster_id: id.to_owned(),
        topic_name: name.to_owned(),
        details: t.map(|t| TopicDetails {
            is_internal: t.is_internal,
            replication_factor: t
                .partitions
                .values()
                .next()
                .map_or(0, |p| p.replicas.len() as i32),
            partitions_count: t.partitions.len() as i32,
            partitions: related("partitions"),
            configs: related("configs"),
            partition_reassignments: related("partitions/-/reassignment"),
        }),
    }
}

pub(super) async fn list_topics(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(cluster_id): Path<String>,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let meta = api
        .manager
        .local()
        .refresh_metadata(None)
        .await
        .map_err(|e| ApiError::kafka(&e))?;
    let data = meta
        .topics
        .iter()
        .filter(|(_, t)| t.error.is_none())
        .map(|(n, t)| topic_data(&api, &headers, n, Some(t)))
        .collect();
    let url = format!("{}/topics", api.cluster_url(&headers, &cluster_id));
    Ok(ok(List::new(KafkaTopicData::LIST_KIND, url, data)))
}

async fn topic_meta(api: &Api, topic: &str) -> ApiResult<TopicMetadata> {
    let local = api.manager.local();
    local.invalidate_metadata();
    match local.topic_metadata(topic).await {
        Ok(t) => Ok(t),
        Err(e) if e.is(ResponseError::UnknownTopicOrPartition) => Err(topic_not_found(topic)),
        Err(e) => Err(ApiError::kafka(&e)),
    }
}

pub(super) async fn get_topic(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, topic)): Path<(String, String)>,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let t = topic_meta(&api, &topic).await?;
    Ok(ok(topic_data(&api, &headers, &topic, Some(&t))))
}

/// A new topic as the request asks for it, refused when Kafka would refuse it or when it
/// would stall a broker.
fn new_topic(req: CreateTopicRequest) -> ApiResult<NewTopic> {
    if req.topic_name.is_empty() {
        return Err(ApiError::bad_request("topic_name is required"));
    }
    if !is_topic_name(&req.topic_name) {
        return Err(ApiError::bad_request(
            "topic_name is illegal: use 1 to 249 of [a-zA-Z0-9._-], not '.' or '..'",
        ));
    }
    // Kafka itself sets no bound, but a broker asked for millions of partitions stalls
    // (tansu stopped answering anyone): far above any real topic, refused up front.
    if let Some(n) = req.partitions_count {
        if n != -1 && !(1..=MAX_PARTITIONS).contains(&n) {
            return Err(ApiError::bad_request(format!(
                "partitions_count {n} is out of range: 1 to {MAX_PARTITIONS}, or -1 for the broker default"
            )));
        }
    }
    let rf = replication_factor(req.replication_factor)?;
    if let Some(r) = rf {
        if r != -1 && r < 1 {
            return Err(ApiError::bad_request(format!(
                "replication_factor {r} is out of range: 1 or more, or -1 for the broker default"
            )));
        }
    }
    Ok(NewTopic {
        name: req.topic_name,
        partitions: req.partitions_count.unwrap_or(-1),
        replication_factor: rf.unwrap_or(-1),
        configs: config_values(req.configs)?,
    })
}

pub(super) async fn create_topic(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(cluster_id): Path<String>,
    Query(q): Params,
    bytes: Bytes,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let req: CreateTopicRequest = body(&bytes, true)?;
    let validate_only = flag(&q, "validate_only", false)?;
    let new = new_topic(req)?;
    let name = new.name.clone();
    let already = || ApiError::bad_request(format!("Topic '{name}' already exists."));
    let local = api.manager.local();
    local.invalidate_metadata();
    if local.topic_metadata(&name).await.is_ok() {
        return Err(already());
    }
    if validate_only {
        let data = topic_data(&api, &headers, &name, None);
        return Ok((StatusCode::CREATED, axum::Json(data)).into_response());
    }
    let results = local
        .create_topics(&[new], false, Duration::from_secs(30))
        .await
        .map_err(|e| ApiError::kafka(&e))?;
    for (_, r) in results {
        match r {
            Ok(()) => {}
            Err(e) if e.is(ResponseError::TopicAlreadyExists) => return Err(already()),
            Err(e) if e.code().is_some() && !e.is_retriable() => {
                return Err(ApiError::bad_request(e.to_string()))
            }
            Err(e) => return Err(ApiError::kafka(&e)),
        }
    }
    // Kafka answers CreateTopics once its controller recorded the topic; the broker's metadata
    // may show it a moment later. The answer describes the created topic: wait for it.
    let since = std::time::Instant::now();
    let t = loop {
        match topic_meta(&api, &name).await {
            Err(e)
                if e.status == StatusCode::NOT_FOUND
                    && since.elapsed() < CREATED_VISIBLE_WITHIN =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            r => break r?,
        }
    };
    let data = topic_data(&api, &headers, &name, Some(&t));
    Ok((StatusCode::CREATED, axum::Json(data)).into_response())
}

/// How long a created topic may take to appear in the broker's metadata.
const CREATED_VISIBLE_WITHIN: Duration = Duration::from_secs(10);

pub(super) async fn delete_topic(
    State(api): State<Api>,
    Path((cluster_id, topic)): Path<(String, String)>,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    topic_meta(&api, &topic).await?;
    if topic == api.manager.state_topic() {
        return Err(ApiError::bad_request(format!(
            "Topic '{topic}' holds this link server's links and checkpoints: it cannot be deleted through the API"
        )));
    }
    if let Some(link) = api.manager.owner_of(&topic) {
        api.manager.delete_mirror(&link, &topic).await?;
        return Ok(no_content());
    }
    let results = api
        .manager
        .local()
        .delete_topics(std::slice::from_ref(&topic), Duration::from_secs(30))
        .await
        .map_err(|e| ApiError::kafka(&e))?;
    for (_, r) in results {
        match r {
            Ok(()) => {}
            Err(e) if e.is(ResponseError::UnknownTopicOrPartition) => {
                return Err(topic_not_found(&topic))
            }
            Err(e) => return Err(ApiError::kafka(&e)),
        }
    }
    Ok(no_content())
}

/// Kafka's config source code (DescribeConfigs) in the API's words.
fn config_source(code: i8) -> ConfigSource {
    match code {
        1 => ConfigSource::DynamicTopicConfig,
        2 => ConfigSource::DynamicBrokerConfig,
        3 => ConfigSource::DynamicDefaultBrokerConfig,
        4 => ConfigSource::StaticBrokerConfig,
        5 => ConfigSource::DefaultConfig,
        6 => ConfigSource::DynamicBrokerLoggerConfig,
        _ => ConfigSource::Unknown,
    }
}

pub(super) async fn topic_configs(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, topic)): Path<(String, String)>,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    topic_meta(&api, &topic).await?;
    let entries = api
        .manager
        .local()
        .describe_configs(ConfigResource::Topic, &topic, None)
        .await
        .map_err(|e| match e.code() {
            Some(ResponseError::UnknownTopicOrPartition) => topic_not_found(&topic),
            _ => ApiError::kafka(&e),
        })?;
    let b = format!(
        "{}/topics/{topic}/configs",
        api.cluster_url(&headers, &cluster_id)
    );
    let data = entries
        .into_iter()
        .map(|e| {
            let source = config_source(e.source);
            KafkaTopicConfigData {
                kind: KafkaTopicConfigData::KIND.into(),
                metadata: ResourceMetadata::new(
                    format!("{b}/{}", e.name),
                    Some(format!(
                        "crn:///kafka={cluster_id}/topic={topic}/config={}",
                        e.name
                    )),
                ),
                cluster_id: cluster_id.clone(),
                topic_name: topic.clone(),
                is_default: source == ConfigSource::DefaultConfig,
                is_read_only: e.read_only,
                is_sensitive: e.is_sensitive,
                source: source.into(),
                synonyms: vec![ConfigSynonym {
                    name: e.name.clone(),
                    value: e.value.clone(),
                    source: source.into(),
                }],
                name: e.name,
                value: e.value,
            }
        })
        .collect();
    Ok(ok(List::new(KafkaTopicConfigData::LIST_KIND, b, data)))
}

pub(super) async fn alter_topic_configs(
    State(api): State<Api>,
    Path((cluster_id, topic)): Path<(String, String)>,
    Query(q): Params,
    bytes: Bytes,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    if topic == api.manager.state_topic() {
        return Err(ApiError::bad_request(format!(
            "Topic '{topic}' holds this link server's state: its configs are not changed through the API"
        )));
    }
    let validate_only = flag(&q, "validate_only", false)?;
    let ops: Vec<AlterConfigOp> = alter_ops(body(&bytes, true)?)?
        .into_iter()
        .map(|o| match o {
            ConfigOp::Set(n, v) => AlterConfigOp::Set(n, v),
            ConfigOp::Delete(n) => AlterConfigOp::Delete(n),
        })
        .collect();
    topic_meta(&api, &topic).await?;
    api.manager
        .local()
        .incremental_alter_configs(ConfigResource::Topic, &topic, &ops, validate_only)
        .await
        .map_err(|e| match e.code() {
            Some(ResponseError::UnknownTopicOrPartition) => topic_not_found(&topic),
            Some(_) if !e.is_retriable() => ApiError::bad_request(e.to_string()),
            _ => ApiError::kafka(&e),
        })?;
    Ok(no_content())
}
