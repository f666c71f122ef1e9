// PacketRelay on a veth, against the kernel next to it: steering does not steal the host's
// traffic, nothing is left after stop (program, promiscuity), a foreign program is refused and
// left alone, and a veth deleted under a running relay stops it with a clear error.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <thread>

#include "conn/ether_conn.hpp"
#include "datapath/packet_relay.hpp"
#include "tests/netns/datapath/test_xsk_program.hpp"
#include "tests/support/netns.hpp"

namespace etherpath::datapath {
namespace {

using namespace std::chrono_literals;
using etherpath::testing::in_netns;
using etherpath::testing::NetNs;
using etherpath::testing::Process;
using etherpath::testing::VethPair;

const MacAddress kCustom = MacAddress::parse("02:00:00:00:66:01").value();

class RelayLifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    auto a = NetNs::create("la");
    auto b = NetNs::create("lb");
    ASSERT_TRUE(a && b);
    ns_a_.emplace(std::move(*a));
    ns_b_.emplace(std::move(*b));
    auto v = VethPair::create(*ns_a_, *ns_b_);
    ASSERT_TRUE(v) << v.error();
    veth_.emplace(std::move(*v));
  }
  Result<std::unique_ptr<PacketRelay>> open_b(RelayOptions o = {}) {
    o.frames_per_queue = 1024;
    return in_netns(*ns_b_, [&] { return PacketRelay::open(veth_->b(), o); });
  }
  void close_b() {
    conns_.clear();
    in_netns(*ns_b_, [&] { relay_.reset(); });
  }
  void TearDown() override {
    if (ns_b_) {
      close_b();
    }
  }
  [[nodiscard]] std::string link_b() const {
    return ns_b_->exec("ip -d link show dev " + veth_->b()).value_or("");
  }
  std::optional<NetNs> ns_a_, ns_b_;
  std::optional<VethPair> veth_;
  std::unique_ptr<PacketRelay> relay_;
  std::vector<std::unique_ptr<conn::EtherConn>> conns_;
};

TEST_F(RelayLifecycle, SteeringDoesNotStealThePeersPingAndTcp) {
  ASSERT_TRUE(ns_a_->exec("ip addr add 10.199.0.1/24 dev " + veth_->a()));
  ASSERT_TRUE(ns_b_->exec("ip addr add 10.199.0.2/24 dev " + veth_->b()));
  auto r = open_b();
  ASSERT_TRUE(r) << r.error();
  relay_ = std::move(*r);
  conn::EtherConnOptions o;
  o.mac = kCustom;  // an emulated host on the same veth: promiscuous, its own L2 keys
  o.vlans = VlanStack::parse("100").value();
  o.receive_multicast = true;  // broadcasts of VLAN 100 come here; untagged ones stay the kernel's
  auto c = conn::EtherConn::open(*relay_, o);
  ASSERT_TRUE(c) << c.error();
  conns_.push_back(std::move(*c));
  EXPECT_TRUE(relay_->promiscuous());
  // A broadcast ARP-typed frame on VLAN 100 from the other side reaches the emulated host.
  RelayOptions pa;
  pa.engine = EngineKind::pcap;
  auto sender = in_netns(*ns_a_, [&] { return PacketRelay::open(veth_->a(), pa); });
  ASSERT_TRUE(sender) << sender.error();
  conn::EtherConnOptions so;
  so.mac = veth_->mac_a();
  so.vlans = VlanStack::parse("100").value();
  auto a_conn = conn::EtherConn::open(**sender, so);
  ASSERT_TRUE(a_conn) << a_conn.error();
  ASSERT_TRUE(
      (*a_conn)->send(std::vector<std::byte>(28, std::byte{1}), 0x0806, MacAddress::broadcast()));
  std::array<std::byte, 256> buf{};
  auto got = conns_.back()->read(buf, 2s);
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(got->ether_type, 0x0806);
  EXPECT_EQ(got->src, veth_->mac_a());
  a_conn->reset();
  (*sender)->stop();
  EXPECT_NE(link_b().find("promiscuity 1"), std::string::npos) << link_b();
  auto ping = ns_a_->exec("ping -c 3 -i 0.2 -W 1 10.199.0.2");
  EXPECT_TRUE(ping) << ping.error();
  auto listener = Process::spawn(
      {"socat", "TCP-LISTEN:7791,bind=10.199.0.2,reuseaddr", "SYSTEM:echo steered-not"}, &*ns_b_);
  ASSERT_TRUE(listener) << listener.error();
  Result<std::string> reply = std::string();
  for (int i = 0; i < 20; ++i) {  // until the listener is up (bounded: 2 s)
    reply = ns_a_->exec("socat -T 2 - TCP:10.199.0.2:7791 </dev/null");
    if (reply && reply->find("steered-not") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(reply) << reply.error();
  EXPECT_NE(reply->find("steered-not"), std::string::npos);
  // The kernel's own traffic (untagged ARP broadcasts included) was passed, not taken: the
  // relay saw only the one VLAN 100 broadcast.
  EXPECT_EQ(relay_->stats().rx_offered, 1U);
}

TEST_F(RelayLifecycle, NothingLeftAfterStopAndPromiscuityRestored) {
  const std::string before = link_b();
  ASSERT_NE(before.find("promiscuity 0"), std::string::npos) << before;
  auto r = open_b();
  ASSERT_TRUE(r) << r.error();
  relay_ = std::move(*r);
  conn::EtherConnOptions o;
  o.mac = kCustom;
  auto c = conn::EtherConn::open(*relay_, o);
  ASSERT_TRUE(c) << c.error();
  conns_.push_back(std::move(*c));
  EXPECT_NE(link_b().find("prog/xdp"), std::string::npos) << link_b();
  EXPECT_NE(link_b().find("promiscuity 1"), std::string::npos) << link_b();
  // The mode is reported, with why zero-copy was not used (veth has none).
  const auto stats = relay_->stats_json();
  EXPECT_EQ(stats["mode"], "native-copy");
  ASSERT_FALSE(stats["xdp_fallback"].empty()) << stats.dump();
  EXPECT_NE(stats["xdp_fallback"][0].get<std::string>().find("zero-copy"), std::string::npos);
  EXPECT_TRUE(stats["promiscuous"].get<bool>());
  close_b();
  const std::string after = link_b();
  EXPECT_EQ(after.find("prog/xdp"), std::string::npos) << after;
  EXPECT_NE(after.find("promiscuity 0"), std::string::npos) << after;
}

TEST_F(RelayLifecycle, ForeignProgramIsRefusedAndLeftAttached) {
  xdp::TestXskProgram foreign;
  auto attached = in_netns(*ns_b_, [&] { return foreign.attach(veth_->b(), false); });
  ASSERT_TRUE(attached) << attached.error();
  RelayOptions o;
  o.xdp_mode = xdp::XdpMode::native_copy;
  auto r = open_b(o);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::busy)) << r.error();
  EXPECT_NE(r.error().message().find("ep_test_xsk"), std::string::npos) << r.error();
  EXPECT_NE(link_b().find("ep_test_xsk"), std::string::npos) << link_b();
  in_netns(*ns_b_, [&] { foreign.detach(); });
}

