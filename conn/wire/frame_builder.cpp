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

void FrameBuilder::reset() noexcept {
  start_ = headroom_;
  end_ = headroom_;
  layer_count_ = 0;
  error_ = BuildError::none;
}

Bytes FrameBuilder::payload_room() const noexcept {
  return buffer_.subspan(headroom_);
}

void FrameBuilder::fail_with(BuildError e) noexcept {
  if (error_ == BuildError::none) {
    error_ = e;
  }
}

FrameBuilder& FrameBuilder::payload_size(std::size_t n) noexcept {
  if (layer_count_ != 0 || start_ != headroom_) {
    fail_with(BuildError::bad_order);
  } else if (n > buffer_.size() - headroom_) {
    fail_with(BuildError::no_room);
  } else {
    end_ = headroom_ + n;
  }
  return *this;
}

FrameBuilder& FrameBuilder::payload(ConstBytes data) noexcept {
  payload_size(data.size());
  if (error_ == BuildError::none && !data.empty()) {
    std::memmove(buffer_.data() + headroom_, data.data(), data.size());
  }
  return *this;
}

Bytes FrameBuilder::reserve(std::size_t n) noexcept {
  if (error_ != BuildError::none) {
    return {};
  }
  if (n > start_) {
    fail_with(BuildError::no_room);
    return {};
  }
  start_ -= n;
  return buffer_.subspan(start_, n);
}

