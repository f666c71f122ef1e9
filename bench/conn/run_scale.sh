#!/usr/bin/env bash
# run_scale.sh: issue #4's benchmark. 65,536 emulated hosts (EtherConns with distinct MACs) on one
# AF_XDP PacketRelay on a veth between two namespaces; bench/xdp's live-frames generator sends
# 64-byte frames (60 without FCS) round robin to all of them (a different dst MAC and IP on every
# frame: --dst-mac 02:00:00:01:00:00+65536 --dst-ip 10.1.0.0+65536), each frame is demultiplexed
# into its host's receive queue and drained by a consumer thread (conn_scale_live); in the same
# run, alternating, all traffic goes to 1 of the registered hosts. Generator on CPU 0; the
# relay's poll thread and the consumer on CPU 1; 1 queue, native XDP, copy mode.
# A third run per pair sends to the same hosts in a scattered order (xdp_livegen --host-stride
# 40503: frame n to host n * 40503 mod HOSTS, every host once per round, never two neighbouring
# MACs in a row). The steering program's table keeps consecutive MACs together (bpf/steer_abi.h),
# which the issue's round robin profits from and the scattered order does not; scale_ratio is the
# issue's (round robin), scattered_ratio the scattered order against the same one-host run.
# On veth the rate is bounded by the generator's CPU, which also runs the receiving side's XDP
# program; the poll and consumer threads' CPU time per frame shows the cost of the host count in
# user space where the rate cannot.
#   usage: run_scale.sh BUILD_DIR [PAIRS=3] [SECONDS=3] [HOSTS=65536]
# Experiment, not the issue's runs: YIELD=1 in the environment makes the consumer give its CPU
# back to the poll thread every 256 hosts and after each batch (conn_scale_live --yield);
# RX_OPTS="..." adds options to conn_scale_live (e.g. RX_OPTS="--depth 1": each host's queue holds
# one frame, 8 MiB of queues instead of 64 MiB, to see what the queues' cache footprint costs).
# Last line: RESULT hosts= one_host_rx_pps= all_hosts_rx_pps= scale_ratio= rss_mib=
#            one_host_cpu_ns= all_hosts_cpu_ns= scale_cpu_ratio= one_host_steer_ns= all_hosts_steer_ns=
#            scattered_rx_pps= scattered_ratio= scattered_cpu_ns= scattered_steer_ns=
# (cpu_ns: the poll and consumer threads' CPU time per drained frame; steer_ns: the XDP steering
# program's run time per frame from kernel.bpf_stats_enabled, which the script turns on and back)
set -euo pipefail
build=${1:?usage: run_scale.sh BUILD_DIR [PAIRS] [SECONDS] [HOSTS]}
pairs=${2:-3}
secs=${3:-3}
hosts=${4:-65536}
gen_tool=$build/bench/xdp/xdp_livegen
rx_tool=$build/bench/conn/conn_scale_live
for t in "$gen_tool" "$rx_tool"; do
  [[ -x $t ]] || { echo "missing $t (configure with -DETHERPATH_BENCH=ON)" >&2; exit 2; }
done
[[ $(id -u) == 0 ]] || { echo "needs root (namespaces, XDP)" >&2; exit 2; }

source "$(dirname "${BASH_SOURCE[0]}")/../lib/gen_sink_veth.sh"
gen_sink_names es
rx_pid=
old_bpf_stats=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
  [[ -n $rx_pid ]] && kill "$rx_pid" 2>/dev/null || true
  sysctl -qw kernel.bpf_stats_enabled="$old_bpf_stats" || true
  gen_sink_remove
}
trap cleanup EXIT
# The steering program's own run time per frame (it runs on the generator's CPU on veth).
sysctl -qw kernel.bpf_stats_enabled=1
gen_sink_create
common=(--src-mac 02:00:00:00:00:01 --src-ip 10.0.0.1 --sport 9 --dport 9 --size 60)
one=(--dst-mac 02:00:00:01:00:00 --dst-ip 10.1.0.0)
all=(--dst-mac "02:00:00:01:00:00+$hosts" --dst-ip "10.1.0.0+$hosts")
# The scattered order's stride: 40503 (about 65536 / the golden ratio), or the next odd number
# coprime with HOSTS, so that every host still gets one frame per round.
gcd() { local a=$1 b=$2 t; while ((b)); do t=$((a % b)); a=$b; b=$t; done; echo "$a"; }
stride=40503
while (($(gcd "$stride" "$hosts") != 1)); do stride=$((stride + 2)); done
scattered=("${all[@]}" --host-stride "$stride")

field() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" | tail -1; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print 0; else print a[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print 0 }'; }
sum() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a + b }'; }
declare -A s
add() { s[$1]+="$2"$'\n'; }
med() { printf '%s' "${s[$1]:-}" | sed '/^$/d' | median; }

