#!/usr/bin/env bash
# Configures and builds hookmcp. Usage: scripts/build.sh [--sanitize | --tsan]
#   --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
#   --tsan       ThreadSanitizer build in build-tsan/
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  flags=(-DCMAKE_BUILD_TYPE=Debug -DHOOKMCP_SANITIZE=ON)
elif [ "${1:-}" = "--tsan" ]; then
  dir=build-tsan
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOOKMCP_TSAN=ON -DHOOKMCP_BUILD_BENCH=OFF)
fi

scripts/setup.sh
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$dir" -j2
