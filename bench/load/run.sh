#!/usr/bin/env bash
# Load test of POST /oauth2/token (and/or POST /oauth2/introspect) with wrk, validation cache off then on (bench/README.md).
# Each run starts a fresh Release broker on loopback (in-memory grant store, ephemeral key, generated
# policy trusting bench.example), checks one exchange answers 200 with an access_token, warms up,
# measures, and stops the broker. Load only ever goes to 127.0.0.1.
#
# Knobs (environment): RUNS=3 DURATION=20s WARMUP=5s CONNECTIONS=32 THREADS=1 PORT=5199 MODES="off on"
# TOKENS_COUNT=1000 LOG_LEVEL=Warning STORE=memory|redis. Any DOTNET_* variable set by the caller reaches the broker (e.g. DOTNET_gcServer=0).
# STORE=redis starts a throw-away redis-server on loopback (PORT+1, no persistence) and records grants there; its CPU
# per request is reported too. COUNTERS=1 also reads the runtime's own counters over the measured run with
# dotnet-counters (`dotnet tool install -g dotnet-counters`): bytes allocated, GC pause, JIT time and thread-pool work
# items per request.
# ENDPOINT=token (default) | introspect | both: introspect loads POST /oauth2/introspect alone (CONNECTIONS connections,
# a resource server of the bench tenant asking about up to TOKENS_COUNT tokens of real exchanges, each live throughout);
# both runs that at INTROSPECT_CONNECTIONS=8 connections while the exchange load runs at CONNECTIONS, and reports each.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PORT=${PORT:-5199}
RUNS=${RUNS:-3}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-5s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
MODES=${MODES:-"off on"}
TOKENS_COUNT=${TOKENS_COUNT:-1000}
ENDPOINT=${ENDPOINT:-token}
INTROSPECT_CONNECTIONS=${INTROSPECT_CONNECTIONS:-8}
case $ENDPOINT in
  token | introspect | both) ;;
  *) echo "ENDPOINT: 'token', 'introspect' or 'both', not '$ENDPOINT'" >&2; exit 2 ;;
esac
ISSUER=https://broker.bench.example

if ! command -v wrk >/dev/null 2>&1; then
  echo "wrk is not installed: apt-get install wrk" >&2
  exit 1
fi

echo "== $(date -u '+%Y-%m-%dT%H:%M:%SZ') on $(nproc) CPU(s): $(lscpu | sed -n 's/^Model name: *//p')"

# Building the benchmark project builds the broker too.
dotnet build -c Release -nologo -v q "$root/bench/Broker.Benchmarks/Broker.Benchmarks.csproj" >/dev/null
broker_dll=$root/src/Broker/bin/Release/net10.0/Broker.dll
tool_dll=$root/bench/Broker.Benchmarks/bin/Release/net10.0/Broker.Benchmarks.dll

