//! The tools that connect to Kafka directly (`describe`, `copy`), reaching a cluster whose
//! listener needs SASL through a `--command-config` properties file, as `server` does.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use clusterlink_testkit::kafka::unique_name;
use clusterlink_testkit::peer::{Peer, Side};
use clusterlink_testkit::{peer_tests, rdkafka};
use support::text;

const USER: &str = "tool";
const PASSWORD: &str = "t00l-pw";

fn properties(dir: &Path, password: &str) -> PathBuf {
    let path = dir.join(format!("{password}.properties"));
    std::fs::write(
        &path,
        format!(
            "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n\
             sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\\n  \
             username=\"{USER}\" password=\"{password}\";\n"
        ),
    )
    .unwrap();
    path
}

/// `clusterlink ARGS` with a short retry bound, so that a refused login fails fast.
fn clusterlink(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args(args)
        .env("CLUSTERLINK_RETRY_TIMEOUT_MS", "3000")
        .output()
        .unwrap()
}

/// `describe` and `copy` log in with the file's credentials: `describe` lists the secured
/// cluster's topics; `copy` reads from it (`--source-command-config`) and writes to it
/// (`--command-config`); without the file, or with a wrong password, they fail without printing
/// the password.
async fn tools_reach_a_sasl_listener_with_command_config(peer: Peer) {
    let secured = peer.sasl_private("tools", &[(USER, PASSWORD)]).unwrap();
    let plain = peer.cluster(Side::B).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let good = properties(dir.path(), PASSWORD);
    let bad = properties(dir.path(), "wrong-pw");
    let topic = unique_name("secured");
    rdkafka::create_topic(&secured.bootstrap(), &topic, 2).unwrap();
    let records = rdkafka::varied_records(60, 2, "tools");
    rdkafka::produce_all(&secured.bootstrap(), &topic, &records);
    let sasl = secured.sasl_bootstrap();

    let o = clusterlink(&[
        "describe",
        "--bootstrap-server",
        &sasl,
        "--command-config",
        good.to_str().unwrap(),
    ]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(&format!("cluster id: {}", secured.cluster_id())),
        "{out}"
    );
    assert!(
        out.contains(&format!("topic {topic}: 2 partitions")),
        "{out}"
    );
    let o = clusterlink(&["describe", "--bootstrap-server", &sasl]);
    assert!(!o.status.success(), "{}", text(&o));
    let o = clusterlink(&[
        "describe",
        "--bootstrap-server",
        &sasl,
        "--command-config",
        bad.to_str().unwrap(),
    ]);
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("PLAIN"), "{out}");
    assert!(!out.contains("wrong-pw"), "the password leaked: {out}");

    // Out of the secured cluster...
    let copied = unique_name("copied");
    let o = clusterlink(&[
        "copy",
        "--source-bootstrap-server",
        &sasl,
        "--source-command-config",
        good.to_str().unwrap(),
        "--destination-bootstrap-server",
        &plain.bootstrap(),
        "--topic",
        &topic,
        "--destination-topic",
        &copied,
        "--create-topic",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let got = rdkafka::consume(&plain.bootstrap(), &copied).unwrap();
    assert_eq!(rdkafka::by_partition(&got), rdkafka::by_partition(&records));
    // ...and back into it.
    let back = unique_name("back");
    let o = clusterlink(&[
        "copy",
        "--source-bootstrap-server",
        &plain.bootstrap(),
        "--destination-bootstrap-server",
        &sasl,
        "--command-config",
        good.to_str().unwrap(),
        "--topic",
        &copied,
        "--destination-topic",
        &back,
        "--create-topic",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let got = rdkafka::consume(&secured.bootstrap(), &back).unwrap();
    assert_eq!(rdkafka::by_partition(&got), rdkafka::by_partition(&records));
}

peer_tests! {
    tools_reach_a_sasl_listener_with_command_config: [kafka];
}
