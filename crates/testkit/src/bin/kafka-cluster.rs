//! Starts an Apache Kafka cluster with the test harness's settings and keeps it running until
//! stdin closes or SIGTERM/SIGINT arrives; then its nodes are killed and their files removed.
//!
//! `scripts/test.sh` runs it to start the clusters that every test process of a run shares (a
//! JVM broker costs seconds to start, and nextest runs each test in its own process), so that
//! the Rust harness is the one place that knows how to start Kafka.
//!
//! ```text
//! kafka-cluster [--nodes 1|3] [--env NAME] [--prop KEY=VALUE]... [--jvm-arg FLAG]...
//! ```
//!
//! Once every broker serves it prints `NAME=CLUSTER_ID@HOST:PORT[,HOST:PORT...]` (NAME defaults
//! to CLUSTERLINK_KAFKA_SHARED), the form `KafkaCluster::attach` and `KafkaCluster::shared` read.

use std::io::{Read, Write};

use anyhow::{bail, Context, Result};
use clusterlink_testkit::kafka::{KafkaCluster, SHARED_ENV};
use tokio::signal::unix::{signal, SignalKind};

fn main() -> Result<()> {
    let mut builder = KafkaCluster::builder();
    let mut env = SHARED_ENV.to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--nodes" => builder = builder.nodes(value()?.parse()?),
            "--env" => env = value()?,
            "--prop" => {
                let v = value()?;
                let (k, v) = v.split_once('=').context("--prop KEY=VALUE")?;
                builder = builder.prop(k, v);
            }
            "--jvm-arg" => builder = builder.jvm_arg(&value()?),
            "-h" | "--help" => {
                println!("kafka-cluster [--nodes 1|3] [--env NAME] [--prop KEY=VALUE]... [--jvm-arg FLAG]...");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    let cluster = builder.start()?;
    println!("{env}={}", cluster.shared_spec());
    std::io::stdout().flush()?;

    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        let _ = closed_tx.send(());
    });
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let mut term = signal(SignalKind::terminate())?;
            let mut int = signal(SignalKind::interrupt())?;
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
                _ = closed_rx => {}
            }
            anyhow::Ok(())
        })?;
    drop(cluster);
    Ok(())
}
