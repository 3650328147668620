//! The HTTP routes: Confluent's Admin REST v3 paths for clusters, topics, links, link configs
//! and mirrors, served under both `/kafka/v3` (Confluent Server) and `/v3` (REST Proxy), plus
//! `/healthz`, `/readyz` and `/metrics`.
//!
//! Bodies are parsed by hand from bytes rather than with axum's `Json` extractor, so that every
//! malformed request is Confluent's `{error_code, message}` 400 and never a plain-text 415/422.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use clusterlink_kafka::client::{AlterConfigOp, ConfigResource, NewTopic};
use clusterlink_kafka::{Error as KafkaError, ResponseError};
use clusterlink_mirror::offset_map::OffsetMode;
use clusterlink_mirror::{MirrorError, MirrorStatus};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::links::{ConfigOp, LinkError, LinkManager, MirrorAction, NewLink, NewMirror};

/// An error response: HTTP status, Confluent's `error_code` and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Confluent's error code (40002, 404, 40403, ...).
    pub code: u32,
    /// What is wrong.
    pub message: String,
    /// Metrics label.
    pub category: &'static str,
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: 40002,
            message: message.into(),
            category: "invalid",
        }
    }

    fn malformed(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: 400,
            message: message.into(),
            category: "malformed",
        }
    }

    fn not_found(code: u32, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code,
            message: message.into(),
            category: "not_found",
        }
    }

    fn kafka(e: &KafkaError) -> Self {
        // The broker's verdict on what the caller asked for is the caller's error, not ours.
        use ResponseError as E;
        let client_side = match e.code() {
            Some(E::UnknownTopicOrPartition) => Some((StatusCode::NOT_FOUND, 40403)),
            Some(
                E::TopicAuthorizationFailed
                | E::GroupAuthorizationFailed
                | E::ClusterAuthorizationFailed,
            ) => Some((StatusCode::FORBIDDEN, 40301)),
            Some(
                E::InvalidTopicException
                | E::TopicAlreadyExists
                | E::InvalidPartitions
                | E::InvalidReplicationFactor
                | E::InvalidReplicaAssignment
                | E::InvalidConfig
                | E::InvalidRequest
                | E::PolicyViolation,
            ) => Some((StatusCode::BAD_REQUEST, 40002)),
            _ => None,
        };
        if let Some((status, code)) = client_side {
            return ApiError {
                status,
                code,
                message: e.to_string(),
                category: e.category(),
            };
        }
        let retriable = e.is_retriable();
        ApiError {
            status: if retriable {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            },
            code: if retriable { 50003 } else { 50002 },
            message: e.to_string(),
            category: e.category(),
        }
    }
}

impl From<LinkError> for ApiError {
    fn from(e: LinkError) -> Self {
        let category = e.category();
        let mut out = match &e {
            LinkError::NotFound(_) | LinkError::Mirror(MirrorError::NotFound(_)) => {
                ApiError::not_found(404, e.to_string())
            }
            LinkError::Unavailable { .. } => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: 50003,
                message: e.to_string(),
                category,
            },
            LinkError::Mirror(MirrorError::Kafka { source, .. }) | LinkError::Local(source) => {
                let mut a = ApiError::kafka(source);
                a.message = e.to_string();
                a
            }
            LinkError::State(_) => ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: 500,
                message: e.to_string(),
                category,
            },
            _ => ApiError::bad_request(e.to_string()),
        };
        out.category = category;
        out
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            axum::Json(json!({"error_code": self.code, "message": self.message})),
        )
            .into_response();
        r.extensions_mut().insert(ErrorCategory(self.category));
        r
    }
}

