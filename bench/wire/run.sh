#!/bin/sh
# Runs wire_bench (etherpath's FrameTemplate, FrameBuilder and FrameParser against libtins on a
# 64-byte UDP/IPv4/802.1Q frame) and prints, as its last line, the RESULT line of design.md §6.
# Usage: bench/wire/run.sh [build-dir]   (default build-bench; configured and built if needed)
# Each figure is the median CPU time of 5 repetitions; the benchmark is pinned to CPU $CPU (1).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build-bench}
CPU=${CPU:-1}
if [ ! -x "$BUILD/bench/wire/wire_bench" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DETHERPATH_BENCH=ON \
    -DETHERPATH_TESTS=OFF >/dev/null
fi
ninja -C "$BUILD" wire_bench >/dev/null
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
echo "wire_bench pinned with taskset -c $CPU, 5 repetitions, median CPU time"
taskset -c "$CPU" "$BUILD/bench/wire/wire_bench" --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_min_time=0.5 \
  --benchmark_out="$OUT" --benchmark_out_format=json
python3 - "$OUT" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
med = {r["run_name"]: r["cpu_time"] for r in runs if r.get("aggregate_name") == "median"}
t, f, tb = med["BM_TemplateBuild"], med["BM_FullBuild"], med["BM_LibtinsBuild"]
p, tp = med["BM_Parse"], med["BM_LibtinsParse"]
print("RESULT template_build_ns=%.1f full_build_ns=%.1f libtins_build_ns=%.1f build_ratio=%.1f "
      "parse_ns=%.1f libtins_parse_ns=%.1f parse_ratio=%.1f" % (t, f, tb, tb / f, p, tp, tp / p))
PY
