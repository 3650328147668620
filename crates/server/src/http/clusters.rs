//! `GET /clusters` and `GET /clusters/{id}`: the one local cluster; `GET
//! /clusters/{id}/brokers`: where other clusters reach it (what a reconciler dials when a
//! ClusterLink names the cluster without a `bootstrapEndpoint`).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use clusterlink_rest_v3::clusters::{KafkaBrokerData, KafkaClusterData};
use clusterlink_rest_v3::{List, Relationship, ResourceMetadata};

use super::context::{ok, Api};
use super::error::ApiResult;

fn cluster_data(api: &Api, headers: &HeaderMap) -> KafkaClusterData {
    let id = api.manager.cluster_id();
    let b = api.cluster_url(headers, id);
    let meta = api.manager.local().cached_metadata();
    let related = |path: &str| Relationship::to(format!("{b}/{path}"));
    KafkaClusterData {
        kind: KafkaClusterData::KIND.into(),
        metadata: ResourceMetadata::new(b.clone(), Some(format!("crn:///kafka={id}"))),
        cluster_id: id.to_owned(),
        controller: Some(related(&format!("brokers/{}", meta.controller_id))),
        acls: related("acls"),
        brokers: related("brokers"),
        broker_configs: related("broker-configs"),
        consumer_groups: related("consumer-groups"),
        topics: related("topics"),
        partition_reassignments: related("topics/-/partitions/-/reassignment"),
    }
}

pub(super) async fn list_clusters(State(api): State<Api>, headers: HeaderMap) -> Response {
    let url = format!("{}/clusters", api.base(&headers));
    ok(List::new(
        KafkaClusterData::LIST_KIND,
        url,
        vec![cluster_data(&api, &headers)],
    ))
}

pub(super) async fn get_cluster(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(cluster_id): Path<String>,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    Ok(ok(cluster_data(&api, &headers)))
}

/// The brokers: those `--advertised-bootstrap-server` names when it is set (numbered in its
/// order), else those the local cluster advertises in its metadata (by node id).
pub(super) async fn list_brokers(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(cluster_id): Path<String>,
) -> ApiResult {
    api.check_cluster(&cluster_id)?;
    let advertised = &api.manager.options().advertised_bootstrap;
    let addresses: Vec<(i32, String)> = if advertised.is_empty() {
        let local = api.manager.local();
        let meta = match local.refresh_metadata(Some(&[])).await {
            Ok(m) => m,
            Err(_) => local.cached_metadata(),
        };
        meta.brokers.into_iter().collect()
    } else {
        (0..).zip(advertised.iter().cloned()).collect()
    };
    let base = format!("{}/brokers", api.cluster_url(&headers, &cluster_id));
    let data = addresses
        .into_iter()
        .map(|(id, address)| {
            let (host, port) = match address.rsplit_once(':') {
                Some((h, p)) => (Some(h.trim_matches(['[', ']']).to_string()), p.parse().ok()),
                None => (Some(address.clone()), None),
            };
            KafkaBrokerData {
                kind: KafkaBrokerData::KIND.into(),
                metadata: ResourceMetadata::new(
                    format!("{base}/{id}"),
                    Some(format!("crn:///kafka={cluster_id}/broker={id}")),
                ),
                cluster_id: cluster_id.clone(),
                broker_id: id,
                host,
                port,
                rack: None,
            }
        })
        .collect();
    Ok(ok(List::new(KafkaBrokerData::LIST_KIND, base, data)))
}
