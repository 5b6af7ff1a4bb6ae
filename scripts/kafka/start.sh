#!/usr/bin/env bash
# Starts a single-node KRaft Kafka broker (broker + controller in one JVM) on 127.0.0.1 for
# development, tests and benchmarks. Data lives in --dir (a new temp dir by default); a dir
# that already holds a formatted log is reused, so stop.sh + start.sh is a broker restart.
#
#   scripts/kafka/start.sh [--port 9092] [--controller-port PORT+1] [--dir DIR] [--heap 512m] [--foreground]
#
# Without --foreground it returns once the broker logged "Kafka Server started" (60 s at
# most), printing the dir; stop it with scripts/kafka/stop.sh --dir DIR. With --foreground it
# execs the JVM (the test helper test/peers/kafka.ts runs it so, under its own time bound).
# The jars come from kafka/pom.xml via scripts/kafka/fetch.sh, run here when missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

port=9092
controller_port=""
dir=""
heap="${KAFKA_HEAP:-512m}"
foreground=false
while (($# > 0)); do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --controller-port) controller_port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --heap) heap="$2"; shift 2 ;;
    --foreground) foreground=true; shift ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "start.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$port" =~ ^[0-9]+$ ]] || { echo "start.sh: --port must be a number" >&2; exit 2; }
controller_port="${controller_port:-$((port + 1))}"
[[ "$controller_port" =~ ^[0-9]+$ ]] || { echo "start.sh: --controller-port must be a number" >&2; exit 2; }
[[ -n "$dir" ]] || dir="$(mktemp -d "${TMPDIR:-/tmp}/metrichouse-kafka-XXXXXX")"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

"$root/scripts/kafka/fetch.sh" >&2
classpath="$root/kafka/libs/*"
java_opts=(-Xmx"$heap" -Xms64m -XX:+UseSerialGC -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$root/kafka/log4j2.properties")

cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
controller.quorum.bootstrap.servers=127.0.0.1:${controller_port}
log.dirs=${dir}/data
num.partitions=1
auto.create.topics.enable=false
# One node: every internal topic has one replica. One offsets partition keeps the first
# group join quick on a fresh broker (the coordinator loads a single partition).
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS

if [[ ! -f "$dir/data/meta.properties" ]]; then
  # A cluster id is 16 random bytes in URL-safe base64 (what StorageTool random-uuid prints),
  # made here to save a JVM start. Not starting with "-", which would read as an option.
  cluster_id="-"
  while [[ "$cluster_id" == -* ]]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  done
  java -cp "$classpath" "${java_opts[@]}" kafka.tools.StorageTool format --standalone \
    --cluster-id="$cluster_id" --config="$dir/server.properties" >"$dir/format.log" 2>&1 \
    || { cat "$dir/format.log" >&2; exit 1; }
fi

if $foreground; then
  exec java -cp "$classpath" "${java_opts[@]}" kafka.Kafka "$dir/server.properties"
fi

log="$dir/kafka.log"
: >"$log"
nohup java -cp "$classpath" "${java_opts[@]}" kafka.Kafka "$dir/server.properties" >>"$log" 2>&1 &
echo $! >"$dir/kafka.pid"
for _ in $(seq 1 600); do
  if grep -q "Kafka Server started" "$log"; then
    echo "$dir"
    exit 0
  fi
  if ! kill -0 "$(cat "$dir/kafka.pid")" 2>/dev/null; then
    echo "start.sh: the broker exited; log $log:" >&2
    tail -30 "$log" >&2
    exit 1
  fi
  sleep 0.1
done
echo "start.sh: the broker was not ready within 60 s; log $log" >&2
exit 1
