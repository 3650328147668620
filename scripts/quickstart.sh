#!/usr/bin/env bash
# The main job: the CFK page's destination-initiated cluster link, run locally without
# Kubernetes. Starts two Kafka-protocol clusters (tansu) and a clusterlink link server for the
# destination, applies examples/quickstart/ with `clusterlink apply` (the operator's reconcile,
# driven from files), produces records into the source topics with librdkafka, shows them
# mirrored with lag reaching zero and the ClusterLink status, then promotes a mirror by editing
# the resource and writes to the promoted topic. Stops everything it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# shellcheck source=lib.sh
. scripts/lib.sh

step "installing test brokers and the librdkafka client (first run only)"
eval "$(scripts/install-test-deps.sh | sed 's/^/export /')"
py() { "$CLUSTERLINK_PYTHON" "$root/crates/testkit/py/kcheck.py" "$@"; }

step "building clusterlink"
cargo build --quiet -p clusterlink
bin=$root/target/debug/clusterlink

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The example files name fixed local ports, as a docker-compose quickstart would.
SRC_PORT=19092 DST_PORT=29092 REST_PORT=18090
for p in $SRC_PORT $DST_PORT $REST_PORT; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "port $p is in use; the quickstart's examples/quickstart/*.yaml need ports $SRC_PORT, $DST_PORT and $REST_PORT free"
    exit 1
  fi
done
start_cluster() { # id port
  run_tansu "$work/$1" "$1" "$2" "$work/$1.log" &
  pids+=($!)
  wait_port "$2" || { echo "cluster $1 did not start:"; cat "$work/$1.log"; exit 1; }
}
SRC=127.0.0.1:$SRC_PORT DST=127.0.0.1:$DST_PORT

step "starting the source cluster 'quickstart-source' ($SRC) and the destination 'quickstart-destination' ($DST)"
start_cluster quickstart-source "$SRC_PORT"
start_cluster quickstart-destination "$DST_PORT"

gen() { # topic first count
  python3 - "$@" <<'PY'
import json, sys
topic, first, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
recs = [{"partition": i % 3, "key": f"{topic}-{i}".encode().hex(),
         "value": json.dumps({"id": i, "amount": i * 7 % 1000}).encode().hex(),
         "headers": [["origin", b"quickstart".hex()]], "timestamp": 1700000000000 + i} for i in range(first, first + n)]
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

cp -r examples/quickstart "$work/manifests"
step "clusterlink apply -f examples/quickstart/"
sed 's/^/  | /' "$work/manifests/cluster-link.yaml"
"$bin" apply -f "$work/manifests"

mirrored() { py consume --bootstrap "$DST" --topic "$1" --timeout 20 2>/dev/null | wc -l; }
status() { "$bin" status -f "$work/manifests" -o json; }
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
