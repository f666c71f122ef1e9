#!/usr/bin/env bash
# Installs the dependencies (Debian 12, as root), builds etherpath and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then bash scripts/install-deps.sh; else echo "not root: skipping apt-get"; fi
[ -f build/build.ninja ] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
ninja -C build -j"$(nproc)" etherpath-demo
./build/tools/etherpath-demo/etherpath-demo
