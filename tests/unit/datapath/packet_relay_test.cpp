// PacketRelay + EtherConn over FakeEngine: demux, default receiver, mirroring, multicast scope,
// counters, steering kept in step, the fast path, reads with deadlines, stop and engine failure.
#include "datapath/packet_relay.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "conn/ether_conn.hpp"
#include "datapath/fake_engine.hpp"

namespace etherpath::datapath {
namespace {

using namespace std::chrono_literals;
using conn::EtherConn;
using conn::EtherConnOptions;

const MacAddress kOwn = MacAddress::parse("02:00:00:00:00:01").value();
const MacAddress kHost = MacAddress::parse("02:00:00:00:01:01").value();
const MacAddress kOther = MacAddress::parse("02:00:00:00:01:02").value();
const MacAddress kPeer = MacAddress::parse("02:00:00:00:09:09").value();

class RecordingSteering final : public Steering {
 public:
  Status add_l2(const MacAddress& m, const VlanStack& v, std::uint16_t et) override {
    log.push_back("+l2 " + m.to_string() + " " + v.to_string() + " " + std::to_string(et));
    return ok();
  }
  Status remove_l2(const MacAddress& m, const VlanStack& v, std::uint16_t et) override {
    log.push_back("-l2 " + m.to_string() + " " + v.to_string() + " " + std::to_string(et));
    return ok();
  }
  Status add_multicast(const VlanStack& v, std::uint16_t et) override {
    log.push_back("+mc " + v.to_string() + " " + std::to_string(et));
    return ok();
  }
  Status remove_multicast(const VlanStack& v, std::uint16_t et) override {
    log.push_back("-mc " + v.to_string() + " " + std::to_string(et));
    return ok();
  }
  Status add_default(const VlanStack& v, std::uint16_t et) override {
    log.push_back("+def " + v.to_string() + " " + std::to_string(et));
    return ok();
  }
  Status remove_default(const VlanStack& v, std::uint16_t et) override {
    log.push_back("-def " + v.to_string() + " " + std::to_string(et));
    return ok();
  }
  Status add_owned(const VlanStack& v, const IpAddress& ip) override {
    log.push_back("+own " + v.to_string() + " " + ip.to_string());
    return ok();
  }
  Status remove_owned(const VlanStack& v, const IpAddress& ip) override {
    log.push_back("-own " + v.to_string() + " " + ip.to_string());
    return ok();
  }
  Status add_l4(const L4Endpoint& k) override {
    log.push_back("+l4 " + k.vlans.to_string() + " " + k.address.to_string() + " " +
                  std::to_string(k.protocol) + " " + std::to_string(k.port));
    return ok();
  }
  Status remove_l4(const L4Endpoint& k) override {
    log.push_back("-l4 " + k.vlans.to_string() + " " + k.address.to_string() + " " +
                  std::to_string(k.protocol) + " " + std::to_string(k.port));
    return ok();
  }
  [[nodiscard]] std::map<std::string, std::uint64_t> counters() const override {
    return {{"hit_l2", 1}};
  }
  [[nodiscard]] std::string describe() const override { return "recording"; }
  std::vector<std::string> log;
};

// dst, src, tags (0x8100 each), EtherType, payload bytes 0xab.
std::vector<std::byte> frame(MacAddress dst, MacAddress src,
                             const std::vector<std::uint16_t>& vlans, std::uint16_t et,
                             std::size_t payload = 46) {
  std::vector<std::byte> f(14 + 4 * vlans.size() + payload, std::byte{0xab});
  for (std::size_t i = 0; i < 6; ++i) {
    f[i] = std::byte{dst.octets()[i]};
    f[6 + i] = std::byte{src.octets()[i]};
  }
  std::size_t off = 12;
  for (auto id : vlans) {
    store_be16(f, off, 0x8100);
    store_be16(f, off + 2, id);
    off += 4;
  }
  store_be16(f, off, et);
  return f;
}

// EtherConnOptions without designated initialisers (-Wmissing-field-initializers).
EtherConnOptions opts(MacAddress mac, const char* vlans = "",
                      std::vector<std::uint16_t> ether_types = conn::kDefaultEtherTypes) {
  EtherConnOptions o;
  o.mac = mac;
  o.vlans = VlanStack::parse(vlans).value();
  o.ether_types = std::move(ether_types);
  return o;
}

class RelayTest : public ::testing::Test {
 protected:
  void open(RelayOptions o = {}) {
    auto engine = std::make_unique<FakeEngine>();
    fake_ = engine.get();
    auto steering = std::make_unique<RecordingSteering>();
    steering_ = steering.get();
    o.poll_timeout = 10ms;
    auto r = PacketRelay::open_with(std::move(engine), std::move(steering), "fake0", kOwn, o);
    ASSERT_TRUE(r) << r.error();
    relay_ = std::move(*r);
  }
  std::unique_ptr<EtherConn> conn(EtherConnOptions o) {
    auto c = EtherConn::open(*relay_, std::move(o));
    EXPECT_TRUE(c) << c.error();
    return c ? std::move(*c) : nullptr;
  }
  // Waits until the relay has looked at `n` frames in all.
  void settle(std::uint64_t n) {
    for (int i = 0; i < 500 && relay_->stats().rx_offered < n; ++i) {
      std::this_thread::sleep_for(2ms);
    }
    ASSERT_EQ(relay_->stats().rx_offered, n);
  }
  void TearDown() override {
    conns_.clear();
    if (relay_) {
      relay_->stop();
    }
  }
  FakeEngine* fake_ = nullptr;
  RecordingSteering* steering_ = nullptr;
  std::unique_ptr<PacketRelay> relay_;
  std::vector<std::unique_ptr<EtherConn>> conns_;
};

TEST_F(RelayTest, UnicastHitReachesTheConnWithItsEndpoint) {
  open();
  auto c = conn(opts(kHost, "100"));
  ASSERT_TRUE(c);
  fake_->inject(0, frame(kHost, kPeer, {100}, 0x0800, 50));
  std::array<std::byte, 2048> buf{};
  auto p = c->read(buf, 1s);
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->size, 50U);
  EXPECT_EQ(p->src, kPeer);
  EXPECT_EQ(p->ether_type, 0x0800);
  ASSERT_EQ(p->vlans.size(), 1U);
  EXPECT_EQ(p->vlans[0].id, 100);
  settle(1);
  const RelayStats s = relay_->stats();
  EXPECT_EQ(s.rx, 1U);
  EXPECT_EQ(s.rx_offered, 1U);
}

TEST_F(RelayTest, RegistrationKeepsSteeringInStep) {
  open();
  {
    auto c = conn([&] {
      auto o = opts(kHost, "100.20", std::vector<std::uint16_t>{0x0800});
      o.receive_multicast = true;
      return o;
    }());
    ASSERT_TRUE(c);
    EXPECT_EQ(steering_->log,
              (std::vector<std::string>{"+l2 02:00:00:00:01:01 100.20 2048", "+mc 100.20 2048"}));
    steering_->log.clear();
  }
  // The conn's destructor took its keys out again (VLAN TPIDs do not matter to keys).
  ASSERT_EQ(steering_->log.size(), 2U);
  EXPECT_EQ(steering_->log[0].substr(0, 27), "-l2 02:00:00:00:01:01 100.2");
  EXPECT_EQ(steering_->log[1].substr(0, 8), "-mc 100.");
}

TEST_F(RelayTest, WrongVlanWrongMacAndZeroMacAreMisses) {
  open();
  auto c = conn(opts(kHost, "100"));
  fake_->inject(0, frame(kHost, kPeer, {101}, 0x0800));
  fake_->inject(0, frame(kOther, kPeer, {100}, 0x0800));
  fake_->inject(0, frame(MacAddress{}, kPeer, {100}, 0x0800));
  fake_->inject(0, frame(kHost, kPeer, {100}, 0x0001));  // EtherType not registered
  settle(4);
  std::array<std::byte, 2048> buf{};
  auto p = c->read(buf, 50ms);
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().is(Errc::timeout));
  EXPECT_EQ(relay_->stats().rx_miss, 4U);
}

