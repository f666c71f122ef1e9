// FrameBuilder: back-to-front header pushes, then one front-to-back finish().
#include "conn/wire/frame_builder.hpp"

#include <algorithm>
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

std::string_view to_string(BuildError e) noexcept {
  switch (e) {
    case BuildError::none: return "none";
    case BuildError::no_room: return "no room in the buffer";
    case BuildError::bad_order: return "header pushed where it cannot go";
    case BuildError::missing_protocol: return "nothing names the protocol that follows a header";
    case BuildError::bad_ipv4_options:
      return "IPv4 options must be a multiple of 4, at most 40 bytes";
    case BuildError::bad_extension_size: return "IPv6 extension body must be 8n+6 bytes";
    case BuildError::bad_address: return "address of the wrong family";
    case BuildError::too_many_layers: return "too many headers";
    case BuildError::too_long: return "IP datagram over 65535 bytes";
  }
  return "unknown";
}

FrameBuilder::FrameBuilder(Bytes buffer, std::size_t headroom) noexcept
    : buffer_(buffer),
      headroom_(std::min(headroom, buffer.size())),
      start_(headroom_),
      end_(headroom_) {}

Bytes FrameBuilder::payload_room() const noexcept {
  return buffer_.subspan(headroom_);
}

FrameBuilder& FrameBuilder::push_bytes(ConstBytes bytes) noexcept {
  const Bytes b = reserve(bytes.size());
  if (b.size() == bytes.size() && !bytes.empty()) {
    std::memcpy(b.data(), bytes.data(), bytes.size());
  }
  if (error_ == BuildError::none && layer_count_ != 0) {
    // Raw bytes in front of a header hide it from the headers outside: name them a layer.
    add_layer(Kind::raw, start_, std::nullopt);
  }
  return *this;
}

namespace {
// Target address plus an optional link-layer address option: the NS/NA body after the first 8.
std::size_t ndp_body(std::array<std::byte, 24>& body, const IpAddress& target, std::uint8_t option,
                     const std::optional<MacAddress>& mac) noexcept {
  std::memcpy(body.data(), target.bytes().data(), 16);
  if (!mac) {
    return 16;
  }
  body[16] = static_cast<std::byte>(option);
  body[17] = std::byte{1};  // one unit of 8 octets
  std::memcpy(body.data() + 18, mac->octets().data(), MacAddress::kSize);
  return 24;
}
}  // namespace

FrameBuilder& FrameBuilder::push_neighbor_solicit(const IpAddress& target,
                                                  std::optional<MacAddress> source_mac) noexcept {
  if (!target.is_v6()) {
    fail_with(BuildError::bad_address);
    return *this;
  }
  std::array<std::byte, 24> body{};
  const std::size_t n = ndp_body(body, target, kNdpOptionSourceLinkAddress, source_mac);
  const Bytes b = reserve(n);
  if (!b.empty()) {
    std::memcpy(b.data(), body.data(), n);
  }
  return push_icmp(kIcmpv6NeighborSolicit, 0, 0);
}

FrameBuilder& FrameBuilder::push_neighbor_advert(const IpAddress& target, std::uint8_t flags,
                                                 std::optional<MacAddress> target_mac) noexcept {
  if (!target.is_v6()) {
    fail_with(BuildError::bad_address);
    return *this;
  }
  std::array<std::byte, 24> body{};
  const std::size_t n = ndp_body(body, target, kNdpOptionTargetLinkAddress, target_mac);
  const Bytes b = reserve(n);
  if (!b.empty()) {
    std::memcpy(b.data(), body.data(), n);
  }
  return push_icmp(kIcmpv6NeighborAdvert, 0, std::uint32_t{flags} << 24U);
}

