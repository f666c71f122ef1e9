#!/usr/bin/env bash
# run_peers.sh: measures the plain reference peers on a veth pair between two namespaces, 64-byte
# frames, 1 queue, generator on CPU 0 and sink on CPU 1 (as issue #3's benchmark pins them):
#   sink ceiling:  xdp_livegen -> xdp_sink (XDP counter, validating)
#   RX peer:       xdp_livegen -> xdp_rxdrop (plain AF_XDP loop; rate, rx_ring_full, CPU per frame)
#   TX peer:       xdp_txonly  -> xdp_sink
#   trafgen:       trafgen (PACKET_MMAP, qdisc bypass) -> xdp_sink, for the record
# Each figure is the median of RUNS runs (default 3). Last line: RESULT ...
#   usage: run_peers.sh BUILD_DIR [RUNS] [SECONDS]
set -euo pipefail
build=${1:?usage: run_peers.sh BUILD_DIR [RUNS] [SECONDS]}
runs=${2:-3}
secs=${3:-3}
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
xdp_bench_tools "$build" xdp_livegen xdp_sink xdp_rxdrop xdp_txonly

gen_sink_setup epr

field() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" | tail -1; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print 0; else print a[int((NR + 1) / 2)]}'; }
declare -A samples
add() { samples[$1]+="$2"$'\n'; }

trafgen_conf=$(mktemp)
cat > "$trafgen_conf" <<'CONF'
{ 0x02,0,0,0,0,0x02, 0x02,0,0,0,0,0x01, 0x08,0x00,
  0x45,0,0,46, 0,1, 0,0, 64, 17, csumip(14, 33), 10,0,0,1, 10,0,0,2,
  0,9, 0,9, 0,26, 0,0, fill(0x00, 18) }
CONF

for ((r = 1; r <= runs; r++)); do
  # sink ceiling
  $S taskset -c 1 "$tools/xdp_sink" -i s$tag -d $((secs + 1)) -q --validate "${flow[@]}" >/tmp/ep_sink.$tag 2>&1 &
  sp=$!; sleep 0.5
  out=$($G "$tools/xdp_livegen" -i g$tag -d "$secs" -c 0 "${flow[@]}" 2>/dev/null)
  wait $sp
  add gen_pps "$(field gen_pps <<<"$out")"
  add sink_pps "$(field sink_pps </tmp/ep_sink.$tag)"
  add sink_invalid "$(field sink_invalid </tmp/ep_sink.$tag)"

  # RX peer: plain rxdrop fed by the generator
  $S "$tools/xdp_rxdrop" -i s$tag -d $((secs + 1)) -c 1 --poll >/tmp/ep_rx.$tag 2>&1 &
  rp=$!; sleep 0.7
  out=$($G "$tools/xdp_livegen" -i g$tag -d "$secs" -c 0 "${flow[@]}" 2>/dev/null)
  wait $rp
  add rx_offered_pps "$(field gen_pps <<<"$out")"
  add peer_rx_pps "$(field rxdrop_pps </tmp/ep_rx.$tag)"
  add peer_rx_cpu_ns "$(field rxdrop_cpu_ns </tmp/ep_rx.$tag)"
  add peer_rx_ring_full "$(field rxdrop_rx_ring_full </tmp/ep_rx.$tag)"

  # TX peer: plain txonly counted by the sink
  $S taskset -c 1 "$tools/xdp_sink" -i s$tag -d $((secs + 1)) -q --validate "${flow[@]}" >/tmp/ep_sink.$tag 2>&1 &
  sp=$!; sleep 0.5
  $G "$tools/xdp_txonly" -i g$tag -d "$secs" -c 0 "${flow[@]}" >/dev/null 2>&1
  wait $sp
  add peer_tx_pps "$(field sink_pps </tmp/ep_sink.$tag)"

  # trafgen, for the record
  if command -v trafgen >/dev/null; then
    $S taskset -c 1 "$tools/xdp_sink" -i s$tag -d $((secs + 1)) -q >/tmp/ep_sink.$tag 2>&1 &
    sp=$!; sleep 0.5
    $G timeout "$secs" taskset -c 0 trafgen --dev g$tag --conf "$trafgen_conf" --cpus 1 -q >/dev/null 2>&1 || true
    wait $sp
    add trafgen_pps "$(field sink_pps </tmp/ep_sink.$tag)"
  fi
  echo "run $r done" >&2
done
rm -f "$trafgen_conf" /tmp/ep_sink.$tag /tmp/ep_rx.$tag

line="RESULT"
for k in gen_pps sink_pps sink_invalid rx_offered_pps peer_rx_pps peer_rx_cpu_ns peer_rx_ring_full peer_tx_pps trafgen_pps; do
  v=$(printf '%s' "${samples[$k]:-}" | sed '/^$/d' | median)
  echo "$k: $(printf '%s' "${samples[$k]:-}" | sed '/^$/d' | tr '\n' ' ')-> median $v"
  line+=" $k=$v"
done
echo "pinning: generator CPU 0, sink CPU 1; 64-byte frames (60 without FCS), 1 queue, native XDP"
echo "$line"
