#!/usr/bin/env bash
# Runs the official MCP conformance suite (server scenarios) against a server started here on
# a free port, with a temporary database.
#
#   tests/conformance/run.sh serve [BINARY]     the real `hookmcp serve`: every scenario that
#                                               needs no test fixtures
#   tests/conformance/run.sh fixture [BINARY]   examples/conformance_server: --suite all
#
# BINARY defaults to build/hookmcp (or build/conformance_server). Exit 0 when nothing failed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mode=${1:?usage: run.sh serve|fixture [BINARY]}

node="$here/node_modules/.bin/node"
suite="$here/node_modules/.bin/conformance"
[ -x "$node" ] || { echo "run.sh: run scripts/setup.sh first (it installs the suite)" >&2; exit 2; }

work=$(mktemp -d /tmp/hookmcp-conformance-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

case "$mode" in
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
if [ ${#scenarios[@]} -eq 0 ]; then
  if "$node" "$suite" server --url "$url" --suite all; then passed=1; else failed=1; fi
else
  for s in "${scenarios[@]}"; do
    if "$node" "$suite" server --url "$url" --scenario "$s" > "$work/$s.log" 2>&1; then
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
