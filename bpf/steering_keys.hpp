// Typed C++ keys of the steering program's maps, and their conversion to the ABI structs of
// bpf/steer_abi.h (the one definition of the layouts).
#pragma once

#include <cstdint>

#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/vlan.hpp"
#include "bpf/steer_abi.h"

namespace etherpath::bpf {

static_assert(EP_MAX_VLAN_DEPTH == kMaxVlanDepth, "the BPF VLAN bound must equal base/vlan.hpp's");

// Keys match VLAN IDs only: the TPIDs, PCP and DEI bits of a tag are not part of a key, so a
// "100.20" stack matches with either an 802.1ad or an 802.1Q outer tag.

// A frame to an emulated host: dst MAC, VLAN stack, inner EtherType (host order, e.g. 0x0800).
struct L2Key {
  MacAddress mac;
  VlanStack vlans;
  std::uint16_t ethertype = 0;
  friend bool operator==(const L2Key&, const L2Key&) = default;
};

// A flow on the interface's own MAC: VLAN stack, dst IP, protocol (IPPROTO_UDP, IPPROTO_TCP,
// IPPROTO_ICMP, IPPROTO_ICMPV6) and dst port, or the echo identifier for ICMP, where 0 matches
// any identifier (the program tries the exact identifier first).
struct L4Key {
  VlanStack vlans;
  IpAddress address;
  std::uint8_t protocol = 0;
  std::uint16_t port = 0;
  friend bool operator==(const L4Key&, const L4Key&) = default;
};

// An emulated host's address: ARP requests and neighbour solicitations for it, on this VLAN
// stack, go to user space instead of the kernel.
struct OwnedKey {
  VlanStack vlans;
  IpAddress address;
  friend bool operator==(const OwnedKey&, const OwnedKey&) = default;
};

// A VLAN stack and inner EtherType: the key of multicast subscriptions and default receivers.
struct VlanEtherTypeKey {
  VlanStack vlans;
  std::uint16_t ethertype = 0;
  friend bool operator==(const VlanEtherTypeKey&, const VlanEtherTypeKey&) = default;
};

// The ABI forms (network byte order, EP_NO_VLAN for missing tags, zeroed padding).
ep_vlan_ids to_abi(const VlanStack& vlans);
ep_l2_key to_abi(const L2Key& key);
ep_l4_key to_abi(const L4Key& key);
ep_owned_key to_abi(const OwnedKey& key);
ep_vlan_etype_key to_abi(const VlanEtherTypeKey& key);

// An l2_slots key: the raw MAC and VLAN bytes of an ep_l2_key as native integers, as the program
// loads them from the frame (steer_abi.h), and where its probe starts.
struct L2SlotKey {
  std::uint32_t mac_lo = 0;
  std::uint16_t mac_hi = 0;
  std::uint32_t vlans = 0;
  [[nodiscard]] bool same(const ep_l2_slot& s) const {
    return s.mac_lo == mac_lo && s.mac_hi == mac_hi && s.vlans == vlans;
  }
  [[nodiscard]] std::uint32_t home() const {
    return static_cast<std::uint32_t>(ep_l2_home(mac_lo, mac_hi, vlans));
  }
};
L2SlotKey to_slot_key(const ep_l2_key& key);
L2SlotKey to_slot_key(const MacAddress& mac, const VlanStack& vlans);

}  // namespace etherpath::bpf
