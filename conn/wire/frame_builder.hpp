// FrameBuilder: writes a frame back to front into a caller's buffer. The payload goes at the
// headroom offset, each push_* prepends one header before what is there, and finish() fills
// every length, EtherType, next-protocol field and checksum front to back.
//
//   std::array<std::byte, 2048> buf;
//   FrameBuilder b(buf);
//   b.payload(data).push_udp(1000, 2000).push_ipv4({.src = s, .dst = d}).push_vlan({.id = 100})
//    .push_ethernet(dst_mac, src_mac);
//   auto frame = b.finish();   // Result<Bytes>: a span inside buf
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "base/vlan.hpp"
#include "conn/wire/checksum.hpp"
#include "conn/wire/ethernet.hpp"
#include "conn/wire/icmp.hpp"
#include "conn/wire/ipv4.hpp"
#include "conn/wire/ipv6.hpp"
#include "conn/wire/udp.hpp"
#include "conn/wire/vlan.hpp"

namespace etherpath::wire {

struct Ipv4Spec {
  IpAddress src{};
  IpAddress dst{};
  std::uint8_t ttl = 64;
  std::uint8_t tos = 0;
  std::uint16_t id = 0;
  std::uint8_t flags = 0;  // kIpv4FlagDf etc.
  std::uint16_t fragment_offset = 0;
  std::optional<std::uint8_t> protocol{};  // default: from the header pushed before (UDP, ICMP)
  ConstBytes options{};                    // a multiple of 4 bytes, at most 40; copied at push time
};

struct Ipv6Spec {
  IpAddress src{};
  IpAddress dst{};
  std::uint8_t hop_limit = 64;
  std::uint8_t traffic_class = 0;
  std::uint32_t flow_label = 0;
  std::optional<std::uint8_t> next_header{};  // default: from the header pushed before
};

struct ArpSpec {
  std::uint16_t op = 1;  // kArpRequest, kArpReply
  MacAddress sender_mac{};
  IpAddress sender_ip{};
  MacAddress target_mac{};
  IpAddress target_ip{};
};

enum class BuildError : std::uint8_t {
  none = 0,
  no_room,             // the headroom (or the room after it) is too small
  bad_order,           // a header where it cannot go (UDP outside IP, two Ethernet headers, ...)
  missing_protocol,    // nothing says what follows a header (raw payload with no protocol given)
  bad_ipv4_options,    // not a multiple of 4, or more than 40 bytes
  bad_extension_size,  // an IPv6 extension body that is not 8n+6 bytes
  bad_address,         // an address of the wrong family for its header
  too_many_layers,     // more headers than FrameBuilder tracks
  too_long,            // an IP datagram over 65535 bytes
};
[[nodiscard]] std::string_view to_string(BuildError e) noexcept;

class FrameBuilder {
 public:
  // Enough for Ethernet, two tags, IPv4 with 40 bytes of options or IPv6 with a small
  // extension, and UDP; pass more for longer IPv6 chains.
  static constexpr std::size_t kDefaultHeadroom = 128;
  static constexpr std::size_t kMaxLayers = 12;

  // Borrows `buffer` (which must outlive the builder and the frame finish() returns).
  explicit FrameBuilder(Bytes buffer, std::size_t headroom = kDefaultHeadroom) noexcept;

  // Where the payload goes, for writing it in place (then call payload_size()).
  [[nodiscard]] Bytes payload_room() const noexcept;
  FrameBuilder& payload(ConstBytes data) noexcept;
  FrameBuilder& payload_size(std::size_t n) noexcept;

