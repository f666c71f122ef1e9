// FlowTemplate: ranges give the expected distinct values, every frame parses with valid
// checksums, and the stamp reads back.
#include "tools/etherpath-gen/flow_template.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <tuple>

#include "conn/wire/frame_parser.hpp"

namespace etherpath::gen {
namespace {

FlowSpec make_spec(std::string_view src, std::string_view dst, L4Proto proto,
                   std::string_view vlan = "") {
  FlowSpec s;
  s.dst_mac = *MacAddress::parse("02:00:00:00:00:02");
  s.src_mac = *parse_mac_range("02:00:00:00:00:fe+3");
  s.vlans = *VlanStack::parse(vlan);
  s.src_ip = *parse_ip_range(src);
  s.dst_ip = *parse_ip_range(dst);
  s.proto = proto;
  s.sport = *parse_port_range("1000-1004");
  s.dport = *parse_port_range("2000-2001");
  return s;
}

TEST(ParseRanges, AcceptsAndRefuses) {
  EXPECT_EQ(parse_port_range("7")->count(), 1U);
  EXPECT_EQ(parse_port_range("1-65535")->count(), 65535U);
  EXPECT_FALSE(parse_port_range("5-4"));
  EXPECT_FALSE(parse_port_range("70000"));
  EXPECT_FALSE(parse_port_range("a-b"));
  EXPECT_EQ(parse_ip_range("10.0.0.1+9")->count, 10U);
  EXPECT_EQ(parse_ip_range("fd00::1")->count, 1U);
  EXPECT_FALSE(parse_ip_range("10.0.0.1+x"));
  EXPECT_FALSE(parse_mac_range("02:00:00:00:00"));
}

struct Case {
  const char* src;
  const char* dst;
  L4Proto proto;
  const char* vlan;
  bool imix;
};

class FlowTemplateTest : public ::testing::TestWithParam<Case> {};

TEST_P(FlowTemplateTest, RangesAndChecksums) {
  const Case& c = GetParam();
  FlowSpec spec = make_spec(c.src, c.dst, c.proto, c.vlan);
  spec.imix = c.imix;
  auto t = FlowTemplate::create(spec);
  ASSERT_TRUE(t) << t.error().message();
  const wire::FrameParser parser(wire::ParseOptions{.verify_checksums = true});
  std::array<std::byte, kMaxFrameSize> buf{};
  FlowCursor cursor;
  std::set<std::uint64_t> macs;
  std::set<std::string> srcs;
  std::set<std::string> dsts;
  std::set<std::uint16_t> sports;
  std::set<std::uint16_t> dports;
  std::set<std::size_t> sizes;
  const std::size_t n = 600;
  for (std::size_t i = 0; i < n; ++i) {
    // Timestamps and sequence numbers with every bit pattern, to exercise the checksum carries.
    const std::uint64_t seq = (i * 0x9e3779b97f4a7c15ULL) & 0xffffffffffffULL;
    const std::uint64_t ts = ~(i * 0x12345678abcdefULL);
    const std::size_t size = t->write(buf, cursor, seq, ts);
    ASSERT_GE(size, t->min_size());
    const auto p = parser.parse(ConstBytes(buf).first(size));
    ASSERT_TRUE(p) << "frame " << i << ": " << wire::to_string(p.drop);
    EXPECT_EQ(p.frame.vlans, spec.vlans);
    macs.insert(p.frame.src.to_u64());
    srcs.insert(p.frame.ip_src().to_string());
    dsts.insert(p.frame.ip_dst().to_string());
    if (c.proto == L4Proto::udp) {
      ASSERT_EQ(p.frame.l4, wire::L4Kind::udp);
      sports.insert(p.frame.udp.src_port);
      dports.insert(p.frame.udp.dst_port);
    } else {
      ASSERT_NE(p.frame.l4, wire::L4Kind::udp);
      sports.insert(p.frame.icmp.echo_id());
      EXPECT_EQ(p.frame.icmp.echo_seq(), static_cast<std::uint16_t>(seq));
    }
    sizes.insert(size);
    const auto stamp = read_stamp(p.frame.payload);
    ASSERT_TRUE(stamp);
    EXPECT_EQ(stamp->seq, seq);
    EXPECT_EQ(stamp->tx_ns, ts);
  }
  EXPECT_EQ(macs.size(), 4U);
  EXPECT_EQ(*macs.begin(), 0x0200000000feULL);
  EXPECT_EQ(*macs.rbegin(), 0x020000000101ULL);  // +3 carries across the octet
  EXPECT_EQ(srcs.size(), spec.src_ip.count);
  EXPECT_EQ(dsts.size(), spec.dst_ip.count);
  EXPECT_EQ(sports.size(), 5U);
  EXPECT_EQ(*sports.begin(), 1000);
  if (c.proto == L4Proto::udp) {
    EXPECT_EQ(dports, (std::set<std::uint16_t>{2000, 2001}));
  }
  EXPECT_EQ(sizes.size(), c.imix ? 3U : 1U);
}

INSTANTIATE_TEST_SUITE_P(
    Flows, FlowTemplateTest,
    ::testing::Values(Case{"10.0.0.1+9", "10.1.0.250+7", L4Proto::udp, "", false},
                      Case{"10.0.0.1", "10.1.0.1+2", L4Proto::icmp, "100", false},
                      Case{"fd00::ffff:fffe+3", "fd01::1+1", L4Proto::udp, "100.20", true},
                      Case{"fd00::1+2", "fd01::1", L4Proto::icmp, "7", true},
                      Case{"192.168.0.255+4", "192.168.1.1", L4Proto::udp, "4094.1", true}));

TEST(FlowTemplate, SizesAndFamilies) {
  FlowSpec spec = make_spec("10.0.0.1", "10.0.0.2", L4Proto::udp);
  EXPECT_EQ(FlowTemplate::create(spec)->min_size(), 60U);
  spec.size = 59;
  EXPECT_FALSE(FlowTemplate::create(spec));
  spec.size = 1514;
  auto t = FlowTemplate::create(spec);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size_at(0), 1514U);
  spec.size = kMaxFrameSize + 1;
  EXPECT_FALSE(FlowTemplate::create(spec));
  spec.size = 0;
  spec.dst_ip = *parse_ip_range("fd00::1");
  EXPECT_FALSE(FlowTemplate::create(spec));  // mixed families
  FlowSpec v6 = make_spec("fd00::1", "fd00::2", L4Proto::udp, "100.20");
  EXPECT_EQ(FlowTemplate::create(v6)->min_size(), 14U + 8 + 40 + 8 + kStampSize);
  std::array<std::byte, 10> small{};
  FlowCursor c;
  EXPECT_EQ(FlowTemplate::create(v6)->write(small, c, 0, 0), 0U);
}

TEST(ReadStamp, RefusesForeignPayloads) {
  std::array<std::byte, kStampSize> b{};
  EXPECT_FALSE(read_stamp(b));
  EXPECT_FALSE(read_stamp(ConstBytes(b).first(4)));
}

}  // namespace
}  // namespace etherpath::gen
