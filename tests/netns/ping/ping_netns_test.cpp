// etherpath-ping end to end between two namespaces joined by a veth. Namespace A holds the
// emulated hosts (etherpath-ping --iface, or an IcmpEchoConn that answers), namespace B the
// kernel peer, behind the tc VLAN-termination program for tagged cases. Both directions prove
// both of etherpath-ping's modes: from an emulated host to the kernel, and from the kernel's
// ping socket (ping_group_range opened) and raw socket (the namespace's default "1 0") to an
// emulated host.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "conn/ether_conn.hpp"
#include "conn/icmp_echo_conn.hpp"
#include "conn/neighbor.hpp"
#include "datapath/packet_relay.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/vlan_peer.hpp"

namespace etherpath::ping {
namespace {

using etherpath::testing::in_netns;
using etherpath::testing::NetNs;
using etherpath::testing::Process;
using etherpath::testing::VethPair;
using etherpath::testing::VlanPeer;
using namespace std::chrono_literals;

struct PingCase {
  const char* name;
  const char* vlan;  // etherpath's VLAN text; "" untagged
  bool v6;
};

constexpr const char* kHostMac = "02:00:00:00:50:02";

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

class PingNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    auto a = NetNs::create("pa");
    ASSERT_TRUE(a) << a.error();
    a_.emplace(std::move(*a));
    auto b = NetNs::create("pb");
    ASSERT_TRUE(b) << b.error();
    b_.emplace(std::move(*b));
    auto v = VethPair::create(*a_, *b_);
    ASSERT_TRUE(v) << v.error();
    veth_.emplace(std::move(*v));
    ASSERT_TRUE(b_->exec("ip addr add 10.80.0.1/24 dev " + veth_->b() +
                         " && ip -6 addr add 2001:db8:80::1/64 dev " + veth_->b() + " nodad"));
  }

  void TearDown() override {
    stop_server();
    echo_.reset();
    neighbor_.reset();
    conn_.reset();
    if (a_ && relay_) {
      in_netns(*a_, [&] { relay_.reset(); });  // the program is detached in A's namespace
    }
    peer_.reset();
    veth_.reset();
  }

  void tag_peer(const char* vlan) {
    if (*vlan == '\0') {
      return;
    }
    auto p = VlanPeer::attach(*b_, veth_->b(), VlanStack::parse(vlan).value());
    ASSERT_TRUE(p) << p.error();
    peer_.emplace(std::move(*p));
  }

  static const char* kernel_address(bool v6) { return v6 ? "2001:db8:80::1" : "10.80.0.1"; }
  static const char* host_address(bool v6) { return v6 ? "2001:db8:80::2" : "10.80.0.2"; }

  // etherpath-ping in `ns` with `args`; its exit code and output once it ended.
  static Outcome ping(const NetNs& ns, std::vector<std::string> args,
                      std::chrono::milliseconds timeout = 20s) {
    args.insert(args.begin(), PING_BINARY);
    auto p = Process::spawn(args, &ns);
    EXPECT_TRUE(p) << p.error();
    if (!p) {
      return {};
    }
    auto rc = p->wait_for(timeout);
    EXPECT_TRUE(rc) << "etherpath-ping did not end: " << p->out();
    return Outcome{rc ? *rc : -1, p->out(), p->err()};
  }

  [[nodiscard]] std::vector<std::string> emulated_args(const PingCase& c) const {
    std::vector<std::string> args{"--iface", veth_->a(), "--src-mac",
                                  kHostMac,  "--src",    host_address(c.v6)};
    if (*c.vlan != '\0') {
      args.insert(args.end(), {"--vlan", c.vlan});
    }
    return args;
  }

  // An emulated host in A that answers pings (ARP/NDP by a Neighbor), served on a thread.
  void start_server(const PingCase& c) {
    auto r = in_netns(*a_, [&] {
      datapath::RelayOptions o;
      o.xdp_mode = datapath::xdp::XdpMode::native_copy;
      o.frames_per_queue = 1024;
      return datapath::PacketRelay::open(veth_->a(), o);
    });
    ASSERT_TRUE(r) << r.error();
    relay_ = std::move(*r);
    auto conn = conn::EtherConn::open(*relay_, {.mac = MacAddress::parse(kHostMac).value(),
                                                .vlans = VlanStack::parse(c.vlan).value()});
    ASSERT_TRUE(conn) << conn.error();
    conn_ = std::move(*conn);
    auto n = conn::Neighbor::open(*relay_);
    ASSERT_TRUE(n) << n.error();
    neighbor_ = std::move(*n);
    auto echo = conn::IcmpEchoConn::open(
        *conn_, {.local = IpAddress::parse(host_address(c.v6)).value(), .answer_requests = true},
        *neighbor_);
    ASSERT_TRUE(echo) << echo.error();
    echo_ = std::move(*echo);
    server_ = std::thread([this] {
      while (!serving_done_.load()) {
        echo_->serve(50ms);
      }
    });
  }

