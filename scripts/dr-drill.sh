#!/usr/bin/env bash
# Disaster-recovery drill with failback (docs/dr-drill.md explains it): two local Apache Kafka
# clusters, A serving producers and B mirroring A through a destination-initiated ClusterLink,
# then
#
#   1. A acknowledges records B never fetches (B's mirrors are paused), and A crashes
#      (kill -9): its data stays on its disk;
#   2. the mirrors on B fail over (state: FAILOVER) and producers write to B;
#   3. A restarts on its data, with the records B never had: its topics are truncated and
#      restored from B (state: TRUNCATE_AND_RESTORE on ClusterLink b-to-a, on A): A's offsets
#      become B's again, and the records only A had are kept aside in <topic>.diverged;
#   4. planned failback: producers stop on B, A's mirrors are reversed (state: REVERSE_AND_START):
#      A is promoted at lag zero and B's topics become mirrors of A's; producers write to A;
#   5. every acknowledged record is checked, with librdkafka, to be exactly once on both
#      clusters or in A's diverged-records topics: none missing, none twice, offsets equal.
#
# Every link is driven the way a user drives it: `clusterlink apply -f DIR` on ClusterLink YAML
# files whose `state:` is edited. Each step prints what it did and how many records it moved.
# Everything started is stopped on exit. CARGO_TARGET_DIR is honoured. Apache Kafka only: the
# drill needs a broker that restarts on its data (tansu's here keeps it in memory).
#
#   scripts/dr-drill.sh                          (DRILL_KEEP=1 keeps the logs and files)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# shellcheck source=lib.sh
. scripts/lib.sh
parse_peer_args "usage: scripts/dr-drill.sh" "$@"
if [ "$PEER" != kafka ]; then
  echo "dr-drill: the failback drill runs on Apache Kafka only (a broker that restarts on its data)" >&2
  exit 2
fi
say() { printf '   %s\n' "$*"; }

step "installing the test brokers (Apache Kafka, tansu) and the librdkafka client (first run only)"
eval "$(scripts/install-test-deps.sh | sed 's/^/export /')"
py() { "$CLUSTERLINK_PYTHON" "$root/crates/testkit/py/kcheck.py" "$@"; }

