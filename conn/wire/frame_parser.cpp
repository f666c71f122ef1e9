// FrameParser: Ethernet, up to kMaxVlanDepth tags, IPv4/IPv6 (bounded extension walk), ARP, UDP,
// ICMPv4/v6 with NDP and quoted datagrams. Every read is preceded by a length check.
#include "conn/wire/frame_parser.hpp"

#include <array>
#include <bit>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "conn/wire/arp_ndp.hpp"
#include "conn/wire/checksum.hpp"
#include "conn/wire/ethernet.hpp"
#include "conn/wire/icmp.hpp"
#include "conn/wire/ipv4.hpp"
#include "conn/wire/ipv6.hpp"
#include "conn/wire/udp.hpp"
#include "conn/wire/vlan.hpp"

namespace etherpath::wire {

namespace {

// Stores dominate a parse (the result is written field by field, then read), so on
// little-endian hosts the fixed-size field groups are assembled in registers in their in-memory
// layout and stored whole: two stores for Ipv4Fields' 9 fields, one for UdpFields' 4. Each is
// written straight into the result and read back by same-or-narrower loads (store forwarding
// holds). The offsets are checked at compile time; other hosts store member by member.
constexpr bool kPackedStores =
    std::endian::native == std::endian::little && offsetof(Ipv4Fields, ihl) == 0 &&
    offsetof(Ipv4Fields, tos) == 1 && offsetof(Ipv4Fields, total_length) == 2 &&
    offsetof(Ipv4Fields, id) == 4 && offsetof(Ipv4Fields, flags) == 6 &&
    offsetof(Ipv4Fields, fragment_offset) == 8 && offsetof(Ipv4Fields, ttl) == 10 &&
    offsetof(Ipv4Fields, protocol) == 11 && offsetof(Ipv4Fields, checksum) == 12 &&
    offsetof(Ipv4Fields, options) >= 16 && offsetof(UdpFields, src_port) == 0 &&
    offsetof(UdpFields, dst_port) == 2 && offsetof(UdpFields, length) == 4 &&
    offsetof(UdpFields, checksum) == 6 && sizeof(UdpFields) == 8;

// The header's fixed part (at least 20 bytes) into Ipv4Fields, but for the options.
void store_fields(Ipv4Fields& v4, ConstBytes header) noexcept {
  if constexpr (kPackedStores) {
    // Bytes 0-7 and 8-11 as loaded on a little-endian host, moved into Ipv4Fields' layout:
    // [IHL, TOS, total length, ID, flags, pad] [fragment offset, TTL, protocol, checksum, pad].
    std::uint64_t x = 0;
    std::uint32_t w = 0;
    std::memcpy(&x, header.data(), 8);
    std::memcpy(&w, header.data() + 8, 4);
    const std::array<std::uint64_t, 2> words{
        (x & 0xff0fU) | ((x >> 8U) & 0x000000ff00ff0000ULL) | ((x << 8U) & 0x0000ff00ff000000ULL) |
            (((x >> 53U) & 7U) << 48U),
        (((x >> 40U) & 0x1f00U) | (x >> 56U)) | (std::uint64_t{w & 0xffffU} << 16U) |
            (std::uint64_t{w >> 24U} << 32U) | (std::uint64_t{(w >> 16U) & 0xffU} << 40U)};
    // Trivially copyable (the warning is about its default member initializers).
    static_assert(std::is_trivially_copyable_v<Ipv4Fields>);
    std::memcpy(static_cast<void*>(&v4), words.data(), 16);  // bytes 14-15 are padding
  } else {
    const Ipv4View ip(header);
    v4.ihl = ip.ihl();
    v4.tos = ip.tos();
    v4.total_length = ip.total_length();
    v4.id = ip.id();
    v4.flags = ip.flags();
    v4.fragment_offset = ip.fragment_offset();
    v4.ttl = ip.ttl();
    v4.protocol = ip.protocol();
    v4.checksum = ip.checksum();
  }
}

// `fields`: the header's 8 bytes with each 16-bit field byte-swapped (UdpFields' layout).
void store_fields(UdpFields& udp, std::uint64_t fields, std::uint16_t len, std::uint16_t checksum,
                  ConstBytes header) noexcept {
  if constexpr (kPackedStores) {
    udp = std::bit_cast<UdpFields>(fields);
  } else {
    udp.src_port = load_be16(header, 0);
    udp.dst_port = load_be16(header, 2);
    udp.length = len;
    udp.checksum = checksum;
  }
}

bool is_ipv6_extension(std::uint8_t nh) noexcept {
  return nh == kIpProtoHopByHop || nh == kIpProtoRouting || nh == kIpProtoDestOptions ||
         nh == kIpProtoFragment;
}

}  // namespace

// UDP (the common case) is decoded here, inlined into both IP paths; ICMP is out of line.
[[gnu::always_inline]] inline DropReason FrameParser::parse_l4(
    ParsedFrame& f, ConstBytes l4, std::uint8_t protocol) const noexcept {
  f.ip_protocol = protocol;
  f.l4_bytes = l4;
  const bool v6 = f.l3 == L3Kind::ipv6;
  if (protocol == kIpProtoUdp) {
    if (l4.size() < UdpView::kSize) {
      return DropReason::truncated_udp;
    }
    // One 8-byte load for the whole header; each 16-bit field byte-swapped in place is UdpFields
    // as it sits in memory, stored whole below.
    std::uint64_t wire = 0;
    std::memcpy(&wire, l4.data(), 8);
    const std::uint64_t fields =
        ((wire & 0x00ff00ff00ff00ffULL) << 8U) | ((wire >> 8U) & 0x00ff00ff00ff00ffULL);
    const std::uint16_t len = load_be16(l4, 4);
    const std::uint16_t checksum = load_be16(l4, 6);
    if (len < UdpView::kSize) {
      return DropReason::udp_length_too_short;
    }
    if (len > l4.size()) {
      return DropReason::udp_length_exceeds_ip;
    }
    if (len < l4.size()) {
      return DropReason::udp_length_short_of_ip;
    }
    f.l4 = L4Kind::udp;
    store_fields(f.udp, fields, len, checksum, l4);
    f.payload = ConstBytes(l4.data() + UdpView::kSize, l4.size() - UdpView::kSize);
    if (options_.verify_checksums) {
      if (checksum == 0) {
        // IPv4 allows "no checksum"; IPv6 does not (RFC 8200 §8.1).
        return v6 ? DropReason::udp_zero_checksum_ipv6 : DropReason::none;
      }
      const std::uint64_t sum =
          checksum_add_without_field(pseudo_header_sum_of(f.l3_bytes, v6, kIpProtoUdp, len), l4, 6);
      if (udp_checksum_finish(sum) != checksum) {
        return DropReason::bad_udp_checksum;
      }
    }
    return DropReason::none;
  }
  if ((!v6 && protocol == kIpProtoIcmp) || (v6 && protocol == kIpProtoIcmpv6)) {
    return parse_icmp(f, l4, v6);
  }
  f.l4 = L4Kind::other;
  f.payload = l4;
  return DropReason::none;
}

[[gnu::always_inline]] inline DropReason FrameParser::parse_ipv4(ParsedFrame& f,
                                                                 ConstBytes l3) const noexcept {
  const std::size_t size = l3.size();
  if (size < Ipv4View::kMinSize) {
    return DropReason::truncated_ipv4;
  }
  const std::byte* ip = l3.data();
  const std::uint8_t version_ihl = load_u8(l3, 0);
  if ((version_ihl >> 4U) != 4) {
    return DropReason::bad_ip_version;
  }
  const auto ihl = static_cast<std::uint8_t>(version_ihl & 0x0fU);
  if (ihl < 5) {
    return DropReason::bad_ipv4_ihl;
  }
  const std::size_t hl = std::size_t{ihl} * 4U;
  if (size < hl) {
    return DropReason::truncated_ipv4;
  }
  const std::uint16_t total = load_be16(l3, 2);
  if (total < hl) {
    return DropReason::ipv4_total_length_too_short;
  }
  if (total > size) {
    return DropReason::ipv4_total_length_exceeds_frame;
  }
  f.l3 = L3Kind::ipv4;
  f.l3_bytes = ConstBytes(ip, total);
  f.trailing = size - total;
  std::memcpy(f.src_ip_bytes_.data(), ip + 12, 4);
  std::memcpy(f.dst_ip_bytes_.data(), ip + 16, 4);
  const std::uint16_t flags_offset = load_be16(l3, 6);
  const std::uint8_t protocol = load_u8(l3, 9);
  store_fields(f.ipv4, l3);
  f.ipv4.options = ConstBytes(ip + Ipv4View::kMinSize, hl - Ipv4View::kMinSize);
  if ((flags_offset & 0x3fffU) != 0) {  // MF or an offset
    return DropReason::ipv4_fragment;
  }
  if (options_.verify_checksums && !Ipv4View(l3).checksum_ok()) {
    return DropReason::bad_ipv4_checksum;
  }
  return parse_l4(f, ConstBytes(ip + hl, total - hl), protocol);
}

namespace {

// The fast path below writes a ParseResult as words at these offsets (the layout g++ and clang
// give on 64-bit little-endian hosts; members are laid out in declaration order, and the sizes
// pin the padding). Elsewhere every frame takes the general path. ParsedFrame is not standard
// layout (two private members), where offsetof is conditionally supported: both compilers
// support it for classes without virtual bases, as here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
constexpr bool kWordLayout =
    kPackedStores && sizeof(void*) == 8 && sizeof(ParseResult) == 256 &&
    offsetof(ParseResult, drop) == 0xf8 && offsetof(ParsedFrame, dst) == 0x10 &&
    offsetof(ParsedFrame, src) == 0x16 && offsetof(ParsedFrame, l3) == 0x1c &&
    offsetof(ParsedFrame, l4) == 0x1d && offsetof(ParsedFrame, ip_protocol) == 0x1e &&
    offsetof(ParsedFrame, vlans) == 0x20 && sizeof(VlanStack) == 24 && alignof(VlanStack) == 8 &&
    std::is_standard_layout_v<VlanStack> && sizeof(VlanTag) == 6 && offsetof(VlanTag, id) == 0 &&
    offsetof(VlanTag, tpid) == 2 && offsetof(VlanTag, pcp) == 4 && offsetof(VlanTag, dei) == 5 &&
    sizeof(MacAddress) == 6 && offsetof(ParsedFrame, ether_type) == 0x38 &&
    offsetof(ParsedFrame, key) == 0x3a && offsetof(L2Key, outer_vlan) == 6 &&
    offsetof(L2Key, inner_vlan) == 8 && offsetof(L2Key, ether_type) == 10 &&
    offsetof(ParsedFrame, l3_bytes) == 0x48 && offsetof(ParsedFrame, ipv4) == 0x58 &&
    offsetof(Ipv4Fields, options) == 0x10 && offsetof(ParsedFrame, ipv6) == 0x78 &&
    sizeof(Ipv6Fields) <= 0x28 && offsetof(ParsedFrame, l4_bytes) == 0xa0 &&
    offsetof(ParsedFrame, udp) == 0xb0 && offsetof(ParsedFrame, icmp) == 0xb8 &&
    sizeof(IcmpFields) == 8 && offsetof(ParsedFrame, payload) == 0xc0 &&
    offsetof(ParsedFrame, trailing) == 0xd0 && sizeof(ParsedFrame) == 0xf8;
#pragma GCC diagnostic pop
static_assert(kWordLayout || !kPackedStores || sizeof(void*) != 8,
              "ParsedFrame's layout changed: update the offsets parse_udp4() stores at");

// Stores `v` at byte `at` of the result.
template <std::size_t At, typename T>
[[gnu::always_inline]] inline void put(ParseResult& r, T v) noexcept {
  static_assert(std::is_trivially_copyable_v<ParseResult> && At + sizeof(T) <= sizeof(ParseResult));
  std::memcpy(static_cast<std::byte*>(static_cast<void*>(&r)) + At, &v, sizeof v);
}

[[gnu::always_inline]] inline std::uint64_t load_u64(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  std::memcpy(&v, p, 8);
  return v;
}

[[gnu::always_inline]] inline std::uint32_t load_u32(const std::byte* p) noexcept {
  std::uint32_t v = 0;
  std::memcpy(&v, p, 4);
  return v;
}

// What parse()'s fast path found: the frames a UDP endpoint receives, untagged or with one tag,
// IPv4 without options or fragmentation, UDP, lengths that agree. off == 0: another frame.
struct Udp4Match {
  std::size_t off = 0;    // of the IPv4 header
  std::uint32_t tag = 0;  // TPID << 16 | TCI (0x8100 << 16 when untagged: the default tag)
  std::uint64_t ip0 = 0;  // IPv4 bytes 0-7 and 8-11 as loaded (little-endian)
  std::uint32_t ip8 = 0;
  std::uint64_t udp = 0;  // the UDP header as loaded
  std::uint16_t total = 0;
};

// Reads only; one branch admits the frame.
[[gnu::always_inline]] inline Udp4Match match_udp4(ConstBytes frame) noexcept {
  const std::byte* d = frame.data();
  const std::size_t size = frame.size();
  constexpr std::size_t kMin = EthernetView::kSize + Ipv4View::kMinSize + UdpView::kSize;
  if (size < kMin) {
    return {};
  }
  // The EtherType (or TPID) and the two bytes after it; a tag moves IPv4 by 4 bytes.
  std::uint32_t type_word = bswap32(load_u32(d + 12));
  std::uint32_t tag = std::uint32_t{kTpid8021Q} << 16U;
  std::size_t off = EthernetView::kSize;
  if (is_vlan_tpid(static_cast<std::uint16_t>(type_word >> 16U))) {
    if (size < kMin + VlanTagView::kSize) {
      return {};
    }
    tag = type_word;
    type_word = bswap32(load_u32(d + 16));
    off += VlanTagView::kSize;
  }
  const std::byte* ip = d + off;
  Udp4Match m{off, tag, load_u64(ip), load_u32(ip + 8), load_u64(ip + 20), 0};
  m.total = bswap16(static_cast<std::uint16_t>(m.ip0 >> 16U));
  const std::uint16_t udp_len = bswap16(static_cast<std::uint16_t>(m.udp >> 32U));
  // 0x0800 then version 4, IHL 5; no MF or offset; UDP; the UDP length is the IP payload's; the
  // datagram fits in the frame.
  const bool bad = ((type_word >> 8U) != 0x080045U) | ((m.ip0 & 0xff3f000000000000ULL) != 0) |
                   (((m.ip8 >> 8U) & 0xffU) != kIpProtoUdp) |
                   (udp_len != static_cast<std::uint16_t>(m.total - Ipv4View::kMinSize)) |
                   (m.total > size - off) | (m.total < Ipv4View::kMinSize + UdpView::kSize);
  if (bad) {
    m.off = 0;
  }
  return m;
}

// The fast path's result, every byte written once in about 30 word stores (both compilers drop
// the zeroing of `r` as dead), where the general path zeroes 256 bytes and then stores field by
// field. Exactly what the general path gives for these frames (tests/unit/wire compares them).
// In offset order: g++ then sees every byte of `r` overwritten.
[[gnu::always_inline]] inline ParseResult parse_udp4(ConstBytes frame,
                                                     const Udp4Match& m) noexcept {
  // Every load first: `r` might overlap the frame for all the compiler knows, so a load after a
  // store to `r` would keep the zeroing alive.
  const std::byte* d = frame.data();
  const std::byte* ip = d + m.off;
  const std::uint64_t total = m.total;
  const std::uint64_t head = load_u64(d);
  const std::uint64_t src_mac = load_u64(d + 6) & 0xffffffffffffULL;
  const std::uint64_t src_ip = load_u32(ip + 12);
  const std::uint64_t dst_ip = load_u32(ip + 16);
  ParseResult r;
  ParsedFrame& f = r.frame;
  f.bytes = frame;
  // MACs, then L3Kind, L4Kind, protocol: each MAC lies whole inside one store, for readers.
  put<0x10>(r, head);
  put<0x16>(r, src_mac | (std::uint64_t{static_cast<std::uint8_t>(L3Kind::ipv4)} << 48U) |
                   (std::uint64_t{static_cast<std::uint8_t>(L4Kind::udp)} << 56U));
  put<0x1e>(r, std::uint16_t{kIpProtoUdp});
  // VlanStack: tag 0 (id, TPID, PCP, DEI), tag 1 default, the size; an absent tag 0 is default.
  // m.tag of an untagged frame is TPID 0x8100 with TCI 0: the default tag.
  const std::uint64_t tag = m.tag;
  const std::uint64_t tagged = m.off != EthernetView::kSize ? 1U : 0U;
  const std::uint64_t outer = tagged != 0 ? tag & 0x0fffU : VlanStack::kNoVlan;
  put<0x20>(
      r, (tag & 0xffff0fffU) | ((tag << 19U) & 0x700000000ULL) | ((tag << 28U) & 0x10000000000ULL));
  put<0x28>(r, std::uint64_t{kTpid8021Q});
  put<0x30>(r, tagged);
  // The EtherType, then the key (MAC, outer, inner, EtherType) in two stores that each hold
  // the part a reader loads whole.
  put<0x38>(r, kEtherTypeIpv4 | (head << 16U));
  put<0x3a>(r, (head & 0xffffffffffffULL) | (outer << 48U));
  put<0x40>(r, outer | (std::uint64_t{VlanStack::kNoVlan} << 16U) |
                   (std::uint64_t{kEtherTypeIpv4} << 32U));
  f.l3_bytes = ConstBytes(ip, total);
  // Ipv4Fields (IHL 5, no fragment offset here): IHL, TOS, total length, ID, flags; fragment
  // offset, TTL, protocol, checksum.
  const std::uint64_t x = m.ip0;
  const std::uint64_t w = m.ip8;
  put<0x58>(r, 5U | (x & 0xff00U) | (total << 16U) |
                   (std::uint64_t{bswap16(static_cast<std::uint16_t>(x >> 32U))} << 32U) |
                   (((x >> 53U) & 7U) << 48U));
  put<0x60>(r, ((w & 0xffU) << 16U) | (std::uint64_t{kIpProtoUdp} << 24U) |
                   (std::uint64_t{bswap16(static_cast<std::uint16_t>(w >> 16U))} << 32U));
  f.ipv4.options = ConstBytes(ip + Ipv4View::kMinSize, 0);
  put<0x78>(r, std::uint64_t{0});  // Ipv6Fields and its padding
  put<0x80>(r, std::uint64_t{0});
  put<0x88>(r, std::uint64_t{0});
  put<0x90>(r, std::uint64_t{0});
  put<0x98>(r, std::uint64_t{0});
  f.l4_bytes = ConstBytes(ip + Ipv4View::kMinSize, total - Ipv4View::kMinSize);
  // UdpFields: each 16-bit field byte-swapped in place; IcmpFields zero.
  const std::uint64_t u = m.udp;
  put<0xb0>(r, ((u & 0x00ff00ff00ff00ffULL) << 8U) | ((u >> 8U) & 0x00ff00ff00ff00ffULL));
  put<0xb8>(r, std::uint64_t{0});
  f.payload = ConstBytes(ip + Ipv4View::kMinSize + UdpView::kSize,
                         total - Ipv4View::kMinSize - UdpView::kSize);
  f.trailing = frame.size() - m.off - total;
  // The addresses as on the wire, zero after the first 4 bytes.
  put<0xd8>(r, src_ip);
  put<0xe0>(r, std::uint64_t{0});
  put<0xe8>(r, dst_ip);
  put<0xf0>(r, std::uint64_t{0});
  put<0xf8>(r, std::uint64_t{0});  // DropReason::none and the padding
  return r;
}

}  // namespace

ParseResult FrameParser::parse(ConstBytes frame) const noexcept {
  if constexpr (kWordLayout) {
    if (!options_.verify_checksums) {
      const Udp4Match m = match_udp4(frame);
      if (m.off != 0) {
        return parse_udp4(frame, m);
      }
    }
  }
  return parse_general(frame);
}

ParseResult FrameParser::parse_general(ConstBytes frame) const noexcept {
  ParseResult r;
  ParsedFrame& f = r.frame;
  f.bytes = frame;
  const std::byte* d = frame.data();
  const std::size_t size = frame.size();
  if (size < EthernetView::kSize) {
    r.drop = DropReason::truncated_ethernet;
    return r;
  }
  // Straight from the frame into the result: through MacAddress temporaries g++ left dead copies
  // of both addresses on the stack.
  static_assert(std::is_trivially_copyable_v<MacAddress> && sizeof(MacAddress) == 6);
  std::memcpy(static_cast<void*>(&f.dst), d, 6);
  std::memcpy(static_cast<void*>(&f.src), d + 6, 6);
  std::size_t off = 12;  // where the current EtherType or TPID sits
  std::uint16_t type = load_be16(frame, 12);
  // The IDs also go into locals for the key: reading them back from the result right after
  // storing them stalls on store forwarding.
  std::array<std::uint16_t, kMaxVlanDepth> ids{VlanStack::kNoVlan, VlanStack::kNoVlan};
  std::size_t depth = 0;
  while (is_vlan_tpid(type)) {
    if (depth == kMaxVlanDepth) {
      r.drop = DropReason::vlan_stack_too_deep;
      return r;
    }
    // TPID + TCI + the next EtherType.
    if (size < off + VlanTagView::kSize + 2) {
      r.drop = DropReason::truncated_vlan;
      return r;
    }
    const std::uint32_t tag_and_next = load_be32(frame, off + 2);
    const VlanTag tag = VlanTag::from_tci(type, static_cast<std::uint16_t>(tag_and_next >> 16U));
    ids[depth++] = tag.id;
    f.vlans.push_back(tag);
    off += VlanTagView::kSize;
    type = static_cast<std::uint16_t>(tag_and_next);
  }
  off += 2;
  f.ether_type = type;
  f.key = L2Key::from_frame(frame, ids[0], ids[1], type);
  const ConstBytes l3(d + off, size - off);
  if (type == kEtherTypeIpv4) {
    r.drop = parse_ipv4(f, l3);
    return r;
  }
  switch (type) {
    case kEtherTypeIpv6: r.drop = parse_ipv6(f, l3); break;
    case kEtherTypeArp: {
      if (l3.size() < ArpView::kSize) {
        r.drop = DropReason::truncated_arp;
        break;
      }
      const ArpView arp(l3);
      if (!arp.is_ethernet_ipv4()) {
        r.drop = DropReason::unsupported_arp;
        break;
      }
      f.l3 = L3Kind::arp;
      f.l3_bytes = l3.first(ArpView::kSize);
      f.payload = l3.subspan(ArpView::kSize, 0);
      f.trailing = l3.size() - ArpView::kSize;
      break;
    }
    default:
      if (!options_.accept_unknown_ether_type) {
        r.drop = DropReason::unsupported_ether_type;
        break;
      }
      f.l3_bytes = l3;
      f.payload = l3;
      break;
  }
  return r;
}

DropReason FrameParser::parse_ipv6(ParsedFrame& f, ConstBytes l3) const noexcept {
  if (l3.size() < Ipv6View::kSize) {
    return DropReason::truncated_ipv6;
  }
  const Ipv6View ip(l3);
  if (ip.version() != 6) {
    return DropReason::bad_ip_version;
  }
  const std::size_t plen = ip.payload_length();
  if (plen > l3.size() - Ipv6View::kSize) {
    return DropReason::ipv6_payload_length_exceeds_frame;
  }
  f.l3 = L3Kind::ipv6;
  f.l3_bytes = l3.first(Ipv6View::kSize + plen);
  f.trailing = l3.size() - Ipv6View::kSize - plen;
  std::memcpy(f.src_ip_bytes_.data(), l3.data() + 8, 16);
  std::memcpy(f.dst_ip_bytes_.data(), l3.data() + 24, 16);
  Ipv6Fields& v6 = f.ipv6;
  v6.traffic_class = ip.traffic_class();
  v6.flow_label = ip.flow_label();
  v6.payload_length = ip.payload_length();
  v6.next_header = ip.next_header();
  v6.hop_limit = ip.hop_limit();
  ConstBytes rest = l3.subspan(Ipv6View::kSize, plen);
  std::uint8_t nh = ip.next_header();
  while (is_ipv6_extension(nh)) {
    if (nh == kIpProtoFragment) {
      return DropReason::ipv6_fragment;
    }
    if (v6.extension_count == kMaxIpv6Extensions) {
      return DropReason::ipv6_extension_chain_too_long;
    }
    if (rest.size() < Ipv6ExtensionView::kMinSize) {
      return DropReason::truncated_ipv6_extension;
    }
    const Ipv6ExtensionView ext(rest);
    const std::size_t size = ext.size();
    if (rest.size() < size) {
      return DropReason::truncated_ipv6_extension;
    }
    v6.extension_refs[v6.extension_count++] =
        Ipv6ExtensionRef{static_cast<std::uint16_t>(rest.data() - f.bytes.data()),
                         static_cast<std::uint16_t>(size), nh};
    nh = ext.next_header();
    rest = rest.subspan(size);
  }
  return parse_l4(f, rest, nh);
}

DropReason FrameParser::parse_icmp(ParsedFrame& f, ConstBytes l4, bool v6) const noexcept {
  if (l4.size() < IcmpView::kSize) {
    return DropReason::truncated_icmp;
  }
  const IcmpView icmp(l4);
  f.l4 = v6 ? L4Kind::icmpv6 : L4Kind::icmpv4;
  f.icmp.type = icmp.type();
  f.icmp.code = icmp.code();
  f.icmp.checksum = icmp.checksum();
  f.icmp.rest = icmp.rest();
  f.payload = l4.subspan(IcmpView::kSize);
  if (options_.verify_checksums) {
    std::uint64_t sum = checksum_add_without_field(0, l4, 2);
    if (v6) {
      sum += pseudo_header_sum_of(f.l3_bytes, true, kIpProtoIcmpv6,
                                  static_cast<std::uint32_t>(l4.size()));
    }
    if (checksum_finish(sum) != icmp.checksum()) {
      return DropReason::bad_icmp_checksum;
    }
  }
  // Errors quote a datagram (decoded on demand by ParsedFrame::quoted()); NS/NA carry options
  // that must be well formed, checked here so ParsedFrame::ndp() can walk them blindly.
  const std::uint8_t type = icmp.type();
  if (!v6 || (type != kIcmpv6NeighborSolicit && type != kIcmpv6NeighborAdvert)) {
    return DropReason::none;
  }
  if (l4.size() < NdpView::kMinSize) {
    return DropReason::truncated_ndp;
  }
  ConstBytes opts = NdpView(l4).options();
  while (!opts.empty()) {
    // Length in units of 8 octets; 0 is invalid (RFC 4861 §4.6) and would loop forever.
    if (opts.size() < 2) {
      return DropReason::bad_ndp_option;
    }
    const std::size_t len = std::size_t{load_u8(opts, 1)} * 8U;
    if (len == 0 || len > opts.size()) {
      return DropReason::bad_ndp_option;
    }
    opts = opts.subspan(len);
  }
  return DropReason::none;
}

}  // namespace etherpath::wire