/// Carried by error responses so the metrics layer can count them.
#[derive(Debug, Clone, Copy)]
struct ErrorCategory(&'static str);

type ApiResult<T = Response> = Result<T, ApiError>;

#[derive(Clone, Debug)]
struct Api {
    manager: LinkManager,
    prefix: &'static str,
}

/// The whole HTTP service.
pub fn router(manager: LinkManager) -> Router {
    let counting = manager.clone();
    Router::new()
        .nest("/kafka/v3", api_routes(manager.clone(), "/kafka/v3"))
        .nest("/v3", api_routes(manager.clone(), "/v3"))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(manager)
        .layer(axum::middleware::map_response(move |r: Response| {
            let counting = counting.clone();
            async move {
                if let Some(ErrorCategory(c)) = r.extensions().get::<ErrorCategory>() {
                    counting.count_error(c);
                }
                r
            }
        }))
        .fallback(|| async { ApiError::not_found(404, "HTTP 404 Not Found") })
}

fn api_routes(manager: LinkManager, prefix: &'static str) -> Router<LinkManager> {
    use axum::routing::{delete, post, put};
    let r: Router<Api> = Router::new()
        .route("/clusters", get(list_clusters))
        .route("/clusters/{cluster_id}", get(get_cluster))
        .route(
            "/clusters/{cluster_id}/topics",
            get(list_topics).post(create_topic),
        )
        .route(
            "/clusters/{cluster_id}/topics/{topic}",
            get(get_topic).delete(delete_topic),
        )
        .route(
            "/clusters/{cluster_id}/topics/{topic}/configs",
            get(topic_configs),
        )
        .route(
            "/clusters/{cluster_id}/topics/{topic}/configs:alter",
            post(alter_topic_configs),
        )
        .route(
            "/clusters/{cluster_id}/links",
            get(list_links).post(create_link),
        )
        .route(
            "/clusters/{cluster_id}/links/-/mirrors",
            get(list_all_mirrors),
        )
        .route(
            "/clusters/{cluster_id}/links/{link}",
            get(get_link).delete(delete_link),
        )
        .route(
            "/clusters/{cluster_id}/links/{link}/configs",
            get(link_configs),
        )
        .route(
            "/clusters/{cluster_id}/links/{link}/configs:alter",
            put(alter_link_configs).post(alter_link_configs),
        )
        .route(
            "/clusters/{cluster_id}/links/{link}/configs/{name}",
            get(link_config)
                .put(put_link_config)
                .merge(delete(delete_link_config)),
        )
        .route(
            "/clusters/{cluster_id}/links/{link}/mirrors",
            get(list_mirrors).post(create_mirror),
        )
        .route(
            "/clusters/{cluster_id}/links/{link}/mirrors:promote",
            post(|s, h, p, q, b| alter_mirrors(s, h, p, q, b, MirrorAction::Promote)),
        )
        .route(
            "/clusters/{cluster_id}/links/{link}/mirrors:failover",
            post(|s, h, p, q, b| alter_mirrors(s, h, p, q, b, MirrorAction::Failover)),
        )
        .route(
            "/clusters/{cluster_id}/links/{link}/mirrors:pause",
            post(|s, h, p, q, b| alter_mirrors(s, h, p, q, b, MirrorAction::Pause)),
        )
        .route(
            "/clusters/{cluster_id}/links/{link}/mirrors:resume",
            post(|s, h, p, q, b| alter_mirrors(s, h, p, q, b, MirrorAction::Resume)),
        )
        .route(
            "/clusters/{cluster_id}/links/{link}/mirrors/{mirror}",
            get(get_mirror),
        );
    r.with_state(Api { manager, prefix })
}

// ------------------------------------------------------------------ helpers

type Params = Query<HashMap<String, String>>;

fn base(api: &Api, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}{}", api.prefix)
}

fn check_cluster(api: &Api, cluster_id: &str) -> ApiResult<()> {
    if cluster_id == api.manager.cluster_id() {
        Ok(())
    } else {
        Err(ApiError::not_found(
            404,
            format!("Cluster {cluster_id} cannot be found."),
        ))
    }
}

fn flag(q: &HashMap<String, String>, name: &str, default: bool) -> ApiResult<bool> {
    match q.get(name).map(|v| v.to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => Err(ApiError::malformed(format!(
            "query parameter {name}: '{v}' is not true or false"
        ))),
    }
}

fn body<T: DeserializeOwned + Default>(bytes: &Bytes, required: bool) -> ApiResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return if required {
            Err(ApiError::malformed("A request body is required"))
        } else {
            Ok(T::default())
        };
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::malformed(format!("Malformed JSON request body: {e}")))
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn collection(kind: &str, self_url: String, data: Vec<Value>) -> Value {
    json!({"kind": kind, "metadata": {"self": self_url, "next": null}, "data": data})
}

