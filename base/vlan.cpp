// VLAN text parsing and formatting.
#include "base/vlan.hpp"

#include <fmt/format.h>

#include <charconv>

namespace etherpath {

Result<VlanStack> VlanStack::parse(std::string_view text, std::uint16_t outer_tpid) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument, fmt::format("invalid VLAN '{}': {}", text, why));
  };
  if (outer_tpid != kTpid8021Q && outer_tpid != kTpid8021ad) {
    return bad("outer TPID must be 0x8100 or 0x88a8");
  }
  std::string_view rest = text;
  if (!rest.empty() && rest.front() == '|') {
    rest.remove_prefix(1);
  }
  if (rest.empty()) {
    return VlanStack{};
  }
  // Either separator, but not both in one text.
  const bool dot = rest.find('.') != std::string_view::npos;
  const bool bar = rest.find('|') != std::string_view::npos;
  if (dot && bar) {
    return bad("use either '.' or '|' between the two IDs");
  }
  const char sep = dot ? '.' : '|';
  std::array<std::uint16_t, kMaxVlanDepth> ids{};
  std::size_t n = 0;
  while (true) {
    const auto at = rest.find(sep);
    const std::string_view field = rest.substr(0, at);
    if (n == kMaxVlanDepth) {
      return bad(fmt::format("at most {} tags", kMaxVlanDepth));
    }
    unsigned value = 0;
    const auto* end = field.data() + field.size();
    const auto [ptr, ec] = std::from_chars(field.data(), end, value);
    if (field.empty() || ptr != end || ec == std::errc::invalid_argument) {
      return bad(fmt::format("'{}' is not a number", field));
    }
    if (ec == std::errc::result_out_of_range || value > kMaxVlanId) {
      return bad(fmt::format("ID {} is out of range 0-{}", field, kMaxVlanId));
    }
    ids[n++] = static_cast<std::uint16_t>(value);
    if (at == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(at + 1);
  }
  VlanStack stack;
  if (n == 1) {
    stack.push_back({.id = ids[0], .tpid = kTpid8021Q});
  } else {
    stack.push_back({.id = ids[0], .tpid = outer_tpid});
    stack.push_back({.id = ids[1], .tpid = kTpid8021Q});
  }
  return stack;
}

std::string VlanStack::to_string() const {
  if (size_ == 0) {
    return "";
  }
  if (size_ == 1) {
    return fmt::format("{}", tags_[0].id);
  }
  return fmt::format("{}.{}", tags_[0].id, tags_[1].id);
}

Result<std::uint16_t> parse_tpid(std::string_view text) {
  std::string_view t = text;
  if (t.starts_with("0x") || t.starts_with("0X")) {
    t.remove_prefix(2);
  }
  if (t == "8100") {
    return kTpid8021Q;
  }
  if (t == "88a8" || t == "88A8") {
    return kTpid8021ad;
  }
  return fail(Errc::invalid_argument, fmt::format("invalid TPID '{}': must be 8100 or 88a8", text));
}

}  // namespace etherpath