  void stop_server() {
    serving_done_ = true;
    if (server_.joinable()) {
      server_.join();
    }
  }

  std::optional<NetNs> a_, b_;
  std::optional<VethPair> veth_;
  std::optional<VlanPeer> peer_;
  std::unique_ptr<datapath::PacketRelay> relay_;
  std::unique_ptr<conn::EtherConn> conn_;
  std::unique_ptr<conn::Neighbor> neighbor_;
  std::unique_ptr<conn::IcmpEchoConn> echo_;
  std::atomic<bool> serving_done_{false};
  std::thread server_;
};

void expect_three_replies(const Outcome& o, const std::string& dest) {
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("icmp_seq=3 ttl=64 time="), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("--- " + dest +
                       " ping statistics ---\n3 packets transmitted, 3 received, "
                       "0% packet loss, time "),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("rtt min/avg/max/mdev = "), std::string::npos) << o.out;
}

class PingBothWays : public PingNetns, public ::testing::WithParamInterface<PingCase> {};

TEST_P(PingBothWays, EmulatedHostPingsTheKernel) {
  const PingCase c = GetParam();
  tag_peer(c.vlan);
  const std::string dest = kernel_address(c.v6);
  auto args = emulated_args(c);
  args.insert(args.end(), {"-c", "3", "-i", "0.2", "-W", "2", dest});
  const Outcome o = ping(*a_, args);
  expect_three_replies(o, dest);
  const std::string header = c.v6 ? "PING " + dest + "(" + dest + ") from " + host_address(c.v6) +
                                        " " + veth_->a() + ": 56 data bytes\n"
                                  : "PING " + dest + " (" + dest + ") from " + host_address(c.v6) +
                                        " " + veth_->a() + ": 56(84) bytes of data.\n";
  EXPECT_EQ(o.out.rfind(header, 0), 0U) << o.out;
  if (peer_) {
    auto counters = peer_->counters();
    ASSERT_TRUE(counters) << counters.error();
    EXPECT_GE(counters->rx_accepted, 3U) << "the echoes did not arrive tagged as " << c.vlan;
    EXPECT_GE(counters->tx_tagged, 3U);
  }
}

TEST_P(PingBothWays, KernelPingAndRawSocketsPingAnEmulatedHost) {
  const PingCase c = GetParam();
  tag_peer(c.vlan);
  start_server(c);
  const std::string dest = host_address(c.v6);
  // Ping sockets: a fresh namespace's ping_group_range is "1 0", which admits no group.
  ASSERT_TRUE(b_->exec("sysctl -qw net.ipv4.ping_group_range='0 2147483647'"));
  const Outcome dgram = ping(*b_, {"-v", "-c", "3", "-i", "0.2", "-W", "2", dest});
  expect_three_replies(dgram, dest);
  EXPECT_NE(dgram.err.find("SOCK_DGRAM"), std::string::npos) << dgram.err;
  // Back to the default: the raw-socket fallback.
  ASSERT_TRUE(b_->exec("sysctl -qw net.ipv4.ping_group_range='1 0'"));
  const Outcome raw = ping(*b_, {"-v", "-c", "3", "-i", "0.2", "-W", "2", dest});
  expect_three_replies(raw, dest);
  EXPECT_NE(raw.err.find("SOCK_RAW"), std::string::npos) << raw.err;
  EXPECT_GE(echo_->requests_answered(), 6U);
}

const PingCase kCases[] = {
    {"untagged_v4", "", false}, {"untagged_v6", "", true},    {"dot1q_v4", "100", false},
    {"dot1q_v6", "100", true},  {"qinq_v4", "100.20", false}, {"qinq_v6", "100.20", true},
};

INSTANTIATE_TEST_SUITE_P(Cases, PingBothWays, ::testing::ValuesIn(kCases),
                         [](const auto& p) { return std::string(p.param.name); });

TEST_F(PingNetns, LibpcapEngine) {
  const PingCase c{"pcap", "100.20", false};
  tag_peer(c.vlan);
  auto args = emulated_args(c);
  args.insert(args.end(), {"--engine", "pcap", "-c", "3", "-i", "0.2", "-W", "2", "10.80.0.1"});
  expect_three_replies(ping(*a_, args), "10.80.0.1");
}

