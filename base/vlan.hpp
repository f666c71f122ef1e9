// VLAN tags and stacks of up to two (802.1Q, or QinQ with an 802.1ad or 802.1Q outer tag), and
// the VLAN text of design.md §4: "100" (802.1Q), "100.20" or "100|20" (QinQ, outer first).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace etherpath {

inline constexpr std::uint16_t kTpid8021Q = 0x8100;
inline constexpr std::uint16_t kTpid8021ad = 0x88a8;
// The deepest tag stack etherpath parses or builds; the steering program uses the same bound.
inline constexpr std::size_t kMaxVlanDepth = 2;
// IDs 0-4094: 4095 is reserved by 802.1Q (etherconn's 4096 was an off-by-one).
inline constexpr std::uint16_t kMaxVlanId = 4094;

struct VlanTag {
  std::uint16_t id = 0;             // 12-bit VID
  std::uint16_t tpid = kTpid8021Q;  // 0x8100 or 0x88a8
  std::uint8_t pcp = 0;             // 3-bit priority code point
  bool dei = false;                 // drop eligible indicator

  // The 16-bit TCI as it goes on the wire (host order).
  [[nodiscard]] constexpr std::uint16_t tci() const {
    return static_cast<std::uint16_t>((static_cast<unsigned>(pcp) << 13U) | (dei ? 0x1000U : 0U) |
                                      (id & 0x0fffU));
  }
  static constexpr VlanTag from_tci(std::uint16_t tpid, std::uint16_t tci) {
    return VlanTag{static_cast<std::uint16_t>(tci & 0x0fffU), tpid,
                   static_cast<std::uint8_t>(tci >> 13U), (tci & 0x1000U) != 0};
  }
  friend constexpr bool operator==(const VlanTag&, const VlanTag&) = default;
};

// Outer tag first, as on the wire. A fixed-capacity value type: no allocation.
class VlanStack {
 public:
  constexpr VlanStack() = default;
  constexpr VlanStack(std::initializer_list<VlanTag> tags) {
    for (const auto& t : tags) {
      if (size_ < kMaxVlanDepth) {
        tags_[size_++] = t;
      }
    }
  }

  // design.md §4's text. `outer_tpid` is the TPID for the outer of two tags: 0x88a8 unless the
  // user asked for 0x8100 (--tpid 8100). Empty text is an untagged stack. A leading '|' (as
  // etherconn prints stacks, "|100|200") is accepted.
  static Result<VlanStack> parse(std::string_view text, std::uint16_t outer_tpid = kTpid8021ad);

  [[nodiscard]] constexpr std::size_t size() const { return size_; }
  [[nodiscard]] constexpr bool empty() const { return size_ == 0; }
  [[nodiscard]] constexpr const VlanTag& operator[](std::size_t i) const { return tags_[i]; }
  [[nodiscard]] constexpr VlanTag& operator[](std::size_t i) { return tags_[i]; }
  [[nodiscard]] constexpr const VlanTag* begin() const { return tags_.data(); }
  [[nodiscard]] constexpr const VlanTag* end() const { return tags_.data() + size_; }
  // False when the stack is already full.
  constexpr bool push_back(VlanTag t) {
    if (size_ >= kMaxVlanDepth) {
      return false;
    }
    tags_[size_++] = t;
    return true;
  }
  // The ID of tag i, or kNoVlan (0xffff, etherconn's NOVLANTAG) when the stack is shallower.
  static constexpr std::uint16_t kNoVlan = 0xffff;
  [[nodiscard]] constexpr std::uint16_t id_or_none(std::size_t i) const {
    return i < size_ ? tags_[i].id : kNoVlan;
  }
  // "100", "100.20", or "" for untagged: the form parse() reads back.
  [[nodiscard]] std::string to_string() const;

  friend constexpr bool operator==(const VlanStack& a, const VlanStack& b) {
    if (a.size_ != b.size_) {
      return false;
    }
    for (std::size_t i = 0; i < a.size_; ++i) {
      if (!(a.tags_[i] == b.tags_[i])) {
        return false;
      }
    }
    return true;
  }

 private:
  std::array<VlanTag, kMaxVlanDepth> tags_{};
  std::size_t size_ = 0;
};

// "8100" / "0x8100" / "88a8" / "0x88a8" -> TPID; anything else is an error naming the text.
Result<std::uint16_t> parse_tpid(std::string_view text);

}  // namespace etherpath
