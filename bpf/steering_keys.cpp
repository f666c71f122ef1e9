// Conversion of the typed steering keys to the ABI structs of steer_abi.h.
#include "bpf/steering_keys.hpp"

#include <algorithm>
#include <cstring>

#include "base/byte_order.hpp"

namespace etherpath::bpf {
namespace {

// The value as it sits on the wire, which is how the BPF side compares it.
std::uint16_t wire16(std::uint16_t host) {
  return Be16::from_host(host).raw();
}

void put_address(const IpAddress& address, std::uint8_t (&out)[16], std::uint8_t& version) {
  const auto mapped = address.to_v6_mapped();
  std::copy(mapped.begin(), mapped.end(), out);
  version = address.is_v4() ? EP_IPV4 : EP_IPV6;
}

}  // namespace

ep_vlan_ids to_abi(const VlanStack& vlans) {
  ep_vlan_ids ids{};
  for (std::size_t i = 0; i < kMaxVlanDepth; ++i) {
    ids.id[i] = i < vlans.size() ? wire16(vlans[i].id & EP_VID_MASK) : std::uint16_t{EP_NO_VLAN};
  }
  return ids;
}

ep_l2_key to_abi(const L2Key& key) {
  ep_l2_key k{};
  std::copy(key.mac.octets().begin(), key.mac.octets().end(), k.mac);
  k.vlans = to_abi(key.vlans);
  k.ethertype = wire16(key.ethertype);
  return k;
}

ep_l4_key to_abi(const L4Key& key) {
  ep_l4_key k{};
  k.vlans = to_abi(key.vlans);
  put_address(key.address, k.addr, k.ip_version);
  k.protocol = key.protocol;
  k.port = wire16(key.port);
  return k;
}

ep_owned_key to_abi(const OwnedKey& key) {
  ep_owned_key k{};
  k.vlans = to_abi(key.vlans);
  put_address(key.address, k.addr, k.ip_version);
  return k;
}

ep_vlan_etype_key to_abi(const VlanEtherTypeKey& key) {
  ep_vlan_etype_key k{};
  k.vlans = to_abi(key.vlans);
  k.ethertype = wire16(key.ethertype);
  return k;
}

L2SlotKey to_slot_key(const ep_l2_key& key) {
  L2SlotKey k;
  std::memcpy(&k.mac_lo, key.mac, 4);
  std::memcpy(&k.mac_hi, key.mac + 4, 2);
  std::memcpy(&k.vlans, &key.vlans, 4);
  return k;
}

L2SlotKey to_slot_key(const MacAddress& mac, const VlanStack& vlans) {
  return to_slot_key(to_abi(L2Key{mac, vlans, 0}));
}

}  // namespace etherpath::bpf