step "building clusterlink"
cargo build --quiet -p clusterlink
build_peer
target=${CARGO_TARGET_DIR:-target}
case $target in /*) ;; *) target=$root/$target ;; esac
bin=$target/debug/clusterlink

work=$(mktemp -d)
declare -A pid=()
cleanup() {
  for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done
  cluster_stop_all
  wait 2>/dev/null || true
  if [ "${DRILL_KEEP:-}" = 1 ]; then echo "logs and files kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
# Fails the drill, also from inside $(...): the message goes to stderr and the main shell is told.
fail() {
  {
    echo "DRILL FAILED: $*"
    for f in "$work"/*.log; do echo "--- $f (last 30 lines)"; tail -30 "$f"; done
  } >&2
  [ "$BASHPID" = "$$" ] || kill -TERM "$$"
  exit 1
}
trap 'exit 1' TERM

A_PORT=$(free_port) A_REST=$(free_port) B_REST=$(free_port)
start_link_server() { # name bootstrap port
  "$bin" server --bootstrap-server "$2" --listen "127.0.0.1:$3" \
    --password-encoder-secret-file "$work/encoder" >>"$work/$1.log" 2>&1 &
  pid[$1]=$!
  wait_port "$3" || fail "link server $1 did not start"
}
echo "dr-drill-password-encoder-secret" >"$work/encoder"

# The drill's bookkeeping: generates uniquely keyed records, keeps the ledger of what producers
# got acknowledged, counts what a cluster holds by batch, and does the final checks.
cat >"$work/drill.py" <<'PY'
import collections, json, os, sys

LEDGER = os.environ["LEDGER"]
WORK = os.environ["WORK"]
PARTS = {"orders": 3, "payments": 1}
TOPICS = ["orders", "payments"]
# Batches in the order they were produced: a* went to A, b* to B. A acknowledged a3 in two
# halves: a3 while B mirrored it, a3x while B's mirrors were paused, just before A crashed.
ORDER = ["a1", "a2", "a3", "a3x", "b4", "b5", "b6", "a7"]

def gen(batch, topic, n):
    recs = [{"partition": i % PARTS[topic],
             "key": f"{batch}/{topic}/{i:06d}".encode().hex(),
             "value": json.dumps({"batch": batch, "topic": topic, "seq": i, "amount": i * 7 % 1000}).encode().hex(),
             "headers": [["batch", batch.encode().hex()]]} for i in range(n)]
    return {"topic": topic, "config": {"enable.idempotence": True, "compression.type": "zstd"}, "records": recs}

def ledger():
    """Acknowledged records, by topic and key: (batch, seq, partition, value, headers)."""
    out = {}
    for f in sorted(os.listdir(LEDGER)):
        batch, topic = f[:-len(".json")].split(".")
        for seq, r in enumerate(json.load(open(os.path.join(LEDGER, f)))["records"]):
            out[(topic, r["key"])] = (batch, seq, r["partition"], r["value"], r["headers"])
    return out

def dump(name):
    """What librdkafka read (see the script's dump): (topic, key) -> list of records."""
    out = collections.defaultdict(list)
    for t in TOPICS:
        for line in open(os.path.join(WORK, f"{name}.{t}.jsonl")):
            if line.strip():
                r = json.loads(line)
                out[(t, r["key"])].append(r)
    return out

def batch_of(key):
    return bytes.fromhex(key).decode().split("/")[0]

def by_batch(d):
    c = collections.Counter()
    for (t, k), rs in d.items():
        c[batch_of(k)] += len(rs)
    return c

def fmt(c):
    return " + ".join(f"{b} {c[b]}" for b in ORDER if c.get(b)) + f" = {sum(c.values())}" if c else "nothing"

def check(name, expected_batches, dense=True):
    """Every acknowledged record of `expected_batches`, and nothing else, exactly once, in its
    partition, in production order, with its content; with `dense`, at offsets 0..n-1."""
    led, got = ledger(), dump(name)
    expected = {k: v for k, v in led.items() if v[0] in expected_batches}
    errors = []
    for k, rs in got.items():
        if k not in led:
            errors.append(f"{k}: never acknowledged to a producer")
        elif k not in expected:
            errors.append(f"{k}: from batch {led[k][0]}, which should not be here")
        if len(rs) != 1:
            errors.append(f"{k}: present {len(rs)} times")
    missing = [k for k in expected if k not in got]
    if missing:
        errors.append(f"{len(missing)} acknowledged records missing, e.g. {missing[:3]}")
    for k, v in expected.items():
        for r in got.get(k, []):
            if (r["partition"], r["value"], [list(h) for h in r["headers"]]) != (v[2], v[3], [list(h) for h in v[4]]):
                errors.append(f"{k}: partition or content differs")
    per_part = collections.defaultdict(list)
    for (t, k), rs in got.items():
        for r in rs:
            per_part[(t, r["partition"])].append((r["offset"], k))
    for (t, p), rs in sorted(per_part.items()):
        rs.sort()
        offs = [o for o, _ in rs]
        if dense and offs != list(range(len(offs))):
            errors.append(f"{t}[{p}]: offsets are not 0..{len(offs) - 1}")
        order = [(ORDER.index(led[(t, k)][0]), led[(t, k)][1]) for _, k in rs if (t, k) in led]
        if order != sorted(order):
            errors.append(f"{t}[{p}]: records not in the order they were produced")
    for e in errors[:20]:
        print(f"   ERROR {name}: {e}")
    parts = ", ".join(f"{t}[{p}] {min(o for o, _ in rs)}..{max(o for o, _ in rs)}" for (t, p), rs in sorted(per_part.items()))
    print(f"   {name}: {fmt(by_batch(got))} records, each exactly once, in production order; offsets {parts}")
    return not errors

def same_offsets(a, b, batches):
    """Records of `batches` present on both dumps sit at the same partition and offset."""
    da, db = dump(a), dump(b)
    bad = n = 0
    for k, ra in da.items():
        if batch_of(k[1]) in batches and k in db:
            n += 1
            if (ra[0]["partition"], ra[0]["offset"], ra[0]["timestamp"]) != (db[k][0]["partition"], db[k][0]["offset"], db[k][0]["timestamp"]):
                bad += 1
    print(f"   {n} records of {'+'.join(batches)} compared between {a} and {b}: "
          + ("same partitions, offsets and timestamps" if not bad else f"{bad} differ"))
    return bad == 0 and n > 0

def account(a, b, aside):
    led, a, b, aside = ledger(), by_batch(dump(a)), by_batch(dump(b)), by_batch(dump(aside))
    acked = collections.Counter(v[0] for v in led.values())
    print(f"   {'batch':6} {'written to':10} {'acknowledged':>12} {'on A':>6} {'on B':>6} {'kept aside':>10} {'missing':>8}")
    for bt in ORDER:
        missing = acked[bt] - a[bt] - aside[bt]
        print(f"   {bt:6} {bt[0].upper():10} {acked[bt]:>12} {a[bt]:>6} {b[bt]:>6} {aside[bt]:>10} {missing:>8}")
    t = sum(acked.values())
    print(f"   {'total':17} {t:>12} {sum(a.values()):>6} {sum(b.values()):>6} {sum(aside.values()):>10} {t - sum(a.values()) - sum(aside.values()):>8}")
    print(f"   every acknowledged record is on A and B exactly once ({sum(a.values())}), or kept aside on A in")
    print(f"   <topic>.diverged ({sum(aside.values())}: what A acknowledged and B never fetched before A crashed).")

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "gen":  # batch topic n
    json.dump(gen(args[0], args[1], int(args[2])), sys.stdout)
elif cmd == "count":  # dump name: records per batch
    print(fmt(by_batch(dump(args[0]))))
elif cmd == "total":  # dump name
    print(sum(by_batch(dump(args[0])).values()))
elif cmd == "batch":  # dump name, batch: how many of that batch
    print(by_batch(dump(args[0])).get(args[1], 0))
elif cmd == "acked":  # batch: how many acknowledged
    print(sum(1 for v in ledger().values() if v[0] == args[0]))
elif cmd == "check":  # dump name, batches[, sparse]
    sys.exit(0 if check(args[0], args[1].split(","), dense=len(args) < 3) else 1)
elif cmd == "account":  # final dump of A, of B, of A's diverged-records topics
    account(*args)
elif cmd == "same-offsets":  # dump a, dump b, batches
    sys.exit(0 if same_offsets(args[0], args[1], args[2].split(",")) else 1)
PY
export LEDGER=$work/ledger WORK=$work
mkdir -p "$LEDGER"
drill() { "$CLUSTERLINK_PYTHON" "$work/drill.py" "$@"; }

produce() { # batch cluster-bootstrap topic n: produce and, once acknowledged, add to the ledger
  drill gen "$1" "$3" "$4" >"$work/$1.$3.json"
  out=$(py produce --bootstrap "$2" <"$work/$1.$3.json") || fail "produce $1 to $3: $out"
  mv "$work/$1.$3.json" "$LEDGER/$1.$3.json"
  say "batch $1: $4 records produced to $3 on $2, acknowledged: $(echo "$out" | sed 's/.*: \([0-9]*\)}/\1/')"
}
dump() { # cluster-bootstrap name [suffix]: consume both topics (each with the suffix) with
  # librdkafka into $work/NAME.TOPIC.jsonl
  for t in orders payments; do
    py consume --bootstrap "$1" --topic "$t${3:-}" --timeout 20 >"$work/$2.$t.jsonl" || fail "consume $t${3:-} from $1"
  done
}
count() { dump "$1" "$2"; drill count "$2"; }
total() { dump "$1" "$2"; drill total "$2"; }

# One line of `clusterlink status -o json`; exits 0 when every mirror topic has status $1 (and,
# for ACTIVE, lag zero).
cat >"$work/status.py" <<'PY'
import json, sys
s = json.load(sys.stdin).get("status") or {}
ready = [c for c in s.get("conditions", []) if c["type"] == "Ready"]
r = f"Ready={ready[0]['status']} ({ready[0]['reason']})" if ready else "Ready=?"
tops = sorted(s.get("mirrorTopics", {}).items())
print(f"{r} | " + ", ".join(f"{n}: {t.get('status')} lag={t.get('maxLag')}" for n, t in tops))
want = sys.argv[1] if len(sys.argv) > 1 else None
done = bool(tops) and all(t.get("status") == want and (want != "ACTIVE" or t.get("maxLag") == 0) for _, t in tops)
sys.exit(0 if done else 3)
PY
status_line() { # manifests [state]: prints the status line; succeeds when every mirror is in state
  # (`clusterlink status` exits 2 while a link is not Ready, as it is mid-drill: the verdict is
  # status.py's)
  { "$bin" status -f "$1" -o json 2>/dev/null || true; } | "$CLUSTERLINK_PYTHON" "$work/status.py" "${2:-}"
}
wait_mirrored() { # manifests destination expected-total: until lag is zero and the destination holds them all
  local line n
  for _ in $(seq 120); do
    if line=$(status_line "$1" ACTIVE); then
      n=$(total "$2" probe)
      say "$line | destination holds $n of $3 records"
      [ "$n" -eq "$3" ] && return
    else
      say "${line:-(no status)}"
    fi
    sleep 0.5
  done
  fail "mirroring did not catch up"
}
wait_state() { # manifests state: until every mirror topic of the link has this status
  local line
  for _ in $(seq 120); do
    line=$(status_line "$1" "$2") && { say "$line"; return; }
    say "${line:-(no status)}"
    sleep 0.5
  done
  fail "mirrors did not reach $2"
}
apply() { # manifests
  say "\$ clusterlink apply -f $(basename "$1")/"
  "$bin" apply -f "$1" 2>&1 | sed 's/^/   | /' || fail "clusterlink apply failed"
}

manifests() { # dir link-name rest-class rest-port source-id source-bootstrap dest-name
  mkdir -p "$1"
  cat >"$1/cluster-link.yaml" <<EOF
# The $7 side: its Admin REST API (a clusterlink link server) and the ClusterLink that pulls
# the topics from $5 into $7 (destination-initiated: nothing is configured on $5).
apiVersion: platform.confluent.io/v1beta1
kind: KafkaRestClass
metadata: {name: $3, namespace: dr}
spec:
  kafkaRest: {endpoint: "http://127.0.0.1:$4"}
---
apiVersion: platform.confluent.io/v1beta1
kind: ClusterLink
metadata: {name: $2, namespace: dr}
spec:
  name: $2
  destinationKafkaCluster: {kafkaRestClassRef: {name: $3}}
  sourceKafkaCluster:
    bootstrapEndpoint: $6
    clusterID: $5
  mirrorTopics:
    - name: orders
      state: ACTIVE
    - name: payments
      state: ACTIVE
EOF
}
rest() { # base-url method path [json]: one Admin REST v3 call, prints the JSON answer
  "$CLUSTERLINK_PYTHON" - "$@" <<'PY'
import sys, urllib.request, urllib.error
base, method, path = sys.argv[1:4]
body = sys.argv[4].encode() if len(sys.argv) > 4 else None
req = urllib.request.Request(base + path, data=body, method=method, headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        print(r.read().decode())
except urllib.error.HTTPError as e:
    print(f"HTTP {e.code}: {e.read().decode()}", file=sys.stderr)
    sys.exit(1)
PY
}
set_state() { # dir state
  sed -i "s/state: [A-Z_]*/state: $2/" "$1/cluster-link.yaml"
  say "edited $(basename "$1")/cluster-link.yaml: every mirror topic now has state: $2"
}