#[derive(Debug, Deserialize, Default)]
struct ConfigData {
    name: String,
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AlterConfigData {
    name: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    operation: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
struct AlterConfigBatch {
    data: Vec<AlterConfigData>,
}

/// The operations of a `configs:alter` body, for links and topics alike.
fn alter_ops(batch: AlterConfigBatch) -> ApiResult<Vec<ConfigOp>> {
    batch
        .data
        .into_iter()
        .map(|d| {
            match d
                .operation
                .as_deref()
                .map(str::to_ascii_uppercase)
                .as_deref()
            {
                None | Some("SET") => d
                    .value
                    .map(|v| ConfigOp::Set(d.name.clone(), v))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("Config '{}' is SET without a value", d.name))
                    }),
                Some("DELETE") => Ok(ConfigOp::Delete(d.name)),
                Some(op) => Err(ApiError::bad_request(format!(
                    "Unknown config operation '{op}': use SET or DELETE"
                ))),
            }
        })
        .collect()
}

// ------------------------------------------------------------------ clusters

fn cluster_data(api: &Api, headers: &HeaderMap) -> Value {
    let id = api.manager.cluster_id();
    let b = format!("{}/clusters/{id}", base(api, headers));
    let meta = api.manager.local().cached_metadata();
    json!({
        "kind": "KafkaCluster",
        "metadata": {"self": b, "resource_name": format!("crn:///kafka={id}")},
        "cluster_id": id,
        "controller": {"related": format!("{b}/brokers/{}", meta.controller_id)},
        "acls": {"related": format!("{b}/acls")},
        "brokers": {"related": format!("{b}/brokers")},
        "broker_configs": {"related": format!("{b}/broker-configs")},
        "consumer_groups": {"related": format!("{b}/consumer-groups")},
        "topics": {"related": format!("{b}/topics")},
        "partition_reassignments": {"related": format!("{b}/topics/-/partitions/-/reassignment")},
    })
}

async fn list_clusters(State(api): State<Api>, headers: HeaderMap) -> Response {
    let url = format!("{}/clusters", base(&api, &headers));
    ok(collection(
        "KafkaClusterList",
        url,
        vec![cluster_data(&api, &headers)],
    ))
}

async fn get_cluster(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(cluster_id): Path<String>,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    Ok(ok(cluster_data(&api, &headers)))
}

// ------------------------------------------------------------------ topics

fn topic_not_found(topic: &str) -> ApiError {
    ApiError::not_found(
        40403,
        format!("This server does not host this topic-partition. (topic '{topic}')"),
    )
}

fn topic_data(
    api: &Api,
    headers: &HeaderMap,
    name: &str,
    t: &clusterlink_kafka::client::TopicMetadata,
) -> Value {
    let id = api.manager.cluster_id();
    let b = format!("{}/clusters/{id}/topics/{name}", base(api, headers));
    json!({
        "kind": "KafkaTopic",
        "metadata": {"self": b, "resource_name": format!("crn:///kafka={id}/topic={name}")},
        "cluster_id": id,
        "topic_name": name,
        "is_internal": t.is_internal,
        "replication_factor": t.partitions.values().next().map_or(0, |p| p.replicas.len()),
        "partitions_count": t.partitions.len(),
        "partitions": {"related": format!("{b}/partitions")},
        "configs": {"related": format!("{b}/configs")},
        "partition_reassignments": {"related": format!("{b}/partitions/-/reassignment")},
    })
}

async fn list_topics(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(cluster_id): Path<String>,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
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
        .map(|(n, t)| topic_data(&api, &headers, n, t))
        .collect();
    let url = format!("{}/clusters/{cluster_id}/topics", base(&api, &headers));
    Ok(ok(collection("KafkaTopicList", url, data)))
}

async fn topic_meta(api: &Api, topic: &str) -> ApiResult<clusterlink_kafka::client::TopicMetadata> {
    let local = api.manager.local();
    local.invalidate_metadata();
    match local.topic_metadata(topic).await {
        Ok(t) => Ok(t),
        Err(e) if e.is(ResponseError::UnknownTopicOrPartition) => Err(topic_not_found(topic)),
        Err(e) => Err(ApiError::kafka(&e)),
    }
}

async fn get_topic(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, topic)): Path<(String, String)>,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    let t = topic_meta(&api, &topic).await?;
    Ok(ok(topic_data(&api, &headers, &topic, &t)))
}

/// The most partitions a topic created through the API may ask for.
const MAX_PARTITIONS: i32 = 100_000;

