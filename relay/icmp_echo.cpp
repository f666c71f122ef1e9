// ICMP Echo header parsing and writing for the forwarder (no IP header: transports strip it).
#include "relay/icmp_echo.hpp"

namespace etherpath::relay {

EchoParse parse_echo(ConstBytes message, IpFamily family) {
  EchoParse out;
  if (message.size() < kIcmpEchoHeaderSize) {
    out.error = EchoParseError::truncated;
    return out;
  }
  const std::uint8_t type = load_u8(message, 0);
  const std::uint8_t code = load_u8(message, 1);
  if (code != 0) {
    out.error = EchoParseError::not_echo;
    return out;
  }
  EchoKind kind{};
  if (type == echo_type(family, EchoKind::request)) {
    kind = EchoKind::request;
  } else if (type == echo_type(family, EchoKind::reply)) {
    kind = EchoKind::reply;
  } else {
    out.error = EchoParseError::not_echo;
    return out;
  }
  out.header = EchoHeader{kind, load_be16(message, 4), load_be16(message, 6)};
  return out;
}

void write_echo(Bytes message, IpFamily family, const EchoHeader& header) {
  store_u8(message, 0, echo_type(family, header.kind));
  store_u8(message, 1, 0);
  store_be16(message, 2, 0);
  store_be16(message, 4, header.id);
  store_be16(message, 6, header.seq);
  if (family == IpFamily::v4) {
    store_be16(message, 2, internet_checksum(message));
  }
}

std::uint16_t internet_checksum(ConstBytes data) {
  std::uint64_t sum = 0;
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2) {
    sum += load_be16(data, i);
  }
  if (i < data.size()) {
    sum += static_cast<std::uint64_t>(load_u8(data, i)) << 8U;
  }
  while ((sum >> 16U) != 0) {
    sum = (sum & 0xffffU) + (sum >> 16U);
  }
  return static_cast<std::uint16_t>(~sum & 0xffffU);
}

}  // namespace etherpath::relay
