//! Cluster links and their configs (`/clusters/{id}/links/...`).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use clusterlink_rest_v3::configs::{ConfigSource, UpdateConfigRequest};
use clusterlink_rest_v3::links::{
    CategoryCount, CreateLinkRequest, KafkaLinkConfigData, KafkaLinkData, LinkErrorCode, LinkState,
    LinkTask, LinkTaskError, LinkTaskErrorCode, LinkTaskState, StateCategory,
};
use clusterlink_rest_v3::{List, ResourceMetadata};

use super::context::{alter_ops, body, config_values, flag, no_content, ok, Api, Params};
use super::error::{ApiError, ApiResult};
use crate::links::{ConfigOp, LinkConfig, LinkStatus, NewLink};

fn link_data(api: &Api, headers: &HeaderMap, l: &LinkStatus) -> KafkaLinkData {
    let id = api.manager.cluster_id();
    let b = format!("{}/links/{}", api.cluster_url(headers, id), l.name);
    let running = l.tasks.iter().map(|t| LinkTask {
        task_name: t.name.clone(),
        state: t.state.into(),
        errors: t
            .errors
            .iter()
            .map(|(code, message)| LinkTaskError {
                error_code: (*code).into(),
                error_message: message.clone(),
            })
            .collect(),
    });
    let not_applied = l.not_applied.iter().map(|c| LinkTask {
        task_name: format!("Config:{c}"),
        state: LinkTaskState::NotConfigured.into(),
        errors: vec![LinkTaskError {
            error_code: LinkTaskErrorCode::MisconfigurationError.into(),
            error_message: format!(
                "{c} is stored but not implemented by clusterlink yet: it has no effect"
            ),
        }],
    });
    let tasks = running.chain(not_applied).collect();
    let category_counts = StateCategory::ALL
        .iter()
        .map(|&category| CategoryCount {
            state_category: category.into(),
            count: l
                .mirror_states
                .iter()
                .filter(|(state, _)| StateCategory::of(**state) == category)
                .map(|(_, n)| *n as u64)
                .sum(),
        })
        .collect();
    KafkaLinkData {
        kind: KafkaLinkData::KIND.into(),
        metadata: ResourceMetadata::new(b, Some(format!("crn:///kafka={id}/link={}", l.name))),
        source_cluster_id: l.source_cluster_id.clone(),
        destination_cluster_id: Some(l.destination_cluster_id.clone()),
        remote_cluster_id: l.remote_cluster_id.clone(),
        link_name: l.name.clone(),
        link_id: l.id.clone(),
        cluster_link_id: l.id.clone(),
        topic_names: l.topic_names.clone(),
        link_state: l.state.into(),
        link_error: match (l.state, l.authentication_failed) {
            (LinkState::Unavailable, true) => LinkErrorCode::AuthenticationError,
            (LinkState::Unavailable, false) => LinkErrorCode::BootstrapTcpConnectionFailedError,
            _ => LinkErrorCode::NoError,
        }
        .into(),
        link_error_message: l.error_message.clone(),
        tasks,
        category_counts,
        not_implemented_configs: l.not_applied.clone(),
    }
}

pub(super) async fn list_links(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(cluster_id): Path<String>,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let data = api
        .manager
        .links()
        .iter()
        .map(|l| link_data(&api, &headers, l))
        .collect();
    let url = format!("{}/links", api.cluster_url(&headers, &cluster_id));
    Ok(ok(List::new(KafkaLinkData::LIST_KIND, url, data)))
}

