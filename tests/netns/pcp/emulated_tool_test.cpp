// etherpath-pcp --iface against miniupnpd: the binary, run in the client namespace, sends from an
// emulated host (a MAC, VLANs and 10.98.1.20, which no OS interface has) on the LAN veth, on
// AF_XDP and libpcap, untagged, 802.1Q and QinQ (the gateway's kernel behind a VlanPeer). It gets a
// mapping (text and --json output, miniupnpd's nft rule naming the emulated address), deletes it
// with --nonce or on SIGINT after --keepalive; sends to --gateway as the next hop; on the wrong
// VLAN or towards a gateway nobody has it gives up within --mrd.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <csignal>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/netns/pcp/miniupnpd_gateway.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/vlan_peer.hpp"

namespace etherpath::pcp {
namespace {

using namespace std::chrono_literals;
using etherpath::testing::Process;
using etherpath::testing::VlanPeer;
using test::kExternal;

const IpAddress kHost = IpAddress::v4(0x0a620114U);  // 10.98.1.20, on no OS interface
constexpr const char* kHostMac = "02:00:00:98:01:14";

// The last JSON line of `text` whose "event" is `event`.
std::optional<nlohmann::json> last_event(const std::string& text, const std::string& event) {
  std::optional<nlohmann::json> found;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("event", "") == event) {
      found = j;
    }
  }
  return found;
}

struct ToolCase {
  const char* name;
  const char* engine;  // --engine
  const char* vlan;    // --vlan; "" untagged
  const char* tpid;    // --tpid; "" the default (0x88a8 as QinQ's outer tag)
  [[nodiscard]] VlanStack stack() const {
    return VlanStack::parse(vlan, *tpid == '\0' ? kTpid8021ad : parse_tpid(tpid).value()).value();
  }
};

class EmulatedHostTool : public ::testing::TestWithParam<ToolCase>,
                         protected test::MiniupnpdGateway {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    set_up(/*client_address=*/false);
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    const ToolCase& c = GetParam();
    if (*c.vlan != '\0') {  // the gateway's kernel pops and pushes the tags
      auto p = VlanPeer::attach(*gw_, lan_link_->b(), c.stack());
      ASSERT_TRUE(p) << p.error();
      peer_.emplace(std::move(*p));
    }
  }
  void TearDown() override {
    peer_.reset();
    tear_down();
  }

  // etherpath-pcp `opcode` from the emulated host, with `extra` after the host's flags.
  [[nodiscard]] std::vector<std::string> args(std::vector<std::string> extra,
                                              const char* vlan = nullptr) const {
    const ToolCase& c = GetParam();
    std::vector<std::string> a{
        ETHERPATH_PCP_TOOL, "map",    "--server", "10.98.1.1",       "--iface",  lan_link_->a(),
        "--src-mac",        kHostMac, "--src",    kHost.to_string(), "--engine", c.engine};
    vlan = vlan != nullptr ? vlan : c.vlan;
    if (*vlan != '\0') {
      a.insert(a.end(), {"--vlan", vlan});
    }
    if (*c.tpid != '\0') {
      a.insert(a.end(), {"--tpid", c.tpid});
    }
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  struct Ended {
    int code = -1;
    std::string out;
    std::string err;
  };
  Ended run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 15s) {
    auto p = Process::spawn(argv, &*client_);
    if (!p) {
      ADD_FAILURE() << p.error();
      return {};
    }
    auto code = p->wait_for(timeout);
    EXPECT_TRUE(code) << "etherpath-pcp did not end: " << p->err();
    return Ended{code.value_or(-1), p->out(), p->err()};
  }

  void expect_tags_crossed() const {
    if (!peer_) {
      return;
    }
    auto c = peer_->counters();
    ASSERT_TRUE(c) << c.error();
    EXPECT_GT(c->rx_accepted, 0U);
    EXPECT_GT(c->tx_tagged, 0U);
    EXPECT_EQ(c->errors, 0U);
  }

  std::optional<VlanPeer> peer_;
};

