// --xdp-mode text and the names the engine reports.
#include <gtest/gtest.h>

#include "datapath/xdp/xdp_engine.hpp"

namespace etherpath::datapath::xdp {
namespace {

TEST(XdpMode, ParsesTheFlagForms) {
  EXPECT_EQ(parse_xdp_mode("auto").value(), XdpMode::automatic);
  EXPECT_EQ(parse_xdp_mode("zc").value(), XdpMode::zero_copy);
  EXPECT_EQ(parse_xdp_mode("copy").value(), XdpMode::native_copy);
  EXPECT_EQ(parse_xdp_mode("skb").value(), XdpMode::generic);
  EXPECT_EQ(parse_xdp_mode("generic").value(), XdpMode::generic);
}

TEST(XdpMode, RejectsUnknownTextNamingIt) {
  auto r = parse_xdp_mode("turbo");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::invalid_argument));
  EXPECT_NE(r.error().message().find("turbo"), std::string::npos);
}

TEST(XdpMode, ReportedNamesRoundTrip) {
  for (auto m : {XdpMode::zero_copy, XdpMode::native_copy, XdpMode::generic}) {
    EXPECT_EQ(parse_xdp_mode(to_string(m)).value(), m);
  }
}

TEST(XdpEngine, MissingInterfaceIsNotFound) {
  XdpEngineOptions o;
  o.ifname = "ep-no-such-if0";
  auto e = XdpEngine::create(o);
  ASSERT_FALSE(e);
  EXPECT_TRUE(e.error().is(Errc::not_found));
  EXPECT_NE(e.error().message().find("ep-no-such-if0"), std::string::npos);
}

}  // namespace
}  // namespace etherpath::datapath::xdp
