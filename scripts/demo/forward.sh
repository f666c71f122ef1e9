#!/usr/bin/env bash
# The forwarding demo: pkthere on AF_XDP between a client and a DNS server in network namespaces.
#
#   client ns                  relay ns                                upstream ns
#   192.0.2.2  ---- veth ----  192.0.2.1 | pkthere | 198.51.100.1 ---- veth ----  198.51.100.2
#   dig, UDP burst             --iface           --there-iface                     dnsmasq :53
#
# pkthere listens on UDP 192.0.2.1:5354 and forwards to dnsmasq at 198.51.100.2:53. dig sends DNS
# queries from one fixed source port (pkthere locks onto its first client), then a burst of
# DNS queries over UDP follows from that same port. The script prints pkthere's stats JSON and the XDP
# mode in use, and removes everything it made, also on failure and Ctrl-C.
#
# Usage: scripts/demo/forward.sh [BUILD]   (as root; BUILD holds tools/pkthere, default build/). EP_DEMO_ENGINE=socket runs pkthere on kernel
#        sockets instead, for comparison. EP_DEMO_BURST=N sets the burst size (default 20000).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
engine=${EP_DEMO_ENGINE:-xdp}
burst=${EP_DEMO_BURST:-20000}
pkthere=$build/tools/pkthere/pkthere
py=/usr/bin/python3

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: needs root (it creates network namespaces and attaches XDP programs)" >&2
  exit 1
fi
[ -x "$pkthere" ] || { echo "demo: $pkthere is missing; build it first (scripts/demo.sh does)" >&2; exit 1; }
for tool in ip ethtool dnsmasq dig $py; do
  command -v "$tool" >/dev/null || { echo "demo: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done

# Names unique to this run, so two demos (or a demo and the tests) never collide.
id=$$
C=epdc$id R=epdr$id U=epdu$id         # namespaces
VC=dc$id VR=dr$id VS=ds$id VU=du$id   # veths: VC-VR (client link), VS-VU (upstream link)
work=$(mktemp -d /tmp/etherpath-demo.XXXXXX)
pids=()

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  # Deleting a namespace deletes its veth ends, and with them any XDP program on them.
  for ns in $C $R $U; do
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$work"
  if [ "$status" -ne 0 ]; then
    echo "demo: stopped (exit $status); namespaces and processes removed" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }

step "namespaces $C (client), $R (relay), $U (upstream), joined by veth pairs"
for ns in $C $R $U; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
ip -n $C link add $VC type veth peer name $VR netns $R
ip -n $R link add $VS type veth peer name $VU netns $U
ip -n $C addr add 192.0.2.2/24 dev $VC
ip -n $R addr add 192.0.2.1/24 dev $VR
ip -n $R addr add 198.51.100.1/24 dev $VS
ip -n $U addr add 198.51.100.2/24 dev $VU
ip -n $C link set $VC up
ip -n $R link set $VR up
ip -n $R link set $VS up
ip -n $U link set $VU up
# veth hands a local sender's frames over with the UDP checksum only started (TX checksum
# offload); the kernel on the other end trusts that, but AF_XDP sees the partial value and
# pkthere's datapath checks every checksum. A NIC would finish them; here the client's and the
# upstream's veths are told to.
ip netns exec $C ethtool -K $VC tx off >/dev/null
ip netns exec $U ethtool -K $VU tx off >/dev/null
ip -br -n $C addr show dev $VC
ip -br -n $R addr show dev $VR
ip -br -n $R addr show dev $VS
ip -br -n $U addr show dev $VU

step "dnsmasq in $U answers *.demo.test on 198.51.100.2:53"
ip netns exec $U dnsmasq --keep-in-foreground -C /dev/null --no-resolv --no-hosts \
  --bind-interfaces --listen-address=198.51.100.2 --port=53 \
  --address=/demo.test/203.0.113.7 --pid-file= --log-facility="$work/dnsmasq.log" \
  >"$work/dnsmasq.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  if ip netns exec $U dig @198.51.100.2 ready.demo.test +tries=1 +timeout=1 +short 2>/dev/null |
      grep -q 203.0.113.7; then
    break
  fi
  sleep 0.1
done
ip netns exec $U dig @198.51.100.2 ready.demo.test +tries=1 +timeout=1 +short | grep -q 203.0.113.7 ||
  { echo "demo: dnsmasq did not come up: $(cat "$work/dnsmasq.out")" >&2; exit 1; }
echo "dnsmasq is up"