moved() { echo "$*" >>"$work/moves"; }  # a line of the closing account of records moved

# Batches, in the order they are produced (orders gets 3/4 of each, payments 1/4).
N_A1=4000  # a1: to A, before the link exists
N_A2=2000  # a2: to A while B mirrors it
N_A3=2000  # a3: to A while B mirrors it, just before the cut
N_A3X=1200 # a3x: to A while B's mirrors are paused, just before A crashes
N_B4=1600  # b4: to B after the failover
N_B5=1200  # b5: to B while A follows again
N_B6=800   # b6: the last records to B before the failback
N_A7=400   # a7: to A after the failback, mirrored to B
produce_batch() { # batch bootstrap n
  produce "$1" "$2" orders $(($3 * 3 / 4))
  produce "$1" "$2" payments $(($3 / 4))
}

step "starting cluster A and cluster B (Apache Kafka), and B's link server (REST on 127.0.0.1:$B_REST)"
cluster_start A cluster-a "$work" "$A_PORT" || fail "cluster A did not start"
cluster_start B cluster-b "$work" || fail "cluster B did not start"
A=$A_BOOTSTRAP B=$B_BOOTSTRAP
say "A: $A, cluster id $A_ID"
say "B: $B, cluster id $B_ID"
start_link_server b-link-server "$B" "$B_REST"

