//! A tansu broker reachable only through SASL. tansu speaks SCRAM itself, but its users are
//! created through an authenticated broker and kept in storage that this build cannot keep
//! (memory storage loses them on restart, and its S3 engine does not store them:
//! test-brokers.md), so a SASL front (`py/saslfront.py`) authenticates clients as a Kafka broker
//! does (SCRAM-SHA-256 and SCRAM-SHA-512 by the `scramp` library, an independent SCRAM server;
//! PLAIN) and then forwards the bytes; the broker advertises the front's port, so every client
//! connection authenticates. The front is itself checked with librdkafka
//! (`crates/kafka/tests/sasl.rs`). With TLS (`start_tls`) the front speaks SASL_SSL, with the
//! test certificates of [`crate::tls`]. [`SaslCluster::start_mixed`] also lets clients in that
//! do not authenticate at all (as a second, PLAINTEXT listener would), for tests whose set-up
//! and checks use plain clients while the link authenticates; a client that starts SASL is
//! still refused on wrong credentials. A user listed twice has two PLAIN passwords (SCRAM takes
//! the first), as during a rotation.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::tls::cert_path;
use crate::{deps, free_port, TansuCluster};

/// A tansu cluster behind a SASL front; both stop on drop.
#[derive(Debug)]
pub struct SaslCluster {
    /// The broker (its `bootstrap()` is the front's address).
    pub cluster: TansuCluster,
    tls: bool,
    front: Child,
}

impl SaslCluster {
    /// Starts a broker with id `cluster_id` behind a SASL_PLAINTEXT front that knows `users`
    /// (name, password) for PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.
    pub fn start(cluster_id: &str, users: &[(&str, &str)]) -> Result<Self> {
        Self::launch(cluster_id, users, false, false)
    }

    /// The same behind a SASL_SSL front (certificate `certs/broker.pem`, CA `certs/ca.pem`).
    pub fn start_tls(cluster_id: &str, users: &[(&str, &str)]) -> Result<Self> {
        Self::launch(cluster_id, users, true, false)
    }

    /// A SASL_PLAINTEXT front that also lets unauthenticated clients through (see the module
    /// documentation): `bootstrap()` serves plain test clients and SASL clients alike.
    pub fn start_mixed(cluster_id: &str, users: &[(&str, &str)]) -> Result<Self> {
        Self::launch(cluster_id, users, false, true)
    }

    fn launch(
        cluster_id: &str,
        users: &[(&str, &str)],
        tls: bool,
        allow_unauthenticated: bool,
    ) -> Result<Self> {
        let front_port = free_port();
        let cluster = TansuCluster::start_advertising(cluster_id, front_port)?;
        let mut cmd = Command::new(&deps().python);
        cmd.arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("py/saslfront.py"))
            .args(["--listen", &front_port.to_string()])
            .args(["--target", &format!("127.0.0.1:{}", cluster.port())]);
        for (name, password) in users {
            cmd.args(["--user", &format!("{name}:{password}")]);
        }
        if allow_unauthenticated {
            cmd.arg("--allow-unauthenticated");
        }
        if tls {
            cmd.arg("--cert")
                .arg(cert_path("broker.pem"))
                .arg("--key")
                .arg(cert_path("broker.key"));
        }
        let mut front = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the SASL front")?;
        let mut line = String::new();
        BufReader::new(front.stdout.take().context("front stdout")?).read_line(&mut line)?;
        if line.trim() != "ready" {
            let _ = front.kill();
            let _ = front.wait();
            bail!("the SASL front did not start: {line:?}");
        }
        Ok(SaslCluster {
            cluster,
            tls,
            front,
        })
    }

    /// The front's bootstrap address.
    pub fn bootstrap(&self) -> String {
        self.cluster.bootstrap()
    }

    /// The cluster id it was started with.
    pub fn cluster_id(&self) -> &str {
        self.cluster.cluster_id()
    }

    /// `SASL_SSL` or `SASL_PLAINTEXT`.
    pub fn security_protocol(&self) -> &'static str {
        if self.tls {
            "SASL_SSL"
        } else {
            "SASL_PLAINTEXT"
        }
    }

    /// librdkafka settings that authenticate as `user` with `mechanism` (and trust the test CA
    /// over TLS), for [`crate::rdkafka`]'s produce specs and consumes.
    pub fn rdkafka_config(
        &self,
        mechanism: &str,
        user: &str,
        password: &str,
    ) -> BTreeMap<String, Value> {
        let mut c: BTreeMap<String, Value> = [
            ("security.protocol", json!(self.security_protocol())),
            ("sasl.mechanism", json!(mechanism)),
            ("sasl.username", json!(user)),
            ("sasl.password", json!(password)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if self.tls {
            c.insert(
                "ssl.ca.location".into(),
                json!(cert_path("ca.pem").to_str().expect("UTF-8 path")),
            );
        }
        c
    }

    /// Kafka's link configs (as a Java client spells them) that authenticate as `user`.
    pub fn link_configs(
        &self,
        mechanism: &str,
        user: &str,
        password: &str,
    ) -> Vec<(String, String)> {
        let module = if mechanism == "PLAIN" {
            "org.apache.kafka.common.security.plain.PlainLoginModule"
        } else {
            "org.apache.kafka.common.security.scram.ScramLoginModule"
        };
        let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut c = vec![
            ("bootstrap.servers".to_owned(), self.bootstrap()),
            (
                "security.protocol".to_owned(),
                self.security_protocol().to_owned(),
            ),
            ("sasl.mechanism".to_owned(), mechanism.to_owned()),
            (
                "sasl.jaas.config".to_owned(),
                format!(
                    "{module} required username=\"{}\" password=\"{}\";",
                    quote(user),
                    quote(password)
                ),
            ),
        ];
        if self.tls {
            c.push(("ssl.truststore.type".into(), "PEM".into()));
            c.push((
                "ssl.truststore.certificates".into(),
                crate::tls::cert("ca.pem"),
            ));
        }
        c
    }
}

impl Drop for SaslCluster {
    fn drop(&mut self) {
        let _ = self.front.kill();
        let _ = self.front.wait();
    }
}
