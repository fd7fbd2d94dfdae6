#!/usr/bin/env bash
# PostgreSQL benchmark, in one run, side by side: a PostgreSQL server of its own (initdb in a
# temporary directory, the server's default durability: fsync and synchronous_commit on), then
# per run, each on a fresh database:
#   - one node: `hookmcp serve --db postgres://...` under wrk (keep-alive connections POSTing
#     GitHub-signed ~2 KB JSON, as bench/intake.sh): events/s, latency, mean commit group, CPU
#     per event;
#   - the reference right after it: build/pg_ceiling, a plain libpq program inserting the same
#     rows (the event with its tsvector, the per-source and per-type counts) into the same
#     tables and indexes, in groups of the size the node just committed, from one connection;
#     the ratio is per run;
#   - three nodes on one database, the connections split between them (three wrk processes at
#     once): their summed events/s against the one node's.
# Then POST on node B to notification on node A: bench/notify_latency.mjs in mode `nodes`.
#
# Usage: bench/postgres.sh    (RUNS=3 DURATION=10 CONNECTIONS=64 RATE=500 NOTIFY_SECONDS=5)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-3}
duration=${DURATION:-10}
connections=${CONNECTIONS:-64}
pg_bin=/usr/lib/postgresql/15/bin

scripts/build.sh >/dev/null
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

source bench/lib/wrk.sh
work=$(mktemp -d /tmp/hookmcp-bench-pg-XXXXXX)
as_server_user() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"
cleanup() {
  as_server_user "$pg_bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

as_server_user "$pg_bin/initdb" -D "$work/data" -U hookmcp --auth=trust -E UTF8 >/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_server_user "$pg_bin/pg_ctl" -D "$work/data" -w -l "$work/server.log" \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $work -c max_connections=200" start >/dev/null
server="postgres://hookmcp@127.0.0.1:$port"
fresh_db() {  # fresh_db NAME: a new, empty database; its URL
  "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U hookmcp "$1"
  echo "$server/$1"
}

body=$(pad_body 2048)
printf '%s' "$body" > "$work/body.json"
secret="bench-secret"
signature=$(github_signature "$secret" "$body")
github_config "$secret" > "$work/config.json"

# start_node DB NAME: a node in the background; sets node_pid and node_port.
start_node() {
  build/hookmcp serve --listen 127.0.0.1:0 --db "$1" --config "$work/config.json" \
    --log-level warn 2> "$work/$2.err" &
  node_pid=$!
  for _ in $(seq 200); do grep -q "listening on" "$work/$2.err" && break; sleep 0.05; done
  node_port=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9]*\).*/\1/p' "$work/$2.err")
}
# load PORT CONNECTIONS TAG: wrk's RESULT line.
load() {
  HOOKMCP_BENCH_BODY="$body" HOOKMCP_BENCH_SIGNATURE="$signature" HOOKMCP_BENCH_TAG="$3" \
    wrk -t1 -c"$2" -d"${duration}s" -s bench/intake.lua "http://127.0.0.1:$1/" | grep RESULT
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "PostgreSQL: $("$pg_bin/postgres" --version), fsync on, synchronous_commit on, on the same machine"
echo "load: wrk, $connections connections, ${duration}s, GitHub-signed ${#body}-byte JSON"
runs_file="$work/runs"
: > "$runs_file"
for i in $(seq "$runs"); do
  # One node.
  start_node "$(fresh_db "one_$i")" one
  one=$(load "$node_port" "$connections" one)
  ticks=$(awk '{print $14 + $15}' "/proc/$node_pid/stat")
  metrics=$(curl -s "http://127.0.0.1:$node_port/metrics")
  kill -TERM "$node_pid"; wait "$node_pid" || true
  stored=$(echo "$metrics" | awk '/^hookmcp_webhooks_stored_total/ {print $2}')
  group=$(echo "$metrics" | awk '/^hookmcp_commit_batch_size_sum/ {s=$2} /^hookmcp_commit_batch_size_count/ {c=$2}
               END {printf "%.1f", c ? s / c : 0}')
  cpu_us=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$stored" 'BEGIN {printf "%.1f", n ? t / hz * 1e6 / n : 0}')
  # The reference, the same rows in groups of that size.
  batch=$(awk -v g="$group" 'BEGIN {printf "%d", g < 1 ? 1 : g + 0.5}')
  ceiling=$(build/pg_ceiling "$(fresh_db "ceiling_$i")" "$duration" "$batch" "@$work/body.json" | field rows_per_s)
  # Three nodes, one database, the connections split between them.
  db3=$(fresh_db "three_$i")
  pids=(); ports=()
  for k in a b c; do start_node "$db3" "node-$k"; pids+=("$node_pid"); ports+=("$node_port"); done
  per=$((connections / 3))
  loads=()
  for k in 0 1 2; do load "${ports[$k]}" "$per" "n$k" > "$work/three-$k" & loads+=($!); done
  wait "${loads[@]}"
  three=$(cat "$work"/three-* | field rps | awk '{s += $1} END {printf "%.1f", s}')
  three_p99=$(cat "$work"/three-* | field p99_ms | sort -g | tail -1)
  for p in "${pids[@]}"; do kill -TERM "$p"; wait "$p" || true; done
  rps=$(echo "$one" | field rps)
  line="rps=$rps p50_ms=$(echo "$one" | field p50_ms) p99_ms=$(echo "$one" | field p99_ms)"
  line+=" mean_group=$group cpu_us_per_event=$cpu_us ceiling=$ceiling"
  line+=" ratio=$(awk -v r="$rps" -v c="$ceiling" 'BEGIN {printf "%.2f", r / c}')"
  line+=" three_nodes=$three three_worst_p99=$three_p99"
  line+=" scale=$(awk -v t="$three" -v r="$rps" 'BEGIN {printf "%.2f", t / r}')"
  echo "run $i: $line"
  echo "$line" >> "$runs_file"
done

echo
echo "| measure | median of $runs | min-max |"
echo "| --- | --- | --- |"
echo "| one node on PostgreSQL, events/s | $(col rps) | $(range rps) |"
echo "| latency p50 / p99 ms | $(col p50_ms) / $(col p99_ms) | p99 $(range p99_ms) |"
echo "| mean commit group, events | $(col mean_group) | $(range mean_group) |"
echo "| server CPU per event, us | $(col cpu_us_per_event) | $(range cpu_us_per_event) |"
echo "| plain libpq program, the same rows and group, events/s | $(col ceiling) | $(range ceiling) |"
echo "| ratio one node / that (per run) | $(col ratio) | $(range ratio) |"
echo "| three nodes on one database, events/s (summed) | $(col three_nodes) | $(range three_nodes) |"
echo "| ratio three nodes / one (per run) | $(col scale) | $(range scale) |"
echo "| three nodes, worst node's p99 ms | $(col three_worst_p99) | $(range three_worst_p99) |"
echo
HOOKMCP_BENCH_PG="$server" MODES=nodes node bench/notify_latency.mjs "${RATE:-500}" "${NOTIFY_SECONDS:-5}" "$runs" | grep -E "^nodes|RESULT"
