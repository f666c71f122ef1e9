// Printable names of DropReason values.
#include "conn/wire/drop_reason.hpp"

#include <array>
#include <cstddef>

namespace etherpath::wire {

namespace {
constexpr std::array<std::string_view, kDropReasonCount> kNames = {
    "none",
    "truncated_ethernet",
    "truncated_vlan",
    "vlan_stack_too_deep",
    "unsupported_ether_type",
    "truncated_ipv4",
    "bad_ip_version",
    "bad_ipv4_ihl",
    "ipv4_total_length_too_short",
    "ipv4_total_length_exceeds_frame",
    "ipv4_fragment",
    "bad_ipv4_checksum",
    "truncated_ipv6",
    "ipv6_payload_length_exceeds_frame",
    "truncated_ipv6_extension",
    "ipv6_extension_chain_too_long",
    "ipv6_fragment",
    "truncated_udp",
    "udp_length_too_short",
    "udp_length_exceeds_ip",
    "udp_length_short_of_ip",
    "bad_udp_checksum",
    "udp_zero_checksum_ipv6",
    "truncated_icmp",
    "bad_icmp_checksum",
    "truncated_arp",
    "unsupported_arp",
    "truncated_ndp",
    "bad_ndp_option",
};
}  // namespace

std::string_view to_string(DropReason reason) noexcept {
  const auto i = static_cast<std::size_t>(reason);
  return i < kNames.size() ? kNames[i] : std::string_view("unknown");
}

}  // namespace etherpath::wire
