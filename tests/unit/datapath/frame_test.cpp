// Frame and FrameBatch: bounds of resize/push_front/pull_front and batch bookkeeping.
#include "datapath/frame.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace etherpath::datapath {
namespace {

TEST(Frame, ViewsBytesAtOffset) {
  std::vector<std::byte> area(std::size_t{3} * 2048);
  const FramePool pool{area.data(), 2048};
  Frame f(pool, 4096, 256, 60, 3);
  EXPECT_EQ(f.data().data(), area.data() + 4096 + 256);
  EXPECT_EQ(f.chunk(), area.data() + 4096);
  EXPECT_EQ(f.pool(), &pool);
  EXPECT_EQ(f.chunk_size(), 2048U);
  EXPECT_EQ(f.size(), 60U);
  EXPECT_EQ(f.headroom(), 256U);
  EXPECT_EQ(f.tailroom(), 2048U - 256U - 60U);
  EXPECT_EQ(f.packet_addr(), 4096U + 256U);
  EXPECT_EQ(f.chunk_addr(), 4096U);
  EXPECT_EQ(f.queue(), 3U);
}

TEST(Frame, PushAndPullFrontStayInsideTheChunk) {
  std::vector<std::byte> area(std::size_t{2} * 2048);
  const FramePool pool{area.data(), 2048};
  Frame f(pool, 2048, 8, 10);
  EXPECT_TRUE(f.push_front(4));
  EXPECT_EQ(f.headroom(), 4U);
  EXPECT_EQ(f.size(), 14U);
  EXPECT_EQ(f.data().data(), area.data() + 2048 + 4);
  EXPECT_EQ(f.packet_addr(), 2048U + 4U);
  EXPECT_FALSE(f.push_front(5));  // only 4 bytes left in front
  EXPECT_EQ(f.size(), 14U);
  EXPECT_TRUE(f.pull_front(14));
  EXPECT_EQ(f.size(), 0U);
  EXPECT_EQ(f.headroom(), 18U);
  EXPECT_EQ(f.chunk_addr(), 2048U);
  EXPECT_EQ(f.chunk(), area.data() + 2048);
  EXPECT_FALSE(f.pull_front(1));
}

TEST(Frame, AtMatchesTheConstructor) {
  std::vector<std::byte> area(std::size_t{4} * 2048);
  const FramePool pool{area.data(), 2048};
  const Frame a(pool, std::uint64_t{3} * 2048, 256, 60, 2);
  const Frame b = Frame::at(&pool, area.data() + std::ptrdiff_t{3} * 2048 + 256, 256, 60, 2);
  EXPECT_EQ(a.data().data(), b.data().data());
  EXPECT_EQ(a.chunk_addr(), b.chunk_addr());
  EXPECT_EQ(a.packet_addr(), b.packet_addr());
  EXPECT_EQ(a.headroom(), b.headroom());
  EXPECT_EQ(a.tailroom(), b.tailroom());
  EXPECT_EQ(a.queue(), b.queue());
  EXPECT_EQ(a.pool(), b.pool());
}

TEST(Frame, LargestChunkKeepsItsOffsets) {
  std::vector<std::byte> area(FramePool::kMaxChunkSize);
  const FramePool pool{area.data(), FramePool::kMaxChunkSize};
  Frame f(pool, 0, FramePool::kMaxChunkSize - 1, 1);
  EXPECT_EQ(f.headroom(), FramePool::kMaxChunkSize - 1);
  EXPECT_EQ(f.tailroom(), 0U);
  EXPECT_TRUE(f.reset(FramePool::kMaxChunkSize, 0));  // an empty packet at the very end
  EXPECT_EQ(f.headroom(), FramePool::kMaxChunkSize);
  EXPECT_EQ(f.capacity(), 0U);
}

TEST(Frame, ResizeRefusesToOverrunTheChunk) {
  std::vector<std::byte> area(2048);
  const FramePool pool{area.data(), 2048};
  Frame f(pool, 0, 256, 0);
  EXPECT_TRUE(f.resize(2048 - 256));
  EXPECT_FALSE(f.resize(2048 - 255));
  EXPECT_EQ(f.size(), 2048U - 256U);
  EXPECT_FALSE(f.reset(2000, 100));
  EXPECT_TRUE(f.reset(0, 2048));
  EXPECT_EQ(f.data().data(), area.data());
  EXPECT_EQ(f.headroom(), 0U);
}

TEST(FrameBatch, PushUntilFullThenDropFront) {
  FrameBatch b;
  std::vector<std::byte> area(FrameBatch::kCapacity * 64);
  const FramePool pool{area.data(), 64};
  for (std::size_t i = 0; i < FrameBatch::kCapacity; ++i) {
    EXPECT_TRUE(b.push(Frame(pool, i * 64, 0, static_cast<std::uint32_t>(i % 64))));
  }
  EXPECT_TRUE(b.full());
  EXPECT_FALSE(b.push(Frame{}));
  b.drop_front(10);
  EXPECT_EQ(b.size(), FrameBatch::kCapacity - 10);
  EXPECT_EQ(b[0].chunk_addr(), 10U * 64);
  b.swap_remove(0);
  EXPECT_EQ(b[0].chunk_addr(), (FrameBatch::kCapacity - 1) * 64);
  b.drop_front(1000);
  EXPECT_TRUE(b.empty());
}

}  // namespace
}  // namespace etherpath::datapath