  // Each prepends one header. Errors are sticky: finish() reports the first.
  FrameBuilder& push_udp(std::uint16_t src_port, std::uint16_t dst_port) noexcept;
  // ICMPv4 or ICMPv6 by the IP header around it; `rest` is the 4 bytes after the checksum.
  FrameBuilder& push_icmp(std::uint8_t type, std::uint8_t code, std::uint32_t rest = 0) noexcept;
  FrameBuilder& push_icmp_echo(std::uint8_t type, std::uint16_t id, std::uint16_t seq) noexcept;
  // ICMPv6 NS/NA with a source (NS) or target (NA) link-layer address option when given.
  FrameBuilder& push_neighbor_solicit(const IpAddress& target,
                                      std::optional<MacAddress> source_mac) noexcept;
  FrameBuilder& push_neighbor_advert(const IpAddress& target, std::uint8_t flags,
                                     std::optional<MacAddress> target_mac) noexcept;
  FrameBuilder& push_ipv4(const Ipv4Spec& spec) noexcept;
  FrameBuilder& push_ipv6(const Ipv6Spec& spec) noexcept;
  // An extension header of `type` (hop-by-hop 0, routing 43, destination options 60) whose body
  // (after next-header and length) is `body`, 8n+6 bytes. `next_header` as for Ipv6Spec.
  FrameBuilder& push_ipv6_extension(std::uint8_t type, ConstBytes body,
                                    std::optional<std::uint8_t> next_header = {}) noexcept;
  FrameBuilder& push_arp(const ArpSpec& spec) noexcept;
  // Push the inner tag first; push_vlans() does so for a whole stack (outer first, as written).
  FrameBuilder& push_vlan(const VlanTag& tag) noexcept;
  FrameBuilder& push_vlans(const VlanStack& stack) noexcept;
  FrameBuilder& push_ethernet(const MacAddress& dst, const MacAddress& src,
                              std::optional<std::uint16_t> ether_type = {}) noexcept;
  // Raw bytes before what is there (an unsupported header, a quoted datagram).
  FrameBuilder& push_bytes(ConstBytes bytes) noexcept;

  // Fills lengths, EtherTypes, next-protocol fields and checksums; the frame is a span of the
  // buffer. IPv4 UDP gets a real checksum (etherconn left it 0).
  [[nodiscard]] Result<Bytes> finish();
  [[nodiscard]] BuildError error() const noexcept { return error_; }
  // Start again on the same buffer and headroom.
  void reset() noexcept;

 private:
  enum class Kind : std::uint8_t { ethernet, vlan, ipv4, ipv6, ipv6_ext, udp, icmp, arp, raw };
  struct Layer {
    Kind kind = Kind::raw;
    std::uint16_t explicit_type = 0;  // EtherType or protocol the caller named
    bool has_explicit_type = false;
    std::size_t offset = 0;
    // Checksum parts summed from the values at push time: finish() then never reads back header
    // bytes it has just written in narrow stores (a store-forwarding stall per load).
    std::uint64_t header_sum = 0;   // the header's fixed words (IPv4, UDP ports, ICMP)
    std::uint64_t address_sum = 0;  // IP source + destination, for pseudo-headers
  };
  Bytes reserve(std::size_t n) noexcept;  // prepends n bytes, or records no_room
  bool add_layer(Kind kind, std::size_t offset, std::optional<std::uint16_t> type) noexcept;
  void fail_with(BuildError e) noexcept;
  // What the header just inside (the last one pushed) is, as an EtherType or IP protocol; the
  // header being pushed writes it at once, so finish() has only lengths and checksums to do.
  [[nodiscard]] std::optional<std::uint16_t> inner_ether_type() const noexcept;
  [[nodiscard]] std::optional<std::uint8_t> inner_protocol(bool v6) const noexcept;