TEST_F(RelayTest, DefaultReceiverTakesMissesAndMirrorsWhenAsked) {
  RelayOptions ro;
  ro.mirror_to_default = true;
  open(ro);
  auto host = conn(opts(kHost, "", std::vector<std::uint16_t>{0x0800}));
  auto def = conn([&] {
    auto o = opts(kOther, "", std::vector<std::uint16_t>{0x0800});
    o.is_default = true;
    return o;
  }());
  EXPECT_NE(std::find(steering_->log.begin(), steering_->log.end(), "+def  2048"),
            steering_->log.end());
  fake_->inject(0, frame(kPeer, kPeer, {}, 0x0800));  // miss -> default
  fake_->inject(0, frame(kHost, kPeer, {}, 0x0800));  // hit -> host, mirrored to default
  settle(2);
  EXPECT_EQ(def->queued(), 2U);
  EXPECT_EQ(host->queued(), 1U);
  const RelayStats s = relay_->stats();
  EXPECT_EQ(s.rx, 1U);
  EXPECT_EQ(s.rx_default, 2U);
  EXPECT_EQ(s.rx_miss, 0U);
}

TEST_F(RelayTest, WithoutMirrorTheDefaultSeesOnlyMisses) {
  open();
  auto host = conn(opts(kHost, "", std::vector<std::uint16_t>{0x0800}));
  auto def = conn([&] {
    auto o = opts(kOther, "", std::vector<std::uint16_t>{0x0800});
    o.is_default = true;
    return o;
  }());
  fake_->inject(0, frame(kHost, kPeer, {}, 0x0800));
  settle(1);
  EXPECT_EQ(def->queued(), 0U);
  EXPECT_EQ(host->queued(), 1U);
}