#[derive(Debug, Deserialize, Default)]
struct CreateTopic {
    topic_name: String,
    #[serde(default)]
    partitions_count: Option<i32>,
    #[serde(default)]
    replication_factor: Option<i16>,
    #[serde(default)]
    configs: Vec<ConfigData>,
}

async fn create_topic(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(cluster_id): Path<String>,
    Query(q): Params,
    bytes: Bytes,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    let req: CreateTopic = body(&bytes, true)?;
    if req.topic_name.is_empty() {
        return Err(ApiError::bad_request("topic_name is required"));
    }
    if !crate::links::is_topic_name(&req.topic_name) {
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
    if let Some(r) = req.replication_factor {
        if r != -1 && r < 1 {
            return Err(ApiError::bad_request(format!(
                "replication_factor {r} is out of range: 1 or more, or -1 for the broker default"
            )));
        }
    }
    let validate_only = flag(&q, "validate_only", false)?;
    let mut configs = Vec::new();
    for c in req.configs {
        let v = c
            .value
            .ok_or_else(|| ApiError::bad_request(format!("Config '{}' has no value", c.name)))?;
        configs.push((c.name, v));
    }
    let new = NewTopic {
        name: req.topic_name.clone(),
        partitions: req.partitions_count.unwrap_or(-1),
        replication_factor: req.replication_factor.unwrap_or(-1),
        configs,
    };
    let local = api.manager.local();
    local.invalidate_metadata();
    if local.topic_metadata(&req.topic_name).await.is_ok() {
        return Err(ApiError::bad_request(format!(
            "Topic '{}' already exists.",
            req.topic_name
        )));
    }
    if !validate_only {
        let results = local
            .create_topics(&[new], false, Duration::from_secs(30))
            .await
            .map_err(|e| ApiError::kafka(&e))?;
        for (_, r) in results {
            match r {
                Ok(()) => {}
                Err(e) if e.is(ResponseError::TopicAlreadyExists) => {
                    return Err(ApiError::bad_request(format!(
                        "Topic '{}' already exists.",
                        req.topic_name
                    )))
                }
                Err(e) if e.code().is_some() && !e.is_retriable() => {
                    return Err(ApiError::bad_request(e.to_string()))
                }
                Err(e) => return Err(ApiError::kafka(&e)),
            }
        }
    }
    let mut data = match topic_meta(&api, &req.topic_name).await {
        Ok(t) => topic_data(&api, &headers, &req.topic_name, &t),
        Err(_) if validate_only => json!({}),
        Err(e) => return Err(e),
    };
    if validate_only {
        data = json!({"kind": "KafkaTopic", "metadata": {"self": format!("{}/clusters/{cluster_id}/topics/{}", base(&api, &headers), req.topic_name), "resource_name": null}, "cluster_id": cluster_id, "topic_name": req.topic_name});
    }
    Ok((StatusCode::CREATED, axum::Json(data)).into_response())
}

async fn delete_topic(
    State(api): State<Api>,
    Path((cluster_id, topic)): Path<(String, String)>,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    topic_meta(&api, &topic).await?;
    if topic == api.manager.state_topic() {
        return Err(ApiError::bad_request(format!(
            "Topic '{topic}' holds this link server's links and checkpoints: it cannot be deleted through the API"
        )));
    }
    if let Some(link) = api.manager.owner_of(&topic) {
        api.manager.delete_mirror(&link, &topic).await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
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
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn config_source(code: i8) -> &'static str {
    match code {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        _ => "UNKNOWN",
    }
}

async fn topic_configs(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, topic)): Path<(String, String)>,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
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
        "{}/clusters/{cluster_id}/topics/{topic}/configs",
        base(&api, &headers)
    );
    let data = entries
        .into_iter()
        .map(|e| {
            let source = config_source(e.source);
            json!({
                "kind": "KafkaTopicConfig",
                "metadata": {"self": format!("{b}/{}", e.name), "resource_name": format!("crn:///kafka={cluster_id}/topic={topic}/config={}", e.name)},
                "cluster_id": cluster_id,
                "topic_name": topic,
                "name": e.name,
                "value": e.value,
                "is_default": e.source == 5,
                "is_read_only": e.read_only,
                "is_sensitive": e.is_sensitive,
                "source": source,
                "synonyms": [{"name": e.name, "value": e.value, "source": source}],
            })
        })
        .collect();
    Ok(ok(collection("KafkaTopicConfigList", b, data)))
}

