// The AF_XDP per-frame loops (datapath/xdp/ring_runs.hpp) on plain arrays: every run length up to
// a batch (the steps of four and the tail), a frame of another pool at every position.
#include "datapath/xdp/ring_runs.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace etherpath::datapath::xdp {
namespace {

constexpr std::uint32_t kChunk = 2048;
constexpr std::uint32_t kHeadroom = 256;  // where copy mode puts a packet in its chunk

TEST(RingRuns, FramesFromDescsCoversEveryRunLength) {
  std::vector<std::byte> area(std::size_t{kChunk} * FrameBatch::kCapacity);
  const FramePool pool{area.data(), kChunk};
  for (std::uint32_t count = 0; count <= FrameBatch::kCapacity; ++count) {
    std::vector<xdp_desc> descs(count);
    std::uint64_t want_bytes = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
      // Chunks in reverse order, each packet at the copy-mode headroom plus i.
      descs[i].addr = std::uint64_t{count - 1 - i} * kChunk + kHeadroom + i;
      descs[i].len = 60 + i;
      want_bytes += 60 + i;
    }
    std::array<Frame, FrameBatch::kCapacity + 1> out{};  // one more: nothing is written past count
    const std::uint64_t bytes =
        frames_from_descs(descs.data(), count, out.data(), &pool, area.data(), kChunk - 1, 3);
    EXPECT_EQ(bytes, want_bytes) << count;
    for (std::uint32_t i = 0; i < count; ++i) {
      const Frame& f = out[i];
      EXPECT_EQ(f.frame_pool(), &pool);
      EXPECT_EQ(f.packet_addr(), descs[i].addr) << count << " " << i;
      EXPECT_EQ(f.chunk_addr(), std::uint64_t{count - 1 - i} * kChunk);
      EXPECT_EQ(f.headroom(), kHeadroom + i);
      EXPECT_EQ(f.size(), 60 + i);
      EXPECT_EQ(f.queue(), 3U);
    }
    EXPECT_FALSE(out[count].valid()) << count;
  }
}

TEST(RingRuns, FramesToFillStopsAtTheFirstFrameOfAnotherPool) {
  std::vector<std::byte> area(std::size_t{kChunk} * FrameBatch::kCapacity);
  std::vector<std::byte> other_area(kChunk);
  const FramePool pool{area.data(), kChunk};
  const FramePool other{other_area.data(), kChunk};
  const std::uint64_t chunk_mask = ~std::uint64_t{kChunk - 1};
  for (std::uint32_t count = 0; count <= FrameBatch::kCapacity; ++count) {
    std::vector<Frame> frames;
    for (std::uint32_t i = 0; i < count; ++i) {
      frames.emplace_back(pool, std::uint64_t{i} * 7U % FrameBatch::kCapacity * kChunk,
                          kHeadroom + i, 60);
    }
    // All of ours: every chunk address, in order.
    std::array<std::uint64_t, FrameBatch::kCapacity + 1> fill{};
    fill.fill(~std::uint64_t{0});
    EXPECT_EQ(frames_to_fill(frames.data(), count, fill.data(), &pool, area.data(), chunk_mask),
              count);
    for (std::uint32_t i = 0; i < count; ++i) {
      EXPECT_EQ(fill[i], frames[i].chunk_addr()) << count << " " << i;
    }
    EXPECT_EQ(fill[count], ~std::uint64_t{0}) << count;
    // A frame of another pool at each position: the frames before it are written, it is not.
    for (std::uint32_t at = 0; at < count; ++at) {
      std::vector<Frame> mixed = frames;
      mixed[at] = Frame(other, 0, kHeadroom, 60);
      fill.fill(~std::uint64_t{0});
      EXPECT_EQ(frames_to_fill(mixed.data(), count, fill.data(), &pool, area.data(), chunk_mask),
                at)
          << count << " " << at;
      for (std::uint32_t i = 0; i < at; ++i) {
        EXPECT_EQ(fill[i], frames[i].chunk_addr()) << count << " " << at << " " << i;
      }
    }
  }
}

}  // namespace
}  // namespace etherpath::datapath::xdp
