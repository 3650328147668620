//! A tansu broker reachable only over TLS: tansu cannot serve TLS itself (test-brokers.md), so a
//! TLS front (`py/tlsfront.py`: Python's ssl module, i.e. OpenSSL, none of our code) terminates
//! it and the broker advertises the front's port. The certificates are test-only
//! (`certs/README.md`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{deps, free_port, TansuCluster};

/// Path of a file under `certs/`.
pub fn cert_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("certs")
        .join(name)
}

/// The PEM text of a file under `certs/` (`ca.pem`, `other-ca.pem`, ...).
pub fn cert(name: &str) -> String {
    std::fs::read_to_string(cert_path(name)).expect("test certificate")
}

/// A tansu cluster behind a TLS front; both stop on drop.
#[derive(Debug)]
pub struct TlsCluster {
    /// The broker (its `bootstrap()` is the TLS address).
    pub cluster: TansuCluster,
    front: Child,
}

impl TlsCluster {
    /// Starts a broker with id `cluster_id` and its TLS front.
    pub fn start(cluster_id: &str) -> Result<Self> {
        let tls_port = free_port();
        let cluster = TansuCluster::start_advertising(cluster_id, tls_port)?;
        let mut front = Command::new(&deps().python)
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("py/tlsfront.py"))
            .args(["--listen", &tls_port.to_string()])
            .args(["--target", &format!("127.0.0.1:{}", cluster.port())])
            .arg("--cert")
            .arg(cert_path("broker.pem"))
            .arg("--key")
            .arg(cert_path("broker.key"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the TLS front")?;
        let mut line = String::new();
        BufReader::new(front.stdout.take().context("front stdout")?).read_line(&mut line)?;
        if line.trim() != "ready" {
            let _ = front.kill();
            bail!("the TLS front did not start: {line:?}");
        }
        Ok(TlsCluster { cluster, front })
    }

    /// The TLS bootstrap address.
    pub fn bootstrap(&self) -> String {
        self.cluster.bootstrap()
    }
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        let _ = self.front.kill();
        let _ = self.front.wait();
    }
}
