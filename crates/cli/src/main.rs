//! The `clusterlink` binary: one executable for every role.
//!
//! Roles: `server` (the link server: Confluent's Admin REST v3 over the local cluster's links),
//! `operator` (the Kubernetes controller), `apply` and `status` (the same reconcile from YAML
//! files, without Kubernetes), `crd` (the CustomResourceDefinitions), and tools: `describe`
//! (what a cluster says about itself), `mirror` (one link's engine in the foreground), `copy` (a
//! one-shot, catch-up copy of a topic).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use clusterlink_kafka::client::NewTopic;
use clusterlink_kafka::{Client, ClientConfig};
mod apply;
mod logging;
mod reference;

use clusterlink_mirror::{
    copy_partition, CopyOptions, CopyStats, Desired, DestinationProducer, Engine, LinkSettings,
    MirrorSpec, PartitionRoute, StartSpec,
};

#[derive(Debug, Parser)]
#[command(
    name = "clusterlink",
    version,
    about = "Open-source Cluster Linking for any Kafka"
)]
struct Cli {
    /// How long to keep retrying a cluster that does not answer, in milliseconds.
    #[arg(
        long,
        global = true,
        env = "CLUSTERLINK_RETRY_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    retry_timeout_ms: u64,
    /// How log lines are written on stderr: `text` (coloured on a terminal only) or `json` (one
    /// object a line, for log pipelines).
    #[arg(
        long,
        global = true,
        env = "CLUSTERLINK_LOG_FORMAT",
        value_enum,
        default_value_t = logging::LogFormat::Text
    )]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How the link server reaches clusters, and how other clusters reach its own.
#[derive(Debug, Args)]
struct Connections {
    /// Kafka client properties for the connections to the local cluster, as Kafka's tools
    /// take them: `security.protocol`, `ssl.*` (PEM) and `sasl.mechanism` /
    /// `sasl.jaas.config` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512). Plaintext without it.
    #[arg(long, env = "CLUSTERLINK_COMMAND_CONFIG")]
    command_config: Option<std::path::PathBuf>,
    /// Open TCP connections to broker HOST:PORT at ADDR:PORT instead (TLS still verifies
    /// HOST), for every connection the server makes, to the local and to remote clusters: like
    /// curl's --connect-to or a pod's hostAliases. Repeatable.
    #[arg(long, value_name = "HOST:PORT=ADDR:PORT")]
    connect_to: Vec<String>,
    /// Where other clusters reach the local one (HOST:PORT[,HOST:PORT...]), as `GET
    /// /clusters/{id}/brokers` lists it for links that name this cluster without a
    /// bootstrapEndpoint; default: the addresses the local brokers advertise.
    #[arg(long, value_name = "HOST:PORT[,HOST:PORT...]")]
    advertised_bootstrap_server: Option<String>,
}

/// How the mirroring engines move data: the same knobs for `mirror` and `server`.
#[derive(Debug, Args)]
struct Tuning {
    /// Most bytes fetched per partition per fetch.
    #[arg(long, default_value_t = 1 << 20, value_parser = clap::value_parser!(i32).range(1..))]
    partition_max_bytes: i32,
    /// Connections per destination broker that writes are spread over (a partition always
    /// uses the same one).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    produce_connections: u16,
    /// Produce requests in flight per destination partition (1 to 5).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=5))]
    max_in_flight: u8,
    /// Bytes of fetched data a link's engine holds at most (queued or being written), above
    /// which it stops fetching until writes catch up.
    #[arg(long, default_value_t = 64 << 20, value_parser = clap::value_parser!(u64).range(1..))]
    buffer_max_bytes: u64,
}

