// FrameParser: Ethernet, up to kMaxVlanDepth tags, IPv4/IPv6 (bounded extension walk), ARP, UDP,
// ICMPv4/v6 with NDP and quoted datagrams. Every read is preceded by a length check.
#include "conn/wire/frame_parser.hpp"

#include <array>
#include <cstring>

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

bool is_ipv6_extension(std::uint8_t nh) noexcept {
  return nh == kIpProtoHopByHop || nh == kIpProtoRouting || nh == kIpProtoDestOptions ||
         nh == kIpProtoFragment;
}

}  // namespace

ParseResult FrameParser::parse(ConstBytes frame) const noexcept {
  ParseResult r;
  ParsedFrame& f = r.frame;
  f.bytes = frame;
  if (frame.size() < EthernetView::kSize) {
    r.drop = DropReason::truncated_ethernet;
    return r;
  }
  const EthernetView eth(frame);
  f.dst = eth.dst();
  f.src = eth.src();
  std::size_t off = 12;  // where the current EtherType or TPID sits
  std::uint16_t type = eth.ether_type();
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
    if (frame.size() < off + VlanTagView::kSize + 2) {
      r.drop = DropReason::truncated_vlan;
      return r;
    }
    const VlanTag tag = VlanTagView(frame.subspan(off)).tag();
    ids[depth++] = tag.id;
    f.vlans.push_back(tag);
    off += VlanTagView::kSize;
    type = load_be16(frame, off);
  }
  off += 2;
  f.ether_type = type;
  f.key = L2Key::from_frame(frame, ids[0], ids[1], type);
  const ConstBytes l3 = frame.subspan(off);
  switch (type) {
    case kEtherTypeIpv4: r.drop = parse_ipv4(f, l3); break;
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

DropReason FrameParser::parse_ipv4(ParsedFrame& f, ConstBytes l3) const noexcept {
  if (l3.size() < Ipv4View::kMinSize) {
    return DropReason::truncated_ipv4;
  }
  const Ipv4View ip(l3);
  if (ip.version() != 4) {
    return DropReason::bad_ip_version;
  }
  if (ip.ihl() < 5) {
    return DropReason::bad_ipv4_ihl;
  }
  const std::size_t hl = ip.header_length();
  if (l3.size() < hl) {
    return DropReason::truncated_ipv4;
  }
  const std::size_t total = ip.total_length();
  if (total < hl) {
    return DropReason::ipv4_total_length_too_short;
  }
  if (total > l3.size()) {
    return DropReason::ipv4_total_length_exceeds_frame;
  }
  f.l3 = L3Kind::ipv4;
  f.l3_bytes = l3.first(total);
  f.trailing = l3.size() - total;
  // Member by member, straight into the result: a temporary built field by field and then
  // copied whole is read back before its narrow stores retire (a store-forwarding stall).
  std::memcpy(f.src_ip_bytes.data(), l3.data() + 12, 4);
  std::memcpy(f.dst_ip_bytes.data(), l3.data() + 16, 4);
  Ipv4Fields& v4 = f.ipv4;
  v4.ihl = ip.ihl();
  v4.tos = ip.tos();
  v4.total_length = ip.total_length();
  v4.id = ip.id();
  v4.flags = ip.flags();
  v4.fragment_offset = ip.fragment_offset();
  v4.ttl = ip.ttl();
  v4.protocol = ip.protocol();
  v4.checksum = ip.checksum();
  v4.options = ip.options();
  if (ip.mf() || ip.fragment_offset() != 0) {
    return DropReason::ipv4_fragment;
  }
  if (options_.verify_checksums && !ip.checksum_ok()) {
    return DropReason::bad_ipv4_checksum;
  }
  return parse_l4(f, l3.subspan(hl, total - hl), ip.protocol());
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
  std::memcpy(f.src_ip_bytes.data(), l3.data() + 8, 16);
  std::memcpy(f.dst_ip_bytes.data(), l3.data() + 24, 16);
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

DropReason FrameParser::parse_l4(ParsedFrame& f, ConstBytes l4,
                                 std::uint8_t protocol) const noexcept {
  f.ip_protocol = protocol;
  f.l4_bytes = l4;
  const bool v6 = f.l3 == L3Kind::ipv6;
  if (protocol == kIpProtoUdp) {
    if (l4.size() < UdpView::kSize) {
      return DropReason::truncated_udp;
    }
    const UdpView udp(l4);
    const std::size_t len = udp.length();
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
    f.udp.src_port = udp.src_port();
    f.udp.dst_port = udp.dst_port();
    f.udp.length = udp.length();
    f.udp.checksum = udp.checksum();
    f.payload = l4.subspan(UdpView::kSize);
    if (options_.verify_checksums) {
      const std::uint16_t field = udp.checksum();
      if (field == 0) {
        // IPv4 allows "no checksum"; IPv6 does not (RFC 8200 §8.1).
        return v6 ? DropReason::udp_zero_checksum_ipv6 : DropReason::none;
      }
      const std::uint64_t sum = checksum_add_without_field(
          pseudo_header_sum_of(f.l3_bytes, v6, kIpProtoUdp, static_cast<std::uint32_t>(len)), l4,
          6);
      if (udp_checksum_finish(sum) != field) {
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
