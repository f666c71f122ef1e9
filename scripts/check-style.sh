#!/usr/bin/env bash
# clang-format and clang-tidy over the whole tree, with the repository's configs.
# C++ sources only: bpf/*.c, *.bpf.c and the C ABI headers keep the kernel's style.
# Usage: scripts/check-style.sh [BUILD]   (BUILD holds compile_commands.json; default build/)
#        CHECK_TIDY=0 skips clang-tidy (the slow half).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' | grep -v -E '(^|/)(third_party)/')
echo "clang-format: ${#files[@]} files"
clang-format --dry-run -Werror "${files[@]}"
if [ "${CHECK_TIDY:-1}" = 1 ]; then
  mapfile -t sources < <(printf '%s\n' "${files[@]}" | grep '\.cpp$')
  echo "clang-tidy: ${#sources[@]} files (build folder $build)"
  printf '%s\n' "${sources[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet 2>&1 \
    | grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error)' | sort -u > /tmp/ep-tidy.$$ || true
  if [ -s /tmp/ep-tidy.$$ ]; then cat /tmp/ep-tidy.$$; rm -f /tmp/ep-tidy.$$; exit 1; fi
  rm -f /tmp/ep-tidy.$$
fi
echo "style clean"