step "A serves producers: topics orders (3 partitions) and payments (1 partition), batch a1"
py create-topic --bootstrap "$A" --topic orders --partitions 3
py create-topic --bootstrap "$A" --topic payments --partitions 1
produce_batch a1 "$A" $N_A1

step "B mirrors A: ClusterLink a-to-b on B, applied from site-b/cluster-link.yaml"
manifests "$work/site-b" a-to-b cluster-b-rest "$B_REST" "$A_ID" "$A" B
sed 's/^/   | /' "$work/site-b/cluster-link.yaml"
apply "$work/site-b"
wait_mirrored "$work/site-b" "$B" $N_A1
say "moved A -> B: $(count "$B" b-1)"
moved "a-to-b, initial mirroring:              A -> B  $N_A1 (a1)"

step "producers keep writing to A (batches a2, a3) while B mirrors them; the drill waits for lag zero"
produce_batch a2 "$A" $N_A2
produce_batch a3 "$A" $N_A3
wait_mirrored "$work/site-b" "$B" $((N_A1 + N_A2 + N_A3))
dump "$A" a-before-loss
say "B holds $(count "$B" b-2), A holds $(drill count a-before-loss)"
moved "a-to-b, while producers write to A:     A -> B  $((N_A2 + N_A3)) (a2, a3)"

