// Ethernet II header view and writer, EtherType constants, MAC loads and stores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "base/byte_order.hpp"
#include "base/mac_address.hpp"
#include "base/vlan.hpp"

namespace etherpath::wire {

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeArp = 0x0806;
inline constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr std::uint16_t kEtherTypeVlan = kTpid8021Q;
inline constexpr std::uint16_t kEtherTypeQinQ = kTpid8021ad;
// Without FCS: shorter frames are padded by the sender, and the padding follows the IP datagram.
inline constexpr std::size_t kEthernetMinFrameSize = 60;

inline MacAddress load_mac(ConstBytes s, std::size_t off) noexcept {
  MacAddress::Octets o{};
  std::memcpy(o.data(), s.data() + off, o.size());
  return MacAddress(o);
}
inline void store_mac(Bytes s, std::size_t off, const MacAddress& mac) noexcept {
  std::memcpy(s.data() + off, mac.octets().data(), MacAddress::kSize);
}

// Destination MAC, source MAC, EtherType. The span must hold at least kSize bytes.
class EthernetView {
 public:
  static constexpr std::size_t kSize = 14;
  explicit EthernetView(ConstBytes bytes) noexcept : bytes_(bytes) {}
  [[nodiscard]] MacAddress dst() const noexcept { return load_mac(bytes_, 0); }
  [[nodiscard]] MacAddress src() const noexcept { return load_mac(bytes_, 6); }
  [[nodiscard]] std::uint16_t ether_type() const noexcept { return load_be16(bytes_, 12); }

 private:
  ConstBytes bytes_;
};

class EthernetWriter {
 public:
  explicit EthernetWriter(Bytes bytes) noexcept : bytes_(bytes) {}
  void set_dst(const MacAddress& mac) noexcept { store_mac(bytes_, 0, mac); }
  void set_src(const MacAddress& mac) noexcept { store_mac(bytes_, 6, mac); }
  void set_ether_type(std::uint16_t type) noexcept { store_be16(bytes_, 12, type); }

 private:
  Bytes bytes_;
};

}  // namespace etherpath::wire
