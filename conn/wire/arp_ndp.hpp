// ARP over Ethernet/IPv4 (RFC 826) and IPv6 neighbour discovery NS/NA (RFC 4861 §4.3, §4.4)
// with source/target link-layer address options.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "conn/wire/ethernet.hpp"
#include "conn/wire/ipv6.hpp"

namespace etherpath::wire {

inline constexpr std::uint16_t kArpRequest = 1;
inline constexpr std::uint16_t kArpReply = 2;
inline constexpr std::uint16_t kArpHardwareEthernet = 1;

// Ethernet/IPv4 ARP: the span must hold at least kSize bytes.
class ArpView {
 public:
  static constexpr std::size_t kSize = 28;
  explicit ArpView(ConstBytes bytes) noexcept : bytes_(bytes) {}
  [[nodiscard]] std::uint16_t hardware_type() const noexcept { return load_be16(bytes_, 0); }
  [[nodiscard]] std::uint16_t protocol_type() const noexcept { return load_be16(bytes_, 2); }
  [[nodiscard]] std::uint8_t hardware_size() const noexcept { return load_u8(bytes_, 4); }
  [[nodiscard]] std::uint8_t protocol_size() const noexcept { return load_u8(bytes_, 5); }
  [[nodiscard]] std::uint16_t op() const noexcept { return load_be16(bytes_, 6); }
  [[nodiscard]] MacAddress sender_mac() const noexcept { return load_mac(bytes_, 8); }
  [[nodiscard]] IpAddress sender_ip() const noexcept {
    return IpAddress::v4(load_be32(bytes_, 14));
  }
  [[nodiscard]] MacAddress target_mac() const noexcept { return load_mac(bytes_, 18); }
  [[nodiscard]] IpAddress target_ip() const noexcept {
    return IpAddress::v4(load_be32(bytes_, 24));
  }
  // The only ARP etherpath speaks: Ethernet hardware, IPv4 protocol, 6- and 4-byte addresses.
  [[nodiscard]] bool is_ethernet_ipv4() const noexcept {
    return hardware_type() == kArpHardwareEthernet && protocol_type() == kEtherTypeIpv4 &&
           hardware_size() == 6 && protocol_size() == 4;
  }

 private:
  ConstBytes bytes_;
};

class ArpWriter {
 public:
  explicit ArpWriter(Bytes bytes) noexcept : bytes_(bytes) {}
  // Writes the whole message; the IPs must be IPv4.
  void set(std::uint16_t op, const MacAddress& sender_mac, const IpAddress& sender_ip,
           const MacAddress& target_mac, const IpAddress& target_ip) noexcept {
    store_be16(bytes_, 0, kArpHardwareEthernet);
    store_be16(bytes_, 2, kEtherTypeIpv4);
    store_u8(bytes_, 4, 6);
    store_u8(bytes_, 5, 4);
    store_be16(bytes_, 6, op);
    store_mac(bytes_, 8, sender_mac);
    store_be32(bytes_, 14, sender_ip.v4_host());
    store_mac(bytes_, 18, target_mac);
    store_be32(bytes_, 24, target_ip.v4_host());
  }

 private:
  Bytes bytes_;
};

inline constexpr std::uint8_t kNdpOptionSourceLinkAddress = 1;
inline constexpr std::uint8_t kNdpOptionTargetLinkAddress = 2;
// The NA flags in the first byte after the ICMPv6 checksum.
inline constexpr std::uint8_t kNdpFlagRouter = 0x80;
inline constexpr std::uint8_t kNdpFlagSolicited = 0x40;
inline constexpr std::uint8_t kNdpFlagOverride = 0x20;

// NS or NA from the ICMPv6 type on: type, code, checksum, 4 bytes flags/reserved, target, options.
// The span must hold at least kMinSize bytes.
class NdpView {
 public:
  static constexpr std::size_t kMinSize = 24;
  static constexpr std::size_t kLinkAddressOptionSize = 8;
  explicit NdpView(ConstBytes bytes) noexcept : bytes_(bytes) {}
  [[nodiscard]] std::uint8_t type() const noexcept { return load_u8(bytes_, 0); }
  [[nodiscard]] std::uint8_t flags() const noexcept { return load_u8(bytes_, 4); }
  [[nodiscard]] IpAddress target() const noexcept { return load_ipv6(bytes_, 8); }
  [[nodiscard]] ConstBytes options() const noexcept { return bytes_.subspan(kMinSize); }

 private:
  ConstBytes bytes_;
};

}  // namespace etherpath::wire
