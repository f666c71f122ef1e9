// IcmpEchoConn against the kernel, untagged, 802.1Q and QinQ, on AF_XDP and libpcap: our echo
// requests get the kernel's replies (matched by identifier and sequence), and `ping` / `ping -6`
// from the kernel to the emulated address get ours. The kernel's neighbour entry is flushed
// first, so its ARP request / solicitation must be answered by our Neighbor: on AF_XDP that
// proves the steering program hands requests for owned addresses to user space.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "conn/icmp_echo_conn.hpp"
#include "tests/netns/rudp/fixture.hpp"

namespace etherpath::conn {
namespace {

using namespace etherpath::conn::test;

struct PingCase {
  const char* name;
  const char* vlans;
  std::uint16_t outer_tpid;
  bool v6;
};

class IcmpKernelPeer : public ::testing::TestWithParam<std::tuple<Engine, PingCase>> {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    ASSERT_TRUE(net_.setup());
  }
  void TearDown() override { net_.teardown(); }
  TwoNamespaces net_;
};

TEST_P(IcmpKernelPeer, EchoBothWays) {
  const auto [engine, pc] = GetParam();
  const VlanStack vlans = VlanStack::parse(pc.vlans, pc.outer_tpid).value();
  const std::string b = net_.veth->b();
  ASSERT_TRUE(net_.ns_b->exec("ip addr add 10.78.0.1/24 dev " + b +
                              " && ip -6 addr add 2001:db8:78::1/64 dev " + b + " nodad"));
  if (!vlans.empty()) {
    auto p = VlanPeer::attach(*net_.ns_b, b, vlans);
    ASSERT_TRUE(p) << p.error();
    net_.peer.emplace(std::move(*p));
  }
  net_.relay_a = open_relay(*net_.ns_a, net_.veth->a(), engine);
  ASSERT_TRUE(net_.relay_a);
  const MacAddress host_mac = MacAddress::parse("02:00:00:00:4e:02").value();
  auto conn = EtherConn::open(*net_.relay_a, {.mac = host_mac, .vlans = vlans});
  ASSERT_TRUE(conn) << conn.error();
  auto neighbor = Neighbor::open(*net_.relay_a);
  ASSERT_TRUE(neighbor) << neighbor.error();
  const IpAddress local = IpAddress::parse(pc.v6 ? "2001:db8:78::2" : "10.78.0.2").value();
  const IpAddress kernel = IpAddress::parse(pc.v6 ? "2001:db8:78::1" : "10.78.0.1").value();
  auto echo = IcmpEchoConn::open(
      **conn, {.local = local, .identifier = 0x4242, .answer_requests = true}, **neighbor);
  ASSERT_TRUE(echo) << echo.error();

  // Ours to the kernel.
  const auto data = payload(1, 56);
  for (std::uint16_t seq = 1; seq <= 3; ++seq) {
    auto rtt = (*echo)->ping(kernel, seq, data, 3s);
    ASSERT_TRUE(rtt) << "seq " << seq << ": " << rtt.error();
  }
  // The kernel's to us, after it forgot what it learnt from our requests.
  ASSERT_TRUE(net_.ns_b->exec("ip neigh flush dev " + b + " && ip -6 neigh flush dev " + b));
  std::atomic<bool> done{false};
  std::thread server([&] {
    while (!done.load()) {
      (*echo)->serve(100ms);
    }
  });
  auto out = net_.ns_b->exec(std::string("ping ") + (pc.v6 ? "-6 " : "") + "-c 3 -i 0.2 -W 2 " +
                             local.to_string());
  done = true;
  server.join();
  EXPECT_TRUE(out) << (out ? *out : out.error().context());
  EXPECT_GE((*echo)->requests_answered(), 3U);
  if (engine == Engine::pcap) {
    EXPECT_GE((*neighbor)->answered(), 1U) << "the kernel's request was not answered";
  }
  net_.icmp.push_back(std::move(*echo));
  net_.neighbors.push_back(std::move(*neighbor));
  net_.conns.push_back(std::move(*conn));
}

const PingCase kPingCases[] = {
    {"untagged_v4", "", 0x8100, false},   {"untagged_v6", "", 0x8100, true},
    {"dot1q_v4", "100", 0x8100, false},   {"dot1q_v6", "100", 0x8100, true},
    {"qinq_v4", "100.20", 0x88a8, false}, {"qinq_v6", "100.20", 0x88a8, true},
};

INSTANTIATE_TEST_SUITE_P(Peers, IcmpKernelPeer,
                         ::testing::Combine(::testing::Values(Engine::xdp, Engine::pcap),
                                            ::testing::ValuesIn(kPingCases)),
                         [](const auto& p) {
                           return engine_name(std::get<0>(p.param)) + "_" +
                                  std::get<1>(p.param).name;
                         });

}  // namespace
}  // namespace etherpath::conn
