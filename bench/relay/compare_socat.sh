#!/usr/bin/env bash
# pkthere (socket engine) against socat, both forwarding UDP from a client namespace to an
# upstream namespace through a relay namespace (client | relay | upstream, veth pairs).
#   pps: udp_blaster (sendmmsg, 64-byte frames) on CPU 0 -> relay on CPU 1 -> the datagrams the
#        upstream namespace's UDP layer counts (a bound UDP socket that never reads is the sink,
#        so no ICMP errors flow back; its full-buffer drops count, they reached it)
#   rtt: udp_rtt, one datagram outstanding, through the relay to an echo in the upstream namespace
#   delivery: the stress test's offered load (1400-byte bursts of 64 with 50 us pauses)
# Each figure is the median of RUNS runs (default 5), the two relays taking turns. Needs root.
# Usage: compare_socat.sh [BUILD_DIR] [SECONDS] [RUNS] (BUILD_DIR configured with
# -DETHERPATH_BENCH=ON). The last line is the RESULT line.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
secs=${2:-5}
runs=${3:-5}
blaster=$build/bench/relay/udp_blaster
rtt=$build/bench/relay/udp_rtt
pkthere=$build/tools/pkthere/pkthere
stress=$build/tests/netns/relay/pkthere_stress_test
for f in "$blaster" "$rtt" "$pkthere"; do
  [[ -x $f ]] || { echo "missing $f (build with -DETHERPATH_BENCH=ON)" >&2; exit 2; }
done

id=$$
C=epbc$id R=epbr$id U=epbu$id
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in $C $R $U; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT

for ns in $C $R $U; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add vc$id type veth peer name vr$id
ip link set vc$id netns $C; ip link set vr$id netns $R
ip link add vs$id type veth peer name vu$id
ip link set vs$id netns $R; ip link set vu$id netns $U
ip -n $C addr add 10.78.1.2/24 dev vc$id; ip -n $C link set vc$id up
ip -n $R addr add 10.78.1.1/24 dev vr$id; ip -n $R link set vr$id up
ip -n $R addr add 10.78.2.1/24 dev vs$id; ip -n $R link set vs$id up
ip -n $U addr add 10.78.2.2/24 dev vu$id; ip -n $U link set vu$id up

# Upstream: a sink that never reads (port 9000) and an echo (port 7000).
ip netns exec $U /usr/bin/python3 -c \
  "import socket,time; s=socket.socket(2,2); s.bind(('10.78.2.2',9000)); time.sleep(3600)" &
pids+=($!)
ip netns exec $U taskset -c 1 "$rtt" --echo 10.78.2.2:7000 &
pids+=($!)
sleep 0.5

# Datagrams that reached the upstream's UDP layer (InDatagrams + NoPorts + InErrors, the sink's
# full-buffer drops included). Not the veth's rx_packets: a UDP GSO message crosses the veth as
# one packet and is cut into its datagrams only at the receiving socket.
rx() { ip netns exec $U awk '/^Udp:/ && $2 ~ /^[0-9]/ {print $2 + $3 + $4}' /proc/net/snmp; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# start_relay KIND UPSTREAM_PORT: pkthere or socat in the relay namespace, on CPU 1, port 5354.
start_relay() {
  if [[ $1 == pkthere ]]; then
    ip netns exec $R taskset -c 1 "$pkthere" --here UDP:10.78.1.1:5354 \
      --there UDP:10.78.2.2:"$2" --user nobody --no-stats --timeout-secs 60 >/dev/null &
  else
    ip netns exec $R taskset -c 1 socat -b 2048 UDP4-LISTEN:5354,bind=10.78.1.1 \
      UDP4:10.78.2.2:"$2" &
  fi
  relay=$!
  sleep 0.5
}
stop_relay() { kill "$relay" 2>/dev/null || true; wait "$relay" 2>/dev/null || true; sleep 0.2; }

# The relay process's CPU time so far (user + system, all threads), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure_pps KIND: prints "PPS CPU_US_PER_DATAGRAM" (the relay's CPU time per delivered datagram
# is the figure the machine's other load distorts least).
measure_pps() {
  start_relay "$1" 9000
  local before after c0 c1
  before=$(rx)
  c0=$(cpu_ticks "$relay")
  ip netns exec $C taskset -c 0 "$blaster" --dst 10.78.1.1:5354 --src 10.78.1.2:5555 \
    --frame 64 --seconds "$secs" >/dev/null
  sleep 0.2
  after=$(rx)
  c1=$(cpu_ticks "$relay")
  stop_relay
  awk -v n=$((after - before)) -v s="$secs" -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
    'BEGIN {printf "%d %.2f\n", n / s, (n > 0 ? t / hz * 1e6 / n : 0)}'
}

measure_rtt() {
  start_relay "$1" 7000
  ip netns exec $C taskset -c 0 "$rtt" --dst 10.78.1.1:5354 --src 10.78.1.2:5556 --count 3000
  stop_relay
}

# The two relays take turns run by run, so that a change in the machine's load over the minutes
# the script runs does not fall on one of them only.
declare -A pps p50 p99 cpu pps_runs rtt_runs
for _ in $(seq "$runs"); do
  for kind in pkthere socat; do
    pps_runs[$kind]+="$(measure_pps $kind)"$'\n'
    rtt_runs[$kind]+="$(measure_rtt $kind)"$'\n'
  done
done
for kind in pkthere socat; do
  pps[$kind]=$(awk 'NF {print $1}' <<<"${pps_runs[$kind]}" | median)
  cpu[$kind]=$(awk 'NF {print $2}' <<<"${pps_runs[$kind]}" | median)
  p50[$kind]=$(grep -o 'rtt_p50_us=[0-9.]*' <<<"${rtt_runs[$kind]}" | cut -d= -f2 | median)
  p99[$kind]=$(grep -o 'rtt_p99_us=[0-9.]*' <<<"${rtt_runs[$kind]}" | cut -d= -f2 | median)
  echo "$kind: ${pps[$kind]} pps (relay CPU ${cpu[$kind]} us per datagram)," \
    "rtt p50 ${p50[$kind]} us, p99 ${p99[$kind]} us (medians of $runs, interleaved)"
done

udp_delivery=nan icmp_delivery=nan
if [[ -x $stress ]]; then
  out=$("$stress" 2>&1 || true)
  udp_delivery=$(grep -o 'stress udp: .*delivered [0-9.]*' <<<"$out" | grep -o '[0-9.]*$' || echo nan)
  icmp_delivery=$(grep -o 'stress icmp: .*delivered [0-9.]*' <<<"$out" | grep -o '[0-9.]*$' || echo nan)
fi
vs=$(awk -v a="${pps[pkthere]}" -v b="${pps[socat]}" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
echo "pinning: generator and rtt client on CPU 0, relay and echo on CPU 1; ${secs}s per pps run"
echo "relay CPU per datagram: pkthere ${cpu[pkthere]} us, socat ${cpu[socat]} us" \
  "(cpu_ratio $(awk -v a="${cpu[socat]}" -v b="${cpu[pkthere]}" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'))"
echo "RESULT socket_pps=${pps[pkthere]} socat_pps=${pps[socat]} vs_socat=$vs" \
  "socket_rtt_p50_us=${p50[pkthere]} socket_rtt_p99_us=${p99[pkthere]}" \
  "socat_rtt_p50_us=${p50[socat]} socat_rtt_p99_us=${p99[socat]}" \
  "udp_delivery=$udp_delivery icmp_delivery=$icmp_delivery"
