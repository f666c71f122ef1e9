// RateLimiter and parse_rate, driven by FakeClock.
#include "tools/etherpath-gen/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace etherpath::gen {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(ParseRate, Units) {
  EXPECT_EQ(parse_rate("10000")->unit, Rate::Unit::pps);
  EXPECT_DOUBLE_EQ(parse_rate("10000")->value, 10000);
  EXPECT_DOUBLE_EQ(parse_rate("2500pps")->value, 2500);
  EXPECT_EQ(parse_rate("100mbps")->unit, Rate::Unit::bps);
  EXPECT_DOUBLE_EQ(parse_rate("100Mbps")->value, 100e6);
  EXPECT_DOUBLE_EQ(parse_rate("1.5gbps")->value, 1.5e9);
  EXPECT_DOUBLE_EQ(parse_rate("64kbps")->value, 64e3);
  EXPECT_FALSE(parse_rate(""));
  EXPECT_FALSE(parse_rate("0"));
  EXPECT_FALSE(parse_rate("-5"));
  EXPECT_FALSE(parse_rate("fast"));
  EXPECT_FALSE(parse_rate("10mbit"));
  EXPECT_DOUBLE_EQ(parse_rate("1000")->divided(4).value, 250);
}

TEST(RateLimiter, UnlimitedAlwaysGrants) {
  FakeClock clock;
  RateLimiter l(clock, Rate{}, 1);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(l.try_take(1));
  }
  EXPECT_EQ(l.time_until(1).count(), 0);
}

TEST(RateLimiter, HoldsThePacketRateWithSmallSteps) {
  FakeClock clock;
  RateLimiter l(clock, Rate{Rate::Unit::pps, 10000}, 20);
  // Drain the initial burst, then count over one simulated second in 10 us steps.
  int initial = 0;
  while (l.try_take(1)) {
    ++initial;
  }
  EXPECT_EQ(initial, 20);
  int sent = 0;
  int max_per_step = 0;
  for (int step = 0; step < 100000; ++step) {
    clock.advance(microseconds(10));
    int now = 0;
    while (l.try_take(1)) {
      ++now;
    }
    sent += now;
    max_per_step = std::max(max_per_step, now);
  }
  EXPECT_NEAR(sent, 10000, 1);
  EXPECT_LE(max_per_step, 1);  // evenly spread: never two packets in one 10 us step
}

TEST(RateLimiter, BurstIsCappedAfterIdle) {
  FakeClock clock;
  RateLimiter l(clock, Rate{Rate::Unit::pps, 1000}, 5);
  clock.advance(std::chrono::seconds(10));
  int n = 0;
  while (l.try_take(1)) {
    ++n;
  }
  EXPECT_EQ(n, 5);
  EXPECT_EQ(l.time_until(1), std::chrono::milliseconds(1));
  clock.advance(microseconds(999));
  EXPECT_FALSE(l.try_take(1));
  clock.advance(microseconds(1));
  EXPECT_TRUE(l.try_take(1));
}

TEST(RateLimiter, BitRateCountsFrameBits) {
  FakeClock clock;
  const Rate r{Rate::Unit::bps, 8e6};  // 1 MB/s
  RateLimiter l(clock, r, 8 * 1000);
  EXPECT_DOUBLE_EQ(l.cost(1000), 8000);
  EXPECT_TRUE(l.try_take(l.cost(1000)));
  EXPECT_FALSE(l.try_take(l.cost(1000)));
  clock.advance(milliseconds(1));  // 8000 bits
  EXPECT_TRUE(l.try_take(l.cost(1000)));
  // A frame dearer than the bucket still goes when the bucket is full, and leaves a debt.
  clock.advance(milliseconds(1));
  EXPECT_TRUE(l.try_take(l.cost(1500)));
  clock.advance(microseconds(400));  // 3200 bits of a 4000-bit debt
  EXPECT_FALSE(l.try_take(1));
  clock.advance(microseconds(200));
  EXPECT_TRUE(l.try_take(1));
}

TEST(RateLimiter, GiveBackRestoresCredit) {
  FakeClock clock;
  RateLimiter l(clock, Rate{Rate::Unit::pps, 100}, 1);
  EXPECT_TRUE(l.try_take(1));
  EXPECT_FALSE(l.try_take(1));
  l.give_back(1);
  EXPECT_TRUE(l.try_take(1));
}

TEST(RateLimiter, AGrownBucketKeepsTheCreditOfALongPause) {
  FakeClock clock;
  RateLimiter l(clock, Rate{Rate::Unit::pps, 1000}, 10);  // 10 ms of credit
  while (l.try_take(1)) {
  }
  clock.advance(milliseconds(40));  // a run that took longer than the bucket lasts
  int small = 0;
  while (l.try_take(1)) {
    ++small;
  }
  EXPECT_EQ(small, 10);  // the rest of the credit was lost
  l.set_burst(80);
  clock.advance(milliseconds(40));
  int grown = 0;
  while (l.try_take(1)) {
    ++grown;
  }
  EXPECT_EQ(grown, 40);
  l.set_burst(5);  // shrinking drops what no longer fits
  clock.advance(milliseconds(40));
  int shrunk = 0;
  while (l.try_take(1)) {
    ++shrunk;
  }
  EXPECT_EQ(shrunk, 5);
}

TEST(RateLimiter, GrowsByItselfUpToItsMaximumAfterALateTake) {
  FakeClock clock;
  RateLimiter l(clock, Rate{Rate::Unit::pps, 1000}, 10, 100);
  while (l.try_take(1)) {
  }
  clock.advance(milliseconds(5));  // in time: no growth
  EXPECT_DOUBLE_EQ(l.burst(), 10);
  while (l.try_take(1)) {
  }
  clock.advance(milliseconds(30));  // late: the bucket becomes twice the gap
  int caught_up = 0;
  while (l.try_take(1)) {
    ++caught_up;
  }
  EXPECT_EQ(caught_up, 30);
  EXPECT_DOUBLE_EQ(l.burst(), 60);
  clock.advance(milliseconds(500));  // far beyond: capped
  EXPECT_EQ(l.time_until(100).count(), 0);
  EXPECT_DOUBLE_EQ(l.burst(), 100);
}

}  // namespace
}  // namespace etherpath::gen
