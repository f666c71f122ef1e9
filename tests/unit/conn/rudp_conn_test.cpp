// RUDPConn, Neighbor and the idle-host cost over PacketRelay + FakeEngine (no root): header
// fields and checksums of what is sent, receive matching (port, 0.0.0.0, accept-any), ARP
// resolution and answers, and the user-space bytes of 65,536 idle emulated hosts.
#include "conn/rudp_conn.hpp"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "conn/ether_conn.hpp"
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

IpEndpoint ep(const char* text) {
  return IpEndpoint::parse(text).value();
}

class ConnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto engine = std::make_unique<FakeEngine>();
    fake_ = engine.get();
    datapath::RelayOptions o;
    o.poll_timeout = 10ms;
    auto r = PacketRelay::open_with(std::move(engine), nullptr, "fake0", kOwn, o);
    ASSERT_TRUE(r) << r.error();
    relay_ = std::move(*r);
  }
  void TearDown() override {
    udp_.clear();
    neighbor_.reset();
    conn_.reset();
    if (relay_) {
      relay_->stop();
    }
  }
  EtherConn& host(const char* vlans = "") {
    auto c = EtherConn::open(*relay_, {.mac = kHost, .vlans = VlanStack::parse(vlans).value()});
    EXPECT_TRUE(c);
    conn_ = std::move(*c);
    return *conn_;
  }
  RUDPConn& udp(RUDPConnOptions o, Neighbor* n = nullptr) {
    if (!o.resolver && n == nullptr) {
      o.resolver = [](const IpAddress&, std::chrono::milliseconds) -> Result<MacAddress> {
        return kPeer;
      };
    }
    auto u = RUDPConn::open(*conn_, std::move(o), n);
    EXPECT_TRUE(u) << u.error();
    udp_.push_back(std::move(*u));
    return *udp_.back();
  }
  // Waits for `n` sent frames.
  std::vector<std::vector<std::byte>> sent(std::size_t n) {
    std::vector<std::vector<std::byte>> all;
    for (int i = 0; i < 300 && all.size() < n; ++i) {
      for (auto& f : fake_->take_sent(0)) {
        all.push_back(std::move(f));
      }
      if (all.size() < n) {
        std::this_thread::sleep_for(2ms);
      }
    }
    return all;
  }
  static std::vector<std::byte> udp_frame(const IpEndpoint& from, const IpEndpoint& to,
                                          ConstBytes payload, const char* vlans = "") {
    std::array<std::byte, 2048> buf{};
    wire::FrameBuilder b(buf);
    b.payload(payload).push_udp(from.port, to.port);
    if (to.address.is_v4()) {
      b.push_ipv4({.src = from.address, .dst = to.address});
    } else {
      b.push_ipv6({.src = from.address, .dst = to.address});
    }
    b.push_vlans(VlanStack::parse(vlans).value()).push_ethernet(kHost, kPeer);
    auto f = b.finish();
    EXPECT_TRUE(f);
    return {f->begin(), f->end()};
  }
  FakeEngine* fake_ = nullptr;
  std::unique_ptr<PacketRelay> relay_;
  std::unique_ptr<EtherConn> conn_;
  std::unique_ptr<Neighbor> neighbor_;
  std::vector<std::unique_ptr<RUDPConn>> udp_;
};

TEST_F(ConnTest, SendsRightChecksumsTtlAndDscpV4AndV6) {
  host("100");
  const std::array<std::byte, 5> payload{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4},
                                         std::byte{5}};
  auto& u4 = udp({.local = ep("10.0.0.2:68"), .ttl = 7, .dscp = 46});
  auto& u6 = udp({.local = ep("[2001:db8::2]:546"), .ttl = 9, .dscp = 10});
  ASSERT_TRUE(u4.send_to(payload, ep("10.0.0.1:67")));
  ASSERT_TRUE(u6.send_to(payload, ep("[2001:db8::1]:547")));
  auto frames = sent(2);
  ASSERT_EQ(frames.size(), 2U);
  const wire::FrameParser strict(wire::ParseOptions{.verify_checksums = true});
  auto f4 = strict.parse(frames[0]);
  ASSERT_TRUE(f4) << "IPv4 frame refused";
  EXPECT_EQ(f4.frame.dst, kPeer);
  EXPECT_EQ(f4.frame.vlans.to_string(), "100");
  EXPECT_EQ(f4.frame.ipv4.ttl, 7);
  EXPECT_EQ(f4.frame.ipv4.tos, 46 << 2);
  EXPECT_NE(f4.frame.udp.checksum, 0) << "the IPv4 UDP checksum is computed, unlike etherconn";
  EXPECT_EQ(f4.frame.udp.dst_port, 67);
  EXPECT_EQ(f4.frame.payload.size(), 5U);
  auto f6 = strict.parse(frames[1]);
  ASSERT_TRUE(f6) << "IPv6 frame refused";
  EXPECT_EQ(f6.frame.ipv6.hop_limit, 9);
  EXPECT_EQ(f6.frame.ipv6.traffic_class, 10 << 2);
}

