// FakeEngine: the Engine contract (borrow, release, transmit, flush, wait) without a kernel.
#include "datapath/fake_engine.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace etherpath::datapath {
namespace {

std::vector<std::byte> bytes_of(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int b : v) {
    out.push_back(static_cast<std::byte>(b));
  }
  return out;
}

TEST(FakeEngine, ReceivedFramesAreBorrowedUntilReleased) {
  FakeEngine e({.queues = 1, .frames = 4});
  ASSERT_TRUE(e.inject(0, bytes_of({1, 2, 3})));
  ASSERT_TRUE(e.inject(0, bytes_of({4})));
  EXPECT_EQ(e.free_frames(), 2U);
  FrameBatch b;
  EXPECT_EQ(e.receive(0, b), 2U);
  ASSERT_EQ(b.size(), 2U);
  EXPECT_EQ(b[0].size(), 3U);
  EXPECT_EQ(static_cast<int>(b[0].data()[2]), 3);
  EXPECT_EQ(e.free_frames(), 2U);
  e.release(0, b);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(e.free_frames(), 4U);
}

TEST(FakeEngine, ExhaustedPoolCountsLikeAnEmptyFillRing) {
  FakeEngine e({.queues = 1, .frames = 1});
  EXPECT_TRUE(e.inject(0, bytes_of({1})));
  EXPECT_FALSE(e.inject(0, bytes_of({2})));
  EXPECT_EQ(e.stats(0).kernel_rx_fill_ring_empty_descs, 1U);
}

TEST(FakeEngine, ForwardInPlaceThenFlushRecordsAndFrees) {
  FakeEngine e({.queues = 2, .frames = 8});
  ASSERT_TRUE(e.inject(0, bytes_of({9, 9})));
  FrameBatch b;
  ASSERT_EQ(e.receive(0, b), 1U);
  b[0].data()[0] = std::byte{7};  // rewrite in place
  EXPECT_EQ(e.transmit(1, b), 1U);
  EXPECT_TRUE(b.empty());
  e.flush(1);
  auto sent = e.take_sent(1);
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0], bytes_of({7, 9}));
  EXPECT_EQ(e.free_frames(), 8U);
  EXPECT_EQ(e.stats(1).tx_packets, 1U);
}

TEST(FakeEngine, TransmitRefusesForeignFrames) {
  FakeEngine a;
  FakeEngine other;
  FrameBatch b;
  ASSERT_EQ(other.alloc(0, b, 1), 1U);
  EXPECT_FALSE(a.shares_pool(b[0].pool()));
  EXPECT_EQ(a.transmit(0, b), 0U);
  EXPECT_EQ(b.size(), 1U);
  other.release(0, b);
}

TEST(FakeEngine, WaitWakesOnInjectAndReportsFailure) {
  FakeEngine e;
  auto r = e.wait(0, std::chrono::milliseconds(10));
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  std::thread t([&] { e.inject(0, bytes_of({1})); });
  r = e.wait(0, std::chrono::seconds(5));
  t.join();
  ASSERT_TRUE(r);
  EXPECT_TRUE(*r);
  e.fail(Error(Errc::closed, "veth0: the interface went away"));
  r = e.wait(0, std::chrono::milliseconds(10));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::closed));
}

}  // namespace
}  // namespace etherpath::datapath
