//! `/healthz` answers for the process's engines, not only for the process: each link's
//! mirroring task must keep beginning rounds (`stall_limit`); one that ended or wedged makes
//! the liveness probe fail with the link named, so that Kubernetes restarts the process. On
//! Apache Kafka.

mod support;

use std::time::Duration;

use clusterlink_testkit::link_server::options;
use support::*;

async fn healthz_is_ok_while_engines_loop_and_names_a_stalled_one(peer: Peer) {
    let (src, dst) = peer.pair().unwrap();
    // A link whose engine loops: alive.
    let s = Server::start(&dst.bootstrap()).await;
    let (st, body) = s.raw("GET", "/healthz", None).await;
    assert_eq!((st, body.as_str()), (200, "ok\n"), "no links yet");
    let (st, v) = s.create_link("l", &src, &[]).await;
    assert_eq!(st, 204, "{v:#}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (st, body) = s.raw("GET", "/healthz", None).await;
    assert_eq!((st, body.as_str()), (200, "ok\n"));
    s.stop().await;

    // An engine whose task may not go a moment without a round: every look finds it stalled
    // (the stand-in for a wedged task, which no real peer can be made to cause on demand).
    let mut strict = options();
    strict.stall_limit = Duration::ZERO;
    let s = Server::start_with(&dst.bootstrap(), strict).await;
    // (The same state topic as the first server, which still holds link l.)
    let (st, v) = s.create_link("stalled", &src, &[]).await;
    assert_eq!(st, 204, "{v:#}");
    // (A task that began a round in this very millisecond is within even a zero limit.)
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (st, body) = s.raw("GET", "/healthz", None).await;
    assert_eq!(st, 503, "{body}");
    assert!(
        body.contains("link stalled: its mirroring task has not begun a round"),
        "{body}"
    );
    // Readiness is another question (the local cluster answers).
    let (st, _) = s.raw("GET", "/readyz", None).await;
    assert_eq!(st, 200);
    s.stop().await;
}

peer_tests! {
    healthz_is_ok_while_engines_loop_and_names_a_stalled_one: [kafka];
}
