//! The binary as a user runs it.

use std::process::Command;

fn clusterlink(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args(args)
        .output()
        .expect("run clusterlink")
}

/// `clusterlink crd` prints exactly the committed `deploy/crds/clusterlink-crds.yaml`.
#[test]
fn crd_command_prints_the_committed_crds() {
    let out = clusterlink(&["crd"]);
    assert!(out.status.success());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/crds/clusterlink-crds.yaml"
    ))
    .unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed, committed, "deploy/crds is stale: regenerate with `clusterlink crd > deploy/crds/clusterlink-crds.yaml`");
    for kind in [
        "kind: ClusterLink",
        "kind: KafkaRestClass",
        "kind: KafkaTopic",
    ] {
        assert!(printed.contains(kind), "{kind} missing");
    }
}

/// An unreachable cluster is a clear error naming the address, and a failing exit code.
#[test]
fn unreachable_cluster_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let out = Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args(["describe", "--bootstrap-server", &addr])
        .env("CLUSTERLINK_RETRY_TIMEOUT_MS", "300")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&addr) && err.contains("connection"), "{err}");
}

/// The engine's knobs are checked before anything starts: a produce depth outside Kafka's
/// idempotence window (1 to 5), and zero bytes or connections (which would never fetch or
/// write), are refused, naming the flag, for `server` and `mirror` alike.
#[test]
fn engine_knobs_out_of_range_are_refused() {
    for cmd in [
        &["server", "--bootstrap-server", "127.0.0.1:1"][..],
        &[
            "mirror",
            "--link",
            "l",
            "--source-bootstrap-server",
            "127.0.0.1:1",
            "--destination-bootstrap-server",
            "127.0.0.1:1",
        ][..],
    ] {
        for (flag, value) in [
            ("--max-in-flight", "6"),
            ("--partition-max-bytes", "0"),
            ("--buffer-max-bytes", "0"),
            ("--produce-connections", "0"),
        ] {
            let mut args = cmd.to_vec();
            args.extend([flag, value]);
            let out = clusterlink(&args);
            assert!(!out.status.success(), "{flag} {value}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(flag) && err.contains("not in "), "{err}");
        }
    }
}

/// `clusterlink completions SHELL` prints a completion script that knows the commands and
/// their flags, for each shell clap_complete supports.
#[test]
fn completions_know_the_commands_and_flags() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = clusterlink(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for word in ["status", "completions", "url", "command-config"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    let out = clusterlink(&["completions", "tcsh"]);
    assert!(!out.status.success());
}

/// Durations are read as people write them: a wrong one is refused naming the flag and the
/// form expected; `--help` shows an example.
#[test]
fn durations_are_human_and_help_has_examples() {
    let out = clusterlink(&["apply", "-f", "x.yaml", "--timeout", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--timeout") && err.contains("30s, 2m"),
        "{err}"
    );
    let out = clusterlink(&["status", "--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("Examples:\n  clusterlink status -f links/"),
        "{help}"
    );
    assert!(help.contains("--request-timeout <DURATION>"), "{help}");
    assert!(help.contains("[default: 30s]"), "{help}");
}

/// A password encoder secret shorter than 16 characters is refused before anything starts,
/// naming the file but not the secret; the old secret of a rotation needs the current one.
#[test]
fn short_password_encoder_secrets_are_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short");
    std::fs::write(&short, "tiny-secret-99\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args(["server", "--bootstrap-server", "127.0.0.1:1"])
        .arg("--password-encoder-secret-file")
        .arg(&short)
        .env("CLUSTERLINK_RETRY_TIMEOUT_MS", "300")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("at least 16") && err.contains(&*short.to_string_lossy()),
        "{err}"
    );
    assert!(
        !err.contains("tiny-secret-99") && !err.contains("127.0.0.1:1"),
        "{err}"
    );

    let out = clusterlink(&[
        "server",
        "--bootstrap-server",
        "127.0.0.1:1",
        "--password-encoder-old-secret-file",
        &short.to_string_lossy(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--password-encoder-secret-file"), "{err}");
}
