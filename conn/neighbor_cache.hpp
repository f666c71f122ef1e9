// NeighborCache: IP -> MAC for one relay's emulated hosts, per VLAN stack, bounded and expiring,
// with the retry bookkeeping of a resolution in progress. Pure logic over a clock: the Neighbor
// that sends ARP requests and solicitations asks it what to do next.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "base/clock.hpp"
#include "base/ip_address.hpp"
#include "base/mac_address.hpp"
#include "base/vlan.hpp"

namespace etherpath::conn {

// Where a neighbour lives: the VLAN stack (by ID) and its address. Two emulated hosts on the
// same VLANs share what either learnt, so 65,536 hosts behind one gateway resolve it once.
struct NeighborKey {
  std::uint16_t outer_vlan = VlanStack::kNoVlan;
  std::uint16_t inner_vlan = VlanStack::kNoVlan;
  IpAddress ip;

  static NeighborKey make(const VlanStack& vlans, const IpAddress& ip) {
    return {vlans.id_or_none(0), vlans.id_or_none(1), ip};
  }
  friend bool operator==(const NeighborKey&, const NeighborKey&) = default;
};

struct NeighborKeyHash {
  std::size_t operator()(const NeighborKey& k) const noexcept {
    return std::hash<IpAddress>{}(k.ip) ^ (std::size_t{k.outer_vlan} << 20U) ^
           (std::size_t{k.inner_vlan} << 4U);
  }
};

struct NeighborOptions {
  std::size_t capacity = 4096;                               // entries, all states
  Clock::Duration reachable_time = std::chrono::minutes(5);  // a learnt MAC is trusted this long
  Clock::Duration retry_interval = std::chrono::milliseconds(500);  // between requests
  unsigned max_requests = 4;                              // then the address is unreachable
  Clock::Duration failed_hold = std::chrono::seconds(2);  // answer "failed" this long after
};

// What a resolver should do now for one address.
enum class ResolveStep : std::uint8_t {
  have_mac,      // lookup() has it
  send_request,  // send an ARP request / neighbour solicitation now, then wait
  wait,          // a request is out; wait until next_attempt()
  failed,        // max_requests went unanswered
};

class NeighborCache {
 public:
  explicit NeighborCache(NeighborOptions options = {}) : options_(options) {}

  // The MAC, if learnt and not expired.
  [[nodiscard]] std::optional<MacAddress> lookup(const NeighborKey& key,
                                                 Clock::TimePoint now) const;
  // From a reply, an advertisement, or a request the neighbour sent us (RFC 826 merges the
  // sender too). Evicts the entry updated longest ago when full.
  void learn(const NeighborKey& key, const MacAddress& mac, Clock::TimePoint now);
  // Advances the resolution of `key`: creates it, counts requests, and says what to do.
  ResolveStep step(const NeighborKey& key, Clock::TimePoint now);
  // When the pending resolution of `key` wants its next request (or gives up).
  [[nodiscard]] std::optional<Clock::TimePoint> next_attempt(const NeighborKey& key) const;
  void forget(const NeighborKey& key) { entries_.erase(key); }
  [[nodiscard]] std::size_t size() const { return entries_.size(); }
  [[nodiscard]] const NeighborOptions& options() const { return options_; }

 private:
  enum class State : std::uint8_t { incomplete, reachable, failed };
  struct Entry {
    State state = State::incomplete;
    MacAddress mac;
    Clock::TimePoint updated;  // learnt, or the last request sent
    unsigned requests_sent = 0;
  };
  Entry& insert(const NeighborKey& key, Clock::TimePoint now);

  NeighborOptions options_;
  std::unordered_map<NeighborKey, Entry, NeighborKeyHash> entries_;
};

}  // namespace etherpath::conn
