//! schemathesis (from PyPI, none of our code) fuzzes the link server's REST API from our OpenAPI
//! document, on real brokers with a link and a mirror in place: no request, however malformed,
//! may get a server error. Its first runs found two bugs (fixed): an invalid topic name in a
//! path was a 500, and the stateful run deleted the server's own state topic. On Apache Kafka
//! and tansu, with the same seed.

mod support;

use std::process::Command;

use clusterlink_testkit::deps;
use clusterlink_testkit::rdkafka;
use support::*;

async fn no_request_gets_a_server_error(peer: Peer) {
    let src = peer.cluster(Side::A).unwrap();
    // The fuzzer creates, alters and deletes topics (and links) of the server's own cluster: a
    // cluster of its own, never one other tests share.
    let dst = peer.private("st-dst").unwrap();
    let orders = unique_name("orders");
    rdkafka::create_topic(&src.bootstrap(), &orders, 1).unwrap();
    let s = Server::start(&dst.bootstrap()).await;
    let (st, v) = s.create_link("l1", &src, &[]).await;
    assert_eq!(st, 204, "{v:#}");
    let (st, v) = s.create_mirror("l1", &orders).await;
    assert_eq!(st, 204, "{v:#}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("schemathesis.toml"),
        // The cluster and link are fixed (else nearly every request is a 404); topic names are
        // left to the fuzzer.
        format!(
            "[parameters]\n\"path.cluster_id\" = \"{}\"\n\"path.link_name\" = \"l1\"\n",
            dst.cluster_id()
        ),
    )
    .unwrap();
    let schemathesis = deps().python.with_file_name("schemathesis");
    let openapi = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml");
    let url = format!("http://{}/v3", s.addr);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(schemathesis)
            .arg("run")
            .arg(&openapi)
            .args(["--url", &url])
            .args(["--checks", "not_a_server_error"])
            .args(["--max-examples", "60", "--workers", "1"])
            // Reproducible: the same requests on every run (a failure is a change of ours, not
            // a new draw), and `st replay` ids stay valid.
            .args(["--seed", "20261124"])
            .current_dir(dir.path())
            .output()
            .expect("run schemathesis")
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("passed"), "{text}");
    s.stop().await;
}

peer_tests! {
    no_request_gets_a_server_error: [kafka, tansu];
}
