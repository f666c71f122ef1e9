// EtherConn's receive queue over PacketRelay + FakeEngine (no root): lazy allocation, bounds,
// order, try_read, wakeups of blocked readers, two poll threads delivering to one conn, the
// relay-stopped signal, ReadyList's hand-over of conns with queued frames, and convenience sends
// spread over the queues by sending thread.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>
#include <thread>

#include "conn/ether_conn.hpp"
#include "conn/ready_list.hpp"
#include "datapath/fake_engine.hpp"
#include "datapath/packet_relay.hpp"

namespace etherpath::conn {
namespace {

using namespace std::chrono_literals;
using datapath::FakeEngine;
using datapath::PacketRelay;

const MacAddress kOwn = MacAddress::parse("02:00:00:00:00:01").value();
const MacAddress kPeer = MacAddress::parse("02:00:00:00:20:01").value();

MacAddress host_mac(std::size_t i) {
  return MacAddress::from_u64(0x020001000000ULL + i);
}

// An untagged IPv4 frame to `dst` whose payload starts with the 4-byte sequence `seq`.
std::vector<std::byte> frame(const MacAddress& dst, std::uint32_t seq, std::size_t payload = 46) {
  std::vector<std::byte> f(14 + payload, std::byte{0x5a});
  for (std::size_t i = 0; i < 6; ++i) {
    f[i] = std::byte{dst.octets()[i]};
    f[6 + i] = std::byte{kPeer.octets()[i]};
  }
  store_be16(f, 12, 0x0800);
  store_be32(f, 14, seq);
  return f;
}

std::uint32_t seq_of(std::span<const std::byte> payload) {
  return load_be32(payload, 0);
}

class QueueTest : public ::testing::Test {
 protected:
  void open(std::size_t queues = 1) {
    auto engine =
        std::make_unique<FakeEngine>(FakeEngine::Options{.queues = queues, .frames = 4096});
    fake_ = engine.get();
    datapath::RelayOptions o;
    o.poll_timeout = 5ms;
    auto r = PacketRelay::open_with(std::move(engine), nullptr, "fake0", kOwn, o);
    ASSERT_TRUE(r) << r.error();
    relay_ = std::move(*r);
  }
  std::unique_ptr<EtherConn> conn(std::size_t i, std::size_t depth = 16,
                                  ReadyList* ready = nullptr) {
    EtherConnOptions o;
    o.mac = host_mac(i);
    o.queue_depth = depth;
    o.max_frame = 128;
    o.ready_list = ready;
    auto c = EtherConn::open(*relay_, o);
    EXPECT_TRUE(c) << c.error();
    return c ? std::move(*c) : nullptr;
  }
  void settle(std::uint64_t n) {
    for (int i = 0; i < 1000 && relay_->stats().rx_offered < n; ++i) {
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
  std::unique_ptr<PacketRelay> relay_;
  ReadyList ready_;  // outlives the conns (TearDown destroys them first)
  std::vector<std::unique_ptr<EtherConn>> conns_;
};

TEST_F(QueueTest, QueueIsAllocatedOnTheFirstFrameAndKeepsOrder) {
  open();
  auto c = conn(1, 5);
  EXPECT_EQ(c->queue_bytes(), 0U);  // idle: no ring yet
  for (std::uint32_t s = 0; s < 5; ++s) {
    fake_->inject(0, frame(host_mac(1), s));
  }
  settle(5);
  // 5 slots round up to a ring of 8, each 4 + 128 bytes rounded to two cache lines.
  EXPECT_EQ(c->queue_bytes(), 8U * 192U);
  EXPECT_EQ(c->queued(), 5U);
  std::array<std::byte, 256> buf{};
  for (std::uint32_t s = 0; s < 5; ++s) {
    auto p = c->try_read(buf);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->size, 46U);
    EXPECT_EQ(seq_of(buf), s);
    EXPECT_EQ(p->src, kPeer);
    EXPECT_EQ(p->dst, host_mac(1));
    EXPECT_EQ(p->ether_type, 0x0800);
  }
  EXPECT_FALSE(c->try_read(buf));
}

TEST_F(QueueTest, DepthIsExactAndTheRingWrapsAround) {
  open();
  auto c = conn(1, 3);  // a ring of 4 that holds 3
  std::array<std::byte, 256> buf{};
  std::uint32_t next_in = 0;
  std::uint32_t next_out = 0;
  std::uint64_t injected = 0;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 4; ++i) {
      fake_->inject(0, frame(host_mac(1), next_in++));
    }
    injected += 4;
    settle(injected);
    EXPECT_EQ(c->queued(), 3U);
    for (int i = 0; i < 3; ++i) {
      auto p = c->try_read(buf);
      ASSERT_TRUE(p);
      EXPECT_EQ(seq_of(buf), next_out++);
    }
    ++next_out;  // the fourth frame of the round found the queue full
  }
  EXPECT_EQ(c->overflows(), 20U);
  EXPECT_EQ(relay_->stats().rx_buffer_full, 20U);
}

TEST_F(QueueTest, OversizedFramesAreCountedNotQueued) {
  open();
  auto c = conn(1);
  fake_->inject(0, frame(host_mac(1), 1, 200));  // 214 bytes > max_frame 128
  fake_->inject(0, frame(host_mac(1), 2, 114));  // exactly 128
  settle(2);
  EXPECT_EQ(c->overflows(), 1U);
  std::array<std::byte, 256> buf{};
  auto p = c->try_read(buf);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->size, 114U);
  EXPECT_EQ(seq_of(buf), 2U);
}

