#!/usr/bin/env bash
# Installs the Debian packages hookmcp needs to build and test, when they are missing.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config ccache
  libboost1.81-dev nlohmann-json3-dev libssl-dev libsqlite3-dev libspdlog-dev
  libgtest-dev googletest
  clang-format clang-tidy sqlite3 curl
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# Node.js runs the tests that drive hookmcp with real MCP clients and providers' signers.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup: installing nodejs and npm" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >&2
fi
node_tests="$(dirname "$0")/../tests/node"
if [ ! -d "$node_tests/node_modules" ] || [ "$node_tests/package-lock.json" -nt "$node_tests/node_modules" ]; then
  echo "setup: installing the Node.js test packages" >&2
  (cd "$node_tests" && npm ci --no-audit --no-fund --loglevel=error >&2 && touch node_modules)
fi