work=$(mktemp -d -t broker-load-XXXXXX)
broker_pid=
cleanup() {
  if [[ -n $broker_pid ]] && kill -0 "$broker_pid" 2>/dev/null; then
    kill "$broker_pid" && wait "$broker_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

dotnet "$tool_dll" load-tokens "$work" "$TOKENS_COUNT"

STORE=${STORE:-memory}
redis_config=
if [[ $STORE == redis ]]; then
  redis_port=$((PORT + 1))
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --daemonize yes \
    --pidfile "$work/redis.pid" --logfile "$work/redis.log" >/dev/null
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis_config=127.0.0.1:$redis_port
  redis_pid=$(cat "$work/redis.pid")
  stop_redis() { redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; }
  trap 'stop_redis; cleanup' EXIT
fi
echo "== grant store: $STORE"

COUNTERS=${COUNTERS:-0}
counters_tool=
if [[ $COUNTERS == 1 ]]; then
  counters_tool=$(command -v dotnet-counters || echo "$HOME/.dotnet/tools/dotnet-counters")
  [[ -x $counters_tool ]] || { echo "COUNTERS=1 needs dotnet-counters: dotnet tool install -g dotnet-counters" >&2; exit 1; }
fi
export TOKENS=$work/tokens.txt ACCESS_TOKENS=$work/access-tokens.txt INTROSPECTOR=$work/introspector.txt
base=http://127.0.0.1:$PORT

start_broker() { # $1 = true|false (validation cache)
  Broker__Issuer=$ISSUER \
  Broker__Policy__Path=$work/policy \
  Broker__Keys__AllowEphemeralKey=true \
  Broker__Subjects__ValidationCache__Enabled=$1 \
  Broker__Redis__Configuration=$redis_config \
  Logging__LogLevel__Default=${LOG_LEVEL:-Warning} \
    dotnet "$broker_dll" --urls "$base" >"$work/broker.log" 2>&1 &
  broker_pid=$!
  for _ in $(seq 1 100); do
    if curl -fsS "$base/readyz" >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$broker_pid" 2>/dev/null; then
      break
    fi
    sleep 0.2
  done
  echo "the broker did not become ready:" >&2
  cat "$work/broker.log" >&2
  exit 1
}

stop_broker() {
  kill "$broker_pid"
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=
}

# A fast stream of 400s is not a benchmark: one exchange must succeed before anything is measured.
check_exchange() {
  local status
  status=$(curl -sS -o "$work/sample.json" -w '%{http_code}' "$base/oauth2/token" \
    --data-urlencode "grant_type=urn:ietf:params:oauth:grant-type:token-exchange" \
    --data-urlencode "subject_token_type=urn:ietf:params:oauth:token-type:jwt" \
    --data-urlencode "subject_token=$(head -n 1 "$TOKENS")" \
    --data-urlencode "resource=https://mcp.bench.example/mcp" \
    --data-urlencode "scope=files.read" \
    --data-urlencode "task_id=bench-task-1" \
    --data-urlencode "purpose=benchmark")
  if [[ $status != 200 ]] || ! grep -q '"access_token"' "$work/sample.json"; then
    echo "sample exchange failed: HTTP $status $(cat "$work/sample.json")" >&2
    exit 1
  fi
}

# The tokens introspect.lua asks about: issued by this broker (its grants live in its store), at most TOKENS_COUNT, each
# live for the whole run (the bench policy grants minutes); one of them must introspect as active before anything is
# measured.
collect_access_tokens() {
  : >"$work/issued.txt"
  ACCESS_TOKENS_OUT=$work/issued.txt wrk -t1 -c4 -d2s -s "$here/exchange.lua" "$base" >/dev/null
  head -n "$TOKENS_COUNT" "$work/issued.txt" >"$ACCESS_TOKENS"
  local status
  status=$(curl -sS -o "$work/introspected.json" -w '%{http_code}' "$base/oauth2/introspect" \
    -H "Authorization: Bearer $(head -n 1 "$INTROSPECTOR")" --data-urlencode "token=$(head -n 1 "$ACCESS_TOKENS")")
  if [[ $status != 200 ]] || ! grep -q '"active":true' "$work/introspected.json"; then
    echo "sample introspection failed ($(wc -l <"$ACCESS_TOKENS") tokens collected): HTTP $status $(cat "$work/introspected.json")" >&2
    exit 1
  fi
}

# wrk over the endpoint(s) of ENDPOINT for $1 (a duration), $2 = extra wrk options; results in wrk.txt and, with
# ENDPOINT=both, the introspection's in wrk-introspect.txt.
load() {
  case $ENDPOINT in
    token) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1" $2 -s "$here/exchange.lua" "$base" >"$work/wrk.txt" ;;
    introspect) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1" $2 -s "$here/introspect.lua" "$base" >"$work/wrk.txt" ;;
    both)
      wrk -t1 -c"$INTROSPECT_CONNECTIONS" -d"$1" $2 -s "$here/introspect.lua" "$base" >"$work/wrk-introspect.txt" &
      local introspecting=$!
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1" $2 -s "$here/exchange.lua" "$base" >"$work/wrk.txt"
      wait "$introspecting"
      ;;
  esac
}

# utime + stime of a process, in clock ticks (proc(5), fields 14 and 15).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Per request from a dotnet-counters CSV of the System.Runtime meter ($1), $2 requests: its rate counters are one
# increment per row, summed over the run.
counters_per_request() {
  awk -F, -v n="$2" '
    $5 ~ /^[0-9.eE+-]+$/ && $3 ~ /\/ 1 sec\)/ {
      if ($3 ~ /^dotnet\.gc\.heap\.total_allocated/) alloc += $5
      else if ($3 ~ /^dotnet\.gc\.pause\.time/) pause += $5
      else if ($3 ~ /^dotnet\.jit\.compilation\.time/) jit += $5
      else if ($3 ~ /^dotnet\.thread_pool\.work_item\.count/) items += $5
      else if ($3 ~ /^dotnet\.gc\.collections/) gcs += $5
    }
    END { printf "alloc_bytes_per_req=%.0f gc_pause_us_per_req=%.1f jit_us_per_req=%.1f work_items_per_req=%.2f gcs=%d", alloc / n, pause * 1e6 / n, jit * 1e6 / n, items / n, gcs }' "$1"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

