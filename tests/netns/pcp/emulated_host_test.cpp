// PCP from an emulated host: pcp::Client over a RUDPConn (a MAC, VLANs and an IPv4 address that
// no OS interface has, on a PacketRelay in the client namespace), on AF_XDP and libpcap, untagged,
// 802.1Q and QinQ, against miniupnpd (miniupnpd_gateway.hpp; behind a VlanPeer when tagged). A MAP
// request gets a mapping to the emulated address, and revoking it removes the rule.
#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "conn/ether_conn.hpp"
#include "conn/neighbor.hpp"
#include "conn/rudp_conn.hpp"
#include "pcp/client.hpp"
#include "tests/netns/pcp/miniupnpd_gateway.hpp"
#include "tests/support/relay_in_netns.hpp"
#include "tests/support/vlan_peer.hpp"

namespace etherpath::pcp {
namespace {

using namespace std::chrono_literals;
using etherpath::testing::RelayInNetns;
using etherpath::testing::TestEngine;
using etherpath::testing::VlanPeer;
using test::kExternal;
using test::kGateway;
using test::wait_assigned;

const IpAddress kHost = IpAddress::v4(0x0a620114U);  // 10.98.1.20, on no OS interface
const MacAddress kHostMac = MacAddress::parse("02:00:00:98:01:14").value();

struct HostCase {
  const char* name;
  const char* vlans;
  std::uint16_t outer_tpid;
};

class EmulatedHostPcp : public ::testing::TestWithParam<std::tuple<TestEngine, HostCase>>,
                        protected test::MiniupnpdGateway {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    set_up(/*client_address=*/false);
  }
  void TearDown() override { tear_down(); }
};

TEST_P(EmulatedHostPcp, MapFromTheEmulatedHostGetsAMapping) {
  const auto [engine, hc] = GetParam();
  const VlanStack vlans = VlanStack::parse(hc.vlans, hc.outer_tpid).value();
  // Declared in the order they must be built; destroyed in reverse, the client (which owns the
  // RUDPConn and joins its thread) first and the relay last.
  std::optional<VlanPeer> peer;
  if (!vlans.empty()) {  // the gateway's kernel pops and pushes the tags
    auto p = VlanPeer::attach(*gw_, lan_link_->b(), vlans);
    ASSERT_TRUE(p) << p.error();
    peer.emplace(std::move(*p));
  }
  auto relay = RelayInNetns::open(*client_, lan_link_->a(), engine);
  ASSERT_TRUE(relay) << relay.error();
  auto neighbor = conn::Neighbor::open(**relay);
  ASSERT_TRUE(neighbor) << neighbor.error();
  auto host = conn::EtherConn::open(**relay, {.mac = kHostMac, .vlans = vlans});
  ASSERT_TRUE(host) << host.error();
  auto udp = conn::RUDPConn::open(**host, {.local = IpEndpoint{kHost, 40020}}, neighbor->get());
  ASSERT_TRUE(udp) << udp.error();

  ClientOptions options;
  options.transport = std::move(*udp);
  options.listen_announce = false;  // 5350 would be a kernel socket, not the emulated host's
  auto client = Client::start(kHost, kGateway, std::move(options));
  ASSERT_TRUE(client) << client.error();
  auto map = client->request(InboundMap(6020, 600s).protocol(Protocol::tcp), RequestType::once);
  ASSERT_TRUE(map) << map.error();
  const auto granted = wait_assigned(*map, 10s);
  ASSERT_TRUE(granted) << "no mapping; miniupnpd's log:\n" << daemon_->err();
  EXPECT_EQ(granted->external_address, kExternal);
  EXPECT_EQ(granted->external_port, 6020);
  EXPECT_EQ(granted->lifetime, 600s);
  EXPECT_TRUE(has_rule(6020, kHost)) << nat_rules();
  // The gateway learnt the emulated host's MAC by ARP (from our request or its own), and so
  // did we the gateway's.
  auto neigh = gw_->exec("ip neigh show " + kHost.to_string() + " dev " + lan_link_->b());
  ASSERT_TRUE(neigh) << neigh.error();
  EXPECT_NE(neigh->find(kHostMac.to_string()), std::string::npos) << *neigh;
  EXPECT_EQ((*neighbor)->lookup(vlans, kGateway), lan_link_->mac_b());

  ASSERT_TRUE(map->revoke());
  for (int i = 0; i < 50 && map->state() != State::revoked; ++i) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(map->state(), State::revoked);
  EXPECT_FALSE(has_rule(6020, kHost)) << nat_rules();
  EXPECT_TRUE(client->warnings().empty()) << client->warnings().front();
  if (peer) {
    auto c = peer->counters();
    ASSERT_TRUE(c) << c.error();
    EXPECT_GT(c->rx_accepted, 0U);
    EXPECT_GT(c->tx_tagged, 0U);
    EXPECT_EQ(c->errors, 0U);
  }
}

const HostCase kHostCases[] = {
    {"untagged", "", 0x8100},
    {"dot1q", "100", 0x8100},
    {"qinq", "100.20", 0x88a8},
};

INSTANTIATE_TEST_SUITE_P(Hosts, EmulatedHostPcp,
                         ::testing::Combine(::testing::Values(TestEngine::xdp, TestEngine::pcap),
                                            ::testing::ValuesIn(kHostCases)),
                         [](const auto& p) {
                           return etherpath::testing::engine_name(std::get<0>(p.param)) + "_" +
                                  std::get<1>(p.param).name;
                         });

}  // namespace
}  // namespace etherpath::pcp