bool FrameBuilder::add_layer(Kind kind, std::size_t offset,
                             std::optional<std::uint16_t> type) noexcept {
  if (layer_count_ == kMaxLayers) {
    fail_with(BuildError::too_many_layers);
    return false;
  }
  layers_[layer_count_++] = Layer{kind, type.value_or(0), type.has_value(), offset};
  return true;
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

FrameBuilder& FrameBuilder::push_udp(std::uint16_t src_port, std::uint16_t dst_port) noexcept {
  const Bytes b = reserve(UdpView::kSize);
  if (!b.empty() && add_layer(Kind::udp, start_, std::nullopt)) {
    UdpWriter w(b);
    w.set_src_port(src_port);
    w.set_dst_port(dst_port);
    w.set_length(0);
    w.set_checksum(0);
  }
  return *this;
}

FrameBuilder& FrameBuilder::push_icmp(std::uint8_t type, std::uint8_t code,
                                      std::uint32_t rest) noexcept {
  const Bytes b = reserve(IcmpView::kSize);
  if (!b.empty() && add_layer(Kind::icmp, start_, std::nullopt)) {
    IcmpWriter w(b);
    w.set_type_code(type, code);
    w.set_checksum(0);
    w.set_rest(rest);
  }
  return *this;
}

FrameBuilder& FrameBuilder::push_icmp_echo(std::uint8_t type, std::uint16_t id,
                                           std::uint16_t seq) noexcept {
  return push_icmp(type, 0, (std::uint32_t{id} << 16U) | seq);
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

FrameBuilder& FrameBuilder::push_ipv4(const Ipv4Spec& spec) noexcept {
  if (!spec.src.is_v4() || !spec.dst.is_v4()) {
    fail_with(BuildError::bad_address);
    return *this;
  }
  if (spec.options.size() % 4 != 0 || spec.options.size() > 40) {
    fail_with(BuildError::bad_ipv4_options);
    return *this;
  }
  const std::size_t hl = Ipv4View::kMinSize + spec.options.size();
  const Bytes b = reserve(hl);
  if (b.empty() || !add_layer(Kind::ipv4, start_, spec.protocol)) {
    return *this;
  }
  Ipv4Writer w(b);
  w.set_version_ihl(static_cast<std::uint8_t>(hl / 4));
  w.set_tos(spec.tos);
  w.set_total_length(0);
  w.set_id(spec.id);
  w.set_flags_offset(spec.flags, spec.fragment_offset);
  w.set_ttl(spec.ttl);
  w.set_protocol(spec.protocol.value_or(0));
  w.set_checksum(0);
  w.set_src(spec.src.v4_host());
  w.set_dst(spec.dst.v4_host());
  if (!spec.options.empty()) {
    std::memcpy(b.data() + Ipv4View::kMinSize, spec.options.data(), spec.options.size());
  }
  return *this;
}

FrameBuilder& FrameBuilder::push_ipv6(const Ipv6Spec& spec) noexcept {
  if (!spec.src.is_v6() || !spec.dst.is_v6()) {
    fail_with(BuildError::bad_address);
    return *this;
  }
  const Bytes b = reserve(Ipv6View::kSize);
  if (b.empty() || !add_layer(Kind::ipv6, start_, spec.next_header)) {
    return *this;
  }
  Ipv6Writer w(b);
  w.set_version_class_flow(spec.traffic_class, spec.flow_label);
  w.set_payload_length(0);
  w.set_next_header(spec.next_header.value_or(0));
  w.set_hop_limit(spec.hop_limit);
  w.set_src(spec.src);
  w.set_dst(spec.dst);
  return *this;
}

FrameBuilder& FrameBuilder::push_ipv6_extension(std::uint8_t type, ConstBytes body,
                                                std::optional<std::uint8_t> next_header) noexcept {
  if ((body.size() + 2) % 8 != 0 || body.size() + 2 > 2048) {
    fail_with(BuildError::bad_extension_size);
    return *this;
  }
  const Bytes b = reserve(body.size() + 2);
  if (b.empty() || !add_layer(Kind::ipv6_ext, start_, next_header)) {
    return *this;
  }
  store_u8(b, 0, next_header.value_or(0));
  store_u8(b, 1, static_cast<std::uint8_t>((body.size() + 2) / 8 - 1));
  if (!body.empty()) {
    std::memcpy(b.data() + 2, body.data(), body.size());
  }
  // Remember this header's own type for the header outside it.
  layers_[layer_count_ - 1].explicit_type =
      static_cast<std::uint16_t>((std::uint16_t{type} << 8U) | next_header.value_or(0));
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

FrameBuilder& FrameBuilder::push_vlan(const VlanTag& tag) noexcept {
  // This layer is the TCI and the next EtherType; the TPID goes into the header outside it.
  const Bytes b = reserve(4);
  if (!b.empty() && add_layer(Kind::vlan, start_, tag.tpid)) {
    const VlanTag clean{.id = static_cast<std::uint16_t>(tag.id & 0x0fffU),
                        .tpid = tag.tpid,
                        .pcp = static_cast<std::uint8_t>(tag.pcp & 7U),
                        .dei = tag.dei};
    store_be16(b, 0, clean.tci());
    store_be16(b, 2, 0);
  }
  return *this;
}

FrameBuilder& FrameBuilder::push_vlans(const VlanStack& stack) noexcept {
  for (std::size_t i = stack.size(); i > 0; --i) {
    push_vlan(stack[i - 1]);
  }
  return *this;
}

FrameBuilder& FrameBuilder::push_ethernet(const MacAddress& dst, const MacAddress& src,
                                          std::optional<std::uint16_t> ether_type) noexcept {
  const Bytes b = reserve(EthernetView::kSize);
  if (!b.empty() && add_layer(Kind::ethernet, start_, ether_type)) {
    EthernetWriter w(b);
    w.set_dst(dst);
    w.set_src(src);
    w.set_ether_type(ether_type.value_or(0));
  }
  return *this;
}

std::optional<std::uint16_t> FrameBuilder::ether_type_of(std::size_t inner) const noexcept {
  switch (layers_[inner].kind) {
    case Kind::vlan: return layers_[inner].explicit_type;  // its TPID
    case Kind::ipv4: return kEtherTypeIpv4;
    case Kind::ipv6: return kEtherTypeIpv6;
    case Kind::arp: return kEtherTypeArp;
    default: return std::nullopt;
  }
}

std::optional<std::uint8_t> FrameBuilder::protocol_of(std::size_t inner, bool v6) const noexcept {
  switch (layers_[inner].kind) {
    case Kind::udp: return kIpProtoUdp;
    case Kind::icmp: return v6 ? kIpProtoIcmpv6 : kIpProtoIcmp;
    case Kind::ipv6_ext: return static_cast<std::uint8_t>(layers_[inner].explicit_type >> 8U);
    case Kind::ipv4: return std::uint8_t{4};   // IP in IP
    case Kind::ipv6: return std::uint8_t{41};  // IPv6 in IP
    default: return std::nullopt;
  }
}

Result<Bytes> FrameBuilder::finish() {
  if (error_ != BuildError::none) {
    return fail(Errc::invalid_argument,
                std::string("frame builder: ") + std::string(to_string(error_)));
  }
  const Bytes frame = buffer_.subspan(start_, end_ - start_);
  // The IP header around the layer being finished, for pseudo-headers: outermost first.
  std::optional<std::size_t> ip_layer;
  bool ip_v6 = false;
  for (std::size_t i = layer_count_; i > 0; --i) {
    const std::size_t at = i - 1;
    const Layer& l = layers_[at];
    const Bytes b = buffer_.subspan(l.offset, end_ - l.offset);
    const std::size_t len = end_ - l.offset;
    const bool has_inner = at > 0;
    switch (l.kind) {
      case Kind::ethernet:
      case Kind::vlan: {
        if (l.kind == Kind::ethernet && at + 1 != layer_count_) {
          fail_with(BuildError::bad_order);
          break;
        }
        std::optional<std::uint16_t> type;
        if (l.kind == Kind::ethernet && l.has_explicit_type) {
          type = l.explicit_type;
        } else if (has_inner) {
          type = ether_type_of(at - 1);
        }
        if (!type) {
          fail_with(BuildError::missing_protocol);
          break;
        }
        store_be16(b, l.kind == Kind::ethernet ? 12 : 2, *type);
        break;
      }
      case Kind::ipv4: {
        if (len > 0xffff) {
          fail_with(BuildError::too_long);
          break;
        }
        std::optional<std::uint8_t> proto;
        if (l.has_explicit_type) {
          proto = static_cast<std::uint8_t>(l.explicit_type);
        } else if (has_inner) {
          proto = protocol_of(at - 1, false);
        }
        if (!proto) {
          fail_with(BuildError::missing_protocol);
          break;
        }
        Ipv4Writer w(b);
        w.set_total_length(static_cast<std::uint16_t>(len));
        w.set_protocol(*proto);
        w.fill_checksum();
        ip_layer = at;
        ip_v6 = false;
        break;
      }
      case Kind::ipv6:
      case Kind::ipv6_ext: {
        if (l.kind == Kind::ipv6 && len - Ipv6View::kSize > 0xffff) {
          fail_with(BuildError::too_long);
          break;
        }
        std::optional<std::uint8_t> proto;
        if (l.has_explicit_type) {
          proto = static_cast<std::uint8_t>(l.explicit_type & 0xffU);
        } else if (has_inner) {
          proto = protocol_of(at - 1, true);
        }
        if (!proto) {
          fail_with(BuildError::missing_protocol);
          break;
        }
        if (l.kind == Kind::ipv6) {
          Ipv6Writer w(b);
          w.set_payload_length(static_cast<std::uint16_t>(len - Ipv6View::kSize));
          w.set_next_header(*proto);
          ip_layer = at;
          ip_v6 = true;
        } else {
          store_u8(b, 0, *proto);
        }
        break;
      }
      case Kind::udp: {
        if (!ip_layer || len > 0xffff) {
          fail_with(ip_layer ? BuildError::too_long : BuildError::bad_order);
          break;
        }
        const ConstBytes ip = buffer_.subspan(layers_[*ip_layer].offset);
        const IpAddress src = ip_v6 ? Ipv6View(ip).src() : Ipv4View(ip).src();
        const IpAddress dst = ip_v6 ? Ipv6View(ip).dst() : Ipv4View(ip).dst();
        UdpWriter w(b);
        w.set_length(static_cast<std::uint16_t>(len));
        w.set_checksum(0);
        const std::uint64_t sum = checksum_add(
            pseudo_header_sum(src, dst, kIpProtoUdp, static_cast<std::uint32_t>(len)), b);
        w.set_checksum(udp_checksum_finish(sum));
        break;
      }
      case Kind::icmp: {
        IcmpWriter w(b);
        w.set_checksum(0);
        std::uint64_t sum = checksum_add(0, b);
        if (ip_layer && ip_v6) {
          const ConstBytes ip = buffer_.subspan(layers_[*ip_layer].offset);
          sum += pseudo_header_sum(Ipv6View(ip).src(), Ipv6View(ip).dst(), kIpProtoIcmpv6,
                                   static_cast<std::uint32_t>(len));
        }
        w.set_checksum(checksum_finish(sum));
        break;
      }
      case Kind::arp:
      case Kind::raw: break;
    }
  }
  if (error_ != BuildError::none) {
    return fail(Errc::invalid_argument,
                std::string("frame builder: ") + std::string(to_string(error_)));
  }
  return frame;
}

}  // namespace etherpath::wire
