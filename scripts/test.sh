#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite.
# Usage: scripts/test.sh [--sanitize | --tsan]
#   --sanitize   the whole suite under ASan + UBSan, in build-asan/
#   --tsan       the C++ suite (store writer, bus, sessions, the server under load and kill -9)
#                under ThreadSanitizer, in build-tsan/
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh "$@"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
case "${1:-}" in
  --sanitize) ctest --test-dir build-asan -j2 --output-on-failure --timeout 600 ;;
  --tsan) ctest --test-dir build-tsan -j2 --output-on-failure --timeout 600 -E 'node_test|conformance' ;;
  *) ctest --test-dir build -j2 --output-on-failure --timeout 300 ;;
esac
