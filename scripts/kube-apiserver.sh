#!/usr/bin/env bash
# A real kube-apiserver 1.20 (with etcd) for the operator's optional test tier
# (crates/operator/tests/real_kube.rs). See crates/operator/README.md.
#
#   scripts/kube-apiserver.sh build    build kube-apiserver once and cache it (no-op when cached)
#   scripts/kube-apiserver.sh start    build if needed, start etcd + kube-apiserver on loopback,
#                                      print `export ...` lines for eval:
#                                        eval "$(scripts/kube-apiserver.sh start)"
#   scripts/kube-apiserver.sh stop [RUN_DIR]
#                                      stop them (RUN_DIR defaults to $CLUSTERLINK_KUBE_RUN, then to
#                                      the last one started) and remove the run directory
#   scripts/kube-apiserver.sh status [RUN_DIR]
#
# No registry ships a kube-apiserver binary, so it is built from Debian's `kubernetes` source
# package (1.20) with Debian's Go and run with Debian's etcd-server; the recipe and its reasons are
# in ../shared/spec/test-brokers.md, section "Kubernetes". The build takes 5 to 13 minutes on two
# cores (about 110 MB binary) and happens under the cache directory, never inside the clone:
#
#   ${CLUSTERLINK_CACHE:-$HOME/.cache/clusterlink}/kube-apiserver-1.20/bin/kube-apiserver
#
# Missing Debian packages (golang-go, etcd-server, rsync, dpkg-dev, openssl, curl and the two Go
# library sources the recipe swaps in) are installed with apt-get (as root, or through sudo).
#
# Only stdout of `start` is meant for eval; every log line goes to stderr.
#
# Environment:
#   CLUSTERLINK_CACHE            cache root (default $HOME/.cache/clusterlink)
#   CLUSTERLINK_KUBE_APISERVER   use this kube-apiserver binary instead of building one
#   CLUSTERLINK_ETCD             use this etcd binary instead of Debian's
#   CLUSTERLINK_KUBE_RUN         run directory of a started instance (for stop/status)
#   CLUSTERLINK_KEEP_BUILD=1     keep the build tree (sources, Go build cache: hundreds of MB)
set -euo pipefail

CACHE_ROOT="${CLUSTERLINK_CACHE:-$HOME/.cache/clusterlink}"
CACHE="$CACHE_ROOT/kube-apiserver-1.20"
CACHED_BIN="$CACHE/bin/kube-apiserver"
BUILD_DIR="$CACHE/build"
LAST_RUN_FILE="$CACHE/last-run"

log() { printf '[kube-apiserver.sh] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

APT_UPDATED=0
apt_update_once() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        as_root apt-get update -qq >&2
        APT_UPDATED=1
    fi
}

# Install the Debian packages given that are not installed yet.
ensure_pkgs() {
    local missing=() p
    for p in "$@"; do
        pkg_installed "$p" || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    apt_update_once
    log "apt-get install ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >&2
}

# `apt-get source` needs deb-src entries. Add a deb-src twin of every configured Debian source
# (deb822 `.sources` files and one-line `.list` entries) unless one is there already.
ensure_deb_src() {
    local twin=/etc/apt/sources.list.d/clusterlink-deb-src.sources
    local list_twin=/etc/apt/sources.list.d/clusterlink-deb-src.list
    # Called only after `apt-get source` failed; twins already added mean another problem.
    if [ -e "$twin" ] || [ -e "$list_twin" ]; then
        die "apt-get source kubernetes failed although deb-src entries are configured"
    fi
    log "adding deb-src twins of the Debian apt sources"
    local f tmp
    tmp="$(mktemp)"
    # deb822: copy each stanza whose URIs point at a Debian archive, with Types: deb-src.
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'BEGIN { RS = ""; ORS = "\n\n" }
             /URIs:[^\n]*debian/ && /Types:[^\n]*deb/ {
                 sub(/Types:[^\n]*/, "Types: deb-src"); print
             }' "$f" >>"$tmp"
    done
    if [ -s "$tmp" ]; then
        as_root cp "$tmp" "$twin"
        as_root chmod 644 "$twin"
    fi
    : >"$tmp"
    # One-line format.
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        grep -E '^deb [^#]*debian' "$f" | sed 's/^deb /deb-src /' >>"$tmp" || true
    done
    if [ -s "$tmp" ]; then
        as_root cp "$tmp" "$list_twin"
        as_root chmod 644 "$list_twin"
    fi
    rm -f "$tmp"
    [ -e "$twin" ] || [ -e "$list_twin" ] || die "found no Debian apt source to add a deb-src twin of"
    APT_UPDATED=0
    apt_update_once
}

