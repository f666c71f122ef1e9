#!/usr/bin/env bash
# run_forward.sh: issue #6's forwarding benchmark. One script, one run, one three-namespace veth
# setup (client | relay | upstream), 64-byte and 1400-byte UDP frames (60 and 1396 bytes without
# FCS), every forwarder in the relay namespace between the relay's two veths:
#   xdp      pkthere --engine xdp --iface VR --there-iface VS (shared UMEM, rewrite in place)
#   socket   pkthere --engine socket (recvmmsg/sendmmsg)
#   socat    socat -b 2048 UDP4-LISTEN:5354,bind=R UDP4:U:9 (design.md §6)
#   testpmd  dpdk-testpmd, af_xdp vdevs on VR and VS, io mode, --no-huge --no-pci, one forwarding
#            lcore (io mode forwards the frames unchanged: no rewrite)
#   ceiling  xdp_txonly on VS (the plain AF_XDP copy-mode TX loop: what one core can send on VS)
# Generator: xdp_livegen (in-kernel live frames, XDP_TX out of the client's veth) on CPU 0, one
# client flow 10.79.1.2:5300 -> 10.79.1.1:5354. Forwarder on CPU 1 (testpmd: main lcore 0,
# forwarding lcore 1; ceiling: txonly on CPU 1). Sink: xdp_sink --validate on the upstream's veth,
# the same for every peer. pkthere's and socat's figures count only VALID frames (rewritten to
# 10.79.2.1 -> 10.79.2.2:9 with the relay's and the upstream's MACs, IPv4 and UDP checksums
# right), so a forwarder that skips the rewrite gains nothing; testpmd's and the ceiling's count
# ALL frames that reach the sink (testpmd does not rewrite). For the socket engine and socat an
# XDP_PASS program sits on the relay's client-side veth (xdp_pass.bpf.c): veth delivers XDP_TX
# frames only into a peer that runs NAPI.
# RTT: bench/relay/udp_rtt, one datagram outstanding (a low rate), client and echo on CPU 0,
# pkthere on CPU 1, no sink; xdp (default --spin-us 100), xdp --spin-us 0 and socket engines.
# Each figure is the median of RUNS runs (default 3), runs interleaved across the peers.
#   usage: run_forward.sh BUILD_DIR [RUNS] [SECONDS]
#   (BUILD_DIR configured with -DETHERPATH_BENCH=ON and built: pkthere, bench/xdp, bench/relay,
#    bench/forward). Needs root. The last line is the RESULT line.
set -euo pipefail
build=$(cd "${1:?usage: run_forward.sh BUILD_DIR [RUNS] [SECONDS]}" && pwd)
runs=${2:-3}
secs=${3:-3}
pkthere=$build/tools/pkthere/pkthere
livegen=$build/bench/xdp/xdp_livegen
sink=$build/bench/xdp/xdp_sink
txonly=$build/bench/xdp/xdp_txonly
rtt=$build/bench/relay/udp_rtt
pass_obj=$build/bench/forward/bpf_skel/fwd_pass.bpf.o
for f in "$pkthere" "$livegen" "$sink" "$txonly" "$rtt" "$pass_obj"; do
  [[ -e $f ]] || { echo "missing $f (configure with -DETHERPATH_BENCH=ON and build)" >&2; exit 2; }
done
[[ $(id -u) == 0 ]] || { echo "needs root (namespaces, XDP)" >&2; exit 2; }
have_socat=1 have_testpmd=1
command -v socat >/dev/null || { have_socat=0; echo "socat not found: its column is nan" >&2; }
command -v dpdk-testpmd >/dev/null ||
  { have_testpmd=0; echo "dpdk-testpmd not found (dpdk-dev): its column is nan" >&2; }

