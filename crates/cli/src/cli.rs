//! The command line: every role's flags, with an example in each command's `--help`.
//!
//! Durations are written as people say them (`30s`, `2m`, `1h30m`; jiff's friendly format, or
//! ISO 8601). The flags that used to take a bare number of seconds or milliseconds keep their
//! old names as aliases, and a bare number still means what it meant there.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clusterlink_kafka::ClientConfig;
use clusterlink_mirror::LinkSettings;

#[derive(Debug, Parser)]
#[command(
    name = "clusterlink",
    version,
    about = "Open-source Cluster Linking for any Kafka",
    after_help = "Examples:\n  clusterlink server --bootstrap-server localhost:9092 --listen 0.0.0.0:8090\n  \
                  clusterlink apply -f links/\n  clusterlink status -f links/ -o wide\n  \
                  clusterlink status --url http://localhost:8090\n  \
                  clusterlink completions bash > /etc/bash_completion.d/clusterlink"
)]
pub struct Cli {
    /// How long to keep retrying a cluster that does not answer (e.g. 30s, 2m).
    #[arg(
        long,
        global = true,
        env = "CLUSTERLINK_RETRY_TIMEOUT",
        value_name = "DURATION",
        value_parser = seconds_or_duration
    )]
    retry_timeout: Option<Duration>,
    /// The same in milliseconds (the flag's old name).
    #[arg(
        long,
        global = true,
        hide = true,
        env = "CLUSTERLINK_RETRY_TIMEOUT_MS",
        value_parser = millis_or_duration
    )]
    retry_timeout_ms: Option<Duration>,
    /// How log lines are written on stderr: `text` (coloured on a terminal only) or `json` (one
    /// object a line, for log pipelines).
    #[arg(
        long,
        global = true,
        env = "CLUSTERLINK_LOG_FORMAT",
        value_enum,
        default_value_t = crate::logging::LogFormat::Text
    )]
    pub log_format: crate::logging::LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// `--retry-timeout`, or its old form, or 30 seconds.
    pub fn retry_timeout(&self) -> Duration {
        self.retry_timeout
            .or(self.retry_timeout_ms)
            .unwrap_or(Duration::from_secs(30))
    }
}

/// A duration as people write it (`2m`, `1h30m`, `500ms`, ISO 8601 `PT2M`), or a bare number of
/// `unit`s.
fn duration(text: &str, unit: Duration) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(n) = text.parse::<u32>() {
        return Ok(unit * n);
    }
    let span: jiff::SignedDuration = text
        .parse()
        .map_err(|e| format!("{text:?} is no duration (write e.g. 30s, 2m, 1h30m): {e}"))?;
    Duration::try_from(span).map_err(|_| format!("{text:?}: a duration cannot be negative"))
}

/// A duration; a bare number is seconds.
pub fn seconds_or_duration(text: &str) -> Result<Duration, String> {
    duration(text, Duration::from_secs(1))
}

/// A duration; a bare number is milliseconds.
pub fn millis_or_duration(text: &str) -> Result<Duration, String> {
    duration(text, Duration::from_millis(1))
}

/// How the link server reaches clusters, and how other clusters reach its own.
#[derive(Debug, Args)]
pub struct Connections {
    /// Kafka client properties for the connections to the local cluster, as Kafka's tools
    /// take them: `security.protocol`, `ssl.*` (PEM) and `sasl.mechanism` /
    /// `sasl.jaas.config` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512). Plaintext without it.
    #[arg(long, env = "CLUSTERLINK_COMMAND_CONFIG", value_name = "FILE")]
    pub command_config: Option<PathBuf>,
    /// Open TCP connections to broker HOST:PORT at ADDR:PORT instead (TLS still verifies
    /// HOST), for every connection the server makes, to the local and to remote clusters: like
    /// curl's --connect-to or a pod's hostAliases. Repeatable.
    #[arg(long, value_name = "HOST:PORT=ADDR:PORT")]
    pub connect_to: Vec<String>,
    /// Where other clusters reach the local one (HOST:PORT[,HOST:PORT...]), as `GET
    /// /clusters/{id}/brokers` lists it for links that name this cluster without a
    /// bootstrapEndpoint; default: the addresses the local brokers advertise.
    #[arg(long, value_name = "HOST:PORT[,HOST:PORT...]")]
    pub advertised_bootstrap_server: Option<String>,
}

