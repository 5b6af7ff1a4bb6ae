#!/usr/bin/env bash
# Stops a broker started by scripts/kafka/start.sh: SIGTERM (a clean controlled shutdown),
# SIGKILL after 30 s. The data dir stays (start.sh --dir DIR restarts it); --remove deletes it.
#
#   scripts/kafka/stop.sh --dir DIR [--remove]
set -euo pipefail
dir=""
remove=false
while (($# > 0)); do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --remove) remove=true; shift ;;
    *) echo "stop.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$dir" && -f "$dir/kafka.pid" ]] || { echo "stop.sh: no kafka.pid in --dir '$dir'" >&2; exit 2; }
pid="$(cat "$dir/kafka.pid")"
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
fi
rm -f "$dir/kafka.pid"
if $remove; then rm -rf "$dir"; fi
