-- Shared by the wrk scripts of bench/: numbers the threads, and prints the
-- one result line that bench/run parses (latencies in microseconds).
--
-- Each script loads it with
--   local common = dofile(<its own directory> .. "common.lua")
-- and sets `setup = common.setup` and `done = common.done`. A script whose
-- `response()` counts answers keeps them in the thread globals `non2xx`
-- (any status outside 200-299) and `broken` (a 2xx without what it needs).

local M = {}
local threads = {}

function M.setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function M.done(summary, latency, requests)
  local non2xx, broken = 0, 0
  for _, thread in ipairs(threads) do
    non2xx = non2xx + (tonumber(thread:get("non2xx")) or 0)
    broken = broken + (tonumber(thread:get("broken")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d, '
      .. '"status_errors": %d, "connect_errors": %d, "read_errors": %d, '
      .. '"write_errors": %d, "timeouts": %d, "non2xx_counted": %d, "broken": %d, '
      .. '"threads": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max,
    e.status, e.connect, e.read, e.write, e.timeout, non2xx, broken, #threads))
end

return M
