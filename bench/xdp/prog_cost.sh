#!/usr/bin/env bash
# prog_cost.sh: the XDP program each RX side of run_compare.sh runs on the generator's CPU (on a
# veth the receiver's XDP program runs in the sender's NAPI), timed by BPF_PROG_TEST_RUN: the
# kernel's average per-run duration over REPEAT runs of the benchmark's 60-byte UDP/IPv4 frame
# (bpftool prog run ... repeat). etherpath: the steering program as ep_rxdrop attaches it (one
# L2 endpoint for the frame's dst MAC); plain: libxdp's built-in program as xdp_rxdrop loads it.
# Both return XDP_REDIRECT for the frame (a test run does not redirect; the XSK copy after it is
# the same for both), so the difference is what the steering program's parse and lookups cost per
# frame. Immune to load only up to interrupts; take the median of RUNS.
#   usage: prog_cost.sh BUILD_DIR [RUNS=5] [REPEAT=1000000]
# Last line: RESULT steer_ns= plain_ns= steer_extra_ns=
set -euo pipefail
build=${1:?usage: prog_cost.sh BUILD_DIR [RUNS] [REPEAT]}
runs=${2:-5}
repeat=${3:-1000000}
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
xdp_bench_tools "$build" xdp_rxdrop ep_rxdrop

gen_sink_names epp
rx_pid=
cleanup() {
  [[ -n $rx_pid ]] && kill "$rx_pid" 2>/dev/null && wait "$rx_pid" 2>/dev/null
  gen_sink_remove
}
trap cleanup EXIT
gen_sink_create

# The frame run_compare.sh's generator sends: 02:..:02 <- 02:..:01, 10.0.0.1:9 -> 10.0.0.2:9,
# 18 bytes of payload, 60 bytes without FCS.
printf '\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00\x45\x00\x00\x2e\x00\x01\x00\x00\x40\x11\x66\xbc\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x09\x00\x09\x00\x1a\x00\x00' >"$tmp/frame"
head -c 18 /dev/zero >>"$tmp/frame"

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print 0; else print a[int((NR + 1) / 2)]}'; }

# cost TOOL: starts TOOL on the sink veth, times the XDP program it attached; prints the median
# ns per run.
cost() {
  local tool=$1
  ip netns exec "$sink" "$tools/$tool" -i s$tag -d 60 --poll >"$tmp/$tool.txt" 2>&1 &
  rx_pid=$!
  local id=0
  for _ in $(seq 100); do
    id=$(ip -n "$sink" -d -j link show dev s$tag | /usr/bin/python3 -c 'import json,sys; l=json.load(sys.stdin)[0]; print(l.get("xdp",{}).get("prog",{}).get("id",0))')
    [[ $id != 0 ]] && grep -q queue "$tmp/$tool.txt" && break
    sleep 0.1
  done
  [[ $id != 0 ]] || { echo "$tool: no XDP program on s$tag" >&2; cat "$tmp/$tool.txt" >&2; exit 1; }
  local name
  name=$(bpftool -j prog show id "$id" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("name","?"))')
  local all=""
  for ((r = 0; r < runs; r++)); do
    local out
    out=$(bpftool prog run id "$id" data_in "$tmp/frame" repeat "$repeat" 2>&1)
    grep -q "Return value: 4" <<<"$out" || { echo "$tool ($name): not XDP_REDIRECT: $out" >&2; exit 1; }
    all+="$(sed -n 's/.*duration (average): *\([0-9]*\)ns.*/\1/p' <<<"$out")"$'\n'
  done
  kill "$rx_pid" 2>/dev/null || true
  wait "$rx_pid" 2>/dev/null || true
  rx_pid=
  echo "$tool: program $name (id $id): $(tr '\n' ' ' <<<"$all")ns per run" >&2
  printf '%s' "$all" | sed '/^$/d' | median
}

steer=$(cost ep_rxdrop)
plain=$(cost xdp_rxdrop)
echo "RESULT steer_ns=$steer plain_ns=$plain steer_extra_ns=$((steer - plain))"