kube_apiserver_bin() {
    if [ -n "${CLUSTERLINK_KUBE_APISERVER:-}" ]; then
        echo "$CLUSTERLINK_KUBE_APISERVER"
    else
        echo "$CACHED_BIN"
    fi
}

# Build kube-apiserver into $CACHED_BIN unless it is there (or CLUSTERLINK_KUBE_APISERVER is set).
cmd_build() {
    if [ -n "${CLUSTERLINK_KUBE_APISERVER:-}" ]; then
        [ -x "$CLUSTERLINK_KUBE_APISERVER" ] || die "CLUSTERLINK_KUBE_APISERVER=$CLUSTERLINK_KUBE_APISERVER is not executable"
        return 0
    fi
    mkdir -p "$CACHE"
    # One build at a time: a second caller waits for the first and then finds the binary.
    exec 9>"$CACHE/build.lock"
    flock 9
    if [ -x "$CACHED_BIN" ]; then
        exec 9>&-
        return 0
    fi
    local started=$SECONDS
    log "building kube-apiserver 1.20 under $BUILD_DIR (5 to 13 minutes on two cores)"

    ensure_pkgs golang-go rsync dpkg-dev make gcc libc6-dev \
        golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev
    local gocode=/usr/share/gocode/src/github.com
    [ -d "$gocode/modern-go/reflect2" ] || die "missing $gocode/modern-go/reflect2"
    [ -d "$gocode/json-iterator/go" ] || die "missing $gocode/json-iterator/go"

    rm -rf "$BUILD_DIR"
    mkdir -p "$BUILD_DIR/debian-source"
    (
        cd "$BUILD_DIR/debian-source"
        if ! apt-get source --download-only kubernetes >&2 2>/dev/null; then
            ensure_deb_src
            apt-get source --download-only kubernetes >&2
        fi
    )
    local dsc orig upstream_version
    dsc="$(ls "$BUILD_DIR"/debian-source/kubernetes_*.dsc | head -n1)"
    orig="$(ls "$BUILD_DIR"/debian-source/kubernetes_*.orig.tar.* | grep -v '\.asc$' | head -n1)"
    [ -f "$orig" ] || die "apt-get source did not fetch an orig tarball"
    # Debian's version looks like 1.20.5+really1.20.2-1; the upstream release is after "really".
    upstream_version="$(sed -n 's/^Version: //p' "$dsc" | sed -e 's/-[^-]*$//' -e 's/.*really//' -e 's/+.*//')"
    log "source: $(basename "$orig") (upstream $upstream_version)"

    # Unpack the upstream tarball only (the recipe needs none of Debian's patches).
    mkdir -p "$BUILD_DIR/src"
    tar -xf "$orig" -C "$BUILD_DIR/src" --strip-components=1
    local src="$BUILD_DIR/src"
    [ -f "$src/cmd/kube-apiserver/apiserver.go" ] || die "unexpected layout of $orig"

    # The vendored reflect2 / json-iterator crash under Go >= 1.18 on the first custom-resource
    # write; Debian's packaged sources of both are fixed. Swap them in.
    rm -rf "$src/vendor/github.com/modern-go/reflect2" "$src/vendor/github.com/json-iterator/go"
    cp -a "$gocode/modern-go/reflect2" "$src/vendor/github.com/modern-go/reflect2"
    cp -a "$gocode/json-iterator/go" "$src/vendor/github.com/json-iterator/go"

    # Without .git the build has no version; give it one (what /version reports).
    local minor="${upstream_version#*.}"
    minor="${minor%%.*}"
    cat >"$BUILD_DIR/version.env" <<EOF
KUBE_GIT_VERSION='v$upstream_version'
KUBE_GIT_MAJOR='1'
KUBE_GIT_MINOR='$minor'
KUBE_GIT_TREE_STATE='clean'
KUBE_GIT_COMMIT='0000000000000000000000000000000000000000'
EOF

    # Debian's Go (the recipe's), ahead of any other Go on PATH.
    local gobin=/usr/lib/go/bin
    [ -x "$gobin/go" ] || gobin="$(dirname "$(command -v go)")"
    log "go: $("$gobin/go" version)"
    (
        cd "$src"
        export PATH="$gobin:$PATH"
        export GOCACHE="$BUILD_DIR/gocache" GOPATH="$BUILD_DIR/gopath" GOFLAGS= GOTOOLCHAIN=local
        export KUBE_GIT_VERSION_FILE="$BUILD_DIR/version.env"
        make WHAT=cmd/kube-apiserver >&2
    )
    local out
    out="$(ls "$src"/_output/local/bin/*/*/kube-apiserver 2>/dev/null | head -n1 || true)"
    [ -n "$out" ] && [ -x "$out" ] || out="$src/_output/bin/kube-apiserver"
    [ -x "$out" ] || die "the build produced no kube-apiserver binary"
    mkdir -p "$CACHE/bin"
    cp "$out" "$CACHED_BIN.tmp"
    mv "$CACHED_BIN.tmp" "$CACHED_BIN"
    echo "$(basename "$dsc") built $(date -u +%FT%TZ) in $((SECONDS - started)) s with $("$gobin/go" version)" \
        >"$CACHE/bin/BUILD-INFO"
    if [ "${CLUSTERLINK_KEEP_BUILD:-0}" != 1 ]; then
        chmod -R u+w "$BUILD_DIR" 2>/dev/null || true
        rm -rf "$BUILD_DIR"
    fi
    log "built $CACHED_BIN in $((SECONDS - started)) s"
    exec 9>&-
}

