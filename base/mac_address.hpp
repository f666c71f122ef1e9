// MacAddress: a 48-bit Ethernet address; parses colon and dash forms, formats as colon form.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace etherpath {

class MacAddress {
 public:
  static constexpr std::size_t kSize = 6;
  using Octets = std::array<std::uint8_t, kSize>;

  constexpr MacAddress() = default;
  constexpr explicit MacAddress(Octets octets) : octets_(octets) {}

  // "02:00:00:00:01:01" or "02-00-00-00-01-01" (case-insensitive, exactly two hex digits each).
  static Result<MacAddress> parse(std::string_view text);
  static constexpr MacAddress broadcast() {
    return MacAddress(Octets{0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  }
  // 48-bit integer form, for "+N" ranges in the generator.
  static constexpr MacAddress from_u64(std::uint64_t v) {
    Octets o{};
    for (std::size_t i = 0; i < kSize; ++i) {
      o[kSize - 1 - i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
    return MacAddress(o);
  }
  [[nodiscard]] constexpr std::uint64_t to_u64() const {
    std::uint64_t v = 0;
    for (auto b : octets_) {
      v = (v << 8U) | b;
    }
    return v;
  }

  [[nodiscard]] constexpr const Octets& octets() const { return octets_; }
  [[nodiscard]] constexpr bool is_broadcast() const { return *this == broadcast(); }
  // The group bit: broadcast is multicast too.
  [[nodiscard]] constexpr bool is_multicast() const { return (octets_[0] & 0x01U) != 0; }
  [[nodiscard]] constexpr bool is_zero() const { return to_u64() == 0; }
  [[nodiscard]] std::string to_string() const;

  friend constexpr bool operator==(const MacAddress&, const MacAddress&) = default;
  friend constexpr auto operator<=>(const MacAddress&, const MacAddress&) = default;

 private:
  Octets octets_{};
};

}  // namespace etherpath

template <>
struct std::hash<etherpath::MacAddress> {
  std::size_t operator()(const etherpath::MacAddress& m) const noexcept {
    return std::hash<std::uint64_t>{}(m.to_u64());
  }
};
