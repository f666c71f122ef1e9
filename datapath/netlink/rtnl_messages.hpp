// rtnetlink requests for routes, neighbours and addresses, and parsers for the kernel's answers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "datapath/netlink/mnl_socket.hpp"

namespace etherpath::datapath::netlink {

// What RTM_GETROUTE answered for one destination.
struct RouteAnswer {
  std::uint8_t type = 0;  // RTN_UNICAST, RTN_LOCAL, RTN_BROADCAST, ...
  // The FIB table that matched. 0 (RT_TABLE_UNSPEC) means the IPv4 lookup found no route and the
  // kernel assumed the destination on-link because the request named an output interface.
  std::uint32_t table = 0;
  unsigned oif = 0;
  std::optional<IpAddress> gateway;  // RTA_GATEWAY, or RTA_VIA (an IPv4 route via IPv6)
};

// One neighbour table entry (RTM_NEWNEIGH, as RTM_GETNEIGH answers).
struct NeighbourAnswer {
  unsigned ifindex = 0;
  IpAddress address;
  std::uint16_t state = 0;  // NUD_* bits
  std::optional<MacAddress> mac;

  // Has a MAC that frames may be sent to now: REACHABLE, STALE, DELAY, PROBE (the kernel is
  // re-checking an address it had), PERMANENT or NOARP, and a non-zero link-layer address.
  [[nodiscard]] bool usable() const;
};

// One interface address (RTM_NEWADDR, as a dump answers).
struct AddressAnswer {
  unsigned ifindex = 0;
  IpAddress address;  // IFA_LOCAL when present (point-to-point links), else IFA_ADDRESS
  std::uint8_t prefix_length = 0;
};

// RTM_GETROUTE for `destination` leaving through `oif`, asking for the matched table's id
// (RTM_F_LOOKUP_TABLE), so that "no route" can be told from the kernel's on-link guess.
NetlinkMessage route_get_request(const IpAddress& destination, unsigned oif);
// RTM_GETNEIGH for one entry (the kernel answers ENOENT when there is none).
NetlinkMessage neighbour_get_request(const IpAddress& address, unsigned ifindex);
// RTM_NEWNEIGH with NTF_USE: creates the entry if missing and starts the kernel's resolution
// (ARP request or Neighbour Solicitation) as if a packet were waiting for it. Leaves a usable
// entry alone. NLM_F_CREATE | NLM_F_REPLACE, as `ip neigh replace ADDR dev IF use` sends.
NetlinkMessage neighbour_use_request(const IpAddress& address, unsigned ifindex);
// RTM_GETADDR dump of every address of every interface, both families.
NetlinkMessage address_dump_request();

// Parsers for one answer message. Each checks the message type, that every length stays inside
// the bytes, and that addresses have their family's size; Errc::malformed otherwise.
Result<RouteAnswer> parse_route(std::span<const std::byte> message);
Result<NeighbourAnswer> parse_neighbour(std::span<const std::byte> message);
Result<AddressAnswer> parse_address(std::span<const std::byte> message);

// "REACHABLE", "FAILED", "INCOMPLETE|..." as `ip neigh` prints them, for messages.
std::string neighbour_state_name(std::uint16_t state);

}  // namespace etherpath::datapath::netlink
