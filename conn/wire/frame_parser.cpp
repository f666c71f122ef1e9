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

// An address as IpAddress lays it out (family byte, then 16 address bytes, IPv4 in the first 4)
// in one 16-byte and one 1-byte store: readers copy an IpAddress with a 16-byte load, which
// IpAddress::v4()/v6()'s narrow stores would leave to stall on store forwarding.
void store_address(IpAddress& a, IpFamily family, const std::byte* p) noexcept {
  if constexpr (detail::kWordLayout) {
    const auto f = static_cast<std::uint8_t>(family);
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
    if (family == IpFamily::v4) {
      lo = f | (std::uint64_t{detail::raw_u32(p)} << 8U);
    } else {
      const std::uint64_t a0 = detail::raw_u64(p);
      const std::uint64_t a8 = detail::raw_u64(p + 8);
      lo = f | (a0 << 8U);
      hi = (a0 >> 56U) | (a8 << 8U);
      const auto last = static_cast<std::uint8_t>(a8 >> 56U);
      std::memcpy(static_cast<std::byte*>(static_cast<void*>(&a)) + 16, &last, 1);
    }
    const detail::Bytes16 v{static_cast<long long>(lo), static_cast<long long>(hi)};
    std::memcpy(static_cast<void*>(&a), &v, 16);
    if (family == IpFamily::v4) {
      std::memset(static_cast<std::byte*>(static_cast<void*>(&a)) + 16, 0, 1);
    }
  } else {
    const ConstBytes b(p, family == IpFamily::v4 ? 4 : 16);
    a = family == IpFamily::v4 ? IpAddress::v4(load_be32(b, 0)) : load_ipv6(b, 0);
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
  store_address(f.src_ip_, IpFamily::v4, ip + 12);
  store_address(f.dst_ip_, IpFamily::v4, ip + 16);
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
  store_address(f.src_ip_, IpFamily::v6, l3.data() + 8);
  store_address(f.dst_ip_, IpFamily::v6, l3.data() + 24);
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
