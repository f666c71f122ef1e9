# bench/xdp/common.sh: sourced by bench/xdp's scripts: where a build keeps the tools, the checks
# every script makes before it creates namespaces, and the generator/sink veth set-up.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
#   xdp_bench_tools BUILD_DIR TOOL...   # sets tools=BUILD_DIR/bench/xdp; exits 2 when a tool is
#                                       # missing or we are not root; loads bench/lib/gen_sink_veth.sh
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
