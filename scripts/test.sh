#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, the committed CRDs, and every test
# (unit, property and integration tests against real brokers started by the harness).
set -euo pipefail
cd "$(dirname "$0")/.."

# Test peers and the independent client (tansu, confluent-kafka); exported so tests skip the install.
eval "$(scripts/install-test-deps.sh | sed 's/^/export /')"

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "test.sh: installing cargo-nextest" >&2
  cargo install cargo-nextest --locked
fi

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== shared Apache Kafka clusters"
# A JVM broker takes seconds to start and nextest runs every test in its own process, so the
# tests share two single-node clusters (the two sides of a link: KafkaCluster::shared and
# shared_second) and one three-node cluster (shared_three)
# for tests that need no private one. The harness's own binary starts them; each runs until its
# stdin, a pipe only this script holds, closes: when the script exits, however it exits.
cargo build --locked -q -p clusterlink-testkit --bin kafka-cluster
kafka_cluster="${CARGO_TARGET_DIR:-target}/debug/kafka-cluster"
kafka_out=$(mktemp -d)
kafka_fds=()
declare -A kafka_pid
close_kafka_fds() { for fd in "${kafka_fds[@]}"; do exec {fd}>&-; done; }
stop_kafka() { close_kafka_fds; wait "${kafka_pid[@]}" 2>/dev/null || true; rm -rf "$kafka_out"; }
trap stop_kafka EXIT
for spec in CLUSTERLINK_KAFKA_SHARED:1 CLUSTERLINK_KAFKA_SHARED_B:1 CLUSTERLINK_KAFKA3_SHARED:3; do
  name=${spec%:*}
  exec {fd}> >(close_kafka_fds; exec "$kafka_cluster" --nodes "${spec#*:}" --env "$name" \
    >"$kafka_out/$name" 2>"$kafka_out/$name.err")
  kafka_fds+=("$fd")
  kafka_pid[$name]=$!
done
for name in "${!kafka_pid[@]}"; do
  until [ -s "$kafka_out/$name" ]; do
    if ! kill -0 "${kafka_pid[$name]}" 2>/dev/null; then
      cat "$kafka_out/$name.err" >&2
      echo "test.sh: the shared Kafka cluster $name did not start" >&2
      exit 1
    fi
    sleep 0.1
  done
  export "$(cat "$kafka_out/$name")"
  echo "$name=${!name}"
done

echo "== cargo nextest"
# (without the clusters' pipes: a test's leftover process must not keep them alive)
(close_kafka_fds; exec cargo nextest run --workspace --locked --no-fail-fast "$@")
