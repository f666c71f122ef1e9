// 1,000 emulated hosts (own MACs and addresses, half IPv4, half IPv6) on one PacketRelay each
// exchange one datagram with a kernel UDP socket, on AF_XDP and libpcap; all must arrive both
// ways. The kernel, its neighbour table flushed, speaks first and so must resolve every host by
// ARP/NDP, which our Neighbor answers (on AF_XDP through the steering program's owned map); each
// host learns the kernel's MAC from the kernel's own request.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/udp_transport.hpp"
#include "tests/netns/rudp/fixture.hpp"

namespace etherpath::conn {
namespace {

using namespace etherpath::conn::test;

constexpr std::size_t kHosts = 1000;
constexpr std::size_t kBatch = 50;

class ManyHosts : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    ASSERT_TRUE(net_.setup());
  }
  void TearDown() override { net_.teardown(); }
  TwoNamespaces net_;
};

TEST_P(ManyHosts, EachExchangesOneDatagramWithTheKernel) {
  const Engine engine = GetParam();
  const std::string b = net_.veth->b();
  // The kernel's neighbour tables are global on this kernel: net.ipv4.neigh.default.gc_thresh*
  // exist only in the initial namespace (`ip netns exec X sysctl
  // net.ipv4.neigh.default.gc_thresh3`: "cannot stat"), and entries added in any namespace count
  // in the one arp_cache/ndisc_cache (`ip -s ntable show name arp_cache` in the initial
  // namespace counts them). So the peer's cannot be raised; 500 hosts per family keep each table
  // under the default gc_thresh2 (512) instead, and nothing global is touched.
  ASSERT_TRUE(net_.ns_b->exec("ip addr add 10.80.0.1/16 dev " + b + " && ip -6 addr add " +
                              "2001:db8:80::1/64 dev " + b + " nodad"));
  // It knows no one: every host's MAC it must ask for.
  ASSERT_TRUE(net_.ns_b->exec("ip neigh flush dev " + b + " && ip -6 neigh flush dev " + b));
  net_.relay_a = open_relay(*net_.ns_a, net_.veth->a(), engine);
  ASSERT_TRUE(net_.relay_a);
  auto opened = Neighbor::open(*net_.relay_a);
  ASSERT_TRUE(opened);
  net_.neighbors.push_back(std::move(*opened));  // torn down after the conns that use it
  Neighbor* neighbor = net_.neighbors.back().get();
  const IpEndpoint k4 = ep("10.80.0.1:7000");
  const IpEndpoint k6 = ep("[2001:db8:80::1]:7000");
  auto s4 = in_netns(*net_.ns_b, [&] { return UdpTransport::open(k4); });
  auto s6 = in_netns(*net_.ns_b, [&] { return UdpTransport::open(k6); });
  ASSERT_TRUE(s4 && s6);

  const IpAddress base4 = IpAddress::parse("10.80.1.0").value();
  const IpAddress base6 = IpAddress::parse("2001:db8:80::1:0").value();
  std::vector<IpEndpoint> hosts;
  for (std::size_t i = 0; i < kHosts; ++i) {
    EtherConnOptions o;
    o.mac = MacAddress::from_u64(0x020000010000ULL + i);
    o.queue_depth = 4;  // an idle host allocates nothing; an active one 4 frames
    auto c = EtherConn::open(*net_.relay_a, o);
    ASSERT_TRUE(c) << i << ": " << c.error();
    net_.conns.push_back(std::move(*c));
    hosts.push_back(IpEndpoint{i % 2 == 1 ? base6.plus(i) : base4.plus(i), 5000});
    // No announcement: the kernel learns of the host only by asking.
    auto u = RUDPConn::open(*net_.conns[i], {.local = hosts[i]}, neighbor);
    ASSERT_TRUE(u) << i << ": " << u.error();
    net_.udp.push_back(std::move(*u));
  }

  // In batches (the Neighbor queues up to 64 requests at a time): the kernel sends each host a
  // datagram, resolving it by ARP/NDP first; each host answers the kernel, whose MAC it learnt
  // from the kernel's own request; the kernel reads every answer.
  std::size_t at_hosts = 0;
  std::size_t at_kernel = 0;
  std::array<std::byte, 256> buf{};
  for (std::size_t first = 0; first < kHosts; first += kBatch) {
    const std::size_t last = std::min(kHosts, first + kBatch);
    for (std::size_t i = first; i < last; ++i) {
      ASSERT_TRUE((hosts[i].address.is_v6() ? *s6 : *s4).send_to(payload(i, 32), hosts[i])) << i;
    }
    for (std::size_t i = first; i < last; ++i) {
      auto got = net_.udp[i]->recv_from(buf, 3s);
      if (!got) {
        ADD_FAILURE() << "host " << i << " got nothing from the kernel: " << got.error();
        continue;
      }
      const auto want = payload(i, 32);
      if (got->size != want.size() || !std::equal(want.begin(), want.end(), buf.begin()) ||
          got->from != (hosts[i].address.is_v6() ? k6 : k4)) {
        ADD_FAILURE() << "host " << i << ": not the kernel's datagram";
        continue;
      }
      ++at_hosts;
      ASSERT_TRUE(net_.udp[i]->send_to(payload(i + kHosts, 32), got->from)) << i;
    }
    for (UdpTransport* s : {&*s4, &*s6}) {
      const bool v6 = s == &*s6;
      std::size_t expected = 0;
      for (std::size_t i = first; i < last; ++i) {
        expected += hosts[i].address.is_v6() == v6 ? 1U : 0U;
      }
      const auto deadline = std::chrono::steady_clock::now() + 3s;
      for (std::size_t n = 0; n < expected && std::chrono::steady_clock::now() < deadline;) {
        auto got = s->recv_from(buf, 100ms);
        if (!got) {
          continue;
        }
        ++n;
        const auto it = std::find(hosts.begin() + static_cast<std::ptrdiff_t>(first),
                                  hosts.begin() + static_cast<std::ptrdiff_t>(last), got->from);
        const std::size_t i = static_cast<std::size_t>(it - hosts.begin());
        const auto want = payload(i + kHosts, 32);
        if (it != hosts.begin() + static_cast<std::ptrdiff_t>(last) && got->size == want.size() &&
            std::equal(want.begin(), want.end(), buf.begin())) {
          ++at_kernel;
        } else {
          ADD_FAILURE() << "the kernel got a stray datagram from " << got->from.to_string();
        }
      }
    }
  }
  EXPECT_EQ(at_hosts, kHosts);
  EXPECT_EQ(at_kernel, kHosts);
  // The kernel asked for every host (it knew none, and no host spoke first), and we learnt the
  // kernel's MAC from its requests.
  EXPECT_GE(neighbor->answered(), kHosts) << "requests the Neighbor answered";
  EXPECT_EQ(neighbor->lookup({}, k4.address), net_.veth->mac_b());
  EXPECT_EQ(neighbor->lookup({}, k6.address), net_.veth->mac_b());
  EXPECT_EQ(neighbor->owned_count(), kHosts);
  // And the kernel holds every host's own MAC. (Forced garbage collection spares entries updated
  // in the last 5 s, and the whole exchange takes about a second.)
  auto table = net_.ns_b->exec("ip neigh show dev " + b + " && ip -6 neigh show dev " + b);
  ASSERT_TRUE(table) << table.error();
  std::unordered_map<std::string, std::string> kernel_learnt;  // address -> lladdr
  std::istringstream lines(*table);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string address;
    std::string word;
    words >> address;
    while (words >> word) {
      if (word == "lladdr" && words >> word) {
        kernel_learnt[address] = word;
      }
    }
  }
  std::size_t right = 0;
  for (std::size_t i = 0; i < kHosts; ++i) {
    const auto it = kernel_learnt.find(hosts[i].address.to_string());
    right += it != kernel_learnt.end() && it->second == net_.conns[i]->options().mac.to_string()
                 ? 1U
                 : 0U;
  }
  EXPECT_EQ(right, kHosts) << "hosts whose MAC the kernel learnt";
}

INSTANTIATE_TEST_SUITE_P(Engines, ManyHosts, ::testing::Values(Engine::xdp, Engine::pcap),
                         [](const auto& p) { return engine_name(p.param); });

}  // namespace
}  // namespace etherpath::conn
