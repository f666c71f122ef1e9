// resolve_next_hop and interface_addresses: route, then neighbour, then ask the kernel and poll.
#include "datapath/netlink/next_hop.hpp"

#include <fmt/format.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cerrno>
#include <thread>

#include "datapath/netlink/mnl_socket.hpp"
#include "datapath/netlink/rtnl_messages.hpp"

namespace etherpath::datapath::netlink {
namespace {

using Clock = std::chrono::steady_clock;

// How often the neighbour table is read while the kernel resolves. ARP and ND answers on a LAN
// take well under a millisecond to a few; 10 ms keeps the wait short and the syscalls few.
constexpr auto kPollInterval = std::chrono::milliseconds(10);

Result<unsigned> index_of(const std::string& ifname) {
  const unsigned index = ::if_nametoindex(ifname.c_str());
  if (index == 0) {
    return fail(Errc::not_found, ifname + ": no such interface");
  }
  return index;
}

// 01:00:5e + the low 23 bits (RFC 1112), 33:33 + the low 32 bits (RFC 2464).
MacAddress multicast_mac(const IpAddress& group) {
  const auto& b = group.bytes();
  if (group.is_v4()) {
    return MacAddress(
        MacAddress::Octets{0x01, 0x00, 0x5e, static_cast<std::uint8_t>(b[1] & 0x7fU), b[2], b[3]});
  }
  return MacAddress(MacAddress::Octets{0x33, 0x33, b[12], b[13], b[14], b[15]});
}

// The neighbour entry for `address`, or nullopt when the table has none.
Result<std::optional<NeighbourAnswer>> read_neighbour(MnlSocket& socket, const IpAddress& address,
                                                      unsigned ifindex) {
  auto answer = socket.exchange(neighbour_get_request(address, ifindex));
  if (!answer) {
    if (answer.error().is_errno(ENOENT)) {
      return std::optional<NeighbourAnswer>{};
    }
    return fail(answer.error());
  }
  if (answer->empty()) {
    return std::optional<NeighbourAnswer>{};
  }
  EP_TRY(auto entry, parse_neighbour(answer->front()));
  return std::optional<NeighbourAnswer>(entry);
}

}  // namespace

Result<MacAddress> resolve_next_hop(const std::string& ifname, const IpAddress& destination,
                                    std::chrono::milliseconds timeout) {
  EP_TRY(const unsigned ifindex, index_of(ifname));
  const std::string dst_text = destination.to_string();
  if (destination.is_multicast()) {
    return multicast_mac(destination);
  }
  EP_TRY(auto socket, MnlSocket::open());

  // The route out of this interface. The request names the interface, so the kernel only
  // considers routes through it; an IPv6 lookup without one fails (ENETUNREACH), an IPv4 one
  // guesses "on-link" and says so with table 0.
  auto route_answer = socket.exchange(route_get_request(destination, ifindex));
  if (!route_answer) {
    // The errno says why (ENETUNREACH, EHOSTUNREACH, ENETDOWN); "netlink" adds nothing here.
    return fail(Error(route_answer.error().code(), ifname + ": no route to " + dst_text));
  }
  if (route_answer->empty()) {
    return fail(Errc::malformed,
                ifname + ": the kernel answered the route query for " + dst_text + " with nothing");
  }
  EP_TRY(const RouteAnswer route, parse_route(route_answer->front()));
  if (route.table == RT_TABLE_UNSPEC) {
    return fail_errno(ifname + ": no route to " + dst_text, ENETUNREACH);
  }
  switch (route.type) {
    case RTN_UNICAST: break;
    case RTN_BROADCAST: return MacAddress::broadcast();
    case RTN_LOCAL:
      return fail(Errc::invalid_argument,
                  ifname + ": " + dst_text + " is an address of this host, not a next hop");
    default:
      return fail_errno(
          ifname + ": no route to " + dst_text + " (route type " + std::to_string(route.type) + ")",
          EHOSTUNREACH);
  }
  if (route.oif != 0 && route.oif != ifindex) {
    char other[IF_NAMESIZE] = {};
    const char* other_name = ::if_indextoname(route.oif, other);
    return fail_errno(ifname + ": the route to " + dst_text + " leaves through " +
                          (other_name != nullptr ? std::string(other_name)
                                                 : "interface " + std::to_string(route.oif)),
                      ENETUNREACH);
  }

  const IpAddress hop = route.gateway.value_or(destination);
  const std::string hop_text =
      route.gateway ? fmt::format("{} (the gateway to {})", hop.to_string(), dst_text) : dst_text;
  const auto deadline = Clock::now() + timeout;
  std::uint16_t last_state = NUD_NONE;
  for (;;) {
    EP_TRY(auto entry, read_neighbour(socket, hop, ifindex));
    if (entry && entry->usable()) {
      return *entry->mac;
    }
    last_state = entry ? entry->state : NUD_NONE;
    // No entry, or one the kernel gave up on (FAILED) or never started (NONE): start the
    // kernel's own resolution. INCOMPLETE means it is under way; asking again would not help.
    if (!entry || (entry->state & (NUD_INCOMPLETE | NUD_PROBE | NUD_DELAY)) == 0) {
      auto kicked = socket.exchange(neighbour_use_request(hop, ifindex));
      if (!kicked) {
        return fail(kicked.error().wrap(
            fmt::format("{}: asking the kernel to resolve {}", ifname, hop_text)));
      }
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(kPollInterval, deadline - now));
  }
  return fail(Errc::timeout,
              fmt::format("{}: {} did not resolve within {} ms (neighbour state {})", ifname,
                          hop_text, timeout.count(), neighbour_state_name(last_state)));
}

Result<std::vector<IpAddress>> interface_addresses(const std::string& ifname) {
  EP_TRY(const unsigned ifindex, index_of(ifname));
  EP_TRY(auto socket, MnlSocket::open());
  auto dump = socket.exchange(address_dump_request());
  if (!dump) {
    return fail(dump.error().wrap(ifname + ": reading interface addresses"));
  }
  std::vector<IpAddress> out;
  for (const auto& message : *dump) {
    EP_TRY(const AddressAnswer a, parse_address(message));
    if (a.ifindex == ifindex) {
      out.push_back(a.address);
    }
  }
  return out;
}

}  // namespace etherpath::datapath::netlink
