// RxTracker: counts, reordering per stream, latency quantiles.
#include "tools/etherpath-gen/rx_tracker.hpp"

#include <gtest/gtest.h>

namespace etherpath::gen {
namespace {

TEST(RxTracker, InOrderStreamsAreNotReordered) {
  RxTracker t;
  for (std::uint64_t i = 0; i < 100; ++i) {
    t.record({make_seq(0, i), 1000}, 1000 + 5000);
    t.record({make_seq(1, i), 1000}, 1000 + 5000);
  }
  EXPECT_EQ(t.received(), 200U);
  EXPECT_EQ(t.reordered(), 0U);
}

TEST(RxTracker, LateArrivalsCountAsReordered) {
  RxTracker t;
  for (std::uint64_t i : {0U, 1U, 3U, 2U, 4U, 6U, 5U}) {
    t.record({make_seq(0, i), 0}, 0);
  }
  EXPECT_EQ(t.received(), 7U);
  EXPECT_EQ(t.reordered(), 2U);
}

TEST(RxTracker, LatencyQuantiles) {
  RxTracker t;
  EXPECT_EQ(t.latency().max_ns, 0U);
  for (std::uint64_t i = 0; i < 1000; ++i) {
    // 1..1000 us
    t.record({make_seq(0, i), 1'000'000}, 1'000'000 + (i + 1) * 1000);
  }
  const auto l = t.latency();
  EXPECT_EQ(l.max_ns, 1'000'000U);
  EXPECT_EQ(l.min_ns, 1000U);
  EXPECT_NEAR(static_cast<double>(l.p50_ns), 500'000, RxTracker::kBucketNs);
  EXPECT_NEAR(static_cast<double>(l.p99_ns), 990'000, RxTracker::kBucketNs);
  RxTracker other;
  other.record({make_seq(2, 0), 0}, 20'000'000);  // beyond the histogram
  t.merge(other);
  EXPECT_EQ(t.received(), 1001U);
  EXPECT_EQ(t.latency().max_ns, 20'000'000U);
}

}  // namespace
}  // namespace etherpath::gen