  Bytes buffer_;
  std::size_t headroom_;
  std::size_t start_;
  std::size_t end_;
  std::array<Layer, kMaxLayers> layers_{};  // in push order: innermost first
  std::size_t layer_count_ = 0;
  BuildError error_ = BuildError::none;
};

// The per-packet pushes are inline so that a caller's chain of them compiles to a few stores.
inline void FrameBuilder::reset() noexcept {
  start_ = headroom_;
  end_ = headroom_;
  layer_count_ = 0;
  error_ = BuildError::none;
}

inline void FrameBuilder::fail_with(BuildError e) noexcept {
  if (error_ == BuildError::none) {
    error_ = e;
  }
}

inline FrameBuilder& FrameBuilder::payload_size(std::size_t n) noexcept {
  if (layer_count_ != 0 || start_ != headroom_) {
    fail_with(BuildError::bad_order);
  } else if (n > buffer_.size() - headroom_) {
    fail_with(BuildError::no_room);
  } else {
    end_ = headroom_ + n;
  }
  return *this;
}

inline FrameBuilder& FrameBuilder::payload(ConstBytes data) noexcept {
  payload_size(data.size());
  if (error_ == BuildError::none && !data.empty()) {
    std::memmove(buffer_.data() + headroom_, data.data(), data.size());
  }
  return *this;
}

inline Bytes FrameBuilder::reserve(std::size_t n) noexcept {
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

inline bool FrameBuilder::add_layer(Kind kind, std::size_t offset,
                                    std::optional<std::uint16_t> type) noexcept {
  if (layer_count_ == kMaxLayers) {
    fail_with(BuildError::too_many_layers);
    return false;
  }
  if (layer_count_ != 0 && layers_[layer_count_ - 1].kind == Kind::ethernet) {
    fail_with(BuildError::bad_order);  // nothing goes outside the Ethernet header
    return false;
  }
  layers_[layer_count_++] = Layer{kind, type.value_or(0), type.has_value(), offset};
  return true;
}

inline FrameBuilder& FrameBuilder::push_udp(std::uint16_t src_port,
                                            std::uint16_t dst_port) noexcept {
  const Bytes b = reserve(UdpView::kSize);
  if (!b.empty() && add_layer(Kind::udp, start_, std::nullopt)) {
    layers_[layer_count_ - 1].header_sum = std::uint64_t{src_port} + dst_port;
    UdpWriter w(b);
    w.set_src_port(src_port);
    w.set_dst_port(dst_port);
    w.set_length(0);
    w.set_checksum(0);
  }
  return *this;
}

inline FrameBuilder& FrameBuilder::push_icmp(std::uint8_t type, std::uint8_t code,
                                             std::uint32_t rest) noexcept {
  const Bytes b = reserve(IcmpView::kSize);
  if (!b.empty() && add_layer(Kind::icmp, start_, std::nullopt)) {
    layers_[layer_count_ - 1].header_sum =
        ((std::uint64_t{type} << 8U) | code) + (rest >> 16U) + (rest & 0xffffU);
    IcmpWriter w(b);
    w.set_type_code(type, code);
    w.set_checksum(0);
    w.set_rest(rest);
  }
  return *this;
}

inline FrameBuilder& FrameBuilder::push_icmp_echo(std::uint8_t type, std::uint16_t id,
                                                  std::uint16_t seq) noexcept {
  return push_icmp(type, 0, (std::uint32_t{id} << 16U) | seq);
}

inline FrameBuilder& FrameBuilder::push_ipv4(const Ipv4Spec& spec) noexcept {
  if (!spec.src.is_v4() || !spec.dst.is_v4()) {
    fail_with(BuildError::bad_address);
    return *this;
  }
  if (spec.options.size() % 4 != 0 || spec.options.size() > 40) {
    fail_with(BuildError::bad_ipv4_options);
    return *this;
  }
  const std::optional<std::uint8_t> proto = spec.protocol ? spec.protocol : inner_protocol(false);
  if (!proto) {
    fail_with(BuildError::missing_protocol);
    return *this;
  }
  const std::size_t hl = Ipv4View::kMinSize + spec.options.size();
  const Bytes b = reserve(hl);
  if (b.empty() || !add_layer(Kind::ipv4, start_, proto)) {
    return *this;
  }
  Ipv4Writer w(b);
  w.set_version_ihl(static_cast<std::uint8_t>(hl / 4));
  w.set_tos(spec.tos);
  w.set_total_length(0);
  w.set_id(spec.id);
  w.set_flags_offset(spec.flags, spec.fragment_offset);
  w.set_ttl(spec.ttl);
  w.set_protocol(*proto);
  w.set_checksum(0);
  w.set_src(spec.src.v4_host());
  w.set_dst(spec.dst.v4_host());
  if (!spec.options.empty()) {
    std::memcpy(b.data() + Ipv4View::kMinSize, spec.options.data(), spec.options.size());
  }
  const std::uint32_t src = spec.src.v4_host();
  const std::uint32_t dst = spec.dst.v4_host();
  Layer& l = layers_[layer_count_ - 1];
  l.address_sum = std::uint64_t{src >> 16U} + (src & 0xffffU) + (dst >> 16U) + (dst & 0xffffU);
  // Every word but total length and checksum (finish() adds the length).
  l.header_sum = checksum_add(l.address_sum, spec.options) + ((0x40U | (hl / 4)) << 8U) + spec.tos +
                 spec.id + (((spec.flags & 7U) << 13U) | (spec.fragment_offset & 0x1fffU)) +
                 (std::uint64_t{spec.ttl} << 8U) + *proto;
  return *this;
}

inline FrameBuilder& FrameBuilder::push_ipv6(const Ipv6Spec& spec) noexcept {
  if (!spec.src.is_v6() || !spec.dst.is_v6()) {
    fail_with(BuildError::bad_address);
    return *this;
  }
  const std::optional<std::uint8_t> nh = spec.next_header ? spec.next_header : inner_protocol(true);
  if (!nh) {
    fail_with(BuildError::missing_protocol);
    return *this;
  }
  const Bytes b = reserve(Ipv6View::kSize);
  if (b.empty() || !add_layer(Kind::ipv6, start_, nh)) {
    return *this;
  }
  Ipv6Writer w(b);
  w.set_version_class_flow(spec.traffic_class, spec.flow_label);
  w.set_payload_length(0);
  w.set_next_header(*nh);
  w.set_hop_limit(spec.hop_limit);
  w.set_src(spec.src);
  w.set_dst(spec.dst);
  const auto src = std::as_bytes(std::span(spec.src.bytes()));
  const auto dst = std::as_bytes(std::span(spec.dst.bytes()));
  layers_[layer_count_ - 1].address_sum = checksum_add(checksum_add(0, src), dst);
  return *this;
}

inline FrameBuilder& FrameBuilder::push_vlan(const VlanTag& tag) noexcept {
  // This layer is the TCI and the next EtherType; the TPID goes into the header outside it.
  const std::optional<std::uint16_t> next = inner_ether_type();
  if (!next) {
    fail_with(BuildError::missing_protocol);
    return *this;
  }
  const Bytes b = reserve(4);
  if (!b.empty() && add_layer(Kind::vlan, start_, tag.tpid)) {
    const VlanTag clean{.id = static_cast<std::uint16_t>(tag.id & 0x0fffU),
                        .tpid = tag.tpid,
                        .pcp = static_cast<std::uint8_t>(tag.pcp & 7U),
                        .dei = tag.dei};
    store_be16(b, 0, clean.tci());
    store_be16(b, 2, *next);
  }
  return *this;
}

inline FrameBuilder& FrameBuilder::push_vlans(const VlanStack& stack) noexcept {
  for (std::size_t i = stack.size(); i > 0; --i) {
    push_vlan(stack[i - 1]);
  }
  return *this;
}

inline FrameBuilder& FrameBuilder::push_ethernet(const MacAddress& dst, const MacAddress& src,
                                                 std::optional<std::uint16_t> ether_type) noexcept {
  const std::optional<std::uint16_t> type = ether_type ? ether_type : inner_ether_type();
  if (!type) {
    fail_with(BuildError::missing_protocol);
    return *this;
  }
  const Bytes b = reserve(EthernetView::kSize);
  if (!b.empty() && add_layer(Kind::ethernet, start_, type)) {
    EthernetWriter w(b);
    w.set_dst(dst);
    w.set_src(src);
    w.set_ether_type(*type);
  }
  return *this;
}

inline std::optional<std::uint16_t> FrameBuilder::inner_ether_type() const noexcept {
  if (layer_count_ == 0) {
    return std::nullopt;
  }
  const Layer& l = layers_[layer_count_ - 1];
  switch (l.kind) {
    case Kind::vlan: return l.explicit_type;  // its TPID
    case Kind::ipv4: return kEtherTypeIpv4;
    case Kind::ipv6: return kEtherTypeIpv6;
    case Kind::arp: return kEtherTypeArp;
    default: return std::nullopt;
  }
}

inline std::optional<std::uint8_t> FrameBuilder::inner_protocol(bool v6) const noexcept {
  if (layer_count_ == 0) {
    return std::nullopt;
  }
  const Layer& l = layers_[layer_count_ - 1];
  switch (l.kind) {
    case Kind::udp: return kIpProtoUdp;
    case Kind::icmp: return v6 ? kIpProtoIcmpv6 : kIpProtoIcmp;
    case Kind::ipv6_ext: return static_cast<std::uint8_t>(l.explicit_type >> 8U);
    case Kind::ipv4: return std::uint8_t{4};   // IP in IP
    case Kind::ipv6: return std::uint8_t{41};  // IPv6 in IP
    default: return std::nullopt;
  }
}

}  // namespace etherpath::wire
