// The Internet checksum (RFC 1071), pseudo-header sums for UDP/ICMPv6, RFC 1624 incremental update.
#pragma once

#include <cstdint>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"

namespace etherpath::wire {

// Sums are kept unfolded in 64 bits, in host-order numbers: a 16-bit field with host value v adds
// v, so lengths and ports can be added without byte swaps. Folding happens once, at the end.

// Adds `data` to `sum`. `data` must start at an even offset of the checksummed stream (every
// header and payload boundary etherpath sums across is even); an odd tail is padded with zero.
[[nodiscard]] std::uint64_t checksum_add(std::uint64_t sum, ConstBytes data) noexcept;

// Adds `data` as if its 2-byte checksum field at `field_offset` (even) were zero: the sum a
// sender checksums. Summing around the field, rather than subtracting it afterwards, keeps +0 and
// -0 apart (an all-zero ICMP message must carry 0xffff, not 0).
[[nodiscard]] inline std::uint64_t checksum_add_without_field(std::uint64_t sum, ConstBytes data,
                                                              std::size_t field_offset) noexcept {
  return checksum_add(checksum_add(sum, data.first(field_offset)), data.subspan(field_offset + 2));
}

// The 16-bit ones'-complement sum of an unfolded sum.
[[nodiscard]] constexpr std::uint16_t checksum_fold(std::uint64_t sum) noexcept {
  sum = (sum & 0xffffffffULL) + (sum >> 32U);
  sum = (sum & 0xffffffffULL) + (sum >> 32U);
  sum = (sum & 0xffffULL) + (sum >> 16U);
  sum = (sum & 0xffffULL) + (sum >> 16U);
  sum = (sum & 0xffffULL) + (sum >> 16U);
  return static_cast<std::uint16_t>(sum);
}

// The checksum field value (host order, store with store_be16) for an unfolded sum.
[[nodiscard]] constexpr std::uint16_t checksum_finish(std::uint64_t sum) noexcept {
  return static_cast<std::uint16_t>(~checksum_fold(sum));
}

// UDP sends a computed 0 as 0xffff: 0 on the wire means "no checksum" (RFC 768).
[[nodiscard]] constexpr std::uint16_t udp_checksum_finish(std::uint64_t sum) noexcept {
  const std::uint16_t c = checksum_finish(sum);
  return c == 0 ? std::uint16_t{0xffff} : c;
}

// RFC 1071 over a whole buffer (the IPv4 header, an ICMPv4 message).
[[nodiscard]] inline std::uint16_t internet_checksum(ConstBytes data) noexcept {
  return checksum_finish(checksum_add(0, data));
}

// The pseudo-header of RFC 768 (IPv4) or RFC 8200 §8.1 (IPv6), unfolded. Both addresses must be
// of the same family.
[[nodiscard]] std::uint64_t pseudo_header_sum(const IpAddress& src, const IpAddress& dst,
                                              std::uint8_t protocol, std::uint32_t length) noexcept;

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), the checksum after one 16-bit field changed from
// old_value to new_value. Eqn. 3 (not RFC 1141's eqn. 2) so that -0 never appears.
[[nodiscard]] constexpr std::uint16_t checksum_update16(std::uint16_t checksum,
                                                        std::uint16_t old_value,
                                                        std::uint16_t new_value) noexcept {
  const std::uint64_t sum = std::uint64_t{static_cast<std::uint16_t>(~checksum)} +
                            std::uint64_t{static_cast<std::uint16_t>(~old_value)} + new_value;
  return checksum_finish(sum);
}

// The same for a 32-bit field (an IPv4 address): two 16-bit halves.
[[nodiscard]] constexpr std::uint16_t checksum_update32(std::uint16_t checksum,
                                                        std::uint32_t old_value,
                                                        std::uint32_t new_value) noexcept {
  const std::uint64_t sum = std::uint64_t{static_cast<std::uint16_t>(~checksum)} +
                            std::uint64_t{static_cast<std::uint16_t>(~(old_value >> 16U))} +
                            std::uint64_t{static_cast<std::uint16_t>(~old_value)} +
                            (new_value >> 16U) + (new_value & 0xffffU);
  return checksum_finish(sum);
}

}  // namespace etherpath::wire
