// ARP and NDP frames for emulated hosts: requests, replies, gratuitous announcements, and the
// responder that answers a request for an owned address with the requester's VLAN stack.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "base/byte_order.hpp"
#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "base/vlan.hpp"
#include "conn/wire/parsed_frame.hpp"

namespace etherpath::conn {

// An emulated host on the wire: its MAC and VLAN stack.
struct Station {
  MacAddress mac;
  VlanStack vlans;
};

// ff02::1:ffXX:XXXX for `ip` (RFC 4291 §2.7.1): where a neighbour solicitation for it goes.
IpAddress solicited_node_multicast(const IpAddress& ip);
// 33:33 + the low 32 bits of an IPv6 multicast address (RFC 2464 §7).
MacAddress ipv6_multicast_mac(const IpAddress& group);
// fe80::/64 with the modified EUI-64 interface ID of `mac` (RFC 4291 App. A).
IpAddress link_local_from_mac(const MacAddress& mac);

// Each builder writes into `buffer` (2048 bytes is plenty) and returns the frame inside it.
Result<Bytes> build_arp_request(Bytes buffer, const Station& self, const IpAddress& sender_ip,
                                const IpAddress& target_ip);
Result<Bytes> build_arp_reply(Bytes buffer, const Station& self, const IpAddress& sender_ip,
                              const MacAddress& target_mac, const IpAddress& target_ip);
// A gratuitous ARP request (RFC 5227 announcement: sender and target IP both `ip`), broadcast.
Result<Bytes> build_gratuitous_arp(Bytes buffer, const Station& self, const IpAddress& ip);
// A multicast neighbour solicitation for `target` from `src_ip`, with our link-layer address.
Result<Bytes> build_neighbor_solicit(Bytes buffer, const Station& self, const IpAddress& src_ip,
                                     const IpAddress& target);
// A solicited advertisement (S and O set) of `target` to the soliciting node.
Result<Bytes> build_neighbor_advert(Bytes buffer, const Station& self, const IpAddress& target,
                                    const MacAddress& dst_mac, const IpAddress& dst_ip,
                                    bool solicited);
// An unsolicited advertisement (O set) to all nodes (ff02::1), as a host sends at start.
Result<Bytes> build_unsolicited_advert(Bytes buffer, const Station& self, const IpAddress& target);

// Whether an address belongs to the station that received the frame.
using OwnsAddress = std::function<bool(const IpAddress&)>;

// If `frame` is an ARP request or a neighbour solicitation for an address `owns` accepts, builds
// the reply into `buffer` from `self` (the VLAN stack is the frame's: the reply goes back on it).
// nullopt when the frame asks nothing of us.
std::optional<Result<Bytes>> answer_neighbor_request(const wire::ParsedFrame& frame,
                                                     const MacAddress& self_mac,
                                                     const OwnsAddress& owns, Bytes buffer);

// The (IP, MAC) a frame teaches about its sender: ARP requests and replies, NS with a source
// link-layer option, NA with a target option.
struct LearntNeighbor {
  IpAddress ip;
  MacAddress mac;
};
std::optional<LearntNeighbor> learn_from(const wire::ParsedFrame& frame);

}  // namespace etherpath::conn
