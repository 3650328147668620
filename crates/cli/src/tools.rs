//! The tools that connect to Kafka directly, without a link server: `describe` (what a cluster
//! says about itself), `mirror` (one link's engine in the foreground) and `copy` (a one-shot,
//! catch-up copy of a topic). Each reaches its clusters with `--command-config` files as
//! `server` does ([`crate::command_config`]).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clusterlink_kafka::client::NewTopic;
use clusterlink_kafka::{Client, ClientConfig};
use clusterlink_mirror::{
    copy_partition, CopyOptions, CopyStats, Desired, DestinationProducer, Engine, LinkSettings,
    MirrorSpec, PartitionRoute, StartSpec,
};

use crate::cli::ClusterPair;
use crate::command_config;

/// The client settings for the cluster at `bootstrap`, with the TLS and SASL settings of
/// `command_config` if given.
pub fn client_config(
    bootstrap: &str,
    command_config: Option<&Path>,
    retry_timeout: Duration,
) -> Result<ClientConfig> {
    let mut config = ClientConfig::new(bootstrap);
    config.retry.timeout = retry_timeout;
    if let Some(path) = command_config {
        command_config::apply(path, &mut config)?;
    }
    Ok(config)
}

/// Connects to the `side` cluster (`"source "`, `"destination "` or `""`).
pub async fn connect(config: ClientConfig, side: &str) -> Result<Client> {
    let bootstrap = config.bootstrap_servers.join(",");
    Client::connect(config)
        .await
        .with_context(|| format!("connecting to the {side}cluster at {bootstrap}"))
}

/// Connects to both clusters of a pair at once; `tune` adjusts the destination's client first.
pub async fn connect_pair(
    clusters: &ClusterPair,
    retry_timeout: Duration,
    tune: impl FnOnce(&mut ClientConfig),
) -> Result<(Client, Client)> {
    let src = client_config(
        &clusters.source_bootstrap_server,
        clusters.source_command_config.as_deref(),
        retry_timeout,
    )?;
    let mut dst = client_config(
        &clusters.destination_bootstrap_server,
        clusters.command_config.as_deref(),
        retry_timeout,
    )?;
    tune(&mut dst);
    tokio::try_join!(connect(src, "source "), connect(dst, "destination "))
}

/// `clusterlink describe`.
pub async fn describe(
    bootstrap: &str,
    command_config: Option<&Path>,
    retry_timeout: Duration,
) -> Result<()> {
    let client = connect(client_config(bootstrap, command_config, retry_timeout)?, "").await?;
    let md = client.refresh_metadata(None).await?;
    let cluster_id = match client.describe_cluster().await {
        Ok(info) => info.cluster_id,
        Err(_) => md
            .cluster_id
            .clone()
            .unwrap_or_else(|| "(not reported)".into()),
    };
    println!("cluster id: {cluster_id}");
    for (id, addr) in &md.brokers {
        println!("broker {id}: {addr}");
    }
    for (api, version) in client.api_support().await? {
        match version {
            Ok(v) => println!("api {api:?}: v{v}"),
            Err(_) => println!("api {api:?}: not supported by this broker"),
        }
    }
    for (name, t) in md.topics.iter().filter(|(_, t)| !t.is_internal) {
        println!("topic {name}: {} partitions", t.partitions.len());
    }
    Ok(())
}

/// `clusterlink mirror`: the engine of link `settings.name` until interrupted, printing status
/// every `status_every` (never when zero).
pub async fn mirror(
    settings: LinkSettings,
    src: Client,
    dst: Client,
    topics: &[String],
    status_every: Duration,
) -> Result<()> {
    let link = settings.name.clone();
    let engine = Engine::start(settings, src, dst)
        .await
        .with_context(|| format!("starting link {link}"))?;
    for topic in topics {
        if engine.status(topic).is_some() {
            continue;
        }
        let spec = MirrorSpec {
            name: topic.clone(),
            source_topic: topic.clone(),
            configs: vec![],
            replication_factor: None,
            start: StartSpec::Earliest,
        };
        engine
            .create_mirror(spec, Desired::Active)
            .await
            .with_context(|| format!("creating mirror topic {topic}"))?;
        println!("mirror topic {topic} created");
    }
    let mut tick = tokio::time::interval(status_every.max(Duration::from_millis(1)));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = tick.tick() => {
                if status_every.is_zero() {
                    continue;
                }
                for s in engine.list() {
                    let mirrored: i64 = s.partitions.iter().map(|p| p.destination_end).sum();
                    let lag_s = s.partitions.iter().map(|p| p.lag_seconds).fold(0.0, f64::max);
                    println!(
                        "mirror {}: {} {:?} offsets, {mirrored} records on the destination, lag {} records / {lag_s:.1}s{}",
                        s.name,
                        s.state.as_str(),
                        s.offset_mode,
                        s.max_lag(),
                        s.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                    );
                }
            }
        }
    }
    engine.shutdown().await;
    Ok(())
}

/// `clusterlink copy`: every committed record of `topic` up to the source's end.
pub async fn copy(
    src: &Client,
    dst: &Client,
    topic: &str,
    dest_topic: &str,
    create: bool,
) -> Result<()> {
    let partitions: Vec<i32> = src
        .topic_metadata(topic)
        .await
        .with_context(|| format!("source topic {topic}"))?
        .partitions
        .keys()
        .copied()
        .collect();
    if create && dst.topic_metadata(dest_topic).await.is_err() {
        let new = NewTopic {
            name: dest_topic.to_owned(),
            partitions: partitions.len() as i32,
            replication_factor: -1,
            configs: vec![],
        };
        for (name, r) in dst
            .create_topics(&[new], false, Duration::from_secs(30))
            .await?
        {
            r.with_context(|| format!("creating destination topic {name}"))?;
        }
    }
    let mut producer = DestinationProducer::init(dst).await?;
    let options = CopyOptions::default();
    let start = Instant::now();
    let mut total = CopyStats::default();
    for p in partitions {
        let route = PartitionRoute {
            source_topic: topic.to_owned(),
            destination_topic: dest_topic.to_owned(),
            partition: p,
        };
        let s = copy_partition(src, dst, &route, 0, &mut producer, &options).await?;
        println!(
            "partition {p}: {} records in {} batches ({} bytes), {} control/aborted batches skipped, next offset {}",
            s.records, s.batches, s.bytes, s.skipped_batches, s.next_offset
        );
        total.records += s.records;
        total.bytes += s.bytes;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "copied {} records ({:.2} MB) from {topic} to {dest_topic} in {secs:.2}s",
        total.records,
        total.bytes as f64 / 1e6
    );
    Ok(())
}
