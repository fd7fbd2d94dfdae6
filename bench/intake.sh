#!/usr/bin/env bash
# Intake benchmark: wrk with keep-alive connections POSTing GitHub-signed ~2 KB JSON deliveries
# to `hookmcp serve` (durability full: every 2xx follows an fsync). Each run measures the server
# (events/s, latency, its CPU time per event and its mean commit group), then right after it the
# reference, bench/sqlite_ceiling, straight into SQLite from one thread with no network, the same
# durability, the same page size and groups of the size the server just committed:
#   - the same rows: hookmcp's schema and every row the server writes for an event (the event,
#     its full-text index entries, the per-source counts), of the same body, all in the group's
#     transaction; and once more with the index entries written as the server's writer does
#     (after the commit, 64 events at a time, without an fsync);
#   - the events table alone, and once more with SQLite's default 4 KB pages.
# Run and references side by side, so that the machine's drift between minutes touches both.
# Prints each run, the medians and the median ratios.
#
# PAYLOAD=pad (the default): one JSON string of 2 KB, next to nothing for the full-text index.
# PAYLOAD=words: a push-like payload of a dozen commits with messages, names and ids, about
# 300 words for the index, as real deliveries carry.
#
# LOG_LEVEL=warn (the default) leaves out the one info line per delivery; LOG_LEVEL=info keeps
# it, as a server runs by default, to see what that line costs.
#
# Usage: bench/intake.sh            (RUNS=5 DURATION=10 CONNECTIONS=64 THREADS=2 PAYLOAD=pad)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
duration=${DURATION:-10}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
log_level=${LOG_LEVEL:-warn}
body_bytes=2048

scripts/build.sh >/dev/null
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

source bench/lib/wrk.sh
work=$(mktemp -d /tmp/hookmcp-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

case "${PAYLOAD:-pad}" in
  pad)
    body=$(pad_body "$body_bytes")
    ;;
  words)
    body='{"ref":"refs/heads/feature-7","repository":{"full_name":"acme/widgets","private":false},"commits":['
    for c in $(seq 0 11); do
      [ "$c" -gt 0 ] && body+=','
      body+="{\"id\":\"$((917 + c * 7919))\",\"message\":\"Fix flaky deploy step 7 in module m$((c * 7 % 503)) after review by user7\",\"author\":{\"name\":\"Dev $c\",\"email\":\"dev@example.com\"},\"added\":[\"src/a.cc\"],\"modified\":[\"README.md\"]}"
    done
    body+='],"pusher":{"name":"octocat"}}'
    ;;
  *) echo "PAYLOAD is pad or words" >&2; exit 2 ;;
