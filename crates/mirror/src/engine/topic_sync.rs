//! Keeping mirror topics in step with their source topics, outside the data path: the topic
//! configs a mirror takes from its source (at creation and on `topic.config.sync.ms`), source
//! partitions added (the mirror gets them too), and a source topic that was deleted or shrank
//! (the mirror fails).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clusterlink_kafka::client::{AlterConfigOp, ConfigResource};
use clusterlink_kafka::{Error as KafkaError, ResponseError};
use clusterlink_rest_v3::MirrorState;
use tracing::info;

use super::error::{dst_err, src_err, MirrorError};
use super::link::Link;
use super::partition::{Checkpoint, Part};
use super::state::EngineState;
use crate::offset_map::OffsetMap;

/// Topic configs a mirror takes from its source, with Kafka's defaults. Only the source topic's
/// own overrides are copied (see [`is_topic_override`]): a value the topic inherits from its
/// broker (Apache Kafka reports `retention.ms` of a broker's `log.retention.ms`, and Kafka 4's
/// cluster-wide `min.insync.replicas`, under every topic) belongs to that cluster, not the topic.
const SYNCED_CONFIGS: &[(&str, &str)] = &[
    ("cleanup.policy", "delete"),
    ("compression.type", "producer"),
    ("delete.retention.ms", "86400000"),
    ("max.compaction.lag.ms", "9223372036854775807"),
    ("max.message.bytes", "1048588"),
    ("message.timestamp.type", "CreateTime"),
    ("min.cleanable.dirty.ratio", "0.5"),
    ("min.compaction.lag.ms", "0"),
    ("retention.bytes", "-1"),
    ("retention.ms", "604800000"),
    ("segment.bytes", "1073741824"),
    ("segment.ms", "604800000"),
];

/// Kafka's ConfigSource code of a topic override (DYNAMIC_TOPIC_CONFIG).
const TOPIC_OVERRIDE: i8 = 1;
/// Kafka's ConfigSource code of a value nobody set (DEFAULT_CONFIG).
const DEFAULT_CONFIG: i8 = 5;

/// Whether a described topic config is the topic's own setting: reported as a topic override
/// (DYNAMIC_TOPIC_CONFIG), or (tansu bug: it reports a topic's overrides as DEFAULT_CONFIG, and
/// nothing else) reported as a default with a value that is not Kafka's default. Values from a
/// broker's dynamic or static configs (DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG,
/// STATIC_BROKER_CONFIG) are never the topic's.
fn is_topic_override(name: &str, source: i8, value: &str) -> bool {
    match source {
        TOPIC_OVERRIDE => true,
        DEFAULT_CONFIG => SYNCED_CONFIGS
            .iter()
            .any(|(k, default)| *k == name && *default != value),
        _ => false,
    }
}

/// The synced configs of a source topic (none when the source cannot describe configs).
pub(crate) async fn source_configs(
    link: &Link,
    topic: &str,
) -> Result<Vec<(String, String)>, MirrorError> {
    let entries = match link
        .source
        .describe_configs(ConfigResource::Topic, topic, None)
        .await
    {
        Ok(e) => e,
        // A source without DescribeConfigs: the mirror gets broker defaults and overrides.
        Err(KafkaError::Unsupported { .. }) => return Ok(vec![]),
        Err(e) => return Err(src_err(e)),
    };
    Ok(entries
        .into_iter()
        .filter_map(|e| {
            SYNCED_CONFIGS.iter().find(|(k, _)| *k == e.name)?;
            let value = e.value?;
            is_topic_override(&e.name, e.source, &value).then_some((e.name, value))
        })
        .collect())
}

/// Topic config sync (`topic.config.sync.ms`): every mirror that still mirrors gets its
/// source topic's synced configs again, with its own overrides on top; a synced config
/// reset on the source is reset on the mirror. Returns how many mirrors changed.
pub(crate) async fn sync_topic_configs(link: &Link) -> Result<usize, MirrorError> {
    let mirrors: Vec<(String, String, BTreeMap<String, String>)> = {
        let st = link.lock();
        st.mirrors
            .values()
            .filter(|m| m.record.state.keeps_position())
            .map(|m| {
                (
                    m.name().to_owned(),
                    m.record.spec.source_topic.clone(),
                    m.record.spec.configs.iter().cloned().collect(),
                )
            })
            .collect()
    };
    let mut changed = 0;
    for (name, source_topic, overrides) in mirrors {
        match sync_mirror_configs(link, &name, &source_topic, overrides).await? {
            Some(true) => changed += 1,
            Some(false) => {}
            None => return Ok(changed),
        }
    }
    Ok(changed)
}

