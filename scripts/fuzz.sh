#!/usr/bin/env bash
# Fuzzes every libFuzzer target in BUILD/fuzz for SECONDS in total, split evenly, each starting
# from a scratch copy of its checked-in corpus (so the repository's corpus stays as it is).
set -euo pipefail
build=${1:-build-asan}
total=${2:-60}
shopt -s nullglob
targets=("$build"/fuzz/*.corpus)
if [ ${#targets[@]} -eq 0 ]; then echo "no fuzz targets"; exit 1; fi
each=$(( total / ${#targets[@]} )); [ "$each" -ge 5 ] || each=5
for c in "${targets[@]}"; do
  name=$(basename "$c" .corpus)
  seeds=$(cat "$c")
  work=$(mktemp -d)
  cp -r "$seeds"/. "$work"/ 2>/dev/null || true
  echo "fuzzing $name for ${each}s"
  mkdir -p "$build/fuzz-artifacts"
  "$build/fuzz/$name" -max_total_time="$each" -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/" "$work" 2>&1 | tail -12
  rm -rf "$work"
done