TEST_F(PingNetns, NoReplyWithinTimeoutExits1) {
  ASSERT_TRUE(
      b_->exec("sysctl -qw net.ipv4.icmp_echo_ignore_all=1 "
               "net.ipv6.icmp.echo_ignore_all=1"));
  for (const bool v6 : {false, true}) {
    const std::string dest = kernel_address(v6);
    const std::string loss = "1 packets transmitted, 0 received, 100% packet loss";
    // From an emulated host: the kernel answers ARP/NDP but not the echo.
    auto args = emulated_args(PingCase{"", "", v6});
    args.insert(args.end(), {"-c", "1", "-W", "1", dest});
    const Outcome emulated = ping(*a_, args);
    EXPECT_EQ(emulated.code, 1) << emulated.out << emulated.err;
    EXPECT_NE(emulated.out.find(loss), std::string::npos) << emulated.out;
    EXPECT_EQ(emulated.out.find("rtt"), std::string::npos) << emulated.out;
    // Through a kernel socket, to the namespace's own address.
    const Outcome kernel = ping(*b_, {"-c", "1", "-W", "1", dest});
    EXPECT_EQ(kernel.code, 1) << kernel.out << kernel.err;
    EXPECT_NE(kernel.out.find(loss), std::string::npos) << kernel.out;
  }
}

TEST_F(PingNetns, GatewayIsTheNextHopForAnotherSubnet) {
  // B routes: the targets sit on its loopback, reachable only through its veth address. Over
  // 802.1Q, so that the gateway's ARP/NDP and the echoes all go tagged.
  ASSERT_TRUE(
      b_->exec("ip addr add 10.90.0.1/32 dev lo && ip -6 addr add 2001:db8:90::1/128 dev "
               "lo && ip link set lo up"));
  tag_peer("100");
  for (const bool v6 : {false, true}) {
    const std::string dest = v6 ? "2001:db8:90::1" : "10.90.0.1";
    auto args = emulated_args(PingCase{"", "100", v6});
    args.insert(args.end(),
                {"--gateway", kernel_address(v6), "-c", "2", "-i", "0.2", "-W", "2", dest});
    const Outcome o = ping(*a_, args);
    EXPECT_EQ(o.code, 0) << o.out << o.err;
    EXPECT_NE(o.out.find("2 packets transmitted, 2 received, 0% packet loss"), std::string::npos)
        << o.out;
    EXPECT_NE(o.out.find("bytes from " + dest + ": icmp_seq=2 "), std::string::npos) << o.out;
  }
}

TEST_F(PingNetns, UnansweredArpIsDestinationHostUnreachable) {
  // Nobody has 10.80.0.9: the Neighbor's requests go unanswered (about 2 s), and the emulated
  // host reports what the kernel would, an error from itself.
  auto args = emulated_args(PingCase{"", "", false});
  args.insert(args.end(), {"-c", "1", "-W", "1", "10.80.0.9"});
  const Outcome o = ping(*a_, args);
  EXPECT_EQ(o.code, 1) << o.out << o.err;
  EXPECT_NE(o.out.find("From 10.80.0.2 icmp_seq=1 Destination Host Unreachable\n"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("1 packets transmitted, 0 received, +1 errors, 100% packet loss"),
            std::string::npos)
      << o.out;
}

TEST_F(PingNetns, CountZeroRunsUntilSigintThenPrintsTheSummary) {
  auto args = emulated_args(PingCase{"", "", false});
  args.insert(args.begin(), PING_BINARY);
  args.insert(args.end(), {"-c", "0", "-i", "0.2", "10.80.0.1"});
  for (const bool emulated : {true, false}) {
    auto p = emulated ? Process::spawn(args, &*a_)
                      : Process::spawn({PING_BINARY, "-c", "0", "-i", "0.2", "10.80.0.1"}, &*b_);
    ASSERT_TRUE(p) << p.error();
    auto seen = p->wait_for_output("icmp_seq=3 ", 10s);
    ASSERT_TRUE(seen) << p->out() << p->err();
    p->signal(SIGINT);
    auto rc = p->wait_for(5s);
    ASSERT_TRUE(rc) << "no exit after SIGINT: " << p->out();
    EXPECT_EQ(*rc, 0) << p->out() << p->err();
    const std::string out = p->out();
    EXPECT_NE(out.find("\n--- 10.80.0.1 ping statistics ---\n"), std::string::npos) << out;
    EXPECT_NE(out.find("0% packet loss"), std::string::npos) << out;
    EXPECT_NE(out.find("rtt min/avg/max/mdev = "), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace etherpath::ping
