// RFC 1071 sums over byte spans: big-endian 32-bit words into a 64-bit accumulator.
#include "conn/wire/checksum.hpp"

#include <cstring>

namespace etherpath::wire {

std::uint64_t checksum_add(std::uint64_t sum, ConstBytes data) noexcept {
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

std::uint64_t pseudo_header_sum(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                                std::uint32_t length) noexcept {
  const std::size_t n = src.size();
  std::uint64_t sum = checksum_add(0, std::as_bytes(std::span(src.bytes().data(), n)));
  sum = checksum_add(sum, std::as_bytes(std::span(dst.bytes().data(), n)));
  return sum + protocol + (length >> 16U) + (length & 0xffffU);
}

}  // namespace etherpath::wire
