#!/usr/bin/env bash
# Runs every test label (unit, bpf, netns, fuzz) in a build folder. Tests that need root skip
# with a reason when not run as root.
set -euo pipefail
build=${1:-build}
cd "$build"
ctest --output-on-failure -L 'unit|fuzz' -j"$(nproc)"
# bpf and netns tests change kernel state (XDP programs, namespaces): one at a time.
ctest --output-on-failure -L 'bpf|netns' -j1 --no-tests=ignore
