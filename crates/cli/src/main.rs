//! The `clusterlink` binary: one executable for every role.
//!
//! Roles: `server` (the link server: Confluent's Admin REST v3 over the local cluster's links),
//! `operator` (the Kubernetes controller), `apply` and `status` (the same reconcile from YAML
//! files, without Kubernetes; `status` also straight from a link server's REST API), `crd` (the
//! CustomResourceDefinitions), `completions`, and the tools that connect to Kafka directly
//! ([`tools`]): `describe`, `mirror` and `copy`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser};
use clusterlink_kafka::{Client, ClientConfig};
use clusterlink_mirror::LinkSettings;

mod apply;
mod cli;
mod command_config;
mod logging;
mod reference;
mod rest_security;
mod status;
mod tools;

use cli::{Cli, Command, Connections, RestRequest, Tuning};

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
    let retry = cli.retry_timeout();
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
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "clusterlink",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Describe {
            bootstrap_server,
            command_config,
        } => tools::describe(&bootstrap_server, command_config.as_deref(), retry).await,
        Command::Mirror {
            link,
            clusters,
            topics,
            status_interval,
            state_topic,
            tuning,
        } => {
            let mut settings = LinkSettings::new(&link);
            settings.state_topic = state_topic;
            let clients =
                tools::connect_pair(&clusters, retry, |dst| tuning.apply(&mut settings, dst));
            match clients.await {
                Ok((src, dst)) => tools::mirror(settings, src, dst, &topics, status_interval).await,
                Err(e) => Err(e),
            }
        }
        Command::Server {
            bootstrap_server,
            listen,
            state_topic,
            encoder,
            connections,
            tuning,
            rest,
        } => {
            server(
                &bootstrap_server,
                &listen,
                &state_topic,
                &encoder,
                &connections,
                &tuning,
                &rest,
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
            request: RestRequest { request_timeout },
            cleanup_deadline,
        } => {
            operator(
                namespace,
                metrics_listen,
                (!no_leader_election).then_some((lease_namespace, lease_name)),
                request_timeout,
                cleanup_deadline,
            )
            .await
        }
        Command::Apply {
            files,
            namespace,
            watch,
            timeout,
            retry_for,
            request: RestRequest { request_timeout },
        } => {
            let options = apply::ApplyOptions {
                watch,
                timeout,
                retry_for,
                request_timeout,
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
            url,
            namespace,
            output,
            watch,
            interval,
            request: RestRequest { request_timeout },
            access,
        } => {
            let source = match url {
                Some(url) => status::Source::Url { url, access },
                None => status::Source::Files { files, namespace },
            };
            let options = status::StatusOptions {
                output,
                watch: watch.then_some(interval),
                request_timeout,
            };
            match status::status(&source, options).await {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::from(2),
                Err(e) => Err(e),
            }
        }
        Command::Copy {
            clusters,
            topic,
            destination_topic,
            create_topic,
        } => {
            let dest_topic = destination_topic.unwrap_or_else(|| topic.clone());
            match tools::connect_pair(&clusters, retry, |_| {}).await {
                Ok((src, dst)) => tools::copy(&src, &dst, &topic, &dest_topic, create_topic).await,
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
    cleanup_deadline: Duration,
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
            cleanup_deadline,
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

// One argument per flag group of the command: a struct of them would only rename them.
#[allow(clippy::too_many_arguments)]
async fn server(
    bootstrap: &str,
    listen: &str,
    state_topic: &str,
    encoder: &cli::EncoderFiles,
    connections: &Connections,
    tuning: &Tuning,
    rest: &rest_security::RestSecurity,
    retry: Duration,
) -> Result<()> {
    let serving = rest.options()?;
    let mut options = clusterlink_server::ManagerOptions {
        password_encoder: password_encoder(encoder)?,
        ..Default::default()
    };
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
        command_config::apply(path, &mut config)?;
    }
    let local = Client::connect(config)
        .await
        .with_context(|| format!("connecting to the local cluster at {bootstrap}"))?;
    options.engine.state_topic = state_topic.to_owned();
    let manager = clusterlink_server::LinkManager::open(local, options)
        .await
        .context("restoring the links of the local cluster")?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    if serving.auth.is_none() && !rest_security::is_loopback(&addr) {
        tracing::warn!(
            listen = %addr,
            "THE REST API IS OPEN TO ANYONE WHO REACHES {addr}: no authentication is configured \
             (--rest-basic-auth-file, --rest-jwt-public-key, --rest-jwks-file, --rest-client-ca); \
             anyone can create, alter and delete links and topics"
        );
    }
    let scheme = if serving.tls.is_some() {
        "https"
    } else {
        "http"
    };
    if manager.reencrypted() > 0 {
        eprintln!(
            "clusterlink server: re-encrypted {} sensitive link config value(s) with the current password encoder secret",
            manager.reencrypted()
        );
    }
    eprintln!(
        "clusterlink server: cluster {} with {} link(s), serving {scheme}://{addr}/kafka/v3",
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
    clusterlink_server::serve_with(listener, manager.clone(), serving, shutdown).await?;
    manager.shutdown().await;
    Ok(())
}

/// The password encoder of `--password-encoder-secret-file` (refused when too short), reading
/// the values of `--password-encoder-old-secret-file` too.
fn password_encoder(
    files: &cli::EncoderFiles,
) -> Result<Option<clusterlink_server::secrets::PasswordEncoder>> {
    let read = |path: &std::path::Path, what: &str| -> Result<String> {
        let secret = std::fs::read_to_string(path)
            .with_context(|| format!("reading the {what} from {}", path.display()))?;
        let secret = secret.trim_end_matches(['\n', '\r']).to_owned();
        anyhow::ensure!(
            !secret.is_empty(),
            "the {what} in {} is empty",
            path.display()
        );
        Ok(secret)
    };
    let Some(path) = &files.password_encoder_secret_file else {
        return Ok(None);
    };
    let secret = read(path, "password encoder secret")?;
    let mut encoder = clusterlink_server::secrets::PasswordEncoder::new(&secret)
        .with_context(|| format!("--password-encoder-secret-file {}", path.display()))?;
    if let Some(old) = &files.password_encoder_old_secret_file {
        encoder = encoder.with_old_secret(&read(old, "old password encoder secret")?);
    }
    Ok(Some(encoder))
}
