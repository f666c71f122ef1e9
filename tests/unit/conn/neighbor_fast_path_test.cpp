// Neighbor for hosts served by a fast path (PacketRelay::on_batch, as pkthere's emulated hosts)
// over PacketRelay + FakeEngine (no root): unicast NS (a peer's NUD probe) handed over with
// offer() and unicast ARP (receive_unicast_arp) are answered on the requester's VLANs, and
// is_neighbor_frame tells ARP/NDP from everything else.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "conn/neighbor.hpp"
#include "conn/wire/arp_ndp.hpp"
#include "conn/wire/frame_builder.hpp"
#include "conn/wire/frame_parser.hpp"
#include "datapath/fake_engine.hpp"
#include "datapath/packet_relay.hpp"

namespace etherpath::conn {
namespace {

using namespace std::chrono_literals;
using datapath::FakeEngine;
using datapath::PacketRelay;

const MacAddress kOwn = MacAddress::parse("02:00:00:00:00:01").value();
const MacAddress kHost = MacAddress::parse("02:00:00:00:10:01").value();
const MacAddress kPeer = MacAddress::parse("02:00:00:00:20:01").value();
const IpAddress kHost6 = IpAddress::parse("2001:db8:5::2").value();
const IpAddress kPeer6 = IpAddress::parse("2001:db8:5::1").value();
const IpAddress kHost4 = IpAddress::parse("10.5.0.2").value();
const IpAddress kPeer4 = IpAddress::parse("10.5.0.1").value();

using Frame = std::vector<std::byte>;

// A neighbour solicitation from the peer to `dst_mac` / `dst_ip` (unicast: a NUD probe), asking
// for `target`.
Frame solicit(const MacAddress& dst_mac, const IpAddress& dst_ip, const IpAddress& target,
              const VlanStack& vlans) {
  std::array<std::byte, 256> buf{};
  wire::FrameBuilder b(buf);
  b.push_neighbor_solicit(target, kPeer)
      .push_ipv6({.src = kPeer6, .dst = dst_ip, .hop_limit = 255})
      .push_vlans(vlans)
      .push_ethernet(dst_mac, kPeer);
  auto f = b.finish();
  EXPECT_TRUE(f);
  return {f->begin(), f->end()};
}

Frame udp6(const VlanStack& vlans) {
  std::array<std::byte, 256> buf{};
  wire::FrameBuilder b(buf);
  const std::array<std::byte, 4> payload{};
  b.payload(payload)
      .push_udp(1000, 2000)
      .push_ipv6({.src = kPeer6, .dst = kHost6})
      .push_vlans(vlans)
      .push_ethernet(kHost, kPeer);
  auto f = b.finish();
  EXPECT_TRUE(f);
  return {f->begin(), f->end()};
}

class NeighborFastPath : public ::testing::Test {
 protected:
  void SetUp() override {
    auto engine = std::make_unique<FakeEngine>();
    fake_ = engine.get();
    datapath::RelayOptions o;
    o.poll_timeout = 10ms;
    auto r = PacketRelay::open_with(std::move(engine), nullptr, "fake0", kOwn, o);
    ASSERT_TRUE(r) << r.error();
    relay_ = std::move(*r);
    auto n = Neighbor::open(*relay_);
    ASSERT_TRUE(n) << n.error();
    neighbor_ = std::move(*n);
  }
  void TearDown() override {
    neighbor_.reset();
    if (relay_) {
      relay_->stop();
    }
  }
  // The host's IPv6 key goes to a fast path that forwards nothing but hands ARP/NDP over, as
  // pkthere's DatapathTransport is to.
  void fast_path(const VlanStack& vlans) {
    ASSERT_TRUE(relay_->on_batch(kHost, vlans, wire::kEtherTypeIpv6,
                                 [this](std::size_t, datapath::FrameBatch& frames) {
                                   for (const datapath::Frame& f : frames) {
                                     if (neighbor_->offer(f.data())) {
                                       offered_.fetch_add(1);
                                     } else {
                                       refused_.fetch_add(1);
                                     }
                                   }
                                 }));
  }
  // Waits up to 1 s for `n` sent frames.
  std::vector<Frame> sent(std::size_t n) {
    std::vector<Frame> all;
    for (int i = 0; i < 500 && all.size() < n; ++i) {
      for (auto& f : fake_->take_sent(0)) {
        all.push_back(std::move(f));
      }
      if (all.size() < n) {
        std::this_thread::sleep_for(2ms);
      }
    }
    return all;
  }
  FakeEngine* fake_ = nullptr;
  std::unique_ptr<PacketRelay> relay_;
  std::unique_ptr<Neighbor> neighbor_;
  std::atomic<int> offered_{0};
  std::atomic<int> refused_{0};
};

TEST_F(NeighborFastPath, AnswersAUnicastSolicitationHandedOverByTheFastPath) {
  const VlanStack vlans = VlanStack::parse("300.400").value();
  fast_path(vlans);
  ASSERT_TRUE(neighbor_->add_owned(Station{kHost, vlans}, kHost6));
  fake_->inject(0, udp6(vlans));  // the fast path's own traffic: not taken
  fake_->inject(0, solicit(kHost, kHost6, kHost6, vlans));
  auto answer = sent(1);
  ASSERT_EQ(answer.size(), 1U) << "the NUD probe was not answered";
  const wire::FrameParser strict(wire::ParseOptions{.verify_checksums = true});
  auto a = strict.parse(answer[0]);
  ASSERT_TRUE(a);
  EXPECT_EQ(a.frame.dst, kPeer);
  EXPECT_EQ(a.frame.src, kHost);
  EXPECT_EQ(a.frame.vlans.to_string(), vlans.to_string());
  ASSERT_EQ(a.frame.l4, wire::L4Kind::icmpv6);
  EXPECT_EQ(a.frame.icmp.type, wire::kIcmpv6NeighborAdvert);
  EXPECT_EQ(a.frame.ip_dst(), kPeer6);
  auto ndp = a.frame.ndp();
  ASSERT_TRUE(ndp);
  EXPECT_EQ(ndp->target, kHost6);
  EXPECT_EQ(ndp->target_mac, kHost);
  EXPECT_EQ(offered_.load(), 1);
  EXPECT_EQ(refused_.load(), 1);
  EXPECT_EQ(neighbor_->answered(), 1U);
  // The peer's address was learnt from the probe's source link-layer option.
  EXPECT_EQ(neighbor_->lookup(vlans, kPeer6), kPeer);
}

TEST_F(NeighborFastPath, DoesNotAnswerForAnAddressItDoesNotOwn) {
  const VlanStack vlans = VlanStack::parse("100").value();
  fast_path(vlans);
  ASSERT_TRUE(neighbor_->add_owned(Station{kHost, vlans}, kHost6));
  const IpAddress other = IpAddress::parse("2001:db8:5::99").value();
  fake_->inject(0, solicit(kHost, other, other, vlans));
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(fake_->take_sent(0).empty());
  EXPECT_EQ(neighbor_->answered(), 0U);
}

TEST_F(NeighborFastPath, AnswersAUnicastArpRequestWithReceiveUnicastArp) {
  const VlanStack vlans = VlanStack::parse("200").value();
  const Station host{kHost, vlans};
  ASSERT_TRUE(neighbor_->add_owned(host, kHost4));
  ASSERT_TRUE(neighbor_->receive_unicast_arp(host));
  std::array<std::byte, 128> buf{};
  auto ask = build_arp_request(buf, Station{kPeer, vlans}, kPeer4, kHost4);
  ASSERT_TRUE(ask);
  wire::store_mac(*ask, 0, kHost);  // to the host's MAC, as a kernel's unicast probe
  fake_->inject(0, *ask);
  auto answer = sent(1);
  ASSERT_EQ(answer.size(), 1U) << "the unicast ARP probe was not answered";
  const wire::FrameParser parser;
  auto a = parser.parse(answer[0]);
  ASSERT_TRUE(a);
  EXPECT_EQ(a.frame.dst, kPeer);
  EXPECT_EQ(a.frame.vlans.to_string(), "200");
  ASSERT_EQ(a.frame.l3, wire::L3Kind::arp);
  EXPECT_EQ(a.frame.arp().op, wire::kArpReply);
  EXPECT_EQ(a.frame.arp().sender_ip, kHost4);
  EXPECT_EQ(a.frame.arp().sender_mac, kHost);
}

TEST_F(NeighborFastPath, LeavesTheInterfacesOwnUntaggedArpAlone) {
  const Station own{kOwn, VlanStack{}};
  ASSERT_TRUE(neighbor_->add_owned(own, kHost4));
  ASSERT_TRUE(neighbor_->receive_unicast_arp(own));
  std::array<std::byte, 128> buf{};
  auto ask = build_arp_request(buf, Station{kPeer, VlanStack{}}, kPeer4, kHost4);
  ASSERT_TRUE(ask);
  wire::store_mac(*ask, 0, kOwn);
  fake_->inject(0, *ask);
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(fake_->take_sent(0).empty()) << "the kernel's own ARP key was taken";
}

TEST(NeighborFrames, IsNeighborFrameLooksAtEtherTypeAndIcmpv6TypeOnly) {
  const VlanStack none;
  const VlanStack qinq = VlanStack::parse("300.400").value();
  EXPECT_TRUE(Neighbor::is_neighbor_frame(solicit(kHost, kHost6, kHost6, none)));
  EXPECT_TRUE(Neighbor::is_neighbor_frame(solicit(kHost, kHost6, kHost6, qinq)));
  EXPECT_FALSE(Neighbor::is_neighbor_frame(udp6(none)));
  EXPECT_FALSE(Neighbor::is_neighbor_frame(udp6(qinq)));
  std::array<std::byte, 128> buf{};
  auto na = build_neighbor_advert(buf, Station{kPeer, qinq}, kPeer6, kHost, kHost6, true);
  ASSERT_TRUE(na);
  EXPECT_TRUE(Neighbor::is_neighbor_frame(*na));
  auto arp = build_arp_request(buf, Station{kPeer, qinq}, kPeer4, kHost4);
  ASSERT_TRUE(arp);
  EXPECT_TRUE(Neighbor::is_neighbor_frame(*arp));
  // Cut inside the IPv6 header (before the ICMPv6 type), or inside the tags: not NDP.
  const Frame ns = solicit(kHost, kHost6, kHost6, qinq);
  EXPECT_FALSE(Neighbor::is_neighbor_frame(ConstBytes(ns).first(14 + 8 + 40)));
  EXPECT_FALSE(Neighbor::is_neighbor_frame(ConstBytes(ns).first(17)));
  EXPECT_FALSE(Neighbor::is_neighbor_frame({}));
}

}  // namespace
}  // namespace etherpath::conn
