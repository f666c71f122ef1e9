#!/usr/bin/env bash
# The README's first command: installs the dependencies (Debian 12, as root), builds pkthere in
# BUILD (default build/, Release) and runs the forwarding demo, scripts/demo/forward.sh: client,
# relay and upstream namespaces, pkthere on AF_XDP in the middle, dig and a UDP burst through it
# to dnsmasq, then pkthere's stats JSON and XDP mode. Everything it creates is removed at the end.
# ETHERPATH_SKIP_INSTALL=1 skips the apt-get step.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: run it as root: it installs packages, creates network namespaces and" \
    "attaches XDP programs" >&2
  exit 1
fi
if [ "${ETHERPATH_SKIP_INSTALL:-0}" != 1 ]; then bash scripts/install-deps.sh; fi
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
ninja -C "$build" -j"$(nproc)" pkthere
exec bash scripts/demo/forward.sh "$build"
