#!/usr/bin/env bash
# The floor of Redis work per recorded grant on this machine: redis-server (AOF everysec, as the peers harness runs
# it) executing least-grant.lua, GRANTS grants per call from CLIENTS connections (redis-benchmark). Prints
# redis-server's CPU time per grant (user + system, from /proc) and the script's own time per grant (INFO
# commandstats). Needs redis-server and redis-benchmark (Debian: redis-server, redis-tools).
# Knobs: GRANTS (12, the batch the broker's group commit forms at the harness load), CALLS (20000), CLIENTS (4),
# RECORD (40 bytes: a record whose strings are in the dictionary is ~30), EVENT (340 bytes: the issuance event of the
# peers workload), SUBJECTS (1000), TASKS (1: the harness puts every grant in one task; 10000 for small tasks),
# PORT (10999).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
grants=${GRANTS:-12} calls=${CALLS:-20000} clients=${CLIENTS:-4} port=${PORT:-10999}
dir=$(mktemp -d -t redis-floor-XXXXXX)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec --dir "$dir" \
  --logfile "$dir/redis.log" --daemonize yes --pidfile "$dir/redis.pid"
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
sha=$(redis-cli -p "$port" script load "$(cat "$here/least-grant.lua")")
pid=$(cat "$dir/redis.pid")
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
redis-cli -p "$port" config resetstat >/dev/null
before=$(ticks)
redis-benchmark -p "$port" -c "$clients" -n "$calls" -q evalsha "$sha" 0 "$grants" "${RECORD:-40}" "${EVENT:-340}" \
  "${SUBJECTS:-1000}" "${TASKS:-1}" | tr '\r' '\n' | tail -1
after=$(ticks)
script_us=$(redis-cli -p "$port" info commandstats | awk -F'[:,=]' '/^cmdstat_evalsha/ {print $5}')
awk -v t=$((after - before)) -v hz="$hz" -v s="$script_us" -v n=$((calls * grants)) 'BEGIN {
  printf "redis-server CPU per grant: %.1f us; inside the script: %.1f us per grant (%d grants)\n", t * 1e6 / hz / n, s / n, n }'
