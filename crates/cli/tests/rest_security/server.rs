//! The helpers of these tests: a `clusterlink server` child process with its log, raw HTTP/1.1
//! exchanges (to see headers), credentials files, and what refusals look like.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use clusterlink_reconcile::rest_client::{RestAuth, RestEndpoint, RestError, RestTlsMaterial};
use clusterlink_testkit::free_port;
use clusterlink_testkit::kafka::unique_name;
use serde_json::Value;

/// A `clusterlink server` child process and everything it wrote on stderr.
pub(crate) struct Server {
    child: Child,
    log: Arc<Mutex<String>>,
    pub(crate) addr: String,
}

impl Server {
    /// Starts the server for the cluster at `bootstrap` on 127.0.0.1, with `extra` arguments,
    /// and waits until it serves.
    pub(crate) fn start(bootstrap: &str, dir: &Path, extra: &[&str]) -> Server {
        Self::start_on(bootstrap, dir, "127.0.0.1", extra)
    }

    pub(crate) fn start_on(bootstrap: &str, dir: &Path, host: &str, extra: &[&str]) -> Server {
        let port = free_port();
        let encoder = write(dir, "encoder-secret", "rest-security-test-encoder");
        let mut child = Command::new(env!("CARGO_BIN_EXE_clusterlink"))
            .args(["server", "--bootstrap-server", bootstrap])
            .args(["--listen", &format!("{host}:{port}")])
            .args(["--state-topic", &unique_name("_clusterlink_state")])
            .arg("--password-encoder-secret-file")
            .arg(&encoder)
            .args(extra)
            .env(
                "RUST_LOG",
                "clusterlink_server=debug,clusterlink=debug,info",
            )
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let lines = BufReader::new(child.stderr.take().unwrap());
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let start = Instant::now();
        while !log.lock().unwrap().contains("serving http") {
            if let Some(exit) = child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(200));
                panic!("server exited: {exit:?}\n{}", log.lock().unwrap());
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "server did not come up\n{}",
                log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Server {
            child,
            log,
            addr: format!("127.0.0.1:{port}"),
        }
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

pub(crate) fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An answer read off the wire: status, head (lower-cased header names kept as sent), body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The values of a header, by case-insensitive name.
    pub(crate) fn header(&self, name: &str) -> Vec<String> {
        self.head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }
}

/// One plain HTTP/1.1 request.
pub(crate) fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    Answer {
        status: head.split(' ').nth(1).unwrap().parse().unwrap(),
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

pub(crate) fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// An htpasswd file (bcrypt, as `htpasswd -B` writes it) of `users`.
pub(crate) fn htpasswd(dir: &Path, users: &[(&str, &str)]) -> PathBuf {
    let lines: String = users
        .iter()
        .map(|(u, p)| format!("{u}:{}\n", bcrypt::hash(p, 4).unwrap()))
        .collect();
    write(dir, "users.htpasswd", &format!("# test users\n{lines}"))
}

/// The body of a 401 or 403: Confluent's error code, and a message.
pub(crate) fn assert_refused(a: &Answer, status: u16, code: i64) {
    assert_eq!(a.status, status, "{a:?}");
    let v = a.json();
    assert_eq!(v["error_code"], code, "{a:?}");
    assert!(
        v["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{a:?}"
    );
}

pub(crate) fn endpoint(url: String, auth: RestAuth, tls: RestTlsMaterial) -> RestEndpoint {
    let mut e = RestEndpoint::plain(url);
    e.auth = auth;
    e.tls = tls;
    e.timeout = Duration::from_secs(20);
    e
}

pub(crate) fn status_of(e: &RestError) -> Option<(u16, Option<i64>)> {
    match e {
        RestError::Api { status, code, .. } => Some((*status, *code)),
        _ => None,
    }
}
