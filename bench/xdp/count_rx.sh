#!/usr/bin/env bash
# count_rx.sh: user-space instructions per received frame of etherpath's AF_XDP RX loop
# (ep_rxdrop) and of the plain libxdp loop (xdp_rxdrop), counted by callgrind over each tool's
# rx_loop function only (start-up excluded), so the figure does not move with the machine's load.
# xdp_livegen feeds each receiver on a veth pair between two fresh namespaces. Under callgrind the
# receiver is slow, so its RX ring is always backlogged and every batch is a full 64: this counts
# the work per frame of a busy loop, not the poll() wakeups of an idle one.
#   usage: count_rx.sh BUILD_DIR [SECONDS=4]
# With KEEP=DIR the callgrind files stay in DIR (callgrind_annotate --inclusive=yes DIR/ep_rxdrop.cg);
# CG_OPTS adds callgrind options (CG_OPTS=--dump-instr=yes: counts per instruction address).
# Last line: RESULT ep_rx_instr_per_frame= peer_rx_instr_per_frame= instr_ratio=
set -euo pipefail
build=${1:?usage: count_rx.sh BUILD_DIR [SECONDS]}
secs=${2:-4}
command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 2; }
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
xdp_bench_tools "$build" xdp_livegen xdp_rxdrop ep_rxdrop

gen_sink_setup epc

# count TOOL PREFIX: instructions in TOOL's rx_loop per frame it received.
count() {
  local tool=$1 prefix=$2
  local out=$tmp/$tool.cg
  ip netns exec "$sink" valgrind --tool=callgrind --callgrind-out-file="$out" \
    --collect-atstart=no --toggle-collect='*rx_loop*' ${CG_OPTS:-} \
    "$tools/$tool" -i s$tag -d $((secs + 2)) --poll >"$tmp/$tool.txt" 2>"$tmp/$tool.err" &
  local pid=$!
  for _ in $(seq 100); do  # valgrind and the program's set-up take a few seconds
    grep -q "queue" "$tmp/$tool.txt" 2>/dev/null && break
    sleep 0.2
  done
  ip netns exec "$gen" "$tools/xdp_livegen" -i g$tag -d "$secs" -c 0 "${flow[@]}" >/dev/null 2>&1
  wait $pid
  local frames ir
  frames=$(sed -n "s/.*\\b${prefix}_frames=\\([0-9]*\\).*/\\1/p" "$tmp/$tool.txt" | tail -1)
  ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out" | tail -1)
  [[ -z $ir ]] && ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out" | tail -1)
  if [[ -z $frames || $frames == 0 || -z $ir ]]; then
    echo "$tool: no frames counted; output:" >&2
    cat "$tmp/$tool.txt" "$tmp/$tool.err" >&2
    exit 1
  fi
  echo "$tool: $ir instructions in rx_loop for $frames frames" >&2
  [[ -n ${KEEP:-} ]] && mkdir -p "$KEEP" && cp "$out" "$KEEP/"
  grep -E "frames per wait|steering" "$tmp/$tool.txt" >&2 || true
  awk -v i="$ir" -v f="$frames" 'BEGIN { printf "%.1f", i / f }'
}

ep=$(count ep_rxdrop ep_rxdrop)
peer=$(count xdp_rxdrop rxdrop)
echo "RESULT ep_rx_instr_per_frame=$ep peer_rx_instr_per_frame=$peer instr_ratio=$(awk -v a="$peer" -v b="$ep" 'BEGIN { printf "%.3f", a / b }')"