/// The two clusters a tool copies between, and how it reaches each.
#[derive(Debug, Args)]
pub struct ClusterPair {
    /// Source bootstrap servers.
    #[arg(long)]
    pub source_bootstrap_server: String,
    /// Kafka client properties (TLS, SASL) for the source cluster, as Kafka's tools take them.
    /// Plaintext without it.
    #[arg(long, value_name = "FILE")]
    pub source_command_config: Option<PathBuf>,
    /// Destination bootstrap servers.
    #[arg(long)]
    pub destination_bootstrap_server: String,
    /// Kafka client properties (TLS, SASL) for the destination cluster, the one written to,
    /// as for `server`'s local cluster. Plaintext without it.
    #[arg(long, value_name = "FILE")]
    pub command_config: Option<PathBuf>,
}

/// How the mirroring engines move data: the same knobs for `mirror` and `server`.
#[derive(Debug, Args)]
pub struct Tuning {
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
    pub fn apply(&self, settings: &mut LinkSettings, writer: &mut ClientConfig) {
        settings.partition_max_bytes = self.partition_max_bytes;
        settings.max_in_flight = self.max_in_flight as usize;
        settings.buffer_max_bytes = usize::try_from(self.buffer_max_bytes).unwrap_or(usize::MAX);
        writer.produce_connections = self.produce_connections.into();
    }
}

