//! The pieces of `scripts/bench.sh`, each printing one JSON line of figures:
//!
//! - `produce`: fills a source topic with librdkafka (fast, compiled) before anything is timed;
//! - `fetch-only`: reads the whole source topic with our client and throws it away: the ceiling
//!   for any mirror that uses our client;
//! - `pipeline`: the baseline, what MirrorMaker-style tools do, written as well as librdkafka
//!   allows: one consumer (all partitions assigned, big fetches) feeding one idempotent acks=all
//!   producer (large batches, lingering), each record sent to the same partition with its key,
//!   value, headers and timestamp;
//! - `produce-only`: reads the whole source topic into memory first (not timed), then writes
//!   those batches to a fresh cluster with our client the way the engine does (idempotent
//!   producer, up to five batches per partition pipelined, partitions spread over connections):
//!   the destination's ceiling for any mirror that uses our client;
//! - `wait`: polls a destination topic until it holds N records, for timing `clusterlink mirror`.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use clusterlink_kafka::client::{FetchPartition, FetchRequest, NewTopic, ProducePartition};
use clusterlink_kafka::records::{split_batches, RawBatch};
use clusterlink_kafka::{Client, ClientConfig, Isolation};
use rdkafka::config::ClientConfig as RdConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, Timestamp, TopicPartitionList};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create the topic and fill it with records of `size` bytes.
    Produce {
        #[arg(long)]
        bootstrap: String,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        partitions: i32,
        #[arg(long)]
        records: usize,
        #[arg(long)]
        size: usize,
    },
    /// Read the topic to its end with our client.
    FetchOnly {
        #[arg(long)]
        bootstrap: String,
        #[arg(long)]
        topic: String,
    },
    /// librdkafka consume → produce of the whole topic into another cluster.
    Pipeline {
        #[arg(long)]
        source: String,
        #[arg(long)]
        destination: String,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        records: usize,
    },
    /// Write the source topic's batches, read beforehand, to another cluster with our client.
    ProduceOnly {
        #[arg(long)]
        source: String,
        #[arg(long)]
        destination: String,
        #[arg(long)]
        topic: String,
        #[arg(long, default_value_t = 2)]
        produce_connections: usize,
    },
    /// Wait until the topic holds `records` records.
    Wait {
        #[arg(long)]
        bootstrap: String,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        records: i64,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Produce { bootstrap, topic, partitions, records, size } => produce(&bootstrap, &topic, partitions, records, size).await,
        Cmd::FetchOnly { bootstrap, topic } => fetch_only(&bootstrap, &topic).await,
        Cmd::Pipeline { source, destination, topic, records } => pipeline(&source, &destination, &topic, records).await,
        Cmd::ProduceOnly { source, destination, topic, produce_connections } => produce_only(&source, &destination, &topic, produce_connections).await,
        Cmd::Wait { bootstrap, topic, records } => wait(&bootstrap, &topic, records).await,
    }
}

async fn create_topic(bootstrap: &str, topic: &str, partitions: i32) -> Result<()> {
    let client = Client::connect(ClientConfig::new(bootstrap)).await?;
    let t = NewTopic { name: topic.into(), partitions, replication_factor: -1, configs: vec![] };
    for (_, r) in client.create_topics(&[t], false, Duration::from_secs(30)).await? {
        r?;
    }
    Ok(())
}

fn tuned_producer(bootstrap: &str) -> Result<BaseProducer> {
    Ok(RdConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("batch.size", "1048576")
        .set("batch.num.messages", "100000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .set("message.max.bytes", "10000000")
        .set("compression.type", "none")
        .create()?)
}

fn send(p: &BaseProducer, mut record: BaseRecord<'_, [u8], [u8]>) -> Result<()> {
    loop {
        match p.send(record) {
            Ok(()) => return Ok(()),
            Err((e, r)) if e.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::QueueFull) => {
                p.poll(Duration::from_millis(5));
                record = r;
            }
            Err((e, _)) => bail!("produce: {e}"),
        }
    }
}

