-- The one wrk script of `quartet bench`. The harness prepends `DATA = {...}` (see bench/wrk.py):
--   DATA.pattern   kinds of request in the order each thread cycles through them
--   DATA.static    kind -> list of {method, path, body, content_type}, pre-formatted in init()
--   DATA.pool      task ids the `patch` kind edits (each thread owns a disjoint slice)
--   DATA.etags     task id -> current ETag, learnt from earlier runs (never computed here)
--   DATA.token, DATA.threads, DATA.state_file
-- Every response is checked: anything but 2xx is counted and the first one is kept for the
-- report. `done()` prints one line, `QUARTET_WRK {json}`, and writes the ETags it learnt (and
-- the tasks whose PATCH was still in flight, so the harness refreshes them) to DATA.state_file.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

ok, bad, primed, first_bad = 0, 0, 0, ""
bad_statuses = {}
-- etags: what this thread knows; learnt: what it saw in this run (the only ETags done()
-- writes back: another thread's copy of a task it does not own is stale)
etags, learnt, pending = {}, {}, {}

local reqs, positions, slice, slice_at, sent = {}, {}, {}, 0, 0
local auth = "Bearer " .. DATA.token

local function header(headers, wanted)
  for name, value in pairs(headers) do
    if string.lower(name) == wanted then return value end
  end
  return nil
end

function init(args)
  for kind, list in pairs(DATA.static) do
    reqs[kind] = {}
    for i, r in ipairs(list) do
      local headers = {["Authorization"] = auth}
      if r.content_type then headers["Content-Type"] = r.content_type end
      if r.no_auth then headers["Authorization"] = nil end
      reqs[kind][i] = wrk.format(r.method, r.path, headers, r.body)
    end
    -- threads start at different places of each list
    positions[kind] = (tid * 7919) % #list
  end
  for id, tag in pairs(DATA.etags) do etags[id] = tag end
  for i, id in ipairs(DATA.pool) do
    if (i - 1) % DATA.threads == tid then table.insert(slice, id) end
  end
  positions.pattern = (tid * 7) % #DATA.pattern
end

local priorities = {"low", "medium", "high", "urgent"}

local function patch_request()
  -- the next task of this thread's slice with no PATCH in flight: two PATCHes of one task at
  -- once would race for its ETag (responses can overtake each other)
  local id
  for _ = 1, #slice do
    slice_at = slice_at % #slice + 1
    id = slice[slice_at]
    if not pending[id] then break end
  end
  local tag = etags[id]
  if tag == nil then  -- not known yet: learn it first (counted as `primed`)
    primed = primed + 1
    return wrk.format("GET", "/api/v1/tasks/" .. id,
                      {["Authorization"] = auth, ["X-Request-ID"] = id}, nil)
  end
  sent = sent + 1
  pending[id] = true
  local body = '{"title":"Bench patch ' .. tid .. "-" .. sent .. '","priority":"'
               .. priorities[sent % 4 + 1] .. '"}'
  return wrk.format("PATCH", "/api/v1/tasks/" .. id,
                    {["Authorization"] = auth, ["Content-Type"] = "application/json",
                     ["If-Match"] = tag, ["X-Request-ID"] = id}, body)
end

function request()
  positions.pattern = positions.pattern % #DATA.pattern + 1
  local kind = DATA.pattern[positions.pattern]
  if kind == "patch" then return patch_request() end
  local list = reqs[kind]
  positions[kind] = positions[kind] % #list + 1
  return list[positions[kind]]
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    bad = bad + 1
    local key = tostring(status)
    bad_statuses[key] = (bad_statuses[key] or 0) + 1
    if first_bad == "" then first_bad = key .. " " .. string.sub(body or "", 1, 400) end
  end
  -- the request id the harness sent is the task id: it ties the ETag to its task
  local id = header(headers, "x-request-id")
  if id ~= nil and DATA.pool_set[id] then
    pending[id] = nil
    local tag = header(headers, "etag")
    if tag ~= nil and status >= 200 and status < 300 then
      etags[id] = tag
      learnt[id] = tag
    end
  end
end

local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local total_ok, total_bad, total_primed, first = 0, 0, 0, ""
  local statuses, seen, uncertain = {}, {}, {}
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_bad = total_bad + thread:get("bad")
    total_primed = total_primed + thread:get("primed")
    if first == "" then first = thread:get("first_bad") end
    for status, n in pairs(thread:get("bad_statuses")) do
      statuses[status] = (statuses[status] or 0) + n
    end
    for id, tag in pairs(thread:get("learnt")) do seen[id] = tag end
    for id, _ in pairs(thread:get("pending")) do uncertain[id] = true end
  end
  local parts = {}
  for status, n in pairs(statuses) do table.insert(parts, json_string(status) .. ":" .. n) end
  local e = summary.errors
  io.write(string.format(
    'QUARTET_WRK {"duration_us":%d,"requests":%d,"bytes":%d,"ok":%d,"bad":%d,"primed":%d,'
    .. '"bad_statuses":{%s},"first_bad":%s,"errors":{"connect":%d,"read":%d,"write":%d,'
    .. '"status":%d,"timeout":%d},"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,'
    .. '"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.duration, summary.requests, summary.bytes, total_ok, total_bad, total_primed,
    table.concat(parts, ","), json_string(first), e.connect, e.read, e.write, e.status,
    e.timeout, latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
  if DATA.state_file ~= "" then
    local out = assert(io.open(DATA.state_file, "w"))
    for id, tag in pairs(seen) do
      if not uncertain[id] then out:write("etag ", id, " ", tag, "\n") end
    end
    for id, _ in pairs(uncertain) do out:write("pending ", id, "\n") end
    out:close()
  end
end