id=$$
C=epfc$id R=epfr$id U=epfu$id
VC=fc$id VR=fr$id VS=fs$id VU=fu$id
work=$(mktemp -d /tmp/ep-forward.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for ns in $C $R $U; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for ns in $C $R $U; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # No IPv6: the kernel's own ND/MLD frames would reach the sink as invalid frames.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n $C link add $VC type veth peer name $VR netns $R
ip -n $R link add $VS type veth peer name $VU netns $U
ip -n $C addr add 10.79.1.2/24 dev $VC
ip -n $R addr add 10.79.1.1/24 dev $VR
ip -n $R addr add 10.79.2.1/24 dev $VS
ip -n $U addr add 10.79.2.2/24 dev $VU
for link in "$C $VC" "$R $VR" "$R $VS" "$U $VU"; do
  read -r ns dev <<<"$link"
  ip -n "$ns" link set "$dev" up
  # veth hands local senders' frames over with UDP checksums only started (TX offload); XDP and
  # AF_XDP see the partial value. Every sender here finishes its checksums, as a NIC would.
  ip netns exec "$ns" ethtool -K "$dev" tx off >/dev/null
done
mac() { ip -n "$1" -br link show dev "$2" | awk '{print $3}'; }
MC=$(mac $C $VC) MR=$(mac $R $VR) MS=$(mac $R $VS) MU=$(mac $U $VU)
# The sink drops ARP too, so the relay learns the upstream's MAC here once (pkthere's netlink
# lookup finds the same entry).
ip -n $R neigh replace 10.79.2.2 lladdr "$MU" dev $VS nud permanent

# inns NS CMD...: CMD in NS with a bpffs (ip netns exec mounts a fresh /sys without one).
# bg_inns: the same in the background, so that $! is CMD's own PID (each step execs the next):
# a function run with & would put a subshell between us and CMD, and signals would miss it.
inns() { local ns=$1; shift; ip netns exec "$ns" sh -c 'mount -t bpf bpf /sys/fs/bpf 2>/dev/null; exec "$@"' sh "$@"; }
bg_inns() { local ns=$1; shift; ip netns exec "$ns" sh -c 'mount -t bpf bpf /sys/fs/bpf 2>/dev/null; exec "$@"' sh "$@" & }
field() { sed -n "s/.*\\b$1=\\([0-9.a-z]*\\).*/\\1/p" | tail -1; }
median() { sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else print a[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "nan" || b == "nan" || b + 0 == 0) print "nan"; else printf "%.2f", a / b}'; }
declare -A samples
add() { samples[$1]+="$2"$'\n'; }

# start_forwarder KIND UPSTREAM_PORT: runs it in the relay namespace, pinned; sets fwd_pid.
start_forwarder() {
  local kind=$1 port=$2
  local common=(--here UDP:10.79.1.1:5354 --there UDP:10.79.2.2:"$port" --user nobody --no-stats
    --timeout-secs 120)
  case $kind in
    xdp)
      bg_inns $R taskset -c 1 "$pkthere" "${common[@]}" --engine xdp --iface $VR --there-iface $VS \
        >"$work/fwd.out" 2>&1
      ;;
    xdp-nospin)
      # RTT only: the xdp engine blocking in poll() at once (--spin-us 0), for comparison with
      # the default bounded spin.
      bg_inns $R taskset -c 1 "$pkthere" "${common[@]}" --engine xdp --iface $VR --there-iface $VS \
        --spin-us 0 >"$work/fwd.out" 2>&1
      ;;
    socket)
      ip -n $R link set dev $VR xdpdrv obj "$pass_obj" sec xdp
      bg_inns $R taskset -c 1 "$pkthere" "${common[@]}" --engine socket >"$work/fwd.out" 2>&1
      ;;
    socat)
      ip -n $R link set dev $VR xdpdrv obj "$pass_obj" sec xdp
      bg_inns $R taskset -c 1 socat -b 2048 UDP4-LISTEN:5354,bind=10.79.1.1 UDP4:10.79.2.2:"$port" \
        >"$work/fwd.out" 2>&1
      ;;
    testpmd)
      # Main lcore 0, one forwarding lcore (1); one queue per port; stats-period keeps the
      # non-interactive testpmd forwarding until it is signalled.
      bg_inns $R dpdk-testpmd -l 0,1 --main-lcore 0 --no-huge -m 1024 --no-pci --file-prefix "ep$id" \
        --vdev "net_af_xdp0,iface=$VR,start_queue=0,queue_count=1" \
        --vdev "net_af_xdp1,iface=$VS,start_queue=0,queue_count=1" \
        -- --forward-mode=io --nb-cores=1 --rxq=1 --txq=1 --stats-period=60 \
        >"$work/fwd.out" 2>&1
      ;;
  esac
  fwd_pid=$!
  pids+=("$fwd_pid")
  local ready='Engine'
  [[ $kind == testpmd ]] && ready='start packet forwarding'
  [[ $kind == socat ]] && ready=''
  for _ in $(seq 100); do
    if [[ -z $ready ]] || grep -q "$ready" "$work/fwd.out" 2>/dev/null; then break; fi
    kill -0 "$fwd_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! kill -0 "$fwd_pid" 2>/dev/null; then
    echo "$kind did not start:" >&2
    cat "$work/fwd.out" >&2
    return 1
  fi
  sleep 0.5
}
stop_forwarder() {
  local status=0 killed=0
  kill -TERM "$fwd_pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$fwd_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$fwd_pid" 2>/dev/null; then
    killed=1
    echo "  (the forwarder did not stop within 5 s of SIGTERM: killed)" >&2
    kill -KILL "$fwd_pid" 2>/dev/null || true
  fi
  wait "$fwd_pid" 2>/dev/null || status=$?
  [[ -n ${EP_FORWARD_DEBUG:-} ]] && echo "  (forwarder exit status $status, killed $killed)" >&2
  if [[ -n ${EP_FORWARD_DEBUG:-} ]]; then tail -5 "$work/fwd.out" >&2; fi
  ip -n $R link set dev $VR xdpdrv off 2>/dev/null || true
  sleep 0.3
}

