#!/usr/bin/env bash
# Intake benchmark: wrk with keep-alive connections POSTing GitHub-signed ~2 KB JSON deliveries
# to `hookmcp serve` (durability full: every 2xx follows an fsync). Prints each run (with the
# server's CPU time per event and its mean commit group), the median, the reference
# (bench/sqlite_ceiling: the same rows, same durability, straight into SQLite, in groups of
# CONNECTIONS and in groups of the size the server actually committed) and the ratios.
#
# Usage: bench/intake.sh            (RUNS=5 DURATION=10 CONNECTIONS=64 THREADS=2 to change)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
duration=${DURATION:-10}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
body_bytes=2048

scripts/build.sh >/dev/null
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

work=$(mktemp -d /tmp/hookmcp-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

# A JSON body of body_bytes bytes, shaped like a push event.
prefix='{"ref":"refs/heads/main","action":"synchronize","repository":{"pad":"'
suffix='"}}'
pad=$(head -c $((body_bytes - ${#prefix} - ${#suffix})) /dev/zero | tr '\0' 'x')
body="$prefix$pad$suffix"
secret="bench-secret"
signature="sha256=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" | awk '{print $NF}')"
cat > "$work/config.json" <<JSON
{"sources": {"github": {"provider": "github", "secrets": ["$secret"]}},
 "retention": {"max_age_days": 0, "max_events": 0}}
JSON

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "load: wrk -t$threads -c$connections -d${duration}s, body ${#body} bytes, GitHub-signed, durability full"
: > "$work/runs"
for i in $(seq "$runs"); do
  rm -f "$work"/events.db*
  build/hookmcp serve --listen 127.0.0.1:0 --db "$work/events.db" --config "$work/config.json" \
    --log-level warn 2> "$work/server.err" &
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
  extra="peak_rss_mb=$((rss_kb / 1024)) cpu_us_per_event=$cpu_us mean_group=$group"
  echo "run $i: $result $extra stored=$stored"
  echo "$result $extra" >> "$work/runs"
done

: > "$work/ceiling"
: > "$work/ceiling_group"
group=$(field mean_group < "$work/runs" | median | awk '{printf "%d", $1 + 0.5}')
for i in $(seq "$runs"); do
  for batch in "$connections" "$group"; do
    rm -f "$work"/ceiling.db*
    r=$(build/sqlite_ceiling "$work/ceiling.db" "$duration" "$batch" "$body_bytes")
    echo "reference $i: $r"
    if [ "$batch" = "$connections" ]; then echo "$r" >> "$work/ceiling"; fi
    if [ "$batch" = "$group" ]; then echo "$r" >> "$work/ceiling_group"; fi
  done
done

rps=$(field rps < "$work/runs" | median)
p50=$(field p50_ms < "$work/runs" | median)
p99=$(field p99_ms < "$work/runs" | median)
rss=$(field peak_rss_mb < "$work/runs" | median)
cpu=$(field cpu_us_per_event < "$work/runs" | median)
ceiling=$(field rows_per_s < "$work/ceiling" | median)
ceiling_group=$(field rows_per_s < "$work/ceiling_group" | median)
min_rps=$(field rps < "$work/runs" | sort -g | head -1)
max_rps=$(field rps < "$work/runs" | sort -g | tail -1)
echo
echo "| measure | median of $runs | min-max |"
echo "| --- | --- | --- |"
echo "| intake events/s | $rps | $min_rps-$max_rps |"
echo "| latency p50 ms | $p50 | |"
echo "| latency p99 ms | $p99 | |"
echo "| peak RSS MB | $rss | |"
echo "| server CPU per event, us | $cpu | |"
echo "| mean commit group, events | $group | |"
echo "| SQLite ceiling rows/s (groups of $connections) | $ceiling | |"
echo "| ratio intake / ceiling | $(awk -v a="$rps" -v b="$ceiling" 'BEGIN {printf "%.2f", a/b}') | |"
echo "| SQLite ceiling rows/s (groups of $group, as the server committed) | $ceiling_group | |"
echo "| ratio intake / that ceiling | $(awk -v a="$rps" -v b="$ceiling_group" 'BEGIN {printf "%.2f", a/b}') | |"
