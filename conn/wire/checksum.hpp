// The Internet checksum (RFC 1071), pseudo-header sums for UDP/ICMPv6, RFC 1624 incremental update.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"

namespace etherpath::wire {

// Sums are kept unfolded in 64 bits, in host-order numbers: a 16-bit field with host value v adds
// v, so lengths and ports can be added without byte swaps. Folding happens once, at the end.

// Adds `data` to `sum`. `data` must start at an even offset of the checksummed stream (every
// header and payload boundary etherpath sums across is even); an odd tail is padded with zero.
// Inline: header-sized sums are on every packet's path and the sizes are often known.
[[nodiscard]] inline std::uint64_t checksum_add(std::uint64_t sum, ConstBytes data) noexcept {
  // A big-endian 32-bit word a*2^16 + b is congruent to a + b modulo 0xffff, so summing 32-bit
  // halves of 64-bit loads gives the same folded result as summing 16-bit words, in fewer steps.
  // 2^32 words of 2^32 each cannot overflow 64 bits for any frame size.
  const std::byte* p = data.data();
  std::size_t n = data.size();
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  while (n >= 16) {
    std::uint64_t x = 0;
    std::uint64_t y = 0;
    std::memcpy(&x, p, 8);
    std::memcpy(&y, p + 8, 8);
    x = __builtin_bswap64(x);
    y = __builtin_bswap64(y);
    a += (x >> 32U) + (x & 0xffffffffULL);
    b += (y >> 32U) + (y & 0xffffffffULL);
    p += 16;
    n -= 16;
  }
  if (n >= 8) {
    std::uint64_t x = 0;
    std::memcpy(&x, p, 8);
    x = __builtin_bswap64(x);
    a += (x >> 32U) + (x & 0xffffffffULL);
    p += 8;
    n -= 8;
  }
  if (n >= 4) {
    std::uint32_t x = 0;
    std::memcpy(&x, p, 4);
    b += __builtin_bswap32(x);
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    a += (std::uint64_t{static_cast<std::uint8_t>(p[0])} << 8U) | static_cast<std::uint8_t>(p[1]);
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    b += std::uint64_t{static_cast<std::uint8_t>(p[0])} << 8U;
  }
  return sum + a + b;
}

// Copies `src` to `dst` and adds it to `sum` in the same pass (what checksum_add(sum, src) gives):
// the builder's payload is summed as it is copied, so nothing re-reads bytes just stored. The
// ranges must not overlap.
[[nodiscard]] inline std::uint64_t checksum_copy(std::byte* dst, ConstBytes src,
                                                 std::uint64_t sum) noexcept {
  const std::byte* p = src.data();
  std::size_t n = src.size();
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  while (n >= 16) {
    std::uint64_t x = 0;
    std::uint64_t y = 0;
    std::memcpy(&x, p, 8);
    std::memcpy(&y, p + 8, 8);
    std::memcpy(dst, &x, 8);
    std::memcpy(dst + 8, &y, 8);
    x = __builtin_bswap64(x);
    y = __builtin_bswap64(y);
    a += (x >> 32U) + (x & 0xffffffffULL);
    b += (y >> 32U) + (y & 0xffffffffULL);
    p += 16;
    dst += 16;
    n -= 16;
  }
  if (n >= 8) {
    std::uint64_t x = 0;
    std::memcpy(&x, p, 8);
    std::memcpy(dst, &x, 8);
    x = __builtin_bswap64(x);
    a += (x >> 32U) + (x & 0xffffffffULL);
    p += 8;
    dst += 8;
    n -= 8;
  }
  if (n >= 4) {
    std::uint32_t x = 0;
    std::memcpy(&x, p, 4);
    std::memcpy(dst, &x, 4);
    b += __builtin_bswap32(x);
    p += 4;
    dst += 4;
    n -= 4;
  }
  if (n >= 2) {
    std::uint16_t x = 0;
    std::memcpy(&x, p, 2);
    std::memcpy(dst, &x, 2);
    a += bswap16(x);
    p += 2;
    dst += 2;
    n -= 2;
  }
  if (n == 1) {
    dst[0] = p[0];
    b += std::uint64_t{static_cast<std::uint8_t>(p[0])} << 8U;
  }
  return sum + a + b;
}

// Adds `data` as if its 2-byte checksum field at `field_offset` (even) were zero: the sum a
// sender checksums. Summing around the field, rather than subtracting it afterwards, keeps +0 and
// -0 apart (an all-zero ICMP message must carry 0xffff, not 0).
[[nodiscard]] inline std::uint64_t checksum_add_without_field(std::uint64_t sum, ConstBytes data,
                                                              std::size_t field_offset) noexcept {
  return checksum_add(checksum_add(sum, data.first(field_offset)), data.subspan(field_offset + 2));
}

// The 16-bit ones'-complement sum of an unfolded sum: 64 to 32 bits with an end-around carry,
// then 32 to 16 by adding the halves in one 32-bit add of the value and its rotation (the upper
// half of x + rotl(x, 16) is hi + lo plus the carry out of lo + hi). Like a word-by-word sum it is
// 0 only for a zero sum, so +0 and -0 stay apart.
[[nodiscard]] constexpr std::uint16_t checksum_fold(std::uint64_t sum) noexcept {
  const auto lo = static_cast<std::uint32_t>(sum);
  std::uint32_t x = lo + static_cast<std::uint32_t>(sum >> 32U);
  x += x < lo ? 1U : 0U;
  return static_cast<std::uint16_t>((x + std::rotl(x, 16)) >> 16U);
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

// The same read straight from the address fields of an IPv4 (bytes 12-19) or IPv6 (8-39)
// header, so that builders need not make IpAddress values per packet.
[[nodiscard]] inline std::uint64_t pseudo_header_sum_of(ConstBytes ip_header, bool v6,
                                                        std::uint8_t protocol,
                                                        std::uint32_t length) noexcept {
  const std::uint64_t sum =
      checksum_add(0, v6 ? ip_header.subspan(8, 32) : ip_header.subspan(12, 8));
  return sum + protocol + (length >> 16U) + (length & 0xffffU);
}

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
