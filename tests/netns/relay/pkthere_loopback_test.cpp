// pkthere's integration matrix on loopback: {UDP, ICMP upstream} x {IPv4, IPv6} x {connected,
// unconnected}: single-client forwarding with exact stats, wrong-peer drops, the timeout exit
// with status 0, --max-payload at its edge, and relocking after a drop timeout.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "relay/config.hpp"
#include "tests/netns/relay/relay_harness.hpp"

namespace etherpath::relay {
namespace {

using std::chrono::milliseconds;
using testing::PkthereRun;
using testing::UdpEchoServer;

struct Combo {
  Proto upstream;
  IpFamily family;
  bool connected;
};

std::string combo_name(const ::testing::TestParamInfo<Combo>& info) {
  const Combo& c = info.param;
  return std::string(c.upstream == Proto::udp ? "Udp" : "Icmp") +
         (c.family == IpFamily::v4 ? "V4" : "V6") + (c.connected ? "Connected" : "Unconnected");
}

class PkthereMatrix : public ::testing::TestWithParam<Combo> {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    const Combo& c = GetParam();
    loopback_ = c.family == IpFamily::v4 ? IpAddress::parse("127.0.0.1").value()
                                         : IpAddress::parse("::1").value();
    if (c.upstream == Proto::udp) {
      echo_ = std::make_unique<UdpEchoServer>(loopback_);
      upstream_ = echo_->endpoint();
    } else {
      upstream_ = IpEndpoint{loopback_, 4242};  // the loopback kernel answers the echoes
    }
  }

  // pkthere with this combination's upstream and socket mode, plus `extra`.
  [[nodiscard]] std::optional<PkthereRun> start(std::vector<std::string> extra) const {
    const Combo& c = GetParam();
    const std::string host = c.family == IpFamily::v4 ? "127.0.0.1" : "[::1]";
    std::vector<std::string> args = {"--here",
                                     "UDP:" + host + ":0",
                                     "--there",
                                     std::string(c.upstream == Proto::udp ? "UDP:" : "ICMP:") +
                                         host + ":" + std::to_string(upstream_.port),
                                     "--debug",
                                     c.connected ? "log-drops" : "log-drops,no-connect"};
    args.insert(args.end(), extra.begin(), extra.end());
    return PkthereRun::start(args);
  }

  [[nodiscard]] std::string upstream_text() const { return upstream_.to_string(); }

  IpAddress loopback_;
  std::unique_ptr<UdpEchoServer> echo_;
  IpEndpoint upstream_;
};

TEST_P(PkthereMatrix, SingleClientForwardingThenTimeoutExit) {
  auto run = start({"--timeout-secs", "1", "--on-timeout", "exit"});
  ASSERT_TRUE(run);
  const UniqueFd a = testing::udp_socket(IpEndpoint{loopback_, 0});
  const UniqueFd b = testing::udp_socket(IpEndpoint{loopback_, 0});
  const std::string msg =
      GetParam().family == IpFamily::v4 ? "hello-through-forwarder" : "hello-through-forwarder-v6";
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(testing::send_to(a.get(), run->listen, msg));
    auto got = testing::receive(a.get(), milliseconds(2000));
    ASSERT_TRUE(got) << "echo " << i << " missing; " << run->process.err();
    EXPECT_EQ(got->data, msg);
    EXPECT_EQ(got->from, run->listen);  // replies leave from the listener
  }
  // Another client is refused while A holds the lock.
  ASSERT_TRUE(testing::send_to(b.get(), run->listen, "intruder"));
  EXPECT_FALSE(testing::receive(b.get(), milliseconds(300)));
  if (!GetParam().connected) {
    EXPECT_TRUE(run->process.wait_for_output("dropping packet from unexpected client peer",
                                             milliseconds(1000), true));
  }
  auto status = run->process.wait_for(milliseconds(5000));
  ASSERT_TRUE(status) << "no timeout exit";
  EXPECT_EQ(*status, 0);

