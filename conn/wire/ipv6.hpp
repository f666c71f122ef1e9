// IPv6 header view and writer (RFC 8200), and the generic extension header layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"

namespace etherpath::wire {

inline IpAddress load_ipv6(ConstBytes s, std::size_t off) noexcept {
  IpAddress::Bytes16 b{};
  std::memcpy(b.data(), s.data() + off, b.size());
  return IpAddress::v6(b);
}
inline void store_ip(Bytes s, std::size_t off, const IpAddress& a) noexcept {
  std::memcpy(s.data() + off, a.bytes().data(), a.size());
}

// The span must hold at least kSize bytes.
class Ipv6View {
 public:
  static constexpr std::size_t kSize = 40;
  explicit Ipv6View(ConstBytes bytes) noexcept : bytes_(bytes) {}
  [[nodiscard]] std::uint8_t version() const noexcept { return load_u8(bytes_, 0) >> 4U; }
  [[nodiscard]] std::uint8_t traffic_class() const noexcept {
    return static_cast<std::uint8_t>(load_be16(bytes_, 0) >> 4U);
  }
  [[nodiscard]] std::uint32_t flow_label() const noexcept {
    return load_be32(bytes_, 0) & 0x000fffffU;
  }
  [[nodiscard]] std::uint16_t payload_length() const noexcept { return load_be16(bytes_, 4); }
  [[nodiscard]] std::uint8_t next_header() const noexcept { return load_u8(bytes_, 6); }
  [[nodiscard]] std::uint8_t hop_limit() const noexcept { return load_u8(bytes_, 7); }
  [[nodiscard]] IpAddress src() const noexcept { return load_ipv6(bytes_, 8); }
  [[nodiscard]] IpAddress dst() const noexcept { return load_ipv6(bytes_, 24); }

 private:
  ConstBytes bytes_;
};

class Ipv6Writer {
 public:
  explicit Ipv6Writer(Bytes bytes) noexcept : bytes_(bytes) {}
  void set_version_class_flow(std::uint8_t traffic_class, std::uint32_t flow_label) noexcept {
    store_be32(bytes_, 0,
               (6U << 28U) | (std::uint32_t{traffic_class} << 20U) | (flow_label & 0x000fffffU));
  }
  void set_payload_length(std::uint16_t n) noexcept { store_be16(bytes_, 4, n); }
  void set_next_header(std::uint8_t nh) noexcept { store_u8(bytes_, 6, nh); }
  void set_hop_limit(std::uint8_t h) noexcept { store_u8(bytes_, 7, h); }
  void set_src(const IpAddress& a) noexcept { store_ip(bytes_, 8, a); }
  void set_dst(const IpAddress& a) noexcept { store_ip(bytes_, 24, a); }

 private:
  Bytes bytes_;
};

// Hop-by-hop, routing and destination options share this layout: next header, length in 8-octet
// units not counting the first 8, then the body. The span must hold at least kMinSize bytes.
class Ipv6ExtensionView {
 public:
  static constexpr std::size_t kMinSize = 8;
  explicit Ipv6ExtensionView(ConstBytes bytes) noexcept : bytes_(bytes) {}
  [[nodiscard]] std::uint8_t next_header() const noexcept { return load_u8(bytes_, 0); }
  [[nodiscard]] std::size_t size() const noexcept {
    return (std::size_t{load_u8(bytes_, 1)} + 1U) * 8U;
  }

 private:
  ConstBytes bytes_;
};

}  // namespace etherpath::wire
