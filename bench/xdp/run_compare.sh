#!/usr/bin/env bash
# run_compare.sh: issue #3's benchmark. etherpath's AF_XDP engine against the plain libxdp loops
# on a veth pair between two namespaces, 64-byte frames (60 without FCS), 1 queue, the generator
# (or TX side) pinned to CPU 0, the sink (or RX side) to CPU 1, native XDP, copy mode.
#   RX: xdp_livegen (live frames, XDP_TX) feeds ep_rxdrop (XdpEngine + steering program), then
#       xdp_rxdrop (plain loop); offered rate, each side's rate, rx_ring_full and thread CPU per
#       frame (both in poll mode, so idle time is slept, not counted). On veth the receiver's
#       kernel work runs on the sender's CPU and the rate is bounded by the generator; the CPU
#       time per frame shows the cost of etherpath's abstractions where the rate cannot.
#   TX: ep_txonly (XdpEngine) then xdp_txonly, each counted by xdp_sink on the peer; trafgen too.
# Runs alternate etherpath then peer; ratios are medians of the per-pair ratios.
#   usage: run_compare.sh BUILD_DIR [PAIRS=5] [SECONDS=3]
# Last line: RESULT rx_pps= peer_rx_pps= rx_ratio= rx_cpu_ns= peer_rx_cpu_ns= rx_cpu_ratio=
#            tx_pps= peer_tx_pps= tx_ratio= trafgen_pps=
set -euo pipefail
build=${1:?usage: run_compare.sh BUILD_DIR [PAIRS] [SECONDS]}
pairs=${2:-5}
secs=${3:-3}
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
xdp_bench_tools "$build" xdp_livegen xdp_sink xdp_rxdrop xdp_txonly ep_rxdrop ep_txonly

gen_sink_setup ep

field() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" | tail -1; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print 0; else print a[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print 0 }'; }
declare -A s
add() { s[$1]+="$2"$'\n'; }
med() { printf '%s' "${s[$1]:-}" | sed '/^$/d' | median; }

# rx_side TOOL PREFIX: the generator feeds TOOL on the sink side; prints "offered pps cpu_ns
# ring_full" from TOOL's PREFIX_pps, PREFIX_cpu_ns and PREFIX_rx_ring_full.
rx_side() {
  local tool=$1 prefix=$2
  $S "$tools/$tool" -i s$tag -d $((secs + 1)) -c 1 --poll >"$tmp/rx" 2>&1 &
  local pid=$!
  sleep 0.8
  local out
  out=$($G "$tools/xdp_livegen" -i g$tag -d "$secs" -c 0 "${flow[@]}" 2>/dev/null)
  wait $pid
  echo "$(field gen_pps <<<"$out") $(field ${prefix}_pps <"$tmp/rx") $(field ${prefix}_cpu_ns <"$tmp/rx") $(field ${prefix}_rx_ring_full <"$tmp/rx")"
}
# tx_side CMD...: the sink counts what CMD sends; prints the sink's pps.
tx_side() {
  $S taskset -c 1 "$tools/xdp_sink" -i s$tag -d $((secs + 1)) -q --validate "${flow[@]}" >"$tmp/sink" 2>&1 &
  local pid=$!
  sleep 0.5
  $G "$@" >/dev/null 2>&1 || true
  wait $pid
  echo "$(field sink_pps <"$tmp/sink") $(field sink_invalid <"$tmp/sink")"
}

for ((p = 1; p <= pairs; p++)); do
  read -r off ep_pps ep_cpu ep_full < <(rx_side ep_rxdrop ep_rxdrop)
  read -r poff peer_pps peer_cpu peer_full < <(rx_side xdp_rxdrop rxdrop)
  echo "pair $p RX: offered $off / $poff pps; etherpath $ep_pps pps, $ep_cpu ns/frame, rx_ring_full $ep_full; plain $peer_pps pps, $peer_cpu ns/frame, rx_ring_full $peer_full"
  add rx_pps "$ep_pps"; add peer_rx_pps "$peer_pps"; add rx_ratio "$(ratio "$ep_pps" "$peer_pps")"
  add rx_cpu_ns "$ep_cpu"; add peer_rx_cpu_ns "$peer_cpu"; add rx_cpu_ratio "$(ratio "$peer_cpu" "$ep_cpu")"

  read -r ep_tx ep_bad < <(tx_side "$tools/ep_txonly" -i g$tag -d "$secs" -c 0 "${flow[@]}")
  read -r peer_tx peer_bad < <(tx_side "$tools/xdp_txonly" -i g$tag -d "$secs" -c 0 "${flow[@]}")
  echo "pair $p TX: etherpath $ep_tx pps ($ep_bad invalid), plain $peer_tx pps ($peer_bad invalid)"
  add tx_pps "$ep_tx"; add peer_tx_pps "$peer_tx"; add tx_ratio "$(ratio "$ep_tx" "$peer_tx")"
done

if command -v trafgen >/dev/null; then
  cat >"$tmp/trafgen.conf" <<'CONF'
{ 0x02,0,0,0,0,0x02, 0x02,0,0,0,0,0x01, 0x08,0x00,
  0x45,0,0,46, 0,1, 0,0, 64, 17, csumip(14, 33), 10,0,0,1, 10,0,0,2,
  0,9, 0,9, 0,26, 0,0, fill(0x00, 18) }
CONF
  for ((p = 1; p <= 3; p++)); do
    read -r tg _ < <(tx_side timeout "$secs" taskset -c 0 trafgen --dev g$tag --conf "$tmp/trafgen.conf" --cpus 1 -q)
    add trafgen_pps "$tg"
  done
fi

echo "pinning: generator/TX CPU 0, sink/RX CPU 1; 64-byte frames, 1 queue, native XDP, copy mode; $pairs pairs of $secs s"
line="RESULT"
for k in rx_pps peer_rx_pps rx_ratio rx_cpu_ns peer_rx_cpu_ns rx_cpu_ratio tx_pps peer_tx_pps tx_ratio trafgen_pps; do
  line+=" $k=$(med $k)"
done
echo "$line"
