// MacAddress parsing and formatting.
#include "base/mac_address.hpp"

#include <gtest/gtest.h>

namespace etherpath {
namespace {

TEST(MacAddress, ParsesColonAndDash) {
  const auto a = MacAddress::parse("02:00:AA:bb:0c:ff");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "02:00:aa:bb:0c:ff");
  const auto b = MacAddress::parse("02-00-aa-bb-0c-ff");
  ASSERT_TRUE(b);
  EXPECT_EQ(*a, *b);
}

TEST(MacAddress, RejectsBadText) {
  for (const char* bad : {"", "02:00:00:00:00", "02:00:00:00:00:0g", "02:00-00:00:00:00",
                          "0200.0000.0000", "02:00:00:00:00:001", "2:0:0:0:0:1"}) {
    const auto r = MacAddress::parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message().find("invalid MAC address"), std::string::npos);
  }
}

TEST(MacAddress, Classes) {
  EXPECT_TRUE(MacAddress::broadcast().is_broadcast());
  EXPECT_TRUE(MacAddress::broadcast().is_multicast());
  EXPECT_TRUE(MacAddress::parse("33:33:00:00:00:01")->is_multicast());
  EXPECT_FALSE(MacAddress::parse("02:00:00:00:00:01")->is_multicast());
  EXPECT_TRUE(MacAddress().is_zero());
  EXPECT_EQ(MacAddress::from_u64(MacAddress::parse("02:00:00:00:00:ff")->to_u64() + 1).to_string(),
            "02:00:00:00:01:00");
}

}  // namespace
}  // namespace etherpath
