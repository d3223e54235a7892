-- wrk script for POST /oauth2/introspect (RFC 7662) by a resource server of the bench tenant.
-- Rotates through capability tokens of real exchanges in $ACCESS_TOKENS (one per line, see run.sh), authenticates
-- with the JWT-SVID in $INTROSPECTOR (Authorization: Bearer), counts every non-200 answer and every 200 that does not
-- say "active":true (each token is live for the whole run, so an inactive answer is a failure), and prints one
-- machine-readable RESULT line at the end, in exchange.lua's format plus inactive=N.
--   ACCESS_TOKENS=... INTROSPECTOR=... wrk -t1 -c32 -d20s --latency -s introspect.lua http://127.0.0.1:5199

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function read_lines(variable)
  local path = assert(os.getenv(variable), "set " .. variable)
  local file = assert(io.open(path, "r"), "cannot open " .. path)
  local lines = {}
  for line in file:lines() do
    if #line > 0 then
      table.insert(lines, line)
    end
  end
  file:close()
  assert(#lines > 0, "nothing in " .. path)
  return lines
end

local threads = {}
local requests = {}
local next_index = 1
local non200 = 0
local inactive = 0
local first_error = nil

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Bearer " .. read_lines("INTROSPECTOR")[1],
  }
  -- Pre-formatted requests: building strings per request would make wrk, not the broker, the bottleneck.
  for _, token in ipairs(read_lines("ACCESS_TOKENS")) do
    table.insert(requests, wrk.format("POST", "/oauth2/introspect", headers, "token=" .. urlencode(token)))
  end
end

function request()
  local r = requests[next_index]
  next_index = next_index % #requests + 1
  return r
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if first_error == nil then
      first_error = status .. " " .. (body or "")
    end
  elseif not string.find(body or "", '"active":true', 1, true) then
    inactive = inactive + 1
    if first_error == nil then
      first_error = "200 " .. (body or "")
    end
  end
end

function done(summary, latency, requests)
  local bad, dead = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non200") or 0)
    dead = dead + (t:get("inactive") or 0)
    local e = t:get("first_error")
    if e then
      io.write("first failed introspection: " .. e .. "\n")
    end
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non200=%d inactive=%d socket_errors=%d\n",
    summary.requests, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, bad, dead,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
