// FrameParser's fast path (untagged or single-tagged IPv4/UDP, written as words) against its
// general path: every field the same, for every tag, TPID, PCP/DEI, flag, length and padding
// the fast path admits, and frames just outside it still parsed (or refused) by the general path.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "conn/wire/frame_parser.hpp"
#include "tests/unit/wire/frame_factory.hpp"

namespace etherpath::wire {
namespace {

using testing::kDst4;
using testing::kDstMac;
using testing::kSrc4;
using testing::kSrcMac;
using testing::payload_of;

// verify_checksums takes the general path; on frames with valid checksums it gives the same.
const FrameParser kFast;
const FrameParser kGeneral(ParseOptions{.verify_checksums = true});

void expect_same(const ParseResult& a, const ParseResult& b) {
  ASSERT_EQ(a.drop, b.drop);
  const ParsedFrame& x = a.frame;
  const ParsedFrame& y = b.frame;
  EXPECT_EQ(x.bytes.data(), y.bytes.data());
  EXPECT_EQ(x.bytes.size(), y.bytes.size());
  EXPECT_EQ(x.dst, y.dst);
  EXPECT_EQ(x.src, y.src);
  EXPECT_EQ(x.l3, y.l3);
  EXPECT_EQ(x.l4, y.l4);
  EXPECT_EQ(x.ip_protocol, y.ip_protocol);
  EXPECT_EQ(x.vlans, y.vlans);
  EXPECT_EQ(x.vlans.size(), y.vlans.size());
  // Both tag slots, also the unused one (its defaults).
  for (std::size_t i = 0; i < kMaxVlanDepth; ++i) {
    EXPECT_EQ(x.vlans[i], y.vlans[i]) << i;
  }
  EXPECT_EQ(x.ether_type, y.ether_type);
  EXPECT_EQ(x.key, y.key);
  EXPECT_EQ(x.key.hash_value(), y.key.hash_value());
  EXPECT_EQ(x.l3_bytes.data(), y.l3_bytes.data());
  EXPECT_EQ(x.l3_bytes.size(), y.l3_bytes.size());
  EXPECT_EQ(x.ipv4.ihl, y.ipv4.ihl);
  EXPECT_EQ(x.ipv4.tos, y.ipv4.tos);
  EXPECT_EQ(x.ipv4.total_length, y.ipv4.total_length);
  EXPECT_EQ(x.ipv4.id, y.ipv4.id);
  EXPECT_EQ(x.ipv4.flags, y.ipv4.flags);
  EXPECT_EQ(x.ipv4.fragment_offset, y.ipv4.fragment_offset);
  EXPECT_EQ(x.ipv4.ttl, y.ipv4.ttl);
  EXPECT_EQ(x.ipv4.protocol, y.ipv4.protocol);
  EXPECT_EQ(x.ipv4.checksum, y.ipv4.checksum);
  EXPECT_EQ(x.ipv4.options.data(), y.ipv4.options.data());
  EXPECT_EQ(x.ipv4.options.size(), y.ipv4.options.size());
  EXPECT_EQ(x.ipv6.flow_label, y.ipv6.flow_label);
  EXPECT_EQ(x.ipv6.payload_length, y.ipv6.payload_length);
  EXPECT_EQ(x.ipv6.traffic_class, y.ipv6.traffic_class);
  EXPECT_EQ(x.ipv6.next_header, y.ipv6.next_header);
  EXPECT_EQ(x.ipv6.hop_limit, y.ipv6.hop_limit);
  EXPECT_EQ(x.ipv6.extension_count, y.ipv6.extension_count);
  for (std::size_t i = 0; i < kMaxIpv6Extensions; ++i) {
    EXPECT_EQ(x.ipv6.extension_refs[i].offset, y.ipv6.extension_refs[i].offset);
    EXPECT_EQ(x.ipv6.extension_refs[i].size, y.ipv6.extension_refs[i].size);
    EXPECT_EQ(x.ipv6.extension_refs[i].type, y.ipv6.extension_refs[i].type);
  }
  EXPECT_EQ(x.l4_bytes.data(), y.l4_bytes.data());
  EXPECT_EQ(x.l4_bytes.size(), y.l4_bytes.size());
  EXPECT_EQ(x.udp.src_port, y.udp.src_port);
  EXPECT_EQ(x.udp.dst_port, y.udp.dst_port);
  EXPECT_EQ(x.udp.length, y.udp.length);
  EXPECT_EQ(x.udp.checksum, y.udp.checksum);
  EXPECT_EQ(x.icmp.type, y.icmp.type);
  EXPECT_EQ(x.icmp.code, y.icmp.code);
  EXPECT_EQ(x.icmp.checksum, y.icmp.checksum);
  EXPECT_EQ(x.icmp.rest, y.icmp.rest);
  EXPECT_EQ(x.payload.data(), y.payload.data());
  EXPECT_EQ(x.payload.size(), y.payload.size());
  EXPECT_EQ(x.trailing, y.trailing);
  EXPECT_EQ(x.ip_src(), y.ip_src());
  EXPECT_EQ(x.ip_dst(), y.ip_dst());
  EXPECT_EQ(x.l3_offset(), y.l3_offset());
  EXPECT_EQ(x.l4_offset(), y.l4_offset());
  EXPECT_EQ(x.payload_offset(), y.payload_offset());
  EXPECT_EQ(describe(x), describe(y));
}

struct Udp4 {
  VlanStack vlans;
  std::size_t payload = 18;
  std::uint8_t tos = 0;
  std::uint8_t ttl = 64;
  std::uint16_t id = 7;
  std::uint8_t flags = 0;
  std::uint16_t src_port = 1000;
  std::uint16_t dst_port = 2000;
  std::size_t padding = 0;  // bytes after the datagram (Ethernet padding)
};

std::vector<std::byte> build(const Udp4& u) {
  std::vector<std::byte> buf(4096);
  FrameBuilder b(buf);
  b.payload(payload_of(u.payload))
      .push_udp(u.src_port, u.dst_port)
      .push_ipv4(
          {.src = kSrc4, .dst = kDst4, .ttl = u.ttl, .tos = u.tos, .id = u.id, .flags = u.flags})
      .push_vlans(u.vlans)
      .push_ethernet(kDstMac, kSrcMac);
  std::vector<std::byte> f = testing::finish(b);
  f.resize(f.size() + u.padding, std::byte{0xee});
  return f;
}

void expect_fast_equals_general(const std::vector<std::byte>& frame) {
  const ParseResult fast = kFast.parse(frame);
  const ParseResult general = kGeneral.parse(frame);
  ASSERT_EQ(fast.drop, DropReason::none);
  expect_same(fast, general);
}

TEST(FastPath, UntaggedAndSingleTaggedUdp4MatchTheGeneralPath) {
  const std::vector<VlanStack> stacks = {
      {},
      {VlanTag{.id = 100}},
      {VlanTag{.id = 0}},
      {VlanTag{.id = 4094, .pcp = 7, .dei = true}},
      {VlanTag{.id = 1, .tpid = kTpid8021ad, .pcp = 5}},
      {VlanTag{.id = 0xabc, .tpid = kTpid8021ad, .pcp = 2, .dei = true}},
  };
  for (const VlanStack& vlans : stacks) {
    for (const std::size_t payload : {0U, 1U, 2U, 17U, 18U, 19U, 64U, 1472U}) {
      for (const std::size_t padding : {0U, 1U, 6U, 30U}) {
        SCOPED_TRACE(::testing::Message() << vlans.to_string() << " " << payload << " " << padding);
        Udp4 u;
        u.vlans = vlans;
        u.payload = payload;
        u.padding = padding;
        expect_fast_equals_general(build(u));
      }
    }
  }
}

TEST(FastPath, EveryHeaderFieldValue) {
  for (const int flags : {0, 2, 4, 6}) {  // DF and the reserved bit; MF is not fast
    for (const int tos : {0, 0xb8, 0xff}) {
      for (const int ttl : {0, 1, 64, 255}) {
        for (const int id : {0, 1, 0x1234, 0xffff}) {
          Udp4 u;
          u.tos = static_cast<std::uint8_t>(tos);
          u.ttl = static_cast<std::uint8_t>(ttl);
          u.id = static_cast<std::uint16_t>(id);
          u.flags = static_cast<std::uint8_t>(flags);
          expect_fast_equals_general(build(u));
        }
      }
    }
  }
  for (const int port : {0, 1, 0x00ff, 0xff00, 0xffff}) {
    Udp4 u;
    u.src_port = static_cast<std::uint16_t>(port);
    u.dst_port = static_cast<std::uint16_t>(~port);
    expect_fast_equals_general(build(u));
  }
}

// Every byte of the PCP/DEI/VID field and both TPIDs through one tag.
TEST(FastPath, EveryTci) {
  for (const std::uint16_t tpid : {kTpid8021Q, kTpid8021ad}) {
    for (std::uint32_t tci = 0; tci <= 0xffff; tci += 7) {
      VlanStack s;
      s.push_back(VlanTag::from_tci(tpid, static_cast<std::uint16_t>(tci)));
      Udp4 u;
      u.vlans = s;
      std::vector<std::byte> f = build(u);
      // VID 4095 is not buildable; write the TCI directly.
      f[14] = static_cast<std::byte>(tci >> 8U);
      f[15] = static_cast<std::byte>(tci);
      expect_fast_equals_general(f);
      if (::testing::Test::HasFailure()) {
        FAIL() << "tpid " << tpid << " tci " << tci;
      }
    }
  }
}

// Frames next to the fast path's: each must come out as the general path says (which the
// golden and malformed tests pin), not as a UDP frame the fast path made up.
TEST(FastPath, NeighboursTakeTheGeneralPath) {
  const std::vector<std::byte> base = build(Udp4{});
  const auto with = [&](std::size_t at, std::uint8_t v) {
    std::vector<std::byte> f = base;
    f[at] = static_cast<std::byte>(v);
    return f;
  };
  const auto general = [](const std::vector<std::byte>& f) { return kFast.parse(f); };
  // MF, a fragment offset: refused as fragments.
  EXPECT_EQ(general(with(14 + 6, 0x20)).drop, DropReason::ipv4_fragment);
  EXPECT_EQ(general(with(14 + 7, 0x01)).drop, DropReason::ipv4_fragment);
  // IHL 6 with the UDP header read as an option: the general path's answer.
  EXPECT_NE(general(with(14, 0x46)).frame.ipv4.ihl, 5);
  // Not UDP: ICMP, TCP.
  EXPECT_EQ(general(with(14 + 9, kIpProtoIcmp)).frame.l4, L4Kind::icmpv4);
  EXPECT_EQ(general(with(14 + 9, kIpProtoTcp)).frame.l4, L4Kind::other);
  // A UDP length one more or one less than the IP payload's.
  const std::size_t udp_len_lo = 14 + 20 + 5;
  EXPECT_EQ(general(with(udp_len_lo, std::to_integer<std::uint8_t>(base[udp_len_lo]) + 1)).drop,
            DropReason::udp_length_exceeds_ip);
  EXPECT_EQ(general(with(udp_len_lo, std::to_integer<std::uint8_t>(base[udp_len_lo]) - 1)).drop,
            DropReason::udp_length_short_of_ip);
  // A total length beyond the frame, and one too short for UDP.
  EXPECT_EQ(general(with(14 + 3, 0xff)).drop, DropReason::ipv4_total_length_exceeds_frame);
  EXPECT_EQ(general(with(14 + 3, 27)).drop, DropReason::truncated_udp);
  // Version 6 in an IPv4 EtherType.
  EXPECT_EQ(general(with(14, 0x65)).drop, DropReason::bad_ip_version);
  // Truncated right before the UDP header ends.
  const std::vector<std::byte> cut(base.begin(), base.begin() + 14 + 20 + 7);
  EXPECT_EQ(general(cut).drop, DropReason::ipv4_total_length_exceeds_frame);
  // Two tags: QinQ goes through the general path, same fields as with verification.
  Udp4 q;
  q.vlans = {VlanTag{.id = 10, .tpid = kTpid8021ad}, VlanTag{.id = 20}};
  const std::vector<std::byte> qinq = build(q);
  expect_same(kFast.parse(qinq), kGeneral.parse(qinq));
  EXPECT_EQ(kFast.parse(qinq).frame.vlans.size(), 2U);
}

}  // namespace
}  // namespace etherpath::wire
