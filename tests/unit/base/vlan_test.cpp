// VLAN text (design.md §4) and etherconn's VLAN text vectors with our stricter range.
#include "base/vlan.hpp"

#include <gtest/gtest.h>

namespace etherpath {
namespace {

TEST(VlanText, SingleTagIs8021Q) {
  const auto s = VlanStack::parse("100");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 1U);
  EXPECT_EQ((*s)[0].id, 100);
  EXPECT_EQ((*s)[0].tpid, kTpid8021Q);
  EXPECT_EQ(s->to_string(), "100");
}

TEST(VlanText, TwoTagsAreQinQWith8021adOuter) {
  for (const char* text : {"100.200", "100|200", "|100|200"}) {
    const auto s = VlanStack::parse(text);
    ASSERT_TRUE(s) << text;
    ASSERT_EQ(s->size(), 2U);
    EXPECT_EQ((*s)[0].id, 100);
    EXPECT_EQ((*s)[0].tpid, kTpid8021ad);
    EXPECT_EQ((*s)[1].id, 200);
    EXPECT_EQ((*s)[1].tpid, kTpid8021Q);
    EXPECT_EQ(s->to_string(), "100.200");
  }
}

TEST(VlanText, OuterTpid8100WhenAsked) {
  const auto s = VlanStack::parse("33.22", kTpid8021Q);
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)[0].tpid, kTpid8021Q);
  EXPECT_EQ((*s)[1].tpid, kTpid8021Q);
}

// etherconn's TestVLANsUnMarhal and TestVLANs text vectors.
TEST(VlanText, EtherconnVectors) {
  EXPECT_EQ(VlanStack::parse("33.22")->size(), 2U);
  EXPECT_EQ(VlanStack::parse("33|22")->size(), 2U);
  EXPECT_EQ(VlanStack::parse("499")->size(), 1U);
  EXPECT_EQ(VlanStack::parse("|300")->size(), 1U);
  EXPECT_EQ((*VlanStack::parse("|300"))[0].id, 300);
  EXPECT_TRUE(VlanStack::parse("")->empty());
  EXPECT_FALSE(VlanStack::parse("4929.30"));
  EXPECT_FALSE(VlanStack::parse("33.aa"));
}

TEST(VlanText, RangeIs0To4094) {
  EXPECT_TRUE(VlanStack::parse("0"));
  EXPECT_TRUE(VlanStack::parse("4094"));
  EXPECT_TRUE(VlanStack::parse("4094.0"));
  EXPECT_FALSE(VlanStack::parse("4095"));
  EXPECT_FALSE(VlanStack::parse("4096"));  // etherconn accepted this (off by one)
  EXPECT_FALSE(VlanStack::parse("99999999999"));
  for (unsigned id = 0; id <= 4095; ++id) {
    EXPECT_EQ(static_cast<bool>(VlanStack::parse(std::to_string(id))), id <= kMaxVlanId) << id;
  }
}

TEST(VlanText, RejectionsAreOneLineAndNameTheText) {
  for (const char* bad :
       {"4095", "4929.30", "33.aa", "1.2.3", "1|2.3", "-1", "1.", ".1", "x", " 1", "1 ", "+5"}) {
    const auto s = VlanStack::parse(bad);
    ASSERT_FALSE(s) << bad;
    const auto msg = s.error().message();
    EXPECT_EQ(msg.find('\n'), std::string::npos);
    EXPECT_NE(msg.find(std::string("'") + bad + "'"), std::string::npos) << msg;
  }
  EXPECT_EQ(VlanStack::parse("4095").error().message(),
            "invalid VLAN '4095': ID 4095 is out of range 0-4094");
  EXPECT_EQ(VlanStack::parse("33.aa").error().message(),
            "invalid VLAN '33.aa': 'aa' is not a number");
}

TEST(VlanTag, TciRoundTripsEveryField) {
  for (unsigned pcp = 0; pcp < 8; ++pcp) {
    for (unsigned dei = 0; dei < 2; ++dei) {
      for (std::uint16_t id = 0; id <= 4095; ++id) {
        const VlanTag t{id, kTpid8021Q, static_cast<std::uint8_t>(pcp), dei != 0};
        ASSERT_EQ(VlanTag::from_tci(kTpid8021Q, t.tci()), t);
      }
    }
  }
}

TEST(Tpid, Parse) {
  EXPECT_EQ(*parse_tpid("8100"), kTpid8021Q);
  EXPECT_EQ(*parse_tpid("0x88a8"), kTpid8021ad);
  EXPECT_FALSE(parse_tpid("9100"));
}

}  // namespace
}  // namespace etherpath
