// Frame and FrameBatch: bounds of resize/push_front/pull_front and batch bookkeeping.
#include "datapath/frame.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace etherpath::datapath {
namespace {

TEST(Frame, ViewsBytesAtOffset) {
  std::vector<std::byte> chunk(2048);
  Frame f(chunk.data(), 4096, 2048, 256, 60, nullptr, 3);
  EXPECT_EQ(f.data().data(), chunk.data() + 256);
  EXPECT_EQ(f.size(), 60U);
  EXPECT_EQ(f.headroom(), 256U);
  EXPECT_EQ(f.tailroom(), 2048U - 256U - 60U);
  EXPECT_EQ(f.packet_addr(), 4096U + 256U);
  EXPECT_EQ(f.chunk_addr(), 4096U);
  EXPECT_EQ(f.queue(), 3U);
}

TEST(Frame, PushAndPullFrontStayInsideTheChunk) {
  std::vector<std::byte> chunk(2048);
  Frame f(chunk.data(), 0, 2048, 8, 10, nullptr);
  EXPECT_TRUE(f.push_front(4));
  EXPECT_EQ(f.headroom(), 4U);
  EXPECT_EQ(f.size(), 14U);
  EXPECT_FALSE(f.push_front(5));  // only 4 bytes left in front
  EXPECT_EQ(f.size(), 14U);
  EXPECT_TRUE(f.pull_front(14));
  EXPECT_EQ(f.size(), 0U);
  EXPECT_FALSE(f.pull_front(1));
}

TEST(Frame, ResizeRefusesToOverrunTheChunk) {
  std::vector<std::byte> chunk(2048);
  Frame f(chunk.data(), 0, 2048, 256, 0, nullptr);
  EXPECT_TRUE(f.resize(2048 - 256));
  EXPECT_FALSE(f.resize(2048 - 255));
  EXPECT_EQ(f.size(), 2048U - 256U);
  EXPECT_FALSE(f.reset(2000, 100));
  EXPECT_TRUE(f.reset(0, 2048));
}

TEST(FrameBatch, PushUntilFullThenDropFront) {
  FrameBatch b;
  std::vector<std::byte> chunk(64);
  for (std::size_t i = 0; i < FrameBatch::kCapacity; ++i) {
    EXPECT_TRUE(b.push(Frame(chunk.data(), i, 64, 0, static_cast<std::uint32_t>(i % 64), nullptr)));
  }
  EXPECT_TRUE(b.full());
  EXPECT_FALSE(b.push(Frame{}));
  b.drop_front(10);
  EXPECT_EQ(b.size(), FrameBatch::kCapacity - 10);
  EXPECT_EQ(b[0].chunk_addr(), 10U);
  b.swap_remove(0);
  EXPECT_EQ(b[0].chunk_addr(), FrameBatch::kCapacity - 1);
  b.drop_front(1000);
  EXPECT_TRUE(b.empty());
}

}  // namespace
}  // namespace etherpath::datapath
