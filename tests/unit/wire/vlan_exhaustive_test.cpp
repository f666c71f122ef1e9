// Every VLAN ID, PCP and DEI value through FrameBuilder and FrameParser, alone and in QinQ.
#include <gtest/gtest.h>

#include <array>

#include "conn/wire/ethernet.hpp"
#include "conn/wire/frame_builder.hpp"
#include "conn/wire/frame_parser.hpp"
#include "tests/unit/wire/frame_factory.hpp"

namespace etherpath::wire {
namespace {

using namespace testing;

// Builds a tiny UDP/IPv4 frame with `vlans`, parses it, and checks the tags and the key.
// Returns false (after recording failures) so the loops can stop at the first bad value.
bool round_trip(const VlanStack& vlans) {
  std::array<std::byte, 256> buf{};
  const std::array<std::byte, 2> payload{std::byte{1}, std::byte{2}};
  FrameBuilder b(buf);
  b.payload(payload)
      .push_udp(1, 2)
      .push_ipv4({.src = kSrc4, .dst = kDst4})
      .push_vlans(vlans)
      .push_ethernet(kDstMac, kSrcMac);
  const auto frame = b.finish();
  if (!frame) {
    ADD_FAILURE() << frame.error().message();
    return false;
  }
  const auto r = FrameParser(ParseOptions{.verify_checksums = true}).parse(*frame);
  const bool ok = r && r.frame.vlans == vlans &&
                  r.frame.key == L2Key::make(kDstMac, vlans, kEtherTypeIpv4) &&
                  r.frame.payload.size() == 2 && r.frame.udp.dst_port == 2 &&
                  frame->size() == 14 + 4 * vlans.size() + 30;
  if (!ok) {
    ADD_FAILURE() << "VLAN stack " << vlans.to_string() << " tpid " << vlans[0].tpid << " pcp "
                  << int{vlans[0].pcp} << " dei " << vlans[0].dei << ": " << to_string(r.drop);
  }
  return ok;
}

TEST(VlanExhaustive, SingleTagEveryIdPcpDei) {
  for (std::uint16_t id = 0; id <= 4095; ++id) {
    for (std::uint8_t pcp = 0; pcp < 8; ++pcp) {
      for (const bool dei : {false, true}) {
        ASSERT_TRUE(round_trip({{.id = id, .tpid = kTpid8021Q, .pcp = pcp, .dei = dei}}));
      }
    }
  }
}

TEST(VlanExhaustive, QinQOuterEveryIdPcpDeiBothTpids) {
  for (const std::uint16_t tpid : {kTpid8021ad, kTpid8021Q}) {
    for (std::uint16_t id = 0; id <= 4095; ++id) {
      for (std::uint8_t pcp = 0; pcp < 8; ++pcp) {
        for (const bool dei : {false, true}) {
          ASSERT_TRUE(round_trip({{.id = id, .tpid = tpid, .pcp = pcp, .dei = dei},
                                  {.id = static_cast<std::uint16_t>(4095 - id), .pcp = 1}}));
        }
      }
    }
  }
}

TEST(VlanExhaustive, QinQInnerEveryIdPcpDei) {
  for (std::uint16_t id = 0; id <= 4095; ++id) {
    for (std::uint8_t pcp = 0; pcp < 8; ++pcp) {
      for (const bool dei : {false, true}) {
        ASSERT_TRUE(round_trip({{.id = 7, .tpid = kTpid8021ad, .pcp = 3, .dei = true},
                                {.id = id, .tpid = kTpid8021Q, .pcp = pcp, .dei = dei}}));
      }
    }
  }
}

// The TCI bits on the wire, independently of VlanTag::tci().
TEST(VlanExhaustive, TciLayoutOnTheWire) {
  std::array<std::byte, 256> buf{};
  FrameBuilder b(buf);
  b.push_arp({.sender_ip = kSrc4, .target_ip = kDst4})
      .push_vlan({.id = 0xabc, .tpid = kTpid8021Q, .pcp = 5, .dei = true})
      .push_ethernet(kDstMac, kSrcMac);
  const auto f = b.finish();
  ASSERT_TRUE(f);
  EXPECT_EQ(load_be16(*f, 12), 0x8100);
  EXPECT_EQ(load_be16(*f, 14), (5U << 13U) | 0x1000U | 0xabcU);
  EXPECT_EQ(load_be16(*f, 16), 0x0806);
}

// The VLAN text of design.md §4 through the wire: "100.20" is an 802.1ad outer tag.
TEST(VlanExhaustive, TextStacksOnTheWire) {
  const auto stack = VlanStack::parse("100.20").value();
  std::array<std::byte, 256> buf{};
  FrameBuilder b(buf);
  b.push_arp({.sender_ip = kSrc4, .target_ip = kDst4})
      .push_vlans(stack)
      .push_ethernet(kDstMac, kSrcMac);
  const auto f = b.finish();
  ASSERT_TRUE(f);
  EXPECT_EQ(load_be16(*f, 12), 0x88a8);
  EXPECT_EQ(load_be16(*f, 14), 100);
  EXPECT_EQ(load_be16(*f, 16), 0x8100);
  EXPECT_EQ(load_be16(*f, 18), 20);
  EXPECT_EQ(load_be16(*f, 20), 0x0806);
  const auto r = FrameParser().parse(*f);
  ASSERT_TRUE(r);
  EXPECT_EQ(r.frame.vlans, stack);
  EXPECT_EQ(r.frame.key.to_string(), "02:00:00:00:00:02|100|20#0x0806");
}

}  // namespace
}  // namespace etherpath::wire
