// etherpath-gen between two namespaces joined by a veth pair: what the peer's kernel counts and
// captures is what the generator was asked for. Short, bounded runs.
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/netns.hpp"
#include "tests/support/reflector.hpp"

namespace etherpath::gen {
namespace {

using etherpath::testing::NetNs;
using etherpath::testing::Process;
using etherpath::testing::VethOptions;
using etherpath::testing::VethPair;
using namespace std::chrono_literals;

class GenNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    auto a = NetNs::create("gena");
    ASSERT_TRUE(a) << a.error().message();
    a_.emplace(std::move(*a));
    auto b = NetNs::create("genb");
    ASSERT_TRUE(b) << b.error().message();
    b_.emplace(std::move(*b));
    auto veth = VethPair::create(*a_, *b_, VethOptions{.queues = 2});
    ASSERT_TRUE(veth) << veth.error().message();
    veth_.emplace(std::move(*veth));
    // Count what reaches the peer's kernel, before anything else can drop it.
    ASSERT_TRUE(
        exec_b("nft add table netdev gen && nft add chain netdev gen in '{ type filter "
               "hook ingress device " +
               veth_->b() +
               " priority 0; }' && nft add rule netdev gen in udp dport 9 "
               "counter && nft add rule netdev gen in icmp type echo-request counter"));
  }

  bool exec_b(const std::string& cmd) {
    auto r = b_->exec(cmd);
    EXPECT_TRUE(r) << cmd << ": " << r.error().message();
    return static_cast<bool>(r);
  }

  // Packets the nft rule for `what` ("udp dport 9" or "icmp") counted.
  std::uint64_t counted(const std::string& what) {
    auto r = b_->exec("nft list chain netdev gen in");
    EXPECT_TRUE(r);
    std::istringstream in(r ? *r : "");
    std::string line;
    while (std::getline(in, line)) {
      if (line.find(what) != std::string::npos) {
        const auto p = line.find("packets ");
        if (p != std::string::npos) {
          return std::stoull(line.substr(p + 8));
        }
      }
    }
    ADD_FAILURE() << "no counter for " << what << " in " << (r ? *r : "");
    return 0;
  }

  // Runs the generator in namespace A towards B's MAC; returns its stdout after exit 0.
  std::string gen(std::vector<std::string> args, std::chrono::milliseconds timeout = 15s) {
    std::vector<std::string> argv{
        GEN_BINARY, "--iface", veth_->a(), "--dst-mac", veth_->mac_b().to_string(), "--quiet"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto p = Process::spawn(argv, &*a_);
    EXPECT_TRUE(p) << p.error().message();
    if (!p) {
      return {};
    }
    auto rc = p->wait_for(timeout);
    EXPECT_TRUE(rc && *rc == 0) << "exit " << (rc ? *rc : -1) << ": " << p->err();
    return p->out();
  }

  std::optional<NetNs> a_;
  std::optional<NetNs> b_;
  std::optional<VethPair> veth_;
};

TEST_F(GenNetnsTest, CountSendsExactlyNPerEngine) {
  const std::vector<std::string> base{"--src-mac", "02:00:00:00:00:01", "--src", "10.0.0.1",
                                      "--dst",     "10.0.0.2"};
  std::uint64_t expected = 0;
  for (const auto& engine : {"pcap", "xdp"}) {
    auto args = base;
    args.insert(args.end(), {"--engine", engine, "--count", "1000"});
    gen(args);
    expected += 1000;
    EXPECT_EQ(counted("udp dport 9"), expected) << engine;
  }
  // Two queues, an odd count: the split must still add up.
  auto args = base;
  args.insert(args.end(), {"--engine", "xdp", "--queues", "2", "--count", "1001", "--json"});
  const auto out = gen(args);
  expected += 1001;
  EXPECT_EQ(counted("udp dport 9"), expected);
  const auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["tx_packets"], 1001);
  // xdp-live: the frames arrive by XDP_TX, which the peer's veth receives only with NAPI on.
  auto pass = etherpath::testing::XdpPass::attach(*b_, veth_->b());
  ASSERT_TRUE(pass) << pass.error().message();
  args = base;
  args.insert(args.end(), {"--engine", "xdp-live", "--count", "1000"});
  gen(args);
  expected += 1000;
  EXPECT_EQ(counted("udp dport 9"), expected) << "xdp-live";
  // xdp-live on two CPUs (a thread pinned to each), an odd count split between them.
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (::sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) >= 2) {
    args = base;
    args.insert(args.end(), {"--engine", "xdp-live", "--queues", "2", "--count", "1001"});
    gen(args);
    expected += 1001;
    EXPECT_EQ(counted("udp dport 9"), expected) << "xdp-live on two CPUs";
  }
  // ICMP echo requests.
  args = base;
  args.insert(args.end(), {"--engine", "pcap", "--proto", "icmp", "--count", "300"});
  gen(args);
  EXPECT_EQ(counted("icmp"), 300U);
}

