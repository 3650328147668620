#!/usr/bin/env bash
# Mirroring throughput, measured side by side in one run (figures, not a pass/fail test):
#   1. fetch-only: our client reads the source topic and discards it (the ceiling);
#   2. clusterlink: `clusterlink mirror` copies it to a second cluster (time to the last record,
#      peak RSS);
#   3. pipeline: librdkafka consume -> produce into a third cluster, tuned (the MirrorMaker way);
#   4. produce-only: our client writes the source's batches, read into memory beforehand, to a
#      fourth cluster the way the engine does (the destination's ceiling).
# A mirror cannot beat the slower of the two ceilings (fetch-only, produce-only).
# Default: 1,000,000 records of 1 KiB over 12 partitions (about 1 GB). Override with
# BENCH_RECORDS, BENCH_RECORD_BYTES, BENCH_PARTITIONS. Needs ~12 GiB of memory (tansu keeps
# everything in memory). The last line is `ratio_vs_librdkafka_pipeline: X.XX`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
records=${BENCH_RECORDS:-1000000}
size=${BENCH_RECORD_BYTES:-1024}
partitions=${BENCH_PARTITIONS:-12}

say() { printf '== %s\n' "$*" >&2; }
eval "$(scripts/install-test-deps.sh | sed 's/^/export /')"
say "building clusterlink and the benchmark tool (release)"
cargo build --quiet --release -p clusterlink
(cd bench && cargo build --quiet --release)
cl=$root/target/release/clusterlink
tool=$root/bench/target/release/clusterlink-bench

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
declare -A broker_pid
start_cluster() { # id variable: starts a broker, sets $variable to its bootstrap address
  local port; port=$(free_port); mkdir -p "$work/$1"
  (cd "$work/$1" && exec env -u CLUSTER_ID -u LISTENER_URL -u ADVERTISED_LISTENER_URL -u STORAGE_ENGINE \
    "$CLUSTERLINK_TANSU" broker --cluster-id "$1" --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" --storage-engine memory://tansu/ >"$work/$1.log" 2>&1) &
  pids+=($!)
  broker_pid[$1]=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  printf -v "$2" '127.0.0.1:%s' "$port"
}
# CPU seconds (user + system) a process has used so far
cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat" 2>/dev/null || echo 0; }
json() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

start_cluster bench-source src
start_cluster bench-clusterlink dst
start_cluster bench-pipeline dst2
start_cluster bench-produce-only dst3
mb=$(python3 -c "print($records * $size / 1e6)")

say "producing $records records of $size bytes over $partitions partitions ($mb MB)"
produced=$("$tool" produce --bootstrap "$src" --topic bench --partitions "$partitions" --records "$records" --size "$size")
produce_s=$(json "$produced" seconds)

say "fetch-only read with our client"
fetch=$("$tool" fetch-only --bootstrap "$src" --topic bench)
fetch_s=$(json "$fetch" seconds)

say "produce-only write with our client"
written=$("$tool" produce-only --source "$src" --destination "$dst3" --topic bench --produce-connections "${BENCH_PRODUCE_CONNECTIONS:-2}")
write_s=$(json "$written" seconds)
kill "${broker_pid[bench-produce-only]}" 2>/dev/null || true # frees its memory

say "clusterlink mirror"
src_cpu0=$(cpu "${broker_pid[bench-source]}"); dst_cpu0=$(cpu "${broker_pid[bench-clusterlink]}")
"$tool" wait --bootstrap "$dst" --topic bench --records "$records" > "$work/wait.json" &
waiter=$!
"$cl" mirror --link bench --topic bench --source-bootstrap-server "$src" \
  --destination-bootstrap-server "$dst" --status-interval-ms 0 --partition-max-bytes "${BENCH_PARTITION_BYTES:-1048576}" --produce-connections "${BENCH_PRODUCE_CONNECTIONS:-2}" > "$work/mirror.log" 2>&1 &
mirror_pid=$!
pids+=($mirror_pid)
rss_kb=0
while kill -0 "$waiter" 2>/dev/null; do
  now=$(awk '/VmHWM/ {print $2}' "/proc/$mirror_pid/status" 2>/dev/null || echo 0)
  [ "${now:-0}" -gt "$rss_kb" ] && rss_kb=$now
  sleep 0.2
done
wait "$waiter"
now=$(awk '/VmHWM/ {print $2}' "/proc/$mirror_pid/status" 2>/dev/null || echo 0)
[ "${now:-0}" -gt "$rss_kb" ] && rss_kb=$now
mirror_cpu=$(cpu "$mirror_pid")
src_cpu1=$(cpu "${broker_pid[bench-source]}"); dst_cpu1=$(cpu "${broker_pid[bench-clusterlink]}")
kill "$mirror_pid" 2>/dev/null || true
mirror_s=$(json "$(cat "$work/wait.json")" seconds)

say "librdkafka consume -> produce pipeline"
psrc0=$(cpu "${broker_pid[bench-source]}"); pdst0=$(cpu "${broker_pid[bench-pipeline]}")
"$tool" pipeline --source "$src" --destination "$dst2" --topic bench --records "$records" > "$work/pipe.json" &
pipe_pid=$!
pipe_cpu=0
while kill -0 "$pipe_pid" 2>/dev/null; do c=$(cpu "$pipe_pid"); [ "$c" != 0 ] && pipe_cpu=$c; sleep 0.2; done
wait "$pipe_pid"
psrc1=$(cpu "${broker_pid[bench-source]}"); pdst1=$(cpu "${broker_pid[bench-pipeline]}")
pipe_s=$(json "$(cat "$work/pipe.json")" seconds)

python3 - "$records" "$mb" "$fetch_s" "$mirror_s" "$pipe_s" "$rss_kb" \
  "$mirror_cpu" "$src_cpu0" "$src_cpu1" "$dst_cpu0" "$dst_cpu1" "$pipe_cpu" "$psrc0" "$psrc1" "$pdst0" "$pdst1" \
  "$write_s" "$produce_s" <<'PY'
import sys
records, mb = int(sys.argv[1]), float(sys.argv[2])
fetch_s, mirror_s, pipe_s, rss_kb = map(float, sys.argv[3:7])
mirror_cpu, s0, s1, d0, d1, pipe_cpu, ps0, ps1, pd0, pd1 = map(float, sys.argv[7:17])
write_s, produce_s = map(float, sys.argv[17:19])
row = lambda name, s: print(f"{name:<34} {mb / s:9.1f} MB/s {records / s:12,.0f} records/s  ({s:.2f} s)")
print(f"records: {records:,}  payload: {mb:,.0f} MB")
row("fetch-only (our client, ceiling)", fetch_s)
row("produce-only (our client, ceiling)", write_s)
row("librdkafka produce (filling source)", produce_s)
row("clusterlink mirror", mirror_s)
row("librdkafka consume->produce", pipe_s)
print(f"clusterlink peak RSS: {rss_kb / 1024:.1f} MiB")
print("CPU seconds spent during each transfer (2 cores shared by everything):")
print(f"  clusterlink: mirror {mirror_cpu:.1f}, source broker {s1 - s0:.1f}, destination broker {d1 - d0:.1f}")
print(f"  pipeline:    client {pipe_cpu:.1f}, source broker {ps1 - ps0:.1f}, destination broker {pd1 - pd0:.1f}")
print(f"clusterlink vs fetch-only: {100 * fetch_s / mirror_s:.0f}%")
print(f"clusterlink vs the slower ceiling: {100 * max(fetch_s, write_s) / mirror_s:.0f}%")
print(f"ratio_vs_librdkafka_pipeline: {pipe_s / mirror_s:.2f}")
PY
