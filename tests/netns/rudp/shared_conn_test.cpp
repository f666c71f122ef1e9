// etherconn's TestSharedEtherConn between two relays, on AF_XDP and libpcap: untagged, VLAN 100
// with default conns, QinQ 100.200; two SharingRUDPConn pairs per side (one IPv4, one IPv6),
// 10 datagrams each way, byte for byte. The negative case, a datagram to a port nobody
// registered, must not arrive at any endpoint and is counted on the shared conn.
#include "conn/shared_conn.hpp"

#include <gtest/gtest.h>

#include "tests/netns/rudp/fixture.hpp"

namespace etherpath::conn {
namespace {

using namespace etherpath::conn::test;

struct SharedCase {
  const char* name;
  const char* vlans;
  bool is_default;
  std::uint16_t port_b;  // B's ports (A's are 1999 + i)
};

class SharedConns : public ::testing::TestWithParam<std::tuple<Engine, SharedCase>> {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    ASSERT_TRUE(net_.setup());
  }
  void TearDown() override {
    endpoints_.clear();
    shared_.clear();
    net_.teardown();
  }
  TwoNamespaces net_;
  std::vector<std::unique_ptr<SharingRUDPConn>> endpoints_;
  std::vector<std::unique_ptr<SharedEtherConn>> shared_;
};

TEST_P(SharedConns, TwoPairsAndANegative) {
  const auto [engine, sc] = GetParam();
  net_.relay_a = open_relay(*net_.ns_a, net_.veth->a(), engine);
  net_.relay_b = open_relay(*net_.ns_b, net_.veth->b(), engine);
  ASSERT_TRUE(net_.relay_a && net_.relay_b);
  auto na = Neighbor::open(*net_.relay_a);
  auto nb = Neighbor::open(*net_.relay_b);
  ASSERT_TRUE(na && nb);
  const VlanStack vlans = VlanStack::parse(sc.vlans).value();
  const MacAddress mac_a = MacAddress::parse("02:00:00:00:5a:01").value();
  const MacAddress mac_b = MacAddress::parse("02:00:00:00:5b:01").value();
  auto sa = SharedEtherConn::open(
      *net_.relay_a, {.mac = mac_a, .vlans = vlans, .is_default = sc.is_default}, **na);
  auto sb = SharedEtherConn::open(
      *net_.relay_b, {.mac = mac_b, .vlans = vlans, .is_default = sc.is_default}, **nb);
  ASSERT_TRUE(sa && sb);
  // etherconn's test resolves with a function that returns the other side's MAC.
  auto to = [](MacAddress m) {
    return [m](const IpAddress&, std::chrono::milliseconds) -> Result<MacAddress> { return m; };
  };
  const char* a_ips[] = {"10.1.0.1", "2001:db8:dead::1"};
  const char* b_ips[] = {"10.1.0.100", "2001:db8:beef::1"};
  std::vector<SharingRUDPConn*> a;
  std::vector<SharingRUDPConn*> b;
  for (std::size_t i = 0; i < 2; ++i) {
    const IpAddress ia = IpAddress::parse(a_ips[i]).value();
    const IpAddress ib = IpAddress::parse(b_ips[i]).value();
    auto ea = SharingRUDPConn::open(
        **sa, {.local = {ia, static_cast<std::uint16_t>(1999 + i)}, .resolver = to(mac_b)});
    auto eb = SharingRUDPConn::open(
        **sb, {.local = {ib, static_cast<std::uint16_t>(sc.port_b + i)}, .resolver = to(mac_a)});
    ASSERT_TRUE(ea && eb);
    a.push_back(ea->get());
    b.push_back(eb->get());
    endpoints_.push_back(std::move(*ea));
    endpoints_.push_back(std::move(*eb));
  }
  std::array<std::byte, 2048> buf{};
  for (std::size_t i = 0; i < 2; ++i) {
    for (std::size_t n = 0; n < 10; ++n) {
      const auto p = payload(n + i * 10, 1000 - (n * 93) % 937);
      ASSERT_TRUE(a[i]->send_to(p, b[i]->local_endpoint()));
      auto got = b[i]->recv_from(buf, 3s);
      ASSERT_TRUE(got) << got.error();
      EXPECT_EQ(got->from, a[i]->local_endpoint());
      ASSERT_EQ(got->size, p.size());
      EXPECT_TRUE(std::equal(p.begin(), p.end(), buf.begin()));
      ASSERT_TRUE(b[i]->send_to(p, got->from));
      auto back = a[i]->recv_from(buf, 3s);
      ASSERT_TRUE(back) << back.error();
      EXPECT_EQ(back->from, b[i]->local_endpoint());
      ASSERT_EQ(back->size, p.size());
      EXPECT_TRUE(std::equal(p.begin(), p.end(), buf.begin()));
    }
  }
  // Negative: to B's first address on a port no endpoint has.
  const std::uint64_t before = (*sb)->unregistered();
  const IpEndpoint nobody{b[0]->local_endpoint().address, 4444};
  ASSERT_TRUE(a[0]->send_to(payload(99, 100), nobody));
  for (SharingRUDPConn* e : b) {
    auto got = e->recv_from(buf, 500ms);
    EXPECT_FALSE(got) << e->local_endpoint().to_string() << " got the negative datagram";
  }
  EXPECT_EQ((*sb)->unregistered(), before + 1);
  // Two endpoints cannot share a key.
  auto dup = SharingRUDPConn::open(**sb, {.local = b[0]->local_endpoint()});
  EXPECT_FALSE(dup);
  shared_.push_back(std::move(*sa));
  shared_.push_back(std::move(*sb));
  net_.neighbors.push_back(std::move(*na));
  net_.neighbors.push_back(std::move(*nb));
}

const SharedCase kSharedCases[] = {
    {"untagged", "", false, 2999},
    {"vlan100_default", "100", true, 2999},
    {"qinq", "100.200", false, 3999},
};

INSTANTIATE_TEST_SUITE_P(Cases, SharedConns,
                         ::testing::Combine(::testing::Values(Engine::xdp, Engine::pcap),
                                            ::testing::ValuesIn(kSharedCases)),
                         [](const auto& p) {
                           return engine_name(std::get<0>(p.param)) + "_" +
                                  std::get<1>(p.param).name;
                         });

}  // namespace
}  // namespace etherpath::conn
