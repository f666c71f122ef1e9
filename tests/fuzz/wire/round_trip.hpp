// Rebuilds a parsed frame with FrameBuilder from its parsed fields: the round-trip oracle shared
// by the fuzz target and the unit tests.
#pragma once

#include <optional>
#include <vector>

#include "conn/wire/frame_builder.hpp"
#include "conn/wire/frame_parser.hpp"

namespace etherpath::wire::testing {

// Whether building from the fields must give the frame back: it parsed with checksums verified,
// nothing follows the datagram, and no field the builder always computes was left out on the
// wire (an IPv4 UDP checksum of 0 means "none"; the builder always computes one).
inline bool round_trip_applies(const ParseResult& r) {
  return r && r.frame.trailing == 0 && r.frame.l3 != L3Kind::none &&
         !(r.frame.l4 == L4Kind::udp && r.frame.udp.checksum == 0);
}

// The frame FrameBuilder makes from `f`'s fields, in `buffer` (at least 2 * frame size + 64).
inline Result<Bytes> rebuild(const ParsedFrame& f, Bytes buffer) {
  FrameBuilder b(buffer, f.bytes.size() + 32);
  switch (f.l4) {
    case L4Kind::udp: b.payload(f.payload).push_udp(f.udp.src_port, f.udp.dst_port); break;
    case L4Kind::icmpv4:
    case L4Kind::icmpv6:
      b.payload(f.payload).push_icmp(f.icmp.type, f.icmp.code, f.icmp.rest);
      break;
    case L4Kind::other: b.payload(f.payload); break;
    case L4Kind::none: break;
  }
  if (f.l3 == L3Kind::ipv4) {
    b.push_ipv4({.src = f.ip_src(),
                 .dst = f.ip_dst(),
                 .ttl = f.ipv4.ttl,
                 .tos = f.ipv4.tos,
                 .id = f.ipv4.id,
                 .flags = f.ipv4.flags,
                 .fragment_offset = f.ipv4.fragment_offset,
                 .protocol = f.ipv4.protocol,
                 .options = f.ipv4.options});
  } else if (f.l3 == L3Kind::ipv6) {
    const std::size_t n = f.ipv6.extension_count;
    for (std::size_t i = n; i > 0; --i) {
      const std::uint8_t next = i == n ? f.ip_protocol : f.ipv6_extension(i).type;
      const Ipv6Extension ext = f.ipv6_extension(i - 1);
      b.push_ipv6_extension(ext.type, ext.bytes.subspan(2), next);
    }
    b.push_ipv6({.src = f.ip_src(),
                 .dst = f.ip_dst(),
                 .hop_limit = f.ipv6.hop_limit,
                 .traffic_class = f.ipv6.traffic_class,
                 .flow_label = f.ipv6.flow_label,
                 .next_header = f.ipv6.next_header});
  } else if (f.l3 == L3Kind::arp) {
    const ArpFields arp = f.arp();
    b.push_arp({.op = arp.op,
                .sender_mac = arp.sender_mac,
                .sender_ip = arp.sender_ip,
                .target_mac = arp.target_mac,
                .target_ip = arp.target_ip});
  }
  b.push_vlans(f.vlans).push_ethernet(f.dst, f.src);
  return b.finish();
}

}  // namespace etherpath::wire::testing
