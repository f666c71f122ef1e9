// SessionTable and EchoTracker: capacity, lookups by client/port/echo id, slot reuse.
#include "relay/session_table.hpp"

#include <gtest/gtest.h>

namespace etherpath::relay {
namespace {

IpEndpoint ep(const char* text) {
  return IpEndpoint::parse(text).value();
}

TEST(SessionTable, AddFindRemove) {
  SessionTable t(2);
  const Clock::TimePoint now{};
  Session* a = t.add(ep("10.0.0.1:1"), now);
  ASSERT_NE(a, nullptr);
  t.bind_upstream(*a, UpstreamPort{3, 0}, false);
  Session* b = t.add(ep("10.0.0.1:2"), now);
  ASSERT_NE(b, nullptr);
  t.bind_upstream(*b, UpstreamPort{4, 0}, false);
  EXPECT_TRUE(t.full());
  EXPECT_EQ(t.add(ep("10.0.0.1:3"), now), nullptr);
  EXPECT_EQ(t.find_client(ep("10.0.0.1:2")), b);
  EXPECT_EQ(t.find_by_port(3), a);
  EXPECT_EQ(t.find_by_port(5), nullptr);
  t.remove(*a, false);
  EXPECT_EQ(t.find_client(ep("10.0.0.1:1")), nullptr);
  EXPECT_EQ(t.find_by_port(3), nullptr);
  EXPECT_EQ(t.size(), 1U);
  Session* c = t.add(ep("10.0.0.1:3"), now);
  ASSERT_NE(c, nullptr);
  t.bind_upstream(*c, UpstreamPort{3, 9}, true);
  EXPECT_EQ(t.find_by_echo_id(9), c);
  EXPECT_EQ(t.newest(), c);
}

TEST(SessionTable, SingleClient) {
  SessionTable t(1);
  Session* a = t.add(ep("[::1]:5"), Clock::TimePoint{});
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(t.find_client(ep("[::1]:5")), a);
  EXPECT_EQ(t.find_client(ep("[::1]:6")), nullptr);
  t.remove(*a, false);
  EXPECT_EQ(t.find_client(ep("[::1]:5")), nullptr);
  EXPECT_EQ(t.newest(), nullptr);
}

TEST(EchoTracker, AnswersExpiriesAndDisplacement) {
  EchoTracker e;
  const Clock::TimePoint t0{};
  EXPECT_EQ(e.sent(1, t0), 0U);
  EXPECT_EQ(e.sent(2, t0), 0U);
  EXPECT_TRUE(e.answered(1));
  EXPECT_FALSE(e.answered(1));
  EXPECT_FALSE(e.answered(3));
  EXPECT_EQ(e.expire(t0 + std::chrono::seconds(1), std::chrono::seconds(5)), 0U);
  EXPECT_EQ(e.expire(t0 + std::chrono::seconds(5), std::chrono::seconds(5)), 1U);
  EXPECT_EQ(e.pending(), 0U);
  EXPECT_EQ(e.sent(7, t0), 0U);
  EXPECT_EQ(e.sent(static_cast<std::uint16_t>(7 + EchoTracker::kSlots), t0), 1U);
  EXPECT_EQ(e.pending(), 1U);
}

}  // namespace
}  // namespace etherpath::relay
