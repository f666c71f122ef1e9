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

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "base/vlan.hpp"

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
  };
  Bytes reserve(std::size_t n) noexcept;  // prepends n bytes, or records no_room
  bool add_layer(Kind kind, std::size_t offset, std::optional<std::uint16_t> type) noexcept;
  void fail_with(BuildError e) noexcept;
  [[nodiscard]] std::optional<std::uint16_t> ether_type_of(std::size_t inner) const noexcept;
  [[nodiscard]] std::optional<std::uint8_t> protocol_of(std::size_t inner, bool v6) const noexcept;

  Bytes buffer_;
  std::size_t headroom_;
  std::size_t start_;
  std::size_t end_;
  std::array<Layer, kMaxLayers> layers_{};  // in push order: innermost first
  std::size_t layer_count_ = 0;
  BuildError error_ = BuildError::none;
};

}  // namespace etherpath::wire