# CPU time in ns of every thread of PID so far (schedstat's first field, per task).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'; }
# Time in ns every thread of PID spent runnable but waiting for a CPU (schedstat's second field).
runq_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $2} END {printf "%.0f", s}'; }

# The client flow the generator sends, and the rewritten flow the sink accepts as valid.
client_flow() { echo --dst-mac "$MR" --src-mac "$MC" --dst-ip 10.79.1.1 --src-ip 10.79.1.2 --sport 5300 --dport 5354 --size "$1"; }
upstream_flow() { echo --dst-mac "$MU" --src-mac "$MS" --dst-ip 10.79.2.2 --src-ip 10.79.2.1 --sport 1-65535 --dport 9 --size "$1"; }

# measure KIND SIZE: one run; records KIND_pps_SIZE (valid frames for pkthere and socat, all
# frames for testpmd and the ceiling) and the offered rate.
measure() {
  local kind=$1 size=$2 label=$3
  # shellcheck disable=SC2046
  # The sink runs until the generator is done (SIGTERM makes it print its figures); it counts
  # from its first frame to its last, so start-up and tail do not dilute the rate.
  bg_inns $U "$sink" -i $VU -q --validate $(upstream_flow "$size") >"$work/sink.out" 2>&1
  local sp=$!
  pids+=("$sp")
  sleep 0.5
  local offered=nan cpu_before=0 cpu_after=0 t_before=0 t_after=0 wait_before=0 wait_after=0
  if [[ $kind == ceiling ]]; then
    # In the background for its PID (CPU time), stopped by SIGTERM after SECONDS.
    # shellcheck disable=SC2046
    bg_inns $R "$txonly" -i $VS -d $((secs + 30)) -c 1 $(upstream_flow "$size" | sed 's/1-65535/40000/') \
      >"$work/gen.out" 2>&1
    fwd_pid=$!
    pids+=("$fwd_pid")
    sleep "$secs"
    cpu_after=$(cpu_ns "$fwd_pid")
    kill -TERM "$fwd_pid" 2>/dev/null || true
    wait "$fwd_pid" 2>/dev/null || true
  else
    if ! start_forwarder "$kind" 9; then
      kill -TERM "$sp" 2>/dev/null; wait "$sp" 2>/dev/null
      add "${kind}_pps_$label" 0
      return
    fi
    cpu_before=$(cpu_ns "$fwd_pid")
    wait_before=$(runq_ns "$fwd_pid")
    t_before=$(date +%s%N)
    # shellcheck disable=SC2046
    inns $C "$livegen" -i $VC -d "$secs" -c 0 $(client_flow "$size") >"$work/gen.out" 2>&1 || true
    offered=$(field gen_pps <"$work/gen.out")
  fi
  [[ $kind == ceiling ]] ||
    { cpu_after=$(cpu_ns "$fwd_pid"); wait_after=$(runq_ns "$fwd_pid"); t_after=$(date +%s%N); }
  sleep 0.3
  kill -TERM "$sp" 2>/dev/null || true
  wait "$sp" || true
  [[ $kind == ceiling ]] || stop_forwarder
  local pps frames valid invalid counted
  pps=$(field sink_pps <"$work/sink.out"); pps=${pps:-0}
  frames=$(field sink_frames <"$work/sink.out"); frames=${frames:-0}
  valid=$(field sink_valid <"$work/sink.out"); valid=${valid:-0}
  invalid=$(field sink_invalid <"$work/sink.out"); invalid=${invalid:-0}
  if [[ $kind == testpmd || $kind == ceiling ]]; then
    counted=$pps
  else
    counted=$(awk -v p="$pps" -v f="$frames" -v v="$valid" 'BEGIN {printf "%.0f", (f > 0 ? p * v / f : 0)}')
  fi
  add "${kind}_pps_$label" "$counted"
  local per_frame
    # The forwarder process's CPU time (all its threads) per frame counted: what the forwarder
    # itself spends, which other load on the machine does not inflate. It leaves out the kernel
    # work that veth runs on the generator's CPU (XDP, the AF_XDP RX copy, the socket peers'
    # receive path). testpmd polls without pause, so its figure is its CPU share, not its work.
    # The ceiling's is txonly's own cost per frame sent (copy-mode TX: an skb and a copy each).
    per_frame=$(awk -v a="$cpu_before" -v b="$cpu_after" -v f="$frames" -v v="$valid" -v k="$kind" \
      'BEGIN {n = (k == "testpmd" || k == "ceiling" ? f : v); if (n > 0) printf "%.0f", (b - a) / n; else print "nan"}')
  add "${kind}_cpu_$label" "$per_frame"
  # Where the forwarder's wall time went while the generator ran (its start-up included): on the
  # CPU (busy), runnable but waiting for it (other work on CPU 1), and the rest asleep.
  local busy=nan waited=nan
  if [[ $kind != ceiling ]]; then
    busy=$(awk -v a="$cpu_before" -v b="$cpu_after" -v s="$t_before" -v e="$t_after" \
      'BEGIN {if (e > s) printf "%.0f%%", 100 * (b - a) / (e - s); else print "nan"}')
    waited=$(awk -v a="$wait_before" -v b="$wait_after" -v s="$t_before" -v e="$t_after" \
      'BEGIN {if (e > s) printf "%.0f%%", 100 * (b - a) / (e - s); else print "nan"}')
  fi
  echo "  $kind ${label}B: offered ${offered} pps; sink ${pps} pps (${frames} frames, ${valid} valid, ${invalid} invalid) -> ${counted} pps; forwarder CPU ${per_frame} ns/frame, busy ${busy}, runnable ${waited}" >&2
}