TEST_F(QueueTest, ShortBufferTruncatesAndSaysSo) {
  open();
  auto c = conn(1);
  fake_->inject(0, frame(host_mac(1), 7, 100));
  std::array<std::byte, 10> small{};
  auto p = c->read(small, 1s);
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->size, 10U);
  EXPECT_EQ(p->full_size, 100U);
  EXPECT_TRUE(p->truncated());
  EXPECT_EQ(seq_of(small), 7U);
}

TEST_F(QueueTest, BlockedReaderWakesOnDeliveryAndOnStop) {
  open();
  auto c = conn(1);
  std::array<std::byte, 256> buf{};
  std::thread feeder([&] {
    std::this_thread::sleep_for(50ms);
    fake_->inject(0, frame(host_mac(1), 42));
  });
  auto p = c->read(buf, 5s);
  feeder.join();
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(seq_of(buf), 42U);
  auto t = c->read(buf, 20ms);
  ASSERT_FALSE(t);
  EXPECT_TRUE(t.error().is(Errc::timeout));
  // A frame queued before the stop is still read; then the reader hears relay_stopped.
  fake_->inject(0, frame(host_mac(1), 43));
  settle(2);
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    relay_->stop();
  });
  auto q = c->read(buf, 5s);
  ASSERT_TRUE(q) << q.error();
  EXPECT_EQ(seq_of(buf), 43U);
  auto s = c->read(buf, 5s);
  stopper.join();
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(Errc::relay_stopped));
  EXPECT_TRUE(c->stopped());
}

TEST_F(QueueTest, TwoPollThreadsDeliverEveryFrameToOneConn) {
  open(2);
  auto c = conn(1, 4096);
  constexpr std::uint32_t kPerQueue = 1500;
  std::thread q1([&] {
    for (std::uint32_t s = 0; s < kPerQueue; ++s) {
      fake_->inject(1, frame(host_mac(1), 100000 + s));
    }
  });
  for (std::uint32_t s = 0; s < kPerQueue; ++s) {
    fake_->inject(0, frame(host_mac(1), s));
  }
  q1.join();
  std::array<std::byte, 256> buf{};
  std::set<std::uint32_t> seen;
  std::uint32_t last0 = 0;
  std::uint32_t last1 = 0;
  while (seen.size() < std::size_t{2} * kPerQueue) {
    auto p = c->read(buf, 5s);
    ASSERT_TRUE(p) << p.error() << " after " << seen.size();
    const std::uint32_t s = seq_of(buf);
    // Each queue's frames stay in order.
    if (s >= 100000) {
      EXPECT_TRUE(s == 100000 || s > last1);
      last1 = s;
    } else {
      EXPECT_TRUE(s == 0 || s > last0);
      last0 = s;
    }
    seen.insert(s);
  }
  EXPECT_EQ(c->overflows(), 0U);
}

