//! Topics for test set-up, created with our client and waited for.
//!
//! Apache Kafka answers CreateTopics once its controller has committed the topic; the brokers
//! learn of it from the metadata log a moment later, so a Metadata request right after may not
//! know the topic (UNKNOWN_TOPIC_OR_PARTITION) and a Produce may find no leader
//! (NOT_LEADER_OR_FOLLOWER). tansu's topics are usable as soon as it answers. Tests that write
//! with a single attempt right after creating a topic wait for it with [`create_topic`].

use std::time::{Duration, Instant};

use clusterlink_kafka::client::{Isolation, NewTopic, OffsetSpec};
use clusterlink_kafka::Client;

/// How long a new topic may take to be served by its leaders.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Creates `name` (the broker's default replication factor) with topic `configs`, and waits
/// until it is ready (see [`wait_until_ready`]). Panics on failure (test set-up).
pub async fn create_topic(client: &Client, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let topic = NewTopic {
        name: name.into(),
        partitions,
        replication_factor: -1,
        configs: configs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let res = client
        .create_topics(&[topic], false, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("creating {name}: {e}"));
    assert_eq!(res.len(), 1);
    if let Err(e) = &res[0].1 {
        panic!("creating {name}: {e}");
    }
    wait_until_ready(client, name, partitions).await;
}

/// Waits until `name` has `partitions` partitions, each with a leader that serves it (answers
/// ListOffsets, which only the leader does). Panics after 30 s.
pub async fn wait_until_ready(client: &Client, name: &str, partitions: i32) {
    let start = Instant::now();
    let parts: Vec<i32> = (0..partitions).collect();
    loop {
        client.invalidate_metadata();
        let why = match client.topic_metadata(name).await {
            Ok(t)
                if t.partitions.len() as i32 >= partitions
                    && t.partitions.values().all(|p| p.leader >= 0) =>
            {
                match client
                    .list_offsets(
                        name,
                        &parts,
                        OffsetSpec::Earliest,
                        Isolation::ReadUncommitted,
                    )
                    .await
                {
                    Ok(_) => return,
                    Err(e) => e.to_string(),
                }
            }
            Ok(t) => format!("{t:?}"),
            Err(e) => e.to_string(),
        };
        assert!(
            start.elapsed() < READY_TIMEOUT,
            "topic {name} not ready after {READY_TIMEOUT:?}: {why}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