impl Tuning {
    /// Applies the knobs to an engine's settings and to the client that writes.
    fn apply(&self, settings: &mut LinkSettings, writer: &mut ClientConfig) {
        settings.partition_max_bytes = self.partition_max_bytes;
        settings.max_in_flight = self.max_in_flight as usize;
        settings.buffer_max_bytes = usize::try_from(self.buffer_max_bytes).unwrap_or(usize::MAX);
        writer.produce_connections = self.produce_connections.into();
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the CustomResourceDefinitions (ClusterLink, KafkaRestClass, KafkaTopic) as YAML.
    Crd,
    /// Print docs/metrics.md: every metric of the link server and the operator.
    #[command(hide = true)]
    MetricsDoc,
    /// Print docs/link-configs.md: the link configs the link server accepts.
    #[command(hide = true)]
    LinkConfigsDoc,
    /// Print a cluster's id, brokers, the Kafka APIs clusterlink can use with it, and its topics.
    Describe {
        /// Bootstrap servers, `host:port[,host:port...]`.
        #[arg(long)]
        bootstrap_server: String,
    },
    /// Run a link's mirroring engine until interrupted: mirror the given topics (created on the
    /// destination if new) and every mirror already stored for the link, printing status.
    Mirror {
        /// The link's name (keys its state in the destination's state topic).
        #[arg(long)]
        link: String,
        /// Source bootstrap servers.
        #[arg(long)]
        source_bootstrap_server: String,
        /// Destination bootstrap servers (the local cluster: it keeps the state).
        #[arg(long)]
        destination_bootstrap_server: String,
        /// Source topics to mirror (same name on the destination).
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// Print status every this many milliseconds (0: never).
        #[arg(long, default_value_t = 1000)]
        status_interval_ms: u64,
        /// The compacted topic on the destination that keeps the link's mirrors and checkpoints.
        #[arg(long, default_value = "_clusterlink_state")]
        state_topic: String,
        #[command(flatten)]
        tuning: Tuning,
    },
    /// Run the link server: host the cluster links of the local cluster (their state lives in
    /// its state topic), mirror their topics, and serve Confluent's Admin REST API v3 under
    /// `/kafka/v3` and `/v3`, with `/healthz`, `/readyz` and `/metrics`.
    Server {
        /// The local (destination) cluster's bootstrap servers.
        #[arg(long)]
        bootstrap_server: String,
        /// Address to serve HTTP on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// The compacted topic on the local cluster that keeps links, mirrors and checkpoints.
        #[arg(long, default_value = "_clusterlink_state")]
        state_topic: String,
        /// File holding the password encoder secret that encrypts sensitive link configs at rest
        /// (without one, links with credentials are refused).
        #[arg(long, env = "CLUSTERLINK_PASSWORD_ENCODER_SECRET_FILE")]
        password_encoder_secret_file: Option<std::path::PathBuf>,
        #[command(flatten)]
        connections: Connections,
        #[command(flatten)]
        tuning: Tuning,
    },
    /// Run the Kubernetes operator: reconcile ClusterLink and KafkaTopic resources (following the
    /// KafkaRestClasses and Secrets they use) through their link servers' REST APIs. Uses the
    /// in-cluster service account, or the kubeconfig outside a cluster.
    Operator {
        /// Watch this namespace only (all namespaces when absent).
        #[arg(long, env = "CLUSTERLINK_WATCH_NAMESPACE")]
        namespace: Option<String>,
        /// Address to serve /metrics, /healthz and /readyz on.
        #[arg(long, default_value = "0.0.0.0:9090")]
        metrics_listen: std::net::SocketAddr,
        /// Namespace of the leader-election Lease.
        #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
        lease_namespace: String,
        /// Name of the leader-election Lease.
        #[arg(long, default_value = "clusterlink-operator")]
        lease_name: String,
        /// Act without leader election (only safe with a single replica).
        #[arg(long)]
        no_leader_election: bool,
        /// Timeout of each REST request to a link server, in seconds.
        #[arg(long, default_value_t = 30)]
        request_timeout_secs: u64,
    },
    /// Reconcile the ClusterLinks and KafkaTopics in YAML files through their link servers'
    /// REST APIs, as the operator would; KafkaRestClass and Secret documents in the same files
    /// say how to reach them. Other kinds are skipped.
    Apply {
        /// Files or folders (walked for .yaml, .yml, .json).
        #[arg(short = 'f', long = "filename", required = true)]
        files: Vec<std::path::PathBuf>,
        /// Namespace of documents that name none.
        #[arg(short = 'n', long, default_value = "default")]
        namespace: String,
        /// Keep reconciling, and re-read the files when they change, until interrupted.
        #[arg(long)]
        watch: bool,
        /// Without --watch: how long to follow transitions (creation, promotion) before giving up.
        #[arg(long, default_value_t = 120)]
        timeout_secs: u64,
        /// Without --watch: how long a transient failure (link server unreachable, HTTP 5xx,
        /// 408 or 429, a timeout) is retried, with backoff, before apply gives up and exits
        /// non-zero. Refusals (other HTTP 4xx, an invalid spec, a missing object, an unresolvable
        /// reference) are not retried: apply reports them once and exits non-zero at once.
        #[arg(long, default_value_t = 60)]
        retry_for_secs: u64,
        /// Timeout of each REST request, in seconds.
        #[arg(long, default_value_t = 30)]
        request_timeout_secs: u64,
    },
    /// Print, per ClusterLink in the files, the status block the operator would write, read live
    /// from the link servers (nothing is changed).
    Status {
        /// Files or folders (walked for .yaml, .yml, .json).
        #[arg(short = 'f', long = "filename", required = true)]
        files: Vec<std::path::PathBuf>,
        /// Namespace of documents that name none.
        #[arg(short = 'n', long, default_value = "default")]
        namespace: String,
        /// Output format.
        #[arg(short = 'o', long, default_value = "yaml", value_parser = ["yaml", "json"])]
        output: String,
        /// Timeout of each REST request, in seconds.
        #[arg(long, default_value_t = 30)]
        request_timeout_secs: u64,
    },
    /// Copy a topic's committed records to another cluster, once, up to the source's end.
    Copy {
        /// Source bootstrap servers.
        #[arg(long)]
        source_bootstrap_server: String,
        /// Destination bootstrap servers.
        #[arg(long)]
        destination_bootstrap_server: String,
        /// Topic to copy.
        #[arg(long)]
        topic: String,
        /// Name on the destination (default: the same name).
        #[arg(long)]
        destination_topic: Option<String>,
        /// Create the destination topic with the source's partition count if it is missing.
        #[arg(long)]
        create_topic: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // `apply` and `status` print what happens themselves; their log would say it twice.
    let default_filter = match cli.command {
        Command::Apply { .. } | Command::Status { .. } => "error",
        Command::Operator { .. } => "info",
        _ => "warn",
    };
    logging::init(cli.log_format, default_filter);
    let retry = Duration::from_millis(cli.retry_timeout_ms);
    let result = match cli.command {
        Command::Crd => {
            print!("{}", clusterlink_model::crds_yaml());
            Ok(())
        }
        Command::MetricsDoc => {
            print!("{}", reference::metrics_markdown());
            Ok(())
        }
        Command::LinkConfigsDoc => {
            print!("{}", reference::link_configs_markdown());
            Ok(())
        }
        Command::Describe { bootstrap_server } => describe(&bootstrap_server, retry).await,
        Command::Mirror {
            link,
            source_bootstrap_server,
            destination_bootstrap_server,
            topics,
            status_interval_ms,
            state_topic,
            tuning,
        } => {
            let mut settings = LinkSettings::new(&link);
            settings.state_topic = state_topic;
            let mut config = ClientConfig::new(&destination_bootstrap_server);
            config.retry.timeout = retry;
            tuning.apply(&mut settings, &mut config);
            let src = connect(&source_bootstrap_server, "source ", retry);
            let dst = async {
                Client::connect(config).await.with_context(|| {
                    format!(
                        "connecting to the destination cluster at {destination_bootstrap_server}"
                    )
                })
            };
            match tokio::try_join!(src, dst) {
                Ok((src, dst)) => mirror(settings, src, dst, &topics, status_interval_ms).await,
                Err(e) => Err(e),
            }
        }
        Command::Server {
            bootstrap_server,
            listen,
            state_topic,
            password_encoder_secret_file,
            connections,
            tuning,
        } => {
            server(
                &bootstrap_server,
                &listen,
                &state_topic,
                password_encoder_secret_file.as_deref(),
                &connections,
                &tuning,
                retry,
            )
            .await
        }
        Command::Operator {
            namespace,
            metrics_listen,
            lease_namespace,
            lease_name,
            no_leader_election,
            request_timeout_secs,
        } => {
            operator(
                namespace,
                metrics_listen,
                (!no_leader_election).then_some((lease_namespace, lease_name)),
                Duration::from_secs(request_timeout_secs),
            )
            .await
        }
        Command::Apply {
            files,
            namespace,
            watch,
            timeout_secs,
            retry_for_secs,
            request_timeout_secs,
        } => {
            let options = apply::ApplyOptions {
                watch,
                timeout: Duration::from_secs(timeout_secs),
                retry_for: Duration::from_secs(retry_for_secs),
                request_timeout: Duration::from_secs(request_timeout_secs),
            };
            match apply::apply(&files, &namespace, options).await {
                Ok(true) => Ok(()),
                Ok(false) => {
                    eprintln!("error: not every resource could be applied (see above)");
                    return ExitCode::from(2);
                }
                Err(e) => Err(e),
            }
        }
        Command::Status {
            files,
            namespace,
            output,
            request_timeout_secs,
        } => {
            apply::status(
                &files,
                &namespace,
                output == "json",
                Duration::from_secs(request_timeout_secs),
            )
            .await
        }
        Command::Copy {
            source_bootstrap_server,
            destination_bootstrap_server,
            topic,
            destination_topic,
            create_topic,
        } => {
            let dest_topic = destination_topic.unwrap_or_else(|| topic.clone());
            let src = connect(&source_bootstrap_server, "source ", retry);
            let dst = connect(&destination_bootstrap_server, "destination ", retry);
            match tokio::try_join!(src, dst) {
                Ok((src, dst)) => copy(&src, &dst, &topic, &dest_topic, create_topic).await,
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn operator(
    namespace: Option<String>,
    metrics_listen: std::net::SocketAddr,
    lease: Option<(String, String)>,
    request_timeout: Duration,
) -> Result<()> {
    let client = kube::Client::try_default()
        .await
        .context("no Kubernetes client configuration (in-cluster service account or kubeconfig)")?;
    let instance = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| format!("clusterlink-operator-{}", std::process::id()));
    let config = clusterlink_operator::OperatorConfig {
        controllers: clusterlink_operator::ControllerConfig {
            namespace,
            request_timeout,
            instance: instance.clone(),
        },
        lease: lease
            .map(|(ns, name)| clusterlink_operator::LeaseConfig::new(&ns, &name, &instance)),
        metrics_listen: Some(metrics_listen),
    };
    // SIGTERM is how Kubernetes stops a pod (the operator is PID 1 in its image).
    let shutdown = async {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async {
                    match term.as_mut() {
                        Some(t) => { t.recv().await; }
                        None => std::future::pending::<()>().await,
                    }
                } => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    };
    clusterlink_operator::run(
        client,
        config,
        clusterlink_operator::Metrics::default(),
        shutdown,
    )
    .await
    .context("operator")
}

/// Reads a Java `.properties` file, as Kafka's tools do (see [`parse_properties`]). Kafka
/// reads them as ISO-8859-1; a file that is not UTF-8 is read so too.
fn read_properties(path: &std::path::Path) -> Result<std::collections::BTreeMap<String, String>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading client properties from {}", path.display()))?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => e.into_bytes().into_iter().map(char::from).collect(),
    };
    parse_properties(&text).with_context(|| format!("client properties in {}", path.display()))
}

/// The blanks of Java's `.properties` syntax (not Unicode's).
fn blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// Java's `.properties` syntax: lines end at `\n`, `\r\n` or `\r`; `#` and `!` comment lines;
/// a line ending in an odd number of backslashes continues on the next (whose leading blanks
/// are dropped), as JAAS configs are often written; the name ends at the first unescaped `=`,
/// `:` or blank (space, tab, form feed); `\t`, `\n`, `\r`, `\f`, `\uXXXX` (surrogate pairs
/// joined) and `\` before any other character are escapes.
fn parse_properties(text: &str) -> Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines = text.split('\n').enumerate();
    while let Some((n, first)) = lines.next() {
        let first = first.trim_start_matches(blank);
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        let mut logical = first.to_owned();
        while logical.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1 {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start_matches(blank)),
                None => break,
            }
        }
        let (name, value) = split_property(&logical);
        let name = unescape(&name).with_context(|| format!("line {}", n + 1))?;
        let value = unescape(&value).with_context(|| format!("line {}", n + 1))?;
        out.insert(name, value);
    }
    Ok(out)
}

