#!/usr/bin/env bash
# Installs the Debian packages hookmcp needs to build and test, when they are missing.
set -euo pipefail

# dpkg-dev: dpkg-shlibdeps, which `cpack -G DEB` derives the package's Depends with.
packages=(
  g++ cmake ninja-build pkg-config ccache dpkg-dev
  libboost1.81-dev nlohmann-json3-dev libssl-dev libsqlite3-dev libspdlog-dev libpq-dev
  postgresql-15 haproxy chromium
  libgtest-dev googletest
  clang-format clang-tidy sqlite3 curl zsh openssl
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
# tests/node: the MCP SDK, the Inspector, the AI SDK's MCP client (on the Node.js 22 installed beside
# it) and providers' signers. tests/conformance: the official
# MCP conformance suite with the Node.js 22 it runs on, from the npm registry.
for dir in tests/node tests/conformance; do
  path="$(dirname "$0")/../$dir"
  if [ ! -d "$path/node_modules" ] || [ "$path/package-lock.json" -nt "$path/node_modules" ]; then
    echo "setup: installing the Node.js packages of $dir" >&2
    (cd "$path" && npm ci --no-audit --no-fund --loglevel=error >&2 && touch node_modules)
  fi
done

# The plain, sanitizer and fuzzing builds together hold about 12 GB of objects: room for all of
# them keeps a rebuild from a fresh clone down to what changed.
if command -v ccache >/dev/null; then
  size=$(ccache --get-config max_size)
  case "$size" in
    *G | *GB) [ "${size%%[.G]*}" -ge 20 ] || ccache --max-size 20G >/dev/null ;;
    *) ccache --max-size 20G >/dev/null ;;
  esac
fi
