// Next-hop MAC and interface addresses from the kernel's route, neighbour and address tables.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"

namespace etherpath::datapath::netlink {

// The MAC to send to for `destination` out of `ifname`: the route through that interface
// (RTM_GETROUTE, gateway or on-link), then the neighbour table (RTM_GETNEIGH). When there is no
// usable entry, the kernel is asked to resolve it (RTM_NEWNEIGH with NTF_USE: the kernel sends
// its own ARP request or Neighbour Solicitation, nothing else leaves) and the table is polled
// until `timeout`. Broadcast and multicast destinations map to their group MACs. Needs
// CAP_NET_ADMIN only when it has to ask the kernel to resolve. Runs in the calling thread's
// network namespace. Errors name the interface and the address: "eth1: no route to 10.9.9.9",
// "eth1: 10.0.0.1 did not resolve within 1000 ms".
Result<MacAddress> resolve_next_hop(const std::string& ifname, const IpAddress& destination,
                                    std::chrono::milliseconds timeout);

// The interface's own IPv4 and IPv6 addresses (RTM_GETADDR), in the kernel's order (IPv4
// first). Empty when it has none.
Result<std::vector<IpAddress>> interface_addresses(const std::string& ifname);

}  // namespace etherpath::datapath::netlink
