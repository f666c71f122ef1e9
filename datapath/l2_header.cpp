// parse_l2: Ethernet header and up to two VLAN tags.
#include "datapath/l2_header.hpp"

#include <cstring>

namespace etherpath::datapath {

L2ParseResult parse_l2(ConstBytes frame) {
  L2ParseResult r;
  if (frame.size() < 14) {
    r.drop = L2Drop::truncated;
    return r;
  }
  MacAddress::Octets dst{};
  MacAddress::Octets src{};
  std::memcpy(dst.data(), frame.data(), 6);
  std::memcpy(src.data(), frame.data() + 6, 6);
  r.header.dst = MacAddress(dst);
  r.header.src = MacAddress(src);
  std::size_t off = 12;
  std::uint16_t type = load_be16(frame, off);
  while (type == kTpid8021Q || type == kTpid8021ad) {
    if (r.header.vlans.size() == kMaxVlanDepth) {
      r.drop = L2Drop::vlan_too_deep;
      return r;
    }
    if (frame.size() < off + 6) {
      r.drop = L2Drop::truncated;
      return r;
    }
    r.header.vlans.push_back(VlanTag::from_tci(type, load_be16(frame, off + 2)));
    off += 4;
    type = load_be16(frame, off);
  }
  r.header.ether_type = type;
  r.header.payload_offset = off + 2;
  // Built in registers from the frame (L2Key::from_frame): the relay hashes the key right away,
  // and a key assembled from narrow stores would stall that wide read on store forwarding.
  r.header.key = wire::L2Key::from_frame(frame, r.header.vlans.id_or_none(0),
                                         r.header.vlans.id_or_none(1), type);
  return r;
}

}  // namespace etherpath::datapath
