//! Mirror topics (`/clusters/{id}/links/{link}/mirrors...`, and `links/-/mirrors` for every
//! link): listed (optionally by state), created, described, and changed by `mirrors:<action>`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use clusterlink_mirror::MirrorStatus;
use clusterlink_rest_v3::mirrors::{
    AlterMirrorsData, AlterMirrorsRequest, CreateMirrorRequest, KafkaMirrorData, MirrorLag,
    MirrorStateTransitionError, MirrorTopicError,
};
use clusterlink_rest_v3::{List, MirrorAction, MirrorState, ResourceMetadata};

use super::context::{body, config_values, flag, no_content, ok, replication_factor, Api, Params};
use super::error::{ApiError, ApiResult};
use crate::links::NewMirror;

fn lags(m: &MirrorStatus) -> Vec<MirrorLag> {
    m.partitions
        .iter()
        .map(|p| MirrorLag {
            partition: p.partition,
            lag: p.lag_records,
            last_source_fetch_offset: p.next_source_offset,
            lag_seconds: Some(p.lag_seconds),
        })
        .collect()
}

fn mirror_data(api: &Api, headers: &HeaderMap, link: &str, m: &MirrorStatus) -> KafkaMirrorData {
    let id = api.manager.cluster_id();
    let state = m.state;
    KafkaMirrorData {
        kind: KafkaMirrorData::KIND.into(),
        metadata: ResourceMetadata::new(
            format!(
                "{}/links/{link}/mirrors/{}",
                api.cluster_url(headers, id),
                m.name
            ),
            Some(format!("crn:///kafka={id}/link={link}/topic={}", m.name)),
        ),
        link_name: link.to_owned(),
        mirror_topic_name: m.name.clone(),
        source_topic_name: m.source_topic.clone(),
        num_partitions: m.partitions.len() as i32,
        mirror_lags: lags(m),
        mirror_status: state.into(),
        state_time_ms: m.state_time_ms,
        mirror_topic_error: if m.reason.is_some() {
            MirrorTopicError::Unknown
        } else {
            MirrorTopicError::NoError
        }
        .into(),
        mirror_state_transition_errors: m
            .reason
            .iter()
            .map(|r| MirrorStateTransitionError {
                error_code: state.into(),
                error_message: r.clone(),
            })
            .collect(),
        offset_mode: Some(m.offset_mode.into()),
        truncation: m.truncation.clone(),
    }
}

fn mirror_list(
    api: &Api,
    headers: &HeaderMap,
    link: Option<&str>,
    q: &HashMap<String, String>,
    url: String,
) -> ApiResult {
    let filter = match q.get("mirror_status") {
        None => None,
        Some(s) => Some(MirrorState::parse(s).ok_or_else(|| {
            let names: Vec<&str> = MirrorState::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::bad_request(format!(
                "Unknown mirror_status '{s}': one of {}",
                names.join(", ")
            ))
        })?),
    };
    let data = api
        .manager
        .mirrors(link)?
        .iter()
        .filter(|(_, m)| filter.is_none_or(|f| m.state == f))
        .map(|(l, m)| mirror_data(api, headers, l, m))
        .collect();
    Ok(ok(List::new(KafkaMirrorData::LIST_KIND, url, data)))
}

pub(super) async fn list_mirrors(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, link)): Path<(String, String)>,
    Query(q): Params,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let url = format!(
        "{}/links/{link}/mirrors",
        api.cluster_url(&headers, &cluster_id)
    );
    mirror_list(&api, &headers, Some(&link), &q, url)
}

pub(super) async fn list_all_mirrors(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(cluster_id): Path<String>,
    Query(q): Params,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let url = format!("{}/links/-/mirrors", api.cluster_url(&headers, &cluster_id));
    mirror_list(&api, &headers, None, &q, url)
}

