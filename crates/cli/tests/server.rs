//! `clusterlink server` as a user runs it: serves the REST API of the local cluster's links,
//! mirrors, and exits cleanly on SIGTERM. On Apache Kafka (the run's shared cluster, so the
//! server keeps its state in a topic of its own: `--state-topic`; a private cluster whose
//! client listener needs SCRAM over TLS for `--command-config`) and on tansu.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clusterlink_testkit::kafka::{unique_name, KafkaCluster, Listener, Mechanism, Sasl};
use clusterlink_testkit::peer::{Peer, Side};
use clusterlink_testkit::sasl::SaslCluster;
use clusterlink_testkit::tls::cert_path;
use clusterlink_testkit::{free_port, peer_tests, rdkafka};
use serde_json::{json, Value};

/// One HTTP/1.1 request; the status and body of the answer.
fn request(addr: &str, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((head.split(' ').nth(1)?.parse().ok()?, body.to_owned()))
}

fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    request(addr, "GET", path, None)
}

/// A `clusterlink server` child process, killed if the test ends without stopping it.
struct Server(Child);

impl Server {
    /// Starts `clusterlink server` for the cluster at `bootstrap` on `addr`, its state in a topic
    /// of its own (the cluster may be shared), with `extra` arguments.
    fn start(bootstrap: &str, addr: &str, extra: &[&str], stderr: Stdio) -> Server {
        let state_topic = unique_name("_clusterlink_state");
        Self::start_on(bootstrap, addr, &state_topic, extra, stderr)
    }

