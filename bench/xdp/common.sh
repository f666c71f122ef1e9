# bench/xdp/common.sh: sourced by bench/xdp's scripts: where a build keeps the tools, the checks
# every script makes before it creates namespaces, and the generator/sink veth set-up.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
#   xdp_bench_tools BUILD_DIR TOOL...   # sets tools=BUILD_DIR/bench/xdp; exits 2 when a tool is
#                                       # missing or we are not root; loads bench/lib/gen_sink_veth.sh
#   "${flow[@]}"                        # the one flow every generator, sender and sink here uses

# 64-byte frames (60 without the FCS) from the generator's side to the sink's: the generators'
# and senders' header fields, and what xdp_sink --validate expects.
flow=(--dst-mac 02:00:00:00:00:02 --src-mac 02:00:00:00:00:01 --dst-ip 10.0.0.2 --src-ip 10.0.0.1
      --sport 9 --dport 9 --size 60)
xdp_bench_tools() {
  local build=$1 t
  shift
  tools=$build/bench/xdp
  for t in "$@"; do
    [[ -x $tools/$t ]] || { echo "missing $tools/$t (configure with -DETHERPATH_BENCH=ON)" >&2; exit 2; }
  done
  [[ $(id -u) == 0 ]] || { echo "needs root (namespaces, XDP)" >&2; exit 2; }
  source "$(dirname "${BASH_SOURCE[0]}")/../lib/gen_sink_veth.sh"
}
