// MacAddress text forms.
#include "base/mac_address.hpp"

#include <fmt/format.h>

namespace etherpath {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

Result<MacAddress> MacAddress::parse(std::string_view text) {
  // 6 pairs of hex digits with 5 separators, all the same (':' or '-').
  constexpr std::size_t kTextSize = 17;
  auto bad = [&] {
    return fail(
        Errc::invalid_argument,
        fmt::format("invalid MAC address '{}': expected six hex pairs like 02:00:00:00:00:01",
                    text));
  };
  if (text.size() != kTextSize) {
    return bad();
  }
  const char sep = text[2];
  if (sep != ':' && sep != '-') {
    return bad();
  }
  Octets octets{};
  for (std::size_t i = 0; i < kSize; ++i) {
    const std::size_t at = i * 3;
    if (i > 0 && text[at - 1] != sep) {
      return bad();
    }
    const int hi = hex_digit(text[at]);
    const int lo = hex_digit(text[at + 1]);
    if (hi < 0 || lo < 0) {
      return bad();
    }
    octets[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return MacAddress(octets);
}

std::string MacAddress::to_string() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", octets_[0], octets_[1],
                     octets_[2], octets_[3], octets_[4], octets_[5]);
}

}  // namespace etherpath
