// ICMPv4 (RFC 792) and ICMPv6 (RFC 4443) header view and writer: type, code, checksum, and the
// 4-byte rest of header (echo identifier and sequence; unused for errors, which quote a datagram).
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/byte_order.hpp"

namespace etherpath::wire {

inline constexpr std::uint8_t kIcmpv4EchoReply = 0;
inline constexpr std::uint8_t kIcmpv4DestUnreachable = 3;
inline constexpr std::uint8_t kIcmpv4EchoRequest = 8;
inline constexpr std::uint8_t kIcmpv4TimeExceeded = 11;

inline constexpr std::uint8_t kIcmpv6DestUnreachable = 1;
inline constexpr std::uint8_t kIcmpv6PacketTooBig = 2;
inline constexpr std::uint8_t kIcmpv6TimeExceeded = 3;
inline constexpr std::uint8_t kIcmpv6EchoRequest = 128;
inline constexpr std::uint8_t kIcmpv6EchoReply = 129;
inline constexpr std::uint8_t kIcmpv6NeighborSolicit = 135;
inline constexpr std::uint8_t kIcmpv6NeighborAdvert = 136;

// The span must hold at least kSize bytes.
class IcmpView {
 public:
  static constexpr std::size_t kSize = 8;
  explicit IcmpView(ConstBytes bytes) noexcept : bytes_(bytes) {}
  [[nodiscard]] std::uint8_t type() const noexcept { return load_u8(bytes_, 0); }
  [[nodiscard]] std::uint8_t code() const noexcept { return load_u8(bytes_, 1); }
  [[nodiscard]] std::uint16_t checksum() const noexcept { return load_be16(bytes_, 2); }
  [[nodiscard]] std::uint32_t rest() const noexcept { return load_be32(bytes_, 4); }
  [[nodiscard]] std::uint16_t echo_id() const noexcept { return load_be16(bytes_, 4); }
  [[nodiscard]] std::uint16_t echo_seq() const noexcept { return load_be16(bytes_, 6); }

 private:
  ConstBytes bytes_;
};

class IcmpWriter {
 public:
  explicit IcmpWriter(Bytes bytes) noexcept : bytes_(bytes) {}
  void set_type_code(std::uint8_t type, std::uint8_t code) noexcept {
    store_u8(bytes_, 0, type);
    store_u8(bytes_, 1, code);
  }
  void set_checksum(std::uint16_t c) noexcept { store_be16(bytes_, 2, c); }
  void set_rest(std::uint32_t rest) noexcept { store_be32(bytes_, 4, rest); }
  void set_echo(std::uint16_t id, std::uint16_t seq) noexcept {
    store_be16(bytes_, 4, id);
    store_be16(bytes_, 6, seq);
  }

 private:
  Bytes bytes_;
};

}  // namespace etherpath::wire
