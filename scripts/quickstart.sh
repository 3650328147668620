#!/usr/bin/env bash
# The main job: the CFK page's destination-initiated cluster link, run locally without
# Kubernetes. Starts two local Kafka clusters (Apache Kafka by default; tansu with --peer tansu)
# and a clusterlink link server for the destination, applies examples/quickstart/ with
# `clusterlink apply` (the operator's reconcile, driven from files; the clusters' addresses and
# the source's cluster id filled in), produces records into the source topics with librdkafka,
# shows them mirrored with lag reaching zero and the ClusterLink status, then promotes a mirror
# by editing the resource and writes to the promoted topic. Stops everything it started on exit.
#
#   scripts/quickstart.sh [--peer kafka|tansu]     (or CLUSTERLINK_PEER=tansu)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# shellcheck source=lib.sh
. scripts/lib.sh
parse_peer_args "usage: scripts/quickstart.sh [--peer kafka|tansu]" "$@"

step "installing the test brokers (Apache Kafka, tansu) and the librdkafka client (first run only)"
eval "$(scripts/install-test-deps.sh | sed 's/^/export /')"
py() { "$CLUSTERLINK_PYTHON" "$root/crates/testkit/py/kcheck.py" "$@"; }

step "building clusterlink"
cargo build --quiet -p clusterlink
build_peer
bin=$root/target/debug/clusterlink

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  cluster_stop_all
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step "starting the source cluster and the destination cluster ($PEER)"
t0=$(date +%s.%N)
cluster_start SRC quickstart-source "$work"
cluster_start DST quickstart-destination "$work"
echo "source:      $SRC_BOOTSTRAP, cluster id $SRC_ID"
echo "destination: $DST_BOOTSTRAP, cluster id $DST_ID"
echo "both serving after $(python3 -c "import time; print(f'{time.time() - $t0:.1f}')") s"
SRC=$SRC_BOOTSTRAP DST=$DST_BOOTSTRAP REST_PORT=$(free_port)

gen() { # topic first count
  python3 - "$@" <<'PY'
import json, sys, time
topic, first, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# Timestamps of now: a broker deletes records older than a topic's retention.ms.
now = int(time.time() * 1000)
recs = [{"partition": i % 3, "key": f"{topic}-{i}".encode().hex(),
         "value": json.dumps({"id": i, "amount": i * 7 % 1000}).encode().hex(),
         "headers": [["origin", b"quickstart".hex()]], "timestamp": now + i} for i in range(first, first + n)]
print(json.dumps({"topic": topic, "config": {"compression.type": "zstd", "enable.idempotence": True}, "records": recs}))
PY
}
step "creating topics orders and payments on the source and producing 1000 + 500 records with librdkafka"
py create-topic --bootstrap "$SRC" --topic orders --partitions 3
py create-topic --bootstrap "$SRC" --topic payments --partitions 3
gen orders 0 1000 | py produce --bootstrap "$SRC"
gen payments 0 500 | py produce --bootstrap "$SRC"

step "starting the link server for the destination (Confluent Admin REST v3 on 127.0.0.1:$REST_PORT)"
echo "quickstart-password-encoder-secret" > "$work/encoder"
"$bin" server --bootstrap-server "$DST" --listen "127.0.0.1:$REST_PORT" \
  --password-encoder-secret-file "$work/encoder" > "$work/server.log" 2>&1 &
pids+=($!)
wait_port "$REST_PORT" || { cat "$work/server.log"; exit 1; }

# The example files name the local endpoints a docker-compose quickstart would have, and the
# source's cluster id; the clusters started here have their own.
cp -r examples/quickstart "$work/manifests"
sed -i -e "s/127.0.0.1:19092/$SRC/" -e "s/127.0.0.1:18090/127.0.0.1:$REST_PORT/" \
  -e "s/clusterID: quickstart-source/clusterID: $SRC_ID/" "$work/manifests"/*.yaml
step "clusterlink apply -f examples/quickstart/ (the source's address and id filled in)"
sed 's/^/  | /' "$work/manifests/cluster-link.yaml"
"$bin" apply -f "$work/manifests"

mirrored() { py consume --bootstrap "$DST" --topic "$1" --timeout 20 2>/dev/null | wc -l; }
# (exits 2 while the link is not Ready yet; the JSON is printed either way)
status() { "$bin" status -f "$work/manifests" -o json || true; }
cat > "$work/lag.py" <<'PY'
import json, sys
s = json.load(sys.stdin)["status"]
ready = [c for c in s.get("conditions", []) if c["type"] == "Ready"][0]
tops = ", ".join(f"{n}: {t.get('status')} lag={t.get('maxLag')}" for n, t in sorted(s.get("mirrorTopics", {}).items()))
print(f"Ready={ready['status']} ({ready['reason']}) | {tops}")
PY
lag_line() { status | python3 "$work/lag.py"; }
wait_caught_up() { # orders-count payments-count
  for _ in $(seq 120); do
    line=$(lag_line); echo "  $line"
    case "$line" in
      *"Ready=True"*) if [ "$(mirrored orders)" -ge "$1" ] && [ "$(mirrored payments)" -ge "$2" ]; then return; fi ;;
    esac
    sleep 0.5
  done
  echo "mirroring did not catch up"; tail -50 "$work/server.log"; exit 1
}
step "waiting for the mirrors to catch up (lag reaching zero)"
wait_caught_up 1000 500

step "producing 2000 more records into orders while the mirror runs"
gen orders 1000 2000 | py produce --bootstrap "$SRC"
wait_caught_up 3000 500

step "reading both sides back with librdkafka and comparing (offsets included)"
for t in orders payments; do
  py consume --bootstrap "$SRC" --topic $t > "$work/src-$t.jsonl"
  py consume --bootstrap "$DST" --topic $t > "$work/dst-$t.jsonl"
  python3 - "$t" "$work/src-$t.jsonl" "$work/dst-$t.jsonl" <<'PY'
import json, sys
def load(p):
    return sorted((r["partition"], r["offset"], r["key"], r["value"], json.dumps(r["headers"]), r["timestamp"]) for r in map(json.loads, open(p)))
t, a, b = sys.argv[1], load(sys.argv[2]), load(sys.argv[3])
print(f"{t}: source records {len(a)}, mirror records {len(b)}, identical: {a == b}")
sys.exit(0 if a == b else 1)
PY
done

step "clusterlink status -f examples/quickstart/ (the status the operator would write)"
"$bin" status -f "$work/manifests"

step "promoting orders: set state: PROMOTE in the ClusterLink and apply again"
sed -i 's/^      # state: PROMOTE .*/      state: PROMOTE/' "$work/manifests/cluster-link.yaml"
grep -n -A1 "name: orders" "$work/manifests/cluster-link.yaml" | sed 's/^/  | /'
"$bin" apply -f "$work/manifests"
lag_line

step "the promoted topic is writable: librdkafka produces 10 records into the destination's orders"
gen orders 9000 10 | py produce --bootstrap "$DST"
echo "records now in the destination's orders: $(mirrored orders)"
step "done: everything started is stopped on exit"