FrameBuilder& FrameBuilder::push_ipv6_extension(std::uint8_t type, ConstBytes body,
                                                std::optional<std::uint8_t> next_header) noexcept {
  if ((body.size() + 2) % 8 != 0 || body.size() + 2 > 2048) {
    fail_with(BuildError::bad_extension_size);
    return *this;
  }
  const std::optional<std::uint8_t> nh = next_header ? next_header : inner_protocol(true);
  if (!nh) {
    fail_with(BuildError::missing_protocol);
    return *this;
  }
  const Bytes b = reserve(body.size() + 2);
  if (b.empty() || !add_layer(Kind::ipv6_ext, start_, nh)) {
    return *this;
  }
  store_u8(b, 0, *nh);
  store_u8(b, 1, static_cast<std::uint8_t>((body.size() + 2) / 8 - 1));
  if (!body.empty()) {
    std::memcpy(b.data() + 2, body.data(), body.size());
  }
  // Remember this header's own type for the header outside it.
  layers_[layer_count_ - 1].explicit_type =
      static_cast<std::uint16_t>((std::uint16_t{type} << 8U) | *nh);
  return *this;
}

FrameBuilder& FrameBuilder::push_arp(const ArpSpec& spec) noexcept {
  if (!spec.sender_ip.is_v4() || !spec.target_ip.is_v4()) {
    fail_with(BuildError::bad_address);
    return *this;
  }
  const Bytes b = reserve(ArpView::kSize);
  if (!b.empty() && add_layer(Kind::arp, start_, std::nullopt)) {
    ArpWriter(b).set(spec.op, spec.sender_mac, spec.sender_ip, spec.target_mac, spec.target_ip);
  }
  return *this;
}

Result<Bytes> FrameBuilder::finish() {
  if (error_ == BuildError::none) {
    // EtherTypes and protocols were written by the pushes; what is left depends on where the
    // frame ends. Outermost first, so each UDP/ICMP header knows the IP header around it.
    const Layer* ip = nullptr;
    bool ip_v6 = false;
    for (std::size_t i = layer_count_; i > 0; --i) {
      const Layer& l = layers_[i - 1];
      const Bytes b = buffer_.subspan(l.offset, end_ - l.offset);
      const std::size_t len = b.size();
      if (l.kind == Kind::ipv4) {
        if (len > 0xffff) {
          fail_with(BuildError::too_long);
          break;
        }
        Ipv4Writer w(b);
        w.set_total_length(static_cast<std::uint16_t>(len));
        w.set_checksum(checksum_finish(l.header_sum + len));
        ip = &l;
        ip_v6 = false;
      } else if (l.kind == Kind::ipv6) {
        if (len - Ipv6View::kSize > 0xffff) {
          fail_with(BuildError::too_long);
          break;
        }
        Ipv6Writer(b).set_payload_length(static_cast<std::uint16_t>(len - Ipv6View::kSize));
        ip = &l;
        ip_v6 = true;
      } else if (l.kind == Kind::udp) {
        if (ip == nullptr || len > 0xffff) {
          fail_with(ip == nullptr ? BuildError::bad_order : BuildError::too_long);
          break;
        }
        UdpWriter w(b);
        w.set_length(static_cast<std::uint16_t>(len));
        // Pseudo-header (addresses, protocol, length) + ports + length + the bytes after.
        const std::uint64_t sum = checksum_add(
            ip->address_sum + kIpProtoUdp + 2 * len + l.header_sum, b.subspan(UdpView::kSize));
        w.set_checksum(udp_checksum_finish(sum));
      } else if (l.kind == Kind::icmp) {
        std::uint64_t sum = checksum_add(l.header_sum, b.subspan(IcmpView::kSize));
        if (ip != nullptr && ip_v6) {
          sum += ip->address_sum + kIpProtoIcmpv6 + (len >> 16U) + (len & 0xffffU);
        }
        IcmpWriter(b).set_checksum(checksum_finish(sum));
      }
    }
  }
  if (error_ != BuildError::none) {
    return fail(Errc::invalid_argument,
                std::string("frame builder: ") + std::string(to_string(error_)));
  }
  return buffer_.subspan(start_, end_ - start_);
}

}  // namespace etherpath::wire
