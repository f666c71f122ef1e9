// Result<T>, Error and the EP_TRY helpers.
#include "base/result.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace etherpath {
namespace {

Result<int> half(int v) {
  if (v % 2 != 0) {
    return fail(Errc::invalid_argument, "odd value");
  }
  return v / 2;
}

Result<int> quarter(int v) {
  EP_TRY(const int h, half(v));
  return half(h);
}

Status check_positive(int v) {
  if (v <= 0) {
    return fail(Errc::invalid_argument, "--count must be positive");
  }
  return ok();
}

Status check_twice(int v) {
  EP_TRY_STATUS(check_positive(v));
  return check_positive(v - 1);
}

TEST(Result, HoldsValueOrError) {
  auto r = half(4);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 2);
  auto e = half(3);
  ASSERT_FALSE(e);
  EXPECT_TRUE(e.error().is(Errc::invalid_argument));
  EXPECT_EQ(e.error().message(), "odd value");
  EXPECT_EQ(half(3).value_or(-1), -1);
}

TEST(Result, TryPropagates) {
  EXPECT_EQ(*quarter(8), 2);
  EXPECT_FALSE(quarter(6));
  EXPECT_TRUE(check_twice(2));
  EXPECT_FALSE(check_twice(1));
  EXPECT_EQ(check_twice(0).error().message(), "--count must be positive");
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r);
  auto p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(Error, ErrnoMessageHasContext) {
  const auto e = Error::from_errno("eth1: bind queue 0", ENODEV);
  EXPECT_TRUE(e.is_errno(ENODEV));
  EXPECT_EQ(e.message(), "eth1: bind queue 0: No such device");
  EXPECT_EQ(e.wrap("relay").message(), "relay: eth1: bind queue 0: No such device");
  EXPECT_EQ(Error(Errc::timeout, "read").message(), "read: timeout");
  EXPECT_EQ(Error(Errc::relay_stopped, "").message(), "relay stopped");
}

}  // namespace
}  // namespace etherpath
