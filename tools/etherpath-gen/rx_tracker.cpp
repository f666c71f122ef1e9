// RxTracker: a fixed histogram so that recording is a few adds.
#include "tools/etherpath-gen/rx_tracker.hpp"

#include <algorithm>

namespace etherpath::gen {

RxTracker::RxTracker() : histogram_(kBuckets, 0) {}

void RxTracker::record(const Stamp& stamp, std::uint64_t now_ns) noexcept {
  ++received_;
  const auto stream = static_cast<std::size_t>(stamp.seq >> kStreamShift) % kMaxStreams;
  const std::uint64_t n = stamp.seq & ((std::uint64_t{1} << kStreamShift) - 1);
  if (n + 1 <= next_[stream]) {
    ++reordered_;
  } else {
    next_[stream] = n + 1;
  }
  const std::uint64_t lat = now_ns > stamp.tx_ns ? now_ns - stamp.tx_ns : 0;
  max_ns_ = std::max(max_ns_, lat);
  min_ns_ = std::min(min_ns_, lat);
  ++histogram_[std::min<std::uint64_t>(lat / kBucketNs, kBuckets - 1)];
}

void RxTracker::merge(const RxTracker& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) {
    histogram_[i] += other.histogram_[i];
  }
  received_ += other.received_;
  reordered_ += other.reordered_;
  max_ns_ = std::max(max_ns_, other.max_ns_);
  min_ns_ = std::min(min_ns_, other.min_ns_);
}

LatencySummary RxTracker::latency() const {
  LatencySummary s;
  if (received_ == 0) {
    return s;
  }
  s.max_ns = max_ns_;
  s.min_ns = min_ns_;
  const auto quantile = [&](double q) {
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(received_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += histogram_[i];
      if (seen >= rank) {
        // The bucket's upper edge, but never above what was measured.
        return std::min<std::uint64_t>((i + 1) * kBucketNs, max_ns_);
      }
    }
    return max_ns_;
  };
  s.p50_ns = quantile(0.50);
  s.p99_ns = quantile(0.99);
  return s;
}

}  // namespace etherpath::gen
