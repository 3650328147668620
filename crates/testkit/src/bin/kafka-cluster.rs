//! Starts an Apache Kafka cluster with the test harness's settings and keeps it running until
//! stdin closes or SIGTERM/SIGINT arrives; then its nodes are killed and their files removed.
//! Meanwhile, lines on stdin crash and restart nodes, as scripts' drills need: `kill N` kills
//! node N at once (SIGKILL, its data stays), `start N` starts it again on its data and address;
//! each prints `killed N` or `started N` (or `error: ...`) once done.
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

use std::io::{BufRead, Write};

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

    // stdin's lines, then its end (`None`), go to the loop below.
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<Option<String>>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(l) => {
                    let _ = lines_tx.send(Some(l));
                }
                Err(_) => break,
            }
        }
        let _ = lines_tx.send(None);
    });
    let mut cluster = cluster;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let mut term = signal(SignalKind::terminate())?;
            let mut int = signal(SignalKind::interrupt())?;
            loop {
                tokio::select! {
                    _ = term.recv() => break,
                    _ = int.recv() => break,
                    line = lines.recv() => match line.flatten() {
                        None => break,
                        Some(l) => {
                            println!("{}", command(&mut cluster, l.trim()));
                            std::io::stdout().flush()?;
                        }
                    },
                }
            }
            anyhow::Ok(())
        })?;
    drop(cluster);
    Ok(())
}

/// Runs one command line (`kill N`, `start N`); what to print.
fn command(cluster: &mut KafkaCluster, line: &str) -> String {
    let mut run = || -> Result<String> {
        let (verb, node) = line
            .split_once(' ')
            .context("expected `kill N` or `start N`")?;
        let node: u32 = node.trim().parse().context("a node id")?;
        match verb {
            "kill" => cluster.kill_node(node).map(|()| format!("killed {node}")),
            "start" => cluster.start_node(node).map(|()| format!("started {node}")),
            other => bail!("unknown command {other:?}"),
        }
    };
    match run() {
        Ok(done) => done,
        Err(e) => format!("error: {e:#}"),
    }
}
