// Pseudo-header sums from IpAddress values (checksum_add itself is inline in the header).
#include "conn/wire/checksum.hpp"

namespace etherpath::wire {

std::uint64_t pseudo_header_sum(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                                std::uint32_t length) noexcept {
  const std::size_t n = src.size();
  std::uint64_t sum = checksum_add(0, std::as_bytes(std::span(src.bytes().data(), n)));
  sum = checksum_add(sum, std::as_bytes(std::span(dst.bytes().data(), n)));
  return sum + protocol + (length >> 16U) + (length & 0xffffU);
}

}  // namespace etherpath::wire
