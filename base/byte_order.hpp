// Big-endian (network order) values and memcpy-based loads/stores over byte spans.
// Wire headers are read through these, never by casting bytes to a struct: a VLAN tag leaves the
// IPv4 header 2-byte aligned, and casts to header pointers are undefined behaviour anyway.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace etherpath {

using Bytes = std::span<std::byte>;
using ConstBytes = std::span<const std::byte>;

constexpr std::uint16_t bswap16(std::uint16_t v) noexcept {
  return static_cast<std::uint16_t>((v << 8U) | (v >> 8U));
}
constexpr std::uint32_t bswap32(std::uint32_t v) noexcept {
  return __builtin_bswap32(v);
}

// Reads and writes at a byte offset; the caller has bounds-checked `off + N <= s.size()`.
inline std::uint16_t load_be16(ConstBytes s, std::size_t off) noexcept {
  std::uint16_t v = 0;
  std::memcpy(&v, s.data() + off, sizeof v);
  return bswap16(v);
}
inline std::uint32_t load_be32(ConstBytes s, std::size_t off) noexcept {
  std::uint32_t v = 0;
  std::memcpy(&v, s.data() + off, sizeof v);
  return bswap32(v);
}
inline std::uint8_t load_u8(ConstBytes s, std::size_t off) noexcept {
  return static_cast<std::uint8_t>(s[off]);
}
inline void store_be16(Bytes s, std::size_t off, std::uint16_t v) noexcept {
  v = bswap16(v);
  std::memcpy(s.data() + off, &v, sizeof v);
}
inline void store_be32(Bytes s, std::size_t off, std::uint32_t v) noexcept {
  v = bswap32(v);
  std::memcpy(s.data() + off, &v, sizeof v);
}
inline void store_u8(Bytes s, std::size_t off, std::uint8_t v) noexcept {
  s[off] = static_cast<std::byte>(v);
}

// A 16-bit value held in network byte order: the type says which order the bytes are in.
class Be16 {
 public:
  constexpr Be16() = default;
  static constexpr Be16 from_host(std::uint16_t host) noexcept {
    Be16 b;
    b.raw_ = bswap16(host);
    return b;
  }
  static Be16 load(ConstBytes s, std::size_t off) noexcept { return from_host(load_be16(s, off)); }
  void store(Bytes s, std::size_t off) const noexcept { store_be16(s, off, host()); }
  [[nodiscard]] constexpr std::uint16_t host() const noexcept { return bswap16(raw_); }
  // The value exactly as it sits on the wire, for checksum arithmetic and BPF map keys.
  [[nodiscard]] constexpr std::uint16_t raw() const noexcept { return raw_; }
  friend constexpr bool operator==(Be16, Be16) = default;

 private:
  std::uint16_t raw_ = 0;
};

// A 32-bit value held in network byte order.
class Be32 {
 public:
  constexpr Be32() = default;
  static constexpr Be32 from_host(std::uint32_t host) noexcept {
    Be32 b;
    b.raw_ = bswap32(host);
    return b;
  }
  static Be32 load(ConstBytes s, std::size_t off) noexcept { return from_host(load_be32(s, off)); }
  void store(Bytes s, std::size_t off) const noexcept { store_be32(s, off, host()); }
  [[nodiscard]] constexpr std::uint32_t host() const noexcept { return bswap32(raw_); }
  [[nodiscard]] constexpr std::uint32_t raw() const noexcept { return raw_; }
  friend constexpr bool operator==(Be32, Be32) = default;

 private:
  std::uint32_t raw_ = 0;
};

static_assert(sizeof(Be16) == 2 && sizeof(Be32) == 4);

// View a trivially copyable byte container as std::byte spans.
inline ConstBytes as_bytes(std::span<const std::uint8_t> s) noexcept {
  return std::as_bytes(s);
}
inline Bytes as_writable(std::span<std::uint8_t> s) noexcept {
  return std::as_writable_bytes(s);
}

}  // namespace etherpath
