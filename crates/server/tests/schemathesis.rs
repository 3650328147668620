//! schemathesis (from PyPI, none of our code) fuzzes the link server's REST API from our OpenAPI
//! document, on real brokers with a link and a mirror in place: no request, however malformed,
//! may get a server error. Its first runs found two bugs (fixed): an invalid topic name in a
//! path was a 500, and the stateful run deleted the server's own state topic.

mod support;

use std::process::Command;

use clusterlink_testkit::rdkafka;
use clusterlink_testkit::{deps, TansuCluster};
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_gets_a_server_error() {
    let src = TansuCluster::start("st-src").unwrap();
    let dst = TansuCluster::start("st-dst").unwrap();
    rdkafka::create_topic(&src.bootstrap(), "orders", 1).unwrap();
    let s = Server::start(&dst.bootstrap()).await;
    let (st, v) = s
        .post(
            "/v3/clusters/st-dst/links?link_name=l1",
            json!({"source_cluster_id": "st-src", "configs": [
                {"name": "bootstrap.servers", "value": src.bootstrap()}]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let (st, v) = s
        .post(
            "/v3/clusters/st-dst/links/l1/mirrors",
            json!({"source_topic_name": "orders"}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("schemathesis.toml"),
        // The cluster and link are fixed (else nearly every request is a 404); topic names are
        // left to the fuzzer.
        "[parameters]\n\"path.cluster_id\" = \"st-dst\"\n\"path.link_name\" = \"l1\"\n",
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
