-- wrk script for `node bench/triggers.mjs max`: bench/intake.lua's load (GitHub-signed ~2 KB
-- deliveries, each with its own X-GitHub-Delivery, from BODY and SIGNATURE in the environment),
-- counting the 202 answers of every thread, which the RESULT line reports with wrk's duration
-- and latency percentiles.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "bench/"
dofile(here .. "intake.lua")

accepted = 0  -- a global, so that done() can read each thread's with thread:get
function response(status, headers, body)
  if status == 202 then accepted = accepted + 1 end
end

local all_threads = {}
local intake_setup = setup
function setup(thread)
  intake_setup(thread)
  table.insert(all_threads, thread)
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(all_threads) do total = total + thread:get("accepted") end
  io.write(string.format("RESULT requests=%d accepted=%d duration_s=%.3f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d\n",
    summary.requests, total, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
