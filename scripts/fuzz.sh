#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan + UBSan) in build-fuzz/ and runs each one for a
# bounded time, starting from its seed corpus in tests/fuzz/corpus/<harness>.
# Usage: scripts/fuzz.sh [SECONDS_PER_HARNESS]   (default 30)
# An input that crashes a harness is kept as tests/fuzz/regressions/<harness>/<name>, which the
# regular build replays in CTest (fuzz_<harness>_replay); the script then fails.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
harnesses=(rpc verify config sse render http jwt)
build=build-fuzz

if [ ! -f $build/build.ninja ]; then
  CC=clang CXX=clang++ cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHOOKMCP_FUZZ=ON -DHOOKMCP_BUILD_TESTS=OFF -DHOOKMCP_BUILD_BENCH=OFF
fi
ninja -C $build "${harnesses[@]/#/fuzz_}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
total=0
for h in "${harnesses[@]}"; do
  # New inputs go to a working corpus in the build tree; the seeds in the tree stay as written.
  work=$build/fuzz-corpus/$h
  artifacts=$build/fuzz-artifacts/$h
  mkdir -p "$work" "$artifacts"
  log=$build/fuzz-$h.log
  status=0
  $build/fuzz_$h -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$work" tests/fuzz/corpus/$h >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  total=$((total + ${runs:-0}))
  echo "fuzz $h: ${runs:-0} executions in ${seconds}s, corpus $(ls "$work" | wc -l) inputs"
  shopt -s nullglob
  crashes=("$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*)
  shopt -u nullglob
  if [ $status -ne 0 ] || [ ${#crashes[@]} -gt 0 ]; then
    mkdir -p tests/fuzz/regressions/$h
    for c in "${crashes[@]}"; do mv "$c" tests/fuzz/regressions/$h/; done
    grep -m 20 -E 'ERROR|runtime error|SUMMARY|#[0-9]+ 0x' "$log" || true
    echo "fuzz $h: FAILED (log $log), input kept in tests/fuzz/regressions/$h/"
    failed+=("$h")
  fi
done
echo "fuzz: $total executions in total"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]}"
  exit 1
fi
