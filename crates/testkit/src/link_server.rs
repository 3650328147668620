//! A link server (the REST API over one local cluster) in the test process, on an ephemeral
//! port, with short timeouts so that tests see state changes quickly.

use std::sync::OnceLock;
use std::time::Duration;

use clusterlink_kafka::{Client, ClientConfig};
use clusterlink_mirror::LinkSettings;
use clusterlink_server::secrets::PasswordEncoder;
use clusterlink_server::{LinkManager, ManagerOptions};

/// The password encoder secret test link servers use.
pub const ENCODER_SECRET: &str = "test-password-encoder-secret";

/// Client settings with short retries, for tests.
pub fn client_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new(bootstrap);
    c.retry.timeout = Duration::from_secs(5);
    c.connection.request_timeout = Duration::from_secs(5);
    c
}

/// A Kafka client with short retries, for tests.
pub async fn client(bootstrap: &str) -> Client {
    client_with(&[("bootstrap.servers".to_owned(), bootstrap.to_owned())]).await
}

/// A Kafka client with short retries, from Java client settings: `bootstrap.servers`, and
/// `security.protocol`, `sasl.*`, `ssl.*` for a secured cluster (what a link server's
/// `--command-config` file holds; [`crate::kafka::KafkaCluster::java_client_config`] gives them).
pub async fn client_with(settings: &[(String, String)]) -> Client {
    let settings: std::collections::BTreeMap<String, String> = settings.iter().cloned().collect();
    let mut c = client_config(
        settings
            .get("bootstrap.servers")
            .expect("bootstrap.servers"),
    );
    c.connection.tls = clusterlink_kafka::tls::from_configs(&settings).expect("TLS settings");
    c.connection.sasl = clusterlink_kafka::sasl::from_configs(&settings).expect("SASL settings");
    Client::connect(c)
        .await
        .expect("connect to the test broker")
}

/// The state topic of this test process's link servers: its own, so that tests sharing a
/// cluster (see [`crate::peer`]) never see each other's links; the same for every link server
/// of the process, so that a restarted one finds its state again.
pub fn state_topic() -> &'static str {
    static TOPIC: OnceLock<String> = OnceLock::new();
    TOPIC.get_or_init(|| crate::kafka::unique_name("_clusterlink_state"))
}

/// Link server options tuned for tests: fast checkpoints, metadata refresh and restarts, and
/// this process's own [`state_topic`].
pub fn options() -> ManagerOptions {
    let mut engine = LinkSettings::new("");
    engine.state_topic = state_topic().to_owned();
    engine.retry_timeout = Duration::from_secs(30);
    engine.checkpoint_interval = Duration::from_millis(100);
    engine.metadata_interval = Duration::from_millis(300);
    engine.max_wait = Duration::from_millis(50);
    ManagerOptions {
        engine,
        connect_timeout: Duration::from_secs(3),
        restart_backoff: Duration::from_millis(300),
        password_encoder: Some(PasswordEncoder::new(ENCODER_SECRET).expect("a long enough secret")),
        ..ManagerOptions::default()
    }
}

/// A running link server.
#[derive(Debug)]
pub struct LinkServer {
    /// Its links.
    pub manager: LinkManager,
    /// `host:port` it listens on.
    pub addr: String,
    /// Whether it serves https.
    tls: bool,
    task: tokio::task::JoinHandle<()>,
}

/// How a secured test link server is reached: the PKI its certificate comes from, and a user
/// of basic authentication.
#[derive(Debug)]
pub struct SecuredRest {
    /// The server's certificate (for 127.0.0.1), its CA, and client certificates for mTLS.
    pub pki: crate::pki::TestPki,
    /// Client certificates the server's CA signed (their CNs are principals).
    pub clients: Vec<crate::pki::ClientIdentity>,
    /// The basic-auth user.
    pub username: String,
    /// Its password.
    pub password: String,
    /// Where the PEM files live while the server runs.
    _dir: tempfile::TempDir,
}