TEST_F(RelayLifecycle, StaleProgramOfAKilledProcessIsReplaced) {
  auto holder = Process::spawn({EP_RELAY_HOLDER, veth_->b()}, &*ns_b_);
  ASSERT_TRUE(holder) << holder.error();
  auto ready = holder->wait_for_output("ready", 10s);
  ASSERT_TRUE(ready) << ready.error() << holder->err();
  holder->signal(SIGKILL);
  ASSERT_TRUE(holder->wait_for(5s));
  // SIGKILL leaves the attachment behind.
  EXPECT_NE(link_b().find("prog/xdp"), std::string::npos) << link_b();
  auto r = open_b();
  ASSERT_TRUE(r) << r.error();
  relay_ = std::move(*r);
  EXPECT_NE(relay_->steering_description().find("replac"), std::string::npos)
      << relay_->steering_description();
  // And the new relay works: a frame to its MAC reaches it.
  conn::EtherConnOptions o;
  o.mac = veth_->mac_b();
  auto c = conn::EtherConn::open(*relay_, o);
  ASSERT_TRUE(c) << c.error();
  conns_.push_back(std::move(*c));
  close_b();
  EXPECT_EQ(link_b().find("prog/xdp"), std::string::npos) << link_b();
}

TEST_F(RelayLifecycle, InterfaceDownStopsTheRelayWithAClearError) {
  auto r = open_b();
  ASSERT_TRUE(r) << r.error();
  relay_ = std::move(*r);
  ASSERT_TRUE(ns_b_->exec("ip link set dev " + veth_->b() + " down"));
  for (int i = 0; i < 300 && !relay_->stopped(); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(relay_->stopped());
  ASSERT_TRUE(relay_->error().has_value());
  EXPECT_NE(relay_->error()->message().find("down"), std::string::npos) << *relay_->error();
  EXPECT_FALSE(relay_->send(std::vector<std::byte>(60)));
}

TEST_F(RelayLifecycle, DeletedVethStopsTheRelayWithAClearError) {
  auto r = open_b();
  ASSERT_TRUE(r) << r.error();
  relay_ = std::move(*r);
  conn::EtherConnOptions o;
  o.mac = veth_->mac_b();
  auto c = conn::EtherConn::open(*relay_, o);
  ASSERT_TRUE(c) << c.error();
  ASSERT_TRUE(etherpath::testing::run("ip -n " + ns_b_->name() + " link del " + veth_->b()));
  std::array<std::byte, 64> buf{};
  auto p = (*c)->read(buf, 3s);  // wakes when the relay stops
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().is(Errc::relay_stopped)) << p.error();
  EXPECT_TRUE(relay_->stopped());
  ASSERT_TRUE(relay_->error().has_value());
  EXPECT_NE(relay_->error()->message().find(veth_->b()), std::string::npos) << *relay_->error();
  conns_.push_back(std::move(*c));
}

}  // namespace
}  // namespace etherpath::datapath
