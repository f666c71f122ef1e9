#!/usr/bin/env bash
# Installs what etherpath needs to build and test on Debian 12 (run as root).
# Set ETHERPATH_BENCH_DEPS=1 to add the benchmark-only peers (not needed for the tests).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
build=(cmake ninja-build pkg-config g++ clang-14 clang llvm libclang-rt-14-dev clang-format clang-tidy
  libxdp-dev libbpf-dev libpcap-dev libcli11-dev googletest libgtest-dev libgmock-dev bpftool
  libelf-dev zlib1g-dev nlohmann-json3-dev libfmt-dev libmnl-dev libcap-ng-dev)
test=(iproute2 ethtool iputils-ping nftables tcpdump tshark python3 python3-scapy dnsmasq
  bind9-dnsutils socat miniupnpd miniupnpd-nftables procps kmod)
bench=(libbenchmark-dev libtins-dev netsniff-ng dpdk-dev)
pkgs=("${build[@]}" "${test[@]}")
if [ "${ETHERPATH_BENCH_DEPS:-0}" = 1 ]; then pkgs+=("${bench[@]}"); fi
apt-get update -q
# tshark asks whether non-root users may capture; the answer does not matter to root.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get install -y -q --no-install-recommends "${pkgs[@]}"
# Debian's miniupnpd starts a service on install; the tests run their own instances.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now miniupnpd >/dev/null 2>&1 || true; fi
