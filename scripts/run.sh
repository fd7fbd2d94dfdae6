#!/usr/bin/env bash
# Installs what is missing, builds, and starts `hookmcp serve` (extra arguments are passed on).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
exec build/hookmcp serve "$@"