summary=()
for mode in $MODES; do
  case $mode in
    off) cache=false ;;
    on) cache=true ;;
    *) echo "MODES: 'off' or 'on', not '$mode'" >&2; exit 2 ;;
  esac
  results=$work/results-$mode.txt
  : >"$results"
  for run in $(seq 1 "$RUNS"); do
    start_broker "$cache"
    check_exchange
    [[ $ENDPOINT != token ]] && collect_access_tokens
    load "$WARMUP" ""
    echo "-- cache $mode, run $run: $ENDPOINT, wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency$([[ $ENDPOINT == both ]] && echo ", introspection -c$INTROSPECT_CONNECTIONS")"
    counters_pid=
    if [[ $COUNTERS == 1 ]]; then
      rm -f "$work/counters.csv"
      "$counters_tool" collect -p "$broker_pid" --counters System.Runtime --format csv -o "$work/counters.csv" \
        --refresh-interval 1 >/dev/null 2>&1 &
      counters_pid=$!
      sleep 1.5 # attached and past its first (absolute) sample
    fi
    cpu_before=$(cpu_ticks "$broker_pid")
    redis_before=0
    [[ -n ${redis_pid:-} ]] && redis_before=$(cpu_ticks "$redis_pid")
    load "$DURATION" --latency
    if ! kill -0 "$broker_pid" 2>/dev/null; then
      wait "$broker_pid" && status=0 || status=$?
      echo "the broker exited during the run (status $status); its log:" >&2
      tail -n 50 "$work/broker.log" >&2
      exit 1
    fi
    cpu_after=$(cpu_ticks "$broker_pid")
    redis_after=0
    [[ -n ${redis_pid:-} ]] && redis_after=$(cpu_ticks "$redis_pid")
    if [[ -n $counters_pid ]]; then
      kill -TERM "$counters_pid" 2>/dev/null || true # not INT: a script's background job ignores SIGINT
      wait "$counters_pid" 2>/dev/null || true
    fi
    grep -v '^RESULT' "$work/wrk.txt"
    rss=$(ps -o rss= -p "$broker_pid" | tr -d ' ')
    line=$(grep '^RESULT' "$work/wrk.txt")
    requests=$(echo "$line" | field requests)
    if [[ $ENDPOINT == both ]]; then
      # The introspection's figures, prefixed; CPU per request below is over both kinds.
      grep -v '^RESULT' "$work/wrk-introspect.txt"
      introspected=$(grep '^RESULT' "$work/wrk-introspect.txt")
      line+=$(echo " ${introspected#RESULT }" | sed 's/ \([a-z0-9_]*\)=/ introspect_\1=/g')
      requests=$((requests + $(echo "$introspected" | field requests)))
    fi
    # Broker CPU (user + system, all threads) per request: what one exchange costs over HTTP.
    cpu_us=$(awk -v t=$((cpu_after - cpu_before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')
    # The machine's 1-minute load average: other work on a shared box shows up here, and in p99.
    load=$(cut -d' ' -f1 /proc/loadavg)
    extra=
    if [[ -n ${redis_pid:-} ]]; then
      extra+=" redis_cpu_us_per_req=$(awk -v t=$((redis_after - redis_before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')"
    fi
    if [[ -n $counters_pid ]]; then
      extra+=" $(counters_per_request "$work/counters.csv" "$requests")"
    fi
    echo "$line broker_cpu_us_per_req=$cpu_us rss_mib=$((rss / 1024)) loadavg=$load$extra" | tee -a "$results"
    stop_broker
  done
  rps=$(field rps <"$results" | median)
  p50=$(field p50_ms <"$results" | median)
  p99=$(field p99_ms <"$results" | median)
  cpu=$(field broker_cpu_us_per_req <"$results" | median)
  bad=$(field non200 <"$results" | awk '{ s += $1 } END { print s }')
  line="cache $mode, $ENDPOINT: median of $RUNS run(s): $rps req/s, p50 $p50 ms, p99 $p99 ms, broker CPU $cpu us/request"
  if [[ $ENDPOINT == both ]]; then
    line+=" (both kinds); introspection alongside: $(field introspect_rps <"$results" | median) req/s, p50 $(field introspect_p50_ms <"$results" | median) ms,"
    line+=" p99 $(field introspect_p99_ms <"$results" | median) ms, non-200 $(field introspect_non200 <"$results" | awk '{ s += $1 } END { print s }'),"
    line+=" inactive $(field introspect_inactive <"$results" | awk '{ s += $1 } END { print s }')"
  elif [[ $ENDPOINT == introspect ]]; then
    line+=", inactive total $(field inactive <"$results" | awk '{ s += $1 } END { print s }')"
  fi
  [[ -n ${redis_pid:-} ]] && line+=", redis-server CPU $(field redis_cpu_us_per_req <"$results" | median) us/request"
  if [[ $COUNTERS == 1 ]]; then
    line+=", allocated $(field alloc_bytes_per_req <"$results" | median) B, GC pause $(field gc_pause_us_per_req <"$results" | median) us"
    line+=", JIT $(field jit_us_per_req <"$results" | median) us, work items $(field work_items_per_req <"$results" | median) per request"
  fi
  summary+=("$line, non-200 total $bad")
done

echo
echo "== summary ($ENDPOINT: wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $TOKENS_COUNT distinct subject tokens)"
printf '%s\n' "${summary[@]}"