/// Gives one mirror topic its source topic's synced configs with its own `overrides` on top,
/// and resets the synced configs set on it that neither has. Whether it changed; `None` when
/// the destination cannot describe configs.
pub(crate) async fn sync_mirror_configs(
    link: &Link,
    name: &str,
    source_topic: &str,
    overrides: BTreeMap<String, String>,
) -> Result<Option<bool>, MirrorError> {
    let mut desired: BTreeMap<String, String> = source_configs(link, source_topic)
        .await?
        .into_iter()
        .collect();
    desired.extend(overrides);
    let current = match link
        .destination
        .describe_configs(ConfigResource::Topic, name, None)
        .await
    {
        Ok(c) => c,
        Err(KafkaError::Unsupported { .. }) => return Ok(None),
        Err(e) => return Err(dst_err(e)),
    };
    let mut ops = Vec::new();
    for (k, v) in &desired {
        let now = current
            .iter()
            .find(|c| &c.name == k)
            .and_then(|c| c.value.as_ref());
        if now != Some(v) {
            ops.push(AlterConfigOp::Set(k.clone(), v.clone()));
        }
    }
    for c in &current {
        let synced = SYNCED_CONFIGS.iter().any(|(k, _)| *k == c.name);
        let set_here = c
            .value
            .as_deref()
            .is_some_and(|v| is_topic_override(&c.name, c.source, v));
        if synced && set_here && !desired.contains_key(&c.name) {
            ops.push(AlterConfigOp::Delete(c.name.clone()));
        }
    }
    if ops.is_empty() {
        return Ok(Some(false));
    }
    link.destination
        .incremental_alter_configs(ConfigResource::Topic, name, &ops, false)
        .await
        .map_err(dst_err)?;
    info!(mirror = %name, changes = ops.len(), "topic configs synced from the source");
    Ok(Some(true))
}

/// After UNKNOWN_TOPIC_OR_PARTITION: is the source topic gone, or did it shrink?
pub(crate) async fn check_source_topic(link: &Link, name: &str, topic: &str) {
    link.source.invalidate_metadata();
    let meta = link.source.topic_metadata(topic).await;
    let mut st = link.lock();
    let Some(m) = st.mirrors.get_mut(name) else {
        return;
    };
    match meta {
        Err(e) if e.is(ResponseError::UnknownTopicOrPartition) => {
            m.fail(format!("source topic {topic} was deleted"))
        }
        Ok(t) if t.partitions.len() < m.parts.len() => m.fail(format!(
            "source topic {topic} has {} partitions, fewer than the mirror's {}",
            t.partitions.len(),
            m.parts.len()
        )),
        _ => {}
    }
}

/// Source partitions added (checked every `metadata_interval`): the mirror gets them too
/// (CreatePartitions), or says why not.
pub(crate) async fn check_partition_counts(link: &Link) {
    let due: Vec<(String, String, usize)> = {
        let mut st = link.lock();
        if st.last_metadata.elapsed() < link.settings.metadata_interval {
            return;
        }
        st.last_metadata = Instant::now();
        st.mirrors
            .values()
            .filter(|m| {
                matches!(
                    m.record.state,
                    MirrorState::Active | MirrorState::PendingStopped
                )
            })
            .map(|m| {
                (
                    m.name().to_owned(),
                    m.record.spec.source_topic.clone(),
                    m.parts.len(),
                )
            })
            .collect()
    };
    for (name, topic, have) in due {
        link.source.invalidate_metadata();
        let Ok(t) = link.source.topic_metadata(&topic).await else {
            continue;
        };
        let want = t.partitions.len();
        if want < have {
            if let Some(m) = link.lock().mirrors.get_mut(&name) {
                m.fail(format!(
                    "source topic {topic} has {want} partitions, fewer than the mirror's {have}"
                ));
            }
            continue;
        }
        if want == have {
            continue;
        }
        // The destination may have grown already (before a restart, say): only ask for what
        // is missing.
        link.destination.invalidate_metadata();
        let dest_has = match link.destination.topic_metadata(&name).await {
            Ok(t) => t.partitions.len(),
            Err(_) => continue,
        };
        let grown = if dest_has >= want {
            Ok(())
        } else {
            create_partitions(link, &name, want).await
        };
        let mut st = link.lock();
        let Some(m) = st.mirrors.get_mut(&name) else {
            continue;
        };
        match grown {
            Ok(()) => {
                for p in 0..want as i32 {
                    if m.parts.contains_key(&p) {
                        continue;
                    }
                    let start = Checkpoint::aligned_start(0);
                    let mut part =
                        Part::new(start, OffsetMap::new(), link.settings.partition_max_bytes);
                    // Not stored yet: the next checkpoint must write it, or a restart
                    // would not know the partition.
                    part.checkpoint = Checkpoint::UNSAVED;
                    m.parts.insert(p, part);
                }
                m.touch();
                info!(mirror = %name, from = have, to = want, "partitions added");
            }
            Err(e) => m.note(format!(
                "source topic {topic} grew to {want} partitions but the destination cannot follow: {e}"
            )),
        }
    }
}

/// Grows the mirror topic to `want` partitions.
async fn create_partitions(link: &Link, name: &str, want: usize) -> Result<(), KafkaError> {
    let results = link
        .destination
        .create_partitions(
            &[(name.to_owned(), want as i32)],
            false,
            Duration::from_secs(30),
        )
        .await?;
    match results.into_iter().find_map(|(_, r)| r.err()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_topics_own_settings_are_overrides() {
        // Apache Kafka: the topic's override, and what it inherits from its brokers.
        assert!(is_topic_override("retention.ms", TOPIC_OVERRIDE, "3600000"));
        for broker_source in [2, 3, 4] {
            assert!(!is_topic_override("retention.ms", broker_source, "-1"));
        }
        assert!(!is_topic_override(
            "retention.ms",
            DEFAULT_CONFIG,
            "604800000"
        ));
        // tansu reports a topic's override as a default.
        assert!(is_topic_override("retention.ms", DEFAULT_CONFIG, "3600000"));
        // Not a config mirrors take.
        assert!(!is_topic_override(
            "min.insync.replicas",
            DEFAULT_CONFIG,
            "2"
        ));
    }
}
