// Shared by the conn-layer netns tests: two namespaces joined by a veth, relays on either
// engine (tests/support/relay_in_netns.hpp), conns torn down before the relays and the relays
// before the namespaces.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conn/ether_conn.hpp"
#include "conn/icmp_echo_conn.hpp"
#include "conn/neighbor.hpp"
#include "conn/rudp_conn.hpp"
#include "datapath/packet_relay.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/relay_in_netns.hpp"
#include "tests/support/vlan_peer.hpp"

namespace etherpath::conn::test {

using namespace std::chrono_literals;
using datapath::PacketRelay;
using etherpath::testing::engine_name;
using etherpath::testing::in_netns;
using etherpath::testing::NetNs;
using etherpath::testing::NetnsPair;
using etherpath::testing::RelayInNetns;
using etherpath::testing::VethPair;
using etherpath::testing::VlanPeer;

// Every conn-layer test runs on Engine::xdp (native copy mode) and Engine::pcap.
using Engine = etherpath::testing::TestEngine;

inline RelayInNetns open_relay(const NetNs& ns, const std::string& ifname, Engine e) {
  auto r = RelayInNetns::open(ns, ifname, e);
  EXPECT_TRUE(r) << r.error();
  return r ? std::move(*r) : RelayInNetns{};
}

// A payload of `size` bytes that differs per index.
inline std::vector<std::byte> payload(std::size_t index, std::size_t size) {
  std::vector<std::byte> p(size);
  for (std::size_t i = 0; i < size; ++i) {
    p[i] = static_cast<std::byte>((i * 7 + index * 13) & 0xffU);
  }
  return p;
}

inline IpEndpoint ep(const char* text) {
  return IpEndpoint::parse(text).value();
}

// Two namespaces joined by a veth; conns are torn down before the relays, the relays (inside
// their namespaces) before the veth and the namespaces.
class TwoNamespaces {
  std::optional<NetnsPair> pair_;  // first, so that it is destroyed last

 public:
  bool setup() {
    auto p = NetnsPair::create("ra", "rb");
    EXPECT_TRUE(p) << p.error();
    if (!p) {
      return false;
    }
    pair_.emplace(std::move(*p));
    ns_a = &pair_->a;
    ns_b = &pair_->b;
    veth = &pair_->veth;
    return true;
  }
  void teardown() {
    icmp.clear();
    udp.clear();
    neighbors.clear();
    conns.clear();
    peer.reset();
    relay_a.reset();
    relay_b.reset();
    pair_.reset();
  }
  const NetNs* ns_a = nullptr;
  const NetNs* ns_b = nullptr;
  const VethPair* veth = nullptr;
  std::optional<VlanPeer> peer;
  RelayInNetns relay_a, relay_b;
  std::vector<std::unique_ptr<EtherConn>> conns;
  std::vector<std::unique_ptr<Neighbor>> neighbors;
  std::vector<std::unique_ptr<RUDPConn>> udp;
  std::vector<std::unique_ptr<IcmpEchoConn>> icmp;
};

}  // namespace etherpath::conn::test