step "pkthere --engine $engine in $R: UDP 192.0.2.1:5354 -> 198.51.100.2:53"
args=(--here UDP:192.0.2.1:5354 --there UDP:198.51.100.2:53 --user nobody --timeout-secs 30)
if [ "$engine" = xdp ]; then
  # Client side on VR, upstream side on VS: one UMEM shared by both, frames forwarded in place.
  # The upstream's MAC comes from the kernel's route and neighbour tables (netlink).
  args+=(--engine xdp --iface "$VR" --there-iface "$VS")
else
  args+=(--engine socket)
fi
echo "pkthere ${args[*]}"
ip netns exec $R "$pkthere" "${args[@]}" >"$work/pkthere.out" 2>"$work/pkthere.err" &
pkthere_pid=$!
pids+=("$pkthere_pid")
for _ in $(seq 100); do
  grep -q '^\[INFO\] Engine' "$work/pkthere.out" 2>/dev/null && break
  kill -0 $pkthere_pid 2>/dev/null || break
  sleep 0.05
done
if ! grep -q '^\[INFO\] Engine' "$work/pkthere.out"; then
  echo "demo: pkthere did not start:" >&2
  cat "$work/pkthere.out" "$work/pkthere.err" >&2
  exit 1
fi
grep '^\[INFO\]' "$work/pkthere.out"

step "dig in $C: 20 queries from 192.0.2.2#5300 through pkthere"
for i in $(seq 1 20); do echo "host$i.demo.test A"; done >"$work/queries"
ip netns exec $C dig -b 192.0.2.2#5300 @192.0.2.1 -p 5354 -f "$work/queries" +tries=2 +timeout=2 \
  +noall +answer >"$work/dig.out" || true
head -3 "$work/dig.out"
echo "..."
answered=$(grep -c 'IN[[:space:]]*A[[:space:]]*203.0.113.7' "$work/dig.out" || true)
echo "dig: $answered of 20 queries answered"

step "ping in $C to the relay's own address: the kernel still answers (only UDP 5354 is steered)"
ip netns exec $C ping -c 3 -i 0.2 -W 1 192.0.2.1 | tail -2

step "a burst of $burst DNS queries in $C from the same source port, as fast as replies drain"
# A kernel UDP socket bound to dig's address and port: pkthere's single-client lock is on it.
ip netns exec $C $py - "$burst" <<'PY'
import socket, struct, sys, time
total = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.2", 5300))
s.connect(("192.0.2.1", 5354))
s.setblocking(False)
qname = b"".join(bytes([len(p)]) + p for p in b"burst.demo.test".split(b".")) + b"\0"
def query(i):  # id, RD, one question: burst.demo.test A IN
    return struct.pack("!HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 1, 1)
sent = answered = 0
start = time.monotonic()
def drain():
    global answered
    while True:
        try:
            s.recv(2048)
            answered += 1
        except BlockingIOError:
            return
while sent < total:
    for _ in range(min(64, total - sent)):
        try:
            s.send(query(sent))
            sent += 1
        except BlockingIOError:
            break
    drain()
    # Keep at most ~512 queries in flight, so the burst measures forwarding, not dropping.
    while sent - answered > 512 and time.monotonic() - start < 30:
        time.sleep(0.0002)
        drain()
deadline = time.monotonic() + 1.0
while answered < sent and time.monotonic() < deadline:
    time.sleep(0.001)
    drain()
secs = time.monotonic() - start
print("burst: %d queries sent, %d answers back in %.2f s (%.0f round trips/s)"
      % (sent, answered, secs, answered / secs))
PY
sleep 1.5  # one more per-second stats line after the burst

step "pkthere's stats (the last JSON line it printed)"
kill -TERM $pkthere_pid
wait $pkthere_pid || true   # exits 130 after a final stats line
grep '^{' "$work/pkthere.out" | tail -1 >"$work/stats.json"
if [ -x $py ]; then
  $py -m json.tool "$work/stats.json"
  $py - "$work/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print()
print("XDP mode in use: %s" % s.get("xdp_mode", "none (engine %s)" % s.get("engine", "?")))
print("client -> upstream: %s packets, upstream -> client: %s packets" %
      (s.get("c2u_pkts"), s.get("u2c_pkts")))
PY
else
  cat "$work/stats.json"
fi
[ "$answered" -eq 20 ] || { echo "demo: only $answered of 20 DNS queries were answered" >&2; exit 1; }
step "done: removing the namespaces"