/// How `status` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusOutput {
    /// Per link its state and Ready, per mirror topic its status, partitions and largest lags.
    Table,
    /// The table, and per mirror topic a line per partition.
    Wide,
    /// Per ClusterLink the status block the operator would write.
    Yaml,
    /// The same as JSON.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CustomResourceDefinitions (ClusterLink, KafkaRestClass, KafkaTopic) as YAML.
    #[command(after_help = "Example:\n  clusterlink crd | kubectl apply --server-side -f -")]
    Crd,
    /// Print docs/metrics.md: every metric of the link server and the operator.
    #[command(
        hide = true,
        after_help = "Example:\n  clusterlink metrics-doc > docs/metrics.md"
    )]
    MetricsDoc,
    /// Print docs/link-configs.md: the link configs the link server accepts.
    #[command(
        hide = true,
        after_help = "Example:\n  clusterlink link-configs-doc > docs/link-configs.md"
    )]
    LinkConfigsDoc,
    /// Print a cluster's id, brokers, the Kafka APIs clusterlink can use with it, and its topics.
    #[command(
        after_help = "Example:\n  clusterlink describe --bootstrap-server kafka:9093 \
                            --command-config client.properties"
    )]
    Describe {
        /// Bootstrap servers, `host:port[,host:port...]`.
        #[arg(long)]
        bootstrap_server: String,
        /// Kafka client properties (TLS, SASL) for the cluster, as Kafka's tools take them.
        /// Plaintext without it.
        #[arg(long, value_name = "FILE")]
        command_config: Option<PathBuf>,
    },
    /// Run a link's mirroring engine until interrupted: mirror the given topics (created on the
    /// destination if new) and every mirror already stored for the link, printing status.
    #[command(after_help = "Example:\n  clusterlink mirror --link east \
                            --source-bootstrap-server east:9092 \
                            --destination-bootstrap-server west:9093 \
                            --command-config west.properties --topic orders --status-interval 10s")]
    Mirror {
        /// The link's name (keys its state in the destination's state topic).
        #[arg(long)]
        link: String,
        // The destination is the local cluster: it keeps the state.
        #[command(flatten)]
        clusters: ClusterPair,
        /// Source topics to mirror (same name on the destination).
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// Print status this often (0: never), e.g. 1s, 10s; a bare number is milliseconds.
        #[arg(
            long,
            visible_alias = "status-interval-ms",
            value_name = "DURATION",
            default_value = "1s",
            value_parser = millis_or_duration
        )]
        status_interval: Duration,
        /// The compacted topic on the destination that keeps the link's mirrors and checkpoints.
        #[arg(long, default_value = "_clusterlink_state")]
        state_topic: String,
        #[command(flatten)]
        tuning: Tuning,
    },
    /// Run the link server: host the cluster links of the local cluster (their state lives in
    /// its state topic), mirror their topics, and serve Confluent's Admin REST API v3 under
    /// `/kafka/v3` and `/v3`, with `/healthz`, `/readyz` and `/metrics`. The API is open to
    /// anyone who reaches it unless an authentication method is given (see "REST API
    /// security").
    #[command(
        after_help = "Examples:\n  clusterlink server --bootstrap-server kafka:9093 \
                            --command-config client.properties --listen 0.0.0.0:8090 \
                            --password-encoder-secret-file /secrets/encoder\n  \
                            clusterlink server --bootstrap-server kafka:9093 --listen 0.0.0.0:8443 \
                            --rest-tls-cert tls/tls.crt --rest-tls-key tls/tls.key \
                            --rest-basic-auth-file users.htpasswd --rest-roles-file roles.yaml"
    )]
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
        #[command(flatten)]
        encoder: EncoderFiles,
        #[command(flatten)]
        connections: Connections,
        #[command(flatten)]
        tuning: Tuning,
        #[command(flatten)]
        rest: Box<crate::rest_security::RestSecurity>,
    },
    /// Run the Kubernetes operator: reconcile ClusterLink and KafkaTopic resources (following the
    /// KafkaRestClasses and Secrets they use) through their link servers' REST APIs. Uses the
    /// in-cluster service account, or the kubeconfig outside a cluster.
    #[command(
        after_help = "Example:\n  clusterlink operator --namespace kafka --request-timeout 10s \
                      --cleanup-deadline 30m"
    )]
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
        #[command(flatten)]
        request: RestRequest,
        /// How long after a ClusterLink or KafkaTopic is deleted the operator keeps trying to
        /// delete the link or topic from its cluster (an unreachable link server); then it
        /// removes the finalizer anyway, with a Warning Event (CleanupAbandoned), so that the
        /// resource and its namespace can go.
        #[arg(
            long,
            value_name = "DURATION",
            default_value = "15m",
            value_parser = seconds_or_duration
        )]
        cleanup_deadline: Duration,
    },
    /// Reconcile the ClusterLinks and KafkaTopics in YAML files through their link servers'
    /// REST APIs, as the operator would; KafkaRestClass and Secret documents in the same files
    /// say how to reach them. Other kinds are skipped.
    #[command(
        after_help = "Examples:\n  clusterlink apply -f links/ --timeout 5m\n  \
                            clusterlink apply -f link.yaml --watch"
    )]
    Apply {
        /// Files or folders (walked for .yaml, .yml, .json).
        #[arg(short = 'f', long = "filename", required = true)]
        files: Vec<PathBuf>,
        /// Namespace of documents that name none.
        #[arg(short = 'n', long, default_value = "default")]
        namespace: String,
        /// Keep reconciling, and re-read the files when they change, until interrupted.
        #[arg(long)]
        watch: bool,
        /// Without --watch: how long to follow transitions (creation, promotion) before giving
        /// up (a bare number is seconds).
        #[arg(
            long,
            visible_alias = "timeout-secs",
            value_name = "DURATION",
            default_value = "2m",
            value_parser = seconds_or_duration
        )]
        timeout: Duration,
        /// Without --watch: how long a transient failure (link server unreachable, HTTP 5xx,
        /// 408 or 429, a timeout) is retried, with backoff, before apply gives up and exits
        /// non-zero. Refusals (other HTTP 4xx, an invalid spec, a missing object, an unresolvable
        /// reference) are not retried: apply reports them once and exits non-zero at once. A
        /// bare number is seconds.
        #[arg(
            long,
            visible_alias = "retry-for-secs",
            value_name = "DURATION",
            default_value = "1m",
            value_parser = seconds_or_duration
        )]
        retry_for: Duration,
        #[command(flatten)]
        request: RestRequest,
    },
    /// Show where links stand, read live from the link servers (nothing is changed): per
    /// ClusterLink its state and Ready, per mirror topic its status, partitions and largest lag
    /// in records and in seconds, and why when it is not ACTIVE. Exits with 2 when a link is not
    /// Ready.
    #[command(after_help = "Examples:\n  clusterlink status -f links/\n  \
                            clusterlink status -f link.yaml -o wide --watch\n  \
                            clusterlink status --url http://localhost:8090\n  \
                            CLUSTERLINK_REST_PASSWORD=... clusterlink status --url https://links:8090 \
                            --ca-cert-path ca.pem --username ops\n  \
                            clusterlink status -f link.yaml -o yaml")]
    Status {
        /// Files or folders (walked for .yaml, .yml, .json) with the ClusterLinks and the
        /// KafkaRestClasses and Secrets that say how to reach their link servers.
        #[arg(
            short = 'f',
            long = "filename",
            required_unless_present = "url",
            conflicts_with = "url"
        )]
        files: Vec<PathBuf>,
        /// Instead of files: a link server's (or Confluent Server's) REST endpoint, e.g.
        /// http://localhost:8090; every link of the clusters it serves.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        #[command(flatten)]
        access: UrlAccess,
        /// Namespace of documents that name none.
        #[arg(short = 'n', long, default_value = "default")]
        namespace: String,
        /// Output format: yaml and json print, per ClusterLink, the status block the operator
        /// would write (with --url: the links and mirror topics as the REST API reports them).
        #[arg(short = 'o', long, value_enum, default_value_t = StatusOutput::Table)]
        output: StatusOutput,
        /// Print again every --interval until interrupted.
        #[arg(short = 'w', long)]
        watch: bool,
        /// With --watch: how often to print.
        #[arg(
            long,
            value_name = "DURATION",
            default_value = "2s",
            value_parser = seconds_or_duration
        )]
        interval: Duration,
        #[command(flatten)]
        request: RestRequest,
    },
    /// Copy a topic's committed records to another cluster, once, up to the source's end.
    #[command(
        after_help = "Example:\n  clusterlink copy --source-bootstrap-server east:9092 \
                            --destination-bootstrap-server west:9093 \
                            --command-config west.properties --topic orders --create-topic"
    )]
    Copy {
        #[command(flatten)]
        clusters: ClusterPair,
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
    /// Print a shell completion script for clusterlink.
    #[command(
        after_help = "Examples:\n  clusterlink completions bash > /etc/bash_completion.d/clusterlink\n  \
                            clusterlink completions zsh > \"${fpath[1]}/_clusterlink\""
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn durations_are_read_as_people_write_them() {
        assert_eq!(seconds_or_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(seconds_or_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(seconds_or_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(seconds_or_duration("PT2M"), Ok(Duration::from_secs(120)));
        assert_eq!(seconds_or_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(millis_or_duration("300"), Ok(Duration::from_millis(300)));
        assert_eq!(millis_or_duration("0"), Ok(Duration::ZERO));
        assert!(seconds_or_duration("soon").unwrap_err().contains("30s, 2m"));
        assert!(seconds_or_duration("-5s").is_err());
    }

    #[test]
    fn old_flag_names_keep_working() {
        let cli = Cli::try_parse_from([
            "clusterlink",
            "apply",
            "-f",
            "x.yaml",
            "--timeout-secs",
            "5",
            "--retry-for-secs",
            "3",
            "--retry-timeout-ms",
            "250",
        ])
        .unwrap();
        assert_eq!(cli.retry_timeout(), Duration::from_millis(250));
        let Command::Apply {
            timeout, retry_for, ..
        } = cli.command
        else {
            panic!("not apply")
        };
        assert_eq!(timeout, Duration::from_secs(5));
        assert_eq!(retry_for, Duration::from_secs(3));
        let cli = Cli::try_parse_from(["clusterlink", "crd", "--retry-timeout", "2m"]).unwrap();
        assert_eq!(cli.retry_timeout(), Duration::from_secs(120));
    }

    #[test]
    fn every_command_has_an_example_in_its_help() {
        Cli::command().debug_assert();
        for sub in Cli::command().get_subcommands() {
            let after = sub
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(
                after.starts_with("Example") && after.contains("clusterlink "),
                "{} has no example: {after:?}",
                sub.get_name()
            );
        }
    }
}

/// How long each REST request may take.
#[derive(Clone, Copy, Debug, Args)]
pub struct RestRequest {
    /// Timeout of each REST request (a bare number is seconds).
    #[arg(
        long,
        visible_alias = "request-timeout-secs",
        value_name = "DURATION",
        default_value = "30s",
        value_parser = seconds_or_duration
    )]
    pub request_timeout: Duration,
}

/// How `status --url` proves who it is and whom it trusts (the flags of Confluent's CLI for
/// a REST endpoint). Secrets come from files or the environment, never from the command line,
/// where `ps` shows them; credentials are only sent over https.
#[derive(Clone, Debug, Default, Args)]
pub struct UrlAccess {
    /// With --url: CA certificates (PEM) to trust besides the system's.
    #[arg(long, value_name = "FILE", requires = "url")]
    pub ca_cert_path: Option<PathBuf>,
    /// With --url: a client certificate chain (PEM), for mutual TLS.
    #[arg(long, value_name = "FILE", requires_all = ["url", "client_key_path"])]
    pub client_cert_path: Option<PathBuf>,
    /// With --url: the client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "client_cert_path")]
    pub client_key_path: Option<PathBuf>,
    /// With --url: HTTP basic authentication as this user; the password is read from
    /// --password-file, else from $CLUSTERLINK_REST_PASSWORD.
    #[arg(
        long,
        value_name = "USER",
        requires = "url",
        conflicts_with = "bearer_token_file"
    )]
    pub username: Option<String>,
    /// With --username: a file whose first line is the password.
    #[arg(long, value_name = "FILE", requires = "username")]
    pub password_file: Option<PathBuf>,
    /// With --url: a file whose first line is a bearer token (else, when set,
    /// $CLUSTERLINK_REST_TOKEN).
    #[arg(long, value_name = "FILE", requires = "url")]
    pub bearer_token_file: Option<PathBuf>,
}

/// The password encoder secrets of `clusterlink server`.
#[derive(Debug, Clone, Args)]
pub struct EncoderFiles {
    /// File holding the password encoder secret that encrypts sensitive link configs at rest
    /// (at least 16 characters; without one, links with credentials are refused).
    #[arg(long, env = "CLUSTERLINK_PASSWORD_ENCODER_SECRET_FILE")]
    pub password_encoder_secret_file: Option<PathBuf>,
    /// File holding the previous password encoder secret, during a rotation (CFK's
    /// `oldPassword`): values only it decrypts are read and re-encrypted with the current secret
    /// at start-up, after which it can be dropped.
    #[arg(
        long,
        env = "CLUSTERLINK_PASSWORD_ENCODER_OLD_SECRET_FILE",
        requires = "password_encoder_secret_file"
    )]
    pub password_encoder_old_secret_file: Option<PathBuf>,
}