impl LinkServer {
    /// A link server over the cluster at `bootstrap`.
    pub async fn start(bootstrap: &str) -> LinkServer {
        Self::start_with(bootstrap, options(), "127.0.0.1:0").await
    }

    /// A link server with these options, listening on `addr` (a port of 0 picks one).
    pub async fn start_with(bootstrap: &str, options: ManagerOptions, addr: &str) -> LinkServer {
        Self::start_on(client(bootstrap).await, options, addr).await
    }

    /// A link server over the cluster `local` reaches, with these options, listening on `addr`.
    /// `local`'s connection settings (security, `connect_to`: see [`client_with`] and
    /// [`client_config`]) apply to every connection the server makes.
    pub async fn start_on(local: Client, options: ManagerOptions, addr: &str) -> LinkServer {
        let serve = clusterlink_server::ServeOptions::default();
        Self::serve(local, options, addr, serve).await
    }

    /// A link server over `local`, serving its REST API on `addr` as `serve` says.
    async fn serve(
        local: Client,
        options: ManagerOptions,
        addr: &str,
        serve: clusterlink_server::ServeOptions,
    ) -> LinkServer {
        let manager = LinkManager::open(local, options)
            .await
            .expect("open the link manager");
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("address").to_string();
        let tls = serve.tls.is_some();
        let m = manager.clone();
        let task = tokio::spawn(async move {
            let _ =
                clusterlink_server::serve_with(listener, m, serve, std::future::pending()).await;
        });
        LinkServer {
            manager,
            addr,
            tls,
            task,
        }
    }

    /// A link server over the cluster at `bootstrap` whose REST API needs TLS and either basic
    /// authentication (`ops` and a password) or a client certificate (CN `ops-cn`), as
    /// `clusterlink server --rest-tls-cert ... --rest-client-ca ... --rest-basic-auth-file ...`
    /// runs it.
    pub async fn start_secured(bootstrap: &str) -> (LinkServer, SecuredRest) {
        use clusterlink_server::http::auth::{Authenticator, Htpasswd};
        use clusterlink_server::tls::{TlsFiles, TlsReloader};
        let (pki, clients) =
            crate::pki::TestPki::with_clients(&["127.0.0.1"], &["ops-cn"]).expect("a test PKI");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).expect("write a PEM file");
            p
        };
        let files = TlsFiles {
            cert: file("tls.crt", &pki.cert_pem),
            key: file("tls.key", &pki.key_pem),
            client_ca: Some(file("ca.pem", &pki.ca_pem)),
        };
        let password = format!("pw-{}", crate::kafka::unique_name("rest"));
        let users = format!("ops:{}\n", bcrypt::hash(&password, 4).expect("bcrypt"));
        let serve = clusterlink_server::ServeOptions {
            tls: Some(std::sync::Arc::new(
                TlsReloader::load(files).expect("TLS material"),
            )),
            auth: Some(std::sync::Arc::new(Authenticator {
                basic: Some(Htpasswd::parse(&users).expect("htpasswd")),
                mtls: true,
                ..Authenticator::default()
            })),
            ..clusterlink_server::ServeOptions::default()
        };
        let server = Self::serve(client(bootstrap).await, options(), "127.0.0.1:0", serve).await;
        let access = SecuredRest {
            pki,
            clients,
            username: "ops".into(),
            password,
            _dir: dir,
        };
        (server, access)
    }

    /// The REST endpoint, as a KafkaRestClass names it.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// One HTTP/1.1 request to its listener (`/metrics`, raw REST calls); the status and the
    /// body.
    pub async fn http(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        http(&self.addr, method, path, body).await
    }

    /// Stops serving and stops every engine.
    pub async fn stop(self) {
        self.task.abort();
        self.manager.shutdown().await;
    }
}

/// One HTTP/1.1 request to `addr`; the status and the body.
pub async fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = body.unwrap_or("");
    stream
        .write_all(
            format!(
                "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
    (status.expect("a status"), body.to_string())
}
