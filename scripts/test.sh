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
echo "== cargo nextest"
cargo nextest run --workspace --locked --no-fail-fast "$@"
