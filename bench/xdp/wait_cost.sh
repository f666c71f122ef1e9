#!/usr/bin/env bash
# wait_cost.sh: the syscall path an idle AF_XDP receiver pays per wakeup, on top of the context
# switch: thread CPU ns of one empty receive and one poll() with a zero timeout, for the plain
# loop (xdp_rxdrop), etherpath's receive-only socket (ep_rxdrop) and etherpath's socket with the
# TX ring a relay has (ep_rxdrop --tx-ring; in copy mode with need_wakeup the kernel's poll()
# drives a TX ring on every call). Thread CPU time of a loop of syscalls, so load moves it
# little. On an idle veth in a fresh namespace, sink CPU 1; medians of RUNS alternating runs.
#   usage: wait_cost.sh BUILD_DIR [RUNS=5] [ROUNDS=200000]
# Last line: RESULT plain_wait_ns= ep_wait_ns= ep_tx_ring_wait_ns=
set -euo pipefail
build=${1:?usage: wait_cost.sh BUILD_DIR [RUNS] [ROUNDS]}
runs=${2:-5}
rounds=${3:-200000}
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
xdp_bench_tools "$build" xdp_rxdrop ep_rxdrop

gen_sink_setup wc

field() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" | tail -1; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print 0; else print a[int((NR + 1) / 2)]}'; }
plain="" ep="" eptx=""
# The kernel frees a closed socket's queue after an RCU grace period: a bind right after the last
# tool exited can fail with EBUSY, hence the pause before each tool.
one() { sleep 0.5; $S "$@" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }; }
for ((r = 1; r <= runs; r++)); do
  p=$(one "$tools/xdp_rxdrop" -i s$tag -c 1 --wait-cost "$rounds" | field rxdrop_wait_ns)
  e=$(one "$tools/ep_rxdrop" -i s$tag -c 1 --wait-cost "$rounds" | field ep_wait_ns)
  t=$(one "$tools/ep_rxdrop" -i s$tag -c 1 --tx-ring --wait-cost "$rounds" | field ep_wait_ns)
  echo "run $r: plain $p ns, etherpath $e ns, etherpath with a TX ring $t ns per wakeup"
  plain+="$p"$'\n' ep+="$e"$'\n' eptx+="$t"$'\n'
done
echo "RESULT plain_wait_ns=$(printf '%s' "$plain" | median) ep_wait_ns=$(printf '%s' "$ep" | median) ep_tx_ring_wait_ns=$(printf '%s' "$eptx" | median)"