async fn alter_topic_configs(
    State(api): State<Api>,
    Path((cluster_id, topic)): Path<(String, String)>,
    Query(q): Params,
    bytes: Bytes,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
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
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ------------------------------------------------------------------ links

fn link_data(api: &Api, headers: &HeaderMap, l: &crate::links::LinkInfo) -> Value {
    let id = api.manager.cluster_id();
    let b = format!("{}/clusters/{id}/links/{}", base(api, headers), l.name);
    let tasks: Vec<Value> = l
        .not_applied
        .iter()
        .map(|c| {
            json!({
                "task_name": format!("Config:{c}"),
                "state": "NOT_CONFIGURED",
                "errors": [{"error_code": "MISCONFIGURATION_ERROR", "error_message": format!("{c} is stored but not implemented by clusterlink yet: it has no effect")}],
            })
        })
        .collect();
    let mut counts = [
        ("ACTIVE", 0),
        ("PAUSED", 0),
        ("IN_ERROR", 0),
        ("PENDING", 0),
        ("NOT_APPLICABLE", 0),
    ];
    for (state, n) in &l.mirror_states {
        let cat = match *state {
            "ACTIVE" => 0,
            "PAUSED" | "LINK_PAUSED" => 1,
            "FAILED" | "SOURCE_UNAVAILABLE" => 2,
            "PENDING_STOPPED" => 3,
            _ => 4,
        };
        counts[cat].1 += n;
    }
    json!({
        "kind": "KafkaLinkData",
        "metadata": {"self": b, "resource_name": format!("crn:///kafka={id}/link={}", l.name)},
        "source_cluster_id": l.source_cluster_id,
        "destination_cluster_id": l.destination_cluster_id,
        "remote_cluster_id": l.remote_cluster_id,
        "link_name": l.name,
        "link_id": l.id,
        "cluster_link_id": l.id,
        "topic_names": l.topic_names,
        "link_state": l.state,
        "link_error": match (l.state, l.authentication_failed) {
            ("UNAVAILABLE", true) => "AUTHENTICATION_ERROR",
            ("UNAVAILABLE", false) => "BOOTSTRAP_TCP_CONNECTION_FAILED_ERROR",
            _ => "NO_ERROR",
        },
        "link_error_message": l.error_message,
        "tasks": tasks,
        "category_counts": counts.iter().map(|(c, n)| json!({"state_category": c, "count": n})).collect::<Vec<_>>(),
        "not_implemented_configs": l.not_applied,
    })
}

async fn list_links(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(cluster_id): Path<String>,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    let data = api
        .manager
        .links()
        .iter()
        .map(|l| link_data(&api, &headers, l))
        .collect();
    let url = format!("{}/clusters/{cluster_id}/links", base(&api, &headers));
    Ok(ok(collection("KafkaLinkDataList", url, data)))
}

#[derive(Debug, Deserialize, Default)]
struct CreateLink {
    #[serde(default)]
    source_cluster_id: Option<String>,
    #[serde(default)]
    destination_cluster_id: Option<String>,
    #[serde(default)]
    remote_cluster_id: Option<String>,
    #[serde(default)]
    cluster_link_id: Option<String>,
    #[serde(default)]
    configs: Vec<ConfigData>,
}

async fn create_link(
    State(api): State<Api>,
    Path(cluster_id): Path<String>,
    Query(q): Params,
    bytes: Bytes,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    let name = q
        .get("link_name")
        .cloned()
        .ok_or_else(|| ApiError::bad_request("Query parameter link_name is required"))?;
    let validate_only = flag(&q, "validate_only", false)?;
    let validate_link = flag(&q, "validate_link", true)?;
    let req: CreateLink = body(&bytes, false)?;
    let mut configs = Vec::new();
    for c in req.configs {
        let v = c
            .value
            .ok_or_else(|| ApiError::bad_request(format!("Config '{}' has no value", c.name)))?;
        configs.push((c.name, v));
    }
    let link = NewLink {
        name,
        // The remote cluster's id, whichever field names it for the link's mode.
        source_cluster_id: req
            .source_cluster_id
            .or(req.remote_cluster_id)
            .or(req.destination_cluster_id),
        cluster_link_id: req.cluster_link_id,
        configs,
    };
    api.manager
        .create_link(link, validate_only, validate_link)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_link(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, link)): Path<(String, String)>,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    let l = api.manager.link(&link)?;
    Ok(ok(link_data(&api, &headers, &l)))
}