TEST_F(RelayTest, BroadcastGoesToSubscribersOfItsVlanOnly) {
  open();
  auto v100 = conn([&] {
    auto o = opts(kHost, "100", std::vector<std::uint16_t>{0x0800});
    o.receive_multicast = true;
    return o;
  }());
  auto v200 = conn([&] {
    auto o = opts(kOther, "200", std::vector<std::uint16_t>{0x0800});
    o.receive_multicast = true;
    return o;
  }());
  auto quiet = conn(opts(kPeer, "100"));
  fake_->inject(0, frame(MacAddress::broadcast(), kPeer, {100}, 0x0800));
  fake_->inject(0, frame(MacAddress::broadcast(), kPeer, {300}, 0x0800));
  settle(2);
  EXPECT_EQ(v100->queued(), 1U);
  EXPECT_EQ(v200->queued(), 0U);
  EXPECT_EQ(quiet->queued(), 0U);
  const RelayStats s = relay_->stats();
  EXPECT_EQ(s.rx_non_hit_multicast, 1U);
  EXPECT_EQ(s.rx_multicast_ignored, 1U);
}

TEST_F(RelayTest, TruncatedAndTooDeepFramesAreInvalid) {
  open();
  fake_->inject(0, std::vector<std::byte>(10));
  auto deep = frame(kHost, kPeer, {1, 2, 3}, 0x0800);
  fake_->inject(0, deep);
  settle(2);
  const RelayStats s = relay_->stats();
  EXPECT_EQ(s.rx_invalid, 2U);
  EXPECT_EQ(s.drop_truncated, 1U);
  EXPECT_EQ(s.drop_vlan_too_deep, 1U);
  EXPECT_EQ(relay_->stats_json()["drops"]["vlan_too_deep"], 1U);
}

TEST_F(RelayTest, FullReceiveQueueCountsAndDropsNewest) {
  open();
  auto c = conn([&] {
    auto o = opts(kHost, "", std::vector<std::uint16_t>{0x0800});
    o.queue_depth = 2;
    return o;
  }());
  for (int i = 0; i < 5; ++i) {
    fake_->inject(0, frame(kHost, kPeer, {}, 0x0800));
  }
  settle(5);
  EXPECT_EQ(c->queued(), 2U);
  EXPECT_EQ(c->overflows(), 3U);
  EXPECT_EQ(relay_->stats().rx_buffer_full, 3U);
  EXPECT_EQ(relay_->stats().rx, 2U);
  // The relay gave every frame back: nothing is held by the conn's queue.
  EXPECT_EQ(fake_->free_frames(), 1024U);
}

TEST_F(RelayTest, SendBuildsTheFrameWithTagsAndPadding) {
  open();
  auto c = conn(opts(kHost, "100.20"));
  const std::array<std::byte, 4> payload{std::byte{0x45}, std::byte{1}, std::byte{2}, std::byte{3}};
  ASSERT_TRUE(c->send_ip(payload, kPeer));
  auto sent = fake_->take_sent(0);
  ASSERT_EQ(sent.size(), 1U);
  const auto& f = sent[0];
  ASSERT_EQ(f.size(), 60U);
  EXPECT_EQ(std::memcmp(f.data(), kPeer.octets().data(), 6), 0);
  EXPECT_EQ(std::memcmp(f.data() + 6, kHost.octets().data(), 6), 0);
  EXPECT_EQ(load_be16(f, 12), 0x88a8);
  EXPECT_EQ(load_be16(f, 14) & 0x0fff, 100);
  EXPECT_EQ(load_be16(f, 16), 0x8100);
  EXPECT_EQ(load_be16(f, 18) & 0x0fff, 20);
  EXPECT_EQ(load_be16(f, 20), 0x0800);
  EXPECT_EQ(f[22], std::byte{0x45});
  EXPECT_EQ(relay_->stats().tx, 1U);
  const std::array<std::byte, 1> bad{std::byte{0x25}};
  auto st = c->send_ip(bad, kPeer);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("invalid IP version, 2"), std::string::npos);
}