# A TCP port on 127.0.0.1 that nothing listens on (checked by connecting; a small race remains
# until the server binds it, which start() detects by the server dying).
free_port() {
    local p i
    for i in $(seq 1 200); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    die "found no free port"
}

# Start a daemon detached from this shell (and from `eval "$(...)"`'s pipe), recording its pid.
spawn() {
    local name="$1"
    shift
    setsid "$@" </dev/null >"$RUN/$name.log" 2>&1 &
    echo $! >"$RUN/$name.pid"
}

alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

cmd_start() {
    cmd_build
    ensure_pkgs etcd-server openssl curl
    local apiserver etcd
    apiserver="$(kube_apiserver_bin)"
    etcd="${CLUSTERLINK_ETCD:-$(command -v etcd || echo /usr/bin/etcd)}"
    [ -x "$etcd" ] || die "no etcd binary (Debian package etcd-server)"

    RUN="$(mktemp -d "${TMPDIR:-/tmp}/clusterlink-kube.XXXXXX")"
    mkdir -p "$RUN/certs" "$RUN/etcd"
    echo "$RUN" >"$LAST_RUN_FILE"
    log "run directory $RUN"

    # etcd on loopback, data in the run directory.
    local etcd_port peer_port
    etcd_port="$(free_port)"
    peer_port="$(free_port)"
    spawn etcd "$etcd" --name clusterlink --data-dir "$RUN/etcd" \
        --listen-client-urls "http://127.0.0.1:$etcd_port" \
        --advertise-client-urls "http://127.0.0.1:$etcd_port" \
        --listen-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-cluster "clusterlink=http://127.0.0.1:$peer_port"
    local i
    for i in $(seq 1 100); do
        alive etcd || { tail -n 20 "$RUN/etcd.log" >&2; die "etcd exited"; }
        curl -fsS "http://127.0.0.1:$etcd_port/health" 2>/dev/null | grep -q '"health":"true"' && break
        [ "$i" -eq 100 ] && { tail -n 20 "$RUN/etcd.log" >&2; die "etcd not healthy after 20 s"; }
        sleep 0.2
    done
    log "etcd healthy on 127.0.0.1:$etcd_port"

    # Credentials: a bearer token in system:masters, and the service-account key pair that 1.20
    # requires (--service-account-issuer / --service-account-signing-key-file).
    local token
    token="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "$token,clusterlink-admin,clusterlink-admin,\"system:masters\"" >"$RUN/tokens.csv"
    chmod 600 "$RUN/tokens.csv"
    openssl genrsa -out "$RUN/sa.key" 2048 2>/dev/null
    openssl rsa -in "$RUN/sa.key" -pubout -out "$RUN/sa.pub" 2>/dev/null

    # kube-apiserver: secure port only (--insecure-port=0), self-signed serving certificate
    # generated into --cert-dir, RBAC. No ServiceAccount admission: no controller manager runs
    # here to create service accounts. No endpoint reconciler: it would try every 10 s to publish
    # the loopback advertise address as the `kubernetes` Service's endpoint, which is refused.
    local port
    port="$(free_port)"
    spawn kube-apiserver "$apiserver" \
        --etcd-servers "http://127.0.0.1:$etcd_port" \
        --bind-address 127.0.0.1 \
        --advertise-address 127.0.0.1 \
        --secure-port "$port" \
        --insecure-port 0 \
        --cert-dir "$RUN/certs" \
        --token-auth-file "$RUN/tokens.csv" \
        --authorization-mode RBAC \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --service-account-key-file "$RUN/sa.pub" \
        --service-account-signing-key-file "$RUN/sa.key" \
        --service-cluster-ip-range 10.0.0.0/24 \
        --disable-admission-plugins ServiceAccount \
        --endpoint-reconciler-type none \
        --allow-privileged=true

    local server="https://127.0.0.1:$port"
    for i in $(seq 1 300); do
        alive kube-apiserver || { tail -n 30 "$RUN/kube-apiserver.log" >&2; die "kube-apiserver exited"; }
        if curl -fsSk -H "Authorization: Bearer $token" "$server/readyz" 2>/dev/null | grep -q '^ok$'; then
            break
        fi
        [ "$i" -eq 300 ] && { tail -n 30 "$RUN/kube-apiserver.log" >&2; die "kube-apiserver not ready after 60 s"; }
        sleep 0.2
    done
    log "kube-apiserver ready on $server ($(curl -fsSk -H "Authorization: Bearer $token" "$server/version" | sed -n 's/.*"gitVersion": "\(.*\)".*/\1/p'))"

    # kubeconfig. The serving certificate is self-signed by a CA that kube-apiserver generated into
    # --cert-dir and appended to the certificate file: trust that CA (the last certificate).
    local crt ca_data
    crt="$(ls "$RUN"/certs/*.crt | head -n1)"
    awk '/BEGIN CERTIFICATE/ { n++; buf = "" } { buf = buf $0 "\n" } /END CERTIFICATE/ { last = buf } END { printf "%s", last }' \
        "$crt" >"$RUN/ca.crt"
    if curl -fsS --cacert "$RUN/ca.crt" -H "Authorization: Bearer $token" "$server/readyz" >/dev/null 2>&1; then
        ca_data="certificate-authority-data: $(base64 -w0 <"$RUN/ca.crt")"
    else
        log "could not verify the serving certificate with its CA; kubeconfig skips TLS verification"
        ca_data="insecure-skip-tls-verify: true"
    fi
    cat >"$RUN/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: clusterlink-test
  cluster:
    server: $server
    $ca_data
users:
- name: clusterlink-admin
  user:
    token: $token
contexts:
- name: clusterlink-test
  context:
    cluster: clusterlink-test
    user: clusterlink-admin
    namespace: default
current-context: clusterlink-test
EOF
    chmod 600 "$RUN/kubeconfig"
    log "stop with: scripts/kube-apiserver.sh stop $RUN"
    printf 'export KUBECONFIG=%q\n' "$RUN/kubeconfig"
    printf 'export CLUSTERLINK_KUBE_RUN=%q\n' "$RUN"
    printf 'export CLUSTERLINK_REAL_KUBE=1\n'
}

