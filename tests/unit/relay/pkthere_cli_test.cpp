// pkthere's command line, run as the built binary: classic pkthere's rejection cases and the three
// later checks design.md §5 adopts, each exiting 2 with one line naming the flag; --help exits 0;
// a valid run stays up and exits 130 after a final stats line on SIGTERM.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/support/netns.hpp"

namespace etherpath::relay {
namespace {

using etherpath::testing::Process;
using std::chrono::milliseconds;

struct Rejection {
  std::vector<std::string> args;
  std::string flag;      // the flag the message must name
  std::string fragment;  // and what it must say
};

const std::vector<std::string> kHere = {"--here", "UDP:127.0.0.1:0"};
const std::vector<std::string> kThere = {"--there", "UDP:127.0.0.1:9"};

std::vector<std::string> with_endpoints(std::vector<std::string> extra) {
  std::vector<std::string> out = kHere;
  out.insert(out.end(), kThere.begin(), kThere.end());
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

Process spawn(std::vector<std::string> args) {
  args.insert(args.begin(), PKTHERE_BINARY);
  auto p = Process::spawn(args);
  EXPECT_TRUE(p) << p.error();
  return std::move(p).value();
}

class PkthereRejects : public ::testing::TestWithParam<Rejection> {};

TEST_P(PkthereRejects, ExitsTwoWithOneLineNamingTheFlag) {
  const Rejection& r = GetParam();
  Process p = spawn(r.args);
  auto status = p.wait_for(milliseconds(5000));
  ASSERT_TRUE(status) << status.error();
  EXPECT_EQ(*status, 2);
  const std::string err = p.err();
  ASSERT_FALSE(err.empty());
  EXPECT_EQ(err.find('\n'), err.size() - 1) << "more than one line: " << err;
  EXPECT_NE(err.find(r.flag), std::string::npos) << err;
  EXPECT_NE(err.find(r.fragment), std::string::npos) << err;
}

// Classic pkthere (tests/cli.rs @f6e95a3) first, then the later checks, then ours.
INSTANTIATE_TEST_SUITE_P(
    Cli, PkthereRejects,
    ::testing::Values(
        Rejection{kThere, "--here", "missing required flag"},
        Rejection{kHere, "--there", "missing required flag"},
        Rejection{with_endpoints({"--here", "UDP:127.0.0.1:1"}), "--here", "specified multiple"},
        Rejection{with_endpoints({"--there", "UDP:127.0.0.1:1"}), "--there", "specified multiple"},
        Rejection{with_endpoints({"--timeout-secs", "1", "--timeout-secs", "2"}), "--timeout-secs",
                  "specified multiple"},
        Rejection{with_endpoints({"--user", "a", "--user", "b"}), "--user", "specified multiple"},
        Rejection{with_endpoints({"--reresolve-mode", "both", "--reresolve-mode", "none"}),
                  "--reresolve-mode", "specified multiple"},
        Rejection{with_endpoints({"--on-timeout", "nope"}), "--on-timeout", "drop|exit"},
        Rejection{with_endpoints({"--max-payload", "notanumber"}), "--max-payload", "notanumber"},
        Rejection{with_endpoints({"--reresolve-mode", "invalid"}), "--reresolve-mode",
                  "upstream|listen|both|none"},
        Rejection{{"--here", "XYZ:127.0.0.1:abc", "--there", "UDP:127.0.0.1:9"},
                  "--here",
                  "must be UDP:<ip>:<port> or ICMP:<ip>:<id>"},
        Rejection{{"--here", "UDP:127.0.0.1:0", "--there", "UDP:not-an-addr"},
                  "--there",
                  "must be UDP:<ip>:<port> or ICMP:<ip>:<id>"},
        Rejection{with_endpoints({"--debug", "bogus"}), "--debug", "no-connect, log-drops"},
        Rejection{with_endpoints({"--user"}), "--user", "requires a value"},
        // design.md §5: per-protocol caps, port conflict, UDP:host:0 upstream.
        Rejection{with_endpoints({"--max-payload", "65508"}), "--max-payload", "(65507)"},
        Rejection{
            {"--here", "UDP:127.0.0.1:0", "--there", "ICMP:127.0.0.1:7", "--max-payload", "65497"},
            "--max-payload",
            "(65496)"},
        Rejection{
            {"--here", "UDP:[::1]:0", "--there", "ICMP:127.0.0.1:7", "--max-payload", "65497"},
            "--max-payload",
            "(65496)"},
        Rejection{{"--here", "UDP:127.0.0.1:5000", "--there", "UDP:127.0.0.1:5000"},
                  "--here",
                  "Port conflict"},
        Rejection{{"--here", "UDP:127.0.0.1:0", "--there", "UDP:127.0.0.1:0"},
                  "--there",
                  "UDP upstream requires a fixed remote destination port"},
        Rejection{{"--here", "UDP:[::1]:0", "--there", "UDP:[::1]:0"},
                  "--there",
                  "UDP upstream requires a fixed remote destination port"},
        Rejection{{"--here", "ICMP:::1:1234", "--there", "UDP:127.0.0.1:9"}, "--here", "brackets"},
        Rejection{with_endpoints({"--workers", "0"}), "--workers", "between 1 and 256"},
        Rejection{with_endpoints({"--workers", "257"}), "--workers", "between 1 and 256"},
        Rejection{with_endpoints({"--max-sessions", "0"}), "--max-sessions", "between"},
        Rejection{with_endpoints({"--bogus"}), "--bogus", "unknown arg"},
        Rejection{with_endpoints({"--engine", "xdp"}), "--engine", "needs --iface"},
        Rejection{with_endpoints({"--engine", "pcap"}), "--engine", "needs --iface"},
        Rejection{with_endpoints({"--iface", "lo", "--xdp-mode", "fast"}), "--xdp-mode",
                  "auto|zc|copy|skb"},
        Rejection{with_endpoints({"--iface", "lo", "--next-hop-mac", "nope"}), "--next-hop-mac",
                  "invalid MAC"},
        Rejection{with_endpoints({"--iface", "lo", "--queues", "x"}), "--queues", ""},
        Rejection{with_endpoints({"--engine", "warp"}), "--engine", "auto|socket|xdp|pcap"}));

TEST(PkthereCli, HelpExitsZero) {
  Process p = spawn({"--help"});
  auto status = p.wait_for(milliseconds(5000));
  ASSERT_TRUE(status) << status.error();
  EXPECT_EQ(*status, 0);
  for (const char* flag : {"--here",
                           "--there",
                           "--timeout-secs",
                           "--on-timeout",
                           "--max-payload",
                           "--max-sessions",
                           "--stats-interval-mins",
                           "--no-stats",
                           "--workers",
                           "--reresolve-secs",
                           "--reresolve-mode",
                           "--user",
                           "--group",
                           "--debug",
                           "--engine",
                           "--echo-timeout-ms",
                           "--iface",
                           "--there-iface",
                           "--queues",
                           "--xdp-mode",
                           "--next-hop-mac"}) {
    EXPECT_NE(p.out().find(flag), std::string::npos) << flag;
  }
}

TEST(PkthereCli, RootNeedsUser) {
  if (!etherpath::testing::running_as_root()) {
    GTEST_SKIP() << "the --user requirement applies to root only";
  }
  Process p = spawn(with_endpoints({}));
  auto status = p.wait_for(milliseconds(5000));
  ASSERT_TRUE(status) << status.error();
  EXPECT_EQ(*status, 2);
  EXPECT_NE(p.err().find("must specify --user when running as root"), std::string::npos);
}

TEST(PkthereCli, RunsUntilSigtermThenExits130AfterFinalStats) {
  std::vector<std::string> args =
      with_endpoints({"--reresolve-secs", "1", "--stats-interval-mins", "0"});
  if (etherpath::testing::running_as_root()) {
    args.insert(args.end(), {"--user", "nobody"});
  }
  Process p = spawn(args);
  auto listening = p.wait_for_output("Listening on UDP:127.0.0.1:", milliseconds(5000));
  ASSERT_TRUE(listening) << listening.error() << p.err();
  EXPECT_FALSE(p.wait_for(milliseconds(500)));  // stays up
  // --stats-interval-mins 0: a stats line every second.
  EXPECT_TRUE(p.wait_for_output("\"uptime_s\"", milliseconds(2500)));
  p.signal(SIGTERM);
  auto status = p.wait_for(milliseconds(5000));
  ASSERT_TRUE(status) << status.error();
  EXPECT_EQ(*status, 130);
  const std::string out = p.out();
  EXPECT_NE(out.find("\"uptime_s\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"locked\":false"), std::string::npos) << out;
  EXPECT_GE(std::count(out.begin(), out.end(), '{'), 2) << out;  // periodic + final
}

TEST(PkthereCli, NoStatsMeansNoStatsLines) {
  std::vector<std::string> args = with_endpoints({"--no-stats"});
  if (etherpath::testing::running_as_root()) {
    args.insert(args.end(), {"--user", "nobody"});
  }
  Process p = spawn(args);
  ASSERT_TRUE(p.wait_for_output("Listening on UDP:127.0.0.1:", milliseconds(5000)));
  p.signal(SIGINT);
  auto status = p.wait_for(milliseconds(5000));
  ASSERT_TRUE(status) << status.error();
  EXPECT_EQ(*status, 130);
  EXPECT_EQ(p.out().find("uptime_s"), std::string::npos) << p.out();
}

}  // namespace
}  // namespace etherpath::relay