step "A is lost: B's mirrors are paused (state: PAUSE), A acknowledges batch a3x, then A's broker crashes (kill -9)"
set_state "$work/site-b" PAUSE
apply "$work/site-b"
wait_state "$work/site-b" PAUSED
produce_batch a3x "$A" $N_A3X
cluster_crash A || fail "cluster A could not be crashed"
say "cluster A's broker killed (SIGKILL); its disk keeps what it acknowledged, a3x included, which B never fetched"

step "failover: the mirrors on B become ordinary writable topics now, without waiting for lag (state: FAILOVER)"
set_state "$work/site-b" FAILOVER
apply "$work/site-b"
wait_state "$work/site-b" STOPPED
dump "$B" b-after-failover
say "moved by the failover: 0 records (it does not wait for anything); B holds $(drill count b-after-failover)"
drill check b-after-failover a1,a2,a3 || fail "B's records after the failover are wrong"
drill same-offsets a-before-loss b-after-failover a1,a2,a3 || fail "B's offsets differ from A's"
say "batch a3x: $(drill acked a3x) records acknowledged by A that B never fetched: on A's disk only"
moved "failover on B:                                   0"

step "producers move to B: batch b4 written to B's topics, now writable"
produce_batch b4 "$B" $N_B4
say "B holds $(count "$B" b-4)"

