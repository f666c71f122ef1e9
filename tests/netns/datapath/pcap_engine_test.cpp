// PcapEngine on a veth pair: inject on one end, dispatch on the other; the default filter takes
// ARP/IPv4/IPv6 untagged, 802.1Q and QinQ and nothing else; a given filter replaces it.
#include "datapath/pcap/pcap_engine.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include "base/byte_order.hpp"
#include "tests/support/netns.hpp"

namespace etherpath::datapath::pcap {
namespace {

using namespace std::chrono_literals;
using etherpath::testing::in_netns;
using etherpath::testing::NetNs;
using etherpath::testing::VethPair;

// dst, src, up to two tags (TPIDs 0x88a8 outer for QinQ), EtherType, marker, sequence number.
std::size_t write_frame(Frame& f, MacAddress dst, MacAddress src, std::vector<std::uint16_t> vlans,
                        std::uint16_t ethertype, std::uint32_t seq) {
  auto d = f.data();
  f.resize(64);
  d = f.data();
  std::fill(d.begin(), d.end(), std::byte{0});
  std::memcpy(d.data(), dst.octets().data(), 6);
  std::memcpy(d.data() + 6, src.octets().data(), 6);
  std::size_t off = 12;
  for (std::size_t i = 0; i < vlans.size(); ++i) {
    store_be16(d, off, vlans.size() == 2 && i == 0 ? 0x88a8 : 0x8100);
    store_be16(d, off + 2, vlans[i]);
    off += 4;
  }
  store_be16(d, off, ethertype);
  store_be32(d, off + 2, 0x65707468);
  store_be32(d, off + 6, seq);
  return off + 10;
}

std::optional<std::uint32_t> seq_of(const Frame& f) {
  auto d = f.data();
  for (std::size_t off = 12; off + 10 <= d.size() && off <= 20; off += 4) {
    if (load_be32(d, off + 2) == 0x65707468) {
      return load_be32(d, off + 6);
    }
  }
  return std::nullopt;
}

class PcapEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EP_SKIP_UNLESS_ROOT();
    auto a = NetNs::create("pa");
    auto b = NetNs::create("pb");
    ASSERT_TRUE(a && b);
    ns_a_.emplace(std::move(*a));
    ns_b_.emplace(std::move(*b));
    auto v = VethPair::create(*ns_a_, *ns_b_);
    ASSERT_TRUE(v) << v.error();
    veth_.emplace(std::move(*v));
  }
  static std::unique_ptr<PcapEngine> open(const NetNs& ns, const std::string& ifname,
                                          std::optional<std::string> filter = std::nullopt) {
    PcapEngineOptions o;
    o.ifname = ifname;
    o.filter = std::move(filter);
    auto e = in_netns(ns, [&] { return PcapEngine::create(o); });
    EXPECT_TRUE(e) << e.error();
    return e ? std::move(*e) : nullptr;
  }
  void send(PcapEngine& e, std::vector<std::uint16_t> vlans, std::uint16_t ethertype,
            std::uint32_t seq) {
    FrameBatch b;
    ASSERT_EQ(e.alloc(0, b, 1), 1U);
    write_frame(b[0], veth_->mac_b(), veth_->mac_a(), std::move(vlans), ethertype, seq);
    ASSERT_EQ(e.transmit(0, b), 1U);
  }
  // Sequence numbers received within `limit`.
  static std::vector<std::uint32_t> drain(PcapEngine& e, std::size_t want,
                                          std::chrono::milliseconds limit) {
    std::vector<std::uint32_t> got;
    FrameBatch b;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
      if (e.receive(0, b) == 0) {
        auto r = e.wait(0, 20ms);
        EXPECT_TRUE(r) << r.error();
        continue;
      }
      for (const Frame& f : b) {
        if (auto s = seq_of(f)) {
          got.push_back(*s);
        }
      }
      e.release(0, b);
    }
    return got;
  }
  std::optional<NetNs> ns_a_, ns_b_;
  std::optional<VethPair> veth_;
};

TEST_F(PcapEngineTest, DefaultFilterTakesIpAndArpAtEveryDepth) {
  auto a = open(*ns_a_, veth_->a());
  auto b = open(*ns_b_, veth_->b());
  ASSERT_TRUE(a && b);
  EXPECT_EQ(b->filter(), kDefaultFilter);
  send(*a, {}, 0x0800, 1);
  send(*a, {100}, 0x86dd, 2);
  send(*a, {100, 222}, 0x0806, 3);
  send(*a, {}, 0x88b5, 4);          // not ARP/IP: filtered out
  send(*a, {100, 222}, 0x88b5, 5);  // nor when tagged
  const auto got = drain(*b, 5, 1s);
  EXPECT_EQ(got, (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(a->stats(0).tx_packets, 5U);
}

TEST_F(PcapEngineTest, GivenFilterReplacesTheDefault) {
  auto a = open(*ns_a_, veth_->a());
  auto b = open(*ns_b_, veth_->b(), "ether proto 0x88b5");
  ASSERT_TRUE(a && b);
  send(*a, {}, 0x0800, 1);
  send(*a, {}, 0x88b5, 2);
  EXPECT_EQ(drain(*b, 2, 1s), (std::vector<std::uint32_t>{2}));
}

TEST_F(PcapEngineTest, BadFilterIsAnErrorThatQuotesIt) {
  PcapEngineOptions o;
  o.ifname = veth_->b();
  o.filter = "ether proto nonsense(";
  auto e = in_netns(*ns_b_, [&] { return PcapEngine::create(o); });
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("nonsense("), std::string::npos) << e.error();
}

TEST_F(PcapEngineTest, ManyFramesInOrderAndOwnFramesNotSeen) {
  auto a = open(*ns_a_, veth_->a());
  auto b = open(*ns_b_, veth_->b());
  ASSERT_TRUE(a && b);
  for (std::uint32_t i = 0; i < 500; ++i) {
    send(*a, {}, 0x0800, i);
  }
  const auto got = drain(*b, 500, 3s);
  ASSERT_EQ(got.size(), 500U);
  for (std::uint32_t i = 0; i < 500; ++i) {
    EXPECT_EQ(got[i], i);
  }
  // PCAP_D_IN: the sender does not capture what it injected.
  EXPECT_TRUE(drain(*a, 1, 200ms).empty());
}

TEST_F(PcapEngineTest, DeletedInterfaceEndsWaitWithAClearError) {
  auto b = open(*ns_b_, veth_->b());
  ASSERT_TRUE(b);
  ASSERT_TRUE(etherpath::testing::run("ip -n " + ns_b_->name() + " link del " + veth_->b()));
  Result<bool> r = false;
  for (int i = 0; i < 50 && r; ++i) {
    r = b->wait(0, 20ms);
  }
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(veth_->b()), std::string::npos) << r.error();
}

}  // namespace
}  // namespace etherpath::datapath::pcap