TEST_F(RelayTest, FastPathRewritesAndForwardsInPlace) {
  open();
  ASSERT_TRUE(relay_->on_batch(kHost, {}, 0x0800, [&](std::size_t q, FrameBatch& b) {
    for (Frame& f : b) {
      std::memcpy(f.data().data(), kPeer.octets().data(), 6);  // new dst
    }
    relay_->transmit(q, b);
  }));
  fake_->inject(0, frame(kHost, kOther, {}, 0x0800));
  fake_->inject(0, frame(kOther, kOther, {}, 0x0800));  // not the fast path's key: a miss
  settle(2);
  std::vector<std::vector<std::byte>> sent;
  for (int i = 0; i < 200 && sent.empty(); ++i) {
    sent = fake_->take_sent(0);
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(std::memcmp(sent[0].data(), kPeer.octets().data(), 6), 0);
  EXPECT_EQ(relay_->stats().rx_miss, 1U);
  for (int i = 0; i < 200 && fake_->free_frames() != 1024U; ++i) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(fake_->free_frames(), 1024U);
}

TEST_F(RelayTest, L4FlowsShareOneFastPathPerFamilyOnTheOwnMac) {
  open();
  const IpAddress own = IpAddress::parse("192.0.2.1").value();
  std::atomic<int> seen{0};
  auto fn = [&](std::size_t /*q*/, FrameBatch& b) { seen += static_cast<int>(b.size()); };
  ASSERT_TRUE(relay_->on_l4_batch({{}, own, 17, 53}, fn));
  // A second flow joins with an empty function; a second function is refused, so is a repeat.
  ASSERT_TRUE(relay_->on_l4_batch({{}, own, 17, 5353}, nullptr));
  EXPECT_FALSE(relay_->on_l4_batch({{}, own, 17, 67}, fn));
  EXPECT_FALSE(relay_->on_l4_batch({{}, own, 17, 53}, nullptr));
  // IPv6 has no fast path yet: joining it is an error.
  EXPECT_FALSE(relay_->on_l4_batch({{}, IpAddress::parse("2001:db8::1").value(), 17, 53}, nullptr));
  // The own MAC's IPv4 frames reach fn (steering chose them); other MACs are misses.
  fake_->inject(0, frame(kOwn, kPeer, {}, 0x0800));
  fake_->inject(0, frame(kHost, kPeer, {}, 0x0800));
  settle(2);
  EXPECT_EQ(seen.load(), 1);
  EXPECT_EQ(relay_->stats().rx_miss, 1U);
  ASSERT_TRUE(relay_->remove_l4({{}, own, 17, 5353}));
  EXPECT_EQ(steering_->log,
            (std::vector<std::string>{"+l4  192.0.2.1 17 53", "+l4  192.0.2.1 17 5353",
                                      "-l4  192.0.2.1 17 5353"}));
}

TEST_F(RelayTest, ReadAfterStopSaysRelayStopped) {
  open();
  auto c = conn(opts(kHost));
  std::thread stopper([&] {
    std::this_thread::sleep_for(20ms);
    relay_->stop();
  });
  std::array<std::byte, 64> buf{};
  auto p = c->read(buf, 5s);
  stopper.join();
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().is(Errc::relay_stopped)) << p.error();
  EXPECT_TRUE(relay_->stopped());
  EXPECT_FALSE(c->send_ip(std::array<std::byte, 1>{std::byte{0x45}}, kPeer));
}

TEST_F(RelayTest, EngineFailureStopsTheRelayWithItsError) {
  open();
  auto c = conn(opts(kHost));
  fake_->fail(Error(Errc::closed, "fake0: the interface went away"));
  std::array<std::byte, 64> buf{};
  auto p = c->read(buf, 5s);
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().is(Errc::relay_stopped));
  ASSERT_TRUE(relay_->error().has_value());
  EXPECT_NE(relay_->error()->message().find("went away"), std::string::npos);
}

TEST_F(RelayTest, CallersThreadModeRunsOnlyInPollOnce) {
  RelayOptions ro;
  ro.own_threads = false;
  open(ro);
  auto c = conn(opts(kHost));
  fake_->inject(0, frame(kHost, kPeer, {}, 0x0800));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(c->queued(), 0U);  // no thread of the relay's took it
  ASSERT_TRUE(relay_->poll_once(0, 10ms));
  EXPECT_EQ(c->queued(), 1U);
  ASSERT_TRUE(relay_->poll_once(0, 1ms));  // nothing there: waits, then returns
  fake_->fail(Error(Errc::closed, "fake0: the interface is down"));
  auto st = relay_->poll_once(0, 1ms);
  ASSERT_FALSE(st);
  EXPECT_TRUE(st.error().is(Errc::closed));
}

TEST_F(RelayTest, StatsJsonHasCountersQueuesAndSteering) {
  open();
  const auto j = relay_->stats_json();
  EXPECT_EQ(j["engine"], "fake");
  EXPECT_EQ(j["interface"], "fake0");
  EXPECT_TRUE(j.contains("rx_multicast_ignored"));
  EXPECT_EQ(j["queues"].size(), 1U);
  EXPECT_EQ(j["steering"]["hit_l2"], 1U);
}

}  // namespace
}  // namespace etherpath::datapath
