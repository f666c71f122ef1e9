#!/usr/bin/env bash
# Installs the dependencies (Debian 12, as root), builds etherpath in BUILD (default build/) and
# runs every test label: unit, fuzz (corpus replay), then bpf and netns one at a time.
# Tests that need root skip with a reason when not run as root.
# ETHERPATH_SKIP_INSTALL=1 skips the apt-get step (CI has just done it).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
if [ "${ETHERPATH_SKIP_INSTALL:-0}" != 1 ]; then
  if [ "$(id -u)" -eq 0 ]; then bash scripts/install-deps.sh; else echo "not root: skipping apt-get"; fi
fi
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
ninja -C "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -L 'unit|fuzz' -j"$(nproc)"
# bpf and netns tests change kernel state (XDP programs, namespaces): one at a time.
ctest --output-on-failure -L 'bpf|netns' -j1 --no-tests=ignore
