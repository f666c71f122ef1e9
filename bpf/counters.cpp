// Names of the steering program's counters.
#include "bpf/counters.hpp"

#include <array>

namespace etherpath::bpf {
namespace {

constexpr std::array<std::string_view, kCounterCount> kNames = {
    "frames",
    "hit_l2",
    "hit_l4",
    "hit_owned",
    "hit_multicast",
    "hit_default",
    "pass_unicast_miss",
    "pass_multicast_miss",
    "pass_neigh_not_owned",
    "pass_truncated",
    "pass_vlan_too_deep",
    "redirected",
    "no_socket",
};
static_assert(kNames.size() == EP_STAT_COUNT, "a name per ep_stat reason");
static_assert(static_cast<std::size_t>(Counter::no_socket) == EP_STAT_COUNT - 1);

}  // namespace

std::string_view counter_name(Counter c) {
  const auto i = static_cast<std::size_t>(c);
  return i < kNames.size() ? kNames[i] : std::string_view("unknown");
}

}  // namespace etherpath::bpf
