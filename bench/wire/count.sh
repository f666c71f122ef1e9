#!/bin/sh
# Instructions per frame of each wire_bench benchmark, counted by callgrind (immune to machine
# load, unlike the timings of run.sh): each benchmark runs N and then 2N iterations with
# EP_WIRE_ITERATIONS, and the difference of the two inclusive counts over N is the loop body's
# instructions per frame (benchmark loop overhead included, set-up excluded).
# Usage: bench/wire/count.sh [build-dir] [N]   (default build-bench, 20000)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build-bench}
N=${2:-20000}
if [ ! -x "$BUILD/bench/wire/wire_bench" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DETHERPATH_BENCH=ON \
    -DETHERPATH_TESTS=OFF >/dev/null
fi
ninja -C "$BUILD" wire_bench >/dev/null
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
count() {  # $1 benchmark function, $2 iterations: inclusive Ir of the benchmark function
  EP_WIRE_ITERATIONS=$2 valgrind --tool=callgrind --callgrind-out-file="$TMP/out" \
    --toggle-collect="*$1(*" "$BUILD/bench/wire/wire_bench" --benchmark_filter="^$1/fixed/" \
    >/dev/null 2>&1
  callgrind_annotate "$TMP/out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}
line="COUNT"
for bm in BM_TemplateBuild BM_FullBuild BM_LibtinsBuild BM_Parse BM_LibtinsParse; do
  a=$(count "$bm" "$N")
  b=$(count "$bm" $((2 * N)))
  per=$(( (b - a + N / 2) / N ))
  echo "$bm: $per instructions per frame"
  line="$line $bm=$per"
done
echo "$line"
