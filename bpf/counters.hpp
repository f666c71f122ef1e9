// The steering program's counters by reason (ep_stat in bpf/steer_abi.h), summed over CPUs.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "bpf/steer_abi.h"

namespace etherpath::bpf {

enum class Counter : std::uint32_t {
  frames = EP_STAT_FRAMES,
  hit_l2 = EP_STAT_HIT_L2,
  hit_l4 = EP_STAT_HIT_L4,
  hit_owned = EP_STAT_HIT_OWNED,
  hit_multicast = EP_STAT_HIT_MULTICAST,
  hit_default = EP_STAT_HIT_DEFAULT,
  pass_unicast_miss = EP_STAT_PASS_UNICAST_MISS,
  pass_multicast_miss = EP_STAT_PASS_MULTICAST_MISS,
  pass_neigh_not_owned = EP_STAT_PASS_NEIGH_NOT_OWNED,
  pass_truncated = EP_STAT_PASS_TRUNCATED,
  pass_vlan_too_deep = EP_STAT_PASS_VLAN_TOO_DEEP,
  redirected = EP_STAT_REDIRECTED,
  no_socket = EP_STAT_NO_SOCKET,
};

inline constexpr std::size_t kCounterCount = EP_STAT_COUNT;

// The snake_case name of a counter, as in JSON stats ("hit_l2", "pass_truncated", ...).
std::string_view counter_name(Counter c);

struct Counters {
  std::array<std::uint64_t, kCounterCount> values{};

  [[nodiscard]] std::uint64_t operator[](Counter c) const {
    return values[static_cast<std::size_t>(c)];
  }
  [[nodiscard]] static constexpr Counter counter_at(std::size_t i) {
    return static_cast<Counter>(static_cast<std::uint32_t>(i));
  }
  // This minus an earlier reading: what happened in between.
  [[nodiscard]] Counters since(const Counters& earlier) const {
    Counters d;
    for (std::size_t i = 0; i < kCounterCount; ++i) {
      d.values[i] = values[i] - earlier.values[i];
    }
    return d;
  }
};

}  // namespace etherpath::bpf
