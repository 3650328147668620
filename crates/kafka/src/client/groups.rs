//! Consumer groups: list and describe them, read and commit their offsets (what offset sync
//! needs). Requests go to the group's coordinator (`routing`).

use std::collections::BTreeMap;

use kafka_protocol::messages::{self as m, GroupId};
use kafka_protocol::protocol::StrBytes;

use super::handle::Client;
use super::wire::{group_by_topic, topic_name};
use crate::error::{Error, Result};

impl Client {
    /// ListGroups: `(group id, protocol type, state)` of every group. Each broker lists the
    /// groups it coordinates, so every broker is asked.
    pub async fn list_groups(&self) -> Result<Vec<(String, String, String)>> {
        let req = m::ListGroupsRequest::default();
        let mut brokers: Vec<i32> = self.read_metadata().0.brokers.keys().copied().collect();
        if brokers.is_empty() {
            brokers = self
                .refresh_metadata(Some(&[]))
                .await?
                .brokers
                .keys()
                .copied()
                .collect();
        }
        let mut out = Vec::new();
        for broker in brokers {
            let resp = self
                .retry("ListGroups", || async {
                    let conn = self.node_connection(broker).await?;
                    Ok(conn.send(&req).await?.0)
                })
                .await?;
            Error::check(resp.error_code, None, || {
                format!("ListGroups on broker {broker}")
            })?;
            out.extend(resp.groups.iter().map(|g| {
                (
                    g.group_id.0.as_str().to_owned(),
                    g.protocol_type.as_str().to_owned(),
                    g.group_state.as_str().to_owned(),
                )
            }));
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// DescribeGroups for one group, raw response (member details vary by broker).
    pub async fn describe_group(&self, group: &str) -> Result<m::DescribeGroupsResponse> {
        let req = m::DescribeGroupsRequest::default()
            .with_groups(vec![GroupId(StrBytes::from_string(group.to_owned()))]);
        let resp = self
            .retry("DescribeGroups", || self.send_to_coordinator(group, &req))
            .await?;
        for g in &resp.groups {
            Error::check(g.error_code, None, || format!("DescribeGroups {group}"))?;
        }
        Ok(resp)
    }

    /// OffsetFetch: a group's committed offsets for the given topics and partitions, or for
    /// every topic when `None`. Partitions without a commit are left out.
    pub async fn offset_fetch(
        &self,
        group: &str,
        topics: Option<&[(String, Vec<i32>)]>,
    ) -> Result<BTreeMap<(String, i32), i64>> {
        let req = m::OffsetFetchRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
            .with_topics(topics.map(|ts| {
                ts.iter()
                    .map(|(t, ps)| {
                        m::offset_fetch_request::OffsetFetchRequestTopic::default()
                            .with_name(topic_name(t))
                            .with_partition_indexes(ps.clone())
                    })
                    .collect()
            }));
        let resp = self
            .retry("OffsetFetch", || self.send_to_coordinator(group, &req))
            .await?;
        Error::check(resp.error_code, None, || format!("OffsetFetch {group}"))?;
        let mut out = BTreeMap::new();
        for t in &resp.topics {
            for p in &t.partitions {
                Error::check(p.error_code, None, || {
                    format!(
                        "OffsetFetch {group} {}-{}",
                        t.name.0.as_str(),
                        p.partition_index
                    )
                })?;
                if p.committed_offset >= 0 {
                    out.insert(
                        (t.name.0.as_str().to_owned(), p.partition_index),
                        p.committed_offset,
                    );
                }
            }
        }
        Ok(out)
    }

    /// OffsetCommit outside any group generation (what offset sync does for an empty group).
    pub async fn offset_commit(&self, group: &str, offsets: &[(String, i32, i64)]) -> Result<()> {
        let topics = group_by_topic(offsets.iter().map(|(topic, partition, offset)| {
            let p = m::offset_commit_request::OffsetCommitRequestPartition::default()
                .with_partition_index(*partition)
                .with_committed_offset(*offset)
                .with_committed_leader_epoch(-1);
            (topic.as_str(), p)
        }))
        .into_iter()
        .map(|(topic, partitions)| {
            m::offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(partitions)
        })
        .collect();
        let req = m::OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
            .with_generation_id_or_member_epoch(-1)
            .with_member_id(StrBytes::from_static_str(""))
            .with_retention_time_ms(-1)
            .with_topics(topics);
        // A partition's error (NOT_COORDINATOR while the group's coordinator moves or loads)
        // is retried like a request's: the coordinator is looked up again.
        self.retry("OffsetCommit", || async {
            let resp = self.send_to_coordinator(group, &req).await?;
            for t in &resp.topics {
                for p in &t.partitions {
                    Error::check(p.error_code, None, || {
                        format!(
                            "OffsetCommit {group} {}-{}",
                            t.name.0.as_str(),
                            p.partition_index
                        )
                    })?;
                }
            }
            Ok(())
        })
        .await
    }
}