async fn produce(bootstrap: &str, topic: &str, partitions: i32, records: usize, size: usize) -> Result<()> {
    create_topic(bootstrap, topic, partitions).await?;
    let p = tuned_producer(bootstrap)?;
    let start = Instant::now();
    let mut value = vec![0u8; size];
    for i in 0..records {
        // varied but cheap content: the index, then a repeating pattern
        value[..8].copy_from_slice(&(i as u64).to_be_bytes());
        for (j, b) in value[8..].iter_mut().enumerate() {
            *b = (i + j) as u8;
        }
        let key = format!("key-{i}");
        let record = BaseRecord::to(topic)
            .partition((i % partitions as usize) as i32)
            .key(key.as_bytes())
            .payload(&value[..])
            .timestamp(1_700_000_000_000 + i as i64);
        send(&p, record)?;
        p.poll(Duration::ZERO);
    }
    p.flush(Duration::from_secs(300))?;
    let secs = start.elapsed().as_secs_f64();
    println!(r#"{{"produced":{records},"seconds":{secs:.3}}}"#);
    Ok(())
}

/// The partition indexes of `topic`.
async fn partitions(client: &Client, topic: &str) -> Result<Vec<i32>> {
    Ok(client.topic_metadata(topic).await?.partitions.keys().copied().collect())
}

/// Reads every partition of `topic` from 0 to its high watermark with our client, handing each
/// batch to `each` with the partition's index in `parts`.
async fn read_topic(client: &Client, topic: &str, parts: &[i32], mut each: impl FnMut(usize, RawBatch)) -> Result<()> {
    let mut offsets = vec![0i64; parts.len()];
    let mut ends = vec![i64::MAX; parts.len()];
    while offsets.iter().zip(&ends).any(|(o, e)| o < e) {
        let req = FetchRequest {
            partitions: parts
                .iter()
                .zip(&offsets)
                .zip(&ends)
                .filter(|((_, o), e)| o < e)
                .map(|((p, o), _)| FetchPartition { topic: topic.into(), partition: *p, offset: *o, max_bytes: 1 << 20 })
                .collect(),
            max_wait: Duration::from_millis(100),
            min_bytes: 1,
            max_bytes: 32 << 20,
            isolation: Isolation::ReadCommitted,
        };
        for r in client.fetch(&req).await {
            let f = r.result.with_context(|| format!("partition {}", r.partition))?;
            let i = parts.iter().position(|p| *p == r.partition).context("partition")?;
            if f.high_watermark >= 0 {
                ends[i] = f.high_watermark;
            }
            for b in split_batches(f.records)? {
                offsets[i] = b.header().next_offset();
                each(i, b);
            }
        }
    }
    Ok(())
}

async fn fetch_only(bootstrap: &str, topic: &str) -> Result<()> {
    let client = Client::connect(ClientConfig::new(bootstrap)).await?;
    let parts = partitions(&client, topic).await?;
    let (mut records, mut bytes) = (0u64, 0u64);
    let start = Instant::now();
    read_topic(&client, topic, &parts, |_, b| {
        records += b.header().record_count as u64;
        bytes += b.bytes().len() as u64;
    })
    .await?;
    let secs = start.elapsed().as_secs_f64();
    println!(r#"{{"records":{records},"batch_bytes":{bytes},"seconds":{secs:.3}}}"#);
    Ok(())
}

async fn produce_only(source: &str, destination: &str, topic: &str, lanes: usize) -> Result<()> {
    let src = Client::connect(ClientConfig::new(source)).await?;
    let parts = partitions(&src, topic).await?;
    let mut batches: Vec<std::collections::VecDeque<RawBatch>> = vec![Default::default(); parts.len()];
    read_topic(&src, topic, &parts, |i, b| batches[i].push_back(b)).await?;
    create_topic(destination, topic, parts.len() as i32).await?;
    let mut config = ClientConfig::new(destination);
    config.produce_connections = lanes;
    let dst = Client::connect(config).await?;
    let (pid, epoch) = dst.init_producer_id().await?;
    // On the fresh topic, a partition's next offset is also its next sequence.
    let mut next = vec![0i64; parts.len()];
    let (mut records, mut bytes) = (0u64, 0u64);
    let start = Instant::now();
    while batches.iter().any(|b| !b.is_empty()) {
        let mut expected: Vec<std::collections::VecDeque<i64>> = vec![Default::default(); parts.len()];
        let mut call = Vec::new();
        for (i, queue) in batches.iter_mut().enumerate() {
            for b in queue.drain(..queue.len().min(5)) {
                let stamped = b.for_producer(pid, epoch, i32::try_from(next[i])?);
                expected[i].push_back(next[i]);
                next[i] += b.header().record_count as i64;
                records += b.header().record_count as u64;
                bytes += b.bytes().len() as u64;
                call.push(ProducePartition { topic: topic.into(), partition: parts[i], records: stamped.into_bytes() });
            }
        }
        for r in dst.produce(call, Duration::from_secs(30)).await {
            let at = r.result.with_context(|| format!("partition {}", r.partition))?.base_offset;
            // Batches must land in the order they were sent: pipelining must not reorder them.
            let i = parts.iter().position(|p| *p == r.partition).context("partition")?;
            let want = expected[i].pop_front().context("an answer too many")?;
            if at != want {
                bail!("partition {}: a batch landed at {at}, expected {want}", r.partition);
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(r#"{{"records":{records},"batch_bytes":{bytes},"seconds":{secs:.3}}}"#);
    Ok(())
}

async fn pipeline(source: &str, destination: &str, topic: &str, records: usize) -> Result<()> {
    let meta_client = Client::connect(ClientConfig::new(source)).await?;
    let parts = partitions(&meta_client, topic).await?;
    create_topic(destination, topic, parts.len() as i32).await?;
    let consumer: BaseConsumer = RdConfig::new()
        .set("bootstrap.servers", source)
        .set("group.id", "bench-pipeline")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("fetch.max.bytes", "52428800")
        .set("max.partition.fetch.bytes", "10485760")
        .set("queued.max.messages.kbytes", "1048576")
        .set("fetch.wait.max.ms", "100")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for p in &parts {
        tpl.add_partition_offset(topic, *p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    let producer = tuned_producer(destination)?;
    let start = Instant::now();
    let mut n = 0usize;
    while n < records {
        let Some(m) = consumer.poll(Duration::from_millis(100)) else { continue };
        let m = m?;
        let mut record = BaseRecord::to(topic).partition(m.partition());
        if let Some(k) = m.key() {
            record = record.key(k);
        }
        if let Some(v) = m.payload() {
            record = record.payload(v);
        }
        if let Timestamp::CreateTime(ts) | Timestamp::LogAppendTime(ts) = m.timestamp() {
            record = record.timestamp(ts);
        }
        if let Some(h) = m.headers() {
            let mut out = OwnedHeaders::new();
            for hd in h.iter() {
                out = out.insert(Header { key: hd.key, value: hd.value });
            }
            record = record.headers(out);
        }
        send(&producer, record)?;
        producer.poll(Duration::ZERO);
        n += 1;
    }
    producer.flush(Duration::from_secs(300))?;
    let secs = start.elapsed().as_secs_f64();
    println!(r#"{{"records":{n},"seconds":{secs:.3}}}"#);
    Ok(())
}

async fn wait(bootstrap: &str, topic: &str, records: i64) -> Result<()> {
    let mut cfg = ClientConfig::new(bootstrap);
    cfg.retry.timeout = Duration::from_millis(200);
    let client = Client::connect(cfg).await?;
    let start = Instant::now();
    let mut ends: Vec<i64> = Vec::new();
    loop {
        if let Ok(t) = client.topic_metadata(topic).await {
            ends.resize(t.partitions.len(), 0);
            for (i, p) in t.partitions.keys().enumerate() {
                if let Ok(f) = client.fetch_partition(topic, *p, ends[i], Isolation::ReadUncommitted, Duration::from_millis(1), 1).await {
                    ends[i] = f.high_watermark;
                }
            }
            if ends.iter().sum::<i64>() >= records {
                break;
            }
        }
        if start.elapsed() > Duration::from_secs(1800) {
            bail!("gave up waiting for {records} records");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(r#"{{"records":{},"seconds":{secs:.3}}}"#, ends.iter().sum::<i64>());
    Ok(())
}
