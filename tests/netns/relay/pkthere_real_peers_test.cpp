// pkthere between real peers in namespaces (client <-> relay <-> upstream): dig through pkthere
// to dnsmasq with the single-client lock and with --max-sessions 64, and the multi-session ICMP
// echo relay with system ping while the relay's own kernel answers no echoes.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/netns/relay/datapath_peers.hpp"
#include "tests/netns/relay/relay_harness.hpp"
#include "tests/netns/relay/three_namespaces.hpp"

namespace etherpath::relay {
namespace {

using etherpath::testing::Process;
using std::chrono::milliseconds;
using testing::PkthereRun;
using testing::ThreeNamespaces;

using testing::count;
using testing::dig_command;
using testing::query_file;
using testing::start_dnsmasq;
using testing::TempDir;

std::string engine_name(const ::testing::TestParamInfo<std::string>& param) {
  return param.param;
}

class PkthereRealPeers : public ::testing::TestWithParam<std::string> {};

TEST_P(PkthereRealPeers, DigThroughSingleClientLockToDnsmasq) {
  EP_SKIP_UNLESS_ROOT();
  auto t = ThreeNamespaces::create();
  ASSERT_TRUE(t);
  ASSERT_TRUE(testing::prepare_for_datapath(*t));
  auto dnsmasq = start_dnsmasq(*t);
  ASSERT_TRUE(dnsmasq);
  auto run = PkthereRun::start(
      testing::datapath_args(
          *t, GetParam(),
          {"--here", fmt::format("UDP:{}:5354", ThreeNamespaces::kRelayClientSide4), "--there",
           fmt::format("UDP:{}:53", ThreeNamespaces::kUpstream4), "--timeout-secs", "5"}),
      &*t->relay);
  ASSERT_TRUE(run);
  const TempDir dir;
  const std::string file = query_file(dir.path(), "q1000", 1000);
  // One dig process from one fixed source: every query comes from the locked client.
  auto out = t->client->exec(dig_command("5300", file));
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(count(*out, "status: NOERROR"), 1000U) << run->process.err();
  run->process.signal(SIGTERM);
  ASSERT_TRUE(run->process.wait_for(milliseconds(5000)));
  const auto stats = run->last_stats();
  EXPECT_EQ(stats["c2u_pkts"], 1000);
  EXPECT_EQ(stats["u2c_pkts"], 1000);
  EXPECT_EQ(stats["sessions_opened"], 1);
  EXPECT_EQ(stats["engine"], GetParam());
}

INSTANTIATE_TEST_SUITE_P(Engines, PkthereRealPeers, ::testing::Values("socket", "xdp", "pcap"),
                         engine_name);

TEST(PkthereRealPeers, SixtyFourDigsWithMaxSessions) {
  EP_SKIP_UNLESS_ROOT();
  auto t = ThreeNamespaces::create();
  ASSERT_TRUE(t);
  auto dnsmasq = start_dnsmasq(*t);
  ASSERT_TRUE(dnsmasq);
  auto run =
      PkthereRun::start({"--here", fmt::format("UDP:{}:5354", ThreeNamespaces::kRelayClientSide4),
                         "--there", fmt::format("UDP:{}:53", ThreeNamespaces::kUpstream4),
                         "--max-sessions", "64", "--timeout-secs", "6", "--debug", "log-drops"},
                        &*t->relay);
  ASSERT_TRUE(run);
  const TempDir dir;
  const std::string file = query_file(dir.path(), "q20", 20);
  std::string script;
  for (int i = 0; i < 64; ++i) {
    script +=
        fmt::format("{} > {}/out{} & ", dig_command(std::to_string(6000 + i), file), dir.path(), i);
  }
  script += fmt::format("wait; cat {}/out*", dir.path());
  auto out = t->client->exec(script);
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(count(*out, "status: NOERROR"), 64U * 20U);

  // A 65th client is refused while the 64 sessions are live...
  const std::string one =
      fmt::format("dig -b {}#7000 @{} -p 5354 late.example.test A +tries=1 +timeout=1 +short",
                  ThreeNamespaces::kClient4, ThreeNamespaces::kRelayClientSide4);
  auto refused = t->client->exec(one);
  EXPECT_FALSE(refused && refused->find("10.9.9.9") != std::string::npos);
  EXPECT_TRUE(run->process.wait_for_output("session limit reached (64): new client",
                                           milliseconds(1000), true));
  // ...and served once they have timed out.
  ASSERT_TRUE(run->process.wait_for_output("(0 left)", milliseconds(10000)));
  auto served = t->client->exec(one);
  ASSERT_TRUE(served) << served.error();
  EXPECT_NE(served->find("10.9.9.9"), std::string::npos);
  run->process.signal(SIGTERM);
  ASSERT_TRUE(run->process.wait_for(milliseconds(5000)));
  const auto stats = run->last_stats();
  EXPECT_GE(stats["drops_session_limit"].get<int>(), 1);
  EXPECT_EQ(stats["sessions_opened"], 65);
}

// pkthere's matrix across namespaces: a UDP client in the client namespace, pkthere in the relay
// namespace, a UDP echo or the upstream kernel's ICMP echo in the upstream namespace.
struct Combo {
  bool icmp;
  bool v6;
  bool connected;
  const char* engine = "socket";
};

std::string combo_name(const ::testing::TestParamInfo<Combo>& param) {
  const Combo& c = param.param;
  return fmt::format("{}{}{}{}", c.icmp ? "Icmp" : "Udp", c.v6 ? "V6" : "V4",
                     c.connected ? "Connected" : "Unconnected",
                     std::string(c.engine) == "socket" ? "" : std::string("_") + c.engine);
}

class PkthereAcrossNamespaces : public ::testing::TestWithParam<Combo> {};

TEST_P(PkthereAcrossNamespaces, SingleClientForwardingWrongPeerAndTimeoutExit) {
  EP_SKIP_UNLESS_ROOT();
  const Combo c = GetParam();
  auto t = ThreeNamespaces::create();
  ASSERT_TRUE(t);
  ASSERT_TRUE(testing::prepare_for_datapath(*t));
  const auto ip = [&](const char* v4, const char* v6) {
    return IpAddress::parse(c.v6 ? v6 : v4).value();
  };
  const IpAddress client_ip = ip(ThreeNamespaces::kClient4, ThreeNamespaces::kClient6);
  const IpAddress relay_ip =
      ip(ThreeNamespaces::kRelayClientSide4, ThreeNamespaces::kRelayClientSide6);
  const IpAddress upstream_ip = ip(ThreeNamespaces::kUpstream4, ThreeNamespaces::kUpstream6);
  std::unique_ptr<testing::UdpEchoServer> echo;
  IpEndpoint upstream{upstream_ip, 4242};
  if (!c.icmp) {
    echo = etherpath::testing::in_netns(
        *t->upstream, [&] { return std::make_unique<testing::UdpEchoServer>(upstream_ip); });
    ASSERT_TRUE(echo);
    upstream = echo->endpoint();
  }
  const auto bracket = [&](const IpAddress& a) {
    return c.v6 ? fmt::format("[{}]", a.to_string()) : a.to_string();
  };
  auto run = PkthereRun::start(
      testing::datapath_args(
          *t, c.engine,
          {"--here", fmt::format("UDP:{}:5354", bracket(relay_ip)), "--there",
           fmt::format("{}:{}:{}", c.icmp ? "ICMP" : "UDP", bracket(upstream_ip), upstream.port),
           "--timeout-secs", "1", "--on-timeout", "exit", "--debug",
           c.connected ? "log-drops" : "log-drops,no-connect"}),
      &*t->relay);
  ASSERT_TRUE(run);
  const auto client_socket = [&] {
    return etherpath::testing::in_netns(*t->client, [&] {
      return testing::udp_socket(IpEndpoint{client_ip, 0});
    });
  };
  const UniqueFd a = client_socket();
  const UniqueFd b = client_socket();
  ASSERT_TRUE(a && b);
  const std::string msg = "hello-across-namespaces";
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(testing::send_to(a.get(), run->listen, msg));
    auto got = testing::receive(a.get(), milliseconds(2000));
    ASSERT_TRUE(got) << "echo " << i << " missing; " << run->process.err();
    EXPECT_EQ(got->data, msg);
    EXPECT_EQ(got->from, run->listen);
  }
  ASSERT_TRUE(testing::send_to(b.get(), run->listen, "intruder"));
  EXPECT_FALSE(testing::receive(b.get(), milliseconds(300)));
  auto status = run->process.wait_for(milliseconds(5000));
  ASSERT_TRUE(status) << "no timeout exit";
  EXPECT_EQ(*status, 0);
  const auto stats = run->last_stats();
  EXPECT_EQ(stats["c2u_pkts"], 5);
  EXPECT_EQ(stats["u2c_pkts"], 5);
  EXPECT_EQ(stats["c2u_bytes"], 5 * msg.size());
  EXPECT_EQ(stats["u2c_bytes_max"], msg.size());
  EXPECT_EQ(stats["client_addr"], testing::local_endpoint(a.get()).to_string());
  EXPECT_EQ(stats["upstream_addr"], upstream.to_string());
  EXPECT_EQ(stats["drops_wrong_client"], c.connected ? 0 : 1);
  if (!c.connected) {
    EXPECT_NE(run->process.err().find("dropping packet from unexpected client peer"),
              std::string::npos);
  }
}

// Every combination on each engine: the same semantics whichever moves the datagrams.
std::vector<Combo> all_combos() {
  std::vector<Combo> out;
  for (const char* engine : {"socket", "xdp", "pcap"}) {
    for (const bool icmp : {false, true}) {
      for (const bool v6 : {false, true}) {
        for (const bool connected : {true, false}) {
          out.push_back(Combo{icmp, v6, connected, engine});
        }
      }
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Matrix, PkthereAcrossNamespaces, ::testing::ValuesIn(all_combos()),
                         combo_name);

// /proc/net/snmp's Icmp InEchos (IPv4) or snmp6's Icmp6InEchos in a namespace.
std::uint64_t in_echos(const etherpath::testing::NetNs& ns, bool v6) {
  const std::string cmd =
      v6 ? "awk '$1 == \"Icmp6InEchos\" {print $2}' /proc/net/snmp6"
         : "awk '/^Icmp:/ {if (!h) {for (i = 1; i <= NF; i++) if ($i == \"InEchos\") c = i; h = 1}"
           " else print $c}' /proc/net/snmp";
  auto out = ns.exec(cmd);
  return out ? std::stoull(*out) : 0;
}

class IcmpRelay : public ::testing::TestWithParam<bool> {};

TEST_P(IcmpRelay, TwoSessionsServeTwoOfThreePingers) {
  EP_SKIP_UNLESS_ROOT();
  const bool v6 = GetParam();
  auto t = ThreeNamespaces::create();
  ASSERT_TRUE(t);
  // The relay's kernel answers no echoes itself; on IPv6 its upstream uses ping sockets.
  ASSERT_TRUE(t->relay->exec(
      fmt::format("sysctl -qw net.ipv4.icmp_echo_ignore_all=1 net.ipv6.icmp.echo_ignore_all=1{}",
                  v6 ? " net.ipv4.ping_group_range='0 2147483647'" : "")));
  const std::string here = v6 ? fmt::format("[{}]", ThreeNamespaces::kRelayClientSide6)
                              : ThreeNamespaces::kRelayClientSide4;
  const std::string there =
      v6 ? fmt::format("[{}]", ThreeNamespaces::kUpstream6) : ThreeNamespaces::kUpstream4;
  auto run = PkthereRun::start(
      {"--here", fmt::format("ICMP:{}:0", here), "--there", fmt::format("ICMP:{}:0", there),
       "--max-sessions", "2", "--timeout-secs", "2", "--debug", "log-drops"},
      &*t->relay);
  ASSERT_TRUE(run);
  EXPECT_NE(run->process.out().find(v6 ? "upstream socket: ping" : "upstream socket: raw"),
            std::string::npos)
      << run->process.out();
  const std::uint64_t echos_before = in_echos(*t->upstream, v6);
  const std::string target =
      v6 ? ThreeNamespaces::kRelayClientSide6 : ThreeNamespaces::kRelayClientSide4;
  const std::string ping =
      fmt::format("ping {} -c 5 -i 0.2 -W 1 -p a5c3 -s 56 {}", v6 ? "-6" : "-4", target);
  const TempDir dir;
  std::string script;
  for (int i = 0; i < 3; ++i) {
    script += fmt::format("{} > {}/p{} 2>&1 & ", ping, dir.path(), i);
  }
  script += fmt::format("wait; cat {}/p*", dir.path());
  auto out = t->client->exec(script);
  ASSERT_TRUE(out) << out.error();  // some pings fail: the shell's wait still exits 0
  EXPECT_EQ(count(*out, "5 packets transmitted, 5 received"), 2U) << *out;
  EXPECT_EQ(count(*out, "5 packets transmitted, 0 received"), 1U) << *out;
  // ping checks the seq and the a5c3 pattern of every reply and complains when they differ.
  EXPECT_EQ(count(*out, "wrong data"), 0U);
  EXPECT_EQ(count(*out, "DUP!"), 0U);
  EXPECT_EQ(count(*out, "icmp_seq=5 "), 2U);
  EXPECT_EQ(in_echos(*t->upstream, v6) - echos_before, 10U);

  // Idle sessions go after the timeout, and a new pinger is served.
  ASSERT_TRUE(run->process.wait_for_output("(0 left)", milliseconds(5000)));
  auto again =
      t->client->exec(fmt::format("ping {} -c 2 -i 0.2 -W 1 {}", v6 ? "-6" : "-4", target));
  ASSERT_TRUE(again) << again.error();
  EXPECT_NE(again->find("2 packets transmitted, 2 received"), std::string::npos) << *again;
  run->process.signal(SIGTERM);
  ASSERT_TRUE(run->process.wait_for(milliseconds(5000)));
  const auto stats = run->last_stats();
  EXPECT_EQ(stats["u2c_pkts"], 12);
  EXPECT_GE(stats["drops_session_limit"].get<int>(), 5);
  EXPECT_EQ(stats["echo_timeouts"], 0);
}

// UDP<->ICMP bridging, the other way round: system ping (ICMP clients) through pkthere to a UDP
// echo upstream; each echo's payload travels as a UDP datagram and comes back as the client's
// own Echo reply (its id, its seq, the same pattern).
class IcmpBridge : public ::testing::TestWithParam<std::string> {};

// On xdp the echo requests are steered to pkthere (listener id 0 = any id) and the relay's kernel
// never sees them; on pcap (and sockets) it does, hence icmp_echo_ignore_all.
TEST_P(IcmpBridge, PingThroughUdpUpstream) {
  EP_SKIP_UNLESS_ROOT();
  auto t = ThreeNamespaces::create();
  ASSERT_TRUE(t);
  ASSERT_TRUE(testing::prepare_for_datapath(*t));
  if (GetParam() != "xdp") {
    ASSERT_TRUE(t->relay->exec("sysctl -qw net.ipv4.icmp_echo_ignore_all=1"));
  }
  const IpAddress upstream_ip = IpAddress::parse(ThreeNamespaces::kUpstream4).value();
  auto echo = etherpath::testing::in_netns(
      *t->upstream, [&] { return std::make_unique<testing::UdpEchoServer>(upstream_ip); });
  ASSERT_TRUE(echo);
  auto run = PkthereRun::start(
      testing::datapath_args(
          *t, GetParam(),
          {"--here", fmt::format("ICMP:{}:0", ThreeNamespaces::kRelayClientSide4), "--there",
           fmt::format("UDP:{}", echo->endpoint().to_string()), "--timeout-secs", "2"}),
      &*t->relay);
  ASSERT_TRUE(run);
  auto out = t->client->exec(
      fmt::format("ping -4 -c 3 -i 0.2 -W 1 -p 5aa5 {}", ThreeNamespaces::kRelayClientSide4));
  ASSERT_TRUE(out) << out.error() << run->process.err();
  EXPECT_NE(out->find("3 packets transmitted, 3 received"), std::string::npos) << *out;
  EXPECT_EQ(count(*out, "wrong data"), 0U);
  EXPECT_EQ(count(*out, "DUP!"), 0U);
  EXPECT_EQ(echo->echoed(), 3U);
}

INSTANTIATE_TEST_SUITE_P(Engines, IcmpBridge, ::testing::Values("socket", "xdp", "pcap"),
                         engine_name);

std::string family_name(const ::testing::TestParamInfo<bool>& param) {
  return param.param ? "V6PingSockets" : "V4RawSockets";
}

INSTANTIATE_TEST_SUITE_P(Families, IcmpRelay, ::testing::Values(false, true), family_name);

}  // namespace
}  // namespace etherpath::relay