// The peer's capture, read back by tshark with checksum checks on.
struct Capture {
  std::set<std::string> macs, srcs, dsts, sports, dports, vlans, sizes;
  std::size_t frames = 0;
  std::string bad;  // frames tshark flags: bad checksums, malformed
};

TEST_F(GenNetnsTest, RangesAndChecksumsInACapture) {
  struct Case {
    std::vector<std::string> args;
    std::size_t macs, srcs, dsts, sports, dports;
    std::string vlan;  // as tshark prints vlan.id, after ieee8021ad.id and a '/'
  };
  const std::vector<Case> cases{
      {{"--src-mac", "02:00:00:00:00:fe+3", "--src", "10.0.0.1+9", "--dst", "10.1.0.250+7",
        "--sport", "1000-1004", "--dport", "2000-2001", "--engine", "xdp"},
       4,
       10,
       8,
       5,
       2,
       ""},
      {{"--src-mac", "02:00:00:00:01:00+1", "--src", "fd00::1+2", "--dst", "fd01::1", "--sport",
        "5000-5002", "--imix", "--vlan", "100.20", "--engine", "pcap"},
       2,
       3,
       1,
       3,
       1,
       "100/20"},
      {{"--src-mac", "02:00:00:00:02:00", "--src", "10.0.0.1", "--dst", "10.2.0.1+4", "--proto",
        "icmp", "--vlan", "7", "--size", "300", "--engine", "xdp"},
       1,
       1,
       5,
       1,
       0,
       "7"},
      {{"--src-mac", "02:00:00:00:03:00+2", "--src", "fd00::1+1", "--dst", "fd02::1+3", "--sport",
        "7-8", "--dport", "100-102", "--vlan", "30", "--imix", "--engine", "xdp-live"},
       3,
       2,
       4,
       2,
       3,
       "30"},
      {{"--src-mac", "02:00:00:00:04:00", "--src", "10.9.0.1+1", "--dst", "10.9.1.1", "--proto",
        "icmp", "--engine", "xdp-live"},
       1,
       2,
       1,
       1,
       0,
       ""},
  };
  auto pass = etherpath::testing::XdpPass::attach(*b_, veth_->b());  // for xdp-live
  ASSERT_TRUE(pass) << pass.error().message();
  const std::string pcap = "/tmp/" + etherpath::testing::unique_name("gencap") + ".pcap";
  for (const Case& c : cases) {
    const std::size_t n = 120;
    auto dump = Process::spawn({"tcpdump", "-i", veth_->b(), "-n", "-U", "-c", std::to_string(n),
                                "-w", pcap, "-Q", "in", "ether[6:4] = 0x02000000"},  // ours only
                               &*b_);
    ASSERT_TRUE(dump) << dump.error().message();
    ASSERT_TRUE(dump->wait_for_output("listening on", 5s, true)) << dump->err();
    auto args = c.args;
    args.insert(args.end(), {"--count", std::to_string(n), "--rate", "20000"});
    gen(args);
    auto rc = dump->wait_for(5s);
    ASSERT_TRUE(rc && *rc == 0) << dump->err();

    // One tshark pass (it takes a second to start): the fields, and its checksum verdicts.
    auto fields = etherpath::testing::run(
        "tshark -r " + pcap +
        " -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -T fields -E separator='|' "
        "-e eth.src -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst -e udp.srcport -e udp.dstport "
        "-e icmp.ident -e icmpv6.echo.identifier -e ip.checksum.status -e udp.checksum.status "
        "-e icmp.checksum.status -e icmpv6.checksum.status -e _ws.malformed "
        "-e _ws.expert.severity -e vlan.id -e ieee8021ad.id -e frame.len 2>/dev/null");
    ASSERT_TRUE(fields) << fields.error().message();
    Capture cap;
    std::istringstream in(*fields);
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::istringstream ls(line);
      std::string item;
      while (std::getline(ls, item, '|')) {
        f.push_back(item);
      }
      f.resize(18);
      ++cap.frames;
      cap.macs.insert(f[0]);
      cap.srcs.insert(f[1] + f[2]);
      cap.dsts.insert(f[3] + f[4]);
      if (!f[5].empty()) {
        cap.sports.insert(f[5]);
        cap.dports.insert(f[6]);
      } else {
        cap.sports.insert(f[7] + f[8]);
      }
      // Checksum status 0 is "bad" (1 good, 2 unverified); any malformed or error-level item.
      for (std::size_t i = 9; i <= 12; ++i) {
        if (f[i].find('0') != std::string::npos) {
          cap.bad += line + "\n";
        }
      }
      if (!f[13].empty()) {
        cap.bad += line + "\n";
      }
      std::istringstream sev(f[14]);
      while (std::getline(sev, item, ',')) {
        if (!item.empty() && std::stoul(item) >= 0x800000) {
          cap.bad += line + "\n";
        }
      }
      cap.vlans.insert(f[16].empty() ? f[15] : f[16] + "/" + f[15]);  // 802.1ad outer
      cap.sizes.insert(f[17]);
    }
    EXPECT_EQ(cap.bad, "") << "frames tshark flags";
    EXPECT_EQ(cap.vlans, std::set<std::string>{c.vlan});
    EXPECT_EQ(cap.frames, n);
    EXPECT_EQ(cap.macs.size(), c.macs) << line;
    EXPECT_EQ(cap.srcs.size(), c.srcs);
    EXPECT_EQ(cap.dsts.size(), c.dsts);
    EXPECT_EQ(cap.sports.size(), c.sports);
    if (c.dports != 0) {
      EXPECT_EQ(cap.dports.size(), c.dports);
    }
    // IMIX: all three sizes within 120 frames (xdp-live cuts them from one run's frames).
    const bool imix = std::find(c.args.begin(), c.args.end(), "--imix") != c.args.end();
    EXPECT_EQ(cap.sizes.size(), imix ? 3U : 1U) << c.args.back();
    (void)etherpath::testing::run("rm -f " + pcap);
  }
}