TEST_F(QueueTest, SendersOnTwoThreadsUseTwoQueuesEachInOrder) {
  open(2);
  auto c = conn(1);
  constexpr std::uint32_t kEach = 40;
  auto send_from = [&](std::uint32_t base) {
    for (std::uint32_t s = 0; s < kEach; ++s) {
      std::array<std::byte, 4> payload{};
      store_be32(payload, 0, base + s);
      ASSERT_TRUE(c->send(payload, 0x0800, kPeer));
    }
  };
  // One after the other: each thread picks its queue on its first send, and two threads in a row
  // get different ones (the relay used to send everything on queue 0).
  std::thread(send_from, 0).join();
  std::thread(send_from, 1000).join();
  const auto q0 = fake_->take_sent(0);
  const auto q1 = fake_->take_sent(1);
  ASSERT_EQ(q0.size(), kEach);
  ASSERT_EQ(q1.size(), kEach);
  const std::uint32_t base0 = load_be32(q0[0], 14);
  const std::uint32_t base1 = load_be32(q1[0], 14);
  EXPECT_EQ(base0 + base1, 1000U);  // one queue per thread
  for (std::uint32_t s = 0; s < kEach; ++s) {
    EXPECT_EQ(load_be32(q0[s], 14), base0 + s);
    EXPECT_EQ(load_be32(q1[s], 14), base1 + s);
  }
}

TEST_F(QueueTest, ReadyListHandsOutConnsWithFramesOnce) {
  open();
  ReadyList& ready = ready_;
  for (std::size_t i = 0; i < 8; ++i) {
    conns_.push_back(conn(i, 4, &ready));
  }
  EXPECT_EQ(ready.attached(), 8U);
  EXPECT_TRUE(ready.wait(0ms).empty());
  // Two frames to host 3, one to host 5: each conn is listed once.
  fake_->inject(0, frame(host_mac(3), 1));
  fake_->inject(0, frame(host_mac(5), 2));
  fake_->inject(0, frame(host_mac(3), 3));
  settle(3);
  auto got = ready.wait(1s);
  std::vector<EtherConn*> listed(got.begin(), got.end());
  std::sort(listed.begin(), listed.end());
  std::vector<EtherConn*> want{conns_[3].get(), conns_[5].get()};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(listed, want);
  std::array<std::byte, 256> buf{};
  std::size_t drained = 0;
  for (EtherConn* c : got) {
    while (c->try_read(buf)) {
      ++drained;
    }
  }
  EXPECT_EQ(drained, 3U);
  EXPECT_TRUE(ready.wait(20ms).empty());
  // Listed again after the drain, when a new frame comes; a blocked wait() wakes for it.
  std::thread feeder([&] {
    std::this_thread::sleep_for(30ms);
    fake_->inject(0, frame(host_mac(3), 4));
  });
  auto again = ready.wait(5s);
  feeder.join();
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0], conns_[3].get());
  ASSERT_TRUE(again[0]->try_read(buf));
  EXPECT_EQ(seq_of(buf), 4U);
  // A conn destroyed while listed is forgotten.
  fake_->inject(0, frame(host_mac(6), 5));
  settle(5);
  conns_[6].reset();
  EXPECT_TRUE(ready.wait(20ms).empty());
  EXPECT_EQ(ready.attached(), 7U);
  // wake() ends a wait early.
  std::thread waker([&] {
    std::this_thread::sleep_for(30ms);
    ready.wake();
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(ready.wait(10s).empty());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  waker.join();
}

TEST_F(QueueTest, ReadyListConsumerDrainsManyHostsWithoutLosingAny) {
  open();
  ReadyList& ready = ready_;
  constexpr std::size_t kHosts = 512;
  constexpr std::uint32_t kFrames = 20000;
  for (std::size_t i = 0; i < kHosts; ++i) {
    conns_.push_back(conn(i, 64, &ready));
  }
  std::thread producer([&] {
    for (std::uint32_t s = 0; s < kFrames; ++s) {
      while (!fake_->inject(0, frame(host_mac(s % kHosts), s))) {
        std::this_thread::sleep_for(100us);  // the fake's arena is full: let the relay catch up
      }
    }
  });
  std::array<std::byte, 256> buf{};
  std::vector<std::uint32_t> next(kHosts, 0);
  std::uint32_t got = 0;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (got < kFrames && std::chrono::steady_clock::now() < deadline) {
    for (EtherConn* c : ready.wait(100ms)) {
      while (auto p = c->try_read(buf)) {
        const std::uint32_t s = seq_of(buf);
        const std::size_t h = s % kHosts;
        EXPECT_EQ(c, conns_[h].get());
        EXPECT_EQ(s, next[h] * kHosts + h);  // in order per host, none lost
        ++next[h];
        ++got;
      }
    }
  }
  producer.join();
  EXPECT_EQ(got, kFrames);
  EXPECT_EQ(relay_->stats().rx_buffer_full, 0U);
}

}  // namespace
}  // namespace etherpath::conn
