// UDP header view and writer (RFC 768); the checksum covers the IPv4 or IPv6 pseudo-header.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/byte_order.hpp"

namespace etherpath::wire {

// The span must hold at least kSize bytes.
class UdpView {
 public:
  static constexpr std::size_t kSize = 8;
  explicit UdpView(ConstBytes bytes) noexcept : bytes_(bytes) {}
  [[nodiscard]] std::uint16_t src_port() const noexcept { return load_be16(bytes_, 0); }
  [[nodiscard]] std::uint16_t dst_port() const noexcept { return load_be16(bytes_, 2); }
  [[nodiscard]] std::uint16_t length() const noexcept { return load_be16(bytes_, 4); }
  [[nodiscard]] std::uint16_t checksum() const noexcept { return load_be16(bytes_, 6); }

 private:
  ConstBytes bytes_;
};

class UdpWriter {
 public:
  explicit UdpWriter(Bytes bytes) noexcept : bytes_(bytes) {}
  void set_src_port(std::uint16_t p) noexcept { store_be16(bytes_, 0, p); }
  void set_dst_port(std::uint16_t p) noexcept { store_be16(bytes_, 2, p); }
  void set_length(std::uint16_t n) noexcept { store_be16(bytes_, 4, n); }
  void set_checksum(std::uint16_t c) noexcept { store_be16(bytes_, 6, c); }

 private:
  Bytes bytes_;
};

}  // namespace etherpath::wire