# rtt KIND: one run of udp_rtt through pkthere to the echo in the upstream namespace.
measure_rtt() {
  local kind=$1 out
  start_forwarder "$kind" 7000 || { add "${kind}_rtt_p50" nan; add "${kind}_rtt_p99" nan; return; }
  out=$(inns $C taskset -c 0 "$rtt" --dst 10.79.1.1:5354 --src 10.79.1.2:5301 --count 3000 2>&1 || true)
  stop_forwarder
  add "${kind}_rtt_p50" "$(field rtt_p50_us <<<"$out")"
  add "${kind}_rtt_p99" "$(field rtt_p99_us <<<"$out")"
  echo "  $kind rtt: $out" >&2
}

kinds=(xdp socket)
((have_socat)) && kinds+=(socat)
((have_testpmd)) && kinds+=(testpmd)
kinds+=(ceiling)
# EP_FORWARD_KINDS="xdp ceiling" measures only those (for development; the RESULT line then has
# nan for the others).
if [[ -n ${EP_FORWARD_KINDS:-} ]]; then read -r -a kinds <<<"$EP_FORWARD_KINDS"; fi
for ((r = 1; r <= runs; r++)); do
  echo "run $r of $runs" >&2
  for size in 60:64 1396:1400; do
    for kind in "${kinds[@]}"; do
      measure "$kind" "${size%%:*}" "${size##*:}"
    done
  done
