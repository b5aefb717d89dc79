-- wrk script: POSTs the JSON body in $BODY_FILE to the URL given to wrk and checks every
-- response body (GraphQL errors come back with HTTP 200): a body counts as bad unless it
-- has "data" and no "errors". done() prints one line: WRKJSON {...}.
local file = assert(io.open(os.getenv("BODY_FILE"), "r"))
wrk.method = "POST"
wrk.body = file:read("*a"):gsub("%s+$", "")
file:close()
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  checked = 0
  bad = 0
  hits = 0
  misses = 0
  sample = ""
end

function response(status, headers, body)
  checked = checked + 1
  -- The response cache says which answers it served (anonymous queries only).
  local cache = string.lower(headers["x-cache"] or headers["X-Cache"] or "")
  if cache == "hit" or cache == "hit-shared" then hits = hits + 1
  elseif cache == "miss" then misses = misses + 1 end
  if status ~= 200 or not body:find('"data":', 1, true) or body:find('"errors":', 1, true) then
    bad = bad + 1
    if sample == "" then sample = body:sub(1, 300) end
  end
end

function done(summary, latency, requests)
  local c, b, h, m, s = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    c = c + t:get("checked")
    b = b + t:get("bad")
    h = h + t:get("hits")
    m = m + t:get("misses")
    if s == "" then s = t:get("sample") end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"checked":%d,"bad_bodies":%d,"cache_hits":%d,"cache_misses":%d,"non2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, c, b, h, m, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
  if b > 0 then io.stderr:write("wrk: a bad body: " .. s .. "\n") end
end
