// RUDPConn against real peers, on AF_XDP and libpcap: etherconn's TestRUDPConn (two RUDPConns,
// VLAN 100, v4 and v6, 10 payloads byte for byte), and the kernel stack as the peer untagged,
// 802.1Q and QinQ (tests/support VlanPeer), each side learning the other's MAC by ARP/NDP.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/udp_transport.hpp"
#include "conn/ether_conn.hpp"
#include "conn/neighbor.hpp"
#include "conn/rudp_conn.hpp"
#include "datapath/packet_relay.hpp"
#include "tests/netns/rudp/fixture.hpp"
#include "tests/netns/rudp/kernel_peer.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/vlan_peer.hpp"

namespace etherpath::conn {
namespace {

using namespace std::chrono_literals;
using namespace etherpath::conn::test;

// --- etherconn's TestRUDPConn ---------------------------------------------------------------

class RudpPair : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    ASSERT_TRUE(net_.setup());
  }
  void TearDown() override { net_.teardown(); }
  TwoNamespaces net_;
};

TEST_P(RudpPair, TenPayloadsEachWayV4AndV6OnVlan100) {
  net_.relay_a = open_relay(*net_.ns_a, net_.veth->a(), GetParam());
  net_.relay_b = open_relay(*net_.ns_b, net_.veth->b(), GetParam());
  ASSERT_TRUE(net_.relay_a && net_.relay_b);
  const VlanStack vlans = VlanStack::parse("100").value();
  auto ca = EtherConn::open(*net_.relay_a, {.mac = net_.veth->mac_a(), .vlans = vlans});
  auto cb = EtherConn::open(*net_.relay_b, {.mac = net_.veth->mac_b(), .vlans = vlans});
  ASSERT_TRUE(ca && cb);
  const MacAddress mac_b = net_.veth->mac_b();
  const MacAddress mac_a = net_.veth->mac_a();
  struct Flow {
    const char* a;
    const char* b;
  };
  // etherconn's test uses public addresses (x.1 -> x.100, 2001:dead::1 -> 2001:beef::1); the same
  // shape in private and documentation space, so no test names an address on the Internet.
  for (const Flow flow : {Flow{"10.1.1.1:1999", "10.1.1.100:2999"},
                          Flow{"[2001:db8:dead::1]:1999", "[2001:db8:beef::1]:2999"}}) {
    SCOPED_TRACE(flow.a);
    // etherconn's test resolves with a function that returns the peer's MAC.
    RUDPConnOptions oa{.local = ep(flow.a)};
    oa.resolver = [&](const IpAddress&, std::chrono::milliseconds) -> Result<MacAddress> {
      return mac_b;
    };
    RUDPConnOptions ob{.local = ep(flow.b)};
    ob.resolver = [&](const IpAddress&, std::chrono::milliseconds) -> Result<MacAddress> {
      return mac_a;
    };
    auto ua = RUDPConn::open(**ca, oa);
    auto ub = RUDPConn::open(**cb, ob);
    ASSERT_TRUE(ua && ub);
    std::array<std::byte, 2048> buf{};
    for (std::size_t i = 0; i < 10; ++i) {
      const auto p = payload(i, 1000 - (i * 93) % 937);
      ASSERT_TRUE((*ua)->send_to(p, ep(flow.b))) << i;
      auto got = (*ub)->recv_from(buf, 3s);
      ASSERT_TRUE(got) << got.error();
      EXPECT_EQ(got->from, ep(flow.a));
      ASSERT_EQ(got->size, p.size());
      EXPECT_TRUE(std::equal(p.begin(), p.end(), buf.begin())) << i;
      ASSERT_TRUE((*ub)->send_to(ConstBytes(buf.data(), got->size), got->from));
      auto back = (*ua)->recv_from(buf, 3s);
      ASSERT_TRUE(back) << back.error();
      EXPECT_EQ(back->from, ep(flow.b));
      ASSERT_EQ(back->size, p.size());
      EXPECT_TRUE(std::equal(p.begin(), p.end(), buf.begin())) << i;
    }
  }
  net_.conns.push_back(std::move(*ca));
  net_.conns.push_back(std::move(*cb));
}

INSTANTIATE_TEST_SUITE_P(Engines, RudpPair, ::testing::Values(Engine::xdp, Engine::pcap),
                         [](const auto& p) { return engine_name(p.param); });

// --- the kernel as the peer -------------------------------------------------------------------

using RudpKernelPeer = KernelPeerTest;

TEST_P(RudpKernelPeer, DatagramsBothWaysWithArpOrNdp) {
  const KernelPeerCase& pc = std::get<1>(GetParam());
  // The emulated host: a MAC and VLANs no OS interface has.
  const Status started =
      start("10.77.0.1", "2001:db8:77::1", MacAddress::parse("02:00:00:00:4d:02").value());
  ASSERT_TRUE(started) << started.error();
  const std::string& b = net_.veth->b();
  const IpEndpoint local = pc.v6 ? ep("[2001:db8:77::2]:5000") : ep("10.77.0.2:5000");
  const IpEndpoint kernel = pc.v6 ? ep("[2001:db8:77::1]:6000") : ep("10.77.0.1:6000");
  auto udp = RUDPConn::open(conn(), {.local = local}, &neighbor());
  ASSERT_TRUE(udp) << udp.error();
  auto sock = in_netns(*net_.ns_b, [&] { return UdpTransport::open(kernel); });
  ASSERT_TRUE(sock) << sock.error();

  std::array<std::byte, 2048> buf{};
  for (std::size_t i = 0; i < 5; ++i) {
    const auto p = payload(i, 20 + i * 301);
    ASSERT_TRUE((*udp)->send_to(p, kernel)) << i;
    auto got = sock->recv_from(buf, 3s);
    ASSERT_TRUE(got) << got.error();
    EXPECT_EQ(got->from, local);
    ASSERT_EQ(got->size, p.size());
    EXPECT_TRUE(std::equal(p.begin(), p.end(), buf.begin())) << i;
    const auto r = payload(i + 100, 10 + i * 257);
    ASSERT_TRUE(sock->send_to(r, local));
    auto back = (*udp)->recv_from(buf, 3s);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back->from, kernel);
    ASSERT_EQ(back->size, r.size());
    EXPECT_TRUE(std::equal(r.begin(), r.end(), buf.begin())) << i;
  }
  // Each side learnt the other's MAC: we by its reply, the kernel by our request.
  EXPECT_EQ(neighbor().lookup(vlans(), kernel.address), net_.veth->mac_b());
  auto neigh = net_.ns_b->exec("ip " + std::string(pc.v6 ? "-6 " : "") + "neigh show dev " + b);
  ASSERT_TRUE(neigh);
  EXPECT_NE(neigh->find("02:00:00:00:4d:02"), std::string::npos) << *neigh;
  if (net_.peer) {
    auto c = net_.peer->counters();
    ASSERT_TRUE(c);
    EXPECT_GT(c->rx_accepted, 0U);
    EXPECT_EQ(c->errors, 0U);
  }
  net_.udp.push_back(std::move(*udp));
}

INSTANTIATE_TEST_SUITE_P(Peers, RudpKernelPeer,
                         ::testing::Combine(::testing::Values(Engine::xdp, Engine::pcap),
                                            ::testing::ValuesIn(kKernelPeerCases)),
                         kernel_peer_name);

}  // namespace
}  // namespace etherpath::conn
