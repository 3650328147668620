# Shared by the scripts that start local clusters (quickstart, rest-demo, dr-drill): sourced,
# not run. Needs CLUSTERLINK_TANSU (from scripts/install-test-deps.sh) for run_tansu.

# Prints a step heading.
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# A free loopback port.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits (up to 20 s) until something listens on loopback port $1.
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; return 1; }

# run_tansu DIR CLUSTER_ID PORT LOG: becomes a tansu broker (memory storage) listening on and
# advertising 127.0.0.1:PORT, working in DIR, logging to LOG. Run it in the background
# (`run_tansu ... &`): it execs, so $! is the broker itself.
run_tansu() {
  mkdir -p "$1"
  cd "$1" || exit 1
  # tansu reads its settings from the environment too: keep the caller's from leaking in.
  exec env -u CLUSTER_ID -u LISTENER_URL -u ADVERTISED_LISTENER_URL -u STORAGE_ENGINE \
    "$CLUSTERLINK_TANSU" broker --cluster-id "$2" --listener-url "tcp://127.0.0.1:$3" \
    --advertised-listener-url "tcp://127.0.0.1:$3" --storage-engine memory://tansu/ >>"$4" 2>&1
}
