// Steering: what PacketRelay needs from the XDP program that decides which frames reach it.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/result.hpp"
#include "base/vlan.hpp"

namespace etherpath::datapath {

// A flow on the interface's own MAC (see PacketRelay::on_l4_batch): VLAN stack, destination IP,
// IP protocol (IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6, ...) and destination port, or the ICMP
// Echo identifier, where 0 matches any identifier.
struct L4Endpoint {
  VlanStack vlans;
  IpAddress address;
  std::uint8_t protocol = 0;
  std::uint16_t port = 0;
  friend bool operator==(const L4Endpoint&, const L4Endpoint&) = default;
};

// Kept in step with the relay's registrations. The production implementation is
// bpf::SteeringProgram behind an adapter (packet_relay.cpp); unit tests use a recording fake;
// the pcap engine has none (it sees copies of everything anyway).
class Steering {
 public:
  Steering() = default;
  Steering(const Steering&) = delete;
  Steering& operator=(const Steering&) = delete;
  Steering(Steering&&) = delete;
  Steering& operator=(Steering&&) = delete;
  virtual ~Steering() = default;

  virtual Status add_l2(const MacAddress& mac, const VlanStack& vlans,
                        std::uint16_t ether_type) = 0;
  virtual Status remove_l2(const MacAddress& mac, const VlanStack& vlans,
                           std::uint16_t ether_type) = 0;
  virtual Status add_multicast(const VlanStack& vlans, std::uint16_t ether_type) = 0;
  virtual Status remove_multicast(const VlanStack& vlans, std::uint16_t ether_type) = 0;
  virtual Status add_default(const VlanStack& vlans, std::uint16_t ether_type) = 0;
  virtual Status remove_default(const VlanStack& vlans, std::uint16_t ether_type) = 0;
  // ARP requests and neighbour solicitations for an owned address (an emulated host's) on this
  // VLAN stack go to user space instead of the kernel.
  virtual Status add_owned(const VlanStack& vlans, const IpAddress& ip) = 0;
  virtual Status remove_owned(const VlanStack& vlans, const IpAddress& ip) = 0;
  // Frames of this flow, on the interface's own MAC, go to user space; the rest of the host's
  // traffic stays with the kernel.
  virtual Status add_l4(const L4Endpoint& key) = 0;
  virtual Status remove_l4(const L4Endpoint& key) = 0;
  // The program's counters by name ("hit_l2", "pass_unicast_miss", ...), for stats.
  [[nodiscard]] virtual std::map<std::string, std::uint64_t> counters() const = 0;
  // "native XDP, single program (dispatcher refused: EPERM)" and the like.
  [[nodiscard]] virtual std::string describe() const = 0;
};

}  // namespace etherpath::datapath
