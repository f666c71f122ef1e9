// 802.1Q / 802.1ad tag view and writer: TPID, TCI (PCP, DEI, VID), then the next EtherType.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/byte_order.hpp"
#include "base/vlan.hpp"

namespace etherpath::wire {

inline constexpr bool is_vlan_tpid(std::uint16_t ether_type) noexcept {
  return ether_type == kTpid8021Q || ether_type == kTpid8021ad;
}

// A tag as it sits in the frame: 2 bytes TPID (where an EtherType would be), 2 bytes TCI. The
// span starts at the TPID and must hold at least kSize bytes; the next EtherType follows it.
class VlanTagView {
 public:
  static constexpr std::size_t kSize = 4;
  explicit VlanTagView(ConstBytes bytes) noexcept : bytes_(bytes) {}
  [[nodiscard]] std::uint16_t tpid() const noexcept { return load_be16(bytes_, 0); }
  [[nodiscard]] std::uint16_t tci() const noexcept { return load_be16(bytes_, 2); }
  [[nodiscard]] std::uint8_t pcp() const noexcept {
    return static_cast<std::uint8_t>(tci() >> 13U);
  }
  [[nodiscard]] bool dei() const noexcept { return (tci() & 0x1000U) != 0; }
  [[nodiscard]] std::uint16_t id() const noexcept {
    return static_cast<std::uint16_t>(tci() & 0x0fffU);
  }
  [[nodiscard]] VlanTag tag() const noexcept { return VlanTag::from_tci(tpid(), tci()); }

 private:
  ConstBytes bytes_;
};

class VlanTagWriter {
 public:
  explicit VlanTagWriter(Bytes bytes) noexcept : bytes_(bytes) {}
  void set(const VlanTag& tag) noexcept {
    store_be16(bytes_, 0, tag.tpid);
    // VlanTag::tci() keeps only the low 12 bits of the ID and 3 of PCP.
    const VlanTag clean{.id = tag.id,
                        .tpid = tag.tpid,
                        .pcp = static_cast<std::uint8_t>(tag.pcp & 7U),
                        .dei = tag.dei};
    store_be16(bytes_, 2, clean.tci());
  }

 private:
  Bytes bytes_;
};

}  // namespace etherpath::wire
