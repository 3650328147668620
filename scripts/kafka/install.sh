#!/usr/bin/env bash
# Installs Apache Kafka (the reference broker of the tests, and its tools) from Maven Central into
# a cache outside the clone, idempotently; run by scripts/install-test-deps.sh. Prints:
#   CLUSTERLINK_JAVA        the java binary (OpenJDK 17 or newer)
#   CLUSTERLINK_KAFKA_LIBS  the classpath directory (use it as 'DIR/*')
#   CLUSTERLINK_KAFKA_LOG4J the log4j2 configuration for brokers and tools
#   CLUSTERLINK_KAFKA_CDS   a class-data-sharing archive for that classpath and that java
# Needs only java, mvn (with its ~/.m2) and python3 (for a free port).
#
# Why a CDS archive: every test process starts its own brokers or runs Kafka's tools, and a JVM
# that loads Kafka's 7,000 classes from jars spends most of its start-up doing so. The archive
# holds them pre-parsed (broker start 5.9 s -> 2.4 s, a tool 2.3 s -> 1.0 s; docs/test-brokers.md).
# It is made here once: a throwaway broker and a few tools run with -XX:DumpLoadedClassList, then
# `java -Xshare:dump` writes one static archive from their class lists. An archive only works
# with the exact jars and JDK it was made from; it is checked with -Xshare:on on every run and
# made again when the check fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

KAFKA_VERSION=4.3.1
# sha256 of `sha256sum` over the jars, sorted by name (see jar_set_sha256).
KAFKA_JARS_SHA256=296b1772fd47a76239b2c07d45146616a94308ecb05e972c32769e9b522c6830

cache=${CLUSTERLINK_CACHE:-$HOME/.cache/clusterlink}
home="$cache/kafka-$KAFKA_VERSION"
libs="$home/libs"
mkdir -p "$home"

java=$(readlink -f "$(command -v java)")
if ! "$java" -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'; then
  echo "install-kafka: Kafka $KAFKA_VERSION needs Java 17 or newer; $java is $("$java" -version 2>&1 | head -1)" >&2
  exit 1
fi

# One install at a time (test processes may run this script concurrently).
exec 9>"$home/.lock"
flock 9

jar_set_sha256() { (cd "$1" && find . -maxdepth 1 -name '*.jar' | LC_ALL=C sort | xargs -r sha256sum | sha256sum | cut -d' ' -f1); }

if [ ! -d "$libs" ] || [ "$(jar_set_sha256 "$libs")" != "$KAFKA_JARS_SHA256" ]; then
  echo "install-kafka: fetching Apache Kafka $KAFKA_VERSION from Maven Central" >&2
  rm -rf "$libs" "$libs.tmp" "$home/kafka.jsa"
  mvn -B -q -Dstyle.color=never -f "$here/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs.tmp" >"$home/mvn.log" 2>&1 \
    || { cat "$home/mvn.log" >&2; exit 1; }
  got=$(jar_set_sha256 "$libs.tmp")
  if [ "$got" != "$KAFKA_JARS_SHA256" ]; then
    echo "install-kafka: the jar set's sha256 is $got, expected $KAFKA_JARS_SHA256" >&2
    echo "install-kafka: (kept in $libs.tmp; after a deliberate version change, record the new sum)" >&2
    exit 1
  fi
  mv -T "$libs.tmp" "$libs"
fi

install -m 0644 "$here/log4j2.properties" "$home/log4j2.properties"
log4j="$home/log4j2.properties"
cds="$home/kafka.jsa"

# JVM logging (CDS warnings included) goes to stderr, never into a tool's answer on stdout.
jvm_log=(-Xlog:disable -Xlog:all=warning:stderr)
cp_args=(-cp "$libs/*" "-Dlog4j2.configurationFile=$log4j")

cds_ok() { [ -f "$cds" ] && "$java" -Xshare:on "-XX:SharedArchiveFile=$cds" "${jvm_log[@]}" "${cp_args[@]}" -version >/dev/null 2>&1; }

# Runs a throwaway broker and a few tools with their class lists dumped, then writes the archive.
make_cds() {
  local tmp port cport pid lists tool_jvm
  tmp=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$tmp/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$tmp/data
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
EOF
  tool_jvm=("${jvm_log[@]}" -Xmx256m -Dclusterlink.kafka.log.level=WARN "${cp_args[@]}")
  "$java" "-XX:DumpLoadedClassList=$tmp/format.lst" "${tool_jvm[@]}" kafka.tools.StorageTool \
    format -t "$("$java" "${tool_jvm[@]}" kafka.tools.StorageTool random-uuid)" \
    -c "$tmp/server.properties" --add-scram 'SCRAM-SHA-512=[name=u,password=p]' >/dev/null
  "$java" "-XX:DumpLoadedClassList=$tmp/broker.lst" "${jvm_log[@]}" "${cp_args[@]}" \
    kafka.Kafka "$tmp/server.properties" >"$tmp/broker.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    grep -q 'Kafka Server started' "$tmp/broker.log" && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/broker.log" >&2; echo "install-kafka: the broker died" >&2; exit 1; }
    sleep 0.1
  done
  local b=(--bootstrap-server "127.0.0.1:$port")
  run_tool() { local name=$1; shift; "$java" "-XX:DumpLoadedClassList=$tmp/$name.lst" "${tool_jvm[@]}" "$@" >/dev/null; }
  run_tool topics org.apache.kafka.tools.TopicCommand "${b[@]}" --create --topic t --partitions 2
  run_tool describe org.apache.kafka.tools.TopicCommand "${b[@]}" --describe --topic t
  run_tool offsets org.apache.kafka.tools.GetOffsetShell "${b[@]}" --topic t
  run_tool groups org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "${b[@]}" --list
  run_tool acls org.apache.kafka.tools.AclCommand "${b[@]}" --add --allow-principal User:u \
    --operation Read --topic t
  run_tool configs kafka.admin.ConfigCommand "${b[@]}" --describe --entity-type topics \
    --entity-name t
  kill -TERM "$pid"
  wait "$pid" || true
  cat "$tmp"/*.lst | awk '!seen[$0]++' >"$tmp/classes.lst"
  rm -f "$cds"
  "$java" -Xshare:dump "-XX:SharedClassListFile=$tmp/classes.lst" "-XX:SharedArchiveFile=$cds.tmp" \
    "${jvm_log[@]}" -Xlog:all=error:stderr "${cp_args[@]}" >/dev/null 2>"$tmp/dump.log" \
    || { cat "$tmp/dump.log" >&2; exit 1; }
  mv "$cds.tmp" "$cds"
  rm -rf "$tmp"
}

if ! cds_ok; then
  echo "install-kafka: making the class-data-sharing archive (about a minute, once)" >&2
  make_cds
  cds_ok || { echo "install-kafka: the new CDS archive does not load" >&2; exit 1; }
fi

echo "CLUSTERLINK_JAVA=$java"
echo "CLUSTERLINK_KAFKA_LIBS=$libs"
echo "CLUSTERLINK_KAFKA_LOG4J=$log4j"
echo "CLUSTERLINK_KAFKA_CDS=$cds"