async fn delete_link(
    State(api): State<Api>,
    Path((cluster_id, link)): Path<(String, String)>,
    Query(q): Params,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    let force = flag(&q, "force", false)?;
    let validate_only = flag(&q, "validate_only", false)?;
    api.manager.delete_link(&link, force, validate_only).await?;
    Ok(StatusCode::OK.into_response())
}

fn link_config_data(
    api: &Api,
    headers: &HeaderMap,
    link: &str,
    c: &crate::links::LinkConfig,
) -> Value {
    let id = api.manager.cluster_id();
    json!({
        "kind": "KafkaLinkConfigData",
        "metadata": {"self": format!("{}/clusters/{id}/links/{link}/configs/{}", base(api, headers), c.name), "resource_name": null},
        "cluster_id": id,
        "link_name": link,
        "name": c.name,
        "value": c.value,
        "default": c.is_default,
        "read_only": c.read_only,
        "sensitive": c.sensitive,
        "is_default": c.is_default,
        "is_read_only": c.read_only,
        "is_sensitive": c.sensitive,
        "source": "DYNAMIC_CLUSTER_LINK_CONFIG",
        "synonyms": [],
        "implemented": c.applied,
    })
}

async fn link_configs(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, link)): Path<(String, String)>,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    let data = api
        .manager
        .configs(&link)?
        .iter()
        .map(|c| link_config_data(&api, &headers, &link, c))
        .collect();
    let url = format!(
        "{}/clusters/{cluster_id}/links/{link}/configs",
        base(&api, &headers)
    );
    Ok(ok(collection("KafkaLinkConfigDataList", url, data)))
}

async fn link_config(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, link, name)): Path<(String, String, String)>,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    let c = api.manager.config(&link, &name)?;
    Ok(ok(link_config_data(&api, &headers, &link, &c)))
}

#[derive(Debug, Deserialize, Default)]
struct UpdateValue {
    value: Option<String>,
}

async fn put_link_config(
    State(api): State<Api>,
    Path((cluster_id, link, name)): Path<(String, String, String)>,
    bytes: Bytes,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    let req: UpdateValue = body(&bytes, true)?;
    let value = req
        .value
        .ok_or_else(|| ApiError::bad_request("value is required"))?;
    api.manager
        .alter_configs(&link, &[ConfigOp::Set(name, value)], false)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_link_config(
    State(api): State<Api>,
    Path((cluster_id, link, name)): Path<(String, String, String)>,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    api.manager
        .alter_configs(&link, &[ConfigOp::Delete(name)], false)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn alter_link_configs(
    State(api): State<Api>,
    Path((cluster_id, link)): Path<(String, String)>,
    Query(q): Params,
    bytes: Bytes,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    let validate_only = flag(&q, "validate_only", false)?;
    let ops = alter_ops(body(&bytes, true)?)?;
    api.manager
        .alter_configs(&link, &ops, validate_only)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ------------------------------------------------------------------ mirrors

fn lags(m: &MirrorStatus) -> Vec<Value> {
    m.partitions
        .iter()
        .map(|p| {
            json!({
                "partition": p.partition,
                "lag": p.lag_records,
                "last_source_fetch_offset": p.next_source_offset,
            })
        })
        .collect()
}

fn mirror_data(api: &Api, headers: &HeaderMap, link: &str, m: &MirrorStatus) -> Value {
    let id = api.manager.cluster_id();
    let errors: Vec<Value> = m
        .reason
        .iter()
        .map(|r| json!({"error_code": m.state.as_str(), "error_message": r}))
        .collect();
    json!({
        "kind": "KafkaMirrorData",
        "metadata": {"self": format!("{}/clusters/{id}/links/{link}/mirrors/{}", base(api, headers), m.name), "resource_name": format!("crn:///kafka={id}/link={link}/topic={}", m.name)},
        "link_name": link,
        "mirror_topic_name": m.name,
        "source_topic_name": m.source_topic,
        "num_partitions": m.partitions.len(),
        "mirror_lags": lags(m),
        "mirror_status": m.state.as_str(),
        "state_time_ms": m.state_time_ms,
        "mirror_topic_error": if m.reason.is_some() { "UNKNOWN" } else { "NO_ERROR" },
        "mirror_state_transition_errors": errors,
        "offset_mode": match m.offset_mode { OffsetMode::Aligned => "ALIGNED", _ => "TRANSLATED" },
    })
}

const STATUSES: &[&str] = &[
    "ACTIVE",
    "FAILED",
    "PAUSED",
    "STOPPED",
    "PENDING_STOPPED",
    "PENDING_SYNCHRONIZE",
    "PENDING_MIRROR",
    "LINK_FAILED",
    "LINK_PAUSED",
    "SOURCE_UNAVAILABLE",
    "PENDING_SETUP_FOR_RESTORE",
    "PENDING_RESTORE",
];

fn mirror_list(
    api: &Api,
    headers: &HeaderMap,
    link: Option<&str>,
    q: &HashMap<String, String>,
    url: String,
) -> ApiResult {
    let filter = match q.get("mirror_status") {
        None => None,
        Some(s) => {
            let up = s.to_ascii_uppercase();
            if !STATUSES.contains(&up.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "Unknown mirror_status '{s}': one of {}",
                    STATUSES.join(", ")
                )));
            }
            Some(up)
        }
    };
    let data = api
        .manager
        .mirrors(link)?
        .iter()
        .filter(|(_, m)| filter.as_deref().is_none_or(|f| m.state.as_str() == f))
        .map(|(l, m)| mirror_data(api, headers, l, m))
        .collect();
    Ok(ok(collection("KafkaMirrorDataList", url, data)))
}