TEST_F(ConnTest, ReceivesItsPortAnyAddressAndAcceptAny) {
  host();
  auto& exact = udp({.local = ep("10.0.0.2:5000")});
  const std::array<std::byte, 3> p{std::byte{9}, std::byte{8}, std::byte{7}};
  fake_->inject(0, udp_frame(ep("10.0.0.1:1"), ep("10.0.0.2:5001"), p));  // other port
  fake_->inject(0, udp_frame(ep("10.0.0.1:1"), ep("10.0.0.9:5000"), p));  // other address
  fake_->inject(0, udp_frame(ep("10.0.0.1:2"), ep("10.0.0.2:5000"), p));
  std::array<std::byte, 16> buf{};
  auto got = exact.recv_from(buf, 1s);
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(got->from, ep("10.0.0.1:2"));
  EXPECT_EQ(got->size, 3U);
  EXPECT_EQ(exact.ignored(), 2U);
  EXPECT_FALSE(exact.recv_from(buf, 0ms));
  udp_.clear();

  auto& any_addr = udp({.local = ep("0.0.0.0:5000")});
  fake_->inject(0, udp_frame(ep("10.0.0.1:3"), ep("10.0.0.77:5000"), p));
  got = any_addr.recv_from(buf, 1s);
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(got->from, ep("10.0.0.1:3"));
  udp_.clear();

  auto& any = udp({.local = ep("10.0.0.2:5000"), .accept_any = true});
  fake_->inject(0, udp_frame(ep("[2001:db8::1]:4"), ep("[2001:db8::5]:9"), p));
  got = any.recv_from(buf, 1s);
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(got->from, ep("[2001:db8::1]:4"));
  // A small buffer: truncated, and said so.
  fake_->inject(0, udp_frame(ep("10.0.0.1:5"), ep("10.0.0.2:5000"), p));
  got = any.recv_from(std::span(buf).first(2), 1s);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->truncated);
  EXPECT_EQ(got->size, 2U);
}

TEST_F(ConnTest, ResolvesByArpAndAnswersRequestsForItsAddress) {
  host("100");
  auto n = Neighbor::open(*relay_);
  ASSERT_TRUE(n);
  neighbor_ = std::move(*n);
  auto& u = udp({.local = ep("10.0.0.2:68")}, neighbor_.get());
  std::thread sender([&] { EXPECT_TRUE(u.send_to({}, ep("10.0.0.1:67"))); });
  auto req = sent(1);
  ASSERT_EQ(req.size(), 1U);
  const wire::FrameParser parser;
  auto r = parser.parse(req[0]);
  ASSERT_TRUE(r);
  ASSERT_EQ(r.frame.l3, wire::L3Kind::arp);
  EXPECT_EQ(r.frame.dst, MacAddress::broadcast());
  EXPECT_EQ(r.frame.arp().target_ip, IpAddress::parse("10.0.0.1").value());
  std::array<std::byte, 128> buf{};
  auto reply = build_arp_reply(buf, Station{kPeer, VlanStack::parse("100").value()},
                               IpAddress::parse("10.0.0.1").value(), kHost,
                               IpAddress::parse("10.0.0.2").value());
  ASSERT_TRUE(reply);
  fake_->inject(0, *reply);
  sender.join();
  auto data = sent(1);
  ASSERT_EQ(data.size(), 1U);
  auto d = parser.parse(data[0]);
  ASSERT_TRUE(d);
  EXPECT_EQ(d.frame.dst, kPeer);
  EXPECT_EQ(d.frame.l4, wire::L4Kind::udp);

  // The peer asks for our address (broadcast, on VLAN 100): the Neighbor answers on VLAN 100.
  auto ask =
      build_arp_request(buf, Station{kPeer, VlanStack::parse("100").value()},
                        IpAddress::parse("10.0.0.1").value(), IpAddress::parse("10.0.0.2").value());
  ASSERT_TRUE(ask);
  fake_->inject(0, *ask);
  auto answer = sent(1);
  ASSERT_EQ(answer.size(), 1U);
  auto a = parser.parse(answer[0]);
  ASSERT_TRUE(a);
  EXPECT_EQ(a.frame.dst, kPeer);
  EXPECT_EQ(a.frame.src, kHost);
  EXPECT_EQ(a.frame.vlans.to_string(), "100");
  EXPECT_EQ(a.frame.arp().op, wire::kArpReply);
  EXPECT_EQ(neighbor_->answered(), 1U);
}

// The budget: an idle emulated host costs at most 1 KiB of user-space state. Measured
// as heap bytes in use (mallinfo2) per registered EtherConn, relay tables included; the receive
// ring is allocated only on the first delivery. 65,536 hosts, as the issue asks (registering and
// deregistering are O(1) per host); EP_IDLE_HOSTS in the environment runs another count.
TEST_F(ConnTest, AnIdleHostCostsAtMostOneKibibyte) {
  const char* env = std::getenv("EP_IDLE_HOSTS");  // NOLINT(concurrency-mt-unsafe)
  const std::size_t kHosts = env != nullptr ? std::strtoul(env, nullptr, 10) : 65536;
  std::vector<std::unique_ptr<EtherConn>> hosts;
  hosts.reserve(kHosts);
  const std::size_t before = mallinfo2().uordblks;
  for (std::size_t i = 0; i < kHosts; ++i) {
    EtherConnOptions o;
    o.mac = MacAddress::from_u64(0x020001000000ULL + i);
    o.vlans = VlanStack::parse(std::to_string(1 + i % 4000)).value();
    auto c = EtherConn::open(*relay_, o);
    ASSERT_TRUE(c) << i;
    hosts.push_back(std::move(*c));
  }
  const std::size_t after = mallinfo2().uordblks;
  const double per_host = static_cast<double>(after - before) / static_cast<double>(kHosts);
  std::cout << "idle host: " << per_host << " bytes of heap (EtherConn + relay registration)\n";
  EXPECT_LE(per_host, 1024.0);
}

}  // namespace
}  // namespace etherpath::conn
