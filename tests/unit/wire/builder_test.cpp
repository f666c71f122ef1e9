// FrameBuilder errors and details, FrameTemplate against the full builder, L2Key.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <unordered_set>

#include "conn/wire/checksum.hpp"
#include "conn/wire/ethernet.hpp"
#include "conn/wire/frame_builder.hpp"
#include "conn/wire/frame_parser.hpp"
#include "conn/wire/frame_template.hpp"
#include "conn/wire/udp.hpp"
#include "tests/unit/wire/frame_factory.hpp"

namespace etherpath::wire {
namespace {

using namespace testing;

TEST(FrameBuilder, Ipv4UdpChecksumIsNeverLeftZero) {
  // etherconn sent IPv4 UDP with checksum 0; every IPv4 UDP frame here carries a real one.
  for (std::size_t n = 0; n < 64; ++n) {
    const auto f = udp4({}, n);
    const std::uint16_t c = load_be16(f, 14 + 20 + 6);
    EXPECT_NE(c, 0) << n;
    EXPECT_EQ(FrameParser(ParseOptions{.verify_checksums = true}).parse(f).drop, DropReason::none);
  }
}

TEST(FrameBuilder, FramesStartInsideTheBufferAfterHeadroom) {
  std::array<std::byte, 256> buf{};
  FrameBuilder b(buf, 64);
  b.payload_room()[0] = std::byte{0x42};
  b.payload_size(1)
      .push_udp(1, 2)
      .push_ipv4({.src = kSrc4, .dst = kDst4})
      .push_ethernet(kDstMac, kSrcMac);
  const auto f = b.finish();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->data(), buf.data() + 64 - 42);
  EXPECT_EQ(f->size(), 43U);
  EXPECT_EQ(f->back(), std::byte{0x42});
}

TEST(FrameBuilder, ErrorsAreReported) {
  std::array<std::byte, 64> buf{};
  {
    FrameBuilder b(buf, 20);
    b.push_udp(1, 2).push_ipv4({.src = kSrc4, .dst = kDst4});
    EXPECT_EQ(b.error(), BuildError::no_room);
    EXPECT_FALSE(b.finish());
  }
  {
    FrameBuilder b(buf, 32);
    b.payload_size(33);
    EXPECT_EQ(b.error(), BuildError::no_room);
  }
  {
    FrameBuilder b(buf, 40);
    b.push_udp(1, 2).push_ethernet(kDstMac, kSrcMac);
    const auto f = b.finish();
    ASSERT_FALSE(f);
    EXPECT_EQ(b.error(), BuildError::missing_protocol);
    EXPECT_NE(f.error().message().find("frame builder"), std::string::npos);
  }
  {
    std::array<std::byte, 128> big{};
    FrameBuilder b(big, 64);
    b.push_udp(1, 2).push_ethernet(kDstMac, kSrcMac, kEtherTypeIpv4);
    EXPECT_FALSE(b.finish());
    EXPECT_EQ(b.error(), BuildError::bad_order);  // UDP with no IP header for its checksum
  }
  {
    FrameBuilder b(buf, 40);
    const std::array<std::byte, 3> opts{};
    b.push_ipv4({.src = kSrc4, .dst = kDst4, .options = opts});
    EXPECT_EQ(b.error(), BuildError::bad_ipv4_options);
  }
  {
    FrameBuilder b(buf, 40);
    b.push_ipv6({.src = kSrc4, .dst = kDst6});
    EXPECT_EQ(b.error(), BuildError::bad_address);
  }
  {
    FrameBuilder b(buf, 40);
    const std::array<std::byte, 5> body{};
    b.push_ipv6_extension(0, body);
    EXPECT_EQ(b.error(), BuildError::bad_extension_size);
  }
  {
    FrameBuilder b(buf, 40);
    b.payload_size(2).push_ipv4({.src = kSrc4, .dst = kDst4});  // who says what follows?
    EXPECT_FALSE(b.finish());
    EXPECT_EQ(b.error(), BuildError::missing_protocol);
    b.reset();
    b.payload_size(2).push_ipv4({.src = kSrc4, .dst = kDst4, .protocol = 253});
    EXPECT_TRUE(b.finish());
  }
}

// An all-zero ICMPv4 message sums to +0, so its checksum is 0xffff; the parser must take that
// (and refuse 0x0000, the -0 spelling) -- the fuzzer found the first verifier getting this wrong.
TEST(FrameBuilder, AllZeroIcmpMessageCarriesFfff) {
  std::array<std::byte, 256> buf{};
  FrameBuilder b(buf);
  const std::array<std::byte, 36> zeros{};
  b.payload(zeros)
      .push_icmp(0, 0, 0)
      .push_ipv4({.src = kSrc4, .dst = kDst4})
      .push_ethernet(kDstMac, kSrcMac);
  const auto f = b.finish();
  ASSERT_TRUE(f);
  EXPECT_EQ(load_be16(*f, 14 + 20 + 2), 0xffff);
  const FrameParser strict(ParseOptions{.verify_checksums = true});
  EXPECT_EQ(strict.parse(*f).drop, DropReason::none);
  store_be16(*f, 14 + 20 + 2, 0);
  EXPECT_EQ(strict.parse(*f).drop, DropReason::bad_icmp_checksum);
}

TEST(FrameBuilder, ExplicitEtherTypeForRawPayload) {
  std::array<std::byte, 128> buf{};
  FrameBuilder b(buf, 64);
  const std::array<std::byte, 4> data{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  b.payload(data).push_vlan({.id = 9}).push_ethernet(kDstMac, kSrcMac);
  EXPECT_FALSE(b.finish());  // nothing says what the VLAN carries
  b.reset();
  b.payload(data).push_ethernet(kDstMac, kSrcMac, 0x88b5);
  const auto f = b.finish();
  ASSERT_TRUE(f);
  EXPECT_EQ(load_be16(*f, 12), 0x88b5);
}

// Headers are final when pushed (inside out). When one UDP header sits inside another (a tunnel
// without its own IP header, raw bytes of odd length between them), both checksums still verify
// over the final bytes, the outer one covering the inner one's filled-in checksum.
TEST(FrameBuilder, NestedChecksumsCoverFinalInnerBytes) {
  for (const bool v6 : {false, true}) {
    for (const std::size_t gap : {0U, 3U}) {
      for (const bool inner_icmp : {false, true}) {
        std::array<std::byte, 512> buf{};
        FrameBuilder b(buf);
        const auto payload = payload_of(7);
        const std::array<std::byte, 3> raw{std::byte{9}, std::byte{8}, std::byte{7}};
        b.payload(payload);
        if (inner_icmp) {
          b.push_icmp_echo(v6 ? kIcmpv6EchoRequest : kIcmpv4EchoRequest, 5, 6);
        } else {
          b.push_udp(1, 2);
        }
        b.push_bytes(std::span(raw).first(gap)).push_udp(3, 4);
        if (v6) {
          b.push_ipv6({.src = kSrc6, .dst = kDst6});
        } else {
          b.push_ipv4({.src = kSrc4, .dst = kDst4});
        }
        b.push_ethernet(kDstMac, kSrcMac);
        const auto f = b.finish();
        ASSERT_TRUE(f) << f.error().message();
        const std::size_t ip_len = v6 ? 40 : 20;
        const IpAddress& src = v6 ? kSrc6 : kSrc4;
        const IpAddress& dst = v6 ? kDst6 : kDst4;
        const ConstBytes outer = f->subspan(14 + ip_len);
        const ConstBytes inner = outer.subspan(8 + gap);
        // A correct checksum makes the whole sum (pseudo-header included) fold to 0xffff.
        EXPECT_EQ(
            checksum_fold(checksum_add(
                pseudo_header_sum(src, dst, kIpProtoUdp, static_cast<std::uint32_t>(outer.size())),
                outer)),
            0xffff)
            << v6 << gap << inner_icmp;
        std::uint64_t inner_pseudo = 0;
        if (!inner_icmp) {
          inner_pseudo =
              pseudo_header_sum(src, dst, kIpProtoUdp, static_cast<std::uint32_t>(inner.size()));
        } else if (v6) {
          inner_pseudo =
              pseudo_header_sum(src, dst, kIpProtoIcmpv6, static_cast<std::uint32_t>(inner.size()));
        }
        EXPECT_EQ(checksum_fold(checksum_add(inner_pseudo, inner)), 0xffff)
            << v6 << gap << inner_icmp;
        EXPECT_EQ(FrameParser(ParseOptions{.verify_checksums = true}).parse(*f).drop,
                  DropReason::none);
      }
    }
  }
}

// An ICMP message with no IP header around it gets ICMPv4's plain checksum at finish().
TEST(FrameBuilder, IcmpWithoutIpIsChecksummedAtFinish) {
  std::array<std::byte, 256> buf{};
  FrameBuilder b(buf);
  const auto payload = payload_of(11);
  b.payload(payload).push_icmp_echo(kIcmpv4EchoRequest, 0x1234, 0x5678);
  b.push_ethernet(kDstMac, kSrcMac, 0x88b5);
  const auto f = b.finish();
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(internet_checksum(f->subspan(14)), 0);
  EXPECT_NE(load_be16(*f, 14 + 2), 0);
}

// The sticky first error, for each kind of refusal a push can meet.
TEST(FrameBuilder, FirstErrorSticks) {
  std::array<std::byte, 256> buf{};
  {
    FrameBuilder b(buf);
    b.payload_size(4).push_ethernet(kDstMac, kSrcMac, 0x88b5).push_vlan({.id = 1});
    EXPECT_EQ(b.error(), BuildError::missing_protocol);
    b.reset();
    b.payload_size(4).push_ethernet(kDstMac, kSrcMac, 0x88b5).push_bytes(payload_of(2));
    EXPECT_EQ(b.error(), BuildError::bad_order);  // nothing outside the Ethernet header
    b.push_udp(1, 2);
    EXPECT_EQ(b.error(), BuildError::bad_order);
    EXPECT_FALSE(b.finish());
  }
  {
    FrameBuilder b(buf);
    b.payload_size(2);
    for (std::size_t i = 0; i < FrameBuilder::kMaxLayers; ++i) {
      b.push_bytes(payload_of(2)).push_udp(1, 2);
    }
    EXPECT_EQ(b.error(), BuildError::too_many_layers);
    b.push_ipv4({.src = kSrc4, .dst = kDst4});
    EXPECT_EQ(b.error(), BuildError::too_many_layers);
  }
  {
    FrameBuilder b(buf, 30);
    b.push_udp(1, 2).push_ipv4({.src = kSrc4, .dst = kDst4}).push_ethernet(kDstMac, kSrcMac);
    EXPECT_EQ(b.error(), BuildError::no_room);
    b.reset();
    EXPECT_EQ(b.error(), BuildError::none);
    b.push_udp(1, 2).push_ipv4({.src = kSrc4, .dst = kDst4});
    EXPECT_TRUE(b.finish());
  }
  {
    std::vector<std::byte> big(70000 + 256);
    FrameBuilder b(big);
    b.payload_size(70000).push_udp(1, 2);
    EXPECT_EQ(b.error(), BuildError::too_long);
  }
}

// A push whose header does not fit, or whose values are wrong, records the error and goes on
// (into a scratch area when it does not fit), so that the builder's state never depends on the
// buffer's room: the first error still wins, within one push and across the pushes after it.
TEST(FrameBuilder, PushesAfterAnErrorGoOnButTheFirstErrorWins) {
  std::array<std::byte, 256> buf{};
  {
    FrameBuilder b(buf);
    const std::array<std::byte, 3> opts{};
    // An IPv6 source and 3 bytes of options: the address is checked first, as before.
    b.payload_size(4).push_udp(1, 2).push_ipv4({.src = kSrc6, .dst = kDst4, .options = opts});
    EXPECT_EQ(b.error(), BuildError::bad_address);
    b.push_vlan({.id = 1}).push_ethernet(kDstMac, kSrcMac);
    EXPECT_EQ(b.error(), BuildError::bad_address);
    EXPECT_FALSE(b.finish());
  }
  {
    // The IPv6 header goes to scratch; the tag and the Ethernet header after it fit again.
    FrameBuilder b(buf, 30);
    b.push_udp(1, 2).push_ipv6({.src = kSrc6, .dst = kDst6});
    EXPECT_EQ(b.error(), BuildError::no_room);
    b.push_vlan({.id = 1}).push_ethernet(kDstMac, kSrcMac);
    EXPECT_EQ(b.error(), BuildError::no_room);
    EXPECT_FALSE(b.finish());
    b.reset();
    b.push_udp(1, 2).push_ipv4({.src = kSrc4, .dst = kDst4});
    EXPECT_TRUE(b.finish());
  }
  {
    // A UDP header with no room, then a lying-long datagram: no_room came first.
    std::vector<std::byte> big(70000 + 4);
    FrameBuilder b(big, 4);
    b.payload_size(70000).push_udp(1, 2).push_ipv4({.src = kSrc4, .dst = kDst4});
    EXPECT_EQ(b.error(), BuildError::no_room);
  }
  {
    // Closed by the Ethernet header with no room left in front: no_room, as before (the room
    // is checked before the order).
    FrameBuilder b(buf, 14);
    b.push_ethernet(kDstMac, kSrcMac, 0x88b5).push_udp(1, 2);
    EXPECT_EQ(b.error(), BuildError::no_room);
  }
}

// Every per-packet chain on every buffer size and headroom up to its frame's size: it builds the
// frame exactly when the headers fit in the headroom and the payload after it, fails with
// no_room otherwise, and never writes a byte outside the buffer (ASan checks the same in the
// sanitizer build).
TEST(FrameBuilder, NoRoomNeverWritesOutsideTheBuffer) {
  const auto payload = payload_of(18);
  const std::array<std::byte, 40> options{};
  const std::array<std::byte, 3> raw{std::byte{9}, std::byte{8}, std::byte{7}};
  const VlanStack qinq{{.id = 100, .tpid = kTpid8021ad}, {.id = 20}};
  const std::vector<std::function<void(FrameBuilder&)>> chains = {
      [&](FrameBuilder& b) {
        b.payload(payload)
            .push_udp(1, 2)
            .push_ipv4({.src = kSrc4, .dst = kDst4, .options = options})
            .push_vlan({.id = 5})
            .push_ethernet(kDstMac, kSrcMac);
      },
      [&](FrameBuilder& b) {
        b.payload(payload)
            .push_icmp_echo(kIcmpv6EchoRequest, 1, 2)
            .push_ipv6({.src = kSrc6, .dst = kDst6})
            .push_vlans(qinq)
            .push_ethernet(kDstMac, kSrcMac);
      },
      [&](FrameBuilder& b) {
        b.payload(payload)
            .push_udp(1, 2)
            .push_bytes(raw)
            .push_udp(3, 4)
            .push_ipv4({.src = kSrc4, .dst = kDst4})
            .push_ethernet(kDstMac, kSrcMac);
      },
      [&](FrameBuilder& b) {
        b.payload(payload)
            .push_icmp_echo(kIcmpv4EchoRequest, 1, 2)
            .push_ethernet(kDstMac, kSrcMac, 0x88b5);
      },
      [&](FrameBuilder& b) {
        b.push_neighbor_solicit(kDst6, kSrcMac)
            .push_ipv6({.src = kSrc6, .dst = kDst6, .hop_limit = 255})
            .push_ethernet(kDstMac, kSrcMac);
      },
      [&](FrameBuilder& b) {
        b.push_arp({.sender_mac = kSrcMac, .sender_ip = kSrc4, .target_ip = kDst4})
            .push_ethernet(MacAddress::broadcast(), kSrcMac);
      },
  };
  for (std::size_t c = 0; c < chains.size(); ++c) {
    std::vector<std::byte> whole(512);
    FrameBuilder ref(whole, 256);
    chains[c](ref);
    const auto want = ref.finish();
    ASSERT_TRUE(want) << c;
    const std::size_t headers = 256 - static_cast<std::size_t>(want->data() - whole.data());
    const std::size_t tail = want->size() - headers;
    for (std::size_t size = 0; size <= want->size() + 2; ++size) {
      for (std::size_t headroom = 0; headroom <= size; ++headroom) {
        std::vector<std::byte> mem(size + 128, std::byte{0xa5});
        FrameBuilder b(Bytes(mem.data() + 64, size), headroom);
        chains[c](b);
        const auto got = b.finish();
        const bool fits = headroom >= headers && size - headroom >= tail;
        ASSERT_EQ(got.has_value(), fits) << c << " " << size << " " << headroom;
        if (fits) {
          ASSERT_TRUE(std::equal(got->begin(), got->end(), want->begin(), want->end()));
        } else {
          ASSERT_EQ(b.error(), BuildError::no_room) << c << " " << size << " " << headroom;
        }
        for (std::size_t i = 0; i < 64; ++i) {
          ASSERT_EQ(mem[i], std::byte{0xa5}) << c << " " << size << " " << headroom;
          ASSERT_EQ(mem[64 + size + i], std::byte{0xa5}) << c << " " << size << " " << headroom;
        }
      }
    }
  }
}

// The template writes what the full builder writes, for every payload size and patch.
TEST(FrameTemplate, MatchesTheFullBuilder) {
  std::mt19937 rng(1);
  const VlanStack qinq{{.id = 100, .tpid = kTpid8021ad, .pcp = 2}, {.id = 20}};
  for (const bool v6 : {false, true}) {
    for (const bool udp : {true, false}) {
      for (const auto& vlans : {VlanStack{}, VlanStack{{.id = 5}}, qinq}) {
        const auto make = [&](ConstBytes payload, const FramePatch& p, Bytes buf) {
          FrameBuilder b(buf);
          b.payload(payload);
          if (udp) {
            b.push_udp(p.src_port, p.dst_port);
          } else {
            b.push_icmp_echo(v6 ? kIcmpv6EchoRequest : kIcmpv4EchoRequest, p.src_port, p.dst_port);
          }
          if (v6) {
            b.push_ipv6(
                {.src = kSrc6, .dst = kDst6, .hop_limit = 9, .traffic_class = 3, .flow_label = 77});
          } else {
            b.push_ipv4({.src = kSrc4,
                         .dst = kDst4,
                         .ttl = 9,
                         .tos = 3,
                         .id = p.ipv4_id,
                         .flags = kIpv4FlagDf});
          }
          b.push_vlans(vlans).push_ethernet(kDstMac, kSrcMac);
          return b.finish().value();
        };
        std::vector<std::byte> proto_buf(512);
        const auto tmpl = FrameTemplate::from_frame(make({}, {}, proto_buf));
        ASSERT_TRUE(tmpl) << tmpl.error().message();
        for (int round = 0; round < 300; ++round) {
          const auto payload = payload_of(rng() % 200);
          const FramePatch p{static_cast<std::uint16_t>(rng()), static_cast<std::uint16_t>(rng()),
                             static_cast<std::uint16_t>(rng())};
          std::vector<std::byte> want_buf(512);
          std::vector<std::byte> got_buf(512);
          const auto want = make(payload, p, want_buf);
          const auto got = tmpl->write(got_buf, payload, p);
          ASSERT_EQ(got.size(), want.size());
          ASSERT_TRUE(std::equal(got.begin(), got.end(), want.begin()))
              << v6 << udp << vlans.size() << " round " << round;
        }
      }
    }
  }
}

TEST(FrameTemplate, PayloadInPlaceAndTooSmallBuffers) {
  std::vector<std::byte> buf(256);
  FrameBuilder b(buf);
  b.push_udp(0, 0)
      .push_ipv4({.src = kSrc4, .dst = kDst4})
      .push_vlan({.id = 1})
      .push_ethernet(kDstMac, kSrcMac);
  const auto tmpl = FrameTemplate::from_frame(b.finish().value());
  ASSERT_TRUE(tmpl);
  EXPECT_EQ(tmpl->header_size(), 46U);
  std::vector<std::byte> out(64);
  const auto payload = payload_of(18);
  std::copy(payload.begin(), payload.end(), out.begin() + 46);
  const auto f = tmpl->write_headers(out, 18, {.src_port = 5, .dst_port = 6});
  ASSERT_EQ(f.size(), 64U);
  EXPECT_EQ(FrameParser(ParseOptions{.verify_checksums = true}).parse(f).drop, DropReason::none);
  EXPECT_TRUE(tmpl->write(std::span(out).first(63), payload, {}).empty());
  EXPECT_TRUE(tmpl->write_headers(out, 19, {}).empty());
}

TEST(FrameTemplate, RefusesWhatItCannotPatch) {
  EXPECT_FALSE(FrameTemplate::from_frame(arp_request()));
  EXPECT_FALSE(FrameTemplate::from_frame(neighbor_solicit()));
  auto bad = udp4();
  bad.back() ^= std::byte{1};
  EXPECT_FALSE(FrameTemplate::from_frame(bad));
}

TEST(L2Key, EtherconnLayoutAndText) {
  const L2Key k = L2Key::make(kDstMac, VlanStack{{.id = 100}}, kEtherTypeIpv6);
  const std::array<std::uint8_t, 12> want{2, 0, 0, 0, 0, 2, 0, 100, 0xff, 0xff, 0x86, 0xdd};
  EXPECT_EQ(k.to_bytes(), want);
  EXPECT_EQ(k.to_string(), "02:00:00:00:00:02|100|65535#0x86dd");
  EXPECT_EQ(k.mac_address(), kDstMac);
}

TEST(L2Key, HashesSpread) {
  std::unordered_set<L2Key> keys;
  std::unordered_set<std::size_t> hashes;
  for (std::uint16_t vid = 0; vid < 1000; ++vid) {
    for (std::uint64_t m = 0; m < 10; ++m) {
      const L2Key k = L2Key::make(MacAddress::from_u64(0x020000000000ULL + m),
                                  VlanStack{{.id = vid}}, kEtherTypeIpv4);
      keys.insert(k);
      hashes.insert(std::hash<L2Key>{}(k));
    }
  }
  EXPECT_EQ(keys.size(), 10000U);
  EXPECT_EQ(hashes.size(), 10000U);
}

}  // namespace
}  // namespace etherpath::wire
