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

namespace detail {
// The big-endian 64-bit word at src[at], copied to dst[at] with kCopy.
template <bool kCopy>
[[nodiscard, gnu::always_inline]] inline std::uint64_t word_of(std::byte* dst, const std::byte* src,
                                                               std::size_t at) noexcept {
  std::uint64_t x = 0;
  std::memcpy(&x, src + at, 8);
  if constexpr (kCopy) {
    std::memcpy(dst + at, &x, 8);
  }
  return __builtin_bswap64(x);
}

// One pass over n bytes from `src`: their sum, and with kCopy a copy to `dst` (no overlap).
// Big-endian 64-bit words are added with an end-around carry, counted apart: 2^64, 2^32 and
// 2^16 are all 1 modulo 0xffff, so that sum, and the two 32-bit halves of it, are congruent to
// the sum of the 16-bit words, and, like it, 0 only for all-zero bytes (so +0 and -0 stay
// apart). The last n % 8 bytes come from one load of the 8 bytes that end the data, shifted up
// past the bytes summed already (an odd last byte is then the high byte of its 16-bit word). The
// result is below 2^35, so sums of headers and payloads added to it cannot overflow.
template <bool kCopy>
[[nodiscard, gnu::always_inline]] inline std::uint64_t checksum_pass(std::byte* dst,
                                                                     const std::byte* src,
                                                                     std::size_t n,
                                                                     std::uint64_t sum) noexcept {
  std::uint64_t acc = 0;
  std::uint64_t carries = 0;
  const auto add = [&acc, &carries](std::uint64_t word) {
    carries += __builtin_add_overflow(acc, word, &acc) ? 1U : 0U;
  };
  const auto word_at = [src, dst](std::size_t at) { return word_of<kCopy>(dst, src, at); };
  if (n >= 8) {
    // Whole words up to the last 8 bytes, then those 8 bytes without what was summed already.
    const std::size_t last = n - 8;
    std::size_t i = 0;
    for (; i < last; i += 8) {
      add(word_at(i));
    }
    // i - last is (8 - n % 8) % 8; computed from n it leaves the loop's index alone.
    add(word_at(last) << ((0U - 8U * n) & 63U));
  } else {
    // Fewer than 8 bytes: 4, 2 and 1 at a time.
    std::size_t i = 0;
    if (n >= 4) {
      std::uint32_t x = 0;
      std::memcpy(&x, src, 4);
      if constexpr (kCopy) {
        std::memcpy(dst, &x, 4);
      }
      add(std::uint64_t{__builtin_bswap32(x)} << 32U);
      i = 4;
    }
    if ((n & 2U) != 0) {
      std::uint16_t x = 0;
      std::memcpy(&x, src + i, 2);
      if constexpr (kCopy) {
        std::memcpy(dst + i, &x, 2);
      }
      add(std::uint64_t{bswap16(x)} << (48U - 8U * i));
      i += 2;
    }
    if ((n & 1U) != 0) {
      if constexpr (kCopy) {
        dst[i] = src[i];
      }
      add(std::uint64_t{static_cast<std::uint8_t>(src[i])} << (56U - 8U * i));
    }
  }
  return sum + (acc >> 32U) + (acc & 0xffffffffULL) + carries;
}
}  // namespace detail

// Adds `data` to `sum` (unfolded). `data` must start at an even offset of the checksummed stream
// (every header and payload boundary etherpath sums across is even); an odd tail is padded with
// zero. Inline: header-sized sums are on every packet's path and the sizes are often known.
[[nodiscard]] inline std::uint64_t checksum_add(std::uint64_t sum, ConstBytes data) noexcept {
  return detail::checksum_pass<false>(nullptr, data.data(), data.size(), sum);
}

// Copies `src` to `dst` and adds it to `sum` in the same pass (what checksum_add(sum, src) gives):
// the builder's payload is summed as it is copied, so nothing re-reads bytes just stored. The
// ranges must not overlap.
[[nodiscard, gnu::always_inline]] inline std::uint64_t checksum_copy(std::byte* dst, ConstBytes src,
                                                                     std::uint64_t sum) noexcept {
  return detail::checksum_pass<true>(dst, src.data(), src.size(), sum);
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

// UDP sends a computed 0 as 0xffff: 0 on the wire means "no checksum" (RFC 768). Without a
// compare: fold(sum + 1) is in 1..0xffff and congruent to fold(sum) + 1, so 0x10000 minus it is
// ~fold(sum) except where that would be 0, and there it is 0xffff. (sum + 1 must not wrap, as it
// cannot for any sum of these helpers.)
[[nodiscard]] constexpr std::uint16_t udp_checksum_finish(std::uint64_t sum) noexcept {
  return static_cast<std::uint16_t>(0x10000U - checksum_fold(sum + 1));
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
