// NeighborCache: learning, expiry, retries, failure hold and the bound, on a fake clock.
#include "conn/neighbor_cache.hpp"

#include <gtest/gtest.h>

namespace etherpath::conn {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const NeighborKey kGateway =
    NeighborKey::make(*VlanStack::parse("100"), *IpAddress::parse("10.0.0.1"));
const MacAddress kMac = *MacAddress::parse("02:00:00:00:00:01");

TEST(NeighborCache, LearnThenLookupUntilExpiry) {
  FakeClock clock;
  NeighborCache cache({.reachable_time = seconds(30)});
  EXPECT_FALSE(cache.lookup(kGateway, clock.now()));
  cache.learn(kGateway, kMac, clock.now());
  EXPECT_EQ(cache.lookup(kGateway, clock.now()), kMac);
  EXPECT_EQ(cache.step(kGateway, clock.now()), ResolveStep::have_mac);
  clock.advance(seconds(29));
  EXPECT_EQ(cache.lookup(kGateway, clock.now()), kMac);
  clock.advance(seconds(1));
  EXPECT_FALSE(cache.lookup(kGateway, clock.now()));
  // An expired entry is resolved again.
  EXPECT_EQ(cache.step(kGateway, clock.now()), ResolveStep::send_request);
}

TEST(NeighborCache, KeysAreScopedByVlanStack) {
  FakeClock clock;
  NeighborCache cache;
  cache.learn(kGateway, kMac, clock.now());
  const auto other_vlan = NeighborKey::make(*VlanStack::parse("101"), kGateway.ip);
  const auto untagged = NeighborKey::make(VlanStack{}, kGateway.ip);
  EXPECT_FALSE(cache.lookup(other_vlan, clock.now()));
  EXPECT_FALSE(cache.lookup(untagged, clock.now()));
}

TEST(NeighborCache, RetriesThenFailsThenHoldsThenTriesAgain) {
  FakeClock clock;
  NeighborCache cache(
      {.retry_interval = milliseconds(500), .max_requests = 3, .failed_hold = seconds(2)});
  EXPECT_EQ(cache.step(kGateway, clock.now()), ResolveStep::send_request);
  EXPECT_EQ(cache.next_attempt(kGateway), clock.now() + milliseconds(500));
  clock.advance(milliseconds(499));
  EXPECT_EQ(cache.step(kGateway, clock.now()), ResolveStep::wait);
  clock.advance(milliseconds(1));
  EXPECT_EQ(cache.step(kGateway, clock.now()), ResolveStep::send_request);
  clock.advance(milliseconds(500));
  EXPECT_EQ(cache.step(kGateway, clock.now()), ResolveStep::send_request);
  clock.advance(milliseconds(500));
  EXPECT_EQ(cache.step(kGateway, clock.now()), ResolveStep::failed);
  EXPECT_FALSE(cache.next_attempt(kGateway));
  clock.advance(seconds(1));
  EXPECT_EQ(cache.step(kGateway, clock.now()), ResolveStep::failed);
  clock.advance(seconds(1));
  EXPECT_EQ(cache.step(kGateway, clock.now()), ResolveStep::send_request);
}

TEST(NeighborCache, AnswerDuringResolutionCompletesIt) {
  FakeClock clock;
  NeighborCache cache;
  EXPECT_EQ(cache.step(kGateway, clock.now()), ResolveStep::send_request);
  clock.advance(milliseconds(3));
  cache.learn(kGateway, kMac, clock.now());
  EXPECT_EQ(cache.step(kGateway, clock.now()), ResolveStep::have_mac);
  EXPECT_EQ(cache.lookup(kGateway, clock.now()), kMac);
}

TEST(NeighborCache, BoundedByEvictingTheOldest) {
  FakeClock clock;
  NeighborCache cache({.capacity = 3});
  for (std::uint32_t i = 1; i <= 3; ++i) {
    cache.learn({.ip = IpAddress::v4(i)}, MacAddress::from_u64(i), clock.now());
    clock.advance(seconds(1));
  }
  cache.learn({.ip = IpAddress::v4(4)}, MacAddress::from_u64(4), clock.now());
  EXPECT_EQ(cache.size(), 3U);
  EXPECT_FALSE(cache.lookup({.ip = IpAddress::v4(1)}, clock.now()));
  EXPECT_TRUE(cache.lookup({.ip = IpAddress::v4(2)}, clock.now()));
  EXPECT_TRUE(cache.lookup({.ip = IpAddress::v4(4)}, clock.now()));
}

}  // namespace
}  // namespace etherpath::conn