async fn list_mirrors(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, link)): Path<(String, String)>,
    Query(q): Params,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    let url = format!(
        "{}/clusters/{cluster_id}/links/{link}/mirrors",
        base(&api, &headers)
    );
    mirror_list(&api, &headers, Some(&link), &q, url)
}

async fn list_all_mirrors(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(cluster_id): Path<String>,
    Query(q): Params,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    let url = format!(
        "{}/clusters/{cluster_id}/links/-/mirrors",
        base(&api, &headers)
    );
    mirror_list(&api, &headers, None, &q, url)
}

#[derive(Debug, Deserialize, Default)]
struct CreateMirror {
    source_topic_name: String,
    #[serde(default)]
    mirror_topic_name: Option<String>,
    #[serde(default)]
    replication_factor: Option<i16>,
    #[serde(default)]
    configs: Vec<ConfigData>,
}

async fn create_mirror(
    State(api): State<Api>,
    Path((cluster_id, link)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    let req: CreateMirror = body(&bytes, true)?;
    let mut configs = Vec::new();
    for c in req.configs {
        let v = c
            .value
            .ok_or_else(|| ApiError::bad_request(format!("Config '{}' has no value", c.name)))?;
        configs.push((c.name, v));
    }
    api.manager
        .create_mirror(
            &link,
            NewMirror {
                source_topic: req.source_topic_name,
                mirror_topic: req.mirror_topic_name,
                replication_factor: req.replication_factor,
                configs,
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_mirror(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, link, mirror)): Path<(String, String, String)>,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    api.manager.link(&link)?;
    let m = api.manager.mirror(&link, &mirror)?;
    Ok(ok(mirror_data(&api, &headers, &link, &m)))
}

#[derive(Debug, Deserialize, Default)]
struct AlterMirrors {
    mirror_topic_names: Option<Vec<String>>,
}

async fn alter_mirrors(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, link)): Path<(String, String)>,
    Query(q): Params,
    bytes: Bytes,
    action: MirrorAction,
) -> ApiResult {
    check_cluster(&api, &cluster_id)?;
    let validate_only = flag(&q, "validate_only", false)?;
    let req: AlterMirrors = body(&bytes, true)?;
    let names = req
        .mirror_topic_names
        .ok_or_else(|| ApiError::bad_request("mirror_topic_names is required"))?;
    let results = api
        .manager
        .alter_mirrors(&link, &names, action, validate_only)
        .await?;
    let b = format!(
        "{}/clusters/{cluster_id}/links/{link}/mirrors",
        base(&api, &headers)
    );
    let data = results
        .iter()
        .map(|(name, r)| {
            let (code, message, lags) = match r {
                Ok(m) => (Value::Null, Value::Null, lags(m)),
                Err(e) => {
                    let a = ApiError::from(LinkError::Invalid(e.to_string()));
                    let code =
                        if matches!(e, LinkError::Mirror(MirrorError::InvalidTransition { .. })) {
                            400
                        } else {
                            a.status.as_u16() as u32
                        };
                    (
                        json!(code),
                        json!(e.to_string()),
                        api.manager
                            .mirror(&link, name)
                            .map(|m| lags(&m))
                            .unwrap_or_default(),
                    )
                }
            };
            json!({
                "kind": "AlterMirrorsData",
                "metadata": {"self": format!("{b}/{name}"), "resource_name": null},
                "mirror_topic_name": name,
                "error_code": code,
                "error_message": message,
                "mirror_lags": lags,
            })
        })
        .collect();
    let kind = match action {
        MirrorAction::Promote => "KafkaPromoteMirror",
        MirrorAction::Failover => "KafkaFailoverMirror",
        MirrorAction::Pause => "KafkaPauseMirror",
        _ => "KafkaResumeMirror",
    };
    Ok(ok(collection(kind, b, data)))
}

