// Frame parsing with checksum checks, and header writing with checksums from cached payload sums.
#include "relay/frame_rewrite.hpp"

#include <cstring>

#include "conn/wire/checksum.hpp"
#include "conn/wire/ethernet.hpp"
#include "conn/wire/frame_parser.hpp"

namespace etherpath::relay {
namespace {

constexpr std::uint32_t kEthernetSize = 14;
constexpr std::uint32_t kVlanSize = 4;
constexpr std::uint32_t kIpv4Size = 20;
constexpr std::uint32_t kIpv6Size = 40;
constexpr std::uint32_t kUdpSize = 8;
constexpr std::uint32_t kIcmpHeaderSize = 8;
constexpr std::uint8_t kTtl = 64;

std::uint64_t address_sum(const IpAddress& a) noexcept {
  if (a.is_v4()) {
    const std::uint32_t v = a.v4_host();
    return std::uint64_t{v >> 16U} + (v & 0xffffU);
  }
  return wire::checksum_add(0, std::as_bytes(std::span(a.bytes())));
}

// The common frame (Ethernet without tags, IPv4 without options, not a fragment, UDP whose length
// fills the packet, checksums right) in straight-line code; false for anything else, which the
// full parse then handles (and names the reason for). It accepts exactly what the full parse
// accepts, with the same result.
bool parse_ipv4_udp_fast(ConstBytes frame, RxFrame& r) noexcept {
  constexpr std::uint32_t kL3 = kEthernetSize;
  constexpr std::uint32_t kL4 = kL3 + kIpv4Size;
  constexpr std::uint32_t kBody = kL4 + kUdpSize;
  if (frame.size() < kBody || load_be16(frame, 12) != wire::kEtherTypeIpv4 ||
      load_u8(frame, kL3) != 0x45 || load_u8(frame, kL3 + 9) != kProtoUdp ||
      (load_be16(frame, kL3 + 6) & 0x3fffU) != 0) {
    return false;
  }
  const std::uint16_t total = load_be16(frame, kL3 + 2);
  const std::uint16_t udp_length = load_be16(frame, kL4 + 4);
  if (total < kIpv4Size + kUdpSize || total > frame.size() - kL3 ||
      udp_length != total - kIpv4Size) {
    return false;
  }
  const ConstBytes ip = frame.subspan(kL3, kIpv4Size);
  if (wire::checksum_fold(wire::checksum_add(0, ip)) != 0xffffU) {
    return false;
  }
  const std::uint32_t body_length = udp_length - kUdpSize;
  const std::uint64_t body_sum = wire::checksum_add(0, frame.subspan(kBody, body_length));
  const std::uint16_t src_port = load_be16(frame, kL4);
  const std::uint16_t dst_port = load_be16(frame, kL4 + 2);
  const std::uint16_t checksum = load_be16(frame, kL4 + 6);
  const std::uint32_t src = load_be32(frame, kL3 + 12);
  const std::uint32_t dst = load_be32(frame, kL3 + 16);
  if (checksum != 0) {
    // The pseudo-header (addresses, protocol, UDP length) and the UDP header (ports, length).
    const std::uint64_t sum = std::uint64_t{src >> 16U} + (src & 0xffffU) + (dst >> 16U) +
                              (dst & 0xffffU) + kProtoUdp + 2U * std::uint64_t{udp_length} +
                              src_port + dst_port + body_sum;
    if (wire::udp_checksum_finish(sum) != checksum) {
      return false;
    }
  }
  MacAddress::Octets mac{};
  std::memcpy(mac.data(), frame.data() + 6, 6);
  r.src_mac = MacAddress(mac);
  r.src = IpAddress::v4(src);
  r.dst = IpAddress::v4(dst);
  r.protocol = kProtoUdp;
  r.src_port = src_port;
  r.dst_port = dst_port;
  r.payload_offset = kBody;
  r.payload_length = body_length;
  r.body_offset = kBody;
  r.body_length = body_length;
  r.body_sum = body_sum;
  return true;
}

}  // namespace

RxParse parse_rx(ConstBytes frame) noexcept {
  RxParse out;
  if (parse_ipv4_udp_fast(frame, out.frame)) {
    return out;
  }
  out.frame = RxFrame{};
  // Lengths here; the checksums below, from one pass over the payload whose sum is kept.
  const wire::FrameParser parser;
  const wire::ParseResult p = parser.parse(frame);
  if (!p) {
    out.drop = p.drop;
    return out;
  }
  const wire::ParsedFrame& f = p.frame;
  if (!f.is_ip()) {
    out.drop = wire::DropReason::unsupported_ether_type;
    return out;
  }
  RxFrame& r = out.frame;
  const bool v6 = f.l3 == wire::L3Kind::ipv6;
  r.src_mac = f.src;
  r.src = f.ip_src();
  r.dst = f.ip_dst();
  r.protocol = f.ip_protocol;
  if (!v6) {
    const ConstBytes header = f.l3_bytes.first(std::size_t{f.ipv4.ihl} * 4U);
    if (wire::checksum_fold(wire::checksum_add(0, header)) != 0xffffU) {
      out.drop = wire::DropReason::bad_ipv4_checksum;
      return out;
    }
  }
  const auto at = [&](ConstBytes s) { return static_cast<std::uint32_t>(s.data() - frame.data()); };
  r.body_offset = at(f.payload);
  r.body_length = static_cast<std::uint32_t>(f.payload.size());
  if (f.l4 == wire::L4Kind::udp) {
    r.src_port = f.udp.src_port;
    r.dst_port = f.udp.dst_port;
    r.payload_offset = r.body_offset;
    r.payload_length = r.body_length;
    r.body_sum = wire::checksum_add(0, f.payload);
    const std::uint16_t field = f.udp.checksum;
    if (field == 0) {
      if (v6) {
        out.drop = wire::DropReason::udp_zero_checksum_ipv6;
      }
      return out;
    }
    const std::uint64_t pseudo =
        wire::pseudo_header_sum_of(f.l3_bytes, v6, kProtoUdp, f.udp.length);
    const std::uint64_t sum = pseudo + f.udp.src_port + f.udp.dst_port + f.udp.length + r.body_sum;
    if (wire::udp_checksum_finish(sum) != field) {
      out.drop = wire::DropReason::bad_udp_checksum;
      out.checksum_offloaded = wire::checksum_fold(pseudo) == field;
    }
    return out;
  }
  if (f.l4 == wire::L4Kind::icmpv4 || f.l4 == wire::L4Kind::icmpv6) {
    r.icmp_type = f.icmp.type;
    r.echo_id = f.icmp.echo_id();
    r.payload_offset = at(f.l4_bytes);
    r.payload_length = static_cast<std::uint32_t>(f.l4_bytes.size());
    r.body_sum = wire::checksum_add(0, f.payload);
    std::uint64_t sum =
        wire::checksum_add_without_field(0, f.l4_bytes.first(kIcmpHeaderSize), 2) + r.body_sum;
    if (v6) {
      sum += wire::pseudo_header_sum_of(f.l3_bytes, true, kProtoIcmpv6, r.payload_length);
    }
    if (wire::checksum_finish(sum) != f.icmp.checksum) {
      out.drop = wire::DropReason::bad_icmp_checksum;
    }
    return out;
  }
  // Another protocol: the caller ignores it (nothing we steer).
  r.payload_offset = r.body_offset;
  r.payload_length = r.body_length;
  return out;
}

std::optional<RxKey> peek_key(ConstBytes frame) noexcept {
  constexpr std::uint16_t kTpid8021q = 0x8100;
  constexpr std::uint16_t kTpid8021ad = 0x88a8;
  if (frame.size() < kEthernetSize) {
    return std::nullopt;
  }
  std::size_t at = 12;
  std::uint16_t type = load_be16(frame, at);
  for (std::size_t tags = 0; (type == kTpid8021q || type == kTpid8021ad) && tags < 2; ++tags) {
    if (frame.size() < at + 2 + kVlanSize) {
      return std::nullopt;
    }
    at += kVlanSize;
    type = load_be16(frame, at);
  }
  at += 2;
  RxKey k;
  std::size_t l4 = 0;
  if (type == wire::kEtherTypeIpv4) {
    if (frame.size() < at + kIpv4Size) {
      return std::nullopt;
    }
    k.protocol = load_u8(frame, at + 9);
    k.dst = IpAddress::v4(load_be32(frame, at + 16));
    l4 = at + std::size_t{load_u8(frame, at) & 0x0fU} * 4U;
  } else if (type == wire::kEtherTypeIpv6) {
    if (frame.size() < at + kIpv6Size) {
      return std::nullopt;
    }
    k.protocol = load_u8(frame, at + 6);
    IpAddress::Bytes16 b{};
    std::memcpy(b.data(), frame.data() + at + 24, 16);
    k.dst = IpAddress::v6(b);
    l4 = at + kIpv6Size;
  } else {
    return std::nullopt;
  }
  if (k.protocol == kProtoUdp) {
    if (frame.size() < l4 + 4) {
      return std::nullopt;
    }
    k.port = load_be16(frame, l4 + 2);
    return k;
  }
  if (k.protocol == kProtoIcmp || k.protocol == kProtoIcmpv6) {
    if (frame.size() < l4 + 6) {
      return std::nullopt;
    }
    k.icmp_type = load_u8(frame, l4);
    k.port = load_be16(frame, l4 + 4);
    return k;
  }
  return std::nullopt;
}

std::uint32_t tx_header_size(const TxSide& side, const TxTarget& target) noexcept {
  return kEthernetSize + kVlanSize * static_cast<std::uint32_t>(side.vlans.size()) +
         (target.dst.is_v6() ? kIpv6Size : kIpv4Size) +
         (target.protocol == kProtoUdp ? kUdpSize : 0U);
}

std::uint64_t payload_sum(ConstBytes chunk, std::uint32_t offset, std::uint32_t length,
                          const RxFrame& rx, std::uint32_t rx_base) noexcept {
  const std::uint32_t body = rx_base + rx.body_offset;
  const std::uint32_t end = offset + length;
  if (end == body + rx.body_length && offset <= body && (body - offset) % 2 == 0) {
    return wire::checksum_add(rx.body_sum, chunk.subspan(offset, body - offset));
  }
  return wire::checksum_add(0, chunk.subspan(offset, length));
}

std::optional<std::uint32_t> write_headers(Bytes chunk, std::uint32_t payload_offset,
                                           std::uint32_t payload_length, std::uint64_t payload_sum,
                                           const TxSide& side, const TxTarget& target) noexcept {
  const std::uint32_t hs = tx_header_size(side, target);
  const bool v6 = target.dst.is_v6();
  const bool udp = target.protocol == kProtoUdp;
  const std::uint32_t l4_length = payload_length + (udp ? kUdpSize : 0U);
  if (hs > payload_offset || l4_length > 0xffffU - (v6 ? 0U : kIpv4Size) ||
      side.address.family() != target.dst.family()) {
    return std::nullopt;
  }
  const std::uint32_t start = payload_offset - hs;
  const Bytes f = chunk.subspan(start, hs);
  std::memcpy(f.data(), target.dst_mac.octets().data(), 6);
  std::memcpy(f.data() + 6, side.mac.octets().data(), 6);
  std::size_t at = 12;
  for (const VlanTag& tag : side.vlans) {
    store_be16(f, at, tag.tpid);
    store_be16(f, at + 2, tag.tci());
    at += kVlanSize;
  }
  store_be16(f, at, v6 ? wire::kEtherTypeIpv6 : wire::kEtherTypeIpv4);
  at += 2;
  const std::uint64_t addresses = address_sum(side.address) + address_sum(target.dst);
  const auto l4_len16 = static_cast<std::uint16_t>(l4_length);
  if (v6) {
    store_be32(f, at, 0x60000000U);
    store_be16(f, at + 4, l4_len16);
    store_u8(f, at + 6, target.protocol);
    store_u8(f, at + 7, kTtl);
    std::memcpy(f.data() + at + 8, side.address.bytes().data(), 16);
    std::memcpy(f.data() + at + 24, target.dst.bytes().data(), 16);
    at += kIpv6Size;
  } else {
    const auto total = static_cast<std::uint16_t>(l4_length + kIpv4Size);
    constexpr std::uint16_t kDontFragment = 0x4000;
    store_be16(f, at, 0x4500);
    store_be16(f, at + 2, total);
    store_be16(f, at + 4, target.ipv4_id);
    store_be16(f, at + 6, kDontFragment);
    store_u8(f, at + 8, kTtl);
    store_u8(f, at + 9, target.protocol);
    store_be32(f, at + 12, side.address.v4_host());
    store_be32(f, at + 16, target.dst.v4_host());
    // Summed from the values written, never read back from the frame.
    const std::uint64_t sum = 0x4500U + total + target.ipv4_id + kDontFragment +
                              ((std::uint32_t{kTtl} << 8U) | target.protocol) + addresses;
    store_be16(f, at + 10, wire::checksum_finish(sum));
    at += kIpv4Size;
  }
  const std::uint64_t pseudo = addresses + target.protocol + l4_len16;
  if (udp) {
    store_be16(f, at, target.src_port);
    store_be16(f, at + 2, target.dst_port);
    store_be16(f, at + 4, l4_len16);
    const std::uint64_t sum = pseudo + target.src_port + target.dst_port + l4_len16 + payload_sum;
    store_be16(f, at + 6, wire::udp_checksum_finish(sum));
  } else if (v6 && payload_length >= kIcmpHeaderSize) {
    // The payload's checksum field holds 0 (the forwarder leaves ICMPv6's to the transport), so
    // the payload sum is the sum without the field.
    const Bytes icmp = chunk.subspan(payload_offset, kIcmpHeaderSize);
    store_be16(icmp, 2, wire::checksum_finish(pseudo + payload_sum));
  }
  return start;
}

bool UdpHeaderTemplate::prepare(const TxSide& side, const TxTarget& target) noexcept {
  size_ = 0;
  if (target.protocol != kProtoUdp || side.address.family() != target.dst.family() ||
      side.vlans.size() > 2) {
    return false;
  }
  // write_headers() in front of an empty payload at the end of the buffer gives the bytes; the
  // lengths and checksums it wrote there are overwritten per frame.
  const std::uint32_t hs = tx_header_size(side, target);
  if (!write_headers(Bytes(bytes_), hs, 0, 0, side, target)) {
    return false;
  }
  v6_ = target.dst.is_v6();
  ip_at_ = kEthernetSize + kVlanSize * static_cast<std::uint32_t>(side.vlans.size());
  udp_at_ = ip_at_ + (v6_ ? kIpv6Size : kIpv4Size);
  const std::uint64_t addresses = address_sum(side.address) + address_sum(target.dst);
  constexpr std::uint16_t kDontFragment = 0x4000;
  ip_sum_ = 0x4500U + kDontFragment + ((std::uint32_t{kTtl} << 8U) | kProtoUdp) + addresses;
  udp_sum_ = addresses + kProtoUdp + target.src_port + target.dst_port;
  side_address_ = side.address;
  target_ = target;
  size_ = hs;
  return true;
}

std::optional<std::uint32_t> UdpHeaderTemplate::write(Bytes chunk, std::uint32_t payload_offset,
                                                      std::uint32_t payload_length,
                                                      std::uint64_t payload_sum,
                                                      std::uint16_t ipv4_id) const noexcept {
  const std::uint32_t l4_length = payload_length + kUdpSize;
  if (size_ == 0 || size_ > payload_offset || l4_length > 0xffffU - (v6_ ? 0U : kIpv4Size)) {
    return std::nullopt;
  }
  const std::uint32_t start = payload_offset - size_;
  const Bytes f = chunk.subspan(start, size_);
  std::memcpy(f.data(), bytes_.data(), size_);
  const auto l4_len16 = static_cast<std::uint16_t>(l4_length);
  if (v6_) {
    store_be16(f, ip_at_ + 4, l4_len16);
  } else {
    const auto total = static_cast<std::uint16_t>(l4_length + kIpv4Size);
    store_be16(f, ip_at_ + 2, total);
    store_be16(f, ip_at_ + 4, ipv4_id);
    store_be16(f, ip_at_ + 10, wire::checksum_finish(ip_sum_ + total + ipv4_id));
  }
  store_be16(f, udp_at_ + 4, l4_len16);
  // The UDP length counts twice: in the pseudo-header and in the UDP header.
  store_be16(f, udp_at_ + 6,
             wire::udp_checksum_finish(udp_sum_ + 2U * std::uint64_t{l4_len16} + payload_sum));
  return start;
}

}  // namespace etherpath::relay