/// A logical line's name and value, both still escaped.
fn split_property(line: &str) -> (String, String) {
    let mut chars = line.char_indices();
    let mut end = line.len();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == '=' || c == ':' || blank(c) {
            end = i;
            break;
        }
    }
    let name = &line[..end];
    let rest = line[end..].trim_start_matches(blank);
    let rest = rest
        .strip_prefix(['=', ':'])
        .map_or(rest, |r| r.trim_start_matches(blank));
    (name.to_owned(), rest.to_owned())
}

fn unescape(s: &str) -> Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    // Not echoed in errors: the value may be a secret.
    let hex4 = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Result<u32> {
        let hex: String = chars.by_ref().take(4).collect();
        u32::from_str_radix(&hex, 16)
            .ok()
            .filter(|_| hex.len() == 4)
            .context("a \\u escape without four hex digits")
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let unit = hex4(&mut chars)?;
                let code = if (0xD800..0xDC00).contains(&unit) {
                    // A high surrogate: Java strings are UTF-16, the low half follows.
                    anyhow::ensure!(
                        chars.next() == Some('\\') && chars.next() == Some('u'),
                        "a \\u surrogate escape without its second half"
                    );
                    let low = hex4(&mut chars)?;
                    anyhow::ensure!(
                        (0xDC00..0xE000).contains(&low),
                        "a \\u surrogate escape without its second half"
                    );
                    0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    unit
                };
                out.push(char::from_u32(code).context("a \\u escape that is no character")?);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

async fn connect(bootstrap: &str, side: &str, retry_timeout: Duration) -> Result<Client> {
    let mut config = ClientConfig::new(bootstrap);
    config.retry.timeout = retry_timeout;
    Client::connect(config)
        .await
        .with_context(|| format!("connecting to the {side}cluster at {bootstrap}"))
}

async fn server(
    bootstrap: &str,
    listen: &str,
    state_topic: &str,
    encoder_secret_file: Option<&std::path::Path>,
    connections: &Connections,
    tuning: &Tuning,
    retry: Duration,
) -> Result<()> {
    let mut options = clusterlink_server::ManagerOptions::default();
    let mut config = ClientConfig::new(bootstrap);
    config.retry.timeout = retry;
    tuning.apply(&mut options.engine, &mut config);
    config.connection.connect_to =
        clusterlink_kafka::connection::ConnectTo::parse(&connections.connect_to)?;
    if let Some(advertised) = &connections.advertised_bootstrap_server {
        options.advertised_bootstrap = advertised
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        anyhow::ensure!(
            options.advertised_bootstrap.iter().all(|a| a
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())),
            "--advertised-bootstrap-server {advertised:?}: expected HOST:PORT[,HOST:PORT...]"
        );
    }
    if let Some(path) = &connections.command_config {
        let properties = read_properties(path)?;
        let at = || format!("the client properties in {}", path.display());
        config.connection.tls = clusterlink_kafka::tls::from_configs(&properties)
            .with_context(|| format!("TLS settings of {}", at()))?;
        config.connection.sasl = clusterlink_kafka::sasl::from_configs(&properties)
            .with_context(|| format!("SASL settings of {}", at()))?;
    }
    let local = Client::connect(config)
        .await
        .with_context(|| format!("connecting to the local cluster at {bootstrap}"))?;
    options.engine.state_topic = state_topic.to_owned();
    if let Some(path) = encoder_secret_file {
        let secret = std::fs::read_to_string(path).with_context(|| {
            format!(
                "reading the password encoder secret from {}",
                path.display()
            )
        })?;
        let secret = secret.trim_end_matches(['\n', '\r']);
        anyhow::ensure!(
            !secret.is_empty(),
            "the password encoder secret in {} is empty",
            path.display()
        );
        options.password_encoder = Some(clusterlink_server::secrets::PasswordEncoder::new(secret));
    }
    let manager = clusterlink_server::LinkManager::open(local, options)
        .await
        .context("restoring the links of the local cluster")?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "clusterlink server: cluster {} with {} link(s), serving http://{addr}/kafka/v3",
        manager.cluster_id(),
        manager.links().len()
    );
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    clusterlink_server::serve(listener, manager.clone(), shutdown).await?;
    manager.shutdown().await;
    Ok(())
}

