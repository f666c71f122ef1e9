// pkthere (--engine xdp and pcap) with TAGGED emulated hosts between real kernel peers: the
// listener --here-mac/--here-vlan on the client's VLANs (802.1Q, or QinQ with an 802.1ad outer
// tag), the upstream side --there-mac/--there-vlan/--there-src on the upstream's, each kernel
// behind a VlanPeer (tests/support). The kernels find both hosts by tagged ARP/NDP, which
// pkthere's conn::Neighbor answers, also their later unicast NUD probes; pkthere finds the
// upstream's MAC by the emulated upstream-side host's own ARP/NDP (unless --next-hop-mac), also
// when a re-resolve moves --there. dig ->
// pkthere -> dnsmasq with every query answered (IPv4 and IPv6), and ping -> pkthere -> the upstream
// kernel's echo.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <thread>
#include <vector>

#include "tests/netns/relay/datapath_peers.hpp"
#include "tests/netns/relay/relay_harness.hpp"
#include "tests/netns/relay_vlan/tagged_hosts.hpp"

namespace etherpath::relay {
namespace {

using etherpath::testing::Process;
using std::chrono::milliseconds;
using testing::PkthereRun;
using testing::TaggedHosts;

enum class Traffic { dns, icmp };

struct TaggedCase {
  const char* name;
  const char* engine;
  const char* here_vlan;
  const char* there_vlan;
  bool v6;
  Traffic traffic;
  bool two_interfaces = false;  // --there-iface: the upstream on an interface of its own
  // --next-hop-mac given; otherwise pkthere resolves the upstream's MAC by the emulated
  // upstream-side host's own ARP/NDP on its VLANs.
  bool next_hop_given = false;
};

std::string bracket(const std::string& ip, bool v6) {
  return v6 ? fmt::format("[{}]", ip) : ip;
}

// The kernel's NUD probe of an emulated host (`nud probe`: unicast ARP or NS to the MAC it
// cached) is answered: the entry leaves PROBE for REACHABLE with the host's MAC, not FAILED.
void expect_nud_answered(const etherpath::testing::NetNs& ns, const std::string& dev,
                         const std::string& ip, bool v6, const char* mac) {
  const std::string family = v6 ? "-6" : "-4";
  auto changed = ns.exec(fmt::format("ip {} neigh change {} dev {} nud probe", family, ip, dev));
  ASSERT_TRUE(changed) << changed.error();
  std::string entry;
  for (int i = 0; i < 100; ++i) {  // 5 s at most
    auto shown = ns.exec(fmt::format("ip {} neigh show {} dev {}", family, ip, dev));
    ASSERT_TRUE(shown) << shown.error();
    entry = *shown;
    if (entry.find("PROBE") == std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_NE(entry.find("REACHABLE"), std::string::npos) << ns.name() << ": " << entry;
  EXPECT_NE(entry.find(mac), std::string::npos) << ns.name() << ": " << entry;
}

// dnsmasq answering example.test (A and AAAA) on the upstream's addresses, port 53.
std::optional<Process> start_dnsmasq(const TaggedHosts& t) {
  return testing::spawn_dnsmasq(*t.upstream, {TaggedHosts::kUpstream4, TaggedHosts::kUpstream6});
}

class TaggedEmulatedHosts : public ::testing::TestWithParam<TaggedCase> {};

TEST_P(TaggedEmulatedHosts, EveryQueryOrEchoIsAnswered) {
  EP_SKIP_UNLESS_ROOT();
  const TaggedCase& tc = GetParam();
  const VlanStack here_vlans = VlanStack::parse(tc.here_vlan).value();
  const VlanStack there_vlans = VlanStack::parse(tc.there_vlan).value();
  auto t = TaggedHosts::create(here_vlans, there_vlans, tc.two_interfaces);
  ASSERT_TRUE(t);
  const bool dns = tc.traffic == Traffic::dns;
  const std::optional<Process> dnsmasq = dns ? start_dnsmasq(*t) : std::nullopt;
  ASSERT_TRUE(dnsmasq || !dns);
  const std::string listener = tc.v6 ? TaggedHosts::kListener6 : TaggedHosts::kListener4;
  const std::string upstream = tc.v6 ? TaggedHosts::kUpstream6 : TaggedHosts::kUpstream4;
  const std::string there_src = tc.v6 ? TaggedHosts::kThere6 : TaggedHosts::kThere4;
  std::vector<std::string> args{"--engine",
                                tc.engine,
                                "--iface",
                                t->relay_iface(),
                                "--here",
                                dns ? fmt::format("UDP:{}:5354", bracket(listener, tc.v6))
                                    : fmt::format("ICMP:{}:0", bracket(listener, tc.v6)),
                                "--here-mac",
                                TaggedHosts::kListenerMac,
                                "--here-vlan",
                                tc.here_vlan,
                                "--there",
                                dns ? fmt::format("UDP:{}:53", bracket(upstream, tc.v6))
                                    : fmt::format("ICMP:{}:0", bracket(upstream, tc.v6)),
                                "--there-mac",
                                TaggedHosts::kThereMac,
                                "--there-vlan",
                                tc.there_vlan,
                                "--there-src",
                                there_src,
                                "--timeout-secs",
                                "5"};
  if (tc.next_hop_given) {
    args.insert(args.end(), {"--next-hop-mac", t->upstream_mac().to_string()});
  }
  // Both kernels send a few untagged frames (MLD, DAD) before their VLAN peer is attached, which
  // the other's peer drops: counted from here on, every untagged frame is pkthere's.
  std::array<std::uint64_t, 2> untagged_before{};
  for (std::size_t i = 0; i < 2; ++i) {
    auto counters = (i == 0 ? t->client_peer : t->upstream_peer)->counters();
    ASSERT_TRUE(counters) << counters.error();
    untagged_before[i] = counters->drop_untagged;
  }
  if (tc.two_interfaces) {
    args.insert(args.end(), {"--there-iface", t->there_iface()});
  }
  auto run = PkthereRun::start(args, &*t->relay);
  ASSERT_TRUE(run);
  // The Engine line comes after the Listening line start() waited for.
  ASSERT_TRUE(run->process.wait_for_output("next hop ", std::chrono::seconds(5)))
      << run->process.out() << run->process.err();
  EXPECT_NE(run->process.out().find("listener emulated as " + listener), std::string::npos)
      << run->process.out();
  // The relay's kernel has no route onto the tagged upstream: without --next-hop-mac the next
  // hop is the upstream's own MAC, asked for on --there-vlan from --there-src.
  EXPECT_NE(run->process.out().find("next hop " + t->upstream_mac().to_string()), std::string::npos)
      << run->process.out();

  int expected = 0;
  if (dns) {
    expected = 100;
    const testing::TempDir dir;
    const std::string file = testing::query_file(dir.path(), "q100", expected);
    auto out = t->client->exec(
        fmt::format("dig -b {}#5300 @{} -p 5354 -f {} +tries=1 +timeout=2 +noall +comments",
                    tc.v6 ? TaggedHosts::kClient6 : TaggedHosts::kClient4, listener, file));
    ASSERT_TRUE(out) << out.error();
    EXPECT_EQ(testing::count(*out, "status: NOERROR"), 100U)
        << run->process.out() << run->process.err();
  } else {
    expected = 5;
    auto out = t->client->exec(
        fmt::format("ping {} -c 5 -i 0.2 -W 2 -p a5c3 {}", tc.v6 ? "-6" : "-4", listener));
    ASSERT_TRUE(out) << out.error() << run->process.err();
    EXPECT_NE(out->find("5 packets transmitted, 5 received"), std::string::npos) << *out;
    EXPECT_EQ(testing::count(*out, "wrong data"), 0U);
    EXPECT_EQ(testing::count(*out, "DUP!"), 0U);
  }
  // Both kernels learnt the emulated hosts' MACs through their VLANs.
  const std::string family = tc.v6 ? "-6" : "-4";
  auto c = t->client->exec(fmt::format("ip {} neigh show {}", family, listener));
  ASSERT_TRUE(c);
  EXPECT_NE(c->find(TaggedHosts::kListenerMac), std::string::npos) << *c;
  auto u = t->upstream->exec(fmt::format("ip {} neigh show {}", family, there_src));
  ASSERT_TRUE(u);
  EXPECT_NE(u->find(TaggedHosts::kThereMac), std::string::npos) << *u;
  // And keep them: their NUD probes, unicast to the hosts' MACs, are answered too.
  expect_nud_answered(*t->client, t->client_link->a(), listener, tc.v6, TaggedHosts::kListenerMac);
  expect_nud_answered(*t->upstream, t->upstream_link->a(), there_src, tc.v6,
                      TaggedHosts::kThereMac);
  for (std::size_t i = 0; i < 2; ++i) {
    auto counters = (i == 0 ? t->client_peer : t->upstream_peer)->counters();
    ASSERT_TRUE(counters) << counters.error();
    const char* side = i == 0 ? "client" : "upstream";
    EXPECT_GE(counters->rx_accepted, static_cast<std::uint64_t>(expected)) << side;
    EXPECT_EQ(counters->drop_untagged, untagged_before[i]) << side << ": an untagged frame";
    EXPECT_EQ(counters->errors, 0U) << side;
  }

  run->process.signal(SIGTERM);
  ASSERT_TRUE(run->process.wait_for(milliseconds(5000)));
  const auto stats = run->last_stats();
  EXPECT_EQ(stats["c2u_pkts"], expected) << stats;
  EXPECT_EQ(stats["u2c_pkts"], expected) << stats;
  EXPECT_EQ(stats["engine"], tc.engine);
  EXPECT_EQ(stats["drops_malformed_frames"], 0);
  auto links = t->relay->exec("ip link show");
  ASSERT_TRUE(links);
  EXPECT_EQ(links->find("xdp"), std::string::npos) << "an XDP program was left behind";
}

// A dnsmasq on `address` (added to the upstream's link) answering example.test with `answer`.
std::optional<Process> start_dnsmasq_on(const TaggedHosts& t, const char* address,
                                        const char* answer) {
  if (auto st =
          t.upstream->exec(fmt::format("ip addr add {}/24 dev {}", address, t.upstream_link->a()));
      !st) {
    ADD_FAILURE() << st.error();
    return std::nullopt;
  }
  return testing::spawn_dnsmasq(*t.upstream, {address}, answer, "");
}

class TaggedReresolve : public ::testing::TestWithParam<const char*> {};

// --there is a name that moves to another upstream address on the tagged link (a private
// /etc/hosts in pkthere's mount namespace): the emulated upstream-side host resolves the new
// next hop itself, on its VLAN, and the client's queries reach the new upstream.
TEST_P(TaggedReresolve, NextHopFollowsThere) {
  EP_SKIP_UNLESS_ROOT();
  const char* engine = GetParam();
  auto t = TaggedHosts::create(VlanStack::parse("100").value(), VlanStack::parse("200").value());
  ASSERT_TRUE(t);
  const auto first = start_dnsmasq_on(*t, "10.77.2.3", "10.9.9.3");
  const auto second = start_dnsmasq_on(*t, "10.77.2.4", "10.9.9.4");
  ASSERT_TRUE(first && second);
  const testing::TempDir dir;
  const std::string hosts = dir.path() + "/hosts";
  ASSERT_TRUE(etherpath::testing::run(fmt::format("echo '10.77.2.3 up.test' > {}", hosts)));
  const std::vector<std::string> launcher{
      "unshare", "-m", "sh", "-c",
      fmt::format(R"(mount --bind {} /etc/hosts && exec "$0" "$@")", hosts)};
  const std::vector<std::string> args{
      "--engine",         engine,
      "--iface",          t->relay_iface(),
      "--here",           fmt::format("UDP:{}:5354", TaggedHosts::kListener4),
      "--here-mac",       TaggedHosts::kListenerMac,
      "--here-vlan",      "100",
      "--there",          "UDP:up.test:53",
      "--there-mac",      TaggedHosts::kThereMac,
      "--there-vlan",     "200",
      "--there-src",      TaggedHosts::kThere4,
      "--reresolve-secs", "1",
      "--timeout-secs",   "10"};
  auto run = PkthereRun::start(args, &*t->relay, launcher);
  ASSERT_TRUE(run);
  const auto ask = [&] {
    auto out = t->client->exec(
        fmt::format("dig -b {}#5300 @{} -p 5354 a.example.test A +tries=1 +timeout=1 +short",
                    TaggedHosts::kClient4, TaggedHosts::kListener4));
    return out ? *out : std::string();
  };
  EXPECT_NE(ask().find("10.9.9.3"), std::string::npos) << run->process.out() << run->process.err();
  // Written in place: the bind mount holds the file's inode.
  ASSERT_TRUE(etherpath::testing::run(fmt::format("echo '10.77.2.4 up.test' > {}", hosts)));
  std::string answer;
  for (int i = 0; i < 8 && answer.find("10.9.9.4") == std::string::npos; ++i) {  // 4 s at most
    std::this_thread::sleep_for(milliseconds(500));
    answer = ask();
  }
  EXPECT_NE(answer.find("10.9.9.4"), std::string::npos)
      << answer << run->process.out() << run->process.err();
  // The upstream learnt the emulated host from its request for the new address, on VLAN 200.
  auto u = t->upstream->exec(fmt::format("ip -4 neigh show {}", TaggedHosts::kThere4));
  ASSERT_TRUE(u);
  EXPECT_NE(u->find(TaggedHosts::kThereMac), std::string::npos) << *u;
  run->process.signal(SIGTERM);
  ASSERT_TRUE(run->process.wait_for(milliseconds(5000)));
}

INSTANTIATE_TEST_SUITE_P(Engines, TaggedReresolve, ::testing::Values("xdp", "pcap"));

const TaggedCase kCases[] = {
    {"xdp_dot1q_v4", "xdp", "100", "200", false, Traffic::dns},
    {"xdp_qinq_v4", "xdp", "300.400", "200", false, Traffic::dns, false, true},
    {"xdp_dot1q_v6", "xdp", "100", "200", true, Traffic::dns},
    {"xdp_dot1q_icmp_v4", "xdp", "100", "200", false, Traffic::icmp},
    {"xdp_dot1q_icmp_v6", "xdp", "100", "200", true, Traffic::icmp},
    {"xdp_qinq_both_v6", "xdp", "300.400", "500.600", true, Traffic::dns},
    {"pcap_dot1q_v4", "pcap", "100", "200", false, Traffic::dns},
    {"pcap_qinq_v4", "pcap", "300.400", "200", false, Traffic::dns, false, true},
    {"pcap_dot1q_v6", "pcap", "100", "200", true, Traffic::dns},
    {"pcap_dot1q_icmp_v4", "pcap", "100", "200", false, Traffic::icmp},
    {"xdp_two_interfaces_dot1q_v4", "xdp", "100", "200", false, Traffic::dns, true},
    {"xdp_two_interfaces_qinq_v6", "xdp", "300.400", "200", true, Traffic::dns, true},
    {"pcap_two_interfaces_dot1q_v4", "pcap", "100", "200", false, Traffic::dns, true},
    {"pcap_two_interfaces_qinq_v6", "pcap", "300.400", "200", true, Traffic::dns, true},
};

INSTANTIATE_TEST_SUITE_P(Cases, TaggedEmulatedHosts, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<TaggedCase>& p) {
                           return std::string(p.param.name);
                         });

}  // namespace
}  // namespace etherpath::relay
