// DropReason: why FrameParser refused a frame, one value per check, each with a printable name.
#pragma once

#include <cstdint>
#include <string_view>

namespace etherpath::wire {

enum class DropReason : std::uint8_t {
  none = 0,                           // the frame parsed
  truncated_ethernet,                 // fewer than 14 bytes
  truncated_vlan,                     // a TPID without its TCI and next EtherType
  vlan_stack_too_deep,                // more than kMaxVlanDepth tags
  unsupported_ether_type,             // not IPv4, IPv6 or ARP (unless asked to accept any)
  truncated_ipv4,                     // fewer than 20 bytes, or fewer than IHL*4
  bad_ip_version,                     // the version nibble disagrees with the EtherType
  bad_ipv4_ihl,                       // IHL below 5
  ipv4_total_length_too_short,        // total length below the header length
  ipv4_total_length_exceeds_frame,    // total length beyond the bytes received
  ipv4_fragment,                      // MF set or a fragment offset: no reassembly here
  bad_ipv4_checksum,                  // header checksum wrong (only when checking)
  truncated_ipv6,                     // fewer than 40 bytes
  ipv6_payload_length_exceeds_frame,  // payload length beyond the bytes received
  truncated_ipv6_extension,           // an extension header runs past the payload
  ipv6_extension_chain_too_long,      // more than kMaxIpv6Extensions extension headers
  ipv6_fragment,                      // a fragment header: no reassembly here
  truncated_udp,                      // fewer than 8 bytes of UDP
  udp_length_too_short,               // UDP length below 8
  udp_length_exceeds_ip,              // UDP length beyond the IP payload
  udp_length_short_of_ip,             // UDP length below the IP payload (bytes nobody owns)
  bad_udp_checksum,                   // UDP checksum wrong (only when checking)
  udp_zero_checksum_ipv6,             // IPv6 forbids "no checksum" (only when checking)
  truncated_icmp,                     // fewer than 8 bytes of ICMP
  bad_icmp_checksum,                  // ICMP checksum wrong (only when checking)
  truncated_arp,                      // fewer than 28 bytes of ARP
  unsupported_arp,                    // not Ethernet/IPv4 ARP
  truncated_ndp,                      // NS/NA shorter than 24 bytes
  bad_ndp_option,                     // an option of length 0 or running past the message
};

inline constexpr std::size_t kDropReasonCount =
    static_cast<std::size_t>(DropReason::bad_ndp_option) + 1;

// "truncated_vlan", ... : the enumerator's name, for logs and stats keys.
[[nodiscard]] std::string_view to_string(DropReason reason) noexcept;

}  // namespace etherpath::wire
