#!/usr/bin/env bash
# Runs the official MCP conformance suite (server scenarios) against a server started here on
# a free port, with a temporary database.
#
#   tests/conformance/run.sh serve [BINARY]         the real `hookmcp serve` on 2025-11-25: every
#                                                   scenario that needs no test fixtures
#   tests/conformance/run.sh fixture [BINARY]       examples/conformance_server: --suite all
#   tests/conformance/run.sh serve-2026 [BINARY]    `hookmcp serve` on MCP 2026-07-28: the
#                                                   scenarios that apply to it
#   tests/conformance/run.sh fixture-2026 [BINARY]  examples/conformance_server:
#                                                   --requirements 2026-07-28
#
# Each revision has its release of the suite (0.1.16, 0.2.0-alpha.12). A run on 2026-07-28 reads
# its baseline, serve-2026.yml or fixture-2026.yml beside this script: the checks that may fail,
# each with the reason; a baselined check that passes fails the run, so the list stays true.
# BINARY defaults to build/hookmcp (or build/conformance_server). Exit 0 when nothing failed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mode=${1:?usage: run.sh serve|fixture|serve-2026|fixture-2026 [BINARY]}

node="$here/node_modules/.bin/node"
suite="$here/node_modules/@modelcontextprotocol/conformance/dist/index.js"
revision_args=()
case "$mode" in
  *-2026)
    suite="$here/node_modules/conformance-2026/dist/index.js"
    revision_args=(--expected-failures "$here/${mode}.yml")
    ;;
esac
[ -x "$node" ] && [ -f "$suite" ] ||
  { echo "run.sh: run scripts/setup.sh first (it installs the suite)" >&2; exit 2; }

work=$(mktemp -d /tmp/hookmcp-conformance-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

case "$mode" in
  serve-2026)
    binary=${2:-$root/build/hookmcp}
    "$binary" serve --listen 127.0.0.1:0 --db "$work/events.db" --log-level warn 2> "$work/server.err" &
    scenarios=(server-stateless tools-list resources-list caching dns-rebinding-protection
               sep-2164-resource-not-found http-header-validation)
    ;;
  fixture-2026)
    binary=${2:-$root/build/conformance_server}
    "$binary" --listen 127.0.0.1:0 2> "$work/server.err" &
    scenarios=()
    ;;
  serve)
    binary=${2:-$root/build/hookmcp}
    "$binary" serve --listen 127.0.0.1:0 --db "$work/events.db" --log-level warn 2> "$work/server.err" &
    # The scenarios that exercise the protocol and transport rather than the suite's test_*
    # fixture tools, resources and prompts.
    scenarios=(server-initialize ping logging-set-level completion-complete tools-list
               resources-list prompts-list dns-rebinding-protection server-sse-multiple-streams
               server-sse-polling)
    ;;
  fixture)
    binary=${2:-$root/build/conformance_server}
    "$binary" --listen 127.0.0.1:0 2> "$work/server.err" &
    scenarios=()
    ;;
  *) echo "run.sh: unknown mode $mode" >&2; exit 2 ;;
esac
pid=$!

port=""
for _ in $(seq 200); do
  port=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9][0-9]*\).*/\1/p' "$work/server.err" | head -1)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
  sleep 0.05
done
[ -n "$port" ] || { echo "run.sh: the server did not start" >&2; cat "$work/server.err" >&2; exit 1; }
url="http://127.0.0.1:$port/mcp"

failed=0
passed=0
# The suite writes its results under the working directory.
cd "$work"
if [ "$mode" = fixture-2026 ]; then
  if "$node" "$suite" server --url "$url" --requirements 2026-07-28 "${revision_args[@]}"; then
    passed=1
  else
    failed=1
  fi
elif [ ${#scenarios[@]} -eq 0 ]; then
  if "$node" "$suite" server --url "$url" --suite all; then passed=1; else failed=1; fi
else
  for s in "${scenarios[@]}"; do
    if "$node" "$suite" server --url "$url" --scenario "$s" ${revision_args[@]+"${revision_args[@]}"} \
      > "$work/$s.log" 2>&1; then
      passed=$((passed + 1))
      echo "conformance: $s passed ($(grep -o 'Passed: [0-9]*/[0-9]*, [0-9]* failed, [0-9]* warnings' "$work/$s.log"))"
    else
      failed=$((failed + 1))
      echo "conformance: $s FAILED"
      cat "$work/$s.log"
    fi
  done
fi
echo "conformance ($mode): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
