-- wrk script for POST /oauth2/token (RFC 8693 token exchange).
-- Rotates through the pre-minted JWT-SVIDs in $TOKENS (one per line, see run.sh), counts every
-- non-200 response and prints one machine-readable RESULT line at the end.
--   TOKENS=/path/tokens.txt wrk -t1 -c32 -d20s --latency -s exchange.lua http://127.0.0.1:5199
-- With $ACCESS_TOKENS_OUT set it also appends each issued access token to that file (run.sh collects the tokens
-- introspect.lua asks about that way; one wrk thread, so one writer).

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local fields = {
  { "grant_type", "urn:ietf:params:oauth:grant-type:token-exchange" },
  { "subject_token_type", "urn:ietf:params:oauth:token-type:jwt" },
  { "resource", "https://mcp.bench.example/mcp" },
  { "scope", "files.read" },
  { "task_id", "bench-task-1" },
  { "purpose", "benchmark" },
}

local threads = {}
local bodies = {}
local next_index = 1
local non200 = 0
local first_error = nil
local issued = nil

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("TOKENS") or "tokens.txt"
  local file = assert(io.open(path, "r"), "cannot open " .. path .. " (set TOKENS)")
  local fixed = {}
  for _, f in ipairs(fields) do
    table.insert(fixed, f[1] .. "=" .. urlencode(f[2]))
  end
  local suffix = "&" .. table.concat(fixed, "&")
  for token in file:lines() do
    if #token > 0 then
      table.insert(bodies, "subject_token=" .. urlencode(token) .. suffix)
    end
  end
  file:close()
  assert(#bodies > 0, "no tokens in " .. path)
  local out = os.getenv("ACCESS_TOKENS_OUT")
  if out and #out > 0 then
    issued = assert(io.open(out, "a"), "cannot open " .. out)
  end
  -- Pre-formatted requests: building strings per request would make wrk, not the broker, the bottleneck.
  for i, body in ipairs(bodies) do
    bodies[i] = wrk.format("POST", "/oauth2/token",
      { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
  end
end

function request()
  local r = bodies[next_index]
  next_index = next_index % #bodies + 1
  return r
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if first_error == nil then
      first_error = status .. " " .. (body or "")
    end
  elseif issued then
    local token = string.match(body or "", '"access_token":"([^"]+)"')
    if token then
      issued:write(token, "\n")
      issued:flush()
    end
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non200") or 0)
    local e = t:get("first_error")
    if e then
      io.write("first non-200 response: " .. e .. "\n")
    end
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non200=%d socket_errors=%d\n",
    summary.requests, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, bad,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