done
# RTT: an echo on UDP 7000 in the upstream namespace (no sink attached now).
bg_inns $U taskset -c 0 "$rtt" --echo 10.79.2.2:7000 >/dev/null 2>&1
pids+=($!)
sleep 0.3
for ((r = 1; r <= runs; r++)); do
  for kind in xdp xdp-nospin socket; do measure_rtt "$kind"; done
done

m() { printf '%s' "${samples[$1]:-}" | median; }
echo "pinning: generator CPU 0; forwarder CPU 1 (testpmd: main lcore 0, forwarding lcore 1;"
echo "ceiling: xdp_txonly on CPU 1); RTT client and echo CPU 0. ${secs}s per run, medians of $runs."
echo "pkthere and socat: valid rewritten frames only; testpmd (io mode, no rewrite) and the"
echo "ceiling: every frame the sink saw."
for label in 64 1400; do
  printf '%4s B:' "$label"
  for kind in xdp socket socat testpmd ceiling; do printf ' %s=%s' "$kind" "$(m "${kind}_pps_$label")"; done
  x=$(m "xdp_pps_$label")
  printf '  vs_socat=%s vs_testpmd=%s vs_ceiling=%s vs_socket=%s\n' "$(ratio "$x" "$(m "socat_pps_$label")")" \
    "$(ratio "$x" "$(m "testpmd_pps_$label")")" "$(ratio "$x" "$(m "ceiling_pps_$label")")" \
    "$(ratio "$x" "$(m "socket_pps_$label")")"
done
for label in 64 1400; do
  printf '%4s B forwarder CPU ns/frame:' "$label"
  for kind in xdp socket socat testpmd ceiling; do printf ' %s=%s' "$kind" "$(m "${kind}_cpu_$label")"; done
  # peer / etherpath for costs (design.md §6): above 1 means pkthere spends less per frame.
  x=$(m "xdp_cpu_$label")
  printf '  cpu vs_socket=%s vs_socat=%s vs_ceiling=%s\n' "$(ratio "$(m "socket_cpu_$label")" "$x")" \
    "$(ratio "$(m "socat_cpu_$label")" "$x")" "$(ratio "$(m "ceiling_cpu_$label")" "$x")"
done
echo "RTT (us): xdp p50 $(m xdp_rtt_p50) p99 $(m xdp_rtt_p99); xdp --spin-us 0 p50 $(m xdp-nospin_rtt_p50) p99 $(m xdp-nospin_rtt_p99); socket p50 $(m socket_rtt_p50) p99 $(m socket_rtt_p99)"
x=$(m xdp_pps_64)
echo "RESULT xdp_pps_64=$x socket_pps_64=$(m socket_pps_64) socat_pps_64=$(m socat_pps_64)" \
  "testpmd_pps_64=$(m testpmd_pps_64) ceiling_pps_64=$(m ceiling_pps_64)" \
  "vs_socat=$(ratio "$x" "$(m socat_pps_64)") vs_testpmd=$(ratio "$x" "$(m testpmd_pps_64)")" \
  "vs_ceiling=$(ratio "$x" "$(m ceiling_pps_64)") xdp_pps_1400=$(m xdp_pps_1400)" \
  "xdp_rtt_p99_us=$(m xdp_rtt_p99) socket_rtt_p99_us=$(m socket_rtt_p99)"
