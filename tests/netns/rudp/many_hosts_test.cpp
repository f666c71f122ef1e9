// 1,000 emulated hosts (own MACs and addresses, half IPv4, half IPv6) on one PacketRelay each
// exchange one datagram with a kernel UDP socket, on AF_XDP and libpcap; all must arrive.
// On libpcap the kernel resolves every host by ARP/NDP and our Neighbor answers. On AF_XDP the
// steering program hands only owned targets' requests to user space, and PacketRelay does not
// fill that map yet, so there each host sends the kernel one ARP request / solicitation of its
// own first (the kernel learns the sender from it; the shared cache would otherwise resolve
// the kernel once for all hosts).
#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>

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
  // gc_thresh* exist only in the initial namespace on this kernel (the neighbour tables are
  // global), so they cannot be raised in the peer's; half the hosts per family keeps each table
  // under the default gc_thresh2 (512) instead.
  ASSERT_TRUE(net_.ns_b->exec("ip addr add 10.80.0.1/16 dev " + b + " && ip -6 addr add " +
                              "2001:db8:80::1/64 dev " + b + " nodad"));
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
  for (std::size_t i = 0; i < kHosts; ++i) {
    EtherConnOptions o;
    o.mac = MacAddress::from_u64(0x020000010000ULL + i);
    o.queue_depth = 4;  // an idle host allocates nothing; an active one 4 frames
    auto c = EtherConn::open(*net_.relay_a, o);
    ASSERT_TRUE(c) << i << ": " << c.error();
    net_.conns.push_back(std::move(*c));
  }
  // The kernel echoes every datagram back to its sender.
  std::atomic<bool> done{false};
  std::atomic<std::size_t> echoed{0};
  auto echo = [&](UdpTransport& s) {
    std::array<std::byte, 256> buf{};
    while (!done.load()) {
      auto got = s.recv_from(buf, 100ms);
      if (got && s.send_to(ConstBytes(buf.data(), got->size), got->from)) {
        ++echoed;
      }
    }
  };
  std::thread e4([&] { echo(*s4); });
  std::thread e6([&] { echo(*s6); });
  class Join {  // stops and joins the echo threads, also when an assertion returns early
   public:
    Join(std::atomic<bool>& d, std::thread& a, std::thread& b) : done_(d), a_(a), b_(b) {}
    Join(const Join&) = delete;
    Join& operator=(const Join&) = delete;
    Join(Join&&) = delete;
    Join& operator=(Join&&) = delete;
    ~Join() {
      done_ = true;
      a_.join();
      b_.join();
    }

   private:
    std::atomic<bool>& done_;
    std::thread& a_;
    std::thread& b_;
  };

  std::optional<Join> joiner;
  joiner.emplace(done, e4, e6);
  std::size_t arrived = 0;
  std::array<std::byte, 256> buf{};
  for (std::size_t first = 0; first < kHosts; first += kBatch) {
    for (std::size_t i = first; i < first + kBatch; ++i) {
      const bool v6 = i % 2 == 1;
      const IpEndpoint local{v6 ? base6.plus(i) : base4.plus(i), 5000};
      auto u = RUDPConn::open(*net_.conns[i], {.local = local}, neighbor);
      if (engine == Engine::xdp) {
        const Station self{net_.conns[i]->options().mac, {}};
        ASSERT_TRUE(neighbor->probe(self, local.address, v6 ? k6.address : k4.address));
      }
      ASSERT_TRUE(u) << i << ": " << u.error();
      const auto p = payload(i, 32);
      ASSERT_TRUE((*u)->send_to(p, v6 ? k6 : k4)) << i;
      net_.udp.push_back(std::move(*u));
    }
    for (std::size_t i = first; i < first + kBatch; ++i) {
      auto got = net_.udp[i]->recv_from(buf, 3s);
      if (got && got->size == 32) {
        const auto p = payload(i, 32);
        arrived += std::equal(p.begin(), p.end(), buf.begin()) ? 1U : 0U;
      } else {
        ADD_FAILURE() << "host " << i << ": " << (got ? "wrong size" : got.error().context());
      }
    }
  }
  joiner.reset();
  EXPECT_EQ(arrived, kHosts);
  EXPECT_EQ(echoed.load(), kHosts);
  if (engine == Engine::pcap) {
    // Every host but the first of each family, whose own request for the kernel taught it.
    EXPECT_GE(neighbor->answered(), kHosts - 2) << "the kernel resolved the hosts by ARP/NDP";
  }
  EXPECT_EQ(neighbor->owned_count(), kHosts);
}

INSTANTIATE_TEST_SUITE_P(Engines, ManyHosts, ::testing::Values(Engine::xdp, Engine::pcap),
                         [](const auto& p) { return engine_name(p.param); });

}  // namespace
}  // namespace etherpath::conn
