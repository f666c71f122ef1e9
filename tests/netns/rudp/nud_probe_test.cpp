// The kernel's neighbour unreachability detection against an emulated host, on AF_XDP and
// libpcap, untagged, 802.1Q and QinQ: the kernel peer's entry for the host is forced to PROBE
// (`ip neigh change ... nud probe`: unicast NS / ARP to the host's own MAC and address, no
// multicast) and must end REACHABLE. Two kinds of host: one with an EtherConn of its own (its
// reader hands ARP/NDP to the Neighbor), and one whose frames go to a fast path
// (PacketRelay::on_batch, as pkthere's emulated hosts), which hands them over with
// Neighbor::offer() (IPv6) or has the Neighbor take its unicast ARP (receive_unicast_arp). A
// control without any of that shows the probe is what is tested: the entry ends FAILED.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "conn/icmp_echo_conn.hpp"
#include "conn/wire/ethernet.hpp"
#include "tests/netns/rudp/fixture.hpp"

namespace etherpath::conn {
namespace {

using namespace etherpath::conn::test;

enum class Host { ether_conn, fast_path, unanswered };

struct NudCase {
  const char* name;
  const char* vlans;
  bool v6;
};

std::string host_name(Host h) {
  switch (h) {
    case Host::ether_conn: return "ether_conn";
    case Host::fast_path: return "fast_path";
    case Host::unanswered: return "unanswered";
  }
  return "unknown";
}

class NudProbe : public ::testing::TestWithParam<std::tuple<Engine, NudCase, Host>> {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    ASSERT_TRUE(net_.setup());
  }
  void TearDown() override {
    done_ = true;
    if (server_.joinable()) {
      server_.join();
    }
    // The fast path's callback uses the Neighbor: the relay stops first (inside its namespace,
    // where its program is detached), then the conns and the Neighbor go, then the relay.
    if (net_.relay_a) {
      (void)in_netns(*net_.ns_a, [&] {
        net_.relay_a->stop();
        return 0;
      });
    }
    neighbor_.store(nullptr);
    net_.teardown();
  }
  // The kernel's state for `ip` (REACHABLE, PROBE, FAILED, ...), once it leaves PROBE or after
  // `limit`.
  [[nodiscard]] std::string state_after_probe(const std::string& dev, const IpAddress& ip,
                                              std::chrono::milliseconds limit) const {
    const std::string show =
        fmt::format("ip {} neigh show {} dev {}", ip.is_v6() ? "-6" : "-4", ip.to_string(), dev);
    std::string last;
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      auto out = net_.ns_b->exec(show);
      last = out ? *out : out.error().context();
      if (last.find("PROBE") == std::string::npos) {
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
    return last;
  }

  TwoNamespaces net_;
  std::atomic<bool> done_{false};
  std::thread server_;
  std::atomic<Neighbor*> neighbor_{nullptr};
};

TEST_P(NudProbe, KernelEntryInProbeEndsReachable) {
  const auto [engine, nc, kind] = GetParam();
  const VlanStack vlans = VlanStack::parse(nc.vlans).value();
  const std::string b = net_.veth->b();
  ASSERT_TRUE(net_.ns_b->exec("ip addr add 10.79.0.1/24 dev " + b +
                              " && ip -6 addr add 2001:db8:79::1/64 dev " + b + " nodad"));
  if (!vlans.empty()) {
    auto p = VlanPeer::attach(*net_.ns_b, b, vlans);
    ASSERT_TRUE(p) << p.error();
    net_.peer.emplace(std::move(*p));
  }
  net_.relay_a = open_relay(*net_.ns_a, net_.veth->a(), engine);
  ASSERT_TRUE(net_.relay_a);
  const MacAddress host_mac = MacAddress::parse("02:00:00:00:4f:02").value();
  const Station host{host_mac, vlans};
  const IpAddress local = IpAddress::parse(nc.v6 ? "2001:db8:79::2" : "10.79.0.2").value();
  auto neighbor = Neighbor::open(*net_.relay_a);
  ASSERT_TRUE(neighbor) << neighbor.error();
  Neighbor& n = **neighbor;
  net_.neighbors.push_back(std::move(*neighbor));
  neighbor_.store(&n);

  switch (kind) {
    case Host::ether_conn: {
      auto conn = EtherConn::open(*net_.relay_a, {.mac = host_mac, .vlans = vlans});
      ASSERT_TRUE(conn) << conn.error();
      auto echo = IcmpEchoConn::open(**conn, {.local = local, .answer_requests = true}, n);
      ASSERT_TRUE(echo) << echo.error();
      net_.conns.push_back(std::move(*conn));
      net_.icmp.push_back(std::move(*echo));
      server_ = std::thread([this, e = net_.icmp.back().get()] {
        while (!done_.load()) {
          e->serve(50ms);
        }
      });
      break;
    }
    case Host::fast_path:
    case Host::unanswered: {
      const bool hand_over = kind == Host::fast_path;
      // The host's IP frames go to a fast path that forwards none of them.
      ASSERT_TRUE(net_.relay_a->on_batch(
          host_mac, vlans, nc.v6 ? wire::kEtherTypeIpv6 : wire::kEtherTypeIpv4,
          [this, hand_over](std::size_t, datapath::FrameBatch& frames) {
            Neighbor* nb = neighbor_.load();
            for (const datapath::Frame& f : frames) {
              if (hand_over && nb != nullptr) {
                (void)nb->offer(f.data());
              }
            }
          }));
      ASSERT_TRUE(n.add_owned(host, local));
      if (hand_over && !nc.v6) {
        ASSERT_TRUE(n.receive_unicast_arp(host));
      }
      break;
    }
  }

  // The kernel knows the host's MAC (as after any earlier exchange) and must confirm it now.
  const std::string family = nc.v6 ? "-6 " : "-4 ";
  ASSERT_TRUE(net_.ns_b->exec("ip " + family + "neigh replace " + local.to_string() + " lladdr " +
                              host_mac.to_string() + " nud stale dev " + b));
  ASSERT_TRUE(net_.ns_b->exec("ip " + family + "neigh change " + local.to_string() + " dev " + b +
                              " nud probe"));
  // Three unicast probes a second apart, then FAILED: 5 s is the bound, not the expectation.
  const std::string state = state_after_probe(b, local, 5s);
  if (kind == Host::unanswered) {
    EXPECT_NE(state.find("FAILED"), std::string::npos) << state;
    EXPECT_EQ(n.answered(), 0U);
    return;
  }
  EXPECT_NE(state.find("REACHABLE"), std::string::npos) << state;
  EXPECT_NE(state.find(host_mac.to_string()), std::string::npos) << state;
  EXPECT_GE(n.answered(), 1U);
  if (net_.peer) {
    auto c = net_.peer->counters();
    ASSERT_TRUE(c);
    EXPECT_GE(c->rx_accepted, 1U) << "the answer did not come back on the peer's VLANs";
  }
}

const NudCase kNudCases[] = {
    {"untagged_v6", "", true},  {"dot1q_v6", "100", true},  {"qinq_v6", "100.20", true},
    {"untagged_v4", "", false}, {"dot1q_v4", "100", false}, {"qinq_v4", "100.20", false},
};

INSTANTIATE_TEST_SUITE_P(Hosts, NudProbe,
                         ::testing::Combine(::testing::Values(Engine::xdp, Engine::pcap),
                                            ::testing::ValuesIn(kNudCases),
                                            ::testing::Values(Host::ether_conn, Host::fast_path)),
                         [](const auto& p) {
                           return engine_name(std::get<0>(p.param)) + "_" +
                                  std::get<1>(p.param).name + "_" + host_name(std::get<2>(p.param));
                         });

// The control: nobody hands the probes over (what pkthere's emulated hosts had), one per family.
INSTANTIATE_TEST_SUITE_P(Control, NudProbe,
                         ::testing::Combine(::testing::Values(Engine::xdp),
                                            ::testing::Values(NudCase{"dot1q_v6", "100", true},
                                                              NudCase{"untagged_v4", "", false}),
                                            ::testing::Values(Host::unanswered)),
                         [](const auto& p) {
                           return engine_name(std::get<0>(p.param)) + "_" +
                                  std::get<1>(p.param).name + "_" + host_name(std::get<2>(p.param));
                         });

}  // namespace
}  // namespace etherpath::conn
