// Shared by the conn-layer netns tests: two namespaces joined by a veth, relays on either
// engine, conns torn down before the relays and the relays before the namespaces.
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
#include "tests/support/vlan_peer.hpp"

namespace etherpath::conn::test {

using namespace std::chrono_literals;
using datapath::EngineKind;
using datapath::PacketRelay;
using datapath::RelayOptions;
using etherpath::testing::in_netns;
using etherpath::testing::NetNs;
using etherpath::testing::VethPair;
using etherpath::testing::VlanPeer;

enum class Engine { xdp, pcap };

inline std::string engine_name(Engine e) {
  return e == Engine::xdp ? "xdp" : "pcap";
}

inline std::unique_ptr<PacketRelay> open_relay(const NetNs& ns, const std::string& ifname,
                                               Engine e) {
  RelayOptions o;
  o.engine = e == Engine::pcap ? EngineKind::pcap : EngineKind::xdp;
  o.xdp_mode = datapath::xdp::XdpMode::native_copy;
  o.frames_per_queue = 1024;
  auto r = in_netns(ns, [&] { return PacketRelay::open(ifname, o); });
  EXPECT_TRUE(r) << r.error();
  return r ? std::move(*r) : nullptr;
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

// Two namespaces joined by a veth; relays and conns are torn down before them.
class TwoNamespaces {
 public:
  bool setup() {
    auto a = NetNs::create("ra");
    auto b = NetNs::create("rb");
    if (!a || !b) {
      return false;
    }
    ns_a.emplace(std::move(*a));
    ns_b.emplace(std::move(*b));
    auto v = VethPair::create(*ns_a, *ns_b);
    EXPECT_TRUE(v) << v.error();
    if (!v) {
      return false;
    }
    veth.emplace(std::move(*v));
    return true;
  }
  void teardown() {
    icmp.clear();
    udp.clear();
    neighbors.clear();
    conns.clear();
    peer.reset();
    // The steering program is detached by netlink in the calling thread's namespace.
    if (ns_a) {
      in_netns(*ns_a, [&] { relay_a.reset(); });
    }
    if (ns_b) {
      in_netns(*ns_b, [&] { relay_b.reset(); });
    }
    veth.reset();
  }
  std::optional<NetNs> ns_a, ns_b;
  std::optional<VethPair> veth;
  std::optional<VlanPeer> peer;
  std::unique_ptr<PacketRelay> relay_a, relay_b;
  std::vector<std::unique_ptr<EtherConn>> conns;
  std::vector<std::unique_ptr<Neighbor>> neighbors;
  std::vector<std::unique_ptr<RUDPConn>> udp;
  std::vector<std::unique_ptr<IcmpEchoConn>> icmp;
};

}  // namespace etherpath::conn::test
