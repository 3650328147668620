//! A remote cluster that takes its time (here: a listener that accepts connections and never
//! answers) delays only the request that needs it: creating a link to it waits for the remote
//! (and is refused when it never answers), while other links are created and altered at once. The lock that serialises link changes is
//! taken only after the remote was reached (or given up on). On Apache Kafka.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

async fn a_slow_remote_does_not_stall_other_link_changes(peer: Peer) {
    let (src, dst) = peer.pair().unwrap();
    // Accepts, then says nothing: every request to it waits for its timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming() {
            held.push(conn);
        }
    });
    let s = std::sync::Arc::new(Server::start(&dst.bootstrap()).await);
    let slow = {
        let s = s.clone();
        let body = json!({"configs": [{"name": "bootstrap.servers", "value": silent_addr}]});
        tokio::spawn(async move {
            let started = Instant::now();
            let answer = s.post(&format!("{}?link_name=slow", s.links()), body).await;
            (answer, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!slow.is_finished(), "the silent remote answered");

    // Meanwhile: another link is created, altered and read at once.
    let started = Instant::now();
    let (st, v) = s.create_link("fast", &src, &[]).await;
    assert_eq!(st, 204, "{v:#}");
    let (st, v) = s
        .put(
            &format!("{}/fast/configs:alter", s.links()),
            json!({"data": [{"name": "consumer.offset.sync.ms", "value": "5000"}]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let fast = started.elapsed();
    assert!(
        !slow.is_finished(),
        "the slow request is still waiting for its remote"
    );
    assert!(fast < Duration::from_secs(2), "other changes took {fast:?}");

    // The slow one ends in its own time: its remote never answered, so it is refused (the link
    // is validated by connecting), saying so.
    let ((st, v), took) = slow.await.unwrap();
    assert_eq!(st, 400, "{v:#}");
    let message = v["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Cannot reach the source cluster of link 'slow'"),
        "{v:#}"
    );
    assert!(took > fast, "{took:?}");
    let (st, _) = s.get(&format!("{}/slow", s.links())).await;
    assert_eq!(st, 404);
}

peer_tests! {
    a_slow_remote_does_not_stall_other_link_changes: [kafka];
}