esac
body_bytes=${#body}
printf '%s' "$body" > "$work/body.json"
secret="bench-secret"
signature=$(github_signature "$secret" "$body")
github_config "$secret" > "$work/config.json"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "load: wrk -t$threads -c$connections -d${duration}s, body ${#body} bytes (PAYLOAD=${PAYLOAD:-pad}), GitHub-signed, durability full"
ceiling() {  # ceiling BATCH PAGE_SIZE SCHEMA: one reference run
  rm -f "$work"/ceiling.db*
  build/sqlite_ceiling "$work/ceiling.db" "$duration" "$1" "@$work/body.json" "$2" "$3"
}
runs_file="$work/runs"
: > "$runs_file"
for i in $(seq "$runs"); do
  rm -f "$work"/events.db*
  build/hookmcp serve --listen 127.0.0.1:0 --db "$work/events.db" --config "$work/config.json" \
    --log-level "$log_level" 2> "$work/server.err" &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/server.err" && break; sleep 0.05; done
  port=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9]*\).*/\1/p' "$work/server.err")
  result=$(HOOKMCP_BENCH_BODY="$body" HOOKMCP_BENCH_SIGNATURE="$signature" \
    wrk -t"$threads" -c"$connections" -d"${duration}s" -s bench/intake.lua "http://127.0.0.1:$port/" | grep RESULT)
  rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")  # user + system, in clock ticks
  curl -s "http://127.0.0.1:$port/metrics" > "$work/metrics"
  stored=$(awk '/^hookmcp_webhooks_stored_total/ {print $2}' "$work/metrics")
  group=$(awk '/^hookmcp_commit_batch_size_sum/ {s=$2} /^hookmcp_commit_batch_size_count/ {c=$2}
               END {printf "%.1f", c ? s / c : 0}' "$work/metrics")
  cpu_us=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$stored" \
    'BEGIN {printf "%.1f", n ? t / hz * 1e6 / n : 0}')
  kill -TERM "$pid"; wait "$pid" || true
  # The page size the server gave its file: bytes 16-17 of the SQLite header, big-endian.
  page_size=$(od -An -tu1 -j16 -N2 "$work/events.db" | awk '{print $1 * 256 + $2}')
  rps=$(echo "$result" | field rps)
  batch=$(awk -v g="$group" 'BEGIN {printf "%d", g + 0.5}')
  ceiling_rows=$(ceiling "$batch" "$page_size" full | field rows_per_s)
  ceiling_deferred=$(ceiling "$batch" "$page_size" deferred | field rows_per_s)
  ceiling_events=$(ceiling "$batch" "$page_size" events | field rows_per_s)
  ceiling_4k=$(ceiling "$batch" 4096 events | field rows_per_s)
  ratios=$(awk -v r="$rps" -v a="$ceiling_rows" -v d="$ceiling_deferred" \
    -v b="$ceiling_events" -v c="$ceiling_4k" \
    'BEGIN {printf "ratio=%.2f ratio_deferred=%.2f ratio_events=%.2f ratio_4k=%.2f",
            r / a, r / d, r / b, r / c}')
  line="$result peak_rss_mb=$((rss_kb / 1024)) cpu_us_per_event=$cpu_us mean_group=$group"
  line+=" page_size=$page_size ceiling=$ceiling_rows ceiling_deferred=$ceiling_deferred"
  line+=" ceiling_events=$ceiling_events ceiling_4k=$ceiling_4k $ratios"
  echo "run $i: $line stored=$stored"
  echo "$line" >> "$runs_file"
done

echo
echo "| measure | median of $runs | min-max |"
echo "| --- | --- | --- |"
echo "| intake events/s | $(col rps) | $(range rps) |"
echo "| latency p50 ms | $(col p50_ms) | |"
echo "| latency p99 ms | $(col p99_ms) | $(range p99_ms) |"
echo "| peak RSS MB | $(col peak_rss_mb) | |"
echo "| server CPU per event, us | $(col cpu_us_per_event) | $(range cpu_us_per_event) |"
echo "| mean commit group, events | $(col mean_group) | $(range mean_group) |"
echo "| server's page size, bytes | $(col page_size) | |"
echo "| SQLite ceiling events/s: the same rows (hookmcp's schema, same body, group, page size) | $(col ceiling) | $(range ceiling) |"
echo "| ratio intake / that ceiling (per run) | $(col ratio) | $(range ratio) |"
echo "| SQLite ceiling events/s: the same rows, indexed as the server does (after the commit, no fsync) | $(col ceiling_deferred) | $(range ceiling_deferred) |"
echo "| ratio intake / that ceiling (per run) | $(col ratio_deferred) | $(range ratio_deferred) |"
echo "| SQLite ceiling rows/s: the events table alone (same group, page size) | $(col ceiling_events) | $(range ceiling_events) |"
echo "| ratio intake / that ceiling (per run) | $(col ratio_events) | $(range ratio_events) |"
echo "| SQLite ceiling rows/s: the events table alone, 4 KB pages | $(col ceiling_4k) | $(range ceiling_4k) |"
echo "| ratio intake / that ceiling (per run) | $(col ratio_4k) | $(range ratio_4k) |"