# The steering program on the sink veth: average ns per run so far (bpf_stats).
steer_ns() {
  local id
  id=$($S ip -d -j link show dev s$tag | /usr/bin/python3 -c 'import json,sys; l=json.load(sys.stdin)[0]; print(l.get("xdp",{}).get("prog",{}).get("id",0))')
  [[ $id != 0 ]] || { echo 0; return; }
  bpftool -j prog show id "$id" | /usr/bin/python3 -c 'import json,sys; p=json.load(sys.stdin); c=p.get("run_cnt",0); print("%.1f" % (p.get("run_time_ns",0)/c) if c else 0)'
}

# run_one LABEL FLOW...: the receiver registers the hosts, then the generator sends; prints
# "gen_pps rx_pps cpu_ns rss steer_ns lost" (cpu_ns = poll + consumer thread CPU per drained frame;
# lost = the receiver's rx_ring_full + rx_fill_ring_empty_descs: frames the sink did not take).
run_one() {
  local label=$1; shift
  $S "$rx_tool" -i s$tag --hosts "$hosts" -d $((secs + 3)) --poll-cpu 1 --consumer-cpu 1 \
    ${YIELD:+--yield} ${RX_OPTS:-} >"$tmp/rx" 2>&1 &
  rx_pid=$!
  for _ in $(seq 1 600); do
    grep -q "registered" "$tmp/rx" && break
    kill -0 $rx_pid 2>/dev/null || { cat "$tmp/rx" >&2; exit 1; }
    sleep 0.1
  done
  local out
  out=$($G "$gen_tool" -i g$tag -d "$secs" -c 0 "${common[@]}" "$@" 2>/dev/null)
  local steer
  steer=$(steer_ns 2>/dev/null || echo 0)
  wait $rx_pid
  rx_pid=
  sed 's/^/  /' "$tmp/rx" | grep -v RESULT >&2
  local poll cons
  poll=$(field poll_cpu_ns <"$tmp/rx")
  cons=$(field consumer_cpu_ns <"$tmp/rx")
  local lost
  lost=$(sed -n 's/.*"rx_fill_ring_empty_descs":\([0-9]*\).*"rx_ring_full":\([0-9]*\).*/\1 \2/p' "$tmp/rx" |
    awk '{ n += $1 + $2 } END { print n + 0 }')
  echo "$(field gen_pps <<<"$out") $(field scale_rx_pps <"$tmp/rx") $(sum "$poll" "$cons") $(field rss_mib <"$tmp/rx") $steer $lost"
}

for ((p = 1; p <= pairs; p++)); do
  read -r og orx ocpu _ osteer olost < <(run_one one "${one[@]}")
  read -r ag arx acpu arss asteer alost < <(run_one all "${all[@]}")
  read -r sg srx scpu _ ssteer slost < <(run_one scattered "${scattered[@]}")
  echo "pair $p: one host: offered $og pps, drained $orx pps, $ocpu ns/frame user space, steering $osteer ns/frame, sink lost $olost; all $hosts hosts: offered $ag pps, drained $arx pps, $acpu ns/frame, steering $asteer ns/frame, sink lost $alost, rss $arss MiB; scattered: offered $sg pps, drained $srx pps, $scpu ns/frame, steering $ssteer ns/frame, sink lost $slost"
  add scattered "$srx"; add scattered_ratio "$(ratio "$srx" "$orx")"
  add scattered_cpu "$scpu"; add scattered_steer "$ssteer"
  add one "$orx"; add all "$arx"; add ratio "$(ratio "$arx" "$orx")"
  add one_cpu "$ocpu"; add all_cpu "$acpu"; add cpu_ratio "$(ratio "$ocpu" "$acpu")"
  add rss "$arss"; add one_steer "$osteer"; add all_steer "$asteer"
done

echo "pinning: generator CPU 0, relay poll thread and consumer CPU 1; each pair: one host, all hosts round robin, all hosts scattered (--host-stride $stride); 64-byte frames, 1 queue, native XDP, copy mode; $pairs pairs of $secs s; ratios are medians of per-pair ratios"
echo "RESULT hosts=$hosts one_host_rx_pps=$(med one) all_hosts_rx_pps=$(med all) scale_ratio=$(med ratio) rss_mib=$(med rss) one_host_cpu_ns=$(med one_cpu) all_hosts_cpu_ns=$(med all_cpu) scale_cpu_ratio=$(med cpu_ratio) one_host_steer_ns=$(med one_steer) all_hosts_steer_ns=$(med all_steer) scattered_rx_pps=$(med scattered) scattered_ratio=$(med scattered_ratio) scattered_cpu_ns=$(med scattered_cpu) scattered_steer_ns=$(med scattered_steer)"
