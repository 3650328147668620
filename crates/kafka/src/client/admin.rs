//! Cluster administration: DescribeCluster; topics (create, delete, add partitions) through the
//! controller; configs (describe, incremental alter). ACLs are in `acls`.

use std::time::Duration;

use kafka_protocol::messages as m;
use kafka_protocol::protocol::StrBytes;

use super::handle::Client;
use super::types::{AlterConfigOp, ClusterInfo, ConfigEntry, ConfigResource, NewTopic};
use super::wire::{broker_address, opt_string, per_topic, topic_name};
use crate::error::{Error, Result};

impl Client {
    /// DescribeCluster: the cluster id, controller and brokers.
    pub async fn describe_cluster(&self) -> Result<ClusterInfo> {
        self.retry("DescribeCluster", || async {
            let resp = self
                .send_to_any(&m::DescribeClusterRequest::default())
                .await?;
            Error::check(resp.error_code, resp.error_message.as_deref(), || {
                "DescribeCluster".into()
            })?;
            Ok(ClusterInfo {
                cluster_id: resp.cluster_id.as_str().to_owned(),
                controller_id: resp.controller_id.0,
                brokers: resp
                    .brokers
                    .iter()
                    .map(|b| (b.broker_id.0, broker_address(&b.host, b.port)))
                    .collect(),
            })
        })
        .await
    }

    /// CreateTopics; one result per topic. TOPIC_ALREADY_EXISTS is an error like any other.
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
        validate_only: bool,
        timeout: Duration,
    ) -> Result<Vec<(String, Result<()>)>> {
        let req = m::CreateTopicsRequest::default()
            .with_timeout_ms(timeout.as_millis() as i32)
            .with_validate_only(validate_only)
            .with_topics(
                topics
                    .iter()
                    .map(|t| {
                        m::create_topics_request::CreatableTopic::default()
                            .with_name(topic_name(&t.name))
                            .with_num_partitions(t.partitions)
                            .with_replication_factor(t.replication_factor)
                            .with_configs(
                                t.configs
                                    .iter()
                                    .map(|(k, v)| {
                                        m::create_topics_request::CreatableTopicConfig::default()
                                            .with_name(StrBytes::from_string(k.clone()))
                                            .with_value(Some(StrBytes::from_string(v.clone())))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        let resp = self
            .retry("CreateTopics", || self.send_to_controller(&req))
            .await?;
        self.invalidate_metadata();
        Ok(per_topic(
            "CreateTopics",
            resp.topics
                .iter()
                .map(|t| (t.name.0.as_str(), t.error_code, &t.error_message)),
        ))
    }

    /// DeleteTopics by name; one result per topic.
    pub async fn delete_topics(
        &self,
        names: &[String],
        timeout: Duration,
    ) -> Result<Vec<(String, Result<()>)>> {
        let req = m::DeleteTopicsRequest::default()
            .with_timeout_ms(timeout.as_millis() as i32)
            .with_topic_names(names.iter().map(|n| topic_name(n)).collect())
            .with_topics(
                names
                    .iter()
                    .map(|n| {
                        m::delete_topics_request::DeleteTopicState::default()
                            .with_name(Some(topic_name(n)))
                    })
                    .collect(),
            );
        let resp = self
            .retry("DeleteTopics", || self.send_to_controller(&req))
            .await?;
        self.invalidate_metadata();
        Ok(per_topic(
            "DeleteTopics",
            resp.responses.iter().map(|t| {
                let name = t.name.as_ref().map_or("", |n| n.0.as_str());
                (name, t.error_code, &t.error_message)
            }),
        ))
    }

    /// CreatePartitions: grows each topic to the given total partition count.
    pub async fn create_partitions(
        &self,
        topics: &[(String, i32)],
        validate_only: bool,
        timeout: Duration,
    ) -> Result<Vec<(String, Result<()>)>> {
        let req = m::CreatePartitionsRequest::default()
            .with_timeout_ms(timeout.as_millis() as i32)
            .with_validate_only(validate_only)
            .with_topics(
                topics
                    .iter()
                    .map(|(n, c)| {
                        m::create_partitions_request::CreatePartitionsTopic::default()
                            .with_name(topic_name(n))
                            .with_count(*c)
                            .with_assignments(None)
                    })
                    .collect(),
            );
        let resp = self
            .retry("CreatePartitions", || self.send_to_controller(&req))
            .await?;
        self.invalidate_metadata();
        Ok(per_topic(
            "CreatePartitions",
            resp.results
                .iter()
                .map(|t| (t.name.0.as_str(), t.error_code, &t.error_message)),
        ))
    }

    /// DescribeConfigs of one resource (all configs when `keys` is `None`).
    pub async fn describe_configs(
        &self,
        resource: ConfigResource,
        name: &str,
        keys: Option<&[String]>,
    ) -> Result<Vec<ConfigEntry>> {
        let req = m::DescribeConfigsRequest::default().with_resources(vec![
            m::describe_configs_request::DescribeConfigsResource::default()
                .with_resource_type(resource.code())
                .with_resource_name(StrBytes::from_string(name.to_owned()))
                .with_configuration_keys(
                    keys.map(|k| k.iter().map(|s| StrBytes::from_string(s.clone())).collect()),
                ),
        ]);
        let resp = self
            .retry("DescribeConfigs", || self.send_to_any(&req))
            .await?;
        let r = resp.results.first().ok_or_else(|| Error::Protocol {
            broker: "any".into(),
            message: "DescribeConfigs response has no result".into(),
        })?;
        Error::check(r.error_code, r.error_message.as_deref(), || {
            format!("DescribeConfigs {name}")
        })?;
        Ok(r.configs
            .iter()
            .map(|c| ConfigEntry {
                name: c.name.as_str().to_owned(),
                value: if c.is_sensitive {
                    None
                } else {
                    opt_string(&c.value)
                },
                source: c.config_source,
                is_sensitive: c.is_sensitive,
                read_only: c.read_only,
            })
            .collect())
    }

    /// IncrementalAlterConfigs of one resource.
    pub async fn incremental_alter_configs(
        &self,
        resource: ConfigResource,
        name: &str,
        ops: &[AlterConfigOp],
        validate_only: bool,
    ) -> Result<()> {
        let configs = ops
            .iter()
            .map(|op| match op {
                AlterConfigOp::Set(k, v) => {
                    m::incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(StrBytes::from_string(k.clone()))
                        .with_config_operation(0)
                        .with_value(Some(StrBytes::from_string(v.clone())))
                }
                AlterConfigOp::Delete(k) => {
                    m::incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(StrBytes::from_string(k.clone()))
                        .with_config_operation(1)
                        .with_value(None)
                }
            })
            .collect();
        let req = m::IncrementalAlterConfigsRequest::default()
            .with_validate_only(validate_only)
            .with_resources(vec![
                m::incremental_alter_configs_request::AlterConfigsResource::default()
                    .with_resource_type(resource.code())
                    .with_resource_name(StrBytes::from_string(name.to_owned()))
                    .with_configs(configs),
            ]);
        let resp = self
            .retry("IncrementalAlterConfigs", || self.send_to_any(&req))
            .await?;
        for r in &resp.responses {
            Error::check(r.error_code, r.error_message.as_deref(), || {
                format!("IncrementalAlterConfigs {name}")
            })?;
        }
        Ok(())
    }
}