// ------------------------------------------------------------------ health and metrics

async fn readyz(State(manager): State<LinkManager>) -> Response {
    if manager.ready().await {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the local Kafka cluster does not answer\n",
        )
            .into_response()
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The Prometheus text exposition of the links, mirrors and errors.
pub fn metrics_text(manager: &LinkManager) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(out, "{name}{{{labels}}} {v}");
        }
    };
    let links = manager.links();
    family(
        "clusterlink_link_state",
        "gauge",
        "1 for the link's current state (ACTIVE, UNAVAILABLE).",
        links
            .iter()
            .map(|l| {
                (
                    format!("link=\"{}\",state=\"{}\"", esc(&l.name), l.state),
                    "1".into(),
                )
            })
            .collect(),
    );
    let mirrors = manager.mirrors(None).unwrap_or_default();
    let mut states = Vec::new();
    let mut lag_records = Vec::new();
    let mut lag_seconds = Vec::new();
    let mut records = Vec::new();
    let mut bytes = Vec::new();
    let mut part_errors = Vec::new();
    let mut buffered = Vec::new();
    for (link, m) in &mirrors {
        let ml = format!("link=\"{}\",mirror=\"{}\"", esc(link), esc(&m.name));
        states.push((format!("{ml},state=\"{}\"", m.state.as_str()), "1".into()));
        for p in &m.partitions {
            let pl = format!("{ml},partition=\"{}\"", p.partition);
            lag_records.push((pl.clone(), p.lag_records.to_string()));
            lag_seconds.push((pl.clone(), format!("{}", p.lag_seconds)));
            records.push((pl.clone(), p.records_mirrored.to_string()));
            bytes.push((pl.clone(), p.bytes_mirrored.to_string()));
            part_errors.push((pl.clone(), u8::from(p.last_error.is_some()).to_string()));
            buffered.push((pl, p.buffered_bytes.to_string()));
        }
    }
    family(
        "clusterlink_mirror_state",
        "gauge",
        "1 for the mirror topic's current state.",
        states,
    );
    family(
        "clusterlink_mirror_lag_records",
        "gauge",
        "Records the mirror partition is behind the source's high watermark.",
        lag_records,
    );
    family(
        "clusterlink_mirror_lag_seconds",
        "gauge",
        "Age of the oldest source record not yet mirrored (0 when caught up).",
        lag_seconds,
    );
    family(
        "clusterlink_mirror_records_total",
        "counter",
        "Records written to the mirror partition by this server process.",
        records,
    );
    family(
        "clusterlink_mirror_bytes_total",
        "counter",
        "Record batch bytes written to the mirror partition by this server process.",
        bytes,
    );
    family(
        "clusterlink_mirror_partition_error",
        "gauge",
        "1 while the mirror partition's last fetch or write failed.",
        part_errors,
    );
    family(
        "clusterlink_mirror_buffered_bytes",
        "gauge",
        "Bytes of fetched batches held for the mirror partition, queued or being written (a link holds at most --buffer-max-bytes for its mirrors that move data, plus one fetch).",
        buffered,
    );
    family(
        "clusterlink_errors_total",
        "counter",
        "API errors by category.",
        manager
            .error_counts()
            .into_iter()
            .map(|(c, n)| (format!("category=\"{}\"", esc(c)), n.to_string()))
            .collect(),
    );
    out
}

async fn metrics(State(manager): State<LinkManager>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics_text(&manager),
    )
        .into_response()
}
