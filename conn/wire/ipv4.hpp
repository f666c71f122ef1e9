// IPv4 header view and writer (RFC 791): IHL with options, TOS, ID, DF/MF/offset, TTL, checksum.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"
#include "conn/wire/checksum.hpp"

namespace etherpath::wire {

inline constexpr std::uint8_t kIpProtoHopByHop = 0;
inline constexpr std::uint8_t kIpProtoIcmp = 1;
inline constexpr std::uint8_t kIpProtoTcp = 6;
inline constexpr std::uint8_t kIpProtoUdp = 17;
inline constexpr std::uint8_t kIpProtoRouting = 43;
inline constexpr std::uint8_t kIpProtoFragment = 44;
inline constexpr std::uint8_t kIpProtoIcmpv6 = 58;
inline constexpr std::uint8_t kIpProtoNoNext = 59;
inline constexpr std::uint8_t kIpProtoDestOptions = 60;

inline constexpr std::uint8_t kIpv4FlagReserved = 0x4;
inline constexpr std::uint8_t kIpv4FlagDf = 0x2;
inline constexpr std::uint8_t kIpv4FlagMf = 0x1;

// The span must hold at least kMinSize bytes, and header_length() bytes for options().
class Ipv4View {
 public:
  static constexpr std::size_t kMinSize = 20;
  static constexpr std::size_t kMaxSize = 60;
  explicit Ipv4View(ConstBytes bytes) noexcept : bytes_(bytes) {}
  [[nodiscard]] std::uint8_t version() const noexcept { return load_u8(bytes_, 0) >> 4U; }
  [[nodiscard]] std::uint8_t ihl() const noexcept { return load_u8(bytes_, 0) & 0x0fU; }
  [[nodiscard]] std::size_t header_length() const noexcept { return std::size_t{ihl()} * 4U; }
  [[nodiscard]] std::uint8_t tos() const noexcept { return load_u8(bytes_, 1); }
  [[nodiscard]] std::uint16_t total_length() const noexcept { return load_be16(bytes_, 2); }
  [[nodiscard]] std::uint16_t id() const noexcept { return load_be16(bytes_, 4); }
  [[nodiscard]] std::uint8_t flags() const noexcept {
    return static_cast<std::uint8_t>(load_be16(bytes_, 6) >> 13U);
  }
  [[nodiscard]] bool df() const noexcept { return (flags() & kIpv4FlagDf) != 0; }
  [[nodiscard]] bool mf() const noexcept { return (flags() & kIpv4FlagMf) != 0; }
  [[nodiscard]] std::uint16_t fragment_offset() const noexcept {
    return static_cast<std::uint16_t>(load_be16(bytes_, 6) & 0x1fffU);
  }
  [[nodiscard]] std::uint8_t ttl() const noexcept { return load_u8(bytes_, 8); }
  [[nodiscard]] std::uint8_t protocol() const noexcept { return load_u8(bytes_, 9); }
  [[nodiscard]] std::uint16_t checksum() const noexcept { return load_be16(bytes_, 10); }
  [[nodiscard]] std::uint32_t src_u32() const noexcept { return load_be32(bytes_, 12); }
  [[nodiscard]] std::uint32_t dst_u32() const noexcept { return load_be32(bytes_, 16); }
  [[nodiscard]] IpAddress src() const noexcept { return IpAddress::v4(src_u32()); }
  [[nodiscard]] IpAddress dst() const noexcept { return IpAddress::v4(dst_u32()); }
  [[nodiscard]] ConstBytes options() const noexcept {
    return bytes_.subspan(kMinSize, header_length() - kMinSize);
  }
  // Whether the header checksum is the one a sender computes (with the field taken as zero).
  [[nodiscard]] bool checksum_ok() const noexcept {
    return checksum_finish(checksum_add_without_field(0, bytes_.first(header_length()), 10)) ==
           checksum();
  }

 private:
  ConstBytes bytes_;
};

// The span must hold the whole header (20 bytes plus options).
class Ipv4Writer {
 public:
  explicit Ipv4Writer(Bytes bytes) noexcept : bytes_(bytes) {}
  void set_version_ihl(std::uint8_t ihl) noexcept {
    store_u8(bytes_, 0, static_cast<std::uint8_t>(0x40U | (ihl & 0x0fU)));
  }
  void set_tos(std::uint8_t tos) noexcept { store_u8(bytes_, 1, tos); }
  void set_total_length(std::uint16_t n) noexcept { store_be16(bytes_, 2, n); }
  void set_id(std::uint16_t id) noexcept { store_be16(bytes_, 4, id); }
  void set_flags_offset(std::uint8_t flags, std::uint16_t offset) noexcept {
    store_be16(bytes_, 6, static_cast<std::uint16_t>(((flags & 7U) << 13U) | (offset & 0x1fffU)));
  }
  void set_ttl(std::uint8_t ttl) noexcept { store_u8(bytes_, 8, ttl); }
  void set_protocol(std::uint8_t protocol) noexcept { store_u8(bytes_, 9, protocol); }
  void set_checksum(std::uint16_t c) noexcept { store_be16(bytes_, 10, c); }
  void set_src(std::uint32_t a) noexcept { store_be32(bytes_, 12, a); }
  void set_dst(std::uint32_t a) noexcept { store_be32(bytes_, 16, a); }
  // Computes the header checksum over IHL*4 bytes (the field is zeroed first).
  void fill_checksum() noexcept {
    set_checksum(0);
    set_checksum(internet_checksum(
        std::span<const std::byte>(bytes_).first(std::size_t{load_u8(bytes_, 0) & 0x0fU} * 4U)));
  }

 private:
  Bytes bytes_;
};

}  // namespace etherpath::wire
