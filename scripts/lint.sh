#!/usr/bin/env bash
# Format and lint checks: clang-format (no diff allowed), module boundaries (each include of
# another module listed in its CMake deps) and clang-tidy over src/.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
files=$(git ls-files -co --exclude-standard -- '*.cpp' '*.hpp')
clang-format --dry-run --Werror $files
echo "lint: clang-format clean"
scripts/check_module_deps.sh

[ -f build/compile_commands.json ] || scripts/build.sh
# Each translation unit of the project's own modules and binary; one unchanged since a clean
# check (its headers included) is not checked again (scripts/tidy_cached.py).
sources=$(git ls-files -co --exclude-standard -- 'src/*.cpp')
scripts/tidy_cached.py build $sources
echo "lint: clang-tidy clean"
