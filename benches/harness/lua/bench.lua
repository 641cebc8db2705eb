-- wrk script of `make bench` (benches/harness/load.py). Parameters come from the environment,
-- because wrk decides whether a script paces requests (defines `delay`) when it loads it:
--   BENCH_WRK_INTERVAL_MS  per-thread interval between request starts (0 or unset: closed loop)
--   BENCH_WRK_THREADS      wrk's -t, to split the submit ids between threads
--   BENCH_WRK_IDS          file of "<application id> <access token> [etag]" lines: one POST each
--   BENCH_WRK_PATH         the POST path, "{id}" replaced by the line's id (default: submit);
--                          a line's etag, when there is one, is sent as If-Match
--   BENCH_WRK_NONCE        makes every Idempotency-Key of the run unique
-- The summary is printed as one line "WRKJSON {...}" (latencies in microseconds).

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local interval = tonumber(os.getenv("BENCH_WRK_INTERVAL_MS") or "0") or 0
local ids_file = os.getenv("BENCH_WRK_IDS")
local path_template = os.getenv("BENCH_WRK_PATH") or ""
if path_template == "" then path_template = "/api/v1/applications/{id}/submit/" end
local nonce = os.getenv("BENCH_WRK_NONCE") or "0"
local nthreads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1") or 1

local thread_count = 0
function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

local items = nil
local position = 0
local counter = 0

function init(args)
  if ids_file and ids_file ~= "" then
    items = {}
    local line_number = 0
    for line in io.lines(ids_file) do
      if line_number % nthreads == thread_index then
        local id, token, etag = line:match("^(%S+)%s+(%S+)%s*(%S*)$")
        if id then items[#items + 1] = { id = id, token = token, etag = etag } end
      end
      line_number = line_number + 1
    end
  end
end

if interval > 0 then
  local next_at = nil
  function delay()
    local t = now_ms()
    if next_at == nil then next_at = t end
    local wait = next_at - t
    next_at = next_at + interval
    if wait < 0 then return 0 end
    return math.floor(wait)
  end
end

if ids_file and ids_file ~= "" then
  function request()
    position = position + 1
    counter = counter + 1
    local item = items[((position - 1) % #items) + 1]
    local headers = {
      ["Authorization"] = "Bearer " .. item.token,
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = string.format("bench-%s-%d-%d", nonce, thread_index, counter),
    }
    if item.etag and item.etag ~= "" then headers["If-Match"] = item.etag end
    for name, value in pairs(wrk.headers) do
      if name ~= "Authorization" then headers[name] = value end
    end
    local path = string.gsub(path_template, "{id}", item.id)
    return wrk.format("POST", path, headers, "{}")
  end
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p75":%d,"p90":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
