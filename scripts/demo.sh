#!/usr/bin/env bash
# The main job until the quickstart lands: start two local Kafka-protocol clusters (tansu),
# produce records with librdkafka into the source, copy them with clusterlink as raw batches,
# and read them back from the destination with librdkafka. Stops everything it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_cluster() { # id port
  mkdir -p "$work/$1"
  (cd "$work/$1" && exec env -u CLUSTER_ID -u LISTENER_URL -u ADVERTISED_LISTENER_URL -u STORAGE_ENGINE \
    "$CLUSTERLINK_TANSU" broker --cluster-id "$1" --listener-url "tcp://127.0.0.1:$2" \
    --advertised-listener-url "tcp://127.0.0.1:$2" --storage-engine memory://tansu/ >"$work/$1.log" 2>&1) &
  pids+=($!)
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return; sleep 0.1; done
  echo "cluster $1 did not start:"; cat "$work/$1.log"; exit 1
}

a_port=$(free_port); b_port=$(free_port)
step "starting cluster 'source-a' on 127.0.0.1:$a_port and cluster 'destination-b' on 127.0.0.1:$b_port"
start_cluster source-a "$a_port"
start_cluster destination-b "$b_port"
"$bin" describe --bootstrap-server "127.0.0.1:$a_port"
"$bin" describe --bootstrap-server "127.0.0.1:$b_port"

step "producing 3000 records into source-a/orders with librdkafka (zstd, keys, headers, timestamps)"
python3 - "$work/spec.json" <<'PY'
import json, sys
recs = [{"partition": i % 3, "key": f"order-{i}".encode().hex(),
         "value": json.dumps({"order": i, "amount": i * 7 % 1000}).encode().hex(),
         "headers": [["source", b"demo".hex()]], "timestamp": 1700000000000 + i} for i in range(3000)]
json.dump({"topic": "orders", "config": {"compression.type": "zstd", "enable.idempotence": True},
           "records": recs}, open(sys.argv[1], "w"))
PY
py produce --bootstrap "127.0.0.1:$a_port" < "$work/spec.json"

step "copying orders from source-a to destination-b with clusterlink"
"$bin" copy --source-bootstrap-server "127.0.0.1:$a_port" \
  --destination-bootstrap-server "127.0.0.1:$b_port" --topic orders --create-topic

step "reading both sides back with librdkafka and comparing"
py consume --bootstrap "127.0.0.1:$a_port" --topic orders > "$work/a.jsonl"
py consume --bootstrap "127.0.0.1:$b_port" --topic orders > "$work/b.jsonl"
python3 - "$work/a.jsonl" "$work/b.jsonl" <<'PY'
import json, sys
def load(p):
    rows = [json.loads(l) for l in open(p)]
    return sorted((r["partition"], r["offset"], r["key"], r["value"], json.dumps(r["headers"]), r["timestamp"]) for r in rows)
a, b = load(sys.argv[1]), load(sys.argv[2])
same = [r[:1] + r[2:] for r in a] == [r[:1] + r[2:] for r in b]
print(f"source records: {len(a)}, destination records: {len(b)}, identical (partition, key, value, headers, timestamp): {same}")
for r in b[:3]:
    print(f"  partition {r[0]} offset {r[1]}: key={bytes.fromhex(r[2]).decode()} value={bytes.fromhex(r[3]).decode()}")
sys.exit(0 if same and len(a) == 3000 else 1)
PY
step "done: every record arrived intact"
