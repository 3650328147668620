//! A client for the part of Confluent's Admin REST API v3 that the reconciler uses: clusters,
//! cluster links, their configs and mirror topics, and topics.
//!
//! The reconciler talks to link servers only through this API, so that it drives our link server
//! and a real Confluent Server alike. Requests and responses are the contract's shapes
//! (`clusterlink_rest_v3`, which our server writes too), read tolerantly: a field a server
//! leaves out, or a state this client does not know, does not fail a call. Every call has a
//! timeout; errors say which request failed and whether retrying can help
//! ([`RestError::is_retriable`]).
//!
//! - `transport`: endpoints, credentials, TLS, the HTTP exchange and its errors;
//! - `views`: what the reconciler reads from the responses.

mod transport;
mod views;

use std::collections::BTreeMap;

use clusterlink_model::LinkConfigs;
use clusterlink_rest_v3::clusters::{KafkaBrokerData, KafkaClusterData};
use clusterlink_rest_v3::configs::{AlterConfigBatch, AlterConfigData, ConfigData};
use clusterlink_rest_v3::links::{CreateLinkRequest, KafkaLinkConfigData, KafkaLinkData};
use clusterlink_rest_v3::mirrors::{
    AlterMirrorsData, AlterMirrorsRequest, CreateMirrorRequest, KafkaMirrorData,
};
use clusterlink_rest_v3::topics::{CreateTopicRequest, KafkaTopicConfigData, KafkaTopicData};
use clusterlink_rest_v3::List;
use http::Method;

pub use clusterlink_rest_v3::MirrorAction;
pub use transport::{RestAuth, RestClient, RestEndpoint, RestError, RestTlsMaterial};
pub use views::{AlterResult, CreateLinkIds, LinkInfo, MirrorInfo, TopicConfig, TopicInfo};

impl RestClient {
    /// The ids of the clusters this API serves (`GET /clusters`).
    pub async fn cluster_ids(&self) -> Result<Vec<String>, RestError> {
        let clusters: List<KafkaClusterData> = self.get("/clusters").await?;
        Ok(clusters
            .data
            .into_iter()
            .map(|c| c.cluster_id)
            .filter(|id| !id.is_empty())
            .collect())
    }

