// IpAddress and IpEndpoint text and sockaddr forms.
#include "base/ip_address.hpp"

#include <gtest/gtest.h>

namespace etherpath {
namespace {

TEST(IpAddress, ParsesBothFamilies) {
  const auto a = IpAddress::parse("192.0.2.1");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(a->v4_host(), 0xc0000201U);
  EXPECT_EQ(a->to_string(), "192.0.2.1");
  const auto b = IpAddress::parse("[2001:db8::1]");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->is_v6());
  EXPECT_EQ(b->to_string(), "2001:db8::1");
  EXPECT_FALSE(IpAddress::parse("300.1.1.1"));
  EXPECT_FALSE(IpAddress::parse("not-an-addr"));
  EXPECT_FALSE(IpAddress::parse(""));
}

TEST(IpAddress, Properties) {
  EXPECT_TRUE(IpAddress::parse("0.0.0.0")->is_unspecified());
  EXPECT_TRUE(IpAddress::parse("::")->is_unspecified());
  EXPECT_TRUE(IpAddress::parse("224.0.0.1")->is_multicast());
  EXPECT_TRUE(IpAddress::parse("ff02::1")->is_multicast());
  EXPECT_TRUE(IpAddress::parse("::1")->is_loopback());
  EXPECT_EQ(IpAddress::parse("10.0.0.255")->plus(1).to_string(), "10.0.1.0");
  EXPECT_EQ(IpAddress::parse("2001:db8::ffff")->plus(1).to_string(), "2001:db8::1:0");
  const auto mapped = IpAddress::parse("192.0.2.1")->to_v6_mapped();
  EXPECT_EQ(IpAddress::v6(mapped).to_string(), "::ffff:192.0.2.1");
}

TEST(IpEndpoint, ParseAndSockaddrRoundTrip) {
  for (const char* text : {"127.0.0.1:53", "[::1]:5353", "[2001:db8::2]:0"}) {
    const auto ep = IpEndpoint::parse(text);
    ASSERT_TRUE(ep) << text;
    EXPECT_EQ(ep->to_string(), text);
    sockaddr_storage ss{};
    const socklen_t len = ep->to_sockaddr(ss);
    const auto back =
        IpEndpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);  // NOLINT
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, *ep);
  }
  EXPECT_FALSE(IpEndpoint::parse("::1:53"));
  EXPECT_FALSE(IpEndpoint::parse("127.0.0.1"));
  EXPECT_FALSE(IpEndpoint::parse("127.0.0.1:65536"));
  EXPECT_FALSE(IpEndpoint::parse("[::1]53"));
}

}  // namespace
}  // namespace etherpath
