// etherconn's TestEtherConn cases (seed-systems.md §1.10) between two namespaces, each on AF_XDP
// (generic and native, with the steering program) and on libpcap. Negative cases wait 1 s.
// Case 3 (B's filter "vlan 333") is case 4's registration mismatch here; case 6 is VLAN-scoped
// (a frame goes one way): the subscribed VLAN gets the broadcast.
#include "conn/ether_conn.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstring>
#include <optional>

#include "datapath/packet_relay.hpp"
#include "tests/support/netns.hpp"

namespace etherpath::conn {
namespace {

using namespace std::chrono_literals;
using datapath::EngineKind;
using datapath::PacketRelay;
using datapath::RelayOptions;
using etherpath::testing::in_netns;
using etherpath::testing::NetNs;
using etherpath::testing::VethPair;
using xdp_mode = datapath::xdp::XdpMode;

enum class Engine { xdp_generic, xdp_native, pcap };

enum class Dst { b, zero, broadcast, custom, c };

struct Case {
  const char* name;
  const char* a_vlans;
  const char* b_vlans;
  Dst dst = Dst::b;
  bool b_custom_mac = false;  // B listens on a MAC that is not its interface's
  std::vector<std::uint16_t> b_types = {0x0800, 0x86dd};
  bool b_multicast = false;
  bool b_default = false;
  bool mirror = false;
  bool with_c = false;  // a third conn C owns the destination MAC
  bool expect = true;
};

const MacAddress kCustom = MacAddress::parse("02:00:00:00:77:01").value();
const MacAddress kC = MacAddress::parse("02:00:00:00:77:0c").value();

std::vector<Case> cases() {
  std::vector<Case> v;
  v.push_back({.name = "c0_untagged", .a_vlans = "", .b_vlans = ""});
  v.push_back({.name = "c1_dot1q", .a_vlans = "100", .b_vlans = "100"});
  v.push_back({.name = "c2_qinq", .a_vlans = "100.222", .b_vlans = "100.222"});
  v.push_back({.name = "c4_vlan_mismatch", .a_vlans = "100", .b_vlans = "101", .expect = false});
  v.push_back(
      {.name = "c5_zero_mac", .a_vlans = "", .b_vlans = "", .dst = Dst::zero, .expect = false});
  v.push_back({.name = "c6_broadcast_subscribed_vlan",
               .a_vlans = "100",
               .b_vlans = "100",
               .dst = Dst::broadcast,
               .b_custom_mac = true,
               .b_multicast = true});
  v.push_back({.name = "c7_broadcast_not_subscribed",
               .a_vlans = "100",
               .b_vlans = "100",
               .dst = Dst::broadcast,
               .b_custom_mac = true,
               .expect = false});
  v.push_back({.name = "c8_default_gets_misses",
               .a_vlans = "100",
               .b_vlans = "100",
               .dst = Dst::custom,
               .b_custom_mac = true,
               .b_default = true});
  v.push_back({.name = "c9_default_mirror",
               .a_vlans = "",
               .b_vlans = "",
               .dst = Dst::c,
               .b_custom_mac = true,
               .b_types = {0x0800},
               .b_default = true,
               .mirror = true,
               .with_c = true});
  v.push_back({.name = "c10_default_no_mirror",
               .a_vlans = "",
               .b_vlans = "",
               .dst = Dst::c,
               .b_custom_mac = true,
               .b_types = {0x0800},
               .b_default = true,
               .with_c = true,
               .expect = false});
  v.push_back({.name = "c11_ethertype_not_registered",
               .a_vlans = "",
               .b_vlans = "",
               .b_types = {0x0001},
               .expect = false});
  return v;
}

// A fake IPv4 packet (version nibble 4) carrying a sequence number; 60-300 bytes.
std::vector<std::byte> ip_packet(std::uint32_t seq) {
  std::vector<std::byte> p(60 + (seq * 37) % 240, std::byte{0});
  p[0] = std::byte{0x45};
  store_be32(p, 20, 0x65707468);
  store_be32(p, 24, seq);
  return p;
}

class EtherConnCases : public ::testing::TestWithParam<std::tuple<Engine, std::size_t>> {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    auto a = NetNs::create("ca");
    auto b = NetNs::create("cb");
    ASSERT_TRUE(a && b);
    ns_a_.emplace(std::move(*a));
    ns_b_.emplace(std::move(*b));
    auto v = VethPair::create(*ns_a_, *ns_b_);
    ASSERT_TRUE(v) << v.error();
    veth_.emplace(std::move(*v));
  }
  static std::unique_ptr<PacketRelay> open(const NetNs& ns, const std::string& ifname,
                                           Engine engine, bool mirror) {
    RelayOptions o;
    o.engine = engine == Engine::pcap ? EngineKind::pcap : EngineKind::xdp;
    o.xdp_mode = engine == Engine::xdp_generic ? xdp_mode::generic : xdp_mode::native_copy;
    o.frames_per_queue = 1024;
    o.mirror_to_default = mirror;
    auto r = in_netns(ns, [&] { return PacketRelay::open(ifname, o); });
    EXPECT_TRUE(r) << r.error();
    return r ? std::move(*r) : nullptr;
  }
  void TearDown() override {
    conns_.clear();
    // The steering program is detached by netlink in the calling thread's namespace.
    if (ns_a_) {
      in_netns(*ns_a_, [&] { relay_a_.reset(); });
    }
    if (ns_b_) {
      in_netns(*ns_b_, [&] { relay_b_.reset(); });
    }
    veth_.reset();
  }
  std::optional<NetNs> ns_a_, ns_b_;
  std::optional<VethPair> veth_;
  std::unique_ptr<PacketRelay> relay_a_, relay_b_;
  std::vector<std::unique_ptr<EtherConn>> conns_;
};

TEST_P(EtherConnCases, Run) {
  const auto [engine, index] = GetParam();
  const Case tc = cases()[index];
  relay_a_ = open(*ns_a_, veth_->a(), engine, false);
  relay_b_ = open(*ns_b_, veth_->b(), engine, tc.mirror);
  ASSERT_TRUE(relay_a_ && relay_b_);

  EtherConnOptions ao;
  ao.mac = veth_->mac_a();
  ao.vlans = VlanStack::parse(tc.a_vlans).value();
  auto a = EtherConn::open(*relay_a_, ao);
  ASSERT_TRUE(a) << a.error();
  EtherConnOptions bo;
  bo.mac = tc.b_custom_mac ? kCustom : veth_->mac_b();
  bo.vlans = VlanStack::parse(tc.b_vlans).value();
  bo.ether_types = tc.b_types;
  bo.receive_multicast = tc.b_multicast;
  bo.is_default = tc.b_default;
  auto b = EtherConn::open(*relay_b_, bo);
  ASSERT_TRUE(b) << b.error();
  if (tc.with_c) {
    EtherConnOptions co;
    co.mac = kC;
    co.ether_types = {0x0800};
    auto c = EtherConn::open(*relay_b_, co);
    ASSERT_TRUE(c) << c.error();
    conns_.push_back(std::move(*c));
  }
  if (tc.b_custom_mac && engine != Engine::pcap) {
    EXPECT_TRUE(relay_b_->promiscuous());
  }
  MacAddress dst = veth_->mac_b();
  switch (tc.dst) {
    case Dst::b: dst = bo.mac; break;
    case Dst::zero: dst = MacAddress{}; break;
    case Dst::broadcast: dst = MacAddress::broadcast(); break;
    case Dst::custom: dst = MacAddress::parse("02:00:00:00:77:99").value(); break;
    case Dst::c: dst = kC; break;
  }
  constexpr std::uint32_t kPackets = 10;
  for (std::uint32_t i = 0; i < kPackets; ++i) {
    ASSERT_TRUE((*a)->send_ip(ip_packet(i), dst)) << "packet " << i;
  }
  std::array<std::byte, 2048> buf{};
  std::uint32_t got = 0;
  const auto deadline = std::chrono::steady_clock::now() + (tc.expect ? 5s : 1s);
  while (got < kPackets && std::chrono::steady_clock::now() < deadline) {
    auto p = (*b)->read(buf, 200ms);
    if (!p) {
      ASSERT_TRUE(p.error().is(Errc::timeout)) << p.error();
      continue;
    }
    if (p->size < 28 || load_be32(std::span(buf).first(p->size), 20) != 0x65707468) {
      continue;  // the kernel's own chatter reaching a default receiver
    }
    EXPECT_EQ(p->src, veth_->mac_a());
    EXPECT_EQ(p->vlans.size(), ao.vlans.size());
    EXPECT_EQ(p->ether_type, 0x0800);
    EXPECT_EQ(p->size, ip_packet(got).size() < 46 ? 46 : ip_packet(got).size());
    EXPECT_EQ(load_be32(std::span(buf).first(p->size), 24), got);
    ++got;
  }
  if (tc.expect) {
    EXPECT_EQ(got, kPackets) << relay_b_->stats_json().dump();
  } else {
    EXPECT_EQ(got, 0U) << relay_b_->stats_json().dump();
  }
  conns_.push_back(std::move(*a));
  conns_.push_back(std::move(*b));
}

INSTANTIATE_TEST_SUITE_P(EtherConn, EtherConnCases,
                         ::testing::Combine(::testing::Values(Engine::xdp_generic,
                                                              Engine::xdp_native, Engine::pcap),
                                            ::testing::Range<std::size_t>(0, cases().size())),
                         [](const auto& param_info) {
                           const Engine e = std::get<0>(param_info.param);
                           const char* engine = e == Engine::xdp_generic  ? "xdp_generic"
                                                : e == Engine::xdp_native ? "xdp_native"
                                                                          : "pcap";
                           return std::string(engine) + "_" +
                                  cases()[std::get<1>(param_info.param)].name;
                         });

}  // namespace
}  // namespace etherpath::conn
