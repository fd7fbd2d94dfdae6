#!/usr/bin/env bash
# Module boundaries: a module whose sources or public headers include another module's header
# ("hookmcp/<module>/...") must list hookmcp::<module> among its DEPS or PRIVATE_DEPS in
# src/CMakeLists.txt (the app: among the hookmcp executable's link libraries). Linking alone
# would let a transitive dependency pass unnoticed.
set -euo pipefail
cd "$(dirname "$0")/.."

# "module dep dep ..." per line, from hookmcp_module(...) and the executable's link line.
declared=$(tr '\n' ' ' < src/CMakeLists.txt |
  grep -oE 'hookmcp_module\([a-z]+[^)]*\)|target_link_libraries\(hookmcp PRIVATE [^)]*\)' |
  sed -E 's/^hookmcp_module\(([a-z]+)/\1/; s/^target_link_libraries\(hookmcp PRIVATE/app/' |
  awk '{ line = $1; for (i = 2; i <= NF; i++) if ($i ~ /^hookmcp::/) { sub(/^hookmcp::/, "", $i); line = line " " $i } print line }')

status=0
for dir in src/*/; do
  module=$(basename "$dir")
  deps=$(awk -v m="$module" '$1 == m { $1 = ""; print }' <<<"$declared")
  if ! awk -v m="$module" '$1 == m { found = 1 } END { exit !found }' <<<"$declared"; then
    echo "check_module_deps: src/$module is not a module of src/CMakeLists.txt" >&2
    status=1
    continue
  fi
  files=$(find "src/$module" "include/hookmcp/$module" -name '*.cpp' -o -name '*.hpp' 2>/dev/null || true)
  for used in $(grep -ohE '#include "hookmcp/[a-z]+/' $files | sed -E 's#.*hookmcp/([a-z]+)/#\1#' | sort -u); do
    [ "$used" = "$module" ] && continue
    if ! grep -qw -- "$used" <<<"$deps"; then
      where=$(grep -lE "#include \"hookmcp/$used/" $files | head -3 | tr '\n' ' ')
      echo "check_module_deps: $module includes hookmcp/$used/ ($where) but does not list hookmcp::$used in its deps" >&2
      status=1
    fi
  done
done
[ $status -eq 0 ] && echo "lint: module dependencies as declared"
exit $status
