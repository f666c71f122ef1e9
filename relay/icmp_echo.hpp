// ICMP Echo header views for relay/: parse and write the 8-byte Echo header, ICMPv4 checksum.
#pragma once

#include <cstdint>
#include <optional>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"

namespace etherpath::relay {

inline constexpr std::uint32_t kIcmpEchoHeaderSize = 8;

enum class EchoKind : std::uint8_t { request, reply };

struct EchoHeader {
  EchoKind kind = EchoKind::request;
  std::uint16_t id = 0;
  std::uint16_t seq = 0;
};

enum class EchoParseError : std::uint8_t {
  truncated,  // fewer than 8 bytes
  not_echo,   // another ICMP type, or code != 0
};

// The ICMP type of an Echo request/reply in a family (8/0 for IPv4, 128/129 for IPv6).
constexpr std::uint8_t echo_type(IpFamily family, EchoKind kind) {
  if (family == IpFamily::v4) {
    return kind == EchoKind::request ? 8 : 0;
  }
  return kind == EchoKind::request ? 128 : 129;
}

struct EchoParse {
  std::optional<EchoHeader> header;
  EchoParseError error = EchoParseError::truncated;
};

// Parses an ICMP message that starts at its header.
EchoParse parse_echo(ConstBytes message, IpFamily family);

// Writes an Echo header at the front of `message` (>= 8 bytes, data already after it). For IPv4
// it also fills the checksum over the whole message; for IPv6 it leaves 0 (the kernel or the
// datapath fills it from the pseudo-header).
void write_echo(Bytes message, IpFamily family, const EchoHeader& header);

// RFC 1071 Internet checksum of `data`.
std::uint16_t internet_checksum(ConstBytes data);

}  // namespace etherpath::relay
