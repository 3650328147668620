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
    let url = format!("http://{}/v3", s.addr);
    run_schemathesis(&dst.cluster_id(), &url, &[]).await;
    s.stop().await;
}

/// The same through TLS and basic authentication (a secured link server, schemathesis given
/// the CA and the credentials): authentication and its middleware add no server error.
async fn no_authenticated_request_gets_a_server_error(peer: Peer) {
    let src = peer.cluster(Side::A).unwrap();
    let dst = peer.private("st-auth-dst").unwrap();
    let orders = unique_name("orders");
    rdkafka::create_topic(&src.bootstrap(), &orders, 1).unwrap();
    let (server, access) =
        clusterlink_testkit::link_server::LinkServer::start_secured(&dst.bootstrap()).await;
    let s = server;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &access.pki.ca_pem).unwrap();
    let url = format!("https://{}/v3", s.addr);
    let user = format!("{}:{}", access.username, access.password);
    // The link and mirror, through the same door.
    let rest = clusterlink_reconcile::rest_client::RestClient::new(&{
        let mut e =
            clusterlink_reconcile::rest_client::RestEndpoint::plain(format!("https://{}", s.addr));
        e.auth = clusterlink_reconcile::rest_client::RestAuth::Basic {
            username: access.username.clone(),
            password: clusterlink_model::SecretValue::new(access.password.clone()),
        };
        e.tls.ca_pem = Some(clusterlink_model::SecretValue::new(
            access.pki.ca_pem.clone(),
        ));
        e
    })
    .unwrap();
    let ids = clusterlink_reconcile::rest_client::CreateLinkIds {
        source_cluster_id: Some(src.cluster_id()),
        ..Default::default()
    };
    let configs = [(
        "bootstrap.servers".to_string(),
        clusterlink_model::configs::ConfigValue::Plain(src.bootstrap()),
    )]
    .into();
    rest.create_link(&dst.cluster_id(), "l1", &ids, &configs)
        .await
        .unwrap();
    rest.create_mirror(
        &dst.cluster_id(),
        "l1",
        &orders,
        &orders,
        &Default::default(),
        None,
    )
    .await
    .unwrap();
    let ca_arg = ca.to_str().unwrap().to_string();
    run_schemathesis(
        &dst.cluster_id(),
        &url,
        &["--auth", &user, "--tls-verify", &ca_arg],
    )
    .await;
    // The requests went through authentication, not around or against it: none was refused
    // for want of credentials, and the API's own checks answered many (malformed input gets
    // 400s and 404s, counted by category).
    let errors = s.manager.error_counts();
    assert_eq!(errors.get("unauthenticated"), None, "{errors:?}");
    assert_eq!(errors.get("forbidden"), None, "{errors:?}");
    assert!(errors.values().sum::<u64>() > 10, "{errors:?}");
    s.stop().await;
}

/// Runs schemathesis against `url` (the API root) with the cluster and link `l1` fixed and
/// `extra` arguments; asserts that no request got a server error.
async fn run_schemathesis(cluster_id: &str, url: &str, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("schemathesis.toml"),
        // The cluster and link are fixed (else nearly every request is a 404); topic names are
        // left to the fuzzer.
        format!(
            "[parameters]\n\"path.cluster_id\" = \"{cluster_id}\"\n\"path.link_name\" = \"l1\"\n"
        ),
    )
    .unwrap();
    let schemathesis = deps().python.with_file_name("schemathesis");
    let openapi = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml");
    let url = url.to_string();
    let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
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
            .args(&extra)
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
}

peer_tests! {
    no_request_gets_a_server_error: [kafka, tansu];
    no_authenticated_request_gets_a_server_error: [kafka];
}