  const auto stats = run->last_stats();
  ASSERT_FALSE(stats.is_null()) << run->process.out();
  EXPECT_EQ(stats["locked"], true);
  EXPECT_EQ(stats["c2u_pkts"], 5);
  EXPECT_EQ(stats["u2c_pkts"], 5);
  EXPECT_EQ(stats["c2u_bytes"], 5 * msg.size());
  EXPECT_EQ(stats["u2c_bytes"], 5 * msg.size());
  EXPECT_EQ(stats["c2u_bytes_max"], msg.size());
  EXPECT_EQ(stats["u2c_bytes_max"], msg.size());
  EXPECT_EQ(stats["c2u_errs"], 0);
  EXPECT_EQ(stats["client_addr"], testing::local_endpoint(a.get()).to_string());
  EXPECT_EQ(stats["upstream_addr"], upstream_text());
  EXPECT_EQ(stats["client_proto"], "UDP");
  EXPECT_EQ(stats["upstream_proto"], GetParam().upstream == Proto::udp ? "UDP" : "ICMP");
  EXPECT_EQ(stats["drops_wrong_client"], GetParam().connected ? 0 : 1);
  for (const char* dir : {"c2u_", "u2c_"}) {
    const double avg = stats[std::string(dir) + "us_avg"];
    const double ewma = stats[std::string(dir) + "us_ewma"];
    const double max = stats[std::string(dir) + "us_max"];
    EXPECT_GT(avg, 0.0);
    EXPECT_GT(ewma, 0.0);
    EXPECT_GE(max, avg);
    EXPECT_GE(max, ewma);
  }
}

TEST_P(PkthereMatrix, EnforceMaxPayload) {
  const std::size_t max = GetParam().family == IpFamily::v4 ? 548 : 1232;
  auto run =
      start({"--timeout-secs", "1", "--on-timeout", "exit", "--max-payload", std::to_string(max)});
  ASSERT_TRUE(run);
  const UniqueFd a = testing::udp_socket(IpEndpoint{loopback_, 0});
  const std::string fits(max, 'm');
  ASSERT_TRUE(testing::send_to(a.get(), run->listen, fits));
  auto got = testing::receive(a.get(), milliseconds(2000));
  ASSERT_TRUE(got) << run->process.err();
  EXPECT_EQ(got->data, fits);
  ASSERT_TRUE(testing::send_to(a.get(), run->listen, fits + "x"));
  EXPECT_FALSE(testing::receive(a.get(), milliseconds(300)));
  auto status = run->process.wait_for(milliseconds(5000));
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  const auto stats = run->last_stats();
  EXPECT_EQ(stats["c2u_drops_oversize"], 1);
  EXPECT_EQ(stats["c2u_pkts"], 1);
  EXPECT_EQ(stats["u2c_pkts"], 1);
}

TEST_P(PkthereMatrix, RelockAfterTimeoutDrop) {
  if (GetParam().family == IpFamily::v6) {
    GTEST_SKIP() << "pkthere's classic relock case runs on IPv4 (the v6 path is the same code)";
  }
  auto run = start({"--timeout-secs", "1", "--on-timeout", "drop"});
  ASSERT_TRUE(run);
  const UniqueFd a = testing::udp_socket(IpEndpoint{loopback_, 0});
  const UniqueFd b = testing::udp_socket(IpEndpoint{loopback_, 0});
  ASSERT_TRUE(testing::send_to(a.get(), run->listen, "first-client"));
  auto got = testing::receive(a.get(), milliseconds(2000));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->data, "first-client");
  ASSERT_TRUE(run->process.wait_for_output("Idle timeout reached (1s): dropping locked client",
                                           milliseconds(4000)));
  EXPECT_TRUE(run->process.running());  // drop mode does not exit
  const std::string b_text = testing::local_endpoint(b.get()).to_string();
  bool served = false;
  for (int i = 0; i < 10 && !served; ++i) {
    ASSERT_TRUE(testing::send_to(b.get(), run->listen, "second-client"));
    auto reply = testing::receive(b.get(), milliseconds(300));
    served = reply && reply->data == "second-client";
  }
  ASSERT_TRUE(served);
  ASSERT_TRUE(testing::send_to(b.get(), run->listen, "second-client"));
  ASSERT_TRUE(testing::receive(b.get(), milliseconds(2000)));
  EXPECT_NE(run->process.out().find("Locked to single client " + b_text), std::string::npos);
  run->process.signal(SIGTERM);
  auto status = run->process.wait_for(milliseconds(5000));
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 130);
  const auto stats = run->last_stats();
  EXPECT_EQ(stats["client_addr"], b_text);
  EXPECT_GE(stats["c2u_pkts"].get<int>(), 2);
  EXPECT_GE(stats["u2c_pkts"].get<int>(), 2);
  EXPECT_EQ(stats["sessions_expired"], 1);
}

