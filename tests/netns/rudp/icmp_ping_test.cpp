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
#include "tests/netns/rudp/kernel_peer.hpp"

namespace etherpath::conn {
namespace {

using namespace etherpath::conn::test;

using IcmpKernelPeer = KernelPeerTest;

TEST_P(IcmpKernelPeer, EchoBothWays) {
  const auto& [engine, pc] = GetParam();
  const Status started =
      start("10.78.0.1", "2001:db8:78::1", MacAddress::parse("02:00:00:00:4e:02").value());
  ASSERT_TRUE(started) << started.error();
  const std::string& b = net_.veth->b();
  const IpAddress local = IpAddress::parse(pc.v6 ? "2001:db8:78::2" : "10.78.0.2").value();
  const IpAddress kernel = IpAddress::parse(pc.v6 ? "2001:db8:78::1" : "10.78.0.1").value();
  auto echo = IcmpEchoConn::open(
      conn(), {.local = local, .identifier = 0x4242, .answer_requests = true}, neighbor());
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
    EXPECT_GE(neighbor().answered(), 1U) << "the kernel's request was not answered";
  }
  net_.icmp.push_back(std::move(*echo));
}

INSTANTIATE_TEST_SUITE_P(Peers, IcmpKernelPeer,
                         ::testing::Combine(::testing::Values(Engine::xdp, Engine::pcap),
                                            ::testing::ValuesIn(kKernelPeerCases)),
                         kernel_peer_name);

}  // namespace
}  // namespace etherpath::conn