async fn describe(bootstrap: &str, retry_timeout: Duration) -> Result<()> {
    let client = connect(bootstrap, "", retry_timeout).await?;
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

async fn mirror(
    settings: LinkSettings,
    src: Client,
    dst: Client,
    topics: &[String],
    status_every_ms: u64,
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
    let mut tick = tokio::time::interval(Duration::from_millis(status_every_ms.max(1)));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = tick.tick() => {
                if status_every_ms == 0 {
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

async fn copy(
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

#[cfg(test)]
mod tests {
    use super::parse_properties;

    #[test]
    fn properties_files_read_as_kafka_tools_write_them() {
        let p = parse_properties(
            "# comment\n! also a comment\n\n security.protocol = SASL_SSL\nsasl.mechanism:PLAIN\n\
             sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\\n    \
             username=\"u\" \\\n    password=\"a=b\\\\c\";\n\
             ssl.truststore.location /etc/ca.pem\nkey\\=with\\:escapes=caf\\u00e9\n",
        )
        .unwrap();
        assert_eq!(p["security.protocol"], "SASL_SSL");
        assert_eq!(p["sasl.mechanism"], "PLAIN");
        assert_eq!(
            p["sasl.jaas.config"],
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"a=b\\c\";"
        );
        assert_eq!(p["ssl.truststore.location"], "/etc/ca.pem");
        assert_eq!(p["key=with:escapes"], "caf\u{e9}");
        assert_eq!(p.len(), 5);
        let e = parse_properties("ok=1\nbad=\\uZZ\n").unwrap_err();
        assert!(format!("{e:#}").contains("line 2"), "{e:#}");
        // Old Mac line ends, Java's blanks only, surrogate pairs, an empty name (as Java).
        let p = parse_properties("a=1\rb=\u{a0}x\r=empty\rsmile=\\uD83D\\uDE00").unwrap();
        assert_eq!(p["a"], "1");
        assert_eq!(p["b"], "\u{a0}x");
        assert_eq!(p[""], "empty");
        assert_eq!(p["smile"], "\u{1F600}");
    }
}
