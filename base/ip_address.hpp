// IpAddress (IPv4 or IPv6) and IpEndpoint (address + port/id), with text and sockaddr forms.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace etherpath {

enum class IpFamily : std::uint8_t { v4 = 4, v6 = 6 };

class IpAddress {
 public:
  using Bytes16 = std::array<std::uint8_t, 16>;

  // 0.0.0.0
  constexpr IpAddress() = default;
  static constexpr IpAddress v4(std::uint32_t host_order) {
    IpAddress a;
    a.family_ = IpFamily::v4;
    a.bytes_[0] = static_cast<std::uint8_t>(host_order >> 24U);
    a.bytes_[1] = static_cast<std::uint8_t>(host_order >> 16U);
    a.bytes_[2] = static_cast<std::uint8_t>(host_order >> 8U);
    a.bytes_[3] = static_cast<std::uint8_t>(host_order);
    return a;
  }
  static constexpr IpAddress v4(std::array<std::uint8_t, 4> b) {
    return v4((std::uint32_t{b[0]} << 24U) | (std::uint32_t{b[1]} << 16U) |
              (std::uint32_t{b[2]} << 8U) | b[3]);
  }
  static constexpr IpAddress v6(const Bytes16& b) {
    IpAddress a;
    a.family_ = IpFamily::v6;
    a.bytes_ = b;
    return a;
  }
  static IpAddress any(IpFamily f) { return f == IpFamily::v4 ? IpAddress() : v6(Bytes16{}); }

  // Dotted quad or RFC 4291 text; brackets around IPv6 are accepted ("[::1]").
  static Result<IpAddress> parse(std::string_view text);
  static IpAddress from_in_addr(const in_addr& a);
  static IpAddress from_in6_addr(const in6_addr& a);

  [[nodiscard]] constexpr IpFamily family() const { return family_; }
  [[nodiscard]] constexpr bool is_v4() const { return family_ == IpFamily::v4; }
  [[nodiscard]] constexpr bool is_v6() const { return family_ == IpFamily::v6; }
  // IPv4 in host order (only for is_v4()).
  [[nodiscard]] constexpr std::uint32_t v4_host() const {
    return (std::uint32_t{bytes_[0]} << 24U) | (std::uint32_t{bytes_[1]} << 16U) |
           (std::uint32_t{bytes_[2]} << 8U) | bytes_[3];
  }
  // Network-order bytes: 4 used for IPv4, 16 for IPv6.
  [[nodiscard]] constexpr const Bytes16& bytes() const { return bytes_; }
  [[nodiscard]] constexpr std::size_t size() const { return is_v4() ? 4 : 16; }
  // The 16-byte form: IPv4 as ::ffff:a.b.c.d (PCP and etherconn's L4 key use it).
  [[nodiscard]] Bytes16 to_v6_mapped() const;
  [[nodiscard]] bool is_unspecified() const;
  [[nodiscard]] bool is_multicast() const;
  [[nodiscard]] bool is_loopback() const;
  // This address plus n, wrapping within the family (for "+N" ranges).
  [[nodiscard]] IpAddress plus(std::uint64_t n) const;
  [[nodiscard]] std::string to_string() const;

  friend constexpr bool operator==(const IpAddress&, const IpAddress&) = default;
  friend constexpr auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  IpFamily family_ = IpFamily::v4;
  Bytes16 bytes_{};
};

// An address plus a 16-bit port (UDP) or echo identifier (ICMP).
struct IpEndpoint {
  IpAddress address;
  std::uint16_t port = 0;

  // "1.2.3.4:80" or "[2001:db8::1]:80".
  static Result<IpEndpoint> parse(std::string_view text);
  static Result<IpEndpoint> from_sockaddr(const sockaddr* sa, socklen_t len);
  // Fills `out` and returns the length to pass to bind/connect/sendto.
  socklen_t to_sockaddr(sockaddr_storage& out) const;
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const IpEndpoint&, const IpEndpoint&) = default;
  friend auto operator<=>(const IpEndpoint&, const IpEndpoint&) = default;
};

}  // namespace etherpath

template <>
struct std::hash<etherpath::IpAddress> {
  std::size_t operator()(const etherpath::IpAddress& a) const noexcept;
};
template <>
struct std::hash<etherpath::IpEndpoint> {
  std::size_t operator()(const etherpath::IpEndpoint& e) const noexcept {
    return std::hash<etherpath::IpAddress>{}(e.address) * 31U + e.port;
  }
};
