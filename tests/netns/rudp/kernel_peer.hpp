// The kernel stack as the peer of one emulated host, untagged, 802.1Q or QinQ, on either engine:
// the set-up the UDP and ICMP kernel-peer tests share (kernel addresses on veth end b behind a
// VlanPeer when tagged, a relay on end a, the host's EtherConn and a Neighbor).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <tuple>

#include "tests/netns/rudp/fixture.hpp"

namespace etherpath::conn::test {

struct KernelPeerCase {
  const char* name;
  const char* vlans;
  std::uint16_t outer_tpid;
  bool v6;
};

inline constexpr KernelPeerCase kKernelPeerCases[] = {
    {"untagged_v4", "", 0x8100, false},   {"untagged_v6", "", 0x8100, true},
    {"dot1q_v4", "100", 0x8100, false},   {"dot1q_v6", "100", 0x8100, true},
    {"qinq_v4", "100.20", 0x88a8, false}, {"qinq_v6", "100.20", 0x88a8, true},
};

using KernelPeerParam = std::tuple<Engine, KernelPeerCase>;

inline std::string kernel_peer_name(const ::testing::TestParamInfo<KernelPeerParam>& p) {
  return engine_name(std::get<0>(p.param)) + "_" + std::get<1>(p.param).name;
}

class KernelPeerTest : public ::testing::TestWithParam<KernelPeerParam> {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    ASSERT_TRUE(net_.setup());
  }
  void TearDown() override { net_.teardown(); }

  // The kernel gets `kernel4`/24 and `kernel6`/64 on veth end b (behind a VlanPeer when the
  // case is tagged); a relay on end a carries the emulated host, an EtherConn with `host_mac`
  // on the case's VLANs (conn()), and a Neighbor (neighbor()). Both are owned by net_.
  Status start(const std::string& kernel4, const std::string& kernel6, const MacAddress& host_mac) {
    const auto& [engine, pc] = GetParam();
    EP_TRY(vlans_, VlanStack::parse(pc.vlans, pc.outer_tpid));
    const std::string& b = net_.veth->b();
    EP_TRY_STATUS(net_.ns_b->exec("ip addr add " + kernel4 + "/24 dev " + b +
                                  " && ip -6 addr add " + kernel6 + "/64 dev " + b + " nodad"));
    if (!vlans_.empty()) {
      EP_TRY(auto peer, VlanPeer::attach(*net_.ns_b, b, vlans_));
      net_.peer.emplace(std::move(peer));
    }
    EP_TRY(net_.relay_a, RelayInNetns::open(*net_.ns_a, net_.veth->a(), engine));
    EP_TRY(auto conn, EtherConn::open(*net_.relay_a, {.mac = host_mac, .vlans = vlans_}));
    net_.conns.push_back(std::move(conn));
    EP_TRY(auto neighbor, Neighbor::open(*net_.relay_a));
    net_.neighbors.push_back(std::move(neighbor));
    return ok();
  }
  [[nodiscard]] const VlanStack& vlans() const { return vlans_; }
  [[nodiscard]] EtherConn& conn() const { return *net_.conns.back(); }
  [[nodiscard]] Neighbor& neighbor() const { return *net_.neighbors.back(); }

  TwoNamespaces net_;

 private:
  VlanStack vlans_;
};

}  // namespace etherpath::conn::test
