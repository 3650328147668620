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
//!   destination holds. It is committed on a later round, once mirrored;
//! - a translated offset outside the destination partition's valid range is clamped into
//!   [log start, end]: below the log start (retention or DeleteRecords ran on the destination,
//!   or its log start followed the source's), a consumer would otherwise find its offset out
//!   of range and fall back to its `auto.offset.reset` (`latest` by default: skipping
//!   everything); above the end it would wait for offsets that are not there;
//! - with `consumer.group.prefix.enable=true`, a group is committed on the destination under
//!   the link's `cluster.link.prefix` (as its mirror topics are named), so that the source's
//!   groups cannot collide with the destination's own; filters match the source's names.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clusterlink_kafka::client::OffsetSpec;
use clusterlink_kafka::{Client, Error as KafkaError, Isolation};
use clusterlink_rest_v3::link_config;

use crate::engine::{Engine, MirrorState};
use crate::filters::NameFilters;

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

/// One round of offset sync for the mirrors of `engine`; each group is committed on the
/// destination as `group_prefix` + its source name.
pub async fn sync_once(
    engine: &Engine,
    destination: &Client,
    filters: &NameFilters,
    group_prefix: &str,
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
    let ranges = destination_ranges(engine, destination, &mirrors).await?;
    for group in groups {
        let target = format!("{group_prefix}{group}");
        // Only states with members count as active (brokers that do not track group states,
        // like tansu, report "Unknown" for a group with offsets only).
        if active.get(&target).is_some_and(|s| {
            matches!(
                s.to_ascii_lowercase().as_str(),
                "stable"
                    | "preparingrebalance"
                    | "completingrebalance"
                    | "assigning"
                    | "reconciling"
            )
        }) {
            round.active_on_destination.push(target);
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
                let dest = match ranges.get(&(mirror.clone(), partition)) {
                    Some((start, end)) => clamp(dest, *start, *end),
                    None => dest,
                };
                let key = (target.clone(), mirror.clone(), partition);
                if last.get(&key) != Some(&dest) {
                    commit.push((mirror.clone(), partition, dest));
                }
            }
        }
        if commit.is_empty() {
            continue;
        }
        destination.offset_commit(&target, &commit).await?;
        round.committed += commit.len();
        for (mirror, partition, dest) in commit {
            last.insert((target.clone(), mirror, partition), dest);
        }
    }
    Ok(round)
}

/// Per (mirror topic, partition), the destination's log start (ListOffsets) and end (where the
/// mirror has written to: what it reports; tansu's ListOffsets latest is wrong, see
/// docs/test-brokers.md).
async fn destination_ranges(
    engine: &Engine,
    destination: &Client,
    mirrors: &[(String, String, Vec<i32>)],
) -> Result<BTreeMap<(String, i32), (i64, i64)>, KafkaError> {
    let mut out = BTreeMap::new();
    for (_, mirror, parts) in mirrors {
        let Some(status) = engine.status(mirror) else {
            continue;
        };
        let starts = destination
            .list_offsets(
                mirror,
                parts,
                OffsetSpec::Earliest,
                Isolation::ReadUncommitted,
            )
            .await?;
        for part in status.partitions {
            if let Some(start) = starts.get(&part.partition) {
                out.insert(
                    (mirror.clone(), part.partition),
                    (start.offset, part.destination_end),
                );
            }
        }
    }
    Ok(out)
}

/// `offset` within the destination's valid range `[start, end]` (a consumer may stand at the
/// end: the next record to come).
fn clamp(offset: i64, start: i64, end: i64) -> i64 {
    if start < 0 || end < start {
        return offset;
    }
    offset.clamp(start, end)
}

/// Why a scheduled round failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// `consumer.offset.group.filters` cannot be read.
    #[error("consumer.offset.group.filters unusable: {0}")]
    Filters(String),
    /// A cluster failed.
    #[error(transparent)]
    Kafka(#[from] KafkaError),
}

impl SyncError {
    /// A short, stable label for metrics.
    pub fn category(&self) -> &'static str {
        match self {
            SyncError::Filters(_) => "invalid",
            SyncError::Kafka(e) => e.category(),
        }
    }
}

/// Offset sync on a link's schedule, as its settings say (`consumer.offset.sync.enable`, `.ms`,
/// `consumer.offset.group.filters`, `consumer.group.prefix.enable` with `cluster.link.prefix`):
/// what both a pulling link and the pushing side of a source-initiated link run.
#[derive(Debug, Default)]
pub struct Scheduled {
    at: Option<Instant>,
    committed: Committed,
}

impl Scheduled {
    /// One round when enabled and due; `setting` reads the link's settings. `Ok(None)` when
    /// nothing was due.
    pub async fn run_if_due<'a>(
        &mut self,
        engine: &Engine,
        destination: &Client,
        setting: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Option<SyncRound>, SyncError> {
        if setting(link_config::CONSUMER_OFFSET_SYNC_ENABLE) != Some("true") {
            return Ok(None);
        }
        let every = Duration::from_millis(
            setting(link_config::CONSUMER_OFFSET_SYNC_MS)
                .and_then(|v| v.parse().ok())
                .unwrap_or(30_000),
        );
        if self.at.is_some_and(|t| t.elapsed() < every) {
            return Ok(None);
        }
        self.at = Some(Instant::now());
        let filters = NameFilters::parse(
            setting(link_config::CONSUMER_OFFSET_GROUP_FILTERS).unwrap_or(""),
            "groupFilters",
        )
        .map_err(SyncError::Filters)?;
        let prefix = if setting(link_config::CONSUMER_GROUP_PREFIX_ENABLE) == Some("true") {
            setting(link_config::CLUSTER_LINK_PREFIX).unwrap_or("")
        } else {
            ""
        };
        Ok(Some(
            sync_once(engine, destination, &filters, prefix, &mut self.committed).await?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_clamped_into_the_destination_range() {
        assert_eq!(clamp(10, 30, 50), 30, "below the log start");
        assert_eq!(clamp(40, 30, 50), 40);
        assert_eq!(clamp(50, 30, 50), 50, "at the end: the next record");
        assert_eq!(clamp(60, 30, 50), 50, "above the end");
        assert_eq!(clamp(7, -1, -1), 7, "no range known: as translated");
    }
}
