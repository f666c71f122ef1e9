# bench/lib/gen_sink_veth.sh: sourced by the benchmarks that need a generator namespace and a
# sink namespace joined by one veth pair (g$tag in $gen, s$tag in $sink). One copy of the set-up
# and its removal, so that every script measures on the same link.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib/gen_sink_veth.sh"
#   gen_sink_names PREFIX    # sets tag, gen, sink, tmp (a scratch dir), G and S (exec prefixes)
#   cleanup() { ...the script's own processes...; gen_sink_remove; }
#   trap cleanup EXIT        # before creating anything, so a failed set-up is removed too
#   gen_sink_create          # both namespaces, the veth pair up, IPv6 off
# or, for a script with no processes of its own to end at exit, all three steps in one:
#   gen_sink_setup PREFIX    # gen_sink_names, trap gen_sink_remove EXIT, gen_sink_create

gen_sink_names() {
  tag=$$
  gen=${1}gen$tag
  sink=${1}snk$tag
  tmp=$(mktemp -d)
  G="ip netns exec $gen"
  S="ip netns exec $sink"
}

gen_sink_create() {
  ip netns add "$gen"
  ip netns add "$sink"
  ip link add "g$tag" netns "$gen" type veth peer name "s$tag" netns "$sink"
  # No IPv6 on the link: the kernel's own ND/MLD frames would disturb the counts.
  local ns
  for ns in "$gen" "$sink"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  ip -n "$gen" link set "g$tag" up
  ip -n "$sink" link set "s$tag" up
}

# Deleting a namespace deletes its end of the pair, and with it the other end.
gen_sink_remove() {
  ip netns del "$gen" 2>/dev/null || true
  ip netns del "$sink" 2>/dev/null || true
  rm -rf "$tmp"
}

gen_sink_setup() {
  gen_sink_names "$1"
  trap gen_sink_remove EXIT
  gen_sink_create
}
