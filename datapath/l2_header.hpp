// L2Header: the part of a frame PacketRelay demultiplexes by (dst MAC, VLAN IDs, inner EtherType).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "base/byte_order.hpp"
#include "base/mac_address.hpp"
#include "base/vlan.hpp"
#include "conn/wire/parsed_frame.hpp"

namespace etherpath::datapath {

struct L2Header {
  wire::L2Key key;
  MacAddress dst;
  MacAddress src;
  VlanStack vlans;
  std::uint16_t ether_type = 0;
  std::size_t payload_offset = 0;  // where the L3 bytes start
};

enum class L2Drop : std::uint8_t { none, truncated, vlan_too_deep };

struct L2ParseResult {
  L2Header header;
  L2Drop drop = L2Drop::none;
  explicit operator bool() const { return drop == L2Drop::none; }
};

// Bounds-checked: a frame shorter than its Ethernet header and tags is `truncated`; more than
// kMaxVlanDepth tags (0x8100/0x88a8) is `vlan_too_deep`. Only the L2 fields: the relay needs no
// more per frame, and receivers parse the rest with wire::FrameParser when they want it.
L2ParseResult parse_l2(ConstBytes frame);

}  // namespace etherpath::datapath
