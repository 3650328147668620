#!/usr/bin/env python3
"""Measures how long the test harness takes to start Apache Kafka, and the brokers' memory.

Figures, not a test (docs/test-brokers.md holds the results). For each JVM variant and node count
it starts clusters with the harness's own `kafka-cluster` binary (so exactly as tests do) and
reports the time until every broker serves and the JVMs' resident memory (RSS, summed over the
nodes) 5 s after that. Run from the repository root after `cargo build -p clusterlink-testkit
--bin kafka-cluster`, with the install script's variables exported:

    eval "$(scripts/install-test-deps.sh | sed 's/^/export /')"
    scripts/kafka/measure_startup.py [--runs 3] [--variant NAME]...
"""
import argparse
import os
import statistics
import subprocess
import time

BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "debug", "kafka-cluster")

# name -> (JVM flags appended to the harness's, environment changes)
RECIPE = ["-XX:TieredStopAtLevel=4", "-Xms512m", "-Xmx512m"]
SERIAL = ["-XX:-UseG1GC", "-XX:+UseSerialGC"]
VARIANTS = {
    # The recipe's JVM (G1, C2, 512 MiB fixed heap) without a class-data-sharing archive of Kafka.
    "recipe-nocds": (RECIPE, {"CLUSTERLINK_KAFKA_CDS": ""}),
    "recipe+cds": (RECIPE, {}),
    # The harness's flags: G1, C1 only, heap 256..512 MiB, CDS archive.
    "harness-nocds": ([], {"CLUSTERLINK_KAFKA_CDS": ""}),
    "harness": ([], {}),
    "harness-c2": (["-XX:TieredStopAtLevel=4"], {}),
    "harness-serial": (SERIAL, {}),
    "harness-serial-xms64": (SERIAL + ["-Xms64m"], {}),
}


def java_pids(root):
    """The java processes under `root` (the nodes, below their bash wrappers)."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,comm="], capture_output=True, text=True).stdout
    children = {}
    comm = {}
    for line in out.splitlines():
        pid, ppid, name = line.split(None, 2)
        children.setdefault(int(ppid), []).append(int(pid))
        comm[int(pid)] = name.strip()
    found, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            (found if comm[c] == "java" else todo).append(c)
    return found


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run(nodes, flags, env_changes):
    env = dict(os.environ, **env_changes)
    cmd = [BIN, "--nodes", str(nodes)]
    for f in flags:
        cmd += ["--jvm-arg", f]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    line = p.stdout.readline()
    ready = time.monotonic() - t0
    if not line:
        p.wait()
        raise SystemExit(f"kafka-cluster failed ({p.returncode})")
    time.sleep(5)
    pids = java_pids(p.pid)
    rss = sum(rss_mib(x) for x in pids)
    p.stdin.close()
    p.wait()
    return ready, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--variant", action="append", choices=sorted(VARIANTS))
    ap.add_argument("--nodes", type=int, action="append", choices=[1, 3])
    args = ap.parse_args()
    names = args.variant or list(VARIANTS)
    node_counts = args.nodes or [1, 3]
    # Round-robin over the variants, so that another job's load falls on all of them alike.
    results = {}
    for _ in range(args.runs):
        for name in names:
            flags, env = VARIANTS[name]
            for nodes in node_counts:
                results.setdefault((name, nodes), []).append(run(nodes, flags, env) + (os.getloadavg()[0],))
    print(f"{'variant':16} nodes  start s: median (min-max)   RSS MiB, all nodes   load avg")
    for (name, nodes), res in results.items():
        ts = [r[0] for r in res]
        rs = [r[1] for r in res]
        print(f"{name:16} {nodes:5}  {statistics.median(ts):5.2f} ({min(ts):.2f}-{max(ts):.2f})"
              f"          {statistics.median(rs):6.0f}          {statistics.median(r[2] for r in res):.1f}")

if __name__ == "__main__":
    main()