TEST_F(GenNetnsTest, RateHoldsWithinTwentyPercentAt10kpps) {
  const auto out = gen({"--src-mac", "02:00:00:00:00:01", "--src", "10.0.0.1", "--dst", "10.0.0.2",
                        "--engine", "xdp", "--rate", "10000", "--duration", "1", "--json"});
  const auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  const auto n = counted("udp dport 9");
  EXPECT_EQ(n, j["tx_packets"].get<std::uint64_t>());
  EXPECT_GE(n, 8000U);
  EXPECT_LE(n, 12000U);
}

TEST_F(GenNetnsTest, SigintEndsWithSummaryAndExit130AndPcapHoldsTheFirstFrames) {
  const std::string pcap = "/tmp/" + etherpath::testing::unique_name("genpcap") + ".pcap";
  auto p = Process::spawn({GEN_BINARY,
                           "--iface",
                           veth_->a(),
                           "--dst-mac",
                           veth_->mac_b().to_string(),
                           "--src-mac",
                           "02:00:00:00:00:01",
                           "--src",
                           "10.0.0.1",
                           "--dst",
                           "10.0.0.2",
                           "--engine",
                           "pcap",
                           "--rate",
                           "2000",
                           "--pcap",
                           pcap,
                           "--pcap-count",
                           "25",
                           "--json"},
                          &*a_);
  ASSERT_TRUE(p) << p.error().message();
  std::this_thread::sleep_for(300ms);
  p->signal(SIGINT);
  auto rc = p->wait_for(5s);
  ASSERT_TRUE(rc);
  EXPECT_EQ(*rc, 130) << p->err();
  const auto j = nlohmann::json::parse(p->out(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << p->out();
  EXPECT_EQ(j["interrupted"], true);
  EXPECT_GT(j["tx_packets"].get<std::uint64_t>(), 25U);
  EXPECT_EQ(j["tx_packets"].get<std::uint64_t>(), counted("udp dport 9"));
  auto frames = etherpath::testing::run("tcpdump -r " + pcap + " -n 2>/dev/null | wc -l");
  ASSERT_TRUE(frames) << frames.error().message();
  EXPECT_EQ(std::stoi(*frames), 25);
  (void)etherpath::testing::run("rm -f " + pcap);
}

TEST_F(GenNetnsTest, RxThroughTheReflectorLosesNothing) {
  auto reflector = etherpath::testing::Reflector::attach(*b_, veth_->b());
  ASSERT_TRUE(reflector) << reflector.error().message();
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  const bool two_cpus = ::sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) >= 2;
  // xdp-live on two CPUs too (each thread's stream of sequence numbers must come back whole),
  // and with IMIX (every size cut from one run's frames, stamps intact).
  const std::vector<std::vector<std::string>> variants{{"--engine", "xdp"},
                                                       {"--engine", "xdp-live"},
                                                       {"--engine", "xdp-live", "--queues", "2"},
                                                       {"--engine", "xdp-live", "--imix"}};
  for (const auto& variant : variants) {
    if (std::find(variant.begin(), variant.end(), "--queues") != variant.end() && !two_cpus) {
      continue;
    }
    std::string trace;
    for (const auto& a : variant) {
      trace += a + " ";
    }
    SCOPED_TRACE(trace);
    std::vector<std::string> args{
        "--src-mac", "02:00:00:00:00:01", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--rate",
        "10000",     "--count",           "5000",  "--rx",     "--json"};
    args.insert(args.end(), variant.begin(), variant.end());
    const auto out = gen(args);
    const auto j = nlohmann::json::parse(out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << out;
    EXPECT_EQ(j["tx_packets"], 5000);
    EXPECT_EQ(j["rx"]["packets"], 5000);
    EXPECT_EQ(j["rx"]["lost"], 0);
    EXPECT_EQ(j["rx"]["reordered"], 0);
    EXPECT_GT(j["rx"]["latency_ns"]["p50"].get<std::uint64_t>(), 0U);
    EXPECT_LE(j["rx"]["latency_ns"]["p50"].get<std::uint64_t>(),
              j["rx"]["latency_ns"]["p99"].get<std::uint64_t>());
  }
}

}  // namespace
}  // namespace etherpath::gen