    /// The same with its state in `state_topic` (a restarted server finds its links there).
    fn start_on(
        bootstrap: &str,
        addr: &str,
        state_topic: &str,
        extra: &[&str],
        stderr: Stdio,
    ) -> Server {
        Server(
            Command::new(env!("CARGO_BIN_EXE_clusterlink"))
                .args(["server", "--bootstrap-server", bootstrap, "--listen", addr])
                .args(["--state-topic", state_topic])
                .args(extra)
                .stderr(stderr)
                .spawn()
                .unwrap(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until the server on `addr` lists its cluster, and returns that answer's body; panics
/// if the server exits first or takes more than 20 s.
fn wait_until_serving(addr: &str, child: &mut Child) -> String {
    let start = Instant::now();
    loop {
        if let Some((200, body)) = get(addr, "/kafka/v3/clusters") {
            return body;
        }
        if let Some(exit) = child.try_wait().unwrap() {
            panic!("server exited: {exit:?}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "server did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn server_serves_the_cluster_and_stops_on_sigterm(peer: Peer) {
    let b = peer.cluster(Side::A).unwrap();
    let id = b.cluster_id();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Server::start(&b.bootstrap(), &addr, &[], Stdio::piped());
    let child = &mut server.0;
    let body = wait_until_serving(&addr, child);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"][0]["cluster_id"], id.as_str());
    assert_eq!(
        get(&addr, &format!("/v3/clusters/{id}/links")).unwrap().0,
        200
    );
    assert_eq!(get(&addr, "/readyz").unwrap().0, 200);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(exit.success(), "{exit:?}: {err}");
    assert!(err.contains("serving http://"), "{err}");
}

/// The secured local cluster of the `--command-config` test: its id, its client address, the
/// security settings of that address (a properties file's lines, without the SASL ones), and
/// librdkafka's settings to read it as [`USER`].
struct Secured {
    _cluster: Box<dyn std::any::Any + Send>,
    id: String,
    bootstrap: String,
    properties: String,
    rdkafka: std::collections::BTreeMap<String, Value>,
}

const USER: &str = "linker";
const PASSWORD: &str = "s3cret-pw";

fn secured(peer: Peer) -> Secured {
    match peer {
        // Kafka: the client listener is SASL_SSL, SCRAM over TLS (PLAINTEXT stays for the
        // harness only); the CA is a PEM file, as Kafka's own tools take it.
        Peer::Kafka => {
            let k = KafkaCluster::builder()
                .listener(Listener::SaslSsl)
                .user(USER, PASSWORD)
                .start()
                .unwrap();
            let rdkafka = k.rdkafka_config(
                Listener::SaslSsl,
                Some(Sasl {
                    mechanism: Mechanism::ScramSha256,
                    user: USER,
                    password: PASSWORD,
                }),
            );
            Secured {
                id: k.cluster_id().to_owned(),
                bootstrap: k.bootstrap_for(Listener::SaslSsl),
                properties: format!(
                    "security.protocol=SASL_SSL\nssl.truststore.type=PEM\nssl.truststore.location={}\n",
                    cert_path("ca.pem").display()
                ),
                rdkafka,
                _cluster: Box::new(k),
            }
        }
        // tansu: behind a SASL front that lets no unauthenticated client in.
        _ => {
            let t = SaslCluster::start("cli-sasl", &[(USER, PASSWORD)]).unwrap();
            Secured {
                id: "cli-sasl".into(),
                bootstrap: t.bootstrap(),
                properties: "security.protocol=SASL_PLAINTEXT\n".into(),
                rdkafka: t.rdkafka_config("SCRAM-SHA-256", USER, PASSWORD),
                _cluster: Box::new(t),
            }
        }
    }
}

/// `--command-config`: a local cluster that only lets SCRAM-authenticated clients in is served
/// with the credentials of a Kafka client properties file, and its link mirrors into it; a wrong
/// password stops the server with an authentication error that names the mechanism and not the
/// password.
async fn server_authenticates_to_its_local_cluster_with_command_config(peer: Peer) {
    let local = secured(peer);
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, password: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "# the local cluster\n{}sasl.mechanism = SCRAM-SHA-256\n\
                 sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{USER}\" password=\"{password}\";\n",
                local.properties
            ),
        )
        .unwrap();
        path
    };
    let good = write("good.properties", PASSWORD);
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Server::start(
        &local.bootstrap,
        &addr,
        &["--command-config", good.to_str().unwrap()],
        Stdio::null(),
    );
    let body = wait_until_serving(&addr, &mut server.0);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"][0]["cluster_id"], local.id.as_str());

    // A link from a plaintext source: the mirror topic is created and written on the secured
    // cluster, and read back there by librdkafka authenticating as the same user.
    let src = peer.cluster(Side::A).unwrap();
    let topic = unique_name("orders");
    let link = unique_name("secured-link");
    rdkafka::create_topic(&src.bootstrap(), &topic, 2).unwrap();
    let records = rdkafka::varied_records(120, 2, "secured");
    rdkafka::produce_all(&src.bootstrap(), &topic, &records);
    let created = request(
        &addr,
        "POST",
        &format!("/v3/clusters/{}/links?link_name={link}", local.id),
        Some(&json!({"source_cluster_id": src.cluster_id(),
                     "configs": [{"name": "bootstrap.servers", "value": src.bootstrap()}]})),
    )
    .unwrap();
    assert!(created.0 < 300, "{created:?}");
    let mirrored = request(
        &addr,
        "POST",
        &format!("/v3/clusters/{}/links/{link}/mirrors", local.id),
        Some(&json!({"source_topic_name": topic, "mirror_topic_name": topic})),
    )
    .unwrap();
    assert!(mirrored.0 < 300, "{mirrored:?}");
    let start = Instant::now();
    loop {
        let got =
            rdkafka::consume_configured(&local.bootstrap, &topic, "read_committed", &local.rdkafka);
        if let Ok(got) = got {
            if got.len() == records.len() {
                assert_eq!(rdkafka::by_partition(&got), rdkafka::by_partition(&records));
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "the mirror did not reach the secured cluster"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    drop(server);

    let bad = write("bad.properties", "not-the-pw");
    let out = Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args([
            "server",
            "--bootstrap-server",
            &local.bootstrap,
            "--listen",
            &addr,
        ])
        .arg("--command-config")
        .arg(&bad)
        .env("CLUSTERLINK_RETRY_TIMEOUT_MS", "2000")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("SCRAM-SHA-256"), "{err}");
    assert!(!err.contains("not-the-pw"), "the password leaked: {err}");
}

/// `--password-encoder-old-secret-file`: a link created under one secret is re-encrypted at
/// the start with a new secret and the old one (the server says how many values), then runs
/// under the new secret alone.
async fn server_rotates_its_password_encoder_secret(peer: Peer) {
    let local = peer.cluster(Side::A).unwrap();
    let source = peer.cluster(Side::B).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    std::fs::write(&first, "first-cli-encoder-secret\n").unwrap();
    std::fs::write(&second, "second-cli-encoder-secret\n").unwrap();
    let (first, second) = (first.to_str().unwrap(), second.to_str().unwrap());
    let state_topic = unique_name("_clusterlink_state");
    let id = local.cluster_id();
    let links = format!("/v3/clusters/{id}/links");
    // Runs a server with `secrets` until the link "vault" is ACTIVE; its standard error.
    let run = |secrets: &[&str]| {
        let addr = format!("127.0.0.1:{}", free_port());
        let mut server = Server::start_on(
            &local.bootstrap(),
            &addr,
            &state_topic,
            secrets,
            Stdio::piped(),
        );
        wait_until_serving(&addr, &mut server.0);
        (server, addr)
    };
    let (server, addr) = run(&["--password-encoder-secret-file", first]);
    let jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required username='u' password='CLI-ROTATE-1';";
    let body = json!({
        "source_cluster_id": source.cluster_id(),
        "configs": [
            {"name": "bootstrap.servers", "value": source.bootstrap()},
            {"name": "sasl.jaas.config", "value": jaas},
        ],
    });
    let (status, text) = request(
        &addr,
        "POST",
        &format!("{links}?link_name=vault"),
        Some(&body),
    )
    .expect("create the link");
    assert!(status < 300, "{status} {text}");
    drop(server);

    let stderr_until_active = |mut server: Server, addr: &str| {
        let start = Instant::now();
        loop {
            let (_, text) = get(addr, &format!("{links}/vault")).unwrap();
            if text.contains("\"ACTIVE\"") {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "{text}");
            std::thread::sleep(Duration::from_millis(100));
        }
        server.0.kill().unwrap();
        let mut err = String::new();
        server
            .0
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(!err.contains("CLI-ROTATE-1"), "{err}");
        err
    };
    let (server, addr) = run(&[
        "--password-encoder-secret-file",
        second,
        "--password-encoder-old-secret-file",
        first,
    ]);
    let err = stderr_until_active(server, &addr);
    assert!(
        err.contains("re-encrypted 1 sensitive link config value(s)"),
        "{err}"
    );
    let (server, addr) = run(&["--password-encoder-secret-file", second]);
    let err = stderr_until_active(server, &addr);
    assert!(!err.contains("re-encrypted"), "{err}");
}

peer_tests! {
    server_serves_the_cluster_and_stops_on_sigterm: [kafka, tansu];
    server_authenticates_to_its_local_cluster_with_command_config: [kafka, tansu];
    server_rotates_its_password_encoder_secret: [kafka];
}
