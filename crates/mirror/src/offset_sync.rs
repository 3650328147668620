//! Consumer offset sync (`consumer.offset.sync.enable`): the committed offsets of the source's
//! consumer groups, translated through each mirror's offset map and committed for the same groups
//! on the destination, so that consumers moved to the destination after a failover resume where
//! they were, with nothing skipped and (beyond what the group itself had not committed) nothing
//! read twice.
//!
//! Rules, as Confluent's cluster links apply them:
//! - only groups that `consumer.offset.group.filters` includes (`{"groupFilters": [{"name",
//!   "patternType": LITERAL|PREFIX, "filterType": INCLUDE|EXCLUDE}]}`; `*` is every group; an
//!   EXCLUDE wins; no filters means no group);
//! - only mirrors that still mirror: a promoted or failed-over topic belongs to its consumers on
//!   the destination, whose commits must not be overwritten;
//! - never a group that is active on the destination (it has members, which commit themselves);
//! - an offset the mirror has not reached yet is not committed: it would point past what the
//!   destination holds. It is committed on a later round, once mirrored.

use std::collections::BTreeMap;

use clusterlink_kafka::{Client, Error as KafkaError};
use serde_json::Value;

use crate::engine::{Engine, MirrorState};

/// Which consumer groups are synced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupFilters {
    rules: Vec<(String, bool, bool)>,
}

impl GroupFilters {
    /// Parses `consumer.offset.group.filters`; an empty value selects no group.
    pub fn parse(json: &str) -> Result<Self, String> {
        if json.trim().is_empty() {
            return Ok(GroupFilters::default());
        }
        let v: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
        let list = v
            .get("groupFilters")
            .and_then(Value::as_array)
            .ok_or("expected {\"groupFilters\": [...]}")?;
        let mut rules = Vec::new();
        for f in list {
            let name = f
                .get("name")
                .and_then(Value::as_str)
                .ok_or("each filter needs a name")?
                .to_string();
            let prefix = match f.get("patternType").and_then(Value::as_str) {
                None | Some("LITERAL") => false,
                Some("PREFIXED") | Some("PREFIX") => true,
                Some(other) => return Err(format!("unknown patternType {other}")),
            };
            let include = match f.get("filterType").and_then(Value::as_str) {
                None | Some("INCLUDE") => true,
                Some("EXCLUDE") => false,
                Some(other) => return Err(format!("unknown filterType {other}")),
            };
            rules.push((name, prefix, include));
        }
        Ok(GroupFilters { rules })
    }

    /// Whether `group` is synced.
    pub fn includes(&self, group: &str) -> bool {
        let hits = |include: bool| {
            self.rules.iter().any(|(name, prefix, inc)| {
                *inc == include
                    && (name == "*"
                        || if *prefix {
                            group.starts_with(name.as_str())
                        } else {
                            group == name
                        })
            })
        };
        hits(true) && !hits(false)
    }
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncRound {
    /// Groups whose offsets were read on the source.
    pub groups: usize,
    /// Offsets committed on the destination.
    pub committed: usize,
    /// Groups left alone because they are active on the destination.
    pub active_on_destination: Vec<String>,
}

/// The offsets last committed by this link, so that unchanged ones are not committed again.
pub type Committed = BTreeMap<(String, String, i32), i64>;

/// One round of offset sync for the mirrors of `engine`.
pub async fn sync_once(
    engine: &Engine,
    destination: &Client,
    filters: &GroupFilters,
    last: &mut Committed,
) -> Result<SyncRound, KafkaError> {
    let mut round = SyncRound::default();
    // Mirrors that still mirror, by source topic: (mirror name, partitions).
    let mirrors: Vec<(String, String, Vec<i32>)> = engine
        .list()
        .into_iter()
        .filter(|m| {
            !matches!(
                m.state,
                MirrorState::Stopped | MirrorState::PendingStopped | MirrorState::Failed
            )
        })
        .map(|m| {
            let parts = m.partitions.iter().map(|p| p.partition).collect();
            (m.source_topic, m.name, parts)
        })
        .collect();
    if mirrors.is_empty() {
        return Ok(round);
    }
    let groups: Vec<String> = engine
        .source()
        .list_groups()
        .await?
        .into_iter()
        .map(|(g, _, _)| g)
        .filter(|g| filters.includes(g))
        .collect();
    if groups.is_empty() {
        return Ok(round);
    }
    let active: BTreeMap<String, String> = destination
        .list_groups()
        .await?
        .into_iter()
        .map(|(g, _, state)| (g, state))
        .collect();
    let wanted: Vec<(String, Vec<i32>)> = mirrors
        .iter()
        .map(|(src, _, parts)| (src.clone(), parts.clone()))
        .collect();
    for group in groups {
        // Only states with members count as active (brokers that do not track group states,
        // like tansu, report "Unknown" for a group with offsets only).
        if active.get(&group).is_some_and(|s| {
            matches!(
                s.to_ascii_lowercase().as_str(),
                "stable"
                    | "preparingrebalance"
                    | "completingrebalance"
                    | "assigning"
                    | "reconciling"
            )
        }) {
            round.active_on_destination.push(group);
            continue;
        }
        round.groups += 1;
        let offsets = engine.source().offset_fetch(&group, Some(&wanted)).await?;
        let mut commit = Vec::new();
        for ((src_topic, partition), offset) in offsets {
            for (_, mirror, _) in mirrors.iter().filter(|(s, _, _)| *s == src_topic) {
                let Some(dest) = engine.translate_position(mirror, partition, offset) else {
                    continue;
                };
                let key = (group.clone(), mirror.clone(), partition);
                if last.get(&key) != Some(&dest) {
                    commit.push((mirror.clone(), partition, dest));
                }
            }
        }
        if commit.is_empty() {
            continue;
        }
        destination.offset_commit(&group, &commit).await?;
        round.committed += commit.len();
        for (mirror, partition, dest) in commit {
            last.insert((group.clone(), mirror, partition), dest);
        }
    }
    Ok(round)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_include_exclude_prefix_and_star() {
        let f = GroupFilters::parse(
            r#"{"groupFilters": [
                {"name": "*", "patternType": "LITERAL", "filterType": "INCLUDE"},
                {"name": "tmp-", "patternType": "PREFIXED", "filterType": "EXCLUDE"}]}"#,
        )
        .unwrap();
        assert!(f.includes("billing"));
        assert!(!f.includes("tmp-1"));
        let f = GroupFilters::parse(
            r#"{"groupFilters": [{"name": "app", "patternType": "PREFIXED"}]}"#,
        )
        .unwrap();
        assert!(f.includes("app-1"));
        assert!(!f.includes("other"));
        assert!(!GroupFilters::parse("").unwrap().includes("any"));
        assert!(GroupFilters::parse("[]").is_err());
        assert!(
            GroupFilters::parse(r#"{"groupFilters": [{"name": "a", "filterType": "MAYBE"}]}"#)
                .is_err()
        );
    }
}