pub(super) async fn create_mirror(
    State(api): State<Api>,
    Path((cluster_id, link)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let req: CreateMirrorRequest = body(&bytes, true)?;
    let mirror = NewMirror {
        replication_factor: replication_factor(req.replication_factor)?,
        configs: config_values(req.configs)?,
        source_topic: req.source_topic_name,
        mirror_topic: req.mirror_topic_name,
    };
    api.manager.create_mirror(&link, mirror).await?;
    Ok(no_content())
}

pub(super) async fn get_mirror(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, link, mirror)): Path<(String, String, String)>,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    api.manager.link(&link)?;
    let m = api.manager.mirror(&link, &mirror)?;
    Ok(ok(mirror_data(&api, &headers, &link, &m)))
}

pub(super) async fn alter_mirrors(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((cluster_id, link)): Path<(String, String)>,
    Query(q): Params,
    bytes: Bytes,
    action: MirrorAction,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let validate_only = flag(&q, "validate_only", false)?;
    let per_partition = flag(&q, "include_partition_level_truncation_data", false)?;
    let req: AlterMirrorsRequest = body(&bytes, true)?;
    let names = req
        .mirror_topic_names
        .ok_or_else(|| ApiError::bad_request("mirror_topic_names is required"))?;
    let b = format!(
        "{}/links/{link}/mirrors",
        api.cluster_url(&headers, &cluster_id)
    );
    let entry = |name: &str| AlterMirrorsData {
        kind: AlterMirrorsData::KIND.into(),
        metadata: ResourceMetadata::new(format!("{b}/{name}"), None),
        mirror_topic_name: name.to_owned(),
        ..Default::default()
    };
    // A change the mirror refused is a bad request, whatever the reason.
    let refused = |name: &str, e: &crate::links::LinkError| AlterMirrorsData {
        error_code: Some(400),
        error_message: Some(e.to_string()),
        mirror_lags: api
            .manager
            .mirror(&link, name)
            .map(|m| lags(&m))
            .unwrap_or_default(),
        ..entry(name)
    };
    let data: Vec<AlterMirrorsData> = if action == MirrorAction::TruncateAndRestore {
        api.manager
            .truncate_and_restore(&link, &names, validate_only)
            .await?
            .iter()
            .map(|(name, r)| match r {
                Ok(done) => AlterMirrorsData {
                    mirror_lags: lags(&done.status),
                    messages_truncated: Some(done.truncated),
                    partition_level_truncation_data: per_partition.then(|| done.partitions.clone()),
                    diverged_records_topic: done.diverged_topic.clone(),
                    ..entry(name)
                },
                Err(e) => refused(name, e),
            })
            .collect()
    } else {
        let results = if action.reverses() {
            let paused = action == MirrorAction::ReverseAndPauseMirror;
            api.manager
                .reverse_mirrors(&link, &names, paused, validate_only)
                .await?
        } else {
            api.manager
                .alter_mirrors(&link, &names, action, validate_only)
                .await?
        };
        results
            .iter()
            .map(|(name, r)| match r {
                Ok(m) => AlterMirrorsData {
                    mirror_lags: lags(m),
                    ..entry(name)
                },
                Err(e) => refused(name, e),
            })
            .collect()
    };
    Ok(ok(List::new(AlterMirrorsData::list_kind(action), b, data)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_partition_lag_says_records_and_seconds() {
        let m: MirrorStatus = serde_json::from_str(
            r#"{"name":"orders","source_topic":"orders","state":"Active","reason":null,
                "offset_mode":"Aligned","state_time_ms":1700000000000,
                "partitions":[{"partition":0,"next_source_offset":5,"source_high_watermark":9,
                               "destination_end":5,"lag_records":4,"lag_seconds":1.5,
                               "records_mirrored":5,"bytes_mirrored":400,"last_error":null}]}"#,
        )
        .unwrap();
        assert_eq!(
            lags(&m),
            [MirrorLag {
                partition: 0,
                lag: 4,
                last_source_fetch_offset: 5,
                lag_seconds: Some(1.5),
            }]
        );
    }
}
