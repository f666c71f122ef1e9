// ARP/NDP frame building and the request responder.
#include "conn/neighbor_frames.hpp"

#include "conn/wire/arp_ndp.hpp"
#include "conn/wire/ethernet.hpp"
#include "conn/wire/frame_builder.hpp"
#include "conn/wire/icmp.hpp"

namespace etherpath::conn {
namespace {

// RFC 4861 §7.1: ND messages are sent and accepted only with hop limit 255.
constexpr std::uint8_t kNdHopLimit = 255;
constexpr std::uint8_t kIcmpv6NeighborSolicit = 135;
constexpr std::uint8_t kIcmpv6NeighborAdvert = 136;

Result<Bytes> finish(wire::FrameBuilder& b, const char* what) {
  auto frame = b.finish();
  if (!frame) {
    return fail(frame.error().wrap(what));
  }
  return frame;
}

Result<Bytes> build_arp(Bytes buffer, const Station& self, const MacAddress& dst,
                        const wire::ArpSpec& spec) {
  if (!spec.sender_ip.is_v4() || !spec.target_ip.is_v4()) {
    return fail(Errc::invalid_argument, "ARP needs IPv4 addresses");
  }
  wire::FrameBuilder b(buffer);
  b.push_arp(spec).push_vlans(self.vlans).push_ethernet(dst, self.mac);
  return finish(b, "ARP");
}

Result<Bytes> build_ndp_advert(Bytes buffer, const Station& self, const IpAddress& target,
                               const MacAddress& dst_mac, const IpAddress& dst_ip,
                               std::uint8_t flags) {
  if (!target.is_v6() || !dst_ip.is_v6()) {
    return fail(Errc::invalid_argument, "neighbour advertisement needs IPv6 addresses");
  }
  wire::FrameBuilder b(buffer);
  b.push_neighbor_advert(target, flags, self.mac)
      .push_ipv6({.src = target, .dst = dst_ip, .hop_limit = kNdHopLimit})
      .push_vlans(self.vlans)
      .push_ethernet(dst_mac, self.mac);
  return finish(b, "neighbour advertisement");
}

}  // namespace

IpAddress solicited_node_multicast(const IpAddress& ip) {
  IpAddress::Bytes16 b{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0, 0, 0};
  b[13] = ip.bytes()[13];
  b[14] = ip.bytes()[14];
  b[15] = ip.bytes()[15];
  return IpAddress::v6(b);
}

MacAddress ipv6_multicast_mac(const IpAddress& group) {
  const auto& g = group.bytes();
  return MacAddress(MacAddress::Octets{0x33, 0x33, g[12], g[13], g[14], g[15]});
}

IpAddress link_local_from_mac(const MacAddress& mac) {
  const auto& m = mac.octets();
  // Flip the universal/local bit and put ff:fe in the middle.
  return IpAddress::v6({0xfe, 0x80, 0, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(m[0] ^ 0x02U), m[1],
                        m[2], 0xff, 0xfe, m[3], m[4], m[5]});
}

Result<Bytes> build_arp_request(Bytes buffer, const Station& self, const IpAddress& sender_ip,
                                const IpAddress& target_ip) {
  return build_arp(buffer, self, MacAddress::broadcast(),
                   {.op = wire::kArpRequest,
                    .sender_mac = self.mac,
                    .sender_ip = sender_ip,
                    .target_mac = MacAddress(),
                    .target_ip = target_ip});
}

Result<Bytes> build_arp_reply(Bytes buffer, const Station& self, const IpAddress& sender_ip,
                              const MacAddress& target_mac, const IpAddress& target_ip) {
  return build_arp(buffer, self, target_mac,
                   {.op = wire::kArpReply,
                    .sender_mac = self.mac,
                    .sender_ip = sender_ip,
                    .target_mac = target_mac,
                    .target_ip = target_ip});
}

Result<Bytes> build_gratuitous_arp(Bytes buffer, const Station& self, const IpAddress& ip) {
  return build_arp_request(buffer, self, ip, ip);
}

Result<Bytes> build_neighbor_solicit(Bytes buffer, const Station& self, const IpAddress& src_ip,
                                     const IpAddress& target) {
  if (!src_ip.is_v6() || !target.is_v6()) {
    return fail(Errc::invalid_argument, "neighbour solicitation needs IPv6 addresses");
  }
  const IpAddress group = solicited_node_multicast(target);
  wire::FrameBuilder b(buffer);
  // From the unspecified address (duplicate address detection) no link-layer option may go.
  const std::optional<MacAddress> slla =
      src_ip.is_unspecified() ? std::nullopt : std::optional(self.mac);
  b.push_neighbor_solicit(target, slla)
      .push_ipv6({.src = src_ip, .dst = group, .hop_limit = kNdHopLimit})
      .push_vlans(self.vlans)
      .push_ethernet(ipv6_multicast_mac(group), self.mac);
  return finish(b, "neighbour solicitation");
}

Result<Bytes> build_neighbor_advert(Bytes buffer, const Station& self, const IpAddress& target,
                                    const MacAddress& dst_mac, const IpAddress& dst_ip,
                                    bool solicited) {
  const std::uint8_t flags =
      wire::kNdpFlagOverride | (solicited ? wire::kNdpFlagSolicited : std::uint8_t{0});
  return build_ndp_advert(buffer, self, target, dst_mac, dst_ip, flags);
}

Result<Bytes> build_unsolicited_advert(Bytes buffer, const Station& self, const IpAddress& target) {
  const IpAddress all_nodes =
      IpAddress::v6({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01});
  return build_ndp_advert(buffer, self, target, ipv6_multicast_mac(all_nodes), all_nodes,
                          wire::kNdpFlagOverride);
}

std::optional<Result<Bytes>> answer_neighbor_request(const wire::ParsedFrame& frame,
                                                     const MacAddress& self_mac,
                                                     const OwnsAddress& owns, Bytes buffer) {
  const Station self{self_mac, frame.vlans};
  if (frame.l3 == wire::L3Kind::arp) {
    const wire::ArpFields arp = frame.arp();
    if (arp.op != wire::kArpRequest || !owns(arp.target_ip) ||
        arp.sender_ip == arp.target_ip) {  // someone else's announcement, not a question
      return std::nullopt;
    }
    return build_arp_reply(buffer, self, arp.target_ip, arp.sender_mac, arp.sender_ip);
  }
  if (frame.l4 != wire::L4Kind::icmpv6 || frame.icmp.type != kIcmpv6NeighborSolicit ||
      frame.ipv6.hop_limit != kNdHopLimit) {
    return std::nullopt;
  }
  const auto ndp = frame.ndp();
  if (!ndp || !owns(ndp->target)) {
    return std::nullopt;
  }
  const IpAddress src = frame.ip_src();
  if (src.is_unspecified()) {
    // Duplicate address detection by someone else: defend, to all nodes (RFC 4861 §7.2.4).
    return build_unsolicited_advert(buffer, self, ndp->target);
  }
  const MacAddress reply_to = ndp->source_mac.value_or(frame.src);
  return build_neighbor_advert(buffer, self, ndp->target, reply_to, src, true);
}

std::optional<LearntNeighbor> learn_from(const wire::ParsedFrame& frame) {
  if (frame.l3 == wire::L3Kind::arp) {
    const wire::ArpFields arp = frame.arp();
    if (arp.sender_ip.is_unspecified() || arp.sender_mac.is_zero()) {
      return std::nullopt;  // ARP probes (RFC 5227) teach nothing
    }
    return LearntNeighbor{arp.sender_ip, arp.sender_mac};
  }
  if (frame.l4 != wire::L4Kind::icmpv6 || frame.ipv6.hop_limit != kNdHopLimit) {
    return std::nullopt;
  }
  const auto ndp = frame.ndp();
  if (!ndp) {
    return std::nullopt;
  }
  const IpAddress src = frame.ip_src();
  if (frame.icmp.type == kIcmpv6NeighborSolicit && ndp->source_mac && !src.is_unspecified()) {
    return LearntNeighbor{src, *ndp->source_mac};
  }
  if (frame.icmp.type == kIcmpv6NeighborAdvert) {
    return LearntNeighbor{ndp->target, ndp->target_mac.value_or(frame.src)};
  }
  return std::nullopt;
}

}  // namespace etherpath::conn