TEST_P(EmulatedHostTool, MapsOnceAsTextThenDeletesWithTheNonce) {
  const auto made =
      run(args({"--internal-port", "6030", "--protocol", "tcp", "--lifetime", "600"}));
  ASSERT_EQ(made.code, 0) << made.err << "\nminiupnpd's log:\n" << daemon_->err();
  // "MAP tcp 10.98.1.20:6030 -> 11.98.2.1:6030 lifetime 600 s epoch N nonce HEX"
  const std::regex line(
      R"(MAP tcp 10\.98\.1\.20:6030 -> 11\.98\.2\.1:6030 lifetime 600 s epoch \d+ nonce ([0-9a-f]{24})\n)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(made.out, m, line)) << made.out;
  const std::string nonce = m[1];
  EXPECT_TRUE(has_rule(6030, kHost)) << nat_rules();
  // The start line names the host and the engine in use.
  EXPECT_NE(made.err.find(kHostMac), std::string::npos) << made.err;
  EXPECT_NE(made.err.find(GetParam().engine), std::string::npos) << made.err;
  // The gateway learnt the emulated host's MAC by ARP.
  auto neigh = gw_->exec("ip neigh show " + kHost.to_string() + " dev " + lan_link_->b());
  ASSERT_TRUE(neigh) << neigh.error();
  EXPECT_NE(neigh->find(kHostMac), std::string::npos) << *neigh;

  const auto gone = run(
      args({"--internal-port", "6030", "--protocol", "tcp", "--lifetime", "0", "--nonce", nonce}));
  ASSERT_EQ(gone.code, 0) << gone.err;
  EXPECT_EQ(gone.out, fmt::format("MAP tcp 10.98.1.20:6030 deleted nonce {}\n", nonce));
  EXPECT_FALSE(has_rule(6030, kHost)) << nat_rules();
  expect_tags_crossed();
}

TEST_P(EmulatedHostTool, KeepaliveJsonThenSigintDeletesTheMapping) {
  auto keep = Process::spawn(args({"--internal-port", "6031", "--protocol", "udp", "--lifetime",
                                   "600", "--keepalive", "--json"}),
                             &*client_);
  ASSERT_TRUE(keep) << keep.error();
  auto out = keep->wait_for_output("\"assigned\"", 10s);
  ASSERT_TRUE(out) << out.error() << keep->err() << "\nminiupnpd's log:\n" << daemon_->err();
  const auto granted = last_event(*out, "assigned");
  ASSERT_TRUE(granted) << *out;
  EXPECT_EQ((*granted)["opcode"], "MAP");
  EXPECT_EQ((*granted)["protocol"], "udp");
  EXPECT_EQ((*granted)["client"], kHost.to_string());
  EXPECT_EQ((*granted)["internal_port"], 6031);
  EXPECT_EQ((*granted)["external_address"], kExternal.to_string());
  EXPECT_EQ((*granted)["external_port"], 6031);
  EXPECT_EQ((*granted)["lifetime"], 600);
  EXPECT_EQ((*granted)["result"], "SUCCESS");
  EXPECT_TRUE(has_rule(6031, kHost)) << nat_rules();

  keep->signal(SIGINT);
  auto code = keep->wait_for(10s);
  ASSERT_TRUE(code) << code.error();
  EXPECT_EQ(*code, 0) << keep->err();
  const auto deleted = last_event(keep->out(), "deleted");
  ASSERT_TRUE(deleted) << keep->out();
  EXPECT_EQ((*deleted)["nonce"], (*granted)["nonce"]);
  EXPECT_FALSE(has_rule(6031, kHost)) << nat_rules();
  expect_tags_crossed();
}

TEST_P(EmulatedHostTool, OnAVlanTheGatewayIsNotOnItGivesUpWithinMrd) {
  // The gateway is untagged or on VLAN 100; the host on VLAN 200 reaches nobody.
  const auto lost = run(
      args({"--internal-port", "6032", "--protocol", "tcp", "--mrd", "1", "--json"}, "200"), 10s);
  EXPECT_EQ(lost.code, 1) << lost.out << lost.err;
  const auto error = last_event(lost.out, "error");
  ASSERT_TRUE(error) << lost.out << lost.err;
  EXPECT_FALSE(error->contains("result")) << *error;  // no answer, not a refusal
  EXPECT_FALSE(has_rule(6032, kHost)) << nat_rules();
}

TEST_P(EmulatedHostTool, GatewayIsTheNextHopItSendsTo) {
  // Nobody has 10.98.1.99: with it as the gateway the on-link server is not reached, so the
  // next hop is the gateway, not the server.
  const auto lost = run(args({"--internal-port", "6033", "--protocol", "tcp", "--gateway",
                              "10.98.1.99", "--mrd", "1", "--json"}),
                        10s);
  EXPECT_EQ(lost.code, 1) << lost.out << lost.err;
  EXPECT_FALSE(has_rule(6033, kHost)) << nat_rules();
  // A router address of the gateway's on another subnet (miniupnpd listens only on its LAN
  // address, so the server stays 10.98.1.1): ARP for it is answered and the request goes there.
  ASSERT_TRUE(gw_->exec("ip addr add 10.98.9.1/32 dev " + lan_link_->b()));
  const auto made = run(args({"--internal-port", "6033", "--protocol", "tcp", "--lifetime", "600",
                              "--gateway", "10.98.9.1"}));
  ASSERT_EQ(made.code, 0) << made.err << "\nminiupnpd's log:\n" << daemon_->err();
  EXPECT_TRUE(has_rule(6033, kHost)) << nat_rules();
  expect_tags_crossed();
}

const ToolCase kCases[] = {
    {"xdp_untagged", "xdp", "", ""},     {"xdp_dot1q", "xdp", "100", ""},
    {"xdp_qinq", "xdp", "100.20", ""},   {"xdp_qinq_outer8100", "xdp", "100.20", "8100"},
    {"pcap_untagged", "pcap", "", ""},   {"pcap_dot1q", "pcap", "100", ""},
    {"pcap_qinq", "pcap", "100.20", ""},
};

INSTANTIATE_TEST_SUITE_P(Hosts, EmulatedHostTool, ::testing::ValuesIn(kCases),
                         [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace etherpath::pcp
