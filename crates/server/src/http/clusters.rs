//! `GET /clusters` and `GET /clusters/{id}`: the one local cluster.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use clusterlink_rest_v3::clusters::KafkaClusterData;
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
