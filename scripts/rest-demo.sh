#!/usr/bin/env bash
# The REST-level demo (the main job is scripts/quickstart.sh): two local Kafka clusters (Apache
# Kafka by default; tansu with --peer tansu), a clusterlink link server on the destination,
# driven through Confluent's Admin REST v3 API exactly as CFK or a curl script would: create a
# link and a mirror topic, watch records produced with librdkafka get mirrored with lag reaching
# zero, compare both sides record by record, then promote the mirror and write to it. Stops
# everything it started on exit.
#
#   scripts/rest-demo.sh [--peer kafka|tansu]     (or CLUSTERLINK_PEER=tansu)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# shellcheck source=lib.sh
. scripts/lib.sh
parse_peer_args "usage: scripts/rest-demo.sh [--peer kafka|tansu]" "$@"

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
# rest METHOD PATH [JSON]: calls the link server, prints the JSON answer (python: no curl needed)
rest() {
  python3 - "$api" "$@" <<'PY'
import json, sys, urllib.request, urllib.error
base, method, path = sys.argv[1:4]
body = sys.argv[4].encode() if len(sys.argv) > 4 else None
req = urllib.request.Request(base + path, data=body, method=method, headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req) as r:
        text = r.read().decode()
except urllib.error.HTTPError as e:
    print(f"HTTP {e.code}: {e.read().decode()}", file=sys.stderr); sys.exit(1)
print(text)
PY
}
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }

api_port=$(free_port); api=http://127.0.0.1:$api_port/v3
step "starting cluster source-a and cluster destination-b ($PEER)"
cluster_start SOURCE_A source-a "$work"
cluster_start DESTINATION_B destination-b "$work"
A=$SOURCE_A_BOOTSTRAP B=$DESTINATION_B_BOOTSTRAP
echo "source-a: $A, cluster id $SOURCE_A_ID; destination-b: $B, cluster id $DESTINATION_B_ID"

step "creating source-a/orders (4 partitions) and producing 1000 records into it with librdkafka (zstd, keys, headers, timestamps)"
gen() { # first count
  python3 - "$1" "$2" <<'PY'
import json, sys, time
first, n = int(sys.argv[1]), int(sys.argv[2])
now = int(time.time() * 1000)
recs = [{"partition": i % 4, "key": f"order-{i}".encode().hex(),
         "value": json.dumps({"order": i, "amount": i * 7 % 1000}).encode().hex(),
         "headers": [["source", b"demo".hex()]], "timestamp": now + i} for i in range(first, first + n)]
print(json.dumps({"topic": "orders", "config": {"compression.type": "zstd", "enable.idempotence": True}, "records": recs}))
PY
}
py create-topic --bootstrap "$A" --topic orders --partitions 4
gen 0 1000 | py produce --bootstrap "$A"

step "starting the link server on destination-b, REST on $api"
"$bin" server --bootstrap-server "$B" --listen "127.0.0.1:$api_port" > "$work/server.log" 2>&1 &
pids+=($!)
wait_port "$api_port" || { cat "$work/server.log"; exit 1; }
cluster=$(rest GET /clusters | field 'd["data"][0]["cluster_id"]')
echo "local cluster id: $cluster"

step "POST /clusters/$cluster/links?link_name=demo-link (bootstrap.servers=$A)"
rest POST "/clusters/$cluster/links?link_name=demo-link" \
  "{\"source_cluster_id\": \"$SOURCE_A_ID\", \"configs\": [{\"name\": \"bootstrap.servers\", \"value\": \"$A\"}]}" >/dev/null
rest GET "/clusters/$cluster/links/demo-link" | field '{k: d[k] for k in ("link_name", "link_id", "source_cluster_id", "link_state") if k in d}'

step "POST /clusters/$cluster/links/demo-link/mirrors (orders -> orders)"
rest POST "/clusters/$cluster/links/demo-link/mirrors" '{"source_topic_name": "orders", "mirror_topic_name": "orders"}' >/dev/null
show() {
  rest GET "/clusters/$cluster/links/demo-link/mirrors/orders" |
    field '"mirror_status=%s lag=%s" % (d["mirror_status"], sum(l["lag"] for l in d.get("mirror_lags", [])))'
}
wait_lag_zero() {
  for _ in $(seq 100); do
    line=$(show); echo "  $line"
    case "$line" in *"lag=0"*) [ "$(mirrored)" -ge "$1" ] && return ;; esac
    sleep 0.5
  done
  echo "mirroring did not catch up"; exit 1
}
mirrored() { py consume --bootstrap "$B" --topic orders --timeout 20 2>/dev/null | wc -l; }
wait_lag_zero 1000

step "producing 2000 more records while the mirror runs"
gen 1000 2000 | py produce --bootstrap "$A"
wait_lag_zero 3000

step "reading both sides back with librdkafka and comparing"
py consume --bootstrap "$A" --topic orders > "$work/a.jsonl"
py consume --bootstrap "$B" --topic orders > "$work/b.jsonl"
python3 - "$work/a.jsonl" "$work/b.jsonl" <<'PY'
import json, sys
def load(p):
    return sorted((r["partition"], r["offset"], r["key"], r["value"], json.dumps(r["headers"]), r["timestamp"]) for r in map(json.loads, open(p)))
a, b = load(sys.argv[1]), load(sys.argv[2])
print(f"source records: {len(a)}, mirror records: {len(b)}, identical including offsets: {a == b}")
sys.exit(0 if a == b and len(a) == 3000 else 1)
PY

step "POST /clusters/$cluster/links/demo-link/mirrors:promote"
rest POST "/clusters/$cluster/links/demo-link/mirrors:promote" '{"mirror_topic_names": ["orders"]}' |
  field '[(r["mirror_topic_name"], r.get("error_code"), r.get("error_message")) for r in d["data"]]'
for _ in $(seq 60); do line=$(show); echo "  $line"; case "$line" in *"status=STOPPED"*) break ;; esac; sleep 0.5; done

step "the promoted topic is writable: librdkafka produces 10 records into destination-b/orders"
gen 5000 10 | py produce --bootstrap "$B"
echo "records now on destination-b/orders: $(mirrored)"
step "done"