// --workers 2: two listener sockets share the port (SO_REUSEPORT); the kernel spreads clients
// over them, each worker with its own sessions; the stats line adds both up.
TEST(PkthereWorkers, TwoWorkersShareTheListenerPort) {
  EP_SKIP_UNLESS_ROOT();
  const IpAddress lo = IpAddress::parse("127.0.0.1").value();
  UdpEchoServer echo(lo);
  auto run = PkthereRun::start(
      {"--here", "UDP:127.0.0.1:0", "--there", "UDP:" + echo.endpoint().to_string(), "--workers",
       "2", "--max-sessions", "8", "--timeout-secs", "1", "--on-timeout", "exit"});
  ASSERT_TRUE(run);
  EXPECT_NE(run->process.out().find("Workers: 2"), std::string::npos);
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(testing::udp_socket(IpEndpoint{lo, 0}));
    const std::string msg = "worker-client-" + std::to_string(i);
    ASSERT_TRUE(testing::send_to(clients.back().get(), run->listen, msg));
    auto got = testing::receive(clients.back().get(), milliseconds(2000));
    ASSERT_TRUE(got) << "client " << i;
    EXPECT_EQ(got->data, msg);
  }
  auto status = run->process.wait_for(milliseconds(5000));
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  const auto stats = run->last_stats();
  EXPECT_EQ(stats["workers"], 2);
  EXPECT_EQ(stats["c2u_pkts"], 8);
  EXPECT_EQ(stats["u2c_pkts"], 8);
  EXPECT_EQ(stats["sessions_opened"], 8);
}

// --user nobody: after binding, pkthere runs as nobody with no supplementary groups and keeps
// only what its engine still needs (CAP_NET_RAW for an ICMP upstream, nothing for UDP).
std::string status_field(pid_t pid, const std::string& field) {
  auto line =
      etherpath::testing::run("grep '^" + field + ":' /proc/" + std::to_string(pid) + "/status");
  return line ? line->substr(field.size() + 1) : std::string();
}

TEST(PkthereUser, DropsToNobodyKeepingOnlyNeededCapabilities) {
  EP_SKIP_UNLESS_ROOT();
  const std::string nobody = etherpath::testing::run("id -u nobody").value_or("65534\n");
  for (const bool icmp : {false, true}) {
    auto run = PkthereRun::start(
        {"--here", "UDP:127.0.0.1:0", "--there", icmp ? "ICMP:127.0.0.1:7" : "UDP:127.0.0.1:9"});
    ASSERT_TRUE(run);
    ASSERT_TRUE(
        run->process.wait_for_output("Dropped privileges to user nobody", milliseconds(2000)));
    const pid_t pid = run->process.pid();
    EXPECT_NE(status_field(pid, "Uid").find(nobody.substr(0, nobody.size() - 1)),
              std::string::npos);
    EXPECT_EQ(status_field(pid, "Groups").find_first_not_of(" \t\n"), std::string::npos);
    // CAP_NET_RAW is bit 13.
    const std::string want = icmp ? "\t0000000000002000\n" : "\t0000000000000000\n";
    EXPECT_EQ(status_field(pid, "CapEff"), want) << (icmp ? "ICMP" : "UDP");
    EXPECT_EQ(status_field(pid, "CapPrm"), want);
    EXPECT_EQ(status_field(pid, "CapBnd"), "\t0000000000000000\n");  // nothing to regain
  }
}

// Without root, without CAP_NET_RAW and outside net.ipv4.ping_group_range (this machine's "1 0"
// admits nobody), an ICMP upstream cannot open: one line that names the sysctl, exit 1.
TEST(PkthereIcmpPermissions, ErrorNamesTheSysctl) {
  EP_SKIP_UNLESS_ROOT();  // setpriv needs root to become nobody
  auto range = etherpath::testing::run("cat /proc/sys/net/ipv4/ping_group_range");
  ASSERT_TRUE(range);
  if (range->find("1\t0") == std::string::npos) {
    GTEST_SKIP() << "ping sockets are open to some groups here (" << *range << ")";
  }
  auto p = etherpath::testing::Process::spawn(
      {"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all",
       PKTHERE_BINARY, "--here", "UDP:127.0.0.1:0", "--there", "ICMP:127.0.0.1:7"});
  ASSERT_TRUE(p) << p.error();
  auto status = p->wait_for(milliseconds(5000));
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 1);
  const std::string err = p->err();
  EXPECT_NE(err.find("net.ipv4.ping_group_range"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), err.size() - 1) << err;
}

INSTANTIATE_TEST_SUITE_P(Loopback, PkthereMatrix,
                         ::testing::Values(Combo{Proto::udp, IpFamily::v4, true},
                                           Combo{Proto::udp, IpFamily::v4, false},
                                           Combo{Proto::udp, IpFamily::v6, true},
                                           Combo{Proto::udp, IpFamily::v6, false},
                                           Combo{Proto::icmp, IpFamily::v4, true},
                                           Combo{Proto::icmp, IpFamily::v4, false},
                                           Combo{Proto::icmp, IpFamily::v6, true},
                                           Combo{Proto::icmp, IpFamily::v6, false}),
                         combo_name);

}  // namespace
}  // namespace etherpath::relay
