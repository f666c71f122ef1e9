// L2Key's byte and text forms, and describe(), the human-readable decode of a ParsedFrame.
#include "conn/wire/parsed_frame.hpp"

#include <fmt/format.h>

#include <iterator>

#include "conn/wire/arp_ndp.hpp"
#include "conn/wire/icmp.hpp"
#include "conn/wire/ipv6.hpp"
#include "conn/wire/udp.hpp"

namespace etherpath::wire {

std::array<std::uint8_t, 12> L2Key::to_bytes() const noexcept {
  std::array<std::uint8_t, 12> out{};
  for (std::size_t i = 0; i < mac.size(); ++i) {
    out[i] = mac[i];
  }
  const auto put = [&](std::size_t at, std::uint16_t v) {
    out[at] = static_cast<std::uint8_t>(v >> 8U);
    out[at + 1] = static_cast<std::uint8_t>(v);
  };
  put(6, outer_vlan);
  put(8, inner_vlan);
  put(10, ether_type);
  return out;
}

std::string L2Key::to_string() const {
  return fmt::format("{}|{}|{}#0x{:04x}", mac_address().to_string(), outer_vlan, inner_vlan,
                     ether_type);
}

std::uint64_t L2Key::hash_value() const noexcept {
  // 96 bits into 64: the MAC and the tags/EtherType, mixed by a multiplicative hash (Fibonacci).
  const std::uint64_t a = MacAddress(mac).to_u64();
  const std::uint64_t b =
      (std::uint64_t{outer_vlan} << 32U) | (std::uint64_t{inner_vlan} << 16U) | ether_type;
  std::uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
  h ^= h >> 33U;
  return h;
}

ArpFields ParsedFrame::arp() const noexcept {
  if (l3 != L3Kind::arp) {
    return {};
  }
  const ArpView a(l3_bytes);
  return ArpFields{a.op(), a.sender_mac(), a.sender_ip(), a.target_mac(), a.target_ip()};
}

std::optional<NdpFields> ParsedFrame::ndp() const noexcept {
  if (l4 != L4Kind::icmpv6 ||
      (icmp.type != kIcmpv6NeighborSolicit && icmp.type != kIcmpv6NeighborAdvert)) {
    return std::nullopt;
  }
  // A dropped frame (truncated_ndp) still says ICMPv6 NS/NA: check the size here too. Options
  // are walked defensively for the same reason.
  if (l4_bytes.size() < NdpView::kMinSize) {
    return std::nullopt;
  }
  const NdpView nd(l4_bytes);
  NdpFields out;
  out.target = nd.target();
  out.flags = icmp.type == kIcmpv6NeighborAdvert ? nd.flags() : std::uint8_t{0};
  ConstBytes opts = nd.options();
  while (opts.size() >= 2) {
    const std::size_t len = std::size_t{load_u8(opts, 1)} * 8U;
    if (len == 0 || len > opts.size()) {
      break;
    }
    const std::uint8_t opt = load_u8(opts, 0);
    if (opt == kNdpOptionSourceLinkAddress) {
      out.source_mac = load_mac(opts, 2);
    } else if (opt == kNdpOptionTargetLinkAddress) {
      out.target_mac = load_mac(opts, 2);
    }
    opts = opts.subspan(len);
  }
  return out;
}

std::optional<QuotedDatagram> ParsedFrame::quoted() const noexcept {
  const bool v6 = l4 == L4Kind::icmpv6;
  if (v6) {
    if (icmp.type != kIcmpv6DestUnreachable && icmp.type != kIcmpv6PacketTooBig &&
        icmp.type != kIcmpv6TimeExceeded) {
      return std::nullopt;
    }
  } else if (l4 != L4Kind::icmpv4 ||
             (icmp.type != kIcmpv4DestUnreachable && icmp.type != kIcmpv4TimeExceeded)) {
    return std::nullopt;
  }
  const ConstBytes q = payload;
  QuotedDatagram d;
  std::size_t hl = 0;
  if (!v6) {
    if (q.size() < Ipv4View::kMinSize) {
      return std::nullopt;
    }
    const Ipv4View ip(q);
    hl = ip.header_length();
    if (ip.version() != 4 || hl < Ipv4View::kMinSize || q.size() < hl) {
      return std::nullopt;
    }
    d.src = ip.src();
    d.dst = ip.dst();
    d.protocol = ip.protocol();
  } else {
    if (q.size() < Ipv6View::kSize) {
      return std::nullopt;
    }
    const Ipv6View ip(q);
    if (ip.version() != 6) {
      return std::nullopt;
    }
    hl = Ipv6View::kSize;
    d.src = ip.src();
    d.dst = ip.dst();
    d.protocol = ip.next_header();
  }
  const ConstBytes l4q = q.subspan(hl);
  if (l4q.size() >= 8) {
    if (d.protocol == kIpProtoUdp || d.protocol == kIpProtoTcp) {
      d.has_ports = true;
      d.src_port = load_be16(l4q, 0);
      d.dst_port = load_be16(l4q, 2);
    } else if (d.protocol == (v6 ? kIpProtoIcmpv6 : kIpProtoIcmp)) {
      d.has_ports = true;
      d.src_port = load_be16(l4q, 4);
      d.dst_port = load_be16(l4q, 6);
    }
  }
  return d;
}

namespace {

std::string_view icmp_name(std::uint8_t type, bool v6) {
  if (!v6) {
    switch (type) {
      case kIcmpv4EchoReply: return "echo-reply";
      case kIcmpv4EchoRequest: return "echo-request";
      case kIcmpv4DestUnreachable: return "dest-unreachable";
      case kIcmpv4TimeExceeded: return "time-exceeded";
      default: return "icmp";
    }
  }
  switch (type) {
    case kIcmpv6EchoRequest: return "echo-request";
    case kIcmpv6EchoReply: return "echo-reply";
    case kIcmpv6DestUnreachable: return "dest-unreachable";
    case kIcmpv6PacketTooBig: return "packet-too-big";
    case kIcmpv6TimeExceeded: return "time-exceeded";
    case kIcmpv6NeighborSolicit: return "neighbor-solicitation";
    case kIcmpv6NeighborAdvert: return "neighbor-advertisement";
    default: return "icmpv6";
  }
}

}  // namespace

std::string describe(const ParsedFrame& f) {
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "Ethernet  {} -> {}  type 0x{:04x}  {} bytes\n", f.src.to_string(),
                 f.dst.to_string(), f.ether_type, f.bytes.size());
  for (const auto& tag : f.vlans) {
    fmt::format_to(it, "VLAN      tpid 0x{:04x}  id {}  pcp {}  dei {}\n", tag.tpid, tag.id,
                   tag.pcp, tag.dei ? 1 : 0);
  }
  fmt::format_to(it, "L2 key    {}\n", f.key.to_string());
  if (f.l3 == L3Kind::ipv4) {
    fmt::format_to(it,
                   "IPv4      {} -> {}  tos 0x{:02x}  id {}  flags{}{}  ttl {}  proto {}  len {}  "
                   "ihl {}  csum 0x{:04x}\n",
                   f.ip_src().to_string(), f.ip_dst().to_string(), f.ipv4.tos, f.ipv4.id,
                   f.ipv4.df() ? " DF" : "", f.ipv4.mf() ? " MF" : "", f.ipv4.ttl, f.ipv4.protocol,
                   f.ipv4.total_length, f.ipv4.ihl, f.ipv4.checksum);
  } else if (f.l3 == L3Kind::ipv6) {
    fmt::format_to(it,
                   "IPv6      {} -> {}  tc 0x{:02x}  flow 0x{:05x}  hlim {}  next {}  plen {}\n",
                   f.ip_src().to_string(), f.ip_dst().to_string(), f.ipv6.traffic_class,
                   f.ipv6.flow_label, f.ipv6.hop_limit, f.ipv6.next_header, f.ipv6.payload_length);
    for (std::size_t i = 0; i < f.ipv6.extension_count; ++i) {
      const Ipv6Extension ext = f.ipv6_extension(i);
      fmt::format_to(it, "IPv6 ext  type {}  {} bytes\n", ext.type, ext.bytes.size());
    }
  } else if (f.l3 == L3Kind::arp) {
    const ArpFields arp = f.arp();
    fmt::format_to(it, "ARP       {}  sender {} {}  target {} {}\n",
                   arp.op == kArpRequest ? "request" : (arp.op == kArpReply ? "reply" : "op?"),
                   arp.sender_mac.to_string(), arp.sender_ip.to_string(),
                   arp.target_mac.to_string(), arp.target_ip.to_string());
  }
  switch (f.l4) {
    case L4Kind::udp:
      fmt::format_to(it, "UDP       {} -> {}  len {}  csum 0x{:04x}\n", f.udp.src_port,
                     f.udp.dst_port, f.udp.length, f.udp.checksum);
      break;
    case L4Kind::icmpv4:
    case L4Kind::icmpv6: {
      const bool v6 = f.l4 == L4Kind::icmpv6;
      fmt::format_to(it, "{}    {} (type {} code {})  csum 0x{:04x}", v6 ? "ICMPv6" : "ICMP  ",
                     icmp_name(f.icmp.type, v6), f.icmp.type, f.icmp.code, f.icmp.checksum);
      const bool echo = v6 ? (f.icmp.type == kIcmpv6EchoRequest || f.icmp.type == kIcmpv6EchoReply)
                           : (f.icmp.type == kIcmpv4EchoRequest || f.icmp.type == kIcmpv4EchoReply);
      if (echo) {
        fmt::format_to(it, "  id {}  seq {}", f.icmp.echo_id(), f.icmp.echo_seq());
      }
      if (const auto quoted = f.quoted()) {
        const auto& q = *quoted;
        fmt::format_to(it, "  quoting {} -> {} proto {}", q.src.to_string(), q.dst.to_string(),
                       q.protocol);
        if (q.has_ports) {
          fmt::format_to(it, " {} -> {}", q.src_port, q.dst_port);
        }
      }
      fmt::format_to(it, "\n");
      if (const auto ndp = f.ndp()) {
        fmt::format_to(it, "NDP       target {}  flags 0x{:02x}", ndp->target.to_string(),
                       ndp->flags);
        if (ndp->source_mac) {
          fmt::format_to(it, "  source-lla {}", ndp->source_mac->to_string());
        }
        if (ndp->target_mac) {
          fmt::format_to(it, "  target-lla {}", ndp->target_mac->to_string());
        }
        fmt::format_to(it, "\n");
      }
      break;
    }
    case L4Kind::other: fmt::format_to(it, "L4        protocol {}\n", f.ip_protocol); break;
    case L4Kind::none: break;
  }
  fmt::format_to(it, "Payload   {} bytes", f.payload.size());
  if (f.trailing != 0) {
    fmt::format_to(it, "  (+{} bytes of padding)", f.trailing);
  }
  fmt::format_to(it, "\n");
  return out;
}

}  // namespace etherpath::wire