resolve_run() {
    RUN="${1:-${CLUSTERLINK_KUBE_RUN:-}}"
    if [ -z "$RUN" ] && [ -f "$LAST_RUN_FILE" ]; then
        RUN="$(cat "$LAST_RUN_FILE")"
    fi
    [ -n "$RUN" ] && [ -d "$RUN" ] || die "no run directory (give one, or set CLUSTERLINK_KUBE_RUN)"
    # Refuse anything that is not one of ours before killing pids or removing it.
    case "$(basename "$RUN")" in
    clusterlink-kube.*) ;;
    *) die "$RUN is not a run directory of this script" ;;
    esac
}

stop_one() {
    local name="$1" pid i
    [ -f "$RUN/$name.pid" ] || return 0
    pid="$(cat "$RUN/$name.pid")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name ($pid) did not stop in 10 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$RUN/$name.pid"
    log "stopped $name"
}

cmd_stop() {
    resolve_run "${1:-}"
    stop_one kube-apiserver
    stop_one etcd
    rm -rf "$RUN"
    if [ -f "$LAST_RUN_FILE" ] && [ "$(cat "$LAST_RUN_FILE")" = "$RUN" ]; then
        rm -f "$LAST_RUN_FILE"
    fi
    log "removed $RUN"
}

cmd_status() {
    resolve_run "${1:-}"
    local name
    for name in etcd kube-apiserver; do
        if alive "$name"; then
            echo "$name running (pid $(cat "$RUN/$name.pid"))"
        else
            echo "$name not running"
        fi
    done
    echo "KUBECONFIG=$RUN/kubeconfig"
}

case "${1:-}" in
build) cmd_build ;;
start) cmd_start ;;
stop) cmd_stop "${2:-}" ;;
status) cmd_status "${2:-}" ;;
*)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
