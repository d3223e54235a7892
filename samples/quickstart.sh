#!/usr/bin/env bash
# The MCP side end to end on one machine: the --dev broker, the C# and the TypeScript sample MCP servers, and the
# sample agent against each. Prints what happens: an allowed call, a refused call and its step-up, and a grant
# revoked by ID at the broker cutting the agent off at each server. Exits non-zero when any of that does not happen.
# The agent asks for DPoP-bound tokens (RFC 9449: a proof of its own in-memory key with every exchange and call) and
# says on its [exchange] line whether the broker bound the token to that key or issued a bearer token; both servers
# verify either kind.
#
#   samples/quickstart.sh            # builds what it runs (dotnet build, npm ci + tsc), then runs it
#   QUICKSTART_NO_BUILD=1 samples/quickstart.sh   # reuse the last build
#
# Listens on 127.0.0.1:5080 (broker), :5090 (C# server), :5091 (TypeScript server); logs go to a temp directory.
set -euo pipefail
cd "$(dirname "$0")/.."

BROKER=http://127.0.0.1:5080
CS_MCP=http://127.0.0.1:5090
TS_MCP=http://127.0.0.1:5091
CONFIGURATION=${CONFIGURATION:-Debug}
out() { echo "$(printf '%s' "$1" | sed 's/./=/g')"; echo "$1"; }
fail() { echo "quickstart: $*" >&2; exit 1; }

logs=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

for port in 5080 5090 5091; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "127.0.0.1:$port is in use; stop what listens there first"
  fi
done

if [[ -z "${QUICKSTART_NO_BUILD:-}" ]]; then
  echo "building (logs in $logs)"
  dotnet build Broker.sln -c "$CONFIGURATION" >"$logs/build.log" 2>&1 || { tail -20 "$logs/build.log"; fail "dotnet build failed"; }
  (cd samples/typescript-server && npm ci --ignore-scripts --no-audit --no-fund >"$logs/npm.log" 2>&1 && npx tsc -p .) \
    || { tail -20 "$logs/npm.log"; fail "the TypeScript server did not build"; }
fi

bin() { echo "$1/bin/$CONFIGURATION/net10.0/$2"; }

# Waits until $1 answers 200, or fails with the log $2.
wait_for() {
  for _ in $(seq 1 300); do
    if curl -fs -o /dev/null "$1"; then return 0; fi
    sleep 0.2
  done
  tail -20 "$2" >&2
  fail "$1 did not come up"
}

out "1. the broker (--dev: in-memory grants, dev identities, policy samples/dev/policy/dev.yaml)"
dotnet "$(bin src/Broker Broker.dll)" --dev >"$logs/broker.log" 2>&1 &
pids+=($!)
wait_for "$BROKER/readyz" "$logs/broker.log"
echo "ready at $BROKER"

out "2. the MCP servers, each following the broker's revocation feed"
(cd "$(bin samples/McpServer '')" && ASPNETCORE_ENVIRONMENT=Development exec dotnet McpServer.dll) >"$logs/mcp-csharp.log" 2>&1 &
pids+=($!)
(cd samples/typescript-server && exec node --env-file=dev.env dist/server.js) >"$logs/mcp-typescript.log" 2>&1 &
pids+=($!)
wait_for "$CS_MCP/healthz" "$logs/mcp-csharp.log"
wait_for "$TS_MCP/healthz" "$logs/mcp-typescript.log"
echo "C# server at $CS_MCP/mcp, TypeScript server at $TS_MCP/mcp (both for https://mcp.dev.localhost/mcp, tenant dev; DPoP-bound and bearer tokens)"

agent() { dotnet "$(bin samples/Agent Agent.dll)" --broker "$BROKER" "$@"; }

# One agent run that must end 0 and print each of the given lines.
run_agent() {
  local server=$1; shift
  local expect=("${@:2}")
  local output
  output=$(agent --mcp "$server/mcp" $1 2>&1) || { echo "$output"; fail "the agent failed against $server"; }
  echo "$output" | grep -v '^grant: '
  for line in "${expect[@]}"; do
    grep -qF -- "$line" <<<"$output" || fail "expected '$line' from the agent against $server"
  done
}

# An agent that holds its grant until the MCP server refuses it, while the admin revokes that grant by ID.
watch_revocation() {
  local server=$1 name=$2
  local log="$logs/agent-watch-$name.log"
  agent --mcp "$server/mcp" --task "watch-$name" --watch-revocation >"$log" 2>&1 &
  local pid=$!
  local grant=""
  for _ in $(seq 1 300); do
    grant=$(sed -n 's/^grant: //p' "$log" | head -1)
    if [[ -n "$grant" ]] && grep -q '^\[call\]' "$log"; then break; fi
    kill -0 "$pid" 2>/dev/null || { cat "$log"; fail "the watching agent ended early"; }
    sleep 0.1
  done
  [[ -n "$grant" ]] || { cat "$log"; fail "the watching agent printed no grant"; }
  local admin
  admin=$(curl -fs -X POST "$BROKER/dev/svid?spiffe_id=spiffe://dev.localhost/admin")
  echo "admin: POST $BROKER/admin/v1/grants/$grant/revoke"
  curl -fs -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    "$BROKER/admin/v1/grants/$grant/revoke" -d '{"reason":"quickstart"}' >/dev/null || fail "the admin could not revoke $grant"
  wait "$pid" || { cat "$log"; fail "the agent at $server was not cut off"; }
  grep -E '^\[watch\]' "$log"
}

out "3. an agent that may read: allowed call, refused call (403 insufficient_scope), step-up refused by policy"
run_agent "$CS_MCP" "" "[call] read_file: succeeded" "insufficient_scope" "[step-up] refused by the broker" "[end-task]"

out "4. an agent that may write: the step-up is granted in the same task"
run_agent "$CS_MCP" "--spiffe-id spiffe://dev.localhost/agents/writer --purpose code-change --task fix-42" \
  "[call] read_file: succeeded" "insufficient_scope" "[call] write_file (retry): succeeded" "[end-task]"

out "5. the same agents against the TypeScript server"
run_agent "$TS_MCP" "" "[call] read_file: succeeded" "insufficient_scope" "[step-up] refused by the broker"
run_agent "$TS_MCP" "--spiffe-id spiffe://dev.localhost/agents/writer --purpose code-change --task fix-43" "[call] write_file (retry): succeeded"

out "6. revocation: the admin revokes the agent's grant by ID; each server refuses it at the next call"
watch_revocation "$CS_MCP" csharp
watch_revocation "$TS_MCP" typescript

out "done: logs in $logs"
