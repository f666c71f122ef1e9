// Malformed frames: each refused with its own DropReason, never read out of bounds.
#include <gtest/gtest.h>

#include <set>

#include "conn/wire/frame_parser.hpp"
#include "conn/wire/ipv4.hpp"
#include "tests/unit/wire/frame_factory.hpp"

namespace etherpath::wire {
namespace {

using namespace testing;

constexpr std::size_t kEth = 14;

DropReason parse(const std::vector<std::byte>& f, bool verify = false) {
  return FrameParser(ParseOptions{.verify_checksums = verify}).parse(f).drop;
}

std::vector<std::byte> cut(std::vector<std::byte> f, std::size_t n) {
  f.resize(n);
  return f;
}

void set16(std::vector<std::byte>& f, std::size_t off, std::uint16_t v) {
  store_be16(f, off, v);
}
void set8(std::vector<std::byte>& f, std::size_t off, std::uint8_t v) {
  store_u8(f, off, v);
}

const VlanStack kQinQ{{.id = 100, .tpid = kTpid8021ad}, {.id = 200}};

// The table the issue asks for: one malformed frame per line, each with its reason.
struct Case {
  const char* name;
  std::vector<std::byte> frame;
  DropReason expect;
  bool verify = false;
};

std::vector<Case> cases() {
  std::vector<Case> c;
  const auto u4 = udp4();
  const auto u6 = udp6();
  c.push_back({"empty frame", {}, DropReason::truncated_ethernet});
  c.push_back({"13 bytes", cut(u4, 13), DropReason::truncated_ethernet});
  c.push_back(
      {"802.1Q tag cut after TPID", cut(udp4({{.id = 5}}), 16), DropReason::truncated_vlan});
  c.push_back({"802.1Q tag without next EtherType", cut(udp4({{.id = 5}}), 17),
               DropReason::truncated_vlan});
  c.push_back({"QinQ inner tag cut", cut(udp4(kQinQ), 20), DropReason::truncated_vlan});
  {
    // Three tags: a QinQ frame whose inner EtherType says another 802.1Q tag follows.
    auto f = udp4(kQinQ);
    set16(f, 20, kTpid8021Q);
    c.push_back({"three VLAN tags", f, DropReason::vlan_stack_too_deep});
  }
  {
    auto f = u4;
    set16(f, 12, 0x88cc);  // LLDP
    c.push_back({"LLDP EtherType", f, DropReason::unsupported_ether_type});
  }
  c.push_back({"IPv4 header cut at 19 bytes", cut(u4, kEth + 19), DropReason::truncated_ipv4});
  {
    auto f = u4;
    set8(f, kEth, 0x65);
    c.push_back({"IPv4 EtherType with version 6", f, DropReason::bad_ip_version});
  }
  {
    auto f = u4;
    set8(f, kEth, 0x44);
    c.push_back({"IHL 4", f, DropReason::bad_ipv4_ihl});
  }
  {
    auto f = u4;
    set8(f, kEth, 0x40);
    c.push_back({"IHL 0", f, DropReason::bad_ipv4_ihl});
  }
  {
    auto f = cut(u4, kEth + 28);
    set8(f, kEth, 0x4f);  // 60-byte header in 28 bytes
    c.push_back({"IHL beyond the frame", f, DropReason::truncated_ipv4});
  }
  {
    auto f = u4;
    set16(f, kEth + 2, 19);
    c.push_back({"total length below the header", f, DropReason::ipv4_total_length_too_short});
  }
  {
    auto f = u4;
    set8(f, kEth, 0x46);  // a 24-byte header in a 22-byte datagram
    set16(f, kEth + 2, 22);
    c.push_back({"total length inside the options", f, DropReason::ipv4_total_length_too_short});
  }
  c.push_back({"total length beyond the frame (cut payload)", cut(u4, u4.size() - 1),
               DropReason::ipv4_total_length_exceeds_frame});
  {
    auto f = u4;
    set16(f, kEth + 2, 1500);
    c.push_back({"total length lies (1500)", f, DropReason::ipv4_total_length_exceeds_frame});
  }
  {
    auto f = u4;
    set16(f, kEth + 6, 0x2000);  // MF
    c.push_back({"first fragment (MF)", f, DropReason::ipv4_fragment});
  }
  {
    auto f = u4;
    set16(f, kEth + 6, 0x00b9);  // offset 185
    c.push_back({"later fragment (offset)", f, DropReason::ipv4_fragment});
  }
  {
    auto f = u4;
    set8(f, kEth + 8, 63);  // TTL changed, checksum not
    c.push_back({"IPv4 header checksum", f, DropReason::bad_ipv4_checksum, true});
  }
  {
    auto f = cut(u4, kEth + 27);
    set16(f, kEth + 2, 27);
    c.push_back({"UDP header cut at 7 bytes", f, DropReason::truncated_udp});
  }
  {
    auto f = u4;
    set16(f, kEth + 20 + 4, 7);
    c.push_back({"UDP length 7", f, DropReason::udp_length_too_short});
  }
  {
    auto f = u4;
    set16(f, kEth + 20 + 4, 27);
    c.push_back({"UDP length beyond IP", f, DropReason::udp_length_exceeds_ip});
  }
  {
    auto f = u4;
    set16(f, kEth + 20 + 4, 25);
    c.push_back({"UDP length short of IP", f, DropReason::udp_length_short_of_ip});
  }
  {
    auto f = u4;
    f.back() ^= std::byte{1};
    c.push_back({"UDP checksum over IPv4", f, DropReason::bad_udp_checksum, true});
  }
  {
    auto f = u6;
    f.back() ^= std::byte{1};
    c.push_back({"UDP checksum over IPv6", f, DropReason::bad_udp_checksum, true});
  }
  {
    auto f = u6;
    set16(f, kEth + 40 + 6, 0);
    c.push_back({"UDP checksum 0 over IPv6", f, DropReason::udp_zero_checksum_ipv6, true});
  }
  c.push_back({"IPv6 header cut at 39 bytes", cut(u6, kEth + 39), DropReason::truncated_ipv6});
  {
    auto f = u6;
    set8(f, kEth, 0x45);
    c.push_back({"IPv6 EtherType with version 4", f, DropReason::bad_ip_version});
  }
  {
    auto f = u6;
    set16(f, kEth + 4, 27);
    c.push_back({"IPv6 payload length lies", f, DropReason::ipv6_payload_length_exceeds_frame});
  }
  {
    auto f = udp6({}, 0, 1);  // dest options (8) + UDP (8)
    set16(f, kEth + 4, 6);
    c.push_back({"IPv6 extension cut", cut(f, kEth + 46), DropReason::truncated_ipv6_extension});
  }
  {
    auto f = udp6({}, 0, 1);
    set8(f, kEth + 40 + 1, 3);  // claims 32 bytes
    c.push_back({"IPv6 extension length lies", f, DropReason::truncated_ipv6_extension});
  }
  c.push_back(
      {"five IPv6 extension headers", udp6({}, 4, 5), DropReason::ipv6_extension_chain_too_long});
  {
    auto f = udp6({}, 8, 1);
    set8(f, kEth + 6, 44);  // the dest-options header becomes a fragment header
    c.push_back({"IPv6 fragment header", f, DropReason::ipv6_fragment});
  }
  {
    auto f = icmp4_echo(0);
    set16(f, kEth + 2, 24);
    c.push_back({"ICMPv4 cut at 4 bytes", cut(f, kEth + 24), DropReason::truncated_icmp});
  }
  {
    auto f = icmp4_echo();
    f.back() ^= std::byte{0x80};
    c.push_back({"ICMPv4 checksum", f, DropReason::bad_icmp_checksum, true});
  }
  {
    auto f = icmp6_echo();
    set16(f, kEth + 40 + 4, 99);  // identifier changed, checksum not
    c.push_back({"ICMPv6 checksum", f, DropReason::bad_icmp_checksum, true});
  }
  c.push_back({"ARP cut at 27 bytes", cut(arp_request(), kEth + 27), DropReason::truncated_arp});
  {
    auto f = arp_request();
    set8(f, kEth + 4, 8);
    c.push_back({"ARP with 8-byte hardware addresses", f, DropReason::unsupported_arp});
  }
  {
    auto f = arp_request();
    set16(f, kEth + 2, 0x86dd);
    c.push_back({"ARP for IPv6", f, DropReason::unsupported_arp});
  }
  {
    auto f = neighbor_solicit(false);
    set16(f, kEth + 4, 20);
    c.push_back({"NS cut at 20 bytes", cut(f, kEth + 60), DropReason::truncated_ndp});
  }
  {
    auto f = neighbor_solicit();
    set8(f, kEth + 40 + 24 + 1, 0);
    c.push_back({"NDP option of length 0", f, DropReason::bad_ndp_option});
  }
  {
    auto f = neighbor_solicit();
    set8(f, kEth + 40 + 24 + 1, 2);
    c.push_back({"NDP option past the end", f, DropReason::bad_ndp_option});
  }
  {
    auto f = neighbor_solicit();
    f.push_back(std::byte{1});  // a 1-byte option
    set16(f, kEth + 4, 33);
    c.push_back({"NDP option of 1 byte", f, DropReason::bad_ndp_option});
  }
  return c;
}

TEST(Malformed, EachFrameGivesItsReason) {
  const auto all = cases();
  EXPECT_GE(all.size(), 25U);
  std::set<DropReason> seen;
  for (const auto& c : all) {
    EXPECT_EQ(to_string(parse(c.frame, c.verify)), to_string(c.expect)) << c.name;
    seen.insert(c.expect);
  }
  // Every reason the parser has is exercised by at least one case.
  for (std::size_t i = 1; i < kDropReasonCount; ++i) {
    EXPECT_TRUE(seen.contains(static_cast<DropReason>(i)))
        << "no case for " << to_string(static_cast<DropReason>(i));
  }
}

// The on-demand decoders (ndp(), quoted(), arp()) and describe() must stay in bounds on the
// partial result of a drop: the fuzzer found ndp() trusting a truncated NS.
TEST(Malformed, DroppedFramesDescribeSafely) {
  for (const auto& c : cases()) {
    const auto r = FrameParser().parse(c.frame);
    EXPECT_FALSE(describe(r.frame).empty()) << c.name;
    (void)r.frame.ndp();
    (void)r.frame.quoted();
    (void)r.frame.arp();
  }
}

TEST(Malformed, ChecksumReasonsOnlyWhenAsked) {
  for (const auto& c : cases()) {
    if (c.verify) {
      EXPECT_EQ(parse(c.frame, false), DropReason::none) << c.name;
    }
  }
}

TEST(Malformed, ValidFramesParse) {
  for (const auto& f : {udp4(), udp4(kQinQ), udp6(), udp6(kQinQ, 0, 4), icmp4_echo(), icmp6_echo(),
                        arp_request(), neighbor_solicit(), neighbor_solicit(false)}) {
    EXPECT_EQ(parse(f, true), DropReason::none);
  }
}

// Cut a QinQ UDP frame at every length: the reason names the layer the cut falls in.
TEST(Malformed, TruncatedAtEveryByte) {
  for (const bool v6 : {false, true}) {
    const auto full = v6 ? udp6(kQinQ, 5) : udp4(kQinQ, 5);
    const std::size_t l3 = kEth + 8;
    for (std::size_t n = 0; n < full.size(); ++n) {
      DropReason expect = DropReason::none;
      if (n < kEth) {
        expect = DropReason::truncated_ethernet;
      } else if (n < l3) {
        expect = DropReason::truncated_vlan;
      } else if (n < l3 + (v6 ? 40U : 20U)) {
        expect = v6 ? DropReason::truncated_ipv6 : DropReason::truncated_ipv4;
      } else {
        expect = v6 ? DropReason::ipv6_payload_length_exceeds_frame
                    : DropReason::ipv4_total_length_exceeds_frame;
      }
      EXPECT_EQ(to_string(parse(cut(full, n))), to_string(expect)) << v6 << " " << n;
    }
    EXPECT_EQ(parse(full), DropReason::none);
  }
}

// Odd sizes: Ethernet padding after the datagram is allowed and reported as trailing bytes.
TEST(Malformed, PaddingIsTrailingNotPayload) {
  auto f = udp4({}, 0);
  ASSERT_EQ(f.size(), 42U);
  f.resize(60);
  const auto r = FrameParser(ParseOptions{.verify_checksums = true}).parse(f);
  ASSERT_TRUE(r) << to_string(r.drop);
  EXPECT_EQ(r.frame.trailing, 18U);
  EXPECT_EQ(r.frame.payload.size(), 0U);
  EXPECT_EQ(r.frame.l3_bytes.size(), 28U);
  for (std::size_t extra = 1; extra < 8; ++extra) {
    auto g = udp6({}, 3);
    g.resize(g.size() + extra);
    const auto r6 = FrameParser().parse(g);
    ASSERT_TRUE(r6);
    EXPECT_EQ(r6.frame.trailing, extra);
    EXPECT_EQ(r6.frame.payload.size(), 3U);
  }
}

// On a drop, the layers before the failing one are filled (stats can name the endpoint).
TEST(Malformed, DropKeepsTheL2Key) {
  auto f = udp4({{.id = 42}});
  set8(f, kEth + 4, 0x44);
  const auto r = FrameParser().parse(f);
  EXPECT_EQ(r.drop, DropReason::bad_ipv4_ihl);
  EXPECT_EQ(r.frame.key.outer_vlan, 42);
  EXPECT_EQ(r.frame.key.ether_type, 0x0800);
  EXPECT_EQ(r.frame.dst, kDstMac);
}

TEST(Malformed, UnknownEtherTypeAcceptedWhenAsked) {
  auto f = udp4();
  set16(f, 12, 0x0001);
  const auto r = FrameParser(ParseOptions{.accept_unknown_ether_type = true}).parse(f);
  ASSERT_TRUE(r);
  EXPECT_EQ(r.frame.l3, L3Kind::none);
  EXPECT_EQ(r.frame.ether_type, 1);
  EXPECT_EQ(r.frame.payload.size(), f.size() - kEth);
}

TEST(Malformed, EveryReasonHasAName) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kDropReasonCount; ++i) {
    const auto name = to_string(static_cast<DropReason>(i));
    EXPECT_NE(name, "unknown");
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kDropReasonCount);
  EXPECT_EQ(to_string(static_cast<DropReason>(200)), "unknown");
}

}  // namespace
}  // namespace etherpath::wire
