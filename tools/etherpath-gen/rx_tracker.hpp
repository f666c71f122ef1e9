// RxTracker: what came back of the generated stream: count, reordering, latency histogram.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "tools/etherpath-gen/flow_template.hpp"

namespace etherpath::gen {

// Sequence numbers carry the sending thread in their top bits, so each thread's stream is
// checked for order on its own.
inline constexpr unsigned kStreamShift = 48;
inline constexpr std::size_t kMaxStreams = 64;
[[nodiscard]] constexpr std::uint64_t make_seq(unsigned stream, std::uint64_t n) {
  return (std::uint64_t{stream} << kStreamShift) | n;
}

struct LatencySummary {
  std::uint64_t p50_ns = 0;
  std::uint64_t p99_ns = 0;
  std::uint64_t max_ns = 0;
  std::uint64_t min_ns = 0;
};

class RxTracker {
 public:
  static constexpr std::uint64_t kBucketNs = 100;   // histogram resolution
  static constexpr std::size_t kBuckets = 100'000;  // up to 10 ms; beyond: the last bucket

  RxTracker();
  // One received stamp at local time now_ns. No allocation.
  void record(const Stamp& stamp, std::uint64_t now_ns) noexcept;
  void merge(const RxTracker& other);

  [[nodiscard]] std::uint64_t received() const { return received_; }
  // Packets that arrived after one with a higher sequence number of the same stream.
  [[nodiscard]] std::uint64_t reordered() const { return reordered_; }
  [[nodiscard]] LatencySummary latency() const;

 private:
  std::vector<std::uint32_t> histogram_;
  std::array<std::uint64_t, kMaxStreams> next_{};  // highest sequence seen + 1, per stream
  std::uint64_t received_ = 0;
  std::uint64_t reordered_ = 0;
  std::uint64_t max_ns_ = 0;
  std::uint64_t min_ns_ = UINT64_MAX;
};

}  // namespace etherpath::gen