step "A comes back: its broker restarts on its data (same address, same cluster id); A's link server (REST on 127.0.0.1:$A_REST)"
cluster_restart A || fail "cluster A did not restart"
start_link_server a-link-server "$A" "$A_REST"
dump "$A" a-restarted
say "A holds $(drill count a-restarted): a3x there, and from its offsets on, A's log and B's differ"

step "truncate and restore A from B: ClusterLink b-to-a on A, every mirror topic in state TRUNCATE_AND_RESTORE"
manifests "$work/site-a" b-to-a cluster-a-rest "$A_REST" "$B_ID" "$B" A
set_state "$work/site-a" TRUNCATE_AND_RESTORE
sed 's/^/   | /' "$work/site-a/cluster-link.yaml"
apply "$work/site-a"
on_b=$(drill total b-4)
wait_mirrored "$work/site-a" "$A" "$on_b"
say "moved B -> A: $(count "$A" a-restored) (A's topics created again, offsets equal to B's)"
dump "$A" a-diverged .diverged
drill check a-diverged a3x sparse || fail "the diverged-records topics are wrong"
say "kept aside on A: $(drill count a-diverged), in orders.diverged and payments.diverged"
moved "b-to-a, truncate-and-restore:           B -> A  $on_b ($(drill count a-restored)); A's a3x kept aside"

step "producers keep writing to B (batch b5) while A follows"
produce_batch b5 "$B" $N_B5
wait_mirrored "$work/site-a" "$A" $((on_b + N_B5))
say "moved B -> A: $N_B5 more; A holds $(count "$A" a-5)"
moved "b-to-a, while producers write to B:     B -> A  $N_B5 (b5)"

step "planned failback: last records to B (batch b6), producers on B stop, A's mirrors reversed (state: REVERSE_AND_START)"
produce_batch b6 "$B" $N_B6
say "producers on B stopped: B's topics must not be written from here on"
set_state "$work/site-a" REVERSE_AND_START
apply "$work/site-a"
wait_state "$work/site-a" STOPPED
dump "$A" a-promoted
[ "$(drill batch a-promoted b6)" -eq $N_B6 ] || fail "the reverse promoted A with records of b6 left behind"
say "A promoted at lag zero: it holds $(drill count a-promoted)"
say "B's topics become mirrors of A's, from where both end:"
wait_state "$work/site-b" ACTIVE
set_state "$work/site-b" ACTIVE
apply "$work/site-b"
moved "b-to-a until the reverse's promote:     B -> A  $N_B6 (b6, written to B just before it)"
moved "reverse on A:                                   0 left behind; a-to-b on B mirrors A again"

step "producers move back to A: batch a7, mirrored to B"
produce_batch a7 "$A" $N_A7
total_now=$(($(drill total a-promoted) + N_A7))
wait_mirrored "$work/site-b" "$B" "$total_now"
moved "a-to-b, after the failback:             A -> B  $N_A7 (a7)"

step "final check, read back with librdkafka: every acknowledged record exactly once where it belongs"
dump "$A" a-final
dump "$B" b-final
dump "$A" a-aside .diverged
ok=1
say "A and B must hold every acknowledged record but a3x, which waits in A's diverged-records topics"
drill check a-final a1,a2,a3,b4,b5,b6,a7 || ok=0
drill check b-final a1,a2,a3,b4,b5,b6,a7 || ok=0
drill check a-aside a3x sparse || ok=0
drill same-offsets b-final a-final a1,a2,a3,b4,b5,b6,a7 || ok=0
drill same-offsets a-before-loss a-final a1,a2,a3 || ok=0
[ $ok = 1 ] || fail "the final check found errors (above)"

step "the account"
drill account a-final b-final a-aside
say ""
say "records moved, step by step:"
sed 's/^/     /' "$work/moves"
step "drill passed: everything started is stopped on exit"
