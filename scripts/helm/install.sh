#!/usr/bin/env bash
# Installs helm (the chart's own test renders, lints and validates the chart with it) from the Go
# module proxy into a cache outside the clone, idempotently; run by scripts/install-test-deps.sh
# and by the deploy test when CLUSTERLINK_HELM is unset. Prints:
#   CLUSTERLINK_HELM  the helm binary
# Needs only go (it builds helm from source: a few minutes the first time, nothing after).
set -euo pipefail

HELM_VERSION=v4.3.2

cache=${CLUSTERLINK_CACHE:-$HOME/.cache/clusterlink}
home="$cache/helm-$HELM_VERSION"
helm="$home/bin/helm"
mkdir -p "$home"

# One install at a time (test processes may run this script concurrently).
exec 9>"$home/.lock"
flock 9

# The module version the binary was built from (what `helm version` says is set by -ldflags).
built_from() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" && $2 == "helm.sh/helm/v4" { print $3 }'; }

if [ ! -x "$helm" ] || [ "$(built_from "$helm")" != "$HELM_VERSION" ]; then
  echo "install-helm: building helm $HELM_VERSION from the Go module proxy" >&2
  rm -rf "$home/bin"
  GOBIN="$home/bin.tmp" GOFLAGS=-trimpath CGO_ENABLED=0 \
    go install -ldflags "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >"$home/go.log" 2>&1 \
    || { cat "$home/go.log" >&2; exit 1; }
  mv -T "$home/bin.tmp" "$home/bin"
fi

echo "CLUSTERLINK_HELM=$helm"
