-- wrk script: GitHub-signed ~2 KB JSON deliveries, each with its own X-GitHub-Delivery so that
-- every request is a new event (the signature covers the body only, so one body serves all).
-- BODY and SIGNATURE come from the environment (bench/intake.sh computes them).
--
-- The request is built once around its delivery id: per request only the id is joined in, so
-- that the load generator, which shares the machine's cores with the server, spends as little
-- as it can.
local body = os.getenv("HOOKMCP_BENCH_BODY")
local signature = os.getenv("HOOKMCP_BENCH_SIGNATURE")
local counter = 0
local head, tail

-- Runs in wrk's main state: gives each thread its own tag so delivery ids never collide
-- (HOOKMCP_BENCH_TAG tells apart several wrk processes at once).
local threads = 0
local process_tag = os.getenv("HOOKMCP_BENCH_TAG") or ""
function setup(thread)
  threads = threads + 1
  thread:set("thread_tag", process_tag .. "t" .. threads)
end

function init(args)
  local marker = "\0"
  local request = wrk.format("POST", "/hooks/github", {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = "push",
    ["X-GitHub-Delivery"] = marker,
    ["X-Hub-Signature-256"] = signature,
  }, body)
  local at = request:find(marker, 1, true)
  head = request:sub(1, at - 1) .. thread_tag .. "-"
  tail = request:sub(at + 1)
end

function request()
  counter = counter + 1
  return head .. counter .. tail
end

local non2xx = 0
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
