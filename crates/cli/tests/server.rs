//! `clusterlink server` as a user runs it: serves the REST API of the local cluster's links and
//! exits cleanly on SIGTERM.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clusterlink_testkit::{free_port, TansuCluster};

fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((head.split(' ').nth(1)?.parse().ok()?, body.to_owned()))
}

/// Waits until the server on `addr` lists its cluster, and returns that answer's body; panics
/// if the server exits first or takes more than 20 s.
fn wait_until_serving(addr: &str, child: &mut std::process::Child) -> String {
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

#[test]
fn server_serves_the_cluster_and_stops_on_sigterm() {
    let b = TansuCluster::start("cli-server").unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args([
            "server",
            "--bootstrap-server",
            &b.bootstrap(),
            "--listen",
            &addr,
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let body = wait_until_serving(&addr, &mut child);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"][0]["cluster_id"], "cli-server");
    assert_eq!(get(&addr, "/v3/clusters/cli-server/links").unwrap().0, 200);
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

/// `--command-config`: a local cluster that only lets SCRAM-authenticated clients in is served
/// with the credentials of a Kafka client properties file; a wrong password stops the server
/// with an authentication error that names the mechanism and not the password.
#[test]
fn server_authenticates_to_its_local_cluster_with_command_config() {
    let b = clusterlink_testkit::sasl::SaslCluster::start("cli-sasl", &[("linker", "s3cret-pw")])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, password: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "# the local cluster\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism = SCRAM-SHA-256\n\
                 sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"linker\" password=\"{password}\";\n"
            ),
        )
        .unwrap();
        path
    };
    let good = write("good.properties", "s3cret-pw");
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args([
            "server",
            "--bootstrap-server",
            &b.bootstrap(),
            "--listen",
            &addr,
        ])
        .arg("--command-config")
        .arg(&good)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let body = wait_until_serving(&addr, &mut child);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"][0]["cluster_id"], "cli-sasl");
    let _ = child.kill();
    let _ = child.wait();

    let bad = write("bad.properties", "not-the-pw");
    let out = Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args([
            "server",
            "--bootstrap-server",
            &b.bootstrap(),
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