    /// The id of the one cluster this API serves.
    pub async fn cluster_id(&self) -> Result<String, RestError> {
        let ids = self.cluster_ids().await?;
        match ids.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(RestError::Decode {
                method: Method::GET,
                url: format!("{}/clusters", self.base()),
                why: format!(
                    "{} clusters listed; set the cluster id (kafkaRest.kafkaClusterID or clusterID) to choose one",
                    ids.len()
                ),
            }),
        }
    }

    /// Where clients reach the brokers of cluster `cluster` (`GET /clusters/{id}/brokers`):
    /// `host:port` per broker that lists both.
    pub async fn broker_addresses(&self, cluster: &str) -> Result<Vec<String>, RestError> {
        let brokers: List<KafkaBrokerData> =
            self.get(&format!("/clusters/{cluster}/brokers")).await?;
        Ok(brokers
            .data
            .iter()
            .filter_map(KafkaBrokerData::address)
            .collect())
    }

    /// The link, or `None` when it does not exist.
    pub async fn link(&self, cluster: &str, link: &str) -> Result<Option<LinkInfo>, RestError> {
        let data: Option<KafkaLinkData> = self
            .get_optional(&format!("/clusters/{cluster}/links/{link}"))
            .await?;
        Ok(data.map(LinkInfo::from))
    }

    /// The configs set on the link (not defaults, not read-only); hidden values as `None`.
    pub async fn link_configs(
        &self,
        cluster: &str,
        link: &str,
    ) -> Result<BTreeMap<String, Option<String>>, RestError> {
        let configs: List<KafkaLinkConfigData> = self
            .get(&format!("/clusters/{cluster}/links/{link}/configs"))
            .await?;
        Ok(configs
            .data
            .into_iter()
            .filter(|c| {
                // Read-only configs are the broker's, except the ones fixed at creation
                // (`link.mode`, ...), which the plan compares with the resource.
                let fixed_at_creation =
                    clusterlink_model::plan::IMMUTABLE_CONFIGS.contains(&c.name.as_str());
                !c.name.is_empty()
                    && !c.value_is_default()
                    && (!c.cannot_change() || fixed_at_creation)
            })
            .map(|c| (c.name, c.value))
            .collect())
    }

    /// Creates a link (`POST /links?link_name=`).
    pub async fn create_link(
        &self,
        cluster: &str,
        link: &str,
        ids: &CreateLinkIds,
        configs: &LinkConfigs,
    ) -> Result<(), RestError> {
        let body = CreateLinkRequest {
            configs: configs
                .iter()
                .map(|(k, v)| ConfigData::new(k, v.expose()))
                .collect(),
            source_cluster_id: ids.source_cluster_id.clone(),
            remote_cluster_id: ids.remote_cluster_id.clone(),
            destination_cluster_id: ids.destination_cluster_id.clone(),
            cluster_link_id: ids.cluster_link_id.clone(),
        };
        self.send(
            Method::POST,
            &format!("/clusters/{cluster}/links?link_name={link}"),
            &body,
        )
        .await
        .map(drop)
    }

    /// Sets and resets link configs in one call (`PUT /links/{name}/configs:alter`).
    pub async fn alter_link_configs(
        &self,
        cluster: &str,
        link: &str,
        set: &LinkConfigs,
        delete: &[String],
    ) -> Result<(), RestError> {
        let set = set.iter().map(|(k, v)| (k.as_str(), v.expose()));
        self.send(
            Method::PUT,
            &format!("/clusters/{cluster}/links/{link}/configs:alter"),
            &alter_batch(set, delete),
        )
        .await
        .map(drop)
    }

    /// Deletes a link; `force` also when it still has mirror topics (they stay as topics).
    pub async fn delete_link(
        &self,
        cluster: &str,
        link: &str,
        force: bool,
    ) -> Result<(), RestError> {
        self.call_empty(
            Method::DELETE,
            &format!("/clusters/{cluster}/links/{link}?force={force}"),
        )
        .await
    }

    /// Every link of cluster `cluster` (`GET /clusters/{id}/links`), with its name.
    pub async fn links(&self, cluster: &str) -> Result<Vec<(String, LinkInfo)>, RestError> {
        let links: List<KafkaLinkData> = self.get(&format!("/clusters/{cluster}/links")).await?;
        Ok(links
            .data
            .into_iter()
            .map(|l| (l.link_name.clone(), LinkInfo::from(l)))
            .collect())
    }

    /// The link's mirror topics.
    pub async fn mirrors(&self, cluster: &str, link: &str) -> Result<Vec<MirrorInfo>, RestError> {
        let mirrors: List<KafkaMirrorData> = self
            .get(&format!("/clusters/{cluster}/links/{link}/mirrors"))
            .await?;
        Ok(mirrors.data.into_iter().map(MirrorInfo::from).collect())
    }

    /// Creates a mirror topic.
    pub async fn create_mirror(
        &self,
        cluster: &str,
        link: &str,
        name: &str,
        source_topic: &str,
        configs: &BTreeMap<String, String>,
        replication_factor: Option<i32>,
    ) -> Result<(), RestError> {
        let body = CreateMirrorRequest {
            source_topic_name: source_topic.to_owned(),
            mirror_topic_name: Some(name.to_owned()),
            replication_factor,
            configs: config_data(configs),
        };
        self.send(
            Method::POST,
            &format!("/clusters/{cluster}/links/{link}/mirrors"),
            &body,
        )
        .await
        .map(drop)
    }

    /// Changes the state of mirror topics; the result says, per topic, whether it worked.
    pub async fn alter_mirrors(
        &self,
        cluster: &str,
        link: &str,
        action: MirrorAction,
        names: &[String],
    ) -> Result<Vec<AlterResult>, RestError> {
        let mut path = format!("/clusters/{cluster}/links/{link}/mirrors:{action}");
        if action == MirrorAction::TruncateAndRestore {
            path.push_str("?include_partition_level_truncation_data=true");
        }
        let body = AlterMirrorsRequest {
            mirror_topic_names: Some(names.to_vec()),
        };
        let Some(v) = self.send(Method::POST, &path, &body).await? else {
            return Ok(Vec::new());
        };
        let results: List<AlterMirrorsData> = self.decode(Method::POST, &path, v)?;
        Ok(results
            .data
            .into_iter()
            .filter(|r| !r.mirror_topic_name.is_empty())
            .map(AlterResult::from)
            .collect())
    }

    /// A topic, or `None` when it does not exist.
    pub async fn topic(&self, cluster: &str, topic: &str) -> Result<Option<TopicInfo>, RestError> {
        let data: Option<KafkaTopicData> = self
            .get_optional(&format!("/clusters/{cluster}/topics/{topic}"))
            .await?;
        Ok(data.map(TopicInfo::from))
    }

    /// Creates a topic.
    pub async fn create_topic(
        &self,
        cluster: &str,
        topic: &str,
        partitions: Option<i32>,
        replication_factor: Option<i32>,
        configs: &BTreeMap<String, String>,
    ) -> Result<(), RestError> {
        let body = CreateTopicRequest {
            topic_name: topic.to_owned(),
            partitions_count: partitions,
            replication_factor,
            configs: config_data(configs),
        };
        self.send(Method::POST, &format!("/clusters/{cluster}/topics"), &body)
            .await
            .map(drop)
    }

    /// Deletes a topic (also how a mirror topic is deleted).
    pub async fn delete_topic(&self, cluster: &str, topic: &str) -> Result<(), RestError> {
        self.call_empty(
            Method::DELETE,
            &format!("/clusters/{cluster}/topics/{topic}"),
        )
        .await
    }

    /// A topic's configs.
    pub async fn topic_configs(
        &self,
        cluster: &str,
        topic: &str,
    ) -> Result<BTreeMap<String, TopicConfig>, RestError> {
        let configs: List<KafkaTopicConfigData> = self
            .get(&format!("/clusters/{cluster}/topics/{topic}/configs"))
            .await?;
        Ok(configs
            .data
            .into_iter()
            .filter(|c| !c.name.is_empty())
            .map(|c| (c.name.clone(), TopicConfig::from(c)))
            .collect())
    }

    /// Sets and resets topic configs (`POST /topics/{name}/configs:alter`).
    pub async fn alter_topic_configs(
        &self,
        cluster: &str,
        topic: &str,
        set: &BTreeMap<String, String>,
        delete: &[String],
    ) -> Result<(), RestError> {
        let set = set.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        self.send(
            Method::POST,
            &format!("/clusters/{cluster}/topics/{topic}/configs:alter"),
            &alter_batch(set, delete),
        )
        .await
        .map(drop)
    }
}

/// Configs as a create request carries them.
fn config_data(configs: &BTreeMap<String, String>) -> Vec<ConfigData> {
    configs.iter().map(|(k, v)| ConfigData::new(k, v)).collect()
}

/// A `configs:alter` body: the values to set, then the names to reset.
fn alter_batch<'a>(
    set: impl Iterator<Item = (&'a str, &'a str)>,
    delete: &[String],
) -> AlterConfigBatch {
    AlterConfigBatch {
        data: set
            .map(|(k, v)| AlterConfigData::set(k, v))
            .chain(delete.iter().map(AlterConfigData::delete))
            .collect(),
    }
}
