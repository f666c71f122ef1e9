// IpAddress/IpEndpoint text and sockaddr conversions (inet_pton/inet_ntop do the parsing).
#include "base/ip_address.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <cstring>

namespace etherpath {

Result<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {
    s = s.substr(1, s.size() - 2);
  }
  in_addr a4{};
  if (s.find(':') == std::string::npos && ::inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    return from_in_addr(a4);
  }
  in6_addr a6{};
  if (::inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    return from_in6_addr(a6);
  }
  return fail(Errc::invalid_argument, fmt::format("invalid IP address '{}'", text));
}

IpAddress IpAddress::from_in_addr(const in_addr& a) {
  return v4(ntohl(a.s_addr));
}

IpAddress IpAddress::from_in6_addr(const in6_addr& a) {
  Bytes16 b{};
  std::memcpy(b.data(), &a, b.size());
  return v6(b);
}

IpAddress::Bytes16 IpAddress::to_v6_mapped() const {
  if (is_v6()) {
    return bytes_;
  }
  Bytes16 b{};
  b[10] = 0xff;
  b[11] = 0xff;
  std::memcpy(&b[12], bytes_.data(), 4);
  return b;
}

bool IpAddress::is_unspecified() const {
  for (std::size_t i = 0; i < size(); ++i) {
    if (bytes_[i] != 0) {
      return false;
    }
  }
  return true;
}

bool IpAddress::is_multicast() const {
  return is_v4() ? (bytes_[0] & 0xf0U) == 0xe0U : bytes_[0] == 0xff;
}

bool IpAddress::is_loopback() const {
  if (is_v4()) {
    return bytes_[0] == 127;
  }
  Bytes16 lo{};
  lo[15] = 1;
  return bytes_ == lo;
}

IpAddress IpAddress::plus(std::uint64_t n) const {
  if (is_v4()) {
    return v4(static_cast<std::uint32_t>(v4_host() + n));
  }
  // Add to the low 64 bits with carry into the high 64.
  Bytes16 b = bytes_;
  unsigned carry_in = 0;
  for (int i = 15; i >= 0; --i) {
    const unsigned add =
        (i >= 8) ? static_cast<unsigned>((n >> (8U * (15U - static_cast<unsigned>(i)))) & 0xffU)
                 : 0U;
    const unsigned sum = b[static_cast<std::size_t>(i)] + add + carry_in;
    b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(sum);
    carry_in = sum >> 8U;
  }
  return v6(b);
}

std::string IpAddress::to_string() const {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  ::inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf.data(), buf.size());
  return buf.data();
}

Result<IpEndpoint> IpEndpoint::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument, fmt::format("invalid endpoint '{}': {}", text, why));
  };
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("expected [IPv6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return bad("expected HOST:PORT");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return bad("IPv6 addresses must use brackets, as in [::1]:53");
    }
  }
  auto addr = IpAddress::parse(host);
  if (!addr) {
    return bad(fmt::format("'{}' is not an IP address", host));
  }
  unsigned value = 0;
  const auto* end = port.data() + port.size();
  const auto [ptr, ec] = std::from_chars(port.data(), end, value);
  if (port.empty() || ec != std::errc() || ptr != end || value > 65535) {
    return bad(fmt::format("'{}' is not a port 0-65535", port));
  }
  return IpEndpoint{*addr, static_cast<std::uint16_t>(value)};
}

Result<IpEndpoint> IpEndpoint::from_sockaddr(const sockaddr* sa, socklen_t len) {
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in sin{};
    std::memcpy(&sin, sa, sizeof sin);
    return IpEndpoint{IpAddress::from_in_addr(sin.sin_addr), ntohs(sin.sin_port)};
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 sin6{};
    std::memcpy(&sin6, sa, sizeof sin6);
    return IpEndpoint{IpAddress::from_in6_addr(sin6.sin6_addr), ntohs(sin6.sin6_port)};
  }
  return fail(Errc::unsupported, fmt::format("address family {}", sa->sa_family));
}

socklen_t IpEndpoint::to_sockaddr(sockaddr_storage& out) const {
  out = {};
  if (address.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    std::memcpy(&sin.sin_addr, address.bytes().data(), 4);
    std::memcpy(&out, &sin, sizeof sin);
    return sizeof sin;
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  std::memcpy(&sin6.sin6_addr, address.bytes().data(), 16);
  std::memcpy(&out, &sin6, sizeof sin6);
  return sizeof sin6;
}

std::string IpEndpoint::to_string() const {
  return address.is_v4() ? fmt::format("{}:{}", address.to_string(), port)
                         : fmt::format("[{}]:{}", address.to_string(), port);
}

}  // namespace etherpath

std::size_t std::hash<etherpath::IpAddress>::operator()(
    const etherpath::IpAddress& a) const noexcept {
  // FNV-1a over family and bytes: cheap and good enough for session tables.
  std::size_t h = 1469598103934665603ULL;
  h = (h ^ static_cast<std::size_t>(a.family())) * 1099511628211ULL;
  for (auto b : a.bytes()) {
    h = (h ^ b) * 1099511628211ULL;
  }
  return h;
}
