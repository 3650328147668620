# Shared by the scripts that start local clusters (quickstart, rest-demo, dr-drill): sourced,
# not run. The clusters are Apache Kafka by default (what users run) or tansu (`--peer tansu`,
# or CLUSTERLINK_PEER=tansu: a broker that starts in a fraction of a second). Needs the
# variables scripts/install-test-deps.sh prints (CLUSTERLINK_TANSU for tansu; Kafka's for the
# test kit's kafka-cluster binary, which the scripts build: the one place that knows how to
# start Kafka).

# Prints a step heading.
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# A free loopback port.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits (up to 20 s) until something listens on loopback port $1.
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; return 1; }

PEER=${CLUSTERLINK_PEER:-kafka}

# parse_peer_args USAGE "$@": reads `--peer kafka|tansu` (the only option of the scripts).
parse_peer_args() {
  local usage=$1
  shift
  while [ $# -gt 0 ]; do
    case $1 in
      --peer) PEER=${2:-}; shift 2 || { echo "$usage" >&2; exit 2; } ;;
      --peer=*) PEER=${1#--peer=}; shift ;;
      -h | --help) echo "$usage"; exit 0 ;;
      *) echo "$usage" >&2; exit 2 ;;
    esac
  done
  case $PEER in
    kafka | tansu) ;;
    *) echo "unknown peer '$PEER': kafka or tansu" >&2; exit 2 ;;
  esac
}

# build_peer: builds what starting clusters of $PEER needs (Kafka: the test kit's kafka-cluster).
build_peer() {
  [ "$PEER" = kafka ] || return 0
  cargo build --quiet -p clusterlink-testkit --bin kafka-cluster
  local target=${CARGO_TARGET_DIR:-target}
  case $target in /*) ;; *) target=$(pwd)/$target ;; esac
  KAFKA_CLUSTER=$target/debug/kafka-cluster
}

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

declare -A cluster_pid=() cluster_fd=() cluster_dir=()
cluster_fds=()
close_cluster_fds() { for fd in "${cluster_fds[@]}"; do exec {fd}>&-; done; }

# cluster_start NAME ID DIR [PORT]: starts a single-node cluster of $PEER in the background,
# logging to DIR/NAME.log. Once it serves, sets NAME_BOOTSTRAP (127.0.0.1:PORT) and NAME_ID (its
# cluster id). On tansu the id is ID and the port PORT (a free one without it); on Kafka both
# are new for every cluster (a Kafka cluster's id is 16 random bytes, given when it is
# formatted). Fails with the end of the log if the cluster does not start.
cluster_start() {
  local name=$1 id=$2 dir=$3 port=${4:-} spec fd
  case $PEER in
    tansu)
      port=${port:-$(free_port)}
      run_tansu "$dir/$name" "$id" "$port" "$dir/$name.log" &
      cluster_pid[$name]=$!
      wait_port "$port" || { echo "cluster $name did not start:"; tail -30 "$dir/$name.log"; return 1; }
      spec=$id@127.0.0.1:$port
      ;;
    kafka)
      # kafka-cluster runs the cluster until its stdin, a pipe only this shell holds, closes,
      # or until SIGTERM; either way it stops its broker and removes its files.
      : >"$dir/$name.spec"
      exec {fd}> >(close_cluster_fds; exec "$KAFKA_CLUSTER" --nodes 1 --env SPEC \
        >"$dir/$name.spec" 2>"$dir/$name.log")
      cluster_pid[$name]=$!
      cluster_fds+=("$fd")
      cluster_fd[$name]=$fd
      cluster_dir[$name]=$dir
      until [ -s "$dir/$name.spec" ]; do
        if ! kill -0 "${cluster_pid[$name]}" 2>/dev/null; then
          echo "cluster $name did not start:"; tail -30 "$dir/$name.log"; return 1
        fi
        sleep 0.1
      done
      spec=$(sed -n 's/^SPEC=//p' "$dir/$name.spec")
      ;;
  esac
  printf -v "${name}_ID" %s "${spec%@*}"
  printf -v "${name}_BOOTSTRAP" %s "${spec#*@}"
}

# cluster_crash NAME (Kafka only): the broker dies at once (SIGKILL), as in a crash, and its log
# directories stay for cluster_restart: what it acknowledged is still on its disk.
cluster_crash() { cluster_command "$1" "kill 1" "killed 1"; }

# cluster_restart NAME (Kafka only): the crashed broker starts again on its data, with its
# address and cluster id; returns once it serves.
cluster_restart() { cluster_command "$1" "start 1" "started 1"; }

# cluster_command NAME COMMAND REPLY: a line to the kafka-cluster process running NAME, then
# waits (up to 2 minutes) for its REPLY line.
cluster_command() {
  local name=$1 spec="${cluster_dir[$1]:-}/$1.spec" before
  [ "$PEER" = kafka ] && [ -n "${cluster_fd[$name]:-}" ] || {
    echo "cluster $name: '$2' needs a Kafka cluster started by cluster_start"; return 1; }
  before=$(grep -c -x "$3" "$spec" || true)
  echo "$2" >&"${cluster_fd[$name]}"
  for _ in $(seq 1200); do
    [ "$(grep -c -x "$3" "$spec" || true)" -gt "$before" ] && return 0
    if grep -q '^error:' "$spec"; then grep '^error:' "$spec"; return 1; fi
    sleep 0.1
  done
  echo "cluster $name: no '$3' within 2 minutes"; tail -30 "${cluster_dir[$name]}/$name.log"; return 1
}

# cluster_stop_all: stops every cluster still running (for the scripts' exit traps).
cluster_stop_all() {
  local pid
  for pid in "${cluster_pid[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  close_cluster_fds
  for pid in "${cluster_pid[@]}"; do wait "$pid" 2>/dev/null || true; done
}