pub(super) async fn create_link(
    State(api): State<Api>,
    Path(cluster_id): Path<String>,
    Query(q): Params,
    bytes: Bytes,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let name = q
        .get("link_name")
        .cloned()
        .ok_or_else(|| ApiError::bad_request("Query parameter link_name is required"))?;
    let validate_only = flag(&q, "validate_only", false)?;
    let validate_link = flag(&q, "validate_link", true)?;
    let req: CreateLinkRequest = body(&bytes, false)?;
    let link = NewLink {
        name,
        // The remote cluster's id, whichever field names it for the link's mode.
        source_cluster_id: req
            .source_cluster_id
            .or(req.remote_cluster_id)
            .or(req.destination_cluster_id),
        cluster_link_id: req.cluster_link_id,
        configs: config_values(req.configs)?,
    };
    api.manager
        .create_link(link, validate_only, validate_link)
        .await?;
    Ok(no_content())
}

pub(super) async fn get_link(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, link)): Path<(String, String)>,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let l = api.manager.link(&link)?;
    Ok(ok(link_data(&api, &headers, &l)))
}

pub(super) async fn delete_link(
    State(api): State<Api>,
    Path((cluster_id, link)): Path<(String, String)>,
    Query(q): Params,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let force = flag(&q, "force", false)?;
    let validate_only = flag(&q, "validate_only", false)?;
    api.manager.delete_link(&link, force, validate_only).await?;
    Ok(StatusCode::OK.into_response())
}

fn link_config_data(
    api: &Api,
    headers: &HeaderMap,
    link: &str,
    c: &LinkConfig,
) -> KafkaLinkConfigData {
    let id = api.manager.cluster_id();
    KafkaLinkConfigData {
        kind: KafkaLinkConfigData::KIND.into(),
        metadata: ResourceMetadata::new(
            format!(
                "{}/links/{link}/configs/{}",
                api.cluster_url(headers, id),
                c.name
            ),
            None,
        ),
        cluster_id: id.to_owned(),
        link_name: link.to_owned(),
        name: c.name.clone(),
        value: c.value.clone(),
        default: c.is_default,
        read_only: c.read_only,
        sensitive: c.sensitive,
        is_default: c.is_default,
        is_read_only: c.read_only,
        is_sensitive: c.sensitive,
        source: ConfigSource::DynamicClusterLinkConfig.into(),
        synonyms: Vec::new(),
        implemented: c.applied,
    }
}

pub(super) async fn link_configs(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, link)): Path<(String, String)>,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let data = api
        .manager
        .configs(&link)?
        .iter()
        .map(|c| link_config_data(&api, &headers, &link, c))
        .collect();
    let url = format!(
        "{}/links/{link}/configs",
        api.cluster_url(&headers, &cluster_id)
    );
    Ok(ok(List::new(KafkaLinkConfigData::LIST_KIND, url, data)))
}

pub(super) async fn link_config(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, link, name)): Path<(String, String, String)>,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let c = api.manager.config(&link, &name)?;
    Ok(ok(link_config_data(&api, &headers, &link, &c)))
}

pub(super) async fn put_link_config(
    State(api): State<Api>,
    Path((cluster_id, link, name)): Path<(String, String, String)>,
    bytes: Bytes,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let req: UpdateConfigRequest = body(&bytes, true)?;
    let value = req
        .value
        .ok_or_else(|| ApiError::bad_request("value is required"))?;
    alter(&api, &link, vec![ConfigOp::Set(name, value)], false).await
}

pub(super) async fn delete_link_config(
    State(api): State<Api>,
    Path((cluster_id, link, name)): Path<(String, String, String)>,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    alter(&api, &link, vec![ConfigOp::Delete(name)], false).await
}

pub(super) async fn alter_link_configs(
    State(api): State<Api>,
    Path((cluster_id, link)): Path<(String, String)>,
    Query(q): Params,
    bytes: Bytes,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let validate_only = flag(&q, "validate_only", false)?;
    let ops = alter_ops(body(&bytes, true)?)?;
    alter(&api, &link, ops, validate_only).await
}

async fn alter(api: &Api, link: &str, ops: Vec<ConfigOp>, validate_only: bool) -> ApiResult {
    api.manager.alter_configs(link, &ops, validate_only).await?;
    Ok(no_content())
}
